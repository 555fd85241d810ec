#nullable enable
using System;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

/// <summary>Makes libtorch's oneMKL choose its kernels by the CPU's features alone, not its vendor (see PatchMklCpuCheck.targets).</summary>
public sealed class PatchMklCpuCheck : Task
{
    const string Symbol = "mkl_serv_intel_cpu_true";
    const uint ShtDynsym = 11;
    const ushort EmX8664 = 0x3e;
    static readonly byte[] ReturnOne = { 0xb8, 0x01, 0x00, 0x00, 0x00, 0xc3 };   // mov eax, 1; ret
    static readonly byte[] Genu = Encoding.ASCII.GetBytes("Genu");                 // the vendor string the check compares

    [Required] public string Library { get; set; } = "";

    public override bool Execute()
    {
        try
        {
            var written = File.GetLastWriteTimeUtc(Library);
            string result;
            using (var file = new FileStream(Library, FileMode.Open, FileAccess.ReadWrite))
                result = Patch(file);
            // The copy keeps its time stamp, so that the next build's incremental copy (same size, same time) leaves it be.
            File.SetLastWriteTimeUtc(Library, written);
            Log.LogMessage(MessageImportance.Normal, $"PatchMklCpuCheck: {Library}: {result}");
            return true;
        }
        catch (Exception e) when (e is InvalidDataException or IOException or ArgumentOutOfRangeException)
        {
            Log.LogError($"PatchMklCpuCheck: {Library}: {e.Message}");
            return false;
        }
    }

    /// <summary>Replaces the vendor check's body with "return 1"; says what it did.</summary>
    static string Patch(FileStream file)
    {
        var header = Read(file, 0, 64);
        if (header[0] != 0x7f || header[1] != 'E' || header[2] != 'L' || header[3] != 'F' || header[4] != 2 || header[5] != 1)
            throw new InvalidDataException("not a 64-bit little-endian ELF file");
        if (BitConverter.ToUInt16(header, 0x12) != EmX8664) return "not x86-64; nothing to do";
        long shoff = (long)BitConverter.ToUInt64(header, 0x28);
        int shentsize = BitConverter.ToUInt16(header, 0x3a), shnum = BitConverter.ToUInt16(header, 0x3c);
        var sections = Read(file, shoff, shentsize * shnum);
        long Field(int section, int at) => (long)BitConverter.ToUInt64(sections, section * shentsize + at);
        for (int i = 0; i < shnum; i++)
        {
            if (BitConverter.ToUInt32(sections, i * shentsize + 4) != ShtDynsym) continue;
            int strings = BitConverter.ToInt32(sections, i * shentsize + 0x28);
            var symbols = Read(file, Field(i, 0x18), (int)Field(i, 0x20));
            var names = Read(file, Field(strings, 0x18), (int)Field(strings, 0x20));
            var wanted = Encoding.ASCII.GetBytes(Symbol + "\0");
            for (int s = 0; s + 24 <= symbols.Length; s += 24)
            {
                if (!NameIs(names, BitConverter.ToUInt32(symbols, s), wanted)) continue;
                int section = BitConverter.ToUInt16(symbols, s + 6);
                long value = (long)BitConverter.ToUInt64(symbols, s + 8), size = (long)BitConverter.ToUInt64(symbols, s + 16);
                if (section == 0 || section >= shnum || size < ReturnOne.Length || size > 4096)
                    throw new InvalidDataException($"{Symbol} is not a function body this patch knows");
                long at = Field(section, 0x18) + (value - Field(section, 0x10));
                var body = Read(file, at, (int)size);
                if (StartsWith(body, ReturnOne)) return "already patched";
                if (IndexOf(body, Genu) < 0) throw new InvalidDataException($"{Symbol} does not compare the CPU vendor; not patched");
                file.Position = at;
                file.Write(ReturnOne, 0, ReturnOne.Length);
                return "patched";
            }
        }
        return $"no {Symbol}; nothing to do";
    }

    static byte[] Read(FileStream file, long at, int count)
    {
        if (at < 0 || count < 0 || at + count > file.Length) throw new InvalidDataException($"a range past the end of the file ({at} + {count})");
        var bytes = new byte[count];
        file.Position = at;
        int done = 0;
        while (done < count)
        {
            int n = file.Read(bytes, done, count - done);
            if (n == 0) throw new InvalidDataException("the file ended early");
            done += n;
        }
        return bytes;
    }

    static bool NameIs(byte[] names, uint at, byte[] wanted)
    {
        if (at + (long)wanted.Length > names.Length) return false;
        for (int j = 0; j < wanted.Length; j++)
            if (names[at + j] != wanted[j]) return false;
        return true;
    }

    static bool StartsWith(byte[] bytes, byte[] prefix)
    {
        for (int j = 0; j < prefix.Length; j++)
            if (bytes[j] != prefix[j]) return false;
        return true;
    }

    static int IndexOf(byte[] hay, byte[] needle)
    {
        for (int i = 0; i + needle.Length <= hay.Length; i++)
        {
            int j = 0;
            while (j < needle.Length && hay[i + j] == needle[j]) j++;
            if (j == needle.Length) return i;
        }
        return -1;
    }
}
