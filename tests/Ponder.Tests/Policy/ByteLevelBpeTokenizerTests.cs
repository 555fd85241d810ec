using Ponder.Policy;

namespace Ponder.Tests.Policy;

public sealed class ByteLevelBpeTokenizerTests
{
    private const string Llama3 = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    private const string Qwen2 = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    private static int[] Ids(params string[] tokens) => [.. tokens.Select(TinyBpe.Id)];

    [Fact]
    public void Merges_apply_in_rank_order_within_each_pre_token()
    {
        var tokenizer = ByteLevelBpeTokenizer.FromJson(TinyBpe.Json(null));

        Assert.Equal(Ids("hello", "Ġworld", "Ġthe"), tokenizer.Encode("hello world the"));
        Assert.Equal(Ids("Ġ", "he", "l", "p"), tokenizer.Encode(" help"));
    }

    [Fact]
    public void Merges_given_as_pairs_encode_like_merges_given_as_strings()
    {
        var strings = ByteLevelBpeTokenizer.FromJson(TinyBpe.Json(Llama3));
        var pairs = ByteLevelBpeTokenizer.FromJson(TinyBpe.Json(Llama3, mergesAsPairs: true));

        const string text = "hello world, the 1234!";
        Assert.Equal(strings.Encode(text), pairs.Encode(text));
        Assert.Contains(TinyBpe.Id("Ġworld"), pairs.Encode(text));
    }

    [Theory]
    [InlineData(null, new[] { "12", "34" })]          // GPT-2: one run of digits, so "3 4" merges
    [InlineData(Llama3, new[] { "12", "3", "4" })]    // Llama 3: digits in threes, "123" | "4"
    [InlineData(Qwen2, new[] { "1", "2", "3", "4" })] // Qwen2: every digit alone
    public void Pre_tokenizer_decides_which_merges_can_apply(string? pattern, string[] expected)
    {
        var tokenizer = ByteLevelBpeTokenizer.FromJson(TinyBpe.Json(pattern));

        Assert.Equal(Ids(expected), tokenizer.Encode("1234"));
    }

    [Fact]
    public void Known_patterns_are_recognized_for_llama_cpp()
    {
        Assert.Equal(PreTokenizerKind.Gpt2, ByteLevelBpeTokenizer.FromJson(TinyBpe.Json(null)).PreTokenizer);
        Assert.Equal(PreTokenizerKind.Llama3, ByteLevelBpeTokenizer.FromJson(TinyBpe.Json(Llama3)).PreTokenizer);
        Assert.Equal(PreTokenizerKind.Qwen2, ByteLevelBpeTokenizer.FromJson(TinyBpe.Json(Qwen2)).PreTokenizer);
        Assert.Equal(PreTokenizerKind.Custom, ByteLevelBpeTokenizer.FromJson(TinyBpe.Json(@"\w+|\W")).PreTokenizer);
    }

