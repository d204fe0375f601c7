using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Xml.Linq;

namespace HerdPS.HelpGen
{
    /// <summary>Writes MAML (the format Get-Help reads from &lt;module&gt;/en-US/&lt;dll&gt;-Help.xml) the way PlatyPS lays it out.</summary>
    public static class MamlWriter
    {
        private static readonly XNamespace Msh = "http://msh";
        private static readonly XNamespace Maml = "http://schemas.microsoft.com/maml/2004/10";
        private static readonly XNamespace Command = "http://schemas.microsoft.com/maml/dev/command/2004/10";
        private static readonly XNamespace Dev = "http://schemas.microsoft.com/maml/dev/2004/10";
        private static readonly XNamespace MsHelp = "http://msdn.microsoft.com/mshelp";

        public static string Write(IEnumerable<CommandHelp> commands)
        {
            var root = new XElement(Msh + "helpItems", new XAttribute("schema", "maml"),
                commands.OrderBy(c => c.Name, StringComparer.Ordinal).Select(CommandElement));
            var doc = new XDocument(new XDeclaration("1.0", "utf-8", null), root);
            var sb = new StringBuilder();
            using (var writer = new Utf8StringWriter(sb)) doc.Save(writer);
            return sb.ToString().Replace("\r\n", "\n") + "\n";
        }

        private static XElement CommandElement(CommandHelp c)
        {
            var parametersByName = c.Parameters.ToDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);
            return new XElement(Command + "command",
                new XAttribute(XNamespace.Xmlns + "maml", Maml),
                new XAttribute(XNamespace.Xmlns + "command", Command),
                new XAttribute(XNamespace.Xmlns + "dev", Dev),
                new XAttribute(XNamespace.Xmlns + "MSHelp", MsHelp),
                new XElement(Command + "details",
                    new XElement(Command + "name", c.Name),
                    new XElement(Command + "verb", c.Verb),
                    new XElement(Command + "noun", c.Noun),
                    new XElement(Maml + "description", Paras(c.Synopsis))),
                new XElement(Maml + "description", Paras(c.Description)),
                new XElement(Command + "syntax", c.Syntax.Select(s => new XElement(Command + "syntaxItem",
                    new XElement(Maml + "name", c.Name),
                    c.Parameters.Where(p => InSet(p, s.Key)).Select(p => ParameterElement(p, s.Key))))),
                new XElement(Command + "parameters", c.Parameters.Select(p => ParameterElement(p, null))),
                new XElement(Command + "inputTypes", c.Inputs.Select(t => new XElement(Command + "inputType", TypeElement(t.Type), new XElement(Maml + "description", Paras(t.Description))))),
                new XElement(Command + "returnValues", c.Outputs.Select(t => new XElement(Command + "returnValue", TypeElement(t.Type), new XElement(Maml + "description", Paras(t.Description))))),
                new XElement(Maml + "alertSet", new XElement(Maml + "alert", Paras(c.Notes))),
                new XElement(Command + "examples", c.Examples.Select(e => new XElement(Command + "example",
                    new XElement(Maml + "title", $"-------------------------- {e.Title} --------------------------"),
                    new XElement(Dev + "code", e.Code),
                    new XElement(Dev + "remarks", Paras(e.Remarks))))),
                new XElement(Command + "relatedLinks", c.Links.Select(l => new XElement(Maml + "navigationLink",
                    new XElement(Maml + "linkText", l), new XElement(Maml + "uri")))));
        }

        private static bool InSet(HelpParameter p, string set) =>
            p.ParameterSets.Contains("(All)") || p.ParameterSets.Contains(set) || set == "__AllParameterSets";

        private static XElement ParameterElement(HelpParameter p, string? set)
        {
            var isSwitch = p.Type == "SwitchParameter";
            return new XElement(Command + "parameter",
                new XAttribute("required", p.Required ? "true" : "false"),
                new XAttribute("variableLength", "true"),
                new XAttribute("globbing", p.Wildcards ? "true" : "false"),
                new XAttribute("pipelineInput", p.PipelineInput),
                new XAttribute("position", p.Position.Equals("Named", StringComparison.OrdinalIgnoreCase) ? "named" : p.Position),
                new XAttribute("aliases", p.Aliases.Count == 0 ? "none" : string.Join(", ", p.Aliases)),
                new XElement(Maml + "name", p.Name),
                new XElement(Maml + "description", Paras(p.Description)),
                isSwitch ? null : new XElement(Command + "parameterValue", new XAttribute("required", "true"), new XAttribute("variableLength", "false"), p.Type),
                TypeElement(p.Type),
                new XElement(Dev + "defaultValue", p.DefaultValue));
        }

        private static XElement TypeElement(string type) =>
            new XElement(Dev + "type", new XElement(Maml + "name", type), new XElement(Maml + "uri"));

        private static IEnumerable<XElement> Paras(string text)
        {
            var paras = text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
            if (paras.Length == 0) return new[] { new XElement(Maml + "para") };
            return paras.Select(p => new XElement(Maml + "para", p));
        }

        private sealed class Utf8StringWriter : System.IO.StringWriter
        {
            public Utf8StringWriter(StringBuilder sb) : base(sb, System.Globalization.CultureInfo.InvariantCulture) { }
            public override Encoding Encoding => new UTF8Encoding(false);
        }
    }

    /// <summary>about_*.md to about_*.help.txt: the text Get-Help about_X shows, headings upper-cased, body indented.</summary>
    public static class AboutTopicWriter
    {
        public static string Write(string markdown)
        {
            var lines = markdown.Replace("\r\n", "\n").Split('\n').ToList();
            if (lines.Count > 0 && lines[0] == "---")
            {
                var end = lines.IndexOf("---", 1);
                lines = lines.Skip(end + 1).ToList();
            }
            var sb = new StringBuilder();
            var inCode = false;
            foreach (var line in lines)
            {
                // The doc-example test's markers (docs/building.md) are for the tests, not for Get-Help readers.
                if (!inCode && line.TrimStart().StartsWith("<!-- example:", StringComparison.Ordinal)) continue;
                if (line.StartsWith("```", StringComparison.Ordinal)) { inCode = !inCode; continue; }
                if (!inCode && line.StartsWith("# ", StringComparison.Ordinal)) { sb.Append("TOPIC\n    ").Append(line.Substring(2).Trim().ToLowerInvariant()).Append('\n'); continue; }
                if (!inCode && line.StartsWith("## ", StringComparison.Ordinal)) { sb.Append(line.Substring(3).Trim().ToUpperInvariant()).Append('\n'); continue; }
                if (!inCode && line.StartsWith("### ", StringComparison.Ordinal)) { sb.Append("  ").Append(line.Substring(4).Trim()).Append('\n'); continue; }
                sb.Append(line.Length == 0 ? "" : (inCode ? "        " : "    ") + line).Append('\n');
            }
            return sb.ToString().TrimEnd('\n') + "\n";
        }
    }
}
