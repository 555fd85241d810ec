namespace Ponder.Scaling;

/// <summary>Answer voting shared by evaluation and search.</summary>
public static class Vote
{
    /// <summary>Most frequent non-null answer; ties go to the answer seen first; null when no answer voted.</summary>
    public static string? Majority(IEnumerable<string?> answers) => Weighted(answers.Select(a => (a, 1.0)));

    /// <summary>Answer with the largest total weight; ties go to the answer seen first.</summary>
    public static string? Weighted(IEnumerable<(string? Answer, double Weight)> votes)
    {
        var totals = new Dictionary<string, double>();
        var order = new List<string>();
        foreach (var (answer, weight) in votes)
        {
            if (answer is null) continue;
            if (!totals.ContainsKey(answer)) { totals[answer] = 0; order.Add(answer); }
            totals[answer] += weight;
        }
        string? best = null;
        foreach (var a in order)
            if (best is null || totals[a] > totals[best]) best = a;
        return best;
    }
}
