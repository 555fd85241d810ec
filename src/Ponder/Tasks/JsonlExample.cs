namespace Ponder.Tasks;

/// <summary>One line of a JSONL task file: the question and its full answer text (GSM8K style, ending in <c>#### x</c>).</summary>
internal sealed record JsonlExample(string Question, string AnswerText)
{
    /// <summary>
    /// Reads a JSON-lines file; blank lines are skipped. Any problem (missing file, a line that is not a JSON
    /// object, a missing field, a question that is not a string or an answer that is neither a string nor a number, an
    /// empty file, an answer with no final answer: empty after <c>####</c>, or several lines
    /// without one) is an <see cref="InvalidDataException"/> naming file and line.
    /// </summary>
    public static IReadOnlyList<JsonlExample> ReadFile(string path)
    {
        if (!File.Exists(path))
        {
            throw new InvalidDataException($"{path}: file not found");
        }
        var examples = new List<JsonlExample>();
        int number = 0;
        foreach (string line in File.ReadLines(path))
        {
            number++;
            if (!string.IsNullOrWhiteSpace(line))
            {
                examples.Add(Parse(line, $"{path}:{number}"));
            }
        }
        return examples.Count > 0 ? examples : throw new InvalidDataException($"{path}: no questions (the file has no non-blank line)");
    }

    private static JsonlExample Parse(string line, string where)
    {
        System.Text.Json.JsonDocument document;
        try
        {
            document = System.Text.Json.JsonDocument.Parse(line);
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new InvalidDataException($"{where}: not valid JSON ({e.Message})");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != System.Text.Json.JsonValueKind.Object)
            {
                throw new InvalidDataException($"{where}: not a JSON object");
            }
            var example = new JsonlExample(Field(root, "question", where, numberAllowed: false), Field(root, "answer", where, numberAllowed: true));
            bool hashes = example.AnswerText.Contains("####", StringComparison.Ordinal);
            if (!hashes && example.AnswerText.Trim().Contains('\n'))
                throw new InvalidDataException($"{where}: the answer has several lines but no '#### x' final answer");
            if (FinalAnswer.Reference(example.AnswerText).Length == 0)
                throw new InvalidDataException($"{where}: the answer has no final answer{(hashes ? " after its last '####'" : "")}");
            return example;
        }
    }

    // A string field; an answer may also be a bare number ({"answer": 72}), as many datasets write it.
    private static string Field(System.Text.Json.JsonElement root, string name, string where, bool numberAllowed)
    {
        if (!root.TryGetProperty(name, out var value)) throw new InvalidDataException($"{where}: missing field '{name}'");
        return value.ValueKind switch
        {
            System.Text.Json.JsonValueKind.String => value.GetString()!,
            System.Text.Json.JsonValueKind.Number when numberAllowed => value.GetRawText(),
            var kind => throw new InvalidDataException(
                $"{where}: field '{name}' must be a string{(numberAllowed ? " or a number" : "")}, not {kind.ToString().ToLowerInvariant()}"),
        };
    }
}
