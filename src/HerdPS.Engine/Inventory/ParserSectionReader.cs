using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text.RegularExpressions;
using HerdPS.Parsing;
using YamlDotNet.RepresentationModel;

namespace HerdPS.Inventory
{
    /// <summary>
    /// An inventory's <c>parsers:</c> section (herd's config.yaml): each parser a list of <c>extract:</c> fields, a
    /// <c>field</c> with a regular expression <c>pattern</c> whose first group is the value, or a <c>column</c>. The
    /// parsers themselves live in Parsing/; this reads the YAML, with file:line:column errors.
    /// </summary>
    internal static class ParserSectionReader
    {
        /// <summary>Reads an inventory's <c>parsers:</c> section. Errors carry file:line:column.</summary>
        public static Dictionary<string, OutputParser> Read(YamlNode? node, string file)
        {
            var parsers = new Dictionary<string, OutputParser>(StringComparer.Ordinal);
            if (node == null || node is YamlScalarNode s && string.IsNullOrEmpty(s.Value)) return parsers;
            var mapping = node as YamlMappingNode ?? throw Error("'parsers' must be a mapping of parser names to { extract: [...] }", file, node);
            foreach (var pair in mapping.Children)
            {
                var name = (pair.Key as YamlScalarNode)?.Value ?? throw Error("a parser name must be a plain name", file, pair.Key);
                if (!Regex.IsMatch(name, @"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")) throw Error($"parser name '{QuotedText.Of(name)}' may use letters, digits, '.', '_' and '-' only", file, pair.Key);
                var body = pair.Value as YamlMappingNode ?? throw Error($"parser '{name}' must be a mapping with extract: (a list of fields)", file, pair.Value);
                var fields = new List<OutputParser.ExtractRule>();
                string? description = null;
                foreach (var entry in body.Children)
                {
                    var key = (entry.Key as YamlScalarNode)?.Value;
                    if (key == "description") { description = (entry.Value as YamlScalarNode)?.Value; continue; }
                    if (key != "extract") throw Error($"unknown key '{QuotedText.Of(key ?? "")}' in parser '{name}'; allowed keys are extract, description", file, entry.Key);
                    var list = entry.Value as YamlSequenceNode ?? throw Error("'extract' must be a list of { field, pattern } or { field, column }", file, entry.Value);
                    foreach (var item in list.Children)
                        fields.Add(ReadField(item, file, name));
                }
                if (fields.Count == 0) throw Error($"parser '{name}' has no extract: fields", file, pair.Key);
                parsers[name] = OutputParser.Custom(name, description, fields);
            }
            return parsers;
        }

        private static OutputParser.ExtractRule ReadField(YamlNode item, string file, string parser)
        {
            var map = item as YamlMappingNode ?? throw Error("each extract entry is a mapping with field: and pattern: or column:", file, item);
            string? field = null;
            Regex? pattern = null;
            int? column = null;
            foreach (var entry in map.Children)
            {
                var key = (entry.Key as YamlScalarNode)?.Value;
                var value = (entry.Value as YamlScalarNode)?.Value ?? throw Error($"'{key}' must be a single value", file, entry.Value);
                switch (key)
                {
                    case "field": field = value; break;
                    case "pattern":
                        try { pattern = OutputParser.Pattern(value); }
                        catch (ArgumentException e) { throw Error($"pattern: {e.Message}", file, entry.Value); }
                        if (pattern.GetGroupNumbers().Length < 2) throw Error("pattern: needs a group ( ... ) whose match is the value", file, entry.Value);
                        break;
                    case "column":
                        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var c) || c < 1) throw Error($"column must be a whole number from 1, not '{QuotedText.Of(value)}'", file, entry.Value);
                        column = c;
                        break;
                    default: throw Error($"unknown key '{QuotedText.Of(key ?? "")}' in an extract entry of parser '{parser}'; allowed keys are field, pattern, column", file, entry.Key);
                }
            }
            if (string.IsNullOrEmpty(field)) throw Error("an extract entry needs field: (the name of the value)", file, item);
            if (pattern == null && column == null) throw Error($"field '{field}' needs pattern: or column:", file, item);
            return new OutputParser.ExtractRule(field!, pattern, column);
        }

        private static InventoryException Error(string message, string file, YamlNode node) =>
            new InventoryException(message, file, (int)node.Start.Line, (int)node.Start.Column);
    }
}
