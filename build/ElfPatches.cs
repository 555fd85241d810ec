#nullable enable
using System;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

// The build's patches of native libraries in its output: PatchLibTorchSharp.targets and PatchMklCpuCheck.targets.

/// <summary>What the build's ELF patches share: the header check and a byte search.</summary>
static class Elf64
{
    /// <summary>Throws unless <paramref name="header"/> (at least the file's first 64 bytes) starts a 64-bit little-endian ELF file.</summary>
    public static void RequireHeader(byte[] header)
    {
        if (header.Length < 64 || header[0] != 0x7f || header[1] != 'E' || header[2] != 'L' || header[3] != 'F' || header[4] != 2 || header[5] != 1)
            throw new InvalidDataException("not a 64-bit little-endian ELF file");
    }

    /// <summary>Where <paramref name="needle"/> first occurs in <paramref name="hay"/>, or −1.</summary>
    public static int IndexOf(byte[] hay, byte[] needle)
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

/// <summary>Makes libLibTorchSharp.so load against a libstdc++ older than GLIBCXX_3.4.32 (see PatchLibTorchSharp.targets).</summary>
public sealed class PatchLibTorchSharp : Task
{
    const string Version = "GLIBCXX_3.4.32";
    const string Symbol = "_ZSt21ios_base_library_initv";
    const uint ShtDynsym = 11, ShtGnuVerneed = 0x6ffffffe;
    const ushort VerFlgWeak = 0x2;
    const byte StbWeak = 1;

    [Required] public string Library { get; set; } = "";

    static readonly string[] LibStdCxxPaths =
    {
        "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6",
        "/usr/lib64/libstdc++.so.6", "/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6",
        "/usr/lib/aarch64-linux-gnu/libstdc++.so.6",
    };

    public override bool Execute()
    {
        string? system = Array.Find(LibStdCxxPaths, File.Exists);
        if (system == null) { Log.LogMessage(MessageImportance.Low, "PatchLibTorchSharp: no system libstdc++ found; nothing to do"); return true; }
        if (Elf64.IndexOf(File.ReadAllBytes(system), Encoding.ASCII.GetBytes(Version + "\0")) >= 0)
        {
            Log.LogMessage(MessageImportance.Low, $"PatchLibTorchSharp: {system} has {Version}; nothing to do");
            return true;
        }
        try
        {
            byte[] elf = File.ReadAllBytes(Library);
            bool changed = Patch(elf);
            if (changed) File.WriteAllBytes(Library, elf);
            Log.LogMessage(MessageImportance.Normal, $"PatchLibTorchSharp: {Library}: {(changed ? "patched" : "already patched")} ({system} lacks {Version})");
            return true;
        }
        catch (InvalidDataException e)
        {
            Log.LogError($"PatchLibTorchSharp: {Library}: {e.Message}");
            return false;
        }
    }

    /// <summary>Sets the weak flags in place; returns whether any byte changed.</summary>
    static bool Patch(byte[] f)
    {
        Elf64.RequireHeader(f);
        long shoff = (long)BitConverter.ToUInt64(f, 0x28);
        int shentsize = BitConverter.ToUInt16(f, 0x3a), shnum = BitConverter.ToUInt16(f, 0x3c);
        bool changed = false, foundVersion = false, foundSymbol = false;
        for (int i = 0; i < shnum; i++)
        {
            long sh = shoff + (long)i * shentsize;
            uint type = BitConverter.ToUInt32(f, (int)sh + 4);
            long offset = (long)BitConverter.ToUInt64(f, (int)sh + 0x18), size = (long)BitConverter.ToUInt64(f, (int)sh + 0x20);
            uint link = BitConverter.ToUInt32(f, (int)sh + 0x28);
            long strtab = (long)BitConverter.ToUInt64(f, (int)(shoff + (long)link * shentsize) + 0x18);
            if (type == ShtGnuVerneed)
            {
                long vn = offset;
                while (true)
                {
                    int count = BitConverter.ToUInt16(f, (int)vn + 2);
                    long aux = vn + BitConverter.ToUInt32(f, (int)vn + 8);
                    for (int a = 0; a < count; a++)
                    {
                        if (Name(f, strtab + BitConverter.ToUInt32(f, (int)aux + 8)) == Version)
                        {
                            foundVersion = true;
                            ushort flags = BitConverter.ToUInt16(f, (int)aux + 4);
                            if ((flags & VerFlgWeak) == 0) { WriteUInt16(f, (int)aux + 4, (ushort)(flags | VerFlgWeak)); changed = true; }
                        }
                        aux += BitConverter.ToUInt32(f, (int)aux + 12);
                    }
                    uint next = BitConverter.ToUInt32(f, (int)vn + 12);
                    if (next == 0) break;
                    vn += next;
                }
            }
            else if (type == ShtDynsym)
            {
                for (long s = offset; s + 24 <= offset + size; s += 24)
                {
                    if (Name(f, strtab + BitConverter.ToUInt32(f, (int)s)) != Symbol) continue;
                    foundSymbol = true;
                    byte info = f[s + 4];
                    if (info >> 4 != StbWeak) { f[s + 4] = (byte)((StbWeak << 4) | (info & 0xf)); changed = true; }
                }
            }
        }
        if (!foundVersion && !foundSymbol) return false; // a build that does not need the patch
        return changed;
    }

    static string Name(byte[] f, long at)
    {
        int end = (int)at;
        while (f[end] != 0) end++;
        return Encoding.ASCII.GetString(f, (int)at, end - (int)at);
    }

    static void WriteUInt16(byte[] f, int at, ushort v) { f[at] = (byte)v; f[at + 1] = (byte)(v >> 8); }
}

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
        Elf64.RequireHeader(header);
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
                if (Elf64.IndexOf(body, Genu) < 0) throw new InvalidDataException($"{Symbol} does not compare the CPU vendor; not patched");
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
}
