namespace Ponder.Policy;

/// <summary>
/// An entry of <c>tokenizer.json</c>'s <c>added_tokens</c>: matched verbatim in text before BPE runs; special ones are
/// dropped by Decode. <paramref name="Normalized"/>: HF matches it in the normalized text (Ponder checks that this
/// cannot differ from the raw text's match).
/// </summary>
public sealed record AddedToken(int Id, string Content, bool Special, bool Normalized = false);