    [Theory]
    [InlineData(null)]
    [InlineData(Llama3)]
    [InlineData(Qwen2)]
    public void Decode_inverts_encode_for_any_unicode_text(string? pattern)
    {
        var tokenizer = ByteLevelBpeTokenizer.FromJson(TinyBpe.Json(pattern));

        foreach (string text in new[] { "héllo wörld 😀\n\tdone <3", "  leading and trailing  ", "日本語 and 123456789", "" })
            Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text)));
    }

    [Fact]
    public void Added_tokens_are_matched_before_bpe_and_special_ones_are_skipped_by_decode()
    {
        var tokenizer = ByteLevelBpeTokenizer.FromJson(TinyBpe.Json(Llama3));

        int[] ids = tokenizer.Encode("<|im_start|>user\nhello<think>the<|im_end|>");

        Assert.Equal(TinyBpe.Id("<|im_start|>"), ids[0]);
        Assert.Equal(TinyBpe.Id("<|im_end|>"), ids[^1]);
        Assert.Contains(TinyBpe.Id("<think>"), ids);
        Assert.Contains(TinyBpe.Id("hello"), ids);
        Assert.Equal("user\nhello<think>the", tokenizer.Decode(ids));   // <think> is added but not special
        Assert.True(tokenizer.IsSpecial(TinyBpe.Id("<|im_end|>")));
        Assert.False(tokenizer.IsSpecial(TinyBpe.Id("<think>")));
    }

    [Fact]
    public void Bos_and_eos_come_from_tokenizer_config_else_from_config_json()
    {
        var fromTokenizerConfig = ByteLevelBpeTokenizer.FromJson(TinyBpe.Json(Llama3),
            TinyBpe.TokenizerConfig("<|begin_of_text|>", "<|eot_id|>", null));
        var fromModelConfig = ByteLevelBpeTokenizer.FromJson(TinyBpe.Json(Llama3), null,
            $$"""{"bos_token_id": {{TinyBpe.Id("<|begin_of_text|>")}}, "eos_token_id": [{{TinyBpe.Id("<|end_of_text|>")}}, {{TinyBpe.Id("<|eot_id|>")}}]}""");

        Assert.Equal((TinyBpe.Id("<|begin_of_text|>"), TinyBpe.Id("<|eot_id|>")), (fromTokenizerConfig.Bos, fromTokenizerConfig.Eos));
        Assert.Equal((TinyBpe.Id("<|begin_of_text|>"), TinyBpe.Id("<|end_of_text|>")), (fromModelConfig.Bos, fromModelConfig.Eos));
        Assert.Equal(fromTokenizerConfig.Eos, fromTokenizerConfig.Pad);   // no pad token: padding uses EOS
        Assert.Equal(TinyBpe.VocabSize, fromTokenizerConfig.VocabSize);
    }

    [Fact]
    public void Llama3_chat_template_is_rendered_from_its_markers()
    {
        var tokenizer = ByteLevelBpeTokenizer.FromJson(TinyBpe.Json(Llama3),
            TinyBpe.TokenizerConfig("<|begin_of_text|>", "<|eot_id|>", TinyBpe.Llama3Template));

        string prompt = tokenizer.ApplyChatTemplate([("system", "Be brief."), ("user", " 2+2? ")], addGenerationPrompt: true);

        Assert.Equal(ChatTemplateKind.Llama3, tokenizer.ChatTemplate.Kind);
        Assert.Equal("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
            + "<|start_header_id|>user<|end_header_id|>\n\n2+2?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", prompt);
        Assert.Equal(TinyBpe.Id("<|begin_of_text|>"), tokenizer.Encode(prompt)[0]);
    }

    [Fact]
    public void ChatML_template_adds_the_default_system_message_it_declares()
    {
        var tokenizer = ByteLevelBpeTokenizer.FromJson(TinyBpe.Json(Qwen2),
            TinyBpe.TokenizerConfig("<|end_of_text|>", "<|im_end|>", TinyBpe.QwenTemplate));

        string withDefault = tokenizer.ApplyChatTemplate([("user", "hi")], addGenerationPrompt: true);
        string withOwn = tokenizer.ApplyChatTemplate([("system", "S"), ("user", "hi")], addGenerationPrompt: false);

        Assert.Equal(ChatTemplateKind.ChatMl, tokenizer.ChatTemplate.Kind);
        Assert.Equal("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n", withDefault);
        Assert.Equal("<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n", withOwn);
    }

    [Fact]
    public void A_tokenizer_without_a_known_template_refuses_to_render_one()
    {
        var tokenizer = ByteLevelBpeTokenizer.FromJson(TinyBpe.Json(null));

        Assert.Throws<NotSupportedException>(() => tokenizer.ApplyChatTemplate([("user", "hi")], true));
    }

    [Fact]
    public void Tokenizers_load_dispatches_bpe_and_reads_the_sibling_tokenizer_config()
    {
        using var dir = new TempDirectory();
        string path = dir.Write("tokenizer.json", TinyBpe.Json(Llama3));
        dir.Write(ByteLevelBpeTokenizer.ConfigFile, TinyBpe.TokenizerConfig("<|begin_of_text|>", "<|eot_id|>", TinyBpe.Llama3Template));

        var tokenizer = Assert.IsType<ByteLevelBpeTokenizer>(Tokenizers.Load(path));

        Assert.Equal(TinyBpe.Id("<|eot_id|>"), tokenizer.Eos);
        Assert.Equal(ChatTemplateKind.Llama3, tokenizer.ChatTemplate.Kind);
        Assert.Equal(File.ReadAllText(path).TrimEnd('\n'), tokenizer.ToJson().TrimEnd('\n'));
    }

    [Theory]
    [InlineData(Llama3, "𝑥\n", new[] { "𝑥", "\n" })]
    [InlineData(Llama3, "𝟏𝟐𝟑𝟒", new[] { "𝟏𝟐𝟑", "𝟒" })]
    [InlineData(Qwen2, "𝟏𝟐", new[] { "𝟏", "𝟐" })]
    [InlineData(Llama3, "𠮷野家", new[] { "𠮷野家" })]
    [InlineData(Llama3, "!!𝑥 hi😀😀", new[] { "!!", "𝑥", " hi", "😀😀" })]
    [InlineData(Qwen2, "a𝑥b", new[] { "a𝑥b" })]
    public void Characters_beyond_the_basic_plane_split_by_their_unicode_category_as_hugging_face_splits_them(string pattern, string text, string[] pieces)
    {
        var tokenizer = ByteLevelBpeTokenizer.FromJson(TinyBpe.Json(pattern));

        Assert.Equal(pieces, tokenizer.Pieces(text));
        Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text)));
    }

    [Fact]
    public void A_stop_string_that_ends_inside_a_token_is_found_with_the_text_the_token_wrote_after_it()
    {
        var tokenizer = ByteLevelBpeTokenizer.FromJson(TinyBpe.Json(null));
        List<int> Ids(params string[] tokens) => [.. tokens.Select(TinyBpe.Id)];

        // "hello" is one token: "ell" ends inside it, one character before its end
        Assert.Equal(("ell", 1), StopStrings.Find(tokenizer, Ids("hello"), ["ell"], StopStrings.Window(["ell"])));
        // the earliest of two stops wins; one that ends exactly at the token's end leaves nothing after it
        Assert.Equal(("he", 3), StopStrings.Find(tokenizer, Ids("hello"), ["llo", "he"], StopStrings.Window(["llo", "he"])));
        Assert.Equal(("ll", 0), StopStrings.Find(tokenizer, Ids("he", "ll"), ["ll"], StopStrings.Window(["ll"])));
        // an occurrence wholly before the last token is not new (it would have stopped the row already)
        Assert.Null(StopStrings.Find(tokenizer, Ids("he", "ll", "o"), ["he"], StopStrings.Window(["he"])));
        // a stop that ends on a character whose two bytes came in two tokens ("é" = C3 A9; byte tokens are ids 0–255)
        List<int> cafe = [.. tokenizer.Encode("caf"), 0xC3, 0xA9];
        Assert.Equal(("é", 0), StopStrings.Find(tokenizer, cafe, ["é"], StopStrings.Window(["é"])));
        Assert.Equal(("café", 0), StopStrings.Find(tokenizer, cafe, ["café"], StopStrings.Window(["café"])));
    }

    [Fact]
    public void A_checkpoint_saved_from_an_imported_tokenizer_keeps_its_tokenizer_config_and_a_later_save_without_one_removes_it()
    {
        // Given a tokenizer read with a tokenizer_config.json (EOS <|eot_id|>, a Llama 3 chat template), as a fine-tune starts from one
        using var dir = new TempDirectory();
        string configText = TinyBpe.TokenizerConfig("<|begin_of_text|>", "<|eot_id|>", TinyBpe.Llama3Template);
        Directory.CreateDirectory(dir.File("hf"));
        dir.Write("hf/tokenizer.json", TinyBpe.Json(Llama3));
        string configPath = dir.Write("hf/" + ByteLevelBpeTokenizer.ConfigFile, configText);
        var imported = Tokenizers.Load(dir.File("hf/tokenizer.json"));
        using var model = TinyModels.Model(TinyBpe.VocabSize);

        // When a trainer saves a checkpoint with it
        Checkpoint.Save(dir.File("out"), model.Config, model, imported, new CheckpointState());

        // Then the folder holds the same tokenizer_config.json, and the tokenizer read back has its EOS, BOS and template
        Assert.Equal(File.ReadAllText(configPath), File.ReadAllText(dir.File("out/" + Checkpoint.TokenizerConfigFile)));
        var reread = Assert.IsType<ByteLevelBpeTokenizer>(Checkpoint.ReadTokenizer(dir.File("out")));
        Assert.Equal(TinyBpe.Id("<|eot_id|>"), reread.Eos);
        Assert.Equal(ChatTemplateKind.Llama3, reread.ChatTemplate.Kind);
        Assert.Equal(imported.AddBos, reread.AddBos);

        // And a save of a tokenizer without one into the same folder removes the stale file
        using var charModel = TinyModels.Model(new CharTokenizer().VocabSize);
        Checkpoint.Save(dir.File("out"), charModel.Config, charModel, new CharTokenizer(), new CheckpointState());
        Assert.False(File.Exists(dir.File("out/" + Checkpoint.TokenizerConfigFile)));
    }

    // dir/hf: a Llama 3 tokenizer.json and its tokenizer_config.json (BOS, end of turn as EOS, the chat template).
    private static void Llama3Folder(TempDirectory dir)
    {
        Directory.CreateDirectory(dir.File("hf"));
        dir.Write("hf/tokenizer.json", TinyBpe.Json(Llama3));
        dir.Write("hf/" + ByteLevelBpeTokenizer.ConfigFile, TinyBpe.TokenizerConfig("<|begin_of_text|>", "<|eot_id|>", TinyBpe.Llama3Template));
    }

    [Fact]
    public void End_tokens_listed_by_config_and_generation_config_end_generations_and_survive_a_save()
    {
        // Given Llama 3's end of turn as EOS, config.json listing end of text too, and a generation_config.json adding <|im_end|>
        using var dir = new TempDirectory();
        Llama3Folder(dir);
        dir.Write("hf/config.json", $$"""{"eos_token_id": [{{TinyBpe.Id("<|end_of_text|>")}}, {{TinyBpe.Id("<|eot_id|>")}}]}""");
        dir.Write("hf/" + ByteLevelBpeTokenizer.GenerationConfigFile, $$"""{"eos_token_id": {{TinyBpe.Id("<|im_end|>")}}, "temperature": 0.6}""");

        var tokenizer = Tokenizers.Load(dir.File("hf/tokenizer.json"));
        int[] expected = [TinyBpe.Id("<|eot_id|>"), TinyBpe.Id("<|end_of_text|>"), TinyBpe.Id("<|im_end|>")];
        Assert.Equal(expected, tokenizer.EndIds);

        // When a checkpoint is saved with it (its config.json naming end of text, as an imported model's does), Then the
        // end tokens read back the same
        using var model = new Transformer(TinyModels.Config(TinyBpe.VocabSize) with { EosTokenId = TinyBpe.Id("<|end_of_text|>") });
        Checkpoint.Save(dir.File("out"), model.Config, model, tokenizer, new CheckpointState());
        Assert.Equal(expected, Checkpoint.ReadTokenizer(dir.File("out")).EndIds);
        Assert.True(File.Exists(dir.File("out/" + Checkpoint.GenerationConfigFile)));

        // And a tokenizer that ends only on its EOS leaves no generation_config.json behind
        using var charModel = TinyModels.Model(new CharTokenizer().VocabSize);
        Checkpoint.Save(dir.File("out"), charModel.Config, charModel, new CharTokenizer(), new CheckpointState());
        Assert.False(File.Exists(dir.File("out/" + Checkpoint.GenerationConfigFile)));
    }

    [Fact]
    public void A_saved_tokenizer_keeps_its_own_chat_template_over_a_stale_jinja_file_in_the_folder()
    {
        // Given a folder holding another model's chat_template.jinja, and a tokenizer whose template is Llama 3's
        using var dir = new TempDirectory();
        Llama3Folder(dir);
        var tokenizer = Tokenizers.Load(dir.File("hf/tokenizer.json"));
        Directory.CreateDirectory(dir.File("out"));
        dir.Write("out/" + ByteLevelBpeTokenizer.ChatTemplateFile, "{{ messages }}");

        // When a checkpoint is saved there, Then the stale file is gone and the template reads back as Llama 3's
        using var model = new Transformer(TinyModels.Config(TinyBpe.VocabSize));
        Checkpoint.Save(dir.File("out"), model.Config, model, tokenizer, new CheckpointState());
        Assert.False(File.Exists(dir.File("out/" + ByteLevelBpeTokenizer.ChatTemplateFile)));
        Assert.Equal(ChatTemplateKind.Llama3, ((ByteLevelBpeTokenizer)Checkpoint.ReadTokenizer(dir.File("out"))).ChatTemplate.Kind);
    }

    [Fact]
    public void Without_pad_or_eos_the_padding_fallback_id_0_stays_an_ordinary_token()
    {
        var tokenizer = ByteLevelBpeTokenizer.FromJson(TinyBpe.Json(null));   // no tokenizer_config.json, no config.json

        Assert.Equal(-1, tokenizer.Eos);
        Assert.Equal(0, tokenizer.Pad);
        Assert.False(tokenizer.IsSpecial(0));
        Assert.Equal(new byte[] { 0 }, tokenizer.Bytes(0));
        Assert.Equal("\0!", tokenizer.Decode(tokenizer.Encode("\0!")));
    }

    [Fact]
    public void Sentencepiece_style_bpe_is_refused_in_one_line()
    {
        string json = TinyBpe.Json(null).Replace("\"byte_fallback\":false", "\"byte_fallback\":true");

        var error = Assert.Throws<NotSupportedException>(() => ByteLevelBpeTokenizer.FromJson(json, source: "x/tokenizer.json"));

        Assert.StartsWith("x/tokenizer.json: ", error.Message);
        Assert.Contains("byte_fallback", error.Message);
    }
}

