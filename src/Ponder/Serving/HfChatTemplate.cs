using Ponder.Policy;

namespace Ponder.Serving;

/// <summary>
/// A Hugging Face checkpoint's own chat template (<c>tokenizer_config.json</c> <c>chat_template</c>, recognized by
/// <see cref="ChatTemplate.Recognize"/>) as the server's: every message in order, developer messages as system ones,
/// and the header that opens the assistant's turn at the end.
/// </summary>
public sealed class HfChatTemplate : IChatTemplate
{
    public HfChatTemplate(ChatTemplate template)
    {
        ArgumentNullException.ThrowIfNull(template);
        if (template.Kind == ChatTemplateKind.None) throw new ArgumentException($"no recognized chat template (known: {ChatTemplate.Known})");
        Template = template;
    }

    public ChatTemplate Template { get; }

    public string Render(IReadOnlyList<ChatTurn> turns)
    {
        ArgumentNullException.ThrowIfNull(turns);
        if (!turns.Any(t => t.Role == TurnRole.User)) throw new ArgumentException("the conversation has no user message");
        var messages = turns.Select(t => (t.Role == TurnRole.Developer ? "system" : t.Role.ToString().ToLowerInvariant(), t.Content)).ToList();
        return Template.Apply(messages, addGenerationPrompt: true);
    }

    /// <summary>
    /// The template a server uses for <paramref name="tokenizer"/>'s model, with a one-line description for the startup
    /// message: the checkpoint's recognized chat template, else the problem template (the last user message alone) —
    /// with a warning when the checkpoint has a template Ponder does not recognize.
    /// </summary>
    public static (IChatTemplate Template, string Description) For(ITokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        return tokenizer switch
        {
            ByteLevelBpeTokenizer { ChatTemplate.Kind: not ChatTemplateKind.None } bpe =>
                (new HfChatTemplate(bpe.ChatTemplate), $"chat template: {Name(bpe.ChatTemplate.Kind)}, from tokenizer_config.json; BOS {(bpe.AddBos ? "added" : "not added")}"),
            ByteLevelBpeTokenizer { ChatTemplateSource: not null } =>
                (new ProblemChatTemplate(), $"warning: tokenizer_config.json's chat_template is not one Ponder recognizes (known: {ChatTemplate.Known}); chat requests send the last user message alone"),
            _ => (new ProblemChatTemplate(), "chat template: none; chat requests send the last user message alone"),
        };
    }

    private static string Name(ChatTemplateKind kind) => kind switch
    {
        ChatTemplateKind.Llama3 => "Llama 3",
        ChatTemplateKind.ChatMl => "ChatML",
        ChatTemplateKind.Llama2 => "Llama 2 [INST]",
        _ => kind.ToString(),
    };
}
