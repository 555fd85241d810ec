// ponder: the command-line face of the library. One *Command.cs per verb; Entry dispatches.
return Ponder.Cli.Entry.Run(args);
