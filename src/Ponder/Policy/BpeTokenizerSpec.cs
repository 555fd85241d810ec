using System.Text.RegularExpressions;

namespace Ponder.Policy;

/// <summary>What a byte-level BPE <c>tokenizer.json</c> says, checked: the parts <see cref="ByteLevelBpeTokenizer"/> runs.</summary>
internal sealed record BpeTokenizerSpec(
    Dictionary<string, int> Vocab,
    List<string> Merges,
    List<AddedToken> AddedTokens,
    List<Regex> Splits,
    PreTokenizerKind Kind,
    bool AddPrefixSpace,
    bool NormalizeNfc,
    bool IgnoreMerges);
