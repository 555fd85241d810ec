namespace Ponder.Tasks;

/// <summary>
/// A completion read in the built-in step format: the step lines up to the first line starting with
/// '#', which is the final-answer line. Anything after the final-answer line is ignored (a policy may
/// keep writing past its answer). Lines end at '\n'; a trailing '\r' is dropped; nothing else is trimmed.
/// </summary>
/// <param name="Steps">Lines before the final-answer line (all lines when there is none).</param>
/// <param name="FinalAnswer">Text after the '#' of the final-answer line, trimmed; null when no line starts with '#'.</param>
internal sealed record WrittenSolution(IReadOnlyList<string> Steps, string? FinalAnswer)
{
    public static WrittenSolution Read(string completion)
    {
        string[] lines = completion.Split('\n');
        // Text ending in a newline has no further (empty) line.
        int count = lines[^1].Length == 0 ? lines.Length - 1 : lines.Length;
        var steps = new List<string>();
        for (int i = 0; i < count; i++)
        {
            string line = lines[i].EndsWith('\r') ? lines[i][..^1] : lines[i];
            if (IsFinalLine(line))
            {
                return new WrittenSolution(steps, line[1..].Trim());
            }
            steps.Add(line);
        }
        return new WrittenSolution(steps, null);
    }

    public static bool IsFinalLine(string line) => line.StartsWith('#');
}
