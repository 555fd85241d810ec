using Ponder.Interop;
using Ponder.Policy;
using static TorchSharp.torch;

namespace Ponder.Cli;

/// <summary><c>ponder export</c>: a checkpoint (Ponder's or an imported Hugging Face folder) as an HF folder or a GGUF file.</summary>
public static class ExportCommand
{
    public const string Usage = """
        ponder export --format safetensors|gguf --checkpoint C --out F [--dtype f32|f16|bf16]
          safetensors: F is a folder in the Hugging Face layout (config.json, model.safetensors, tokenizer.json,
                       tokenizer_config.json when C has one, ponder.json); --dtype f32 (default), f16 or bf16
          gguf:        F is one GGUF v3 file (llama architecture, llama.cpp names and tokenizer); --dtype f32 (default) or f16
        """;

    public static int Run(string[] args)
    {
        var o = new Options("export", args);
        var format = o.Required("format") switch
        {
            "safetensors" => ExportFormat.Safetensors,
            "gguf" => ExportFormat.Gguf,
            var other => throw new UsageException($"export: --format must be safetensors or gguf, got '{other}'"),
        };
        string dir = o.Required("checkpoint");
        string output = o.Required("out");
        string dtype = o.String("dtype", "f32")!;
        o.Done();
        if (dtype is not ("f32" or "f16" or "bf16") || (format == ExportFormat.Gguf && dtype == "bf16"))
            throw new UsageException($"export: --dtype must be f32 or f16{(format == ExportFormat.Safetensors ? " or bf16" : "")} for {format.ToString().ToLowerInvariant()}, got '{dtype}'");
        if (Path.GetFullPath(output).TrimEnd('/') == Path.GetFullPath(dir).TrimEnd('/'))
            throw new UsageException("export: --out must differ from --checkpoint");
        if (format == ExportFormat.Safetensors) OutputFolder.RequireEmpty("export", output);
        else RequireGgufTarget(output, dir);
        TorchRuntime.Initialize("cpu");

        var policy = LoadedPolicy.Load(dir, CPU);
        if (format == ExportFormat.Gguf)
        {
            string? parent = Path.GetDirectoryName(Path.GetFullPath(output));
            if (parent is not null) Directory.CreateDirectory(parent);
            GgufExport.Write(output, policy.Model, policy.Tokenizer, dtype == "f16" ? GgufTensorType.F16 : GgufTensorType.F32, Path.GetFileName(Path.GetFullPath(dir).TrimEnd('/')));
        }
        else
        {
            var weights = dtype switch { "f16" => SafetensorsDType.F16, "bf16" => SafetensorsDType.BF16, _ => SafetensorsDType.F32 };
            Checkpoint.Save(output, policy.Model.Config, policy.Model, policy.Tokenizer, policy.State, dtype: weights);   // tokenizer_config.json included
            KeepEosList(Path.Combine(dir, Checkpoint.ConfigFile), Path.Combine(output, Checkpoint.ConfigFile));
        }
        Console.WriteLine($"wrote {output} ({format.ToString().ToLowerInvariant()}, {dtype}, {policy.Model.ParameterCount:N0} parameters)");
        return 0;
    }

    /// <summary>
    /// Ponder's config keeps one end-of-sequence id (its tokenizer stops on the chat template's end token); a source
    /// that lists several (Llama 3: end of text, end of turn) keeps its whole list in the exported config.json.
    /// </summary>
    static void KeepEosList(string source, string exported)
    {
        if (System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(source)) is not System.Text.Json.Nodes.JsonObject from
            || from["eos_token_id"] is not System.Text.Json.Nodes.JsonArray list) return;
        var config = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(exported))!.AsObject();
        config["eos_token_id"] = list.DeepClone();
        AtomicFile.Write(exported, config.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>
    /// A GGUF file may replace an earlier export, but not a folder, a file inside the checkpoint being exported, or
    /// any other file (one that does not start with GGUF's magic).
    /// </summary>
    static void RequireGgufTarget(string output, string checkpoint)
    {
        if (Directory.Exists(output)) throw new UsageException($"export: --out '{output}' is a folder; gguf writes one file");
        string? parent = Path.GetDirectoryName(Path.GetFullPath(output));
        if (parent is not null && parent.TrimEnd('/') == Path.GetFullPath(checkpoint).TrimEnd('/'))
            throw new UsageException($"export: --out '{output}' is inside the checkpoint folder '{checkpoint}'; write the GGUF file elsewhere");
        if (!File.Exists(output)) return;
        Span<byte> magic = stackalloc byte[4];
        using (var file = File.OpenRead(output))
            if (file.ReadAtLeast(magic, 4, throwOnEndOfStream: false) < 4 || !magic.SequenceEqual("GGUF"u8))
                throw new UsageException($"export: --out '{output}' exists and is not a GGUF file; remove it or choose another name");
    }
}
