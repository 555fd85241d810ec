namespace Ponder.Tasks;

/// <summary>
/// User problems from JSON-lines files, one object a line with string fields <c>question</c> and
/// <c>answer</c> (GSM8K style: the answer text ends with <c>#### 42</c>; without <c>####</c> the whole
/// answer is the final answer). The prompt is the question and a newline. A completion's final answer is
/// read as <c>#### x</c>, <c>\boxed{x}</c> or a last <c>#x</c> line, and compared numerically where possible.
/// </summary>
public sealed class JsonlTask : ITask
{
    private readonly IReadOnlyList<Problem> _train;
    private readonly IReadOnlyList<Problem> _test;
    private readonly Dictionary<string, JsonlExample> _byPrompt = new(StringComparer.Ordinal);

    private JsonlTask(string name, IReadOnlyList<JsonlExample> train, IReadOnlyList<JsonlExample> test)
    {
        Name = name;
        ContentId = Digest(train, test);
        // The first copy of a repeated question wins; an explicit test file takes precedence over the train file,
        // so a question in both files is a test problem only.
        _test = Index(test);
        _train = Index(train);
    }

    public string Name { get; }

    /// <summary>
    /// "sha256:" and 16 hex digits of the files' questions and answers: the name holds the paths only, so what is made
    /// from the problems (cached labels) names this too, and a file edited since is not taken for the same task.
    /// </summary>
    public string ContentId { get; }

    public bool HasStepChecker => false;

    /// <summary>
    /// One file split by a stable hash of each question (about 10% test); spec <c>jsonl:path=F</c>.
    /// Throws <see cref="InvalidDataException"/> naming the file and line for bad data.
    /// </summary>
    public static JsonlTask FromFile(string path)
    {
        RequireSpecSafe("path", path);
        var examples = JsonlExample.ReadFile(path);
        var test = examples.Where(e => StableSplit.Of(StableSplit.Hash(PromptOf(e))) == Split.Test).ToList();
        var train = examples.Where(e => StableSplit.Of(StableSplit.Hash(PromptOf(e))) == Split.Train).ToList();
        return new JsonlTask($"jsonl:path={path}", train, test);
    }

    /// <summary>
    /// Explicit train and test files; spec <c>jsonl:train=F,test=G</c>. A question present in both is kept
    /// in test only. Throws <see cref="InvalidDataException"/> naming the file and line for bad data.
    /// </summary>
    public static JsonlTask FromFiles(string trainPath, string testPath)
    {
        RequireSpecSafe("train", trainPath);
        RequireSpecSafe("test", testPath);
        return new JsonlTask(
            $"jsonl:train={trainPath},test={testPath}", JsonlExample.ReadFile(trainPath), JsonlExample.ReadFile(testPath));
    }

    /// <summary>
    /// A seeded shuffle of the split, first <paramref name="count"/> (all when the split has fewer);
    /// <see cref="InvalidOperationException"/> when problems are asked of an empty split.
    /// </summary>
    public IReadOnlyList<Problem> Problems(Split split, int count, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var problems = split == Split.Test ? _test : _train;
        if (count > 0 && problems.Count == 0)
            throw new InvalidOperationException($"task '{Name}': its {split.ToString().ToLowerInvariant()} split is empty ({_train.Count} train, {_test.Count} test problems; "
                + "jsonl:path=F holds out about 10% of the questions by a hash, jsonl:train=F,test=G names both files)");
        Problem[] shuffled = [.. problems];
        new Random(seed).Shuffle(shuffled);
        return shuffled[..Math.Min(count, shuffled.Length)];
    }

    /// <summary>Correct iff a final answer is found and matches the reference; well-formed iff one is found.</summary>
    public Outcome Check(Problem problem, string completion)
    {
        ArgumentNullException.ThrowIfNull(problem);
        ArgumentNullException.ThrowIfNull(completion);
        string? answer = FinalAnswer.Extract(completion);
        string? reason =
            answer is null ? "no final answer found (#### x, \\boxed{x} or a #x line)"
            : !FinalAnswer.Matches(answer, problem.Answer) ? $"final answer '{answer}' is not '{problem.Answer}'"
            : null;
        return new Outcome(reason is null, answer is null ? null : FinalAnswer.Canonical(answer), answer is not null, reason);
    }

    /// <summary>
    /// The non-empty lines of the answer text before <c>####</c>, then <c>#### answer</c>; null when the
    /// answer has no reasoning lines. <see cref="ArgumentException"/> for a problem this task did not make.
    /// </summary>
    public IReadOnlyList<string>? GoldSolution(Problem problem)
    {
        ArgumentNullException.ThrowIfNull(problem);
        if (!_byPrompt.TryGetValue(problem.Prompt, out var example))
        {
            throw new ArgumentException($"problem {problem.Id} is not from task '{Name}'");
        }
        int hashes = example.AnswerText.LastIndexOf("####", StringComparison.Ordinal);
        if (hashes < 0)
        {
            return null;
        }
        string[] steps = [.. example.AnswerText[..hashes].Split('\n').Select(l => l.TrimEnd()).Where(l => l.Length > 0)];
        return steps.Length == 0 ? null : [.. steps, $"#### {problem.Answer}"];
    }

    public bool CheckStep(Problem problem, IReadOnlyList<string> steps) =>
        throw new NotSupportedException($"task '{Name}' has no step checker");

    private static string PromptOf(JsonlExample example) => example.Question + "\n";

    private static string Digest(IReadOnlyList<JsonlExample> train, IReadOnlyList<JsonlExample> test)
    {
        using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        foreach (var (part, examples) in new[] { ("train", train), ("test", test) })
        {
            sha.AppendData(System.Text.Encoding.UTF8.GetBytes(part + "\0"));
            foreach (var e in examples)   // lengths first, so no two lists of strings give the same bytes
                sha.AppendData(System.Text.Encoding.UTF8.GetBytes($"{e.Question.Length}:{e.Question}{e.AnswerText.Length}:{e.AnswerText}"));
        }
        return "sha256:" + Convert.ToHexStringLower(sha.GetHashAndReset())[..16];
    }

    private Problem[] Index(IReadOnlyList<JsonlExample> examples)
    {
        var problems = new List<Problem>(examples.Count);
        foreach (var example in examples)
        {
            string prompt = PromptOf(example);
            if (_byPrompt.TryAdd(prompt, example))
            {
                problems.Add(new Problem(
                    StableSplit.Id(StableSplit.Hash(prompt)), prompt, FinalAnswer.Reference(example.AnswerText)));
            }
        }
        return [.. problems];
    }

    // The name is a spec that must parse back, so a path cannot hold the option separator.
    private static void RequireSpecSafe(string key, string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path, key);
        if (path.Contains(','))
        {
            throw new ArgumentException($"task 'jsonl': option '{key}' cannot contain ',' (got '{path}')");
        }
    }
}
