using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Xml.Linq;
using HerdPS.Execution;
using HerdPS.HelpGen;

namespace HerdPS.Module.Tests
{
    public class HelpTests
    {
        private static readonly XNamespace Maml = "http://schemas.microsoft.com/maml/2004/10";
        private static readonly XNamespace Command = "http://schemas.microsoft.com/maml/dev/command/2004/10";
        private static readonly XNamespace Dev = "http://schemas.microsoft.com/maml/dev/2004/10";

        private static Dictionary<string, XElement> MamlCommands(string path) =>
            XDocument.Load(path).Root!.Elements(Command + "command")
                .ToDictionary(c => c.Element(Command + "details")!.Element(Command + "name")!.Value, StringComparer.Ordinal);

        [Fact]
        public void Committed_help_is_what_the_generator_makes_from_docs()
        {
            // PlatyPS can't run here: this is what keeps en-US/ in step with docs/*.md.
            foreach (var (relative, content) in HelpBuild.Generate(ModuleFiles.RepoRoot))
            {
                var path = ModuleFiles.Repo(relative);
                Assert.True(File.Exists(path), $"{relative} missing: run dotnet run --project tools/HerdPS.HelpGen");
                Assert.True(File.ReadAllText(path) == content, $"{relative} is out of date with docs/: run dotnet run --project tools/HerdPS.HelpGen");
            }
        }

        [Fact]
        public void Every_cmdlet_has_a_docs_page_and_a_MAML_entry_with_synopsis_description_and_two_examples()
        {
            var maml = MamlCommands(ModuleFiles.Repo(HelpBuild.MamlPath));
            var breaches = new List<string>();
            foreach (var c in CmdletContractTests.Cmdlets())
            {
                if (!File.Exists(ModuleFiles.Repo($"docs/{c.Name}.md"))) breaches.Add($"{c.Name}: no docs/{c.Name}.md");
                if (!maml.TryGetValue(c.Name, out var entry)) { breaches.Add($"{c.Name}: no MAML entry"); continue; }
                var synopsis = entry.Element(Command + "details")!.Element(Maml + "description")!.Value.Trim();
                if (synopsis.Length < 10) breaches.Add($"{c.Name}: synopsis is empty or too short");
                if (entry.Element(Maml + "description")!.Value.Trim().Length < 20) breaches.Add($"{c.Name}: description is empty");
                var examples = entry.Element(Command + "examples")!.Elements(Command + "example").ToList();
                if (examples.Count < 2) breaches.Add($"{c.Name}: {examples.Count} example(s), at least 2 needed");
                foreach (var e in examples)
                    if (!e.Element(Dev + "code")!.Value.Contains(c.Name, StringComparison.Ordinal)) breaches.Add($"{c.Name}: example '{e.Element(Maml + "title")!.Value.Trim(' ', '-')}' doesn't use the cmdlet");
                if (!entry.Element(Command + "returnValues")!.Elements().Any()) breaches.Add($"{c.Name}: no OUTPUTS");
                if (!entry.Element(Command + "inputTypes")!.Elements().Any()) breaches.Add($"{c.Name}: no INPUTS");
            }
            foreach (var extra in maml.Keys.Except(CmdletContractTests.Cmdlets().Select(c => c.Name)))
                breaches.Add($"{extra}: MAML entry for a cmdlet that doesn't exist");
            Assert.True(breaches.Count == 0, string.Join(Environment.NewLine, breaches));
        }

