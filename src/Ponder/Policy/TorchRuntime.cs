using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Ponder.Policy;

/// <summary>
/// Chooses the device. When <c>PONDER_LIBTORCH</c> names a folder of libtorch libraries (for example
/// an installed PyTorch's <c>torch/lib</c>), they are loaded first, so TorchSharp runs on them —
/// this is how Ponder uses CUDA on a host that has PyTorch but not the TorchSharp CUDA package.
/// </summary>
public static class TorchRuntime
{
    public const string LibTorchVariable = "PONDER_LIBTORCH";
    static bool preloaded;

    /// <summary>Overrides the number of CPU threads libtorch uses (default: all cores).</summary>
    public const string ThreadsVariable = "PONDER_THREADS";

    /// <summary>
    /// <c>PONDER_TF32=1</c> lets CUDA float32 matmuls run on TF32 tensor cores (10-bit mantissa products, float32
    /// sums), as PyTorch's <c>torch.backends.cuda.matmul.allow_tf32 = True</c> and Hugging Face's <c>--tf32</c> do;
    /// libtorch's default, and <c>0</c>, keep full float32. No effect on the CPU.
    /// </summary>
    public const string Tf32Variable = "PONDER_TF32";

    /// <summary>
    /// Parses <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c> and makes that device ready. Honours
    /// <c>PONDER_THREADS</c>: on a machine shared with other busy processes, one thread avoids
    /// OpenMP threads waiting on descheduled siblings (measured here: a small matmul went from
    /// 0.07 ms with one thread to 15 ms with two while another process held a core).
    /// </summary>
    public static Device Initialize(string device)
    {
        ShortenOpenMpSpin();
        KeepFreedMemory();
        Preload();
        string? threads = Environment.GetEnvironmentVariable(ThreadsVariable);
        if (!string.IsNullOrEmpty(threads))
        {
            if (!int.TryParse(threads, out int n) || n < 1 || n > 1024) throw new ArgumentException($"{ThreadsVariable}='{threads}': expected a whole number of threads from 1 to 1024");
            torch.set_num_threads(n);
        }
        ApplyTf32(Environment.GetEnvironmentVariable(Tf32Variable));
        if (device == "cpu") return CPU;
        if (device == "cuda" || device.StartsWith("cuda:", StringComparison.Ordinal))
        {
            string unavailable = $"device '{device}': CUDA is not available (set {LibTorchVariable} to a CUDA-enabled PyTorch's torch/lib folder)";
            try
            {
                InitializeDeviceType(DeviceType.CUDA);
            }
            catch (InvalidOperationException)
            {
                throw new InvalidOperationException(unavailable);          // TorchSharp's own message ends in an empty native trace
            }
            if (!cuda.is_available()) throw new InvalidOperationException(unavailable);
            return torch.device(device);
        }
        throw new ArgumentException($"unknown device '{device}' (known: cpu, cuda, cuda:N)");
    }

    /// <summary>Sets libtorch's TF32 switch for CUDA matmuls from <see cref="Tf32Variable"/>'s value; null or empty leaves it alone.</summary>
    internal static void ApplyTf32(string? value)
    {
        if (string.IsNullOrEmpty(value)) return;
        if (value is not ("0" or "1")) throw new ArgumentException($"{Tf32Variable}='{value}': expected 0 or 1");
        torch.backends.cuda.matmul.allow_tf32 = value == "1";
    }

    /// <summary>Spin iterations of an idle OpenMP worker before it sleeps, unless the environment sets its own.</summary>
    internal const string SpinCount = "10000";

    /// <summary>
    /// Has libtorch's idle OpenMP workers (GNU libgomp) spin <see cref="SpinCount"/> iterations before they sleep, not
    /// libgomp's default of 300,000 (about a millisecond) — before libtorch is loaded, since libgomp reads its
    /// environment once. A decode step alternates short libtorch ops with C# kernels that split their work over .NET
    /// threads; a spinning OpenMP worker holds a core those threads need. Left alone when <c>GOMP_SPINCOUNT</c> or
    /// <c>OMP_WAIT_POLICY</c> is set, and where libgomp was already loaded (nothing changes then).
    /// </summary>
    static void ShortenOpenMpSpin()
    {
        if (!OperatingSystem.IsLinux()) return;
        if (Environment.GetEnvironmentVariable("GOMP_SPINCOUNT") is not null || Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is not null) return;
        _ = SetEnv("GOMP_SPINCOUNT", SpinCount, overwrite: 0);   // the native environment, which .NET's own setter leaves alone
    }

    /// <summary>glibc's malloc thresholds set by <see cref="KeepFreedMemory"/>, in bytes.</summary>
    internal const int MmapThreshold = 32 << 20, TrimThreshold = 512 << 20;

    /// <summary>
    /// Has glibc's malloc serve tensors of up to <see cref="MmapThreshold"/> bytes from its heap and keep up to
    /// <see cref="TrimThreshold"/> bytes of freed heap instead of handing them back to the kernel. By default glibc maps
    /// blocks above a threshold (128 KiB at first, raised only as such blocks are freed) fresh from the kernel, unmaps them
    /// when they are freed, and trims freed heap above 128 KiB: a training step's activations and gradients then fault in
    /// and zero new pages. The default model's SFT step in a fresh process (`bench --train-profile`, alternated): 152–161 ms
    /// against 177–193 ms; in a long SFT run, where glibc has raised its threshold, 3–7 % faster. PyTorch's CPU tuning
    /// guide recommends an allocator that keeps memory (jemalloc, tcmalloc) for the same reason. Left alone when
    /// <c>GLIBC_TUNABLES</c> sets any <c>glibc.malloc</c> tunable, and where the C library is not glibc.
    /// </summary>
    static void KeepFreedMemory()
    {
        if (!OperatingSystem.IsLinux()) return;
        if (Environment.GetEnvironmentVariable("GLIBC_TUNABLES")?.Contains("glibc.malloc.", StringComparison.Ordinal) == true) return;
        try
        {
            _ = MallOpt(MallocMmapThreshold, MmapThreshold);
            _ = MallOpt(MallocTrimThreshold, TrimThreshold);
        }
        catch (EntryPointNotFoundException) { }                                            // a C library without mallopt
    }

    const int MallocTrimThreshold = -1, MallocMmapThreshold = -3;                          // glibc's malloc.h

    [DllImport("libc", EntryPoint = "mallopt")]
    static extern int MallOpt(int parameter, int value);

    [DllImport("libc", EntryPoint = "setenv")]
    static extern int SetEnv([MarshalAs(UnmanagedType.LPUTF8Str)] string name, [MarshalAs(UnmanagedType.LPUTF8Str)] string value, int overwrite);

    static void Preload()
    {
        if (preloaded) return;
        preloaded = true;
        string? dir = Environment.GetEnvironmentVariable(LibTorchVariable);
        if (string.IsNullOrEmpty(dir)) return;
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"{LibTorchVariable}='{dir}': no such folder");
        foreach (var (name, required) in new[] { ("libc10.so", true), ("libtorch_cpu.so", true), ("libc10_cuda.so", false), ("libtorch_cuda.so", false), ("libtorch.so", true) })
        {
            string path = Path.Combine(dir, name);
            if (File.Exists(path)) NativeLibrary.Load(path);
            else if (required) throw new FileNotFoundException($"{LibTorchVariable}='{dir}': missing {name}");
        }
    }
}
