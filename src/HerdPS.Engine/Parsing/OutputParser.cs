using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.RegularExpressions;

namespace HerdPS.Parsing
{
    /// <summary>
    /// Turns a command's output into named fields (herd's parsers): the built-ins <c>disk</c> (df), <c>free</c> and
    /// <c>uptime</c>, and custom ones from an inventory's <c>parsers:</c> section (see <see cref="Custom"/>), each a list of fields taken by a
    /// regular expression's first group or by a whitespace column. Numbers come out as numbers, so results sort by them.
    /// A parser never fails a run: output it can't read gives no fields (and <c>parseError</c> says why).
    /// </summary>
    public sealed class OutputParser
    {
        /// <summary>One field of a custom parser: taken by <see cref="Pattern"/>'s first group, or the whitespace <see cref="Column"/> (of the pattern's line when both are given, else of the first line).</summary>
        public sealed class ExtractRule
        {
            public ExtractRule(string field, Regex? pattern, int? column)
            {
                Field = field;
                Pattern = pattern;
                Column = column;
            }

            public string Field { get; }
            public Regex? Pattern { get; }
            public int? Column { get; }
        }

        private static readonly TimeSpan RegexTimeout = TimeSpan.FromSeconds(1);
        private readonly Func<string, Dictionary<string, object?>> _parse;

        private OutputParser(string name, string description, Func<string, Dictionary<string, object?>> parse)
        {
            Name = name;
            Description = description;
            _parse = parse;
        }

        public string Name { get; }
        public string Description { get; }

        /// <summary>The fields of <paramref name="output"/>; empty when the output has none of them.</summary>
        public Dictionary<string, object?> Parse(string output)
        {
            try { return _parse(output ?? ""); }
            catch (RegexMatchTimeoutException) { return new Dictionary<string, object?> { ["parseError"] = $"parser '{Name}': a pattern took too long on this output" }; }
        }

        public static readonly IReadOnlyList<OutputParser> BuiltIns = new[]
        {
            new OutputParser("disk", "df output (df -P / or df -h /): Filesystem, Size, Used, Available, UsePercent, MountedOn of the last line", ParseDisk),
            new OutputParser("free", "free output (free -m): Total, Used, Free, Shared, BuffCache, Available of the Mem: line, and UsePercent", ParseFree),
            new OutputParser("uptime", "uptime output: Uptime, Users, Load1, Load5, Load15", ParseUptime),
            new OutputParser("os-release", "KEY=value lines (/etc/os-release): Id, VersionId, PrettyName, Kernel, ...", ParseKeyValues),
            new OutputParser("failed-units", "one systemd unit per line: Count and Units", output => ParseList(output, "Units")),
            new OutputParser("package-list", "one package per line: Count and Packages", output => ParseList(output, "Packages")),
        };

        /// <summary>A name as an error shows it: one line, safe for a terminal, cut when long.</summary>
        private static string Shown(string name) => Display.TerminalText.Line(name.Length > 100 ? name.Substring(0, 80) + "..." : name);

        private static Dictionary<string, object?> ParseKeyValues(string output)
        {
            var result = new Dictionary<string, object?>(StringComparer.Ordinal);
            foreach (var raw in output.Split('\n'))
            {
                var line = raw.TrimEnd('\r');
                int eq = line.IndexOf('=');
                if (eq <= 0) continue;
                // ID=debian, VERSION_ID="12", PRETTY_NAME=... become Id, VersionId, PrettyName.
                var name = string.Concat(line.Substring(0, eq).Split('_').Select(w => w.Length == 0 ? "" : char.ToUpperInvariant(w[0]) + w.Substring(1).ToLowerInvariant()));
                result[name] = line.Substring(eq + 1).Trim().Trim('"');
            }
            return result;
        }

