namespace Ponder.Interop;

/// <summary>The ggml tensor element types Ponder writes, with ggml's numbers.</summary>
public enum GgufTensorType : uint
{
    F32 = 0,
    F16 = 1,
}