public sealed class BpeTokenizerJsonErrorTests
{
    // Edits TinyBpe's tokenizer.json as JSON, then loads it.
    private static InvalidDataException Refused(Action<System.Text.Json.Nodes.JsonObject> edit)
    {
        var root = System.Text.Json.Nodes.JsonNode.Parse(TinyBpe.Json(null))!.AsObject();
        edit(root);
        return Assert.Throws<InvalidDataException>(() => ByteLevelBpeTokenizer.FromJson(root.ToJsonString()));
    }

    private static System.Text.Json.Nodes.JsonObject Model(System.Text.Json.Nodes.JsonObject root) => root["model"]!.AsObject();

    [Fact]
    public void Malformed_vocabularies_merges_and_added_tokens_are_named_in_one_line()
    {
        var added = Refused(r => r["added_tokens"]![0]!["id"] = -1);
        var twoAdded = Refused(r => r["added_tokens"]![1]!["id"] = r["added_tokens"]![0]!["id"]!.GetValue<int>());
        var addedOnVocab = Refused(r => r["added_tokens"]![0]!["id"] = 5);
        var twoInVocab = Refused(r => Model(r)["vocab"]!["hello"] = 5);
        var missingByte = Refused(r => Model(r)["vocab"]!.AsObject().Remove("a"));
        var unknownMerge = Refused(r => Model(r)["merges"]!.AsArray().Add("zz qq"));
        var unmade = Refused(r => Model(r)["merges"]!.AsArray().Add("a b"));

        Assert.Matches(@"^tokenizer\.json: added token '.+' has id -1, expected a non-negative integer$", added.Message);
        Assert.Matches(@"^tokenizer\.json: added tokens '.+' and '.+' both have id \d+$", twoAdded.Message);
        Assert.Matches(@"^tokenizer\.json: added token '.+' has id 5, which model\.vocab gives to '.+'$", addedOnVocab.Message);
        Assert.Matches(@"^tokenizer\.json: vocab entries '.+' and 'hello' both have id 5$", twoInVocab.Message);
        Assert.Equal("tokenizer.json: model.vocab lacks the byte-level token 'a' (byte 0x61); text with that byte could not be encoded", missingByte.Message);
        Assert.Matches(@"^tokenizer\.json: merge \d+ \('zz qq'\) uses 'zz', which is not in model\.vocab$", unknownMerge.Message);
        Assert.Matches(@"^tokenizer\.json: merge \d+ \('a b'\) makes 'ab', which is not in model\.vocab$", unmade.Message);
    }

