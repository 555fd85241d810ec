using System.Text.Json;
using System.Text.RegularExpressions;
using Ponder.Policy;

namespace Ponder.Tests.Policy;

public sealed class CharTokenizerTests
{
    private static readonly string Printable = "\n" + new string(Enumerable.Range(32, 95).Select(c => (char)c).ToArray());

    [Fact]
    public void Default_vocabulary_is_specials_then_newline_then_printable_ascii()
    {
        // Given the default tokenizer
        var tokenizer = new CharTokenizer();

        // Then ids follow the documented layout
        Assert.Equal(100, tokenizer.VocabSize);
        Assert.Equal((0, 1, 2, 3), (tokenizer.Pad, tokenizer.Bos, tokenizer.Eos, tokenizer.Unk));
        Assert.Equal([4, 5, 6, 99], tokenizer.Encode("\n !~"));
    }

    [Fact]
    public void Encode_then_decode_round_trips_every_printable_character_and_newline()
    {
        var tokenizer = new CharTokenizer();

        int[] ids = tokenizer.Encode(Printable);

        Assert.Equal(Printable.Length, ids.Distinct().Count());
        Assert.Equal(Printable, tokenizer.Decode(ids));
    }

    [Fact]
    public void Decode_skips_special_tokens()
    {
        // Given "hi" wrapped in BOS/EOS with padding and an unknown token
        var tokenizer = new CharTokenizer();
        int[] ids = [tokenizer.Bos, .. tokenizer.Encode("h"), tokenizer.Unk, .. tokenizer.Encode("i"), tokenizer.Eos, tokenizer.Pad];

        // When decoded, Then only the characters remain
        Assert.Equal("hi", tokenizer.Decode(ids));
    }

    [Fact]
    public void Encode_names_the_first_character_it_cannot_encode_and_its_position()
    {
        var tokenizer = new CharTokenizer();

        var error = Assert.Throws<ArgumentException>(() => tokenizer.Encode("ab\tc€"));

        Assert.Contains("U+0009", error.Message);
        Assert.Contains("position 2", error.Message);
    }

    [Fact]
    public void Decode_rejects_ids_outside_the_vocabulary()
    {
        var tokenizer = new CharTokenizer();

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => tokenizer.Decode([5, 100]));

        Assert.Contains("token id 100 at position 1", error.Message);
    }

    [Fact]
    public void Json_round_trip_gives_the_same_tokenizer()
    {
        // Given the default tokenizer's tokenizer.json
        var tokenizer = new CharTokenizer();
        string json = tokenizer.ToJson();

        // When read back
        var back = CharTokenizer.FromJson(json);

        // Then it writes the same JSON and encodes identically
        Assert.Equal(json, back.ToJson());
        Assert.Equal(tokenizer.Encode(Printable), back.Encode(Printable));
        Assert.Equal((tokenizer.Bos, tokenizer.Eos, tokenizer.Pad), (back.Bos, back.Eos, back.Pad));
    }

    [Fact]
    public void ToJson_is_a_hugging_face_word_level_tokenizer_with_a_one_character_split()
    {
        using var json = JsonDocument.Parse(new CharTokenizer().ToJson());
        var root = json.RootElement;

        Assert.Equal("1.0", root.GetProperty("version").GetString());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("normalizer").ValueKind);
        var added = root.GetProperty("added_tokens").EnumerateArray().ToArray();
        Assert.Equal(["<pad>", "<s>", "</s>", "<unk>"], added.Select(a => a.GetProperty("content").GetString()));
        Assert.All(added, a => Assert.True(a.GetProperty("special").GetBoolean()));
        var model = root.GetProperty("model");
        Assert.Equal("WordLevel", model.GetProperty("type").GetString());
        Assert.Equal("<unk>", model.GetProperty("unk_token").GetString());
        Assert.Equal(4, model.GetProperty("vocab").GetProperty("\n").GetInt32());
        var split = root.GetProperty("pre_tokenizer");
        Assert.Equal(("Split", "Isolated"), (split.GetProperty("type").GetString(), split.GetProperty("behavior").GetString()));
        Assert.Equal("Fuse", root.GetProperty("decoder").GetProperty("type").GetString());
        // The split pattern isolates every character, newline included
        var pattern = new Regex(split.GetProperty("pattern").GetProperty("Regex").GetString()!);
        Assert.Equal(Printable.Select(c => c.ToString()), pattern.Matches(Printable).Select(m => m.Value));
    }

    [Fact]
    public void FromJson_accepts_a_smaller_character_vocabulary()
    {
        // Given a digits-only vocabulary with the specials in another order
        string json = """
            {"model": {"type": "WordLevel", "unk_token": "<unk>",
                       "vocab": {"<s>": 0, "</s>": 1, "<pad>": 2, "<unk>": 3, "0": 4, "1": 5, "2": 6}}}
            """;

        var tokenizer = CharTokenizer.FromJson(json);

        Assert.Equal(7, tokenizer.VocabSize);
        Assert.Equal((0, 1, 2), (tokenizer.Bos, tokenizer.Eos, tokenizer.Pad));
        Assert.Equal([6, 4, 5], tokenizer.Encode("201"));
        Assert.Throws<ArgumentException>(() => tokenizer.Encode("3"));
    }

    [Theory]
    [InlineData("""{"model": {"type": "BPE", "vocab": {}}}""", "model type 'BPE'")]
    [InlineData("""{"model": {"type": "WordLevel", "vocab": {"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3, "ab": 4}}}""", "'ab' (id 4)")]
    [InlineData("""{"model": {"type": "WordLevel", "vocab": {"<pad>": 0, "<s>": 1, "</s>": 2, "a": 3}}}""", "'<unk>'")]
    [InlineData("""{"model": {"type": "WordLevel", "vocab": {"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3, "a": 9}}}""", "'a' has id 9")]
    [InlineData("""{"model": {"type": "WordLevel", "vocab": {"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3, "a": 4, "a": 5}}}""", "'a'")]
    [InlineData("""{"model": """, "not valid JSON")]
    public void FromJson_rejects_what_is_not_a_character_word_level_tokenizer(string json, string expected)
    {
        var error = Assert.Throws<InvalidDataException>(() => CharTokenizer.FromJson(json));

        Assert.StartsWith("tokenizer.json: ", error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void Tokenizers_load_opens_a_word_level_file_as_a_char_tokenizer()
    {
        using var dir = new TempDirectory();
        string path = dir.File("tokenizer.json");
        File.WriteAllText(path, new CharTokenizer().ToJson());

        var tokenizer = Tokenizers.Load(path);

        Assert.IsType<CharTokenizer>(tokenizer);
        Assert.Equal("x = 1\n", tokenizer.Decode(tokenizer.Encode("x = 1\n")));
    }

    [Fact]
    public void Tokenizers_load_refuses_unigram_as_not_supported_yet()
    {
        using var dir = new TempDirectory();
        string path = dir.File("tokenizer.json");
        File.WriteAllText(path, """{"model": {"type": "Unigram", "vocab": []}}""");

        var error = Assert.Throws<NotSupportedException>(() => Tokenizers.Load(path));

        Assert.Equal($"{path}: model type 'Unigram' is not supported yet", error.Message);
    }
}