        [Fact]
        public void Every_parameter_has_a_help_entry_of_its_type_and_no_help_entry_lacks_a_parameter()
        {
            var maml = MamlCommands(ModuleFiles.Repo(HelpBuild.MamlPath));
            var breaches = new List<string>();
            foreach (var c in CmdletContractTests.Cmdlets())
            {
                if (!maml.TryGetValue(c.Name, out var entry)) { breaches.Add($"{c.Name}: no MAML entry"); continue; }
                var help = entry.Element(Command + "parameters")!.Elements(Command + "parameter")
                    .ToDictionary(p => p.Element(Maml + "name")!.Value, StringComparer.Ordinal);
                var code = CmdletContractTests.Parameters(c.Type).ToDictionary(p => p.Name, StringComparer.Ordinal);
                foreach (var name in CmdletContractTests.HelpParameterNames(c))
                {
                    if (!help.TryGetValue(name, out var h)) { breaches.Add($"{c.Name}: -{name} has no help entry (docs/{c.Name}.md ## PARAMETERS)"); continue; }
                    if (h.Element(Maml + "description")!.Value.Trim().Length < 10) breaches.Add($"{c.Name}: -{name} has no description");
                    if (!code.TryGetValue(name, out var p)) continue;
                    var expectedType = p.Property.PropertyType.Name;
                    var helpType = h.Element(Dev + "type")!.Element(Maml + "name")!.Value;
                    if (helpType != expectedType) breaches.Add($"{c.Name}: -{name} is {expectedType}, help says {helpType}");
                    var mandatory = p.Named("Mandatory");
                    if ((h.Attribute("required")!.Value == "true") != mandatory) breaches.Add($"{c.Name}: -{name} Mandatory={mandatory} disagrees with help");
                    var pipeline = p.Named("ValueFromPipeline") || p.Named("ValueFromPipelineByPropertyName");
                    if (h.Attribute("pipelineInput")!.Value.StartsWith("True", StringComparison.Ordinal) != pipeline) breaches.Add($"{c.Name}: -{name} pipeline input disagrees with help");
                    foreach (var alias in p.Aliases)
                        if (!h.Attribute("aliases")!.Value.Split(',').Select(a => a.Trim()).Contains(alias)) breaches.Add($"{c.Name}: -{name} alias {alias} missing from help");
                    if (p.Has("SupportsWildcardsAttribute") != (h.Attribute("globbing")!.Value == "true")) breaches.Add($"{c.Name}: -{name} wildcard support disagrees with help");
                }
                foreach (var extra in help.Keys.Except(CmdletContractTests.HelpParameterNames(c)))
                    breaches.Add($"{c.Name}: help documents -{extra}, which the cmdlet doesn't have");
            }
            Assert.True(breaches.Count == 0, string.Join(Environment.NewLine, breaches));
        }

        [Fact]
        public void About_topic_is_generated_and_names_every_cmdlet()
        {
            var about = File.ReadAllText(ModuleFiles.Repo("en-US/about_HerdPS.help.txt"));
            foreach (var c in CmdletContractTests.Cmdlets()) Assert.Contains(c.Name, about);
        }
    }

    public class FormatTests
    {
        private static XDocument Formats => XDocument.Load(ModuleFiles.Repo("src/HerdPS/HerdPS.format.ps1xml"));

        private static Type? Find(string fullName) =>
            ModuleFiles.Module.GetType(fullName) ?? ModuleFiles.Contracts.GetType(fullName);

        [Fact]
        public void Every_view_names_a_real_type_and_real_properties()
        {
            var breaches = new List<string>();
            foreach (var view in Formats.Descendants("View"))
            {
                var typeName = view.Element("ViewSelectedBy")!.Element("TypeName")!.Value;
                var type = Find(typeName);
                if (type == null) { breaches.Add($"view {view.Element("Name")!.Value}: no type {typeName} in HerdPS.dll or HerdPS.Contracts.dll (the types PowerShell can name)"); continue; }
                foreach (var property in view.Descendants("PropertyName").Select(p => p.Value))
                    if (type.GetProperty(property) == null) breaches.Add($"view {view.Element("Name")!.Value}: {typeName} has no property {property}");
                foreach (var label in view.Descendants("TableColumnHeader").Select(h => h.Element("Label")?.Value))
                    if (label == null) breaches.Add($"view {view.Element("Name")!.Value}: a column without a label");
            }
            Assert.True(breaches.Count == 0, string.Join(Environment.NewLine, breaches));
        }