    [Fact]
    public void A_merge_listed_twice_keeps_its_last_rank_as_hugging_face_does()
    {
        // Given "l l" listed again at the end: at its last rank it comes after "l d", which then wins in "lld"
        var root = System.Text.Json.Nodes.JsonNode.Parse(TinyBpe.Json(null))!.AsObject();
        Model(root)["merges"]!.AsArray().Add("l l");

        var tokenizer = ByteLevelBpeTokenizer.FromJson(root.ToJsonString());

        Assert.Equal(new[] { "l", "ld" }.Select(TinyBpe.Id).ToArray(), tokenizer.Encode("lld"));
        Assert.Equal(new[] { "ll", "d" }.Select(TinyBpe.Id).ToArray(), ByteLevelBpeTokenizer.FromJson(TinyBpe.Json(null)).Encode("lld"));
    }

    [Fact]
    public void A_chat_template_that_is_not_text_is_refused_naming_tokenizer_config()
    {
        var error = Assert.Throws<InvalidDataException>(() => ByteLevelBpeTokenizer.FromJson(TinyBpe.Json(null), """{"chat_template": 42}"""));

        Assert.Equal("tokenizer_config.json: chat_template is 42, expected a string or a list of named templates", error.Message);
    }
}

/// <summary>tokenizer.json features Hugging Face would apply and Ponder does not: refused in one line rather than encoded otherwise.</summary>
public sealed class BpeTokenizerJsonUnsupportedTests
{
    private const string Llama3 = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    private static string Refused(string? pattern, Action<System.Text.Json.Nodes.JsonObject> edit)
    {
        var root = System.Text.Json.Nodes.JsonNode.Parse(TinyBpe.Json(pattern))!.AsObject();
        edit(root);
        var error = Assert.Throws<NotSupportedException>(() => ByteLevelBpeTokenizer.FromJson(root.ToJsonString(), source: "x/tokenizer.json"));
        Assert.StartsWith("x/tokenizer.json: ", error.Message);
        return error.Message;
    }

