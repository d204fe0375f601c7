using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;

namespace HerdPS.PowerShell.Tests
{
    /// <summary>
    /// One line of a fenced <c>sh</c> or <c>bash</c> block of README.md or docs/*.md that runs herd: it starts with
    /// <c>herd </c>, or with environment assignments and then <c>herd </c> (<c>HERD_MAX_HOSTS=250000 herd ...</c>).
    /// Other lines (<c>dotnet ...</c>, <c>./test.sh</c>, <c>createdb</c>) are not herd examples and are left alone,
    /// except <c>export NAME=value</c>, which sets the environment of the block's later lines as it would in a shell.
    ///
    /// HTML comments on the lines right above the fence (any number, one per line) change how lines run
    /// (docs/building.md lists them):
    /// <list type="bullet">
    /// <item><c>&lt;!-- example: not run: why --&gt;</c> no line of the block runs (say why).</item>
    /// <item><c>&lt;!-- example: team history --&gt;</c> <see cref="DocExample.TeamHistoryUrl"/> is a fresh database of
    /// the test PostgreSQL server, its password in <c>$PGPASSWORD</c>.</item>
    /// <item><c>&lt;!-- example: line with "TEXT": not run: why --&gt;</c>, <c>... "TEXT": exits N: why --&gt;</c>,
    /// <c>... "TEXT": team history --&gt;</c>: the same for the one herd line of the block containing TEXT
    /// (exactly one must); <c>exits N</c> is the exit the line must give instead of 0.</item>
    /// </list>
    /// <c>herd watch</c> and <c>herd tail</c> run until Ctrl-C (a watch with <c>--count</c> may end first).
    /// </summary>
    public sealed class ShellExample
    {
        private static readonly Regex Fence = new Regex(@"^```(sh|bash)\s*$");
        private static readonly Regex Marker = new Regex(
            @"^<!--\s*example:\s*(?:line with ""(?<text>[^""]+)"":\s*)?(?<kind>not run|team history|exits (?<code>\d+))\s*(?::\s*(?<why>.*?))?\s*-->\s*$",
            RegexOptions.IgnoreCase);
        private static readonly Regex HerdLine = new Regex(@"^(?:[A-Z_][A-Z0-9_]*=\S*\s+)*herd\s");
        private static readonly Regex Export = new Regex(@"^export\s+(?<name>[A-Z_][A-Z0-9_]*)=(?<value>.*)$");

        private ShellExample(string file, int line, string command, IReadOnlyDictionary<string, string> exports,
            string? notRunBecause, int expectedExit, string? exitBecause, bool teamHistory)
        {
            File = file;
            Line = line;
            Command = command;
            Exports = exports;
            NotRunBecause = notRunBecause;
            ExpectedExit = expectedExit;
            ExitBecause = exitBecause;
            TeamHistory = teamHistory;
        }

        /// <summary>How long a watch or tail runs before it is stopped as Ctrl-C stops it.</summary>
        public static readonly TimeSpan RunFor = TimeSpan.FromSeconds(3);

        public string File { get; }
        /// <summary>The line of the command itself (1-based).</summary>
        public int Line { get; }
        /// <summary>The line as a reader types it into a shell (its trailing # comment is the shell's business).</summary>
        public string Command { get; }
        /// <summary>The block's <c>export</c>s above this line, values as the shell would see them (unquoted).</summary>
        public IReadOnlyDictionary<string, string> Exports { get; }
        public string? NotRunBecause { get; }
        public int ExpectedExit { get; }
        public string? ExitBecause { get; }
        public bool TeamHistory { get; }
        public string Id => $"{File}:{Line}";

        /// <summary>herd watch and herd tail run until Ctrl-C.</summary>
        public bool RunsUntilStopped => Regex.IsMatch(Command, @"(^|\s)herd\s+(watch|tail)\s");
        /// <summary>A watch with --count ends by itself (it may still be stopped when it takes longer than <see cref="RunFor"/>).</summary>
        public bool MayEndByItself => Regex.IsMatch(Command, @"\s--count\s");

        public override string ToString() => Id;

        /// <summary>The team history the docs name, with the query that reaches the team's server (sslmode, sslrootcert).</summary>
        public static readonly Regex TeamHistoryUrl = new Regex(Regex.Escape(DocExample.TeamHistoryUrl) + @"(\?[^\s'""]*)?");

