using Ponder.Learning;
using Ponder.Policy;
using Ponder.Tasks;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Ponder.Tests.Policy;

public sealed class PackedRowsTests
{
    [Theory]
    [InlineData(true)]    // the C# attention node, each sequence its own causal block
    [InlineData(false)]   // libtorch's ops: per-token positions and the block-diagonal mask
    public void Each_packed_sequence_gets_the_logits_of_a_row_of_its_own(bool kernels)
    {
        // Given five sequences of different lengths packed two rows wide of 30, with padding closing the second row
        using var model = TinyModels.Model(40, seed: 3);
        using var scope = NewDisposeScope();
        model.train();
        model.TrainingKernels = kernels;
        int[][] sequences = [.. new[] { 13, 9, 8, 17, 6 }.Select((n, i) => TinyModels.RandomTokens(n, 40, i))];
        var rows = new PackedRows([[13, 9, 8], [17, 6, 7]], 30);
        var ids = new long[2 * 30];
        Array.Fill(ids, 0L);
        int[] order = [0, 1, 2, 3, 4];
        var at = 0;
        foreach (var i in order)
        {
            if (i == 3) at = 30;
            for (var j = 0; j < sequences[i].Length; j++) ids[at + j] = sequences[i][j];
            at += sequences[i].Length;
        }

        // When the packed batch runs once (with gradients, the training path) and each sequence runs alone
        var calls = CausalAttentionFunction.Calls;
        var packed = model.Packed(tensor(ids, [2, 30]), rows);                          // (2, 30, V)
        Assert.Equal(kernels, CausalAttentionFunction.Calls > calls);

        // Then every sequence's logits are its own row's, within rounding
        at = 0;
        foreach (var i in order)
        {
            if (i == 3) at = 30;
            var alone = model.call(tensor(sequences[i].Select(t => (long)t).ToArray(), [1, sequences[i].Length]))[0];   // (n, V)
            var slice = packed.view(60, -1).narrow(0, at, sequences[i].Length);
            Assert.True(TinyModels.MaxAbsDiff(slice, alone) < 1e-4f, $"sequence {i}: max diff {TinyModels.MaxAbsDiff(slice, alone)}");
            at += sequences[i].Length;
        }
    }

    [Theory]
    [InlineData(true, 0)]     // all in one row, no padding
    [InlineData(true, 250)]   // rows of 250: four examples each, some padding
    [InlineData(false, 250)]
    public void A_packed_sft_batch_has_the_same_loss_and_gradients_as_the_padded_one_in_fewer_positions(bool kernels, int width)
    {
        // Given 24 arith examples, as padded rows and packed
        var task = TaskRegistry.Create("arith");
        var tokenizer = new CharTokenizer();
        var examples = SftTrainer.BatchExamples(task, 5, 1, 24);
        var config = TinyModels.Config(tokenizer.VocabSize) with { BosTokenId = tokenizer.Bos, EosTokenId = tokenizer.Eos, PadTokenId = tokenizer.Pad };
        torch.manual_seed(1);
        using var model = new Transformer(config);
        using var scope = NewDisposeScope();
        model.train();
        model.TrainingKernels = kernels;
        var (inputs, targets, lossTokens) = SftBatch.Build(tokenizer, examples, CPU);
        var (packedInputs, packedTargets, packedLossTokens, rows) = SftBatch.Pack(tokenizer, examples, CPU, width);
        (float Loss, Dictionary<string, Tensor> Grads) Run(Func<Tensor> logits, Tensor t)
        {
            model.zero_grad();
            var loss = F.cross_entropy(logits().view(-1, tokenizer.VocabSize), t.view(-1), ignore_index: SftBatch.Ignore);
            loss.backward();
            return (loss.item<float>(), model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.clone()));
        }

        // When the loss is differentiated both ways
        var (padded, paddedGrads) = Run(() => model.call(inputs), targets);
        var (packed, packedGrads) = Run(() => model.Packed(packedInputs, rows), packedTargets);

