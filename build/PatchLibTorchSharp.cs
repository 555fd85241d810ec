#nullable enable
using System;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

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
        if (Contains(File.ReadAllBytes(system), Encoding.ASCII.GetBytes(Version + "\0")))
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
        if (f.Length < 64 || f[0] != 0x7f || f[1] != 'E' || f[2] != 'L' || f[3] != 'F' || f[4] != 2 || f[5] != 1)
            throw new InvalidDataException("not a 64-bit little-endian ELF file");
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

    static bool Contains(byte[] hay, byte[] needle)
    {
        for (int i = 0; i + needle.Length <= hay.Length; i++)
        {
            int j = 0;
            while (j < needle.Length && hay[i + j] == needle[j]) j++;
            if (j == needle.Length) return true;
        }
        return false;
    }
}
