using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace Ponder.Tests.Policy;

/// <summary>
/// The build patches the copy of libtorch_cpu.so in each output so that oneMKL's vendor check says yes
/// (build/PatchMklCpuCheck.targets): oneMKL then picks its kernels by the CPU's features, and an AMD CPU with AVX-512
/// gets the AVX-512 ones instead of AVX2.
/// </summary>
public class MklCpuCheckTests
{
    [Fact]
    public unsafe void The_loaded_libtorch_reports_a_cpu_whose_features_choose_the_kernels()
    {
        // Given libtorch loaded (a matmul runs oneMKL), the library this process loaded from the build output
        using var product = ones(64, 64).matmul(ones(64, 64));
        Assert.Equal(64f, product[0, 0].item<float>());
        var library = NativeLibrary.Load(Path.Combine(AppContext.BaseDirectory, "libtorch_cpu.so"));

        // Then its vendor check returns 1 on any CPU
        var check = (delegate* unmanaged<int>)NativeLibrary.GetExport(library, "mkl_serv_intel_cpu_true");
        Assert.Equal(1, check());
    }
}
