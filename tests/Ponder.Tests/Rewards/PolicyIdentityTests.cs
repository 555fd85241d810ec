using System.Security.Cryptography;
using Ponder.Interop;
using Ponder.Rewards;
using Ponder.Tests.Interop;

namespace Ponder.Tests.Rewards;

public sealed class PolicyIdentityTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void A_single_file_policy_is_named_by_its_weights_hash_as_before()
    {
        // Given a folder with one model.safetensors (the Qwen2-style test folder)
        HfFolders.Qwen2(_dir.Path).Dispose();
        string weights = _dir.File("model.safetensors");

        // Then its identity is the SHA-256 of that file (label files made earlier keep matching)
        Assert.Equal("sha256:" + Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(weights)))[..16], PolicyIdentity.Of(_dir.Path));
    }

    [Fact]
    public void A_sharded_policy_is_named_by_its_index_and_shards_and_a_changed_shard_changes_it()
    {
        // Given a sharded Hugging Face folder (an index and two shards, no model.safetensors)
        HfFolders.Llama(_dir.Path).Dispose();
        Assert.False(File.Exists(_dir.File("model.safetensors")));
        Assert.Equal(3, SafetensorsShards.Files(_dir.Path).Count);

        // When its identity is taken, and again after one byte of the second shard changes
        string before = PolicyIdentity.Of(_dir.Path);
        string shard = _dir.File("model-00002-of-00002.safetensors");
        var bytes = File.ReadAllBytes(shard);
        bytes[^1] ^= 1;
        File.WriteAllBytes(shard, bytes);

        // Then it names the folder, and the changed weights are another policy
        Assert.StartsWith("sha256:", before);
        Assert.NotEqual(before, PolicyIdentity.Of(_dir.Path));
    }
}
