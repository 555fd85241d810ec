using Ponder.Policy;
using Ponder.Scaling;
using Ponder.Tasks;

namespace Ponder.Cli;

/// <summary><c>ponder eval</c>: greedy, pass@k and maj@k of a checkpoint on held-out problems.</summary>
public static class EvalCommand
{
    public const string Usage = """
        ponder eval --checkpoint C [--task T] [--count N] [--samples K] [--temperature X] [--seed S] [--json F] [--device cpu|cuda] [--kv-cache f32|bf16] [--divergence [--divergence-reference R]]
          --task defaults to the checkpoint's task; N held-out problems (200); K samples each (16; 0: greedy only,
            and the table and --json hold no sampled figures: no pass@k or maj@k)
          --divergence: where each wrong greedy completion first leaves the gold solution, and how likely the
            policy found the gold token there (at a near tie, sampling often picks it)
          --divergence-reference R: also score checkpoint R's divergence points under this policy (did training move
            the probability at R's wrong tokens to the gold one?)
          --kv-cache f32|bf16: the KV cache's element type (default: bf16 for a float32 model decoding on the CPU, half the bytes a step reads; else the model's type)
        """;

    public static int Run(string[] args)
    {
        var o = new Options("eval", args);
        string dir = o.Required("checkpoint");
        string? taskSpec = o.String("task");
        var options = new EvalOptions
        {
            Count = o.Int("count", 200, 1),
            Samples = o.Int("samples", 16, 0, 4096),
            Temperature = o.Double("temperature", 1.0, 0, 10),
            Seed = o.Int("seed", 0),
        };
        string? json = o.String("json");
        var device = TorchRuntime.Initialize(o.String("device", "cpu")!);
        var kvCache = o.KvCache();
        bool divergence = o.Flag("divergence");
        string? reference = o.String("divergence-reference");
        if (reference is not null && !divergence) throw new UsageException("eval: --divergence-reference needs --divergence");
        o.Done();
        if (json is not null) OutputFolder.RequireWritableFile("eval", json, "json");
        if (reference is not null) Checkpoint.ReadConfig(reference);       // a missing or broken reference fails before the evaluation

        var policy = LoadedPolicy.Load(dir, device);
        if (reference is not null && Checkpoint.ReadTokenizer(reference).ToJson() != policy.Tokenizer.ToJson())   // and so does another tokenizer
            throw new InvalidDataException($"checkpoint '{reference}': its tokenizer differs from '{dir}'s, so their tokens cannot be compared");
        policy.Model.KvCacheType = kvCache;
        var task = TaskRegistry.Create(taskSpec ?? policy.State.Task);
        var result = Evaluator.Run(policy.Model, policy.Tokenizer, task, options, new LineProgress());
        if (result.Count < options.Count)
            Console.WriteLine($"eval: the task's held-out split has {result.Count} problems, fewer than the {options.Count} asked for; all of them are evaluated");
        Console.WriteLine($"{task.Name}: {result.Count} held-out problems, {result.Samples} samples each at temperature {result.Temperature}, seed {result.Seed}");
        Console.WriteLine(result.ToMarkdown());
        Console.WriteLine($"{result.GeneratedTokens} tokens generated in {result.Seconds:F1}s ({result.GeneratedTokens / result.Seconds:F0} tokens/s)");
        var output = result.ToJson();
        if (divergence)
        {
            var problems = task.Problems(Split.Test, options.Count, options.Seed);
            var points = GreedyDivergence.Measure(policy.Model, policy.Tokenizer, task, problems);
            Console.WriteLine();
            Console.WriteLine(points.ToMarkdown());
            output["divergence"] = points.ToJson();
            if (reference is not null)
            {
                var other = LoadedPolicy.Load(reference, device);
                var rescored = GreedyDivergence.Rescore(policy.Model, policy.Tokenizer, task, problems,
                    GreedyDivergence.Measure(other.Model, other.Tokenizer, task, problems));
                Console.WriteLine();
                Console.WriteLine(rescored.ToMarkdown());
                output["divergence_at_reference"] = rescored.ToJson();
            }
        }
        if (json is not null)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(json))!);
            AtomicFile.Write(json, output.ToJsonString(JsonText.Indented));
        }
        return 0;
    }
}
