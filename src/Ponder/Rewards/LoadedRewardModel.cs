using System.Text.Json.Nodes;
using Ponder.Policy;
using TorchSharp;
using static TorchSharp.torch;

namespace Ponder.Rewards;

/// <summary>
/// A reward-model checkpoint folder: <c>config.json</c> (architectures <c>LlamaForSequenceClassification</c>,
/// <c>num_labels</c> 1), <c>model.safetensors</c> (<c>model.*</c> and <c>score.weight</c>), <c>tokenizer.json</c>,
/// and <c>ponder.json</c> with kind "orm" or "prm" and, in <c>extra</c>, the policy it came from.
/// </summary>
public sealed record LoadedRewardModel(RewardModel Model, ITokenizer Tokenizer, CheckpointState State, RewardModelKind Kind, string Dir)
{
    /// <summary><c>extra</c> keys naming the policy the trunk was initialized from (and whose samples were labelled).</summary>
    public const string PolicyKey = "policy", PolicyIdKey = "policy_id";

    /// <summary>Loads <paramref name="dir"/> onto <paramref name="device"/> in eval mode; a policy, a wrong head or a vocabulary mismatch is a one-line error.</summary>
    public static LoadedRewardModel Load(string dir, Device device)
    {
        var state = Checkpoint.ReadState(dir);
        var kind = ParseKind(state.Kind)
            ?? throw new InvalidDataException($"checkpoint '{dir}': ponder.json kind is '{state.Kind}', not a reward model (expected 'orm' or 'prm')");
        var config = Checkpoint.ReadConfig(dir);
        var tokenizer = Checkpoint.ReadTokenizer(dir);
        if (tokenizer.VocabSize > config.VocabSize)
            throw new InvalidDataException($"checkpoint '{dir}': tokenizer.json has {tokenizer.VocabSize} tokens but config.json vocab_size is {config.VocabSize}");
        var model = new RewardModel(config);
        Checkpoint.LoadWeights(dir, model);   // names and shapes checked first: a (2, C) or missing score.weight is refused
        model.to(device);
        model.eval();
        return new LoadedRewardModel(model, tokenizer, state, kind, dir);
    }

    /// <summary>A scorer over this model (for a PRM, solution scores aggregate step scores by <paramref name="aggregation"/>).</summary>
    public RewardScorer Scorer(Aggregation aggregation = Aggregation.Min, int batchSize = 64) => new(Model, Tokenizer, Kind, aggregation, batchSize);

    /// <summary>Refuses a policy whose tokenizer differs from the reward model's: its token ids would mean other text.</summary>
    public void RequireSameVocabulary(ITokenizer policyTokenizer, string policyDir)
    {
        if (policyTokenizer.ToJson() != Tokenizer.ToJson())
            throw new InvalidDataException($"checkpoint '{Dir}': its tokenizer.json differs from policy '{policyDir}' ({Tokenizer.VocabSize} vs {policyTokenizer.VocabSize} tokens); score only that policy's samples with it");
    }

    /// <summary>"orm" / "prm" → kind; anything else → null.</summary>
    public static RewardModelKind? ParseKind(string kind) => kind switch
    {
        "orm" => RewardModelKind.Orm,
        "prm" => RewardModelKind.Prm,
        _ => null,
    };

    /// <summary>The <c>ponder.json</c> spelling of a kind.</summary>
    public static string KindName(RewardModelKind kind) => kind == RewardModelKind.Orm ? "orm" : "prm";

    /// <summary>
    /// Writes the folder with <see cref="Checkpoint.Save"/> (staged files, renamed into place), then adds the
    /// sequence-classification fields transformers reads (<c>num_labels</c> through <c>id2label</c>) to config.json.
    /// </summary>
    public static void Save(string dir, RewardModel model, ITokenizer tokenizer, CheckpointState state, IReadOnlyDictionary<string, Tensor>? optimizerState = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        Checkpoint.Save(dir, model.Config, model, tokenizer, state, optimizerState);
        string path = Path.Combine(dir, Checkpoint.ConfigFile);
        var config = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        config["id2label"] = new JsonObject { ["0"] = "LABEL_0" };
        config["label2id"] = new JsonObject { ["LABEL_0"] = 0 };
        AtomicFile.Write(path, config.ToJsonString(new() { WriteIndented = true }));
    }
}