    [Theory]
    [InlineData("lstrip")]
    [InlineData("rstrip")]
    [InlineData("single_word")]
    public void Added_tokens_that_hf_would_strip_or_match_as_words_are_refused(string flag)
    {
        string message = Refused(null, r => r["added_tokens"]![1]![flag] = true);

        Assert.Contains($"has {flag} true", message);
    }

    [Fact]
    public void A_normalized_non_ascii_added_token_under_nfc_is_refused_and_an_ascii_one_is_not()
    {
        // Given NFC normalization, an added token HF would match in the normalized text
        static void Nfc(System.Text.Json.Nodes.JsonObject r) => r["normalizer"] = new System.Text.Json.Nodes.JsonObject { ["type"] = "NFC" };

        // Then one NFC may compose ("é" would also match "e" + combining acute) is refused; ASCII and fullwidth ones load
        string message = Refused(null, r => { Nfc(r); r["added_tokens"]![1]!["normalized"] = true; r["added_tokens"]![1]!["content"] = "<é>"; });
        Assert.Contains("added token '<é>' is normalized", message);
        Assert.Contains("is normalized", Refused(null, r => { Nfc(r); r["added_tokens"]![1]!["normalized"] = true; r["added_tokens"]![1]!["content"] = "\u1100\u1161"; }));   // jamo NFC composes
        foreach (string content in new[] { "<think>", "<\uFF5Cbegin\u2581of\u2581sentence\uFF5C>" })
        {
            var root = System.Text.Json.Nodes.JsonNode.Parse(TinyBpe.Json(null))!.AsObject();
            Nfc(root);
            root["added_tokens"]![1]!["normalized"] = true;
            root["added_tokens"]![1]!["content"] = content;
            Assert.NotNull(ByteLevelBpeTokenizer.FromJson(root.ToJsonString()));
        }
    }

