using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Ponder.Interop;
using TorchSharp;
using static TorchSharp.torch;

namespace Ponder.Tests.Interop;

public sealed class SafetensorsTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    public static TheoryData<SafetensorsDType, double> FloatTypes => new()
    {
        { SafetensorsDType.F32, 0.0 },
        { SafetensorsDType.F16, 1e-3 },    // 10-bit mantissa
        { SafetensorsDType.BF16, 8e-3 },   // 7-bit mantissa
    };

    [Theory]
    [MemberData(nameof(FloatTypes))]
    public void Round_trip_keeps_values_within_the_dtype_precision(SafetensorsDType dtype, double relativeTolerance)
    {
        using var scope = torch.NewDisposeScope();
        // Given tensors of several shapes, a scalar and an empty one among them
        torch.manual_seed(7);
        var tensors = new Dictionary<string, Tensor>
        {
            ["matrix"] = torch.randn(3, 4),
            ["vector"] = torch.randn(5) * 100,
            ["scalar"] = torch.tensor(3.14159f),
            ["empty"] = torch.zeros(0, 3),
        };
        string path = _dir.File("t.safetensors");

        // When they are saved as dtype and loaded back
        Safetensors.Save(path, tensors, dtype);
        var loaded = Safetensors.Load(path);

        // Then names, shapes and dtype are kept and values agree to the dtype's precision
        Assert.Equal(tensors.Keys.Order(), loaded.Keys.Order());
        foreach (var (name, original) in tensors)
        {
            var back = loaded[name];
            Assert.Equal(dtype.ToScalarType(), back.dtype);
            Assert.Equal(original.shape, back.shape);
            Assert.True(back.Equals(original.to_type(dtype.ToScalarType())), $"{name} differs from its {dtype} rounding");
            Assert.True(back.to_type(ScalarType.Float32).allclose(original, rtol: relativeTolerance, atol: 0), $"{name} outside tolerance");
        }
    }

    [Fact]
    public void Save_keeps_each_tensor_dtype_when_none_is_given()
    {
        using var scope = torch.NewDisposeScope();
        // Given tensors of mixed dtypes, integers and booleans included
        var tensors = new Dictionary<string, Tensor>
        {
            ["half"] = torch.tensor(new float[] { 1.5f, -2.25f }).to_type(ScalarType.Float16),
            ["brain"] = torch.tensor(new float[] { 0.5f }).to_type(ScalarType.BFloat16),
            ["steps"] = torch.tensor(new long[] { 1L << 40, -3 }),
            ["mask"] = torch.tensor(new[] { true, false, true }),
        };
        string path = _dir.File("mixed.safetensors");

        // When saved without a dtype and loaded
        Safetensors.Save(path, tensors);
        var loaded = Safetensors.Load(path);

        // Then every tensor comes back bit-identical in its own dtype
        foreach (var (name, original) in tensors)
        {
            Assert.Equal(original.dtype, loaded[name].dtype);
            Assert.True(loaded[name].Equals(original), name);
        }
    }

    [Fact]
    public void Save_accepts_non_contiguous_tensors()
    {
        using var scope = torch.NewDisposeScope();
        // Given a transposed (non-contiguous) view
        var transposed = torch.arange(6, dtype: ScalarType.Float32).reshape(2, 3).t();
        Assert.False(transposed.is_contiguous());
        string path = _dir.File("t.safetensors");

        // When it is saved and loaded
        Safetensors.Save(path, [KeyValuePair.Create("t", transposed)]);
        var loaded = Safetensors.Load(path)["t"];

        // Then the logical values, not the storage order, are kept
        Assert.True(loaded.Equals(transposed));
    }

    [Fact]
    public void Metadata_survives_a_round_trip()
    {
        using var scope = torch.NewDisposeScope();
        // Given metadata next to one tensor
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "héllo \"quoted\"" };
        string path = _dir.File("m.safetensors");

        // When saved and loaded
        Safetensors.Save(path, [KeyValuePair.Create("x", torch.ones(2))], metadata: metadata);
        Safetensors.Load(path, out var read);

        // Then the same map comes back
        Assert.Equal(metadata.OrderBy(m => m.Key), read.OrderBy(m => m.Key));
    }

    [Fact]
    public void Written_header_is_eight_byte_aligned_with_sorted_contiguous_little_endian_tensors()
    {
        using var scope = torch.NewDisposeScope();
        // Given tensors handed over out of name order
        var tensors = new Dictionary<string, Tensor>
        {
            ["b"] = torch.tensor(new float[] { 1f, -2f }),
            ["a"] = torch.tensor(new float[] { 0.5f }),
        };
        string path = _dir.File("layout.safetensors");

        // When saved
        Safetensors.Save(path, tensors, metadata: new Dictionary<string, string> { ["k"] = "v" });

        // Then the header length is a multiple of 8, padded with spaces
        byte[] file = File.ReadAllBytes(path);
        long headerLength = (long)BinaryPrimitives.ReadUInt64LittleEndian(file);
        Assert.Equal(0, headerLength % 8);
        string header = Encoding.UTF8.GetString(file, 8, (int)headerLength);
        Assert.EndsWith("}", header.TrimEnd(' '));
        // and tensors are laid out in name order, back to back, filling the buffer
        using var json = JsonDocument.Parse(header);
        var names = json.RootElement.EnumerateObject().Select(p => p.Name).Where(n => n != "__metadata__").ToArray();
        Assert.Equal(["a", "b"], names);
        Assert.Equal([0L, 4L], json.RootElement.GetProperty("a").GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal([4L, 12L], json.RootElement.GetProperty("b").GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal(8 + headerLength + 12, file.Length);
        // and the bytes are little-endian IEEE floats
        var data = file.AsSpan((int)(8 + headerLength));
        Assert.Equal(0.5f, BinaryPrimitives.ReadSingleLittleEndian(data[0..4]));
        Assert.Equal(-2f, BinaryPrimitives.ReadSingleLittleEndian(data[8..12]));
    }

    [Fact]
    public void Load_reads_a_hand_written_file()
    {
        using var scope = torch.NewDisposeScope();
        // Given a file written byte by byte, unpadded, with a gap-free F32 tensor and a BF16 one
        var data = new byte[4 * 4 + 2];
        for (int i = 0; i < 4; i++)
            BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(4 * i), i + 0.25f);
        BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(16), 0x3FC0);   // bf16 1.5
        string path = WriteRaw("raw.safetensors",
            """{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"h":{"dtype":"BF16","shape":[],"data_offsets":[16,18]}}""", data);

        // When loaded
        var loaded = Safetensors.Load(path);

        // Then shapes, dtypes and values are the written ones
        Assert.Equal([2L, 2L], loaded["w"].shape);
        Assert.Equal([0.25f, 1.25f, 2.25f, 3.25f], loaded["w"].data<float>().ToArray());
        Assert.Equal(ScalarType.BFloat16, loaded["h"].dtype);
        Assert.Empty(loaded["h"].shape);
        Assert.Equal(1.5f, loaded["h"].to_type(ScalarType.Float32).item<float>());
    }

    [Fact]
    public void Load_rejects_a_file_shorter_than_eight_bytes()
    {
        string path = _dir.File("short.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);

        var error = Assert.Throws<InvalidDataException>(() => Safetensors.Load(path));

        AssertOneLine(error, path, "3 bytes");
    }

    [Fact]
    public void Load_rejects_a_header_length_larger_than_the_file()
    {
        string path = _dir.File("long.safetensors");
        var bytes = new byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, 1000);
        File.WriteAllBytes(path, bytes);

        var error = Assert.Throws<InvalidDataException>(() => Safetensors.Load(path));

        AssertOneLine(error, path, "header length 1000");
    }

    [Theory]
    [InlineData("{\"x\": {\"dtype\": ", "not valid JSON")]
    [InlineData("[1, 2]", "not an object")]
    [InlineData("\"text\"", "not an object")]
    public void Load_rejects_a_header_that_is_not_a_json_object(string header, string expected)
    {
        string path = WriteRaw("bad.safetensors", header, []);

        var error = Assert.Throws<InvalidDataException>(() => Safetensors.Load(path));

        AssertOneLine(error, path, expected);
    }

    [Theory]
    [InlineData("""{"x":{"shape":[1],"data_offsets":[0,4]}}""", "dtype")]
    [InlineData("""{"x":{"dtype":"F32","data_offsets":[0,4]}}""", "shape")]
    [InlineData("""{"x":{"dtype":"F32","shape":[1]}}""", "data_offsets")]
    [InlineData("""{"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}""", "shape")]
    public void Load_rejects_an_entry_missing_a_field(string header, string field)
    {
        string path = WriteRaw("missing.safetensors", header, new byte[4]);

        var error = Assert.Throws<InvalidDataException>(() => Safetensors.Load(path));

        AssertOneLine(error, path, $"tensor 'x'", field);
    }

    [Fact]
    public void Load_rejects_an_unknown_dtype()
    {
        string path = WriteRaw("model.safetensors", """{"x":{"dtype":"F8_E9M9","shape":[1],"data_offsets":[0,1]}}""", new byte[1]);

        var error = Assert.Throws<InvalidDataException>(() => Safetensors.Load(path));

        Assert.Equal($"{path}: tensor 'x': unknown dtype 'F8_E9M9'", error.Message);
    }

    [Fact]
    public void Load_rejects_offsets_whose_end_is_before_their_begin()
    {
        string path = WriteRaw("rev.safetensors", """{"x":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}""", new byte[8]);

        var error = Assert.Throws<InvalidDataException>(() => Safetensors.Load(path));

        AssertOneLine(error, path, "tensor 'x'", "end 4 is before begin 8");
    }

    [Fact]
    public void Load_rejects_offsets_past_the_end_of_the_buffer()
    {
        string path = WriteRaw("past.safetensors", """{"x":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}""", new byte[8]);

        var error = Assert.Throws<InvalidDataException>(() => Safetensors.Load(path));

        AssertOneLine(error, path, "tensor 'x'", "8-byte data buffer");
    }

    [Fact]
    public void Load_rejects_a_byte_count_that_disagrees_with_the_shape()
    {
        string path = WriteRaw("count.safetensors", """{"x":{"dtype":"F32","shape":[2,3],"data_offsets":[0,12]}}""", new byte[12]);

        var error = Assert.Throws<InvalidDataException>(() => Safetensors.Load(path));

        AssertOneLine(error, path, "tensor 'x'", "12 bytes", "[2, 3]", "24");
    }

    [Fact]
    public void Load_rejects_overlapping_ranges()
    {
        string path = WriteRaw("overlap.safetensors",
            """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", new byte[12]);

        var error = Assert.Throws<InvalidDataException>(() => Safetensors.Load(path));

        AssertOneLine(error, path, "'a'", "'b'", "overlap");
    }

    [Fact]
    public void Load_rejects_a_tensor_named_twice()
    {
        string path = WriteRaw("twice.safetensors",
            """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", new byte[8]);

        var error = Assert.Throws<InvalidDataException>(() => Safetensors.Load(path));

        AssertOneLine(error, path, "tensor 'a'", "twice");
    }

    [Fact]
    public void Failed_save_leaves_the_previous_file_intact()
    {
        using var scope = torch.NewDisposeScope();
        // Given a good file on disk
        string path = _dir.File("keep.safetensors");
        Safetensors.Save(path, [KeyValuePair.Create("x", torch.ones(3))]);
        byte[] before = File.ReadAllBytes(path);

        // When a save of a tensor safetensors cannot hold fails
        var bad = torch.zeros(2, dtype: ScalarType.ComplexFloat32);
        var error = Assert.Throws<ArgumentException>(() => Safetensors.Save(path, [KeyValuePair.Create("z", bad)]));

        // Then the old file is untouched, no temporary is left, and the error names file and tensor
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.False(File.Exists(path + ".tmp"));
        Assert.Contains(path, error.Message);
        Assert.Contains("'z'", error.Message);
    }

    private string WriteRaw(string name, string header, byte[] data)
    {
        string path = _dir.File(name);
        byte[] headerBytes = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + headerBytes.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)headerBytes.Length);
        headerBytes.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + headerBytes.Length);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static void AssertOneLine(Exception error, string path, params string[] fragments)
    {
        Assert.DoesNotContain('\n', error.Message);
        Assert.StartsWith(path + ": ", error.Message);
        foreach (string fragment in fragments)
            Assert.Contains(fragment, error.Message);
    }
}
