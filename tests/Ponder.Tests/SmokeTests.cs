using TorchSharp;

namespace Ponder.Tests;

public sealed class SmokeTests
{
    [Fact]
    public void Libtorch_loads_and_computes()
    {
        Assert.Equal(4f, torch.ones(2, 2).sum().item<float>());
    }
}
