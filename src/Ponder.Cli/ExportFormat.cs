namespace Ponder.Cli;

/// <summary>What <c>ponder export</c> writes.</summary>
public enum ExportFormat
{
    /// <summary>A Hugging Face folder: config.json, model.safetensors, tokenizer files (plus ponder.json).</summary>
    Safetensors,
    /// <summary>One GGUF v3 file for llama.cpp.</summary>
    Gguf,
}
