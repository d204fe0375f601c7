using System;
using System.Collections.Generic;
using System.Linq;
using Mono.Cecil;
using Mono.Cecil.Cil;

namespace HerdPS.Tests
{
    /// <summary>
    /// The engine's folders form layers, and data flows one way (docs/transports.md, /work/shared/design.md):
    /// Display (text for people) -> Parsing (output into fields) -> Inventory, Selection -> Transport -> Templating
    /// (scripts' Liquid templates, which quote with Transport's ShellQuote) -> Execution -> Grouping -> Files -> History -> Watch -> Tail -> Notify -> Scripting. A folder may use the
    /// ones before it, never one after it, so the layers can't grow cycles again. Within Transport, the
    /// transport-neutral part never names a plug-in (Transport.OpenSsh, later Transport.SshNet): plug-ins are chosen
    /// through the registry, in Execution. The check reads the built HerdPS.Engine.dll's metadata and IL with
    /// Mono.Cecil: signatures, base types, attributes, and every type, method and field an instruction names
    /// (lambdas and async state machines are nested types, so their bodies count for their declaring type).
    /// Types of HerdPS.Contracts are below every layer and are not counted.
    /// </summary>
    public class EngineLayeringTests
    {
        private static readonly string[] Layers =
        {
            "Display", "Parsing", "Inventory", "Selection", "Transport", "Templating", "Execution", "Grouping", "Files", "History", "Watch", "Tail", "Notify", "Scripting",
        };

        /// <summary>Namespaces inside a layer that only the layers above may name (the plug-ins).</summary>
        private static readonly string[] TransportPlugIns = { "HerdPS.Transport.OpenSsh", "HerdPS.Transport.SshNet" };

        [Fact]
        public void NoLayerReferencesALaterOne()
        {
            var violations = EngineReferences()
                .Where(r => Rank(r.From) is int from && Rank(r.To) is int to && to > from)
                .Select(r => r.ToString())
                .Distinct()
                .OrderBy(s => s, StringComparer.Ordinal)
                .ToList();
            Assert.True(violations.Count == 0, "a lower layer references a higher one:\n" + string.Join("\n", violations));
        }

        [Fact]
        public void TheTransportNeutralPartNeverNamesAPlugIn()
        {
            var violations = EngineReferences()
                .Where(r => r.From.Namespace == "HerdPS.Transport" && TransportPlugIns.Contains(r.To.Namespace))
                .Select(r => r.ToString())
                .Distinct()
                .ToList();
            Assert.True(violations.Count == 0, "the transport contract names a plug-in:\n" + string.Join("\n", violations));
        }

        [Fact]
        public void EveryEngineNamespaceIsInALayer()
        {
            var unplaced = Module().Types.Where(t => t.Namespace.StartsWith("HerdPS", StringComparison.Ordinal) && Rank(t) == null).Select(t => t.FullName).ToList();
            Assert.True(unplaced.Count == 0, "types outside every layer (add the folder to Layers):\n" + string.Join("\n", unplaced));
        }

        [Fact]
        public void TheCheckSeesReferencesInsideMethodBodies()
        {
            // Proof that the scan reads IL, not only signatures: FleetRunner creates FleetResults and calls a transport.
            var fromRunner = EngineReferences().Where(r => r.From.Name == "FleetRunner" || r.From.DeclaringType?.Name == "FleetRunner").ToList();
            Assert.Contains(fromRunner, r => r.To.Namespace == "HerdPS.Transport");
            Assert.Contains(fromRunner, r => r.To.Namespace == "HerdPS.Inventory");
        }

        private static int? Rank(TypeDefinition type)
        {
            var ns = OuterMost(type).Namespace;
            for (var i = 0; i < Layers.Length; i++)
            {
                var prefix = "HerdPS." + Layers[i];
                if (ns == prefix || ns.StartsWith(prefix + ".", StringComparison.Ordinal)) return i;
            }
            return null;
        }

        private static TypeDefinition OuterMost(TypeDefinition type)
        {
            while (type.DeclaringType != null) type = type.DeclaringType;
            return type;
        }

