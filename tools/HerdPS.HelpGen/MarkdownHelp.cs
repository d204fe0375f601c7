using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;

namespace HerdPS.HelpGen
{
    public sealed class HelpExample
    {
        public string Title = "";
        public string Code = "";
        public string Remarks = "";
    }

    public sealed class HelpParameter
    {
        public string Name = "";
        public string Description = "";
        public string Type = "";
        public List<string> ParameterSets = new();
        public List<string> Aliases = new();
        public bool Required;
        public string Position = "Named";
        public string DefaultValue = "None";
        public string PipelineInput = "False";
        public bool Wildcards;
    }

    public sealed class HelpTypeEntry
    {
        public string Type = "";
        public string Description = "";
    }

    /// <summary>One cmdlet's help page, as read from PlatyPS-schema markdown.</summary>
    public sealed class CommandHelp
    {
        public string Name = "";
        public string Synopsis = "";
        public string Description = "";
        /// <summary>Parameter set name -> the syntax line shown under it.</summary>
        public List<KeyValuePair<string, string>> Syntax = new();
        public List<HelpExample> Examples = new();
        public List<HelpParameter> Parameters = new();
        public bool CommonParameters;
        public List<HelpTypeEntry> Inputs = new();
        public List<HelpTypeEntry> Outputs = new();
        public string Notes = "";
        public List<string> Links = new();

        public string Verb => Name.Split('-')[0];
        public string Noun => Name.Substring(Name.IndexOf('-') + 1);
    }

    /// <summary>
    /// Reads PlatyPS markdown (schema 2.0.0): front matter, "# Name", then level-2 sections (SYNOPSIS, SYNTAX,
    /// DESCRIPTION, EXAMPLES, PARAMETERS, INPUTS, OUTPUTS, NOTES, RELATED LINKS) and level-3 entries. Anything it
    /// doesn't understand is an error with the file and line: silently dropping help would hide it from Get-Help.
    /// </summary>
    public static class MarkdownHelp
    {
        private static readonly string[] Sections = { "SYNOPSIS", "SYNTAX", "DESCRIPTION", "EXAMPLES", "PARAMETERS", "INPUTS", "OUTPUTS", "NOTES", "RELATED LINKS" };

        public static CommandHelp ParseFile(string path) => Parse(File.ReadAllText(path), path);

        public static CommandHelp Parse(string text, string source)
        {
            var lines = text.Replace("\r\n", "\n").Split('\n');
            var i = 0;
            if (lines.Length > 0 && lines[0] == "---")
            {
                i = 1;
                while (i < lines.Length && lines[i] != "---") i++;
                if (i == lines.Length) throw Error(source, 1, "front matter is not closed with ---");
                i++;
            }
            var help = new CommandHelp();
            string? section = null;
            var sectionLines = new Dictionary<string, List<(int line, string text)>>();
            for (; i < lines.Length; i++)
            {
                var line = lines[i];
                if (line.StartsWith("# ", StringComparison.Ordinal) && help.Name.Length == 0) { help.Name = line.Substring(2).Trim(); continue; }
                if (line.StartsWith("## ", StringComparison.Ordinal))
                {
                    section = line.Substring(3).Trim();
                    if (!Sections.Contains(section)) throw Error(source, i + 1, $"unknown section '## {section}' (expected one of {string.Join(", ", Sections)})");
                    if (sectionLines.ContainsKey(section)) throw Error(source, i + 1, $"section '## {section}' appears twice");
                    sectionLines[section] = new List<(int, string)>();
                    continue;
                }
                if (section == null)
                {
                    if (line.Trim().Length > 0) throw Error(source, i + 1, "text before the first ## section");
                    continue;
                }
                sectionLines[section].Add((i + 1, line));
            }
            if (help.Name.Length == 0 || !help.Name.Contains('-')) throw Error(source, 1, "missing '# Verb-Noun' title");
            foreach (var required in new[] { "SYNOPSIS", "SYNTAX", "DESCRIPTION", "EXAMPLES", "PARAMETERS", "INPUTS", "OUTPUTS" })
                if (!sectionLines.ContainsKey(required)) throw Error(source, 1, $"missing section '## {required}'");

            help.Synopsis = Prose(sectionLines["SYNOPSIS"]);
            help.Description = Prose(sectionLines["DESCRIPTION"]);
            if (sectionLines.TryGetValue("NOTES", out var notes)) help.Notes = Prose(notes);
            if (sectionLines.TryGetValue("RELATED LINKS", out var links))
                help.Links = links.Select(l => l.text.Trim()).Where(t => t.Length > 0).Select(t => Regex.Replace(t, @"^\[(.*?)\]\(.*?\)$", "$1")).ToList();

            foreach (var (title, body, line) in Subsections(sectionLines["SYNTAX"], source))
            {
                var code = CodeBlocks(body).FirstOrDefault();
                if (code.code == null) throw Error(source, line, $"syntax '{title}' has no code block");
                help.Syntax.Add(new KeyValuePair<string, string>(title, code.code.Trim()));
            }
            foreach (var (title, body, line) in Subsections(sectionLines["EXAMPLES"], source))
            {
                var blocks = CodeBlocks(body).ToList();
                if (blocks.Count == 0) throw Error(source, line, $"example '{title}' has no code block");
                var afterCode = body.SkipWhile(b => b.line <= blocks.Last().endLine).ToList();
                help.Examples.Add(new HelpExample { Title = title, Code = string.Join("\n\n", blocks.Select(b => b.code.TrimEnd())), Remarks = Prose(afterCode) });
            }
            foreach (var (title, body, line) in Subsections(sectionLines["PARAMETERS"], source))
            {
                if (title == "CommonParameters") { help.CommonParameters = true; continue; }
                if (!title.StartsWith("-", StringComparison.Ordinal)) throw Error(source, line, $"parameter heading '### {title}' must start with '-'");
                help.Parameters.Add(ParseParameter(title.Substring(1), body, source, line));
            }
            help.Inputs = TypeEntries(sectionLines["INPUTS"], source);
            help.Outputs = TypeEntries(sectionLines["OUTPUTS"], source);
            return help;
        }

