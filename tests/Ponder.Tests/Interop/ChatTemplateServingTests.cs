using System.Text.Json.Nodes;
using Ponder.Interop;
using Ponder.Policy;
using Ponder.Serving;
using Ponder.Tests.Policy;
using Ponder.Tests.Serving;
using static TorchSharp.torch;

namespace Ponder.Tests.Interop;

/// <summary>Chat templates and BOS of imported Hugging Face checkpoints, read from hand-written tokenizer_config.json files.</summary>
public sealed class ChatTemplateServingTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private const string Llama2Template =
        "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}"
        + "{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
        + "{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}"
        + "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}";

    /// <summary>A tokenizer from the tiny BPE vocabulary with a hand-written tokenizer_config.json (and config.json when given).</summary>
    private static ByteLevelBpeTokenizer Tokenizer(JsonObject tokenizerConfig, JsonObject? postProcessor = null, string? modelConfig = null)
    {
        var json = JsonNode.Parse(TinyBpe.Json(null))!;
        json["post_processor"] = postProcessor;
        return ByteLevelBpeTokenizer.FromJson(json.ToJsonString(), tokenizerConfig.ToJsonString(), modelConfig);
    }

    private static List<ChatTurn> Turns(params (TurnRole Role, string Content)[] turns) => [.. turns.Select(t => new ChatTurn(t.Role, t.Content))];

    [Fact]
    public void Llama2_inst_template_folds_the_system_message_into_the_first_turn()
    {
        var tokenizer = Tokenizer(new JsonObject { ["bos_token"] = "<|begin_of_text|>", ["eos_token"] = "<|end_of_text|>", ["add_bos_token"] = true, ["chat_template"] = Llama2Template });
        var (template, note) = HfChatTemplate.For(tokenizer);

        string prompt = template.Render(Turns((TurnRole.System, "Be brief."), (TurnRole.User, " hi "), (TurnRole.Assistant, "hello"), (TurnRole.User, "2+2?")));
        // (as Meta's template: the system block is joined to the user text before strip(), so " hi" keeps its space)

        Assert.Equal(ChatTemplateKind.Llama2, tokenizer.ChatTemplate.Kind);
        Assert.Equal("<|begin_of_text|>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\n hi [/INST] hello <|end_of_text|><|begin_of_text|>[INST] 2+2? [/INST]", prompt);
        Assert.Equal("chat template: Llama 2 [INST], from tokenizer_config.json; BOS added", note);
        int[] ids = Prompting.Encode(tokenizer, prompt);
        Assert.Equal(2, ids.Count(id => id == tokenizer.Bos));                  // two user turns, two BOS, none added twice
        Assert.Equal(tokenizer.Bos, ids[0]);
        var e = Assert.Throws<ArgumentException>(() => template.Render(Turns((TurnRole.User, "a"), (TurnRole.User, "b"))));
        Assert.Contains("alternating", e.Message);
    }

    [Fact]
    public void Llama3_and_chatml_templates_render_every_turn_with_developer_as_system()
    {
        var llama3 = HfChatTemplate.For(Tokenizer(new JsonObject { ["bos_token"] = "<|begin_of_text|>", ["eos_token"] = "<|eot_id|>", ["chat_template"] = TinyBpe.Llama3Template })).Template;
        var chatml = HfChatTemplate.For(Tokenizer(new JsonObject { ["bos_token"] = null, ["eos_token"] = "<|im_end|>", ["chat_template"] = TinyBpe.QwenTemplate })).Template;
        var turns = Turns((TurnRole.Developer, "Be brief."), (TurnRole.User, "2+2?"));

        Assert.Equal("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n2+2?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
            llama3.Render(turns));
        Assert.Equal("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n", chatml.Render(turns));
        Assert.Equal("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n", chatml.Render(Turns((TurnRole.User, "hi"))));
        Assert.Throws<ArgumentException>(() => chatml.Render(Turns((TurnRole.System, "only a system message"))));
    }

    // Parts of Qwen2.5-Math-Instruct's, QwQ-32B's and Qwen2.5-Instruct's templates, as they read after JSON decoding.
    private const string QwenMathTemplate =
        "{%- if messages[0]['role'] == 'system' %}{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}"
        + "{%- else %}{{- '<|im_start|>system\\nPlease reason step by step, and put your final answer within \\\\boxed{}.<|im_end|>\\n' }}{%- endif %}"
        + "{%- for message in messages %}{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}{%- endfor %}"
        + "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";

    private const string QwqTemplate =
        "{%- for message in messages %}{%- if message.role == 'assistant' %}{%- set content = message.content.split('</think>')[-1].lstrip('\\n') %}"
        + "{{- '<|im_start|>' + message.role + '\\n' + content + '<|im_end|>\\n' }}{%- else %}{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}{%- endif %}{%- endfor %}"
        + "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n<think>\\n' }}{%- endif %}";

    private const string QwenToolTemplate =
        "{%- for message in messages %}{%- if message.role == 'tool' %}{%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != 'tool') %}{{- '<|im_start|>user' }}{%- endif %}"
        + "{{- '\\n<tool_response>\\n' }}{{- message.content }}{{- '\\n</tool_response>' }}{%- if loop.last or (messages[loop.index0 + 1].role != 'tool') %}{{- '<|im_end|>\\n' }}{%- endif %}"
        + "{%- else %}{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}{%- endif %}{%- endfor %}"
        + "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";

    // Llama 3.1's template, abridged to what shapes a conversation without tools (the Jinja source, as tokenizer_config.json holds it).
    internal const string Llama31Template =
        "{{- bos_token }}\n{%- if not date_string is defined %}\n    {%- set date_string = \"26 Jul 2024\" %}\n{%- endif %}\n"
        + "{%- if messages[0]['role'] == 'system' %}\n    {%- set system_message = messages[0]['content']|trim %}\n    {%- set messages = messages[1:] %}\n{%- else %}\n    {%- set system_message = \"\" %}\n{%- endif %}\n"
        + "{{- \"<|start_header_id|>system<|end_header_id|>\\n\\n\" }}\n{{- \"Cutting Knowledge Date: December 2023\\n\" }}\n{{- \"Today Date: \" + date_string + \"\\n\\n\" }}\n"
        + "{{- system_message }}\n{{- \"<|eot_id|>\" }}\n{%- for message in messages %}\n        {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' }}\n{%- endfor %}\n"
        + "{%- if add_generation_prompt %}\n    {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}\n{%- endif %}\n";

    // Llama 3.2's differs in the date: the day's, where the renderer offers strftime_now.
    private static readonly string Llama32Template = Llama31Template.Replace(
        "{%- set date_string = \"26 Jul 2024\" %}",
        "{%- if strftime_now is defined %}\n        {%- set date_string = strftime_now(\"%d %b %Y\") %}\n    {%- else %}\n        {%- set date_string = \"26 Jul 2024\" %}\n    {%- endif %}");

    [Fact]
    public void Llama_3_1_and_3_2_templates_open_with_their_dated_system_block()
    {
        var llama31 = ChatTemplate.Recognize(Llama31Template, "<|begin_of_text|>");
        var llama32 = ChatTemplate.Recognize(Llama32Template, "<|begin_of_text|>");
        var llama3 = ChatTemplate.Recognize(TinyBpe.Llama3Template, "<|begin_of_text|>");
        var day = new DateTime(2026, 3, 5);

        Assert.Equal("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|>"
            + "<|start_header_id|>user<|end_header_id|>\n\n1+1?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
            llama31.Apply([("user", " 1+1? ")], addGenerationPrompt: true, day));
        Assert.Equal("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 05 Mar 2026\n\nBe brief.<|eot_id|>"
            + "<|start_header_id|>user<|end_header_id|>\n\n1+1?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n2<|eot_id|>",
            llama32.Apply([("system", "Be brief.\n"), ("user", "1+1?"), ("assistant", "2")], addGenerationPrompt: false, day));
        // a tool result is an ipython turn, its content as tojson writes it (not trimmed, quotes and newlines escaped, é kept)
        Assert.EndsWith("<|start_header_id|>ipython<|end_header_id|>\n\n\" 4 \\\"é\\\"\\n\"<|eot_id|>",
            llama31.Apply([("user", "2+2?"), ("assistant", "calling"), ("tool", " 4 \"é\"\n")], addGenerationPrompt: false, day));
        // Llama 3's template has no system block: a conversation is its turns
        Assert.Equal("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n1+1?<|eot_id|>", llama3.Apply([("user", "1+1?")], addGenerationPrompt: false, day));
    }

    [Fact]
    public void Chatml_templates_keep_their_default_system_thinking_opening_and_tool_turns()
    {
        var math = ChatTemplate.Recognize(QwenMathTemplate, null);
        var qwq = ChatTemplate.Recognize(QwqTemplate, null);
        var tools = ChatTemplate.Recognize(QwenToolTemplate, null);

        Assert.Equal("<|im_start|>system\nPlease reason step by step, and put your final answer within \\boxed{}.<|im_end|>\n<|im_start|>user\n1+1?<|im_end|>\n<|im_start|>assistant\n",
            math.Apply([("user", "1+1?")], addGenerationPrompt: true));
        Assert.Equal("<|im_start|>user\n1+1?<|im_end|>\n<|im_start|>assistant\n2<|im_end|>\n<|im_start|>user\nand 2+2?<|im_end|>\n<|im_start|>assistant\n<think>\n",
            qwq.Apply([("user", "1+1?"), ("assistant", "<think>\nadd them\n</think>\n\n2"), ("user", "and 2+2?")], addGenerationPrompt: true));
        Assert.Equal("<|im_start|>user\nweather?<|im_end|>\n<|im_start|>assistant\ncalling<|im_end|>\n<|im_start|>user\n<tool_response>\nsun\n</tool_response>\n<tool_response>\n20C\n</tool_response><|im_end|>\n<|im_start|>assistant\n",
            tools.Apply([("user", "weather?"), ("assistant", "calling"), ("tool", "sun"), ("tool", "20C")], addGenerationPrompt: true));
        Assert.Null(tools.DefaultSystemPrompt);
    }

    [Fact]
    public void An_unknown_template_falls_back_to_the_last_user_message_with_a_one_line_warning()
    {
        var tokenizer = Tokenizer(new JsonObject { ["bos_token"] = "<|begin_of_text|>", ["eos_token"] = "<|end_of_text|>", ["chat_template"] = "{% for m in messages %}<<{{ m['content'] }}>>{% endfor %}" });

        var (template, note) = HfChatTemplate.For(tokenizer);

        Assert.Equal(ChatTemplateKind.None, tokenizer.ChatTemplate.Kind);
        Assert.IsType<ProblemChatTemplate>(template);
        Assert.StartsWith("warning: tokenizer_config.json's chat_template is not one Ponder recognizes (known: Llama 3", note);
        Assert.DoesNotContain('\n', note);
        Assert.Equal("2+2?\n", template.Render(Turns((TurnRole.User, "2+2?"))));
        Assert.Equal("chat template: none; chat requests send the last user message alone", HfChatTemplate.For(new CharTokenizer()).Description);
    }

    [Fact]
    public void Bos_is_added_as_tokenizer_config_says_and_never_twice()
    {
        string modelConfig = $$"""{"bos_token_id": {{TinyBpe.Id("<|end_of_text|>")}}}""";             // Qwen2's config.json names one anyway
        var llama = Tokenizer(new JsonObject { ["bos_token"] = "<|begin_of_text|>", ["eos_token"] = "<|eot_id|>", ["add_bos_token"] = true });
        var qwen = Tokenizer(new JsonObject { ["bos_token"] = null, ["eos_token"] = "<|im_end|>" }, modelConfig: modelConfig);
        var optedOut = Tokenizer(new JsonObject { ["bos_token"] = "<|begin_of_text|>", ["eos_token"] = "<|eot_id|>", ["add_bos_token"] = false });
        var bosTemplate = new JsonObject
        {
            ["type"] = "TemplateProcessing",
            ["single"] = new JsonArray(new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = "<|begin_of_text|>", ["type_id"] = 0 } },
                new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "A", ["type_id"] = 0 } }),
        };
        var llama3 = Tokenizer(new JsonObject { ["bos_token"] = "<|begin_of_text|>", ["eos_token"] = "<|eot_id|>" },
            new JsonObject { ["type"] = "Sequence", ["processors"] = new JsonArray(new JsonObject { ["type"] = "ByteLevel" }, bosTemplate) });
        var byteLevelOnly = Tokenizer(new JsonObject { ["bos_token"] = "<|begin_of_text|>", ["eos_token"] = "<|eot_id|>" }, new JsonObject { ["type"] = "ByteLevel" });
        int hello = TinyBpe.Id("hello"), begin = TinyBpe.Id("<|begin_of_text|>");

        Assert.Equal([begin, hello], Prompting.Encode(llama, "hello"));
        Assert.Equal([hello], Prompting.Encode(qwen, "hello"));
        Assert.Equal([hello], Prompting.Encode(optedOut, "hello"));
        Assert.Equal([begin, hello], Prompting.Encode(llama3, "hello"));
        Assert.Equal([hello], Prompting.Encode(byteLevelOnly, "hello"));
        Assert.Equal([begin, hello], Prompting.Encode(llama, "<|begin_of_text|>hello"));     // a template's own BOS is the only one
        Assert.Equal((true, false), (llama.AddBos, qwen.AddBos));
        var e = Assert.Throws<InvalidDataException>(() => Tokenizer(new JsonObject { ["bos_token"] = null, ["add_bos_token"] = true }));
        Assert.Contains("add_bos_token", e.Message);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Server_formats_chat_with_the_checkpoints_template_and_its_bos_rule(bool llama)
    {
        // Given an imported Llama 3 folder (BOS added, template writes it) or Qwen2 folder (ChatML, no BOS), served
        if (llama) HfFolders.Llama(_dir.Path);
        else HfFolders.Qwen2(_dir.Path);
        var loaded = HfCheckpoint.Load(_dir.Path, CPU);
        var (template, _) = HfChatTemplate.For(loaded.Tokenizer);
        var policy = new LocalPolicy(new Ponder.Policy.Generator(loaded.Model, loaded.Tokenizer));
        await using var server = await TinyServedModel.Serve(policy, new ServerOptions { ChatTemplate = template });
        using var http = new HttpClient();

        // When a chat request comes with a system and a user message
        var (status, body) = await ServerFixture.PostAsync(http, server, "chat/completions",
            """{"model": "tiny", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello world"}], "max_tokens": 3, "temperature": 0}""");

        // Then the prompt the model read is the template's rendering, with exactly the BOS the checkpoint asks for
        Assert.Equal(System.Net.HttpStatusCode.OK, status);
        string rendered = ((ByteLevelBpeTokenizer)loaded.Tokenizer).ApplyChatTemplate([("system", "Be brief."), ("user", "hello world")], addGenerationPrompt: true);
        int[] ids = loaded.Tokenizer.Encode(rendered);
        Assert.Equal(llama ? TinyBpe.Id("<|begin_of_text|>") : TinyBpe.Id("<|im_start|>"), ids[0]);   // Llama 3's template writes BOS itself
        Assert.Equal(ids.Length, (int)body!["usage"]!["prompt_tokens"]!);
        Assert.Equal(llama, loaded.Tokenizer.AddBos);
        var reference = policy.Generate(Prompting.Encode(loaded.Tokenizer, rendered), 1, new SamplingOptions { Temperature = 0, MaxNewTokens = 3 });
        Assert.Equal(LocalPolicy.ToCompletion(reference[0]).Text, (string?)body["choices"]![0]!["message"]!["content"]);
    }
}
