using System.Collections;
using System.Reflection;
using static TorchSharp.torch;

namespace Ponder.Policy;

/// <summary>
/// Frees what a C# autograd node saved for its backward pass once that pass has run, as libtorch's own nodes do
/// (<c>release_variables</c>). TorchSharp 0.107's C# nodes keep their saved tensors until the node itself is destroyed.
/// </summary>
internal static class SavedTensors
{
    private static readonly FieldInfo? Saved = typeof(autograd.AutogradContext).GetField("_savedVariables", BindingFlags.NonPublic | BindingFlags.Instance);

    // TorchSharp's internal SavedVariable.reset_data, looked up once (every node's backward calls Release).
    private static readonly MethodInfo? ResetData = typeof(autograd).GetNestedType("SavedVariable", BindingFlags.NonPublic)
        ?.GetMethod("reset_data", BindingFlags.Public | BindingFlags.Instance);

    /// <summary>Whether this TorchSharp has the private members Release reaches (tests check it, so an upgrade cannot silently drop it).</summary>
    public static bool Available => Saved is not null && ResetData is not null;

    public static void Release(autograd.AutogradContext ctx)
    {
        if (ResetData is null || Saved?.GetValue(ctx) is not IList variables) return;
        foreach (var variable in variables) ResetData.Invoke(variable, null);
    }
}
