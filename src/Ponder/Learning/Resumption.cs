using Ponder.Policy;

namespace Ponder.Learning;

/// <summary>
/// The folder a trainer resumes must hold a run that trainer wrote: a checkpoint with its <c>ponder.json</c> and
/// optimizer state, made by the same trainer (an RL run resumed by <c>train sft</c> would lose its reference policy and
/// baseline; an SFT folder resumed by expert iteration would train nothing). Checked before anything is read or written.
/// </summary>
public static class Resumption
{
    /// <summary>The extra entry of <c>ponder.json</c> that holds the command line a run was started with (a JSON array of arguments).</summary>
    public const string CommandKey = "command";

    /// <summary>Records <paramref name="command"/> (when there is one) in a checkpoint's extra entries, for <c>--resume</c>.</summary>
    public static void KeepCommand(Dictionary<string, string> extra, IReadOnlyList<string>? command)
    {
        ArgumentNullException.ThrowIfNull(extra);
        if (command is not null) extra[CommandKey] = System.Text.Json.JsonSerializer.Serialize(command);
    }

    /// <summary>
    /// The saved state of <paramref name="dir"/> when <paramref name="trainer"/> (<c>sft</c>, <c>rl</c>,
    /// <c>expert-iteration</c>) wrote it; <see cref="InvalidDataException"/> naming the folder and the problem otherwise.
    /// </summary>
    public static CheckpointState Require(string dir, string trainer, bool needsOptimizerState = true)
    {
        if (!File.Exists(Path.Combine(dir, Checkpoint.StateFile)))
            throw new InvalidDataException(Directory.Exists(dir)
                ? $"checkpoint '{dir}': no {Checkpoint.StateFile}, so there is no run to resume"
                : $"checkpoint '{dir}': no such folder to resume");
        var state = Checkpoint.ReadState(dir);
        string wrote = TrainerOf(state);
        if (wrote != trainer)
            throw new InvalidDataException($"checkpoint '{dir}': train {wrote} wrote it, so train {trainer} cannot resume it");
        if (state.Step is < 0 or >= int.MaxValue)
            throw new InvalidDataException($"checkpoint '{dir}': {Checkpoint.StateFile} says step {state.Step}");
        if (string.IsNullOrWhiteSpace(state.Task))
            throw new InvalidDataException($"checkpoint '{dir}': {Checkpoint.StateFile} names no task");
        if (needsOptimizerState && !File.Exists(Path.Combine(dir, Checkpoint.OptimizerFile)))
            throw new InvalidDataException($"checkpoint '{dir}': no {Checkpoint.OptimizerFile} to resume from");
        Checkpoint.RequireOneSave(dir, state);
        return state;
    }

    /// <summary>Which trainer wrote a state: its <c>trainer</c> entry, <c>rl</c> for one with an RL algorithm, else <c>sft</c>.</summary>
    public static string TrainerOf(CheckpointState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Kind is "orm" or "prm" or "reviser") return state.Kind;
        if (state.Extra?.GetValueOrDefault("trainer") is { } trainer) return trainer;
        return state.Extra?.ContainsKey("algorithm") == true ? "rl" : "sft";
    }
}