        private static Dictionary<string, object?> ParseList(string output, string field)
        {
            var items = output.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToList();
            return new Dictionary<string, object?>(StringComparer.Ordinal) { ["Count"] = (long)items.Count, [field] = items };
        }

        /// <summary>
        /// The parser named <paramref name="name"/>: one of the inventory's (they may shadow a built-in), else a built-in.
        /// Throws <see cref="ArgumentException"/> naming the parsers there are.
        /// </summary>
        public static OutputParser Find(string name, IReadOnlyDictionary<string, OutputParser>? custom)
        {
            if (custom != null && custom.TryGetValue(name, out var mine)) return mine;
            var builtIn = BuiltIns.FirstOrDefault(p => p.Name == name);
            if (builtIn != null) return builtIn;
            var known = Names(custom);
            throw new ArgumentException($"no parser named '{Shown(name)}' (parsers: {string.Join(", ", known)})");
        }

        /// <summary>Every parser a run can name: the built-ins, then the inventory's own (for tab completion and errors).</summary>
        public static IEnumerable<string> Names(IReadOnlyDictionary<string, OutputParser>? custom) =>
            BuiltIns.Select(p => p.Name).Concat(custom?.Keys ?? Enumerable.Empty<string>()).Distinct();

        /// <summary>
        /// The parser a command run names (<c>herd exec --parse</c>, <c>Invoke-FleetCommand -Parser</c>), found before any
        /// host is touched: an unknown name throws <see cref="ArgumentException"/> with <paramref name="option"/> and
        /// the parsers there are.
        /// </summary>
        public static OutputParser ForRun(string name, IReadOnlyDictionary<string, OutputParser>? custom, string option)
        {
            try { return Find(name, custom); }
            catch (ArgumentException e) { throw new ArgumentException($"{option}: {e.Message}", e); }
        }

        /// <summary>
        /// A parser of the inventory's <c>parsers:</c> section (read by the inventory's reader, which owns the YAML and
        /// its file:line:column errors): each rule's field taken by a pattern's first group or by a whitespace column.
        /// </summary>
        public static OutputParser Custom(string name, string? description, IReadOnlyList<ExtractRule> rules)
        {
            if (rules == null || rules.Count == 0) throw new ArgumentException($"parser '{name}' has no fields");
            var fields = rules.Select(r => (r.Field, r.Pattern, r.Column)).ToList();
            return new OutputParser(name, description ?? "custom parser", output => ParseCustom(output, fields));
        }

        /// <summary>
        /// A regular expression with the time limit every parser pattern gets (one pathological output can't stall a
        /// run). Throws <see cref="ArgumentException"/> for a pattern that doesn't compile.
        /// </summary>
        public static Regex Pattern(string pattern) => new Regex(pattern, RegexOptions.Multiline | RegexOptions.CultureInvariant, RegexTimeout);

        private static Dictionary<string, object?> ParseCustom(string output, List<(string Field, Regex? Pattern, int? Column)> fields)
        {
            var result = new Dictionary<string, object?>(StringComparer.Ordinal);
            var lines = output.Split('\n');
            foreach (var (field, pattern, column) in fields)
            {
                if (pattern != null)
                {
                    var m = pattern.Match(output);
                    if (!m.Success) continue;
                    if (column is int c)
                    {
                        var line = LineAt(output, m.Index);
                        var words = Words(line);
                        if (c <= words.Length) result[field] = Value(words[c - 1]);
                    }
                    else result[field] = Value(m.Groups[1].Value);
                }
                else
                {
                    var first = lines.FirstOrDefault(l => l.Trim().Length > 0);
                    var words = first == null ? Array.Empty<string>() : Words(first);
                    if (column!.Value <= words.Length) result[field] = Value(words[column.Value - 1]);
                }
            }
            return result;
        }

        private static string LineAt(string text, int index)
        {
            int start = text.LastIndexOf('\n', Math.Max(0, index - 1)) + 1;
            if (index == 0) start = 0;
            int end = text.IndexOf('\n', index);
            return text.Substring(start, (end < 0 ? text.Length : end) - start);
        }