    [Fact]
    public void A_split_after_byte_level_and_a_prefix_space_after_a_split_are_refused()
    {
        // A Split after ByteLevel would cut byte-level text; ByteLevel's prefix space after a Split would prefix every piece
        string late = Refused(Llama3, r =>
        {
            var steps = r["pre_tokenizer"]!["pretokenizers"]!.AsArray();
            var split = steps[0]!;
            steps.RemoveAt(0);
            steps.Add(split);
        });
        string prefix = Refused(Llama3, r => r["pre_tokenizer"]!["pretokenizers"]![1]!["add_prefix_space"] = true);

        Assert.Contains("a Split pre-tokenizer after ByteLevel is not supported", late);
        Assert.Contains("add_prefix_space after a Split is not supported", prefix);
    }

    [Fact]
    public void Gguf_export_names_llama_3_s_split_only_with_ignore_merges_as_llama_cpp_applies_it()
    {
        var withoutIgnore = ByteLevelBpeTokenizer.FromJson(TinyBpe.Json(Llama3, ignoreMerges: false));
        var withIgnore = ByteLevelBpeTokenizer.FromJson(TinyBpe.Json(Llama3, ignoreMerges: true));

        Assert.Equal("llama-bpe", Ponder.Interop.GgufVocabulary.From(withIgnore, withIgnore.VocabSize).Pre);
        var error = Assert.Throws<NotSupportedException>(() => Ponder.Interop.GgufVocabulary.From(withoutIgnore, withoutIgnore.VocabSize));
        Assert.Contains("ignore_merges false", error.Message);
    }
}