        [Fact]
        public void FleetResult_has_a_table_view_and_a_list_view()
        {
            var controls = Formats.Descendants("View").Where(v => v.Element("ViewSelectedBy")!.Element("TypeName")!.Value == "HerdPS.FleetResult")
                .Select(v => v.Elements().Last().Name.LocalName).ToArray();
            Assert.Contains("TableControl", controls);
            Assert.Contains("ListControl", controls);
            Assert.Equal("HerdPS.FleetResult", typeof(FleetResult).FullName);
        }

        [Fact]
        public void Every_output_type_of_HerdPS_has_a_view()
        {
            var viewed = Formats.Descendants("TypeName").Select(t => t.Value).ToHashSet(StringComparer.Ordinal);
            var breaches = new List<string>();
            foreach (var c in CmdletContractTests.Cmdlets())
                foreach (var t in CmdletContractTests.OutputTypes(c.Type))
                {
                    // Types deriving from PowerShell's own (jobs) use PowerShell's views.
                    if (InheritsFromSma(t)) continue;
                    if (!viewed.Contains(t.FullName!)) breaches.Add($"{c.Name}: output type {t.FullName} has no view in HerdPS.format.ps1xml");
                }
            Assert.True(breaches.Count == 0, string.Join(Environment.NewLine, breaches));
        }

        private static bool InheritsFromSma(Type t)
        {
            for (var b = t.BaseType; b != null; b = b.BaseType)
                if (b.Assembly.GetName().Name == "System.Management.Automation") return true;
            return false;
        }
    }

    public class ErrorCategoryTests
    {
        [Fact]
        public void Every_category_the_engine_names_is_a_member_of_ErrorCategory()
        {
            var members = ModuleFiles.SmaType("ErrorCategory").GetFields(BindingFlags.Public | BindingFlags.Static).Select(f => f.Name).ToHashSet();
            var produced = new HashSet<string>(FleetErrorRecords.CategoryNames);
            foreach (FleetStatus status in Enum.GetValues(typeof(FleetStatus)))
                foreach (FleetErrorKind kind in Enum.GetValues(typeof(FleetErrorKind)))
                    if (FleetErrorRecords.ForResult(new FleetResult { HostName = "h", Status = status, ErrorKind = kind }) is { } info)
                        produced.Add(info.CategoryName);
            foreach (Files.RemoteFileStatus status in Enum.GetValues(typeof(Files.RemoteFileStatus)))
                if (FleetErrorRecords.ForFile(new Files.RemoteFileResult { HostName = "h", Status = status }) is { } info) produced.Add(info.CategoryName);
            foreach (Files.FileTransferStatus status in Enum.GetValues(typeof(Files.FileTransferStatus)))
                foreach (Files.FileTransferDirection direction in Enum.GetValues(typeof(Files.FileTransferDirection)))
                    if (FleetErrorRecords.ForTransfer(new Files.FileTransferResult { HostName = "h", Status = status, Direction = direction }) is { } info) produced.Add(info.CategoryName);
            foreach (Files.SnapshotHostStatus status in Enum.GetValues(typeof(Files.SnapshotHostStatus)))
                if (FleetErrorRecords.ForSnapshotHost(new Files.HostSnapshot { HostName = "h", Status = status }) is { } info) produced.Add(info.CategoryName);
            foreach (var e in new Exception[] { new History.SnapshotNotFoundException(1, "h.db"), new System.IO.FileNotFoundException("x", "f") })
                produced.Add(FleetErrorRecords.ForException(e).CategoryName);
                        foreach (var e in new Exception[] { new Inventory.InventoryException("x"), new Selection.SelectionException("x"), new ArgumentException("x"), new FormatException(), new OperationCanceledException(), new InvalidOperationException(),
                new History.HistoryRunNotFoundException(1, "h.db"), new History.HistoryException("h.db", "x") })
                produced.Add(FleetErrorRecords.ForException(e).CategoryName);
            foreach (var name in produced) Assert.Contains(name, members);
            Assert.Superset(produced, new HashSet<string>(FleetErrorRecords.CategoryNames));
        }
    }
}
