namespace Ponder.Tasks;

/// <summary>Options of <see cref="CountdownTask"/>; as a spec: <c>countdown:numbers=4,max=25,target=100</c>.</summary>
/// <param name="Numbers">How many input numbers (2..6): more numbers, a larger search space.</param>
/// <param name="Max">Largest input number (2..1000000); inputs are drawn in 1..Max.</param>
/// <param name="Target">Largest target (10..1000000); targets are drawn in 10..Target.</param>
public sealed record CountdownOptions(int Numbers = 4, int Max = 25, int Target = 100);
