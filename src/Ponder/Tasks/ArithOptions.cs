namespace Ponder.Tasks;

/// <summary>Options of <see cref="ArithTask"/>; as a spec: <c>arith:steps=3,digits=3,ops=+-*</c>.</summary>
/// <param name="Steps">Operations in a chain (1..8): the number of reasoning steps a solution needs.</param>
/// <param name="Digits">Digits of the start number and of every + and - operand (1..6): how hard each step is.</param>
/// <param name="Ops">Operators that may be drawn: any non-empty subset of <c>+-*</c>, in any order.</param>
public sealed record ArithOptions(int Steps = 3, int Digits = 3, string Ops = "+-*");
