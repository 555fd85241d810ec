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

    [DllImport("libc", EntryPoint = "getenv")]
    private static extern nint GetEnv([MarshalAs(UnmanagedType.LPUTF8Str)] string name);

    private static string? NativeVariable(string name) => Marshal.PtrToStringUTF8(GetEnv(name));
}