        private static HelpParameter ParseParameter(string name, List<(int line, string text)> body, string source, int line)
        {
            var blocks = CodeBlocks(body).ToList();
            var yaml = blocks.FirstOrDefault(b => b.language == "yaml");
            if (yaml.code == null) throw Error(source, line, $"parameter -{name} has no ```yaml block");
            var p = new HelpParameter { Name = name, Description = Prose(body.TakeWhile(b => b.line < yaml.startLine).ToList()) };
            if (p.Description.Length == 0) throw Error(source, line, $"parameter -{name} has no description");
            var fields = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var raw in yaml.code.Split('\n'))
            {
                if (raw.Trim().Length == 0) continue;
                var colon = raw.IndexOf(':');
                if (colon < 0) throw Error(source, yaml.startLine, $"parameter -{name}: yaml line '{raw}' has no ':'");
                fields[raw.Substring(0, colon).Trim()] = raw.Substring(colon + 1).Trim();
            }
            string Field(string key) => fields.TryGetValue(key, out var v) ? v : throw Error(source, yaml.startLine, $"parameter -{name}: yaml lacks '{key}:'");
            p.Type = Field("Type");
            p.ParameterSets = Split(Field("Parameter Sets"));
            p.Aliases = Split(Field("Aliases"));
            p.Required = Bool(Field("Required"), name, source, yaml.startLine);
            p.Position = Field("Position");
            p.DefaultValue = Field("Default value");
            p.PipelineInput = Field("Accept pipeline input");
            p.Wildcards = Bool(Field("Accept wildcard characters"), name, source, yaml.startLine);
            return p;
        }

        private static List<string> Split(string value) =>
            value.Split(',').Select(s => s.Trim()).Where(s => s.Length > 0).ToList();

        private static bool Bool(string value, string name, string source, int line) => value switch
        {
            "True" => true,
            "False" => false,
            _ => throw Error(source, line, $"parameter -{name}: '{value}' is not True or False"),
        };

        private static List<HelpTypeEntry> TypeEntries(List<(int line, string text)> lines, string source) =>
            Subsections(lines, source).Select(s => new HelpTypeEntry { Type = s.title, Description = Prose(s.body) }).ToList();

        private static IEnumerable<(string title, List<(int line, string text)> body, int line)> Subsections(List<(int line, string text)> lines, string source)
        {
            string? title = null;
            var titleLine = 0;
            var body = new List<(int, string)>();
            foreach (var l in lines)
            {
                if (l.text.StartsWith("### ", StringComparison.Ordinal))
                {
                    if (title != null) yield return (title, body, titleLine);
                    title = l.text.Substring(4).Trim();
                    titleLine = l.line;
                    body = new List<(int, string)>();
                }
                else if (title != null) body.Add(l);
                else if (l.text.Trim().Length > 0) throw Error(source, l.line, "text before the first ### entry of a section");
            }
            if (title != null) yield return (title, body, titleLine);
        }

        private static IEnumerable<(string code, string language, int startLine, int endLine)> CodeBlocks(List<(int line, string text)> lines)
        {
            for (var i = 0; i < lines.Count; i++)
            {
                if (!lines[i].text.StartsWith("```", StringComparison.Ordinal)) continue;
                var language = lines[i].text.Substring(3).Trim();
                var start = lines[i].line;
                var code = new StringBuilder();
                i++;
                while (i < lines.Count && !lines[i].text.StartsWith("```", StringComparison.Ordinal)) { code.Append(lines[i].text).Append('\n'); i++; }
                yield return (code.ToString().TrimEnd('\n'), language, start, i < lines.Count ? lines[i].line : start);
            }
        }

        /// <summary>Paragraphs of plain text, code fences removed, blank-line separated, inner line breaks kept as spaces.</summary>
        internal static string Prose(List<(int line, string text)> lines)
        {
            var paragraphs = new List<string>();
            var current = new List<string>();
            var inCode = false;
            foreach (var (_, text) in lines)
            {
                if (text.StartsWith("```", StringComparison.Ordinal)) { inCode = !inCode; continue; }
                if (inCode) continue;
                if (text.Trim().Length == 0)
                {
                    if (current.Count > 0) { paragraphs.Add(string.Join(" ", current)); current.Clear(); }
                    continue;
                }
                current.Add(text.Trim());
            }
            if (current.Count > 0) paragraphs.Add(string.Join(" ", current));
            return string.Join("\n\n", paragraphs);
        }

        private static FormatException Error(string source, int line, string message) => new FormatException($"{source}:{line}: {message}");
    }
}
