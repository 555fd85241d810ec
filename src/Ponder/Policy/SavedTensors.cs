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

    public static void Release(autograd.AutogradContext ctx)
    {
        if (Saved?.GetValue(ctx) is not IList variables) return;
        foreach (var variable in variables)
            variable.GetType().GetMethod("reset_data", BindingFlags.Public | BindingFlags.Instance)?.Invoke(variable, null);
    }
}
