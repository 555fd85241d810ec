using System.Text.Json;

namespace Ponder.Learning;

/// <summary>
/// One line of a preference file (TRL's and OpenAI's preference-data shape): a prompt, the preferred completion
/// (<c>chosen</c>) and the rejected one (<c>rejected</c>). A completion is whole (the model ends it: EOS follows it)
/// unless the line says <c>"chosen_complete": false</c> or <c>"rejected_complete": false</c> (a step of a longer
/// solution, as step-level pairs are).
/// </summary>
public sealed record PreferencePair(string Prompt, string Chosen, string Rejected)
{
    /// <summary>Where the pair was read: <c>file:line</c> (empty for a pair made in code).</summary>
    public string Where { get; init; } = "";

    /// <summary>Whether the chosen completion ends the answer (EOS follows it).</summary>
    public bool ChosenComplete { get; init; } = true;

    /// <summary>Whether the rejected completion ends the answer (EOS follows it).</summary>
    public bool RejectedComplete { get; init; } = true;

    /// <summary>
    /// Reads a JSON-lines file of <c>{"prompt": …, "chosen": …, "rejected": …}</c> objects; blank lines are skipped.
    /// A missing file, a line that is not a JSON object, a missing or non-string field, a pair whose completions are
    /// the same, or a file with no pair is an <see cref="InvalidDataException"/> naming the file (and line).
    /// </summary>
    public static IReadOnlyList<PreferencePair> ReadFile(string path)
    {
        if (!File.Exists(path)) throw new InvalidDataException($"{path}: file not found");
        var pairs = new List<PreferencePair>();
        var number = 0;
        foreach (var line in File.ReadLines(path))
        {
            number++;
            if (!string.IsNullOrWhiteSpace(line)) pairs.Add(Parse(line, $"{path}:{number}"));
        }
        return pairs.Count > 0 ? pairs : throw new InvalidDataException($"{path}: no preference pairs (one JSON object a line with prompt, chosen and rejected)");
    }

    private static PreferencePair Parse(string line, string where)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(line);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{where}: not valid JSON ({e.Message})");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{where}: not a JSON object");
            var pair = new PreferencePair(Field(root, "prompt", where), Field(root, "chosen", where), Field(root, "rejected", where))
            {
                ChosenComplete = Flag(root, "chosen_complete", where), RejectedComplete = Flag(root, "rejected_complete", where),
            };
            return pair.Chosen != pair.Rejected ? pair with { Where = where } : throw new InvalidDataException($"{where}: 'chosen' and 'rejected' are the same text");
        }
    }

    private static bool Flag(JsonElement root, string name, string where) =>
        !root.TryGetProperty(name, out var value) || value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new InvalidDataException($"{where}: '{name}' must be true or false"),
        };

    private static string Field(JsonElement root, string name, string where) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw new InvalidDataException($"{where}: missing string field '{name}'");
}
