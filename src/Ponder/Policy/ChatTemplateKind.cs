namespace Ponder.Policy;

/// <summary>The chat formats Ponder renders without a Jinja engine, recognized from a template's marker tokens.</summary>
public enum ChatTemplateKind
{
    /// <summary>No template, or one Ponder does not recognize.</summary>
    None,
    /// <summary>Llama 3: <c>&lt;|start_header_id|&gt;role&lt;|end_header_id|&gt;\n\ncontent&lt;|eot_id|&gt;</c>.</summary>
    Llama3,
    /// <summary>ChatML (Qwen2): <c>&lt;|im_start|&gt;role\ncontent&lt;|im_end|&gt;\n</c>.</summary>
    ChatMl,
    /// <summary>Llama 2: <c>&lt;s&gt;[INST] &lt;&lt;SYS&gt;&gt;\nsystem\n&lt;&lt;/SYS&gt;&gt;\n\nuser [/INST] assistant &lt;/s&gt;</c>.</summary>
    Llama2,
}
