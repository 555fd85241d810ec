using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Ponder.Policy;

/// <summary>
/// A chat format recognized from a <c>tokenizer_config.json</c> <c>chat_template</c> by its marker tokens (no Jinja
/// engine): Llama 3 headers, ChatML (Qwen2) or Llama 2's <c>[INST]</c>. A ChatML template keeps what its own text
/// says beyond the markers: a default system message when the conversation has none (Qwen2: "You are a helpful
/// assistant."; Qwen2.5-Math's, which asks for <c>\boxed{}</c>), a thinking section the generation prompt opens
/// (QwQ: <c>&lt;think&gt;\n</c>), earlier assistant turns written without their thinking (up to <c>&lt;/think&gt;</c>), and
/// tool results as a user turn of <c>&lt;tool_response&gt;</c> blocks (Qwen2.5). A Llama 3 template with a dated system
/// block (Llama 3.1, 3.2, 3.3) always opens with it: its knowledge cutoff, the day's date (Llama 3.2's
/// <c>strftime_now</c>, as transformers renders it) or the template's fixed one (3.1's "26 Jul 2024"), then the system
/// message if any.
/// </summary>
/// <param name="Kind">The format.</param>
/// <param name="DefaultSystemPrompt">System message inserted when the first message is not a system one; null for none.</param>
/// <param name="BosText">Text the template writes as its BOS token (Llama 3 once, Llama 2 before each user turn); null for none.</param>
/// <param name="EosText">Text Llama 2's template writes after each assistant turn; null for none.</param>
/// <param name="SystemBlock">Llama 2: the template folds a system message into the first user turn as <c>&lt;&lt;SYS&gt;&gt;</c>.</param>
/// <param name="GenerationOpening">ChatML: text the generation prompt writes after the assistant header (QwQ: <c>&lt;think&gt;\n</c>).</param>
/// <param name="DropsThinking">ChatML: an assistant turn is written from after its last <c>&lt;/think&gt;</c> (newlines there dropped).</param>
/// <param name="ToolResponses">ChatML: consecutive tool messages are one user turn of <c>&lt;tool_response&gt;</c> blocks.</param>
/// <param name="KnowledgeCutoff">Llama 3.1+: the "Cutting Knowledge Date" its system block states; null for no such block.</param>
/// <param name="FixedDate">Llama 3.1+: the "Today Date" the template falls back to; with <paramref name="DatesToday"/> false, the one it writes.</param>
/// <param name="DatesToday">Llama 3.2: the template writes the day's date (<c>strftime_now("%d %b %Y")</c>).</param>
public sealed partial record ChatTemplate(ChatTemplateKind Kind, string? DefaultSystemPrompt = null, string? BosText = null,
    string? EosText = null, bool SystemBlock = false, string? GenerationOpening = null, bool DropsThinking = false, bool ToolResponses = false,
    string? KnowledgeCutoff = null, string? FixedDate = null, bool DatesToday = false)
{
    public static readonly ChatTemplate None = new(ChatTemplateKind.None);

    /// <summary>The formats <see cref="Recognize"/> knows, for messages.</summary>
    public const string Known = "Llama 3 headers, ChatML (Qwen2), Llama 2 [INST]";

    /// <summary>
    /// Recognizes <paramref name="jinja"/>; null, empty or unknown templates give <see cref="None"/>.
    /// <paramref name="bosText"/> and <paramref name="eosText"/> are the tokenizer's BOS and EOS token texts.
    /// </summary>
    public static ChatTemplate Recognize(string? jinja, string? bosText, string? eosText = null)
    {
        if (string.IsNullOrEmpty(jinja)) return None;
        bool Has(string marker) => jinja.Contains(marker, StringComparison.Ordinal);
        if (Has("<|start_header_id|>") && Has("<|eot_id|>"))
        {
            var cutoff = KnowledgeCutoffLine().Match(jinja);
            var date = FixedDateString().Match(jinja);
            return new ChatTemplate(ChatTemplateKind.Llama3, BosText: Has("bos_token") ? bosText : null,
                KnowledgeCutoff: cutoff.Success ? cutoff.Groups["date"].Value : null,
                FixedDate: date.Success ? date.Groups["date"].Value : null, DatesToday: Has("strftime_now"));
        }
        if (Has("<|im_start|>") && Has("<|im_end|>"))
        {
            var system = DefaultSystem().Match(jinja);
            var opening = GenerationPromptOpening().Match(jinja);
            return new ChatTemplate(ChatTemplateKind.ChatMl, system.Success ? Unescape(system.Groups["prompt"].Value) : null,
                GenerationOpening: opening.Success ? Unescape(opening.Groups["opening"].Value) : null,
                DropsThinking: Has("split('</think>')") || Has("split(\"</think>\")"), ToolResponses: Has("<tool_response>"));
        }
        if (Has("[INST]") && Has("[/INST]"))
            return new ChatTemplate(ChatTemplateKind.Llama2, BosText: Has("bos_token") ? bosText : null,
                EosText: Has("eos_token") ? eosText : null, SystemBlock: Has("<<SYS>>"));
        return None;
    }

    /// <summary>
    /// The prompt text for <paramref name="messages"/> (roles such as system, user, assistant); with
    /// <paramref name="addGenerationPrompt"/> it ends with the header that opens the assistant's turn (Llama 2 has none:
    /// its prompt ends with <c>[/INST]</c>). <see cref="ArgumentException"/> for a conversation the format cannot hold.
    /// <paramref name="now"/> is the day a template that dates its prompt writes (the local clock when null).
    /// </summary>
    public string Apply(IReadOnlyList<(string Role, string Content)> messages, bool addGenerationPrompt, DateTime? now = null)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var text = new StringBuilder();
        switch (Kind)
        {
            case ChatTemplateKind.Llama3:
                ApplyLlama3(messages, addGenerationPrompt, now, text);
                break;
            case ChatTemplateKind.ChatMl:
                ApplyChatMl(messages, addGenerationPrompt, text);
                break;
            case ChatTemplateKind.Llama2:
                ApplyLlama2(messages, text);
                break;
            default:
                throw new NotSupportedException($"this tokenizer has no chat template Ponder recognizes (known: {Known})");
        }
        return text.ToString();
    }

    /// <summary>
    /// Llama 3: BOS, then each message under its role's header, contents stripped. 3.1+ open with their dated system
    /// block (the system message, if any, inside it) and write tool results as ipython turns through tojson.
    /// </summary>
    private void ApplyLlama3(IReadOnlyList<(string Role, string Content)> messages, bool addGenerationPrompt, DateTime? now, StringBuilder text)
    {
        text.Append(BosText);
        var turns = messages;
        if (KnowledgeCutoff is not null)
        {
            bool system = messages.Count > 0 && messages[0].Role == "system";
            string date = DatesToday || FixedDate is null
                ? (now ?? DateTime.Now).ToString("dd MMM yyyy", CultureInfo.InvariantCulture) : FixedDate;
            text.Append("<|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: ").Append(KnowledgeCutoff)
                .Append("\nToday Date: ").Append(date).Append("\n\n").Append(system ? messages[0].Content.Trim() : "").Append("<|eot_id|>");
            if (system) turns = [.. messages.Skip(1)];
        }
        foreach (var (role, content) in turns)
        {
            bool toolResult = KnowledgeCutoff is not null && role is "tool" or "ipython";
            text.Append("<|start_header_id|>").Append(toolResult ? "ipython" : role).Append("<|end_header_id|>\n\n")
                .Append(toolResult ? JsonString(content) : content.Trim()).Append("<|eot_id|>");
        }
        if (addGenerationPrompt) text.Append("<|start_header_id|>assistant<|end_header_id|>\n\n");
    }

    private void ApplyChatMl(IReadOnlyList<(string Role, string Content)> messages, bool addGenerationPrompt, StringBuilder text)
    {
        if (DefaultSystemPrompt is not null && (messages.Count == 0 || messages[0].Role != "system"))
            text.Append("<|im_start|>system\n").Append(DefaultSystemPrompt).Append("<|im_end|>\n");
        for (int i = 0; i < messages.Count; i++)
        {
            var (role, content) = messages[i];
            if (ToolResponses && role == "tool")
            {
                if (i == 0 || messages[i - 1].Role != "tool") text.Append("<|im_start|>user");
                text.Append("\n<tool_response>\n").Append(content).Append("\n</tool_response>");
                if (i == messages.Count - 1 || messages[i + 1].Role != "tool") text.Append("<|im_end|>\n");
                continue;
            }
            if (DropsThinking && role == "assistant" && content.LastIndexOf("</think>", StringComparison.Ordinal) is var end and >= 0)
                content = content[(end + "</think>".Length)..].TrimStart('\n');
            text.Append("<|im_start|>").Append(role).Append('\n').Append(content).Append("<|im_end|>\n");
        }
        if (addGenerationPrompt) text.Append("<|im_start|>assistant\n").Append(GenerationOpening);
    }

    // A string as transformers' tojson filter writes it (Python's json.dumps with ensure_ascii off).
    private static string JsonString(string value)
    {
        var json = new StringBuilder(value.Length + 2).Append('"');
        foreach (char c in value)
            json.Append(c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                '\b' => "\\b",
                '\f' => "\\f",
                < ' ' => $"\\u{(int)c:x4}",
                _ => c.ToString(),
            });
        return json.Append('"').ToString();
    }

    // A Jinja string literal's escapes as the template renders them: \n, \t, \\, \' and \".
    private static string Unescape(string literal) => JinjaEscape().Replace(literal, m => m.Value[1] switch
    {
        'n' => "\n",
        't' => "\t",
        var c => c.ToString(),
    });

    /// <summary>
    /// Llama 2 (Meta's template): an optional system message folded into the first user turn; then user and
    /// assistant alternate, <c>BOS[INST] user [/INST]</c> and <c> assistant EOS</c>, contents stripped.
    /// </summary>
    private void ApplyLlama2(IReadOnlyList<(string Role, string Content)> messages, StringBuilder text)
    {
        string? system = messages.Count > 0 && messages[0].Role == "system" ? messages[0].Content : null;
        if (system is not null && !SystemBlock) throw new ArgumentException("this model's [INST] chat template has no place for a system message");
        var turns = messages.Skip(system is null ? 0 : 1).ToList();
        for (int i = 0; i < turns.Count; i++)
        {
            var (role, content) = turns[i];
            if ((role == "user") != (i % 2 == 0) || role is not ("user" or "assistant"))
                throw new ArgumentException($"the [INST] chat template needs user and assistant messages alternating, starting with the user; message {i + (system is null ? 0 : 1)} is '{role}'");
            if (i == 0 && system is not null) content = "<<SYS>>\n" + system + "\n<</SYS>>\n\n" + content;
            if (role == "user") text.Append(BosText).Append("[INST] ").Append(content.Trim()).Append(" [/INST]");
            else text.Append(' ').Append(content.Trim()).Append(' ').Append(EosText);
        }
    }

    // The literal default system turn of a ChatML template: inside one Jinja string (no quote, '<' or Jinja tag before
    // its end), escapes and braces allowed ("\\boxed{}"); "\n" appears either escaped or raw.
    [GeneratedRegex(@"<\|im_start\|>system(?:\\n|\n)(?<prompt>(?:[^<'""\\{]|\{(?![{%#])|\\.)+)<\|im_end\|>")]
    private static partial Regex DefaultSystem();

    // What a generation prompt writes after the assistant header, when it opens a thinking section (QwQ's "<think>\n").
    [GeneratedRegex(@"<\|im_start\|>assistant(?:\\n|\n)(?<opening><think>(?:\\n|\n))")]
    private static partial Regex GenerationPromptOpening();

    [GeneratedRegex(@"\\.")]
    private static partial Regex JinjaEscape();

    // Llama 3.1+'s system block: "Cutting Knowledge Date: December 2023\n" inside a Jinja string.
    [GeneratedRegex(@"Cutting Knowledge Date: (?<date>[^""'\\\n]+)(?:\\n|\n)")]
    private static partial Regex KnowledgeCutoffLine();

    // The date a Llama 3.1+ template falls back to: {%- set date_string = "26 Jul 2024" %}.
    [GeneratedRegex(@"set date_string = [""'](?<date>[^""']+)[""']")]
    private static partial Regex FixedDateString();
}
