using System.Runtime.InteropServices;
using Ponder.Policy;

namespace Ponder.Tests.Policy;

public sealed class TorchRuntimeTests
{
    [Fact]
    public void Initialize_shortens_the_OpenMP_spin_in_the_native_environment_unless_the_user_set_one()
    {
        // Given this process's environment, as the user started it
        bool userSet = Environment.GetEnvironmentVariable("GOMP_SPINCOUNT") is not null || Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is not null;
        string? before = NativeVariable("GOMP_SPINCOUNT");

        // When the CPU device is initialized
        TorchRuntime.Initialize("cpu");

        // Then libgomp's setting is there for it to read (what libgomp sees is the native environment, not .NET's copy)
        Assert.Equal(userSet ? before : TorchRuntime.SpinCount, NativeVariable("GOMP_SPINCOUNT"));
    }

    [Fact]
    public void Initialize_has_malloc_serve_blocks_below_the_threshold_from_its_heap()
    {
        // Given the CPU device initialized (unless the user configured malloc through glibc's tunables)
        if (Environment.GetEnvironmentVariable("GLIBC_TUNABLES")?.Contains("glibc.malloc.") == true) return;
        TorchRuntime.Initialize("cpu");

        // When a block of 24 MiB (above glibc's default threshold of 128 KiB, below ours) is allocated
        const int size = 24 << 20;
        long mappedBefore = (long)MallInfo2().MappedBytes;
        unsafe
        {
            var block = NativeMemory.Alloc(size);
            try
            {
                // Then malloc did not map it from the kernel (other tests may map or unmap other blocks meanwhile,
                // but none of them maps one this large)
                Assert.True((long)MallInfo2().MappedBytes - mappedBefore < size, "the block was mapped from the kernel");
            }
            finally { NativeMemory.Free(block); }
        }
    }

    [Fact]
    public void PONDER_TF32_switches_libtorchs_TF32_matmuls_and_rejects_other_values()
    {
        bool before = TorchSharp.torch.backends.cuda.matmul.allow_tf32;
        try
        {
            TorchRuntime.ApplyTf32("1");
            Assert.True(TorchSharp.torch.backends.cuda.matmul.allow_tf32);
            TorchRuntime.ApplyTf32(null);
            Assert.True(TorchSharp.torch.backends.cuda.matmul.allow_tf32);
            TorchRuntime.ApplyTf32("0");
            Assert.False(TorchSharp.torch.backends.cuda.matmul.allow_tf32);
            var e = Assert.Throws<ArgumentException>(() => TorchRuntime.ApplyTf32("yes"));
            Assert.Equal("PONDER_TF32='yes': expected 0 or 1", e.Message);
        }
        finally { TorchSharp.torch.backends.cuda.matmul.allow_tf32 = before; }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MallocInfo
    {
        public nuint Arena, OrdinaryBlocks, SmallBlocks, MappedBlocks, MappedBytes, MaxAllocated, FreeSmallBytes, Allocated, Free, TopReleasable;
    }

    [DllImport("libc", EntryPoint = "mallinfo2")]
    private static extern MallocInfo MallInfo2();

    [DllImport("libc", EntryPoint = "getenv")]
    private static extern nint GetEnv([MarshalAs(UnmanagedType.LPUTF8Str)] string name);

    private static string? NativeVariable(string name) => Marshal.PtrToStringUTF8(GetEnv(name));
}
