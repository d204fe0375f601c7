using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using HerdPS.Display;

namespace HerdPS.Cli
{
    /// <summary>Parsed fields as JSON: numbers as numbers, lists as arrays.</summary>
    internal static class ParsedJson
    {
        public static void Write(Utf8JsonWriter w, IDictionary<string, object?> parsed)
        {
            w.WriteStartObject();
            foreach (var kv in parsed)
            {
                w.WritePropertyName(kv.Key);
                WriteValue(w, kv.Value);
            }
            w.WriteEndObject();
        }

        private static void WriteValue(Utf8JsonWriter w, object? v)
        {
            switch (v)
            {
                case null: w.WriteNullValue(); break;
                case long l: w.WriteNumberValue(l); break;
                case double d: w.WriteNumberValue(d); break;
                case bool b: w.WriteBooleanValue(b); break;
                case string s: w.WriteStringValue(s); break;
                case System.Collections.IEnumerable e:
                    w.WriteStartArray();
                    foreach (var item in e) WriteValue(w, item);
                    w.WriteEndArray();
                    break;
                default: w.WriteStringValue(Convert.ToString(v, CultureInfo.InvariantCulture)); break;
            }
        }
    }

    /// <summary>Parsed fields as text: one line per host, <c>name=value</c> pairs, made safe for a terminal.</summary>
    internal static class ParsedText
    {
        public static string Fields(IEnumerable<KeyValuePair<string, object?>> parsed) =>
            TerminalText.Line(string.Join(", ", parsed.Select(kv => $"{kv.Key}={Value(kv.Value)}")));

        /// <summary>After herd exec's grouped view: what --parse made of each host's output, hosts in name order.</summary>
        public static void Render(string parser, IReadOnlyList<(string Host, Dictionary<string, object?> Fields)> hosts, TextWriter o)
        {
            if (hosts.Count == 0) return;
            o.WriteLine($"parsed ({TerminalText.Line(parser)}):");
            foreach (var (host, fields) in hosts.OrderBy(h => h.Host, StringComparer.Ordinal))
                o.WriteLine($" {TerminalText.Line(host)}: " + (fields.Count == 0 ? "(no fields in this output)" : Fields(fields)));
            o.WriteLine();
        }

        private static string Value(object? v) =>
            v is System.Collections.IEnumerable e && !(v is string) ? string.Join(" ", e.Cast<object>()) : Convert.ToString(v, CultureInfo.InvariantCulture) ?? "";
    }
}
