using System.Security.Cryptography;
using Ponder.Policy;

namespace Ponder.Rewards;

/// <summary>Names a policy by its weights, so labels made by one policy are never reused for another.</summary>
public static class PolicyIdentity
{
    /// <summary>"sha256:" and the first 16 hex digits of the SHA-256 of the checkpoint's <c>model.safetensors</c>.</summary>
    public static string Of(string checkpointDir)
    {
        string path = Path.Combine(checkpointDir, Checkpoint.WeightsFile);
        if (!File.Exists(path)) throw new FileNotFoundException($"checkpoint '{checkpointDir}': missing {Checkpoint.WeightsFile}", path);
        using var stream = File.OpenRead(path);
        return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(stream))[..16];
    }
}