        private sealed record Reference(TypeDefinition From, TypeDefinition To)
        {
            public override string ToString() => $"{From.FullName} -> {To.FullName}";
        }

        private static ModuleDefinition? _module;

        private static ModuleDefinition Module() =>
            _module ??= ModuleDefinition.ReadModule(typeof(HerdPS.Execution.FleetRunner).Assembly.Location);

        /// <summary>Every (type, engine type it names) pair, nested types reported as their outermost type.</summary>
        private static IEnumerable<Reference> EngineReferences()
        {
            var module = Module();
            foreach (var type in AllTypes(module))
            {
                var from = OuterMost(type);
                foreach (var named in NamedBy(type).SelectMany(Flatten))
                {
                    var resolved = Resolve(named, module);
                    if (resolved == null) continue;
                    var to = OuterMost(resolved);
                    if (to != from) yield return new Reference(from, to);
                }
            }
        }

        private static IEnumerable<TypeDefinition> AllTypes(ModuleDefinition module)
        {
            var stack = new Stack<TypeDefinition>(module.Types);
            while (stack.Count > 0)
            {
                var t = stack.Pop();
                yield return t;
                foreach (var n in t.NestedTypes) stack.Push(n);
            }
        }

        /// <summary>A type and every type inside it: List&lt;FleetHost&gt; names List and FleetHost; FleetHost[] names FleetHost.</summary>
        private static IEnumerable<TypeReference> Flatten(TypeReference? t)
        {
            if (t == null) yield break;
            if (t is GenericInstanceType g)
                foreach (var a in g.GenericArguments) foreach (var inner in Flatten(a)) yield return inner;
            if (t is TypeSpecification spec) { foreach (var inner in Flatten(spec.ElementType)) yield return inner; yield break; }
            yield return t;
        }

        /// <summary>An engine type (defined in this module) behind a reference, or null for any other assembly's type.</summary>
        private static TypeDefinition? Resolve(TypeReference reference, ModuleDefinition module)
        {
            if (reference is GenericParameter) return null;
            if (reference is TypeDefinition def) return def.Module == module ? def : null;
            return null; // a TypeReference points outside this module
        }

        private static IEnumerable<TypeReference> NamedBy(TypeDefinition type)
        {
            if (type.BaseType != null) yield return type.BaseType;
            foreach (var i in type.Interfaces) yield return i.InterfaceType;
            foreach (var a in type.CustomAttributes) foreach (var t in AttributeTypes(a)) yield return t;
            foreach (var f in type.Fields) yield return f.FieldType;
            foreach (var p in type.Properties) yield return p.PropertyType;
            foreach (var e in type.Events) yield return e.EventType;
            foreach (var m in type.Methods)
            {
                yield return m.ReturnType;
                foreach (var p in m.Parameters) yield return p.ParameterType;
                foreach (var a in m.CustomAttributes) foreach (var t in AttributeTypes(a)) yield return t;
                if (!m.HasBody) continue;
                foreach (var v in m.Body.Variables) yield return v.VariableType;
                foreach (var h in m.Body.ExceptionHandlers) if (h.CatchType != null) yield return h.CatchType;
                foreach (var ins in m.Body.Instructions)
                {
                    switch (ins.Operand)
                    {
                        case TypeReference t:
                            yield return t;
                            break;
                        case MethodReference mr:
                            yield return mr.DeclaringType;
                            yield return mr.ReturnType;
                            foreach (var p in mr.Parameters) yield return p.ParameterType;
                            if (mr is GenericInstanceMethod gm) foreach (var g in gm.GenericArguments) yield return g;
                            break;
                        case FieldReference fr:
                            yield return fr.DeclaringType;
                            yield return fr.FieldType;
                            break;
                    }
                }
            }
        }

        private static IEnumerable<TypeReference> AttributeTypes(CustomAttribute a)
        {
            yield return a.AttributeType;
            foreach (var arg in a.ConstructorArguments) if (arg.Value is TypeReference t) yield return t;
        }
    }
}
