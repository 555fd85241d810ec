using Ponder.Cli;

// ponder: the command-line face of the library. One *Command.cs per verb.
const string usage = """
    ponder — reasoning models you can train, search and serve in .NET

    usage:
      ponder demo [--quick]                         the main job: train, evaluate, report (runs/demo)
      ponder train sft --task T --out DIR [...]     policy initialization on gold solutions
      ponder eval --checkpoint C [...]              greedy, pass@k and maj@k on held-out problems
      ponder solve --checkpoint C --strategy S "p"  search one problem: answer, candidates, compute used
      ponder scale --checkpoint C [...]             accuracy vs test-time compute per strategy: curves, fits, report
      ponder help [verb]

    tasks: arith[:steps=3,digits=3,ops=+-*], countdown[:numbers=4,max=25,target=100], jsonl:path=F
    """;

if (args.Length == 0 || args[0] is "help" or "--help" or "-h")
{
    Console.WriteLine(args.Length > 1 ? VerbUsage(args[1]) ?? usage : usage);
    return 0;
}
try
{
    return args[0] switch
    {
        "demo" => DemoCommand.Run(args[1..]),
        "train" => TrainCommand.Run(args[1..]),
        "eval" => EvalCommand.Run(args[1..]),
        "solve" => SolveCommand.Run(args[1..]),
        "scale" => ScaleCommand.Run(args[1..]),
        _ => throw new UsageException($"unknown verb '{args[0]}' (known: demo, train, eval, solve, scale, help)"),
    };
}
catch (UsageException e)
{
    Console.Error.WriteLine($"ponder {e.Message}");
    Console.Error.WriteLine("(ponder help for usage)");
    return 2;
}
catch (Exception e) when (e is InvalidDataException or IOException or ArgumentException or NotSupportedException or InvalidOperationException or UnauthorizedAccessException)
{
    Console.Error.WriteLine($"ponder: error: {e.Message}");
    return 1;
}

static string? VerbUsage(string verb) => verb switch
{
    "demo" => DemoCommand.Usage,
    "train" => TrainCommand.Usage,
    "eval" => EvalCommand.Usage,
    "solve" => SolveCommand.Usage,
    "scale" => ScaleCommand.Usage,
    _ => null,
};