        private static string[] Words(string line) => line.Split(new[] { ' ', '\t', '\r' }, StringSplitOptions.RemoveEmptyEntries);

        /// <summary>A whole number as long, a decimal as double (a trailing % dropped), else the text.</summary>
        internal static object Value(string text)
        {
            var t = text.Trim();
            var n = t.EndsWith("%", StringComparison.Ordinal) ? t.Substring(0, t.Length - 1) : t;
            if (long.TryParse(n, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)) return l;
            if (double.TryParse(n, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)) return d;
            return t;
        }

        private static Dictionary<string, object?> ParseDisk(string output)
        {
            var result = new Dictionary<string, object?>(StringComparer.Ordinal);
            var lines = output.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Trim().Length > 0).ToList();
            var header = lines.FindIndex(l => l.StartsWith("Filesystem", StringComparison.Ordinal));
            if (header < 0 || header == lines.Count - 1) return result;
            // A long device name makes df wrap its line; the fields are then on the next line.
            var words = Words(string.Join(" ", lines.Skip(header + 1).Reverse().Take(2).Reverse()));
            if (words.Length > 6) words = words.Skip(words.Length - 6).ToArray();
            if (words.Length < 6) return result;
            result["Filesystem"] = words[0];
            result["Size"] = Value(words[1]);
            result["Used"] = Value(words[2]);
            result["Available"] = Value(words[3]);
            result["UsePercent"] = Value(words[4]);
            result["MountedOn"] = words[5];
            return result;
        }

        private static Dictionary<string, object?> ParseFree(string output)
        {
            var result = new Dictionary<string, object?>(StringComparer.Ordinal);
            var mem = output.Split('\n').FirstOrDefault(l => l.TrimStart().StartsWith("Mem:", StringComparison.Ordinal));
            if (mem == null) return result;
            var words = Words(mem.Substring(mem.IndexOf(':') + 1));
            string[] names = { "Total", "Used", "Free", "Shared", "BuffCache", "Available" };
            for (int i = 0; i < names.Length && i < words.Length; i++) result[names[i]] = Value(words[i]);
            if (result.TryGetValue("Total", out var total) && result.TryGetValue("Used", out var used) && total is long t && t > 0 && used is long u)
                result["UsePercent"] = (long)Math.Round(u * 100.0 / t);
            return result;
        }

        private static readonly Regex UptimePattern = new Regex(@"up\s+(.*?),\s+(\d+)\s+users?,\s+load averages?:\s*([\d.]+),?\s+([\d.]+),?\s+([\d.]+)", RegexOptions.CultureInvariant, RegexTimeout);
        private static readonly Regex UptimeNoUsers = new Regex(@"up\s+(.*?),\s+load averages?:\s*([\d.]+),?\s+([\d.]+),?\s+([\d.]+)", RegexOptions.CultureInvariant, RegexTimeout);

        private static Dictionary<string, object?> ParseUptime(string output)
        {
            var result = new Dictionary<string, object?>(StringComparer.Ordinal);
            var m = UptimePattern.Match(output);
            if (m.Success)
            {
                result["Uptime"] = m.Groups[1].Value.Trim();
                result["Users"] = Value(m.Groups[2].Value);
                result["Load1"] = Value(m.Groups[3].Value);
                result["Load5"] = Value(m.Groups[4].Value);
                result["Load15"] = Value(m.Groups[5].Value);
                return result;
            }
            m = UptimeNoUsers.Match(output);
            if (m.Success)
            {
                result["Uptime"] = m.Groups[1].Value.Trim();
                result["Load1"] = Value(m.Groups[2].Value);
                result["Load5"] = Value(m.Groups[3].Value);
                result["Load15"] = Value(m.Groups[4].Value);
            }
            return result;
        }
    }
}