        // Then the same tokens carry loss, in fewer positions, and loss and gradients agree
        Assert.Equal(lossTokens, packedLossTokens);
        var tokens = inputs.ne(tokenizer.Pad).sum().item<long>();
        Assert.Equal(tokens, packedInputs.ne(tokenizer.Pad).sum().item<long>());
        Assert.True(packedInputs.numel() < inputs.numel(), $"{packedInputs.numel()} packed positions against {inputs.numel()}");
        if (width == 0) Assert.Equal(tokens, packedInputs.numel());
        Assert.Equal(padded, packed, 4);
        foreach (var (name, expected) in paddedGrads)
        {
            var diff = SmallRowLinearTests.RelativeDiff(packedGrads[name], expected);
            Assert.True(diff < 1e-4, $"{name}: relative diff {diff}");
        }
    }

    [Theory]
    [InlineData(true)]    // the C# attention node: all rows in one
    [InlineData(false)]   // libtorch's ops: rows as wide as the longest, first fit (the short two share one)
    public void Rollouts_scored_packed_give_the_padded_log_probabilities_entropies_and_gradients(bool kernels)
    {
        // Given rollouts of different prompt and completion lengths (17, 35 and 5 tokens)
        var tokenizer = new CharTokenizer();
        var config = TinyModels.Config(tokenizer.VocabSize) with { BosTokenId = tokenizer.Bos, EosTokenId = tokenizer.Eos, PadTokenId = tokenizer.Pad };
        torch.manual_seed(4);
        using var model = new Transformer(config);
        using var scope = NewDisposeScope();
        model.train();
        var problems = new[] { new Problem("a", "12+5\n", "17"), new Problem("b", "3*4+100\n", "112"), new Problem("c", "7\n", "7") };
        string[] texts = ["12+5=17\n#17", "3*4=12\n12+100=112\n#112", "#7"];
        using var batch = RolloutBatch.Build(tokenizer, problems, [.. texts.Select(tokenizer.Encode)], texts, CPU);
        (Tensor LogProbs, Tensor Entropy, Tensor Hidden, Dictionary<string, Tensor> Grads) Run(bool packed)
        {
            model.TrainingKernels = kernels;
            model.zero_grad();
            Tensor logProbs, entropy, hidden;
            if (packed)
            {
                var (l, e, h) = batch.Score(model, entropy: true);
                (logProbs, entropy, hidden) = (l, e!, h);
            }
            else
            {
                // The padded reference: each row whole, libtorch's ops.
                model.TrainingKernels = false;
                hidden = model.Hidden(batch.Ids[.., ..^1]);
                var logp = model.Logits(hidden).log_softmax(-1);
                logProbs = logp.gather(-1, batch.Ids[.., 1..].unsqueeze(-1)).squeeze(-1);
                entropy = -(logp.exp() * logp).sum(-1);
            }
            ((logProbs * batch.Mask).sum() + (entropy * batch.Mask).sum()).backward();
            return (logProbs.detach() * batch.Mask, entropy.detach() * batch.Mask, hidden.detach(),
                model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.clone()));
        }

        // When scored by the batch with gradients (packed) and row by row (padded)
        var calls = CausalAttentionFunction.Calls;
        var packed = Run(packed: true);
        Assert.Equal(kernels, CausalAttentionFunction.Calls > calls);
        var padded = Run(packed: false);

        // Then log-probabilities, entropies, the real positions' hidden states and every gradient agree
        Assert.True(TinyModels.MaxAbsDiff(packed.LogProbs, padded.LogProbs) < 1e-4f);
        Assert.True(TinyModels.MaxAbsDiff(packed.Entropy, padded.Entropy) < 1e-4f);
        var real = batch.Ids[.., 1..].ne(tokenizer.Pad).unsqueeze(-1);                 // (N, L−1, 1)
        Assert.True(TinyModels.MaxAbsDiff(packed.Hidden * real, padded.Hidden * real) < 1e-4f);
        foreach (var (name, expected) in padded.Grads)
        {
            var diff = SmallRowLinearTests.RelativeDiff(packed.Grads[name], expected);
            Assert.True(diff < 1e-4, $"{name}: relative diff {diff}");
        }
    }

    [Fact]
    public void First_fit_fills_rows_as_wide_as_the_longest_and_closes_each_with_its_padding()
    {
        // Given sequences of 9, 3, 5, 4 and 2 tokens
        var (rows, places) = PackedRows.FirstFit([9, 3, 5, 4, 2], 1);

        // Then rows of 9: [9], [5, 4], [3, 2, padding 4], each sequence where its row says
        Assert.Equal(9, rows.Width);
        Assert.Equal([[9], [5, 4], [3, 2, 4]], Enumerable.Range(0, rows.Rows).Select(r => rows[r].ToArray()).ToArray());
        Assert.Equal([(0, 0), (2, 0), (1, 0), (1, 5), (2, 3)], places);
        var (one, inOrder) = PackedRows.OneRow([9, 3, 5]);
        Assert.Equal([(0, 0), (0, 9), (0, 12)], inOrder);
        Assert.Equal(17, one.Width);
    }

    [Fact]
    public void A_layout_whose_rows_do_not_add_up_is_refused()
    {
        var error = Assert.Throws<ArgumentException>(() => new PackedRows([[10, 5], [16]], 15));
        Assert.Contains("row 1", error.Message);
        Assert.Throws<ArgumentException>(() => new PackedRows([[15, 0]], 15));
        using var model = TinyModels.Model(40);
        var shape = Assert.Throws<ArgumentException>(() => model.Packed(zeros([2, 14], ScalarType.Int64), new PackedRows([[15], [15]], 15)));
        Assert.Contains("[2, 14]", shape.Message);
    }

    [Fact]
    public void Rollouts_of_a_model_padded_beyond_its_tokenizer_are_scored_over_the_ids_they_were_sampled_from()
    {
        // Given a model with 40 embedding rows more than its tokenizer has ids (as Qwen2.5's are padded)
        var tokenizer = new CharTokenizer();
        var config = TinyModels.Config(tokenizer.VocabSize + 40) with { BosTokenId = tokenizer.Bos, EosTokenId = tokenizer.Eos, PadTokenId = tokenizer.Pad };
        torch.manual_seed(5);
        using var model = new Transformer(config);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var problems = new[] { new Problem("a", "12+5\n", "17") };
        string[] texts = ["12+5=17\n#17"];
        using var batch = RolloutBatch.Build(tokenizer, problems, [.. texts.Select(tokenizer.Encode)], texts, CPU);

        // When scored, Then the log-probabilities and entropy are those of the softmax over the tokenizer's ids alone
        var (logProbs, entropy, _) = batch.Score(model, entropy: true);
        var logits = model.Logits(model.Hidden(batch.Ids[.., ..^1])).narrow(-1, 0, tokenizer.VocabSize);
        var logp = logits.log_softmax(-1);
        var expected = logp.gather(-1, batch.Ids[.., 1..].unsqueeze(-1)).squeeze(-1);
        Assert.True(TinyModels.MaxAbsDiff(logProbs, expected) < 1e-5f);
        Assert.True(TinyModels.MaxAbsDiff(entropy!, -(logp.exp() * logp).sum(-1)) < 1e-5f);
    }
}
