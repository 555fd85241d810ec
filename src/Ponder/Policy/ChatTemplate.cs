using System.Text;
using System.Text.RegularExpressions;

namespace Ponder.Policy;

/// <summary>
/// A chat format recognized from a <c>tokenizer_config.json</c> <c>chat_template</c> by its marker tokens (no Jinja
/// engine): Llama 3 headers or ChatML. A ChatML template that writes a default system message when the conversation
/// has none (Qwen2: "You are a helpful assistant.") keeps that behaviour.
/// </summary>
/// <param name="Kind">The format.</param>
/// <param name="DefaultSystemPrompt">System message inserted when the first message is not a system one; null for none.</param>
/// <param name="BosText">Text the template starts with (Llama 3 writes its BOS token); null for none.</param>
public sealed partial record ChatTemplate(ChatTemplateKind Kind, string? DefaultSystemPrompt = null, string? BosText = null)
{
    public static readonly ChatTemplate None = new(ChatTemplateKind.None);

    /// <summary>Recognizes <paramref name="jinja"/> (null gives <see cref="None"/>); <paramref name="bosText"/> is the tokenizer's BOS token text.</summary>
    public static ChatTemplate Recognize(string? jinja, string? bosText)
    {
        if (string.IsNullOrEmpty(jinja)) return None;
        if (jinja.Contains("<|start_header_id|>", StringComparison.Ordinal) && jinja.Contains("<|eot_id|>", StringComparison.Ordinal))
            return new ChatTemplate(ChatTemplateKind.Llama3, BosText: jinja.Contains("bos_token", StringComparison.Ordinal) ? bosText : null);
        if (jinja.Contains("<|im_start|>", StringComparison.Ordinal) && jinja.Contains("<|im_end|>", StringComparison.Ordinal))
        {
            var match = DefaultSystem().Match(jinja);
            return new ChatTemplate(ChatTemplateKind.ChatMl, match.Success ? match.Groups["prompt"].Value : null);
        }
        return None;
    }

    /// <summary>
    /// The prompt text for <paramref name="messages"/> (roles such as system, user, assistant); with
    /// <paramref name="addGenerationPrompt"/> it ends with the header that opens the assistant's turn.
    /// </summary>
    public string Apply(IReadOnlyList<(string Role, string Content)> messages, bool addGenerationPrompt)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var text = new StringBuilder();
        switch (Kind)
        {
            case ChatTemplateKind.Llama3:
                text.Append(BosText);
                foreach (var (role, content) in messages)
                    text.Append("<|start_header_id|>").Append(role).Append("<|end_header_id|>\n\n").Append(content.Trim()).Append("<|eot_id|>");
                if (addGenerationPrompt) text.Append("<|start_header_id|>assistant<|end_header_id|>\n\n");
                break;
            case ChatTemplateKind.ChatMl:
                if (DefaultSystemPrompt is not null && (messages.Count == 0 || messages[0].Role != "system"))
                    text.Append("<|im_start|>system\n").Append(DefaultSystemPrompt).Append("<|im_end|>\n");
                foreach (var (role, content) in messages)
                    text.Append("<|im_start|>").Append(role).Append('\n').Append(content).Append("<|im_end|>\n");
                if (addGenerationPrompt) text.Append("<|im_start|>assistant\n");
                break;
            default:
                throw new NotSupportedException("this tokenizer has no chat template Ponder recognizes (known: Llama 3 headers, ChatML)");
        }
        return text.ToString();
    }

    // The literal default system turn of a ChatML template; "\n" appears either escaped (inside a Jinja string) or raw.
    [GeneratedRegex(@"<\|im_start\|>system(?:\\n|\n)(?<prompt>[^<'""{}\\]+)<\|im_end\|>")]
    private static partial Regex DefaultSystem();
}
