using System.Security.Cryptography;
using Ponder.Interop;

namespace Ponder.Rewards;

/// <summary>Names a policy by its weights, so labels made by one policy are never reused for another.</summary>
public static class PolicyIdentity
{
    /// <summary>
    /// "sha256:" and the first 16 hex digits of the SHA-256 of the checkpoint's <c>model.safetensors</c>, or of a sharded
    /// folder's index and shards one after another (<see cref="SafetensorsShards.Files"/>).
    /// </summary>
    public static string Of(string checkpointDir)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 20];
        foreach (string path in SafetensorsShards.Files(checkpointDir))
        {
            using var stream = File.OpenRead(path);
            for (int read; (read = stream.Read(buffer)) > 0;) sha.AppendData(buffer, 0, read);
        }
        return "sha256:" + Convert.ToHexStringLower(sha.GetHashAndReset())[..16];
    }
}
