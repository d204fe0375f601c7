using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using HerdPS.Scripting;
using Json.Schema;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace HerdPS.Tests.Scripting
{
    /// <summary>
    /// The JSON Schema docs/scripts.md gives editors must describe the scripts HerdPS reads: every built-in script and
    /// the format example of the page pass it, and a script the reader refuses for an unknown key fails it too.
    /// </summary>
    public class ScriptSchemaTests
    {
        private static string RepoRoot()
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir != null && !File.Exists(Path.Combine(dir.FullName, "HerdPS.psd1"))) dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("the repository root (with HerdPS.psd1) is not above " + AppContext.BaseDirectory);
        }

        private static string ScriptsPage() => File.ReadAllText(Path.Combine(RepoRoot(), "docs", "scripts.md"));

        /// <summary>The fenced block of <paramref name="language"/> that follows <paramref name="heading"/> on the page.</summary>
        private static string Block(string page, string heading, string language)
        {
            var at = page.IndexOf(heading + "\n", StringComparison.Ordinal);
            Assert.True(at >= 0, $"docs/scripts.md has no '{heading}'");
            var m = new Regex("```" + language + "\\n(.*?)\\n```", RegexOptions.Singleline).Match(page, at);
            Assert.True(m.Success, $"no ```{language} block after '{heading}'");
            return m.Groups[1].Value;
        }

        private static JsonSchema Schema() => JsonSchema.FromText(Block(ScriptsPage(), "## JSON Schema (for editors)", "json"));

        /// <summary>YAML as an editor's YAML extension hands it to the schema: plain scalars typed as YAML 1.2 types them.</summary>
        private static JsonNode? ToJson(YamlNode node)
        {
            switch (node)
            {
                case YamlMappingNode map:
                    var obj = new JsonObject();
                    foreach (var pair in map.Children) obj[((YamlScalarNode)pair.Key).Value!] = ToJson(pair.Value);
                    return obj;
                case YamlSequenceNode seq:
                    return new JsonArray(seq.Children.Select(ToJson).ToArray());
                case YamlScalarNode scalar:
                    var text = scalar.Value ?? "";
                    if (scalar.Style != ScalarStyle.Plain) return JsonValue.Create(text);
                    if (text is "" or "~" or "null") return null;
                    if (text is "true" or "false") return JsonValue.Create(text == "true");
                    if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)) return JsonValue.Create(l);
                    if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)) return JsonValue.Create(d);
                    return JsonValue.Create(text);
                default:
                    throw new NotSupportedException(node.GetType().Name);
            }
        }

        private static JsonNode? Parse(string yaml)
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(yaml));
            return ToJson(stream.Documents[0].RootNode);
        }

        private static IEnumerable<string> Problems(JsonSchema schema, string yaml)
        {
            var instance = System.Text.Json.JsonSerializer.SerializeToElement(Parse(yaml));
            var result = schema.Evaluate(instance, new EvaluationOptions { OutputFormat = OutputFormat.List });
            if (result.IsValid) return Array.Empty<string>();
            return (result.Details ?? new List<EvaluationResults>()).Where(d => d.Errors != null)
                .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Key}: {e.Value}")).DefaultIfEmpty("invalid");
        }

        private static string BuiltInText(string name)
        {
            using var stream = typeof(ScriptCatalog).Assembly.GetManifestResourceStream("HerdPS.Scripting.BuiltIn." + name + ".yaml")!;
            return new StreamReader(stream).ReadToEnd();
        }

        [Fact]
        public void Every_built_in_script_passes_the_documented_schema()
        {
            var schema = Schema();
            Assert.NotEmpty(ScriptCatalog.BuiltInNames);
            foreach (var name in ScriptCatalog.BuiltInNames)
            {
                var problems = Problems(schema, BuiltInText(name)).ToList();
                Assert.True(problems.Count == 0, $"built-in {name} fails the schema in docs/scripts.md:\n" + string.Join("\n", problems));
            }
        }

        [Fact]
        public void The_format_example_reads_and_passes_the_schema_and_an_unknown_key_fails_both()
        {
            var example = Block(ScriptsPage(), "## The format", "yaml");
            FleetScriptReader.Read(example, "docs/scripts.md", ScriptOrigin.File); // the reader takes it as it is
            Assert.Empty(Problems(Schema(), example));

            const string misspelt = "steps:\n  - run: echo\n    retires: 3\n";
            Assert.Throws<ScriptException>(() => FleetScriptReader.Read(misspelt, "s.yaml", ScriptOrigin.File));
            Assert.NotEmpty(Problems(Schema(), misspelt));
        }
    }
}
