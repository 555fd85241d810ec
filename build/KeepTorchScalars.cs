#nullable enable
using System;
using System.IO;
using System.Linq;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using Mono.Cecil;
using Mono.Cecil.Cil;

/// <summary>
/// Makes every TorchSharp Scalar reachable from its creating thread until that thread has made 4,096 more
/// (see KeepTorchScalars.targets): TorchSharp.Scalar's constructor stores the new Scalar in a thread-static ring.
/// </summary>
public sealed class KeepTorchScalars : Task
{
    const string KeeperName = "PonderScalarKeeper";
    const int Ring = 4096;                      // a power of two

    [Required] public string Assembly { get; set; } = "";

    public override bool Execute()
    {
        try
        {
            bool changed;
            using (var module = ModuleDefinition.ReadModule(Assembly, new ReaderParameters { InMemory = true }))
            {
                changed = Patch(module);
                if (changed)
                {
                    module.Attributes &= ~ModuleAttributes.StrongNameSigned;
                    module.Write(Assembly);
                }
            }
            Log.LogMessage(MessageImportance.Normal, $"KeepTorchScalars: {Assembly}: {(changed ? "patched" : "already patched")}");
            return true;
        }
        catch (Exception e) when (e is InvalidDataException or BadImageFormatException or InvalidOperationException or IOException)
        {
            Log.LogError($"KeepTorchScalars: {Assembly}: {e.Message}");
            return false;
        }
    }

    /// <summary>Adds the keeper type and the call in Scalar(IntPtr); returns false when they are there already.</summary>
    static bool Patch(ModuleDefinition module)
    {
        if (module.Types.Any(t => t.Namespace == "TorchSharp" && t.Name == KeeperName)) return false;
        var scalar = module.Types.FirstOrDefault(t => t.FullName == "TorchSharp.Scalar")
            ?? throw new InvalidDataException("no type TorchSharp.Scalar");
        var ctor = scalar.Methods.FirstOrDefault(m => m.IsConstructor && !m.IsStatic && m.Parameters.Count == 1
                && m.Parameters[0].ParameterType.FullName == "System.IntPtr")
            ?? throw new InvalidDataException("no constructor TorchSharp.Scalar(IntPtr)");

        var ts = module.TypeSystem;
        var keeper = new TypeDefinition("TorchSharp", KeeperName,
            TypeAttributes.NotPublic | TypeAttributes.Abstract | TypeAttributes.Sealed | TypeAttributes.BeforeFieldInit | TypeAttributes.Class, ts.Object);
        module.Types.Add(keeper);
        var threadStatic = new MethodReference(".ctor", ts.Void,
            new TypeReference("System", "ThreadStaticAttribute", module, ts.CoreLibrary)) { HasThis = true };
        var arrayType = new ArrayType(scalar);
        var ring = new FieldDefinition("_ring", FieldAttributes.Private | FieldAttributes.Static, arrayType);
        var next = new FieldDefinition("_next", FieldAttributes.Private | FieldAttributes.Static, ts.Int32);
        ring.CustomAttributes.Add(new CustomAttribute(threadStatic));
        next.CustomAttributes.Add(new CustomAttribute(threadStatic));
        keeper.Fields.Add(ring);
        keeper.Fields.Add(next);

        var keep = new MethodDefinition("Keep", MethodAttributes.Assembly | MethodAttributes.Static | MethodAttributes.HideBySig, ts.Void);
        keep.Parameters.Add(new ParameterDefinition("scalar", ParameterAttributes.None, scalar));
        keeper.Methods.Add(keep);
        var body = keep.Body;
        body.InitLocals = true;
        body.Variables.Add(new VariableDefinition(arrayType));     // 0: the ring
        body.Variables.Add(new VariableDefinition(ts.Int32));      // 1: the slot
        var il = body.GetILProcessor();
        var haveRing = il.Create(OpCodes.Ldsfld, next);
        il.Emit(OpCodes.Ldsfld, ring);
        il.Emit(OpCodes.Stloc_0);
        il.Emit(OpCodes.Ldloc_0);
        il.Emit(OpCodes.Brtrue_S, haveRing);
        il.Emit(OpCodes.Ldc_I4, Ring);
        il.Emit(OpCodes.Newarr, scalar);
        il.Emit(OpCodes.Stloc_0);
        il.Emit(OpCodes.Ldloc_0);
        il.Emit(OpCodes.Stsfld, ring);
        il.Append(haveRing);
        il.Emit(OpCodes.Stloc_1);
        il.Emit(OpCodes.Ldloc_0);
        il.Emit(OpCodes.Ldloc_1);
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Stelem_Ref);
        il.Emit(OpCodes.Ldloc_1);
        il.Emit(OpCodes.Ldc_I4_1);
        il.Emit(OpCodes.Add);
        il.Emit(OpCodes.Ldc_I4, Ring - 1);
        il.Emit(OpCodes.And);
        il.Emit(OpCodes.Stsfld, next);
        il.Emit(OpCodes.Ret);

        var cil = ctor.Body.GetILProcessor();
        foreach (var ret in ctor.Body.Instructions.Where(i => i.OpCode == OpCodes.Ret).ToList())
        {
            cil.InsertBefore(ret, cil.Create(OpCodes.Ldarg_0));
            cil.InsertBefore(ret, cil.Create(OpCodes.Call, keep));
        }
        return true;
    }
}
