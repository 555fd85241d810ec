namespace Ponder.Interop;

/// <summary>Element types a safetensors file can hold that map one-to-one onto a libtorch dtype.</summary>
public enum SafetensorsDType
{
    F32,
    F16,
    BF16,
    F64,
    I64,
    I32,
    I16,
    I8,
    U8,
    Bool,
}