public sealed class NfcTests
{
    [Theory]
    [InlineData("e\u0301", "\u00e9")]                 // base + combining acute → é
    [InlineData("A\u030A", "\u00c5")]                 // A + ring → Å
    [InlineData("\u212B", "\u00c5")]                  // the Ångström sign's singleton decomposition
    [InlineData("a\u0302\u0323", "\u1EAD")]           // marks in either order compose to ậ (canonical reordering)
    [InlineData("a\u0323\u0302", "\u1EAD")]
    [InlineData("\u1100\u1161", "\uAC00")]            // Hangul jamo → 가
    [InlineData("plain ascii 12+3", "plain ascii 12+3")]
    [InlineData("\uFF5C\u2581", "\uFF5C\u2581")]      // ｜▁ have no canonical decomposition: unchanged
    public void Nfc_composes_as_unicode_defines_it_under_invariant_globalization(string text, string expected)
    {
        Assert.Equal(expected, ByteLevelBpeTokenizer.Nfc(text));
    }

    [Fact]
    public void A_tokenizer_with_an_nfc_normalizer_encodes_decomposed_text_as_its_composed_form()
    {
        // Given a byte-level tokenizer whose file names an NFC normalizer (as Qwen2's does)
        var root = System.Text.Json.Nodes.JsonNode.Parse(TinyBpe.Json(null))!.AsObject();
        root["normalizer"] = new System.Text.Json.Nodes.JsonObject { ["type"] = "NFC" };
        var tokenizer = ByteLevelBpeTokenizer.FromJson(root.ToJsonString());

        // Then "café" typed with a combining accent is the same tokens as the precomposed one (string.Normalize left it as is)
        Assert.Equal(tokenizer.Encode("caf\u00e9 ok"), tokenizer.Encode("cafe\u0301 ok"));
        Assert.NotEqual(tokenizer.Encode("caf\u00e9 ok"), ByteLevelBpeTokenizer.FromJson(TinyBpe.Json(null)).Encode("cafe\u0301 ok"));
    }
}
