namespace Ponder.Policy;

/// <summary>An entry of <c>tokenizer.json</c>'s <c>added_tokens</c>: matched verbatim in text before BPE runs; special ones are dropped by Decode.</summary>
public sealed record AddedToken(int Id, string Content, bool Special);
