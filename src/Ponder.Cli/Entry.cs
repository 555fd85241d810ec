namespace Ponder.Cli;

/// <summary>Dispatches a command line to its verb and turns failures into one line and an exit code (2: usage, 1: error).</summary>
public static class Entry
{
    public const string Usage = """
        ponder — reasoning models you can train, search and serve in .NET

        usage:
          ponder demo [--quick]                         the main job: train, evaluate, report (runs/demo)
          ponder train sft --task T --out DIR [...]     policy initialization on gold solutions
          ponder train rl --algo grpo --policy C --out DIR   policy-gradient RL (grpo, ppo, rloo, reinforce)
          ponder train expert-iteration|dpo --policy C --out DIR   learning from verified samples
          ponder train compare --policy C --out DIR     every learner at the same rollout budget
          ponder eval --checkpoint C [...]              greedy, pass@k and maj@k on held-out problems
          ponder train orm|prm --policy C --out DIR     reward models on Monte-Carlo process labels
          ponder eval-rm --rm C [...]                   reward-model step AUC, calibration, best-of-N selection
          ponder solve --checkpoint C --strategy S --budget B "problem"   one problem, any search strategy
          ponder scale --checkpoint C [...]             accuracy vs test-time compute sweep, power-law fits, report
          ponder train revise --init C --out DIR        a reviser for sequential revision
          ponder export --format safetensors|gguf --checkpoint C --out F   Hugging Face folder or llama.cpp GGUF
          ponder serve --checkpoint C [--port 8080]     OpenAI-compatible endpoint with reasoning_effort
          ponder think traces|scale|measure|stage [...] search traces, thinking budgets (also scale --thinking), thinking stage
          ponder help [verb]

        tasks: arith[:steps=3,digits=3,ops=+-*], countdown[:numbers=4,max=25,target=100], jsonl:path=F,
               think:countdown[:numbers=3,...][,style=dfs|bfs|best|heuristic|optimal][,expansions=N][,fallback=drop|optimal]
                 [,maxlen=CHARS][,path=0|1|back]
        environment: PONDER_THREADS=N (CPU threads), PONDER_LIBTORCH=DIR (libtorch of an installed PyTorch, for --device cuda),
                     PONDER_TF32=1 (TF32 tensor cores for float32 matmuls on CUDA)
        """;

    public static int Run(string[] args, TextWriter? stderr = null)
    {
        stderr ??= Console.Error;
        if (args.Length == 0 || args[0] is "help" or "--help" or "-h")
        {
            if (args.Length > 1 && VerbUsage(args[1]) is null)
            {
                stderr.WriteLine($"ponder help: unknown verb '{args[1]}' (known: demo, train, eval, eval-rm, solve, scale, export, serve, think)");
                return 2;
            }
            Console.WriteLine(args.Length > 1 ? VerbUsage(args[1]) : Usage);
            return 0;
        }
        try
        {
            return args[0] switch
            {
                "demo" => DemoCommand.Run(args[1..]),
                "train" => TrainCommand.Run(args[1..]),
                "eval" => EvalCommand.Run(args[1..]),
                "think" => ThinkCommand.Run(args[1..]),
                "think-scale" => ThinkCommand.Run(["scale", .. args[1..]]),
                "eval-rm" => EvalRmCommand.Run(args[1..]),
                "solve" => SolveCommand.Run(args[1..]),
                "scale" when args.Contains("--thinking") => ThinkCommand.Run(["scale", .. args[1..].Where(a => a != "--thinking")]),
                "scale" => ScaleCommand.Run(args[1..]),
                "export" => ExportCommand.Run(args[1..]),
                "serve" => ServeCommand.Run(args[1..]),
                _ => throw new UsageException($"unknown verb '{args[0]}' (known: demo, train, eval, eval-rm, solve, scale, export, serve, think, help)"),
            };
        }
        catch (UsageException e)
        {
            stderr.WriteLine($"ponder {e.Message}");
            stderr.WriteLine("(ponder help for usage)");
            return 2;
        }
        catch (Exception e) when (e is InvalidDataException or IOException or ArgumentException or NotSupportedException
                                      or InvalidOperationException or UnauthorizedAccessException or System.Text.Json.JsonException
                                      or FormatException or OverflowException)
        {
            stderr.WriteLine($"ponder: error: {Message(e)}");
            return 1;
        }
        catch (System.Net.Sockets.SocketException e)
        {
            stderr.WriteLine($"ponder: error: cannot listen there: {e.Message}");
            return 1;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Anything else is a fault of Ponder's, not of the input: one line naming its kind, for a bug report.
            stderr.WriteLine($"ponder: internal error ({e.GetType().Name}): {Message(e)}");
            return 1;
        }
    }

    // An exception's message as one line for a user: without .NET's " (Parameter 'x')" suffix, which names a C#
    // parameter the user never wrote.
    static string Message(Exception e)
    {
        string message = e.Message.ReplaceLineEndings(" ").Trim();
        return e is ArgumentException { ParamName: { } name } ? message.Replace($" (Parameter '{name}')", "") : message;
    }

    static string? VerbUsage(string verb) => verb switch
    {
        "demo" => DemoCommand.Usage,
        "train" => TrainCommand.Usage + "\n" + RlCommand.Usage + "\n" + ExpertIterationCommand.Usage + "\n" + RlCommand.CompareUsage + "\n" + RewardCommands.Usage,
        "eval" => EvalCommand.Usage,
        "train-rm" => RewardCommands.Usage,
        "eval-rm" => EvalRmCommand.Usage,
        "solve" => SolveCommand.Usage,
        "scale" => ScaleCommand.Usage,
        "export" => ExportCommand.Usage,
        "serve" => ServeCommand.Usage,
        "think" or "think-scale" => ThinkCommand.Usage,
        _ => null,
    };
}