        /// <summary>The programs the line pipes herd's output into (the first word after each | outside quotes).</summary>
        public IEnumerable<string> PipedInto
        {
            get
            {
                char quote = '\0';
                for (var i = 0; i < Command.Length; i++)
                {
                    var c = Command[i];
                    if (quote != '\0') { if (c == quote) quote = '\0'; continue; }
                    if (c == '\'' || c == '"') quote = c;
                    else if (c == '#') yield break;
                    else if (c == '|') yield return Regex.Match(Command.Substring(i + 1), @"^\s*(\S+)").Groups[1].Value;
                }
            }
        }

        public static IReadOnlyList<ShellExample> All()
        {
            var files = new[] { "README.md" }.Concat(Directory.GetFiles(TestPaths.Repo("docs"), "*.md").Select(f => Path.GetRelativePath(TestPaths.RepoRoot, f)))
                .OrderBy(f => f, StringComparer.Ordinal);
            return files.SelectMany(f => Read(f, System.IO.File.ReadAllLines(TestPaths.Repo(f)))).ToList();
        }

        public static IEnumerable<ShellExample> Read(string file, string[] lines)
        {
            var found = new List<ShellExample>();
            for (var i = 0; i < lines.Length; i++)
            {
                if (!Fence.IsMatch(lines[i].Trim())) continue;
                var start = i;
                var markers = new List<Match>();
                for (var m = start - 1; m >= 0 && lines[m].TrimStart().StartsWith("<!-- example:", StringComparison.Ordinal); m--)
                {
                    var match = Marker.Match(lines[m].Trim());
                    if (!match.Success) throw new FormatException($"{file}:{m + 1}: not an sh example marker (docs/building.md lists them): {lines[m].Trim()}");
                    var kind = match.Groups["kind"].Value.ToLowerInvariant();
                    if (kind != "team history" && match.Groups["why"].Value.Trim().Length == 0)
                        throw new FormatException($"{file}:{m + 1}: '{kind}' must say why");
                    markers.Add(match);
                }
                var body = new List<(int Line, string Text)>();
                for (i++; i < lines.Length && lines[i].Trim() != "```"; i++) body.Add((i + 1, lines[i]));
                if (i == lines.Length) throw new FormatException($"{file}:{start + 1}: an sh block is not closed");

                var herdLines = body.Where(l => HerdLine.IsMatch(l.Text.Trim())).ToList();
                foreach (var m in markers.Where(m => m.Groups["text"].Success))
                {
                    var n = herdLines.Count(l => l.Text.Contains(m.Groups["text"].Value, StringComparison.Ordinal));
                    if (n != 1) throw new FormatException($"{file}:{start}: the marker's \"{m.Groups["text"].Value}\" is in {n} herd lines of the block, not exactly one");
                }
                var exports = new Dictionary<string, string>();
                foreach (var (line, raw) in body)
                {
                    var text = raw.Trim();
                    if (Export.Match(text) is { Success: true } e)
                    {
                        exports[e.Groups["name"].Value] = Unquote(e.Groups["value"].Value.Trim());
                        continue;
                    }
                    if (!HerdLine.IsMatch(text)) continue;
                    var applying = markers.Where(m => !m.Groups["text"].Success || text.Contains(m.Groups["text"].Value, StringComparison.Ordinal)).ToList();
                    string? notRun = null, exitWhy = null;
                    var exit = 0;
                    var team = false;
                    foreach (var m in applying)
                    {
                        var kind = m.Groups["kind"].Value.ToLowerInvariant();
                        if (kind == "not run") notRun = m.Groups["why"].Value.Trim();
                        else if (kind == "team history") team = true;
                        else
                        {
                            exit = int.Parse(m.Groups["code"].Value);
                            exitWhy = m.Groups["why"].Value.Trim();
                        }
                    }
                    found.Add(new ShellExample(file, line, text, new Dictionary<string, string>(exports), notRun, exit, exitWhy, team));
                }
            }
            return found;
        }

        private static string Unquote(string value) =>
            value.Length >= 2 && (value[0] == '\'' || value[0] == '"') && value[^1] == value[0] ? value.Substring(1, value.Length - 2) : value;
    }
}
