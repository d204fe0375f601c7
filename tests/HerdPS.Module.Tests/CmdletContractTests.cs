using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace HerdPS.Module.Tests
{
    /// <summary>
    /// Every cmdlet class in HerdPS.dll against the module's contract. Each test walks all cmdlets and lists every
    /// breach, so adding a cmdlet, a parameter or a help entry without the rest fails here with the reason.
    /// </summary>
    public class CmdletContractTests
    {
        /// <summary>The output of Get-Verb (PowerShell 7.4), hard-coded: there is no PowerShell here to ask.</summary>
        internal static readonly HashSet<string> ApprovedVerbs = new(StringComparer.Ordinal)
        {
            "Add", "Clear", "Close", "Copy", "Enter", "Exit", "Find", "Format", "Get", "Hide", "Join", "Lock", "Move", "New", "Open",
            "Optimize", "Pop", "Push", "Redo", "Remove", "Rename", "Reset", "Resize", "Search", "Select", "Set", "Show", "Skip", "Split",
            "Step", "Switch", "Undo", "Unlock", "Watch",
            "Connect", "Disconnect", "Read", "Receive", "Send", "Write",
            "Backup", "Checkpoint", "Compare", "Compress", "Convert", "ConvertFrom", "ConvertTo", "Dismount", "Edit", "Expand", "Export",
            "Group", "Import", "Initialize", "Limit", "Merge", "Mount", "Out", "Publish", "Restore", "Save", "Sync", "Unpublish", "Update",
            "Debug", "Measure", "Ping", "Repair", "Resolve", "Test", "Trace",
            "Approve", "Assert", "Build", "Complete", "Confirm", "Deny", "Deploy", "Disable", "Enable", "Install", "Invoke", "Register",
            "Request", "Restart", "Resume", "Start", "Stop", "Submit", "Suspend", "Uninstall", "Unregister", "Wait",
            "Block", "Grant", "Protect", "Revoke", "Unblock", "Unprotect",
            "Use",
        };

        /// <summary>Verbs whose cmdlets change state somewhere (a host, the pool, a file): they must support -WhatIf/-Confirm.</summary>
        internal static readonly HashSet<string> StateChangingVerbs = new(StringComparer.Ordinal)
        {
            "Disconnect", "Invoke", "Send", "Remove", "Set", "Clear", "Reset", "New", "Update", "Start", "Stop", "Restart", "Install", "Uninstall", "Publish", "Rename", "Move", "Copy",
        };

        internal sealed record CmdletInfo(Type Type, string Verb, string Noun, CustomAttributeData Attribute)
        {
            public string Name => Verb + "-" + Noun;
            public bool SupportsShouldProcess => Attribute.NamedArguments.Any(a => a.MemberName == "SupportsShouldProcess" && (bool)a.TypedValue.Value!);
        }

        internal sealed record ParameterInfo(PropertyInfo Property, CustomAttributeData Attribute)
        {
            public string Name => Property.Name;
            public bool Named(string arg) => Attribute.NamedArguments.Any(a => a.MemberName == arg && a.TypedValue.Value is bool b && b);
            public string[] Aliases => Property.GetCustomAttributesData().Where(a => a.AttributeType.Name == "AliasAttribute")
                .SelectMany(a => ((IEnumerable<CustomAttributeTypedArgument>)a.ConstructorArguments[0].Value!).Select(v => (string)v.Value!)).ToArray();
            public bool Has(string attributeName) => Property.GetCustomAttributesData().Any(a => a.AttributeType.Name == attributeName);
        }

        internal static IReadOnlyList<CmdletInfo> Cmdlets()
        {
            var cmdletBase = ModuleFiles.SmaType("Cmdlet");
            return ModuleFiles.Module.GetTypes()
                .Where(t => t.IsPublic && !t.IsAbstract && t.IsSubclassOf(cmdletBase))
                .Select(t =>
                {
                    var attr = t.GetCustomAttributesData().SingleOrDefault(a => a.AttributeType.FullName == "System.Management.Automation.CmdletAttribute");
                    Assert.True(attr != null, $"{t.FullName} derives from Cmdlet but has no [Cmdlet] attribute");
                    return new CmdletInfo(t, (string)attr!.ConstructorArguments[0].Value!, (string)attr.ConstructorArguments[1].Value!, attr);
                })
                .OrderBy(c => c.Name, StringComparer.Ordinal)
                .ToList();
        }

        internal static IReadOnlyList<ParameterInfo> Parameters(Type cmdlet) =>
            cmdlet.GetProperties(BindingFlags.Public | BindingFlags.Instance)
                .Select(p => (p, a: p.GetCustomAttributesData().FirstOrDefault(a => a.AttributeType.FullName == "System.Management.Automation.ParameterAttribute")))
                .Where(x => x.a != null)
                .Select(x => new ParameterInfo(x.p, x.a!))
                .ToList();

        /// <summary>Parameters Get-Help shows: the declared ones plus -WhatIf/-Confirm where ShouldProcess is supported.</summary>
        internal static IEnumerable<string> HelpParameterNames(CmdletInfo c) =>
            Parameters(c.Type).Select(p => p.Name).Concat(c.SupportsShouldProcess ? new[] { "WhatIf", "Confirm" } : Array.Empty<string>());

        private static void NoBreaches(List<string> breaches) => Assert.True(breaches.Count == 0, string.Join(Environment.NewLine, breaches));

        [Fact]
        public void The_module_has_the_cmdlets_of_this_issue()
        {
            var names = Cmdlets().Select(c => c.Name).ToArray();
            foreach (var expected in new[] { "Invoke-FleetCommand", "Test-FleetConnection", "Get-FleetHost", "Get-FleetTag", "Disconnect-Fleet",
                "Get-FleetHistory", "Compare-FleetHistory", "Watch-Fleet" })
                Assert.Contains(expected, names);
        }

        [Fact]
        public void The_module_has_the_file_and_snapshot_cmdlets_and_Send_FleetFile_asks_before_replacing()
        {
            var cmdlets = Cmdlets().ToDictionary(c => c.Name);
            foreach (var expected in new[] { "Compare-FleetFile", "Send-FleetFile", "Receive-FleetFile", "Get-FleetSnapshot", "Compare-FleetSnapshot" })
                Assert.True(cmdlets.ContainsKey(expected), $"{expected} missing");
            Assert.True(cmdlets["Send-FleetFile"].SupportsShouldProcess);
            var send = Parameters(cmdlets["Send-FleetFile"].Type).Select(p => p.Name).ToArray();
            Assert.Contains("Force", send);
            Assert.Equal("SwitchParameter", Parameters(cmdlets["Send-FleetFile"].Type).Single(p => p.Name == "Force").Property.PropertyType.Name);
            var compare = Parameters(cmdlets["Compare-FleetFile"].Type).ToDictionary(p => p.Name);
            Assert.True(compare["Path"].Named("Mandatory"));
            Assert.Equal("Int64", compare["MaxFileBytes"].Property.PropertyType.Name);
            Assert.Contains("Destination", compare.Keys);
            Assert.Contains("RemoteFileResult", OutputTypes(cmdlets["Compare-FleetFile"].Type).Select(t => t.Name));
            var snapshotSets = Parameters(cmdlets["Get-FleetSnapshot"].Type).SelectMany(p => p.Property.GetCustomAttributesData()
                    .Where(a => a.AttributeType.Name == "ParameterAttribute")
                    .SelectMany(a => a.NamedArguments.Where(n => n.MemberName == "ParameterSetName").Select(n => (string)n.TypedValue.Value!)))
                .Distinct().OrderBy(s => s).ToArray();
            Assert.Equal(new[] { "Capture", "Id", "List" }, snapshotSets);
        }

        [Fact]
        public void Every_cmdlet_uses_an_approved_verb_and_a_Fleet_noun_and_is_named_for_them()
        {
            var breaches = new List<string>();
            foreach (var c in Cmdlets())
            {
                if (!ApprovedVerbs.Contains(c.Verb)) breaches.Add($"{c.Name}: '{c.Verb}' is not an approved verb (Get-Verb)");
                if (!c.Noun.StartsWith("Fleet", StringComparison.Ordinal)) breaches.Add($"{c.Name}: the noun must start with 'Fleet'");
                if (c.Type.Name != c.Verb + c.Noun + "Command") breaches.Add($"{c.Name}: class should be named {c.Verb}{c.Noun}Command, is {c.Type.Name}");
                if (c.Type.Namespace != "HerdPS.Commands") breaches.Add($"{c.Name}: cmdlets live in namespace HerdPS.Commands (Commands/<Verb><Noun>Command.cs)");
            }
            NoBreaches(breaches);
        }

        [Fact]
        public void Every_cmdlet_declares_output_types_that_exist()
        {
            var breaches = new List<string>();
            foreach (var c in Cmdlets())
            {
                var outputs = OutputTypes(c.Type);
                if (outputs.Count == 0) breaches.Add($"{c.Name}: no [OutputType]");
            }
            NoBreaches(breaches);
        }

        /// <summary>
        /// PowerShell resolves [HerdPS.FleetResult] and -is only against its default load context, where HerdPS.dll
        /// and HerdPS.Contracts.dll live; the engine lives in the module's own context. So every type a cmdlet writes
        /// or takes must come from one of those two (or from the framework and PowerShell), never from the engine.
        /// </summary>
        [Fact]
        public void Every_type_a_cmdlet_writes_or_takes_is_one_PowerShell_can_name()
        {
            var nameable = new HashSet<string>(StringComparer.Ordinal) { "HerdPS", "HerdPS.Contracts", "System.Management.Automation" };
            var breaches = new List<string>();
            void Check(string cmdlet, string what, Type type)
            {
                while (type.HasElementType) type = type.GetElementType()!;
                if (type.IsGenericType) foreach (var argument in type.GetGenericArguments()) Check(cmdlet, what, argument);
                var assembly = type.Assembly.GetName().Name!;
                if (assembly.StartsWith("HerdPS", StringComparison.Ordinal) && !nameable.Contains(assembly))
                    breaches.Add($"{cmdlet} {what}: {type.FullName} is in {assembly}, which PowerShell loads in isolation (move it to HerdPS.Contracts)");
            }
            foreach (var c in Cmdlets())
            {
                foreach (var output in OutputTypes(c.Type)) Check(c.Name, "writes", output);
                foreach (var property in c.Type.GetProperties().Where(p => p.GetCustomAttributesData().Any(a => a.AttributeType.Name == "ParameterAttribute")))
                    Check(c.Name, "-" + property.Name, property.PropertyType);
            }
            NoBreaches(breaches);
        }

        internal static List<Type> OutputTypes(Type cmdlet) =>
            cmdlet.GetCustomAttributesData().Where(a => a.AttributeType.FullName == "System.Management.Automation.OutputTypeAttribute")
                .SelectMany(a => a.ConstructorArguments.SelectMany(arg => arg.Value is IEnumerable<CustomAttributeTypedArgument> many ? many.Select(m => m.Value) : new[] { arg.Value }))
                .OfType<Type>()
                .ToList();

        /// <summary>
        /// Cmdlets that read the local history and touch no host: their input is run ids, not a host selection, so
        /// -Group/-Tag/-InventoryPath would be parameters that do nothing. Their results carry HostName for Where-Object.
        /// </summary>
        internal static readonly HashSet<string> CmdletsThatSelectNoHosts = new(StringComparer.Ordinal) { "Get-FleetHistory", "Compare-FleetHistory", "Get-FleetScript" };

        [Fact]
        public void Every_cmdlet_takes_HostName_from_the_pipeline_with_its_aliases_and_completer()
        {
            var breaches = new List<string>();
            foreach (var c in Cmdlets())
            {
                if (CmdletsThatSelectNoHosts.Contains(c.Name))
                {
                    // Named here one by one, so a cmdlet that addresses hosts can't skip the rule by accident.
                    if (Parameters(c.Type).Any(p => p.Name == "HostName") && !HistoryFilters.Contains(c.Name)) breaches.Add($"{c.Name}: listed as selecting no hosts, but has -HostName");
                    continue;
                }
                var host = Parameters(c.Type).SingleOrDefault(p => p.Name == "HostName");
                if (host == null) { breaches.Add($"{c.Name}: no -HostName parameter (derive from FleetCmdlet)"); continue; }
                if (!host.Named("ValueFromPipelineByPropertyName")) breaches.Add($"{c.Name}: -HostName must bind ValueFromPipelineByPropertyName");
                if (!host.Named("ValueFromPipeline")) breaches.Add($"{c.Name}: -HostName must bind ValueFromPipeline");
                foreach (var alias in new[] { "ComputerName", "Host" })
                    if (!host.Aliases.Contains(alias)) breaches.Add($"{c.Name}: -HostName lacks alias {alias}");
                if (host.Property.PropertyType.FullName != "System.String[]") breaches.Add($"{c.Name}: -HostName must be string[]");
                foreach (var p in Parameters(c.Type).Where(p => p.Name is "HostName" or "Group" or "Tag"))
                    if (!p.Has("ArgumentCompleterAttribute")) breaches.Add($"{c.Name}: -{p.Name} has no [ArgumentCompleter]");
            }
            NoBreaches(breaches);
        }

        [Fact]
        public void Cmdlets_that_change_state_support_ShouldProcess()
        {
            var breaches = Cmdlets().Where(c => StateChangingVerbs.Contains(c.Verb) && !c.SupportsShouldProcess)
                .Select(c => $"{c.Name}: '{c.Verb}' changes state; set SupportsShouldProcess = true").ToList();
            NoBreaches(breaches);
        }

        /// <summary>
        /// Cmdlets whose -HostName filters recorded runs ("what ran on web-03") rather than selecting hosts to contact, as
        /// herd history --host does: they select no live hosts, so the selection base classes are not theirs.
        /// </summary>
        private static readonly string[] HistoryFilters = { "Get-FleetHistory" };

        [Fact]
        public void Shared_parameters_are_declared_once_in_the_base_classes()
        {
            // Selection and connection parameters spelled in a cmdlet of its own would drift: they belong to FleetCmdlet /
            // FleetConnectionCmdlet, and -InventoryPath to FleetInventoryCmdlet (which Get-FleetScript, selecting no hosts, shares).
            var shared = new[] { "HostName", "Group", "Tag", "Exclude", "InventoryPath", "UserName", "KeyFilePath", "ThrottleLimit", "TimeoutSec", "ConnectTimeoutSec", "RetryCount", "AcceptNewHostKey" };
            var breaches = new List<string>();
            foreach (var c in Cmdlets())
                foreach (var p in Parameters(c.Type).Where(p => shared.Contains(p.Name)))
                    if (p.Property.DeclaringType!.Name is not ("FleetCmdlet" or "FleetConnectionCmdlet" or "FleetInventoryCmdlet") && !(p.Name == "HostName" && HistoryFilters.Contains(c.Name)))
                        breaches.Add($"{c.Name}: -{p.Name} is declared in {p.Property.DeclaringType.Name}; use the base class");
            NoBreaches(breaches);
        }

        [Fact]
        public void Manifest_exports_exactly_the_cmdlet_classes_and_names_its_files()
        {
            var psd1 = File.ReadAllText(ModuleFiles.Repo("HerdPS.psd1"));
            var exports = Regex.Match(psd1, @"CmdletsToExport\s*=\s*@\(([^)]*)\)").Groups[1].Value;
            var exported = Regex.Matches(exports, @"'([^']+)'").Select(m => m.Groups[1].Value).OrderBy(n => n, StringComparer.Ordinal).ToArray();
            Assert.DoesNotContain(exported, n => n.Contains('*'));
            Assert.Equal(Cmdlets().Select(c => c.Name).ToArray(), exported);
            Assert.Matches(@"RootModule\s*=\s*'HerdPS\.dll'", psd1);
            Assert.Matches(@"PowerShellVersion\s*=\s*'5\.1'", psd1);
            Assert.Matches(@"CompatiblePSEditions\s*=\s*@\('Desktop',\s*'Core'\)", psd1);
            Assert.Matches(@"FormatsToProcess\s*=\s*@\('HerdPS\.format\.ps1xml'\)", psd1);
            foreach (var wildcard in new[] { "FunctionsToExport", "VariablesToExport", "AliasesToExport" })
                Assert.Matches(wildcard + @"\s*=\s*@\(\)", psd1);
        }

        [Fact]
        public void Manifest_version_is_the_one_in_Directory_Build_props()
        {
            var props = XDocument.Load(ModuleFiles.Repo("Directory.Build.props"));
            var herdVersion = props.Descendants("HerdVersion").Single().Value;
            var psd1 = File.ReadAllText(ModuleFiles.Repo("HerdPS.psd1"));
            Assert.Equal(herdVersion, Regex.Match(psd1, @"ModuleVersion\s*=\s*'([^']+)'").Groups[1].Value);
            Assert.Equal(herdVersion, ModuleFiles.Version);
        }
    }
}
