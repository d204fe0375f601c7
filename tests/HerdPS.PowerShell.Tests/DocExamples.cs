using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation.Language;
using System.Text;
using System.Text.RegularExpressions;

namespace HerdPS.PowerShell.Tests
{
    /// <summary>
    /// One fenced <c>powershell</c> block of README.md or docs/*.md, turned into the script a reader would type.
    /// Two forms are read: a plain script, and a transcript in PlatyPS style where commands follow a prompt
    /// (<c>PS C:\&gt; </c>) and everything else is sample output (not run). A command that goes on over several lines
    /// takes its following lines for as long as PowerShell's parser says the input is incomplete.
    ///
    /// An HTML comment on the line right above the fence changes how a block runs (docs/building.md lists them):
    /// <list type="bullet">
    /// <item><c>&lt;!-- example: not run: why --&gt;</c> the block is parsed, not run (say why: the reader's own run ids,
    /// a path only root can write).</item>
    /// <item><c>&lt;!-- example: windows paths --&gt;</c> <c>C:\herd\...</c> paths point into the example's own folder
    /// (holding herd\inventory.yaml, herd\keys\svc_ed25519, herd\motd and the folders reports, nginx and logs, as
    /// the scheduled-task examples expect), with / for \.</item>
    /// <item><c>&lt;!-- example: runs until stopped --&gt;</c> a watch that runs until Ctrl-C: it runs for
    /// <see cref="DocExample.RunFor"/>, then is stopped as Ctrl-C stops it, and must have written no error.</item>
    /// <item><c>&lt;!-- example: team history --&gt;</c> <see cref="TeamHistoryUrl"/> names the team's PostgreSQL history:
    /// it runs against a database of the test server, the password in <c>$env:PGPASSWORD</c>, as a user's would be.</item>
    /// </list>
    /// </summary>
    public sealed class DocExample
    {
        private static readonly Regex Marker = new Regex(@"^<!--\s*example:\s*(?<kind>not run|windows paths|runs until stopped|team history)\s*(?::\s*(?<why>.*?))?\s*-->\s*$", RegexOptions.IgnoreCase);
        private static readonly Regex Prompt = new Regex(@"^PS [^>\n]*> ?");

        /// <summary>How long a "runs until stopped" example runs before it is stopped.</summary>
        public static readonly TimeSpan RunFor = TimeSpan.FromSeconds(12);

        /// <summary>The team history the docs name; a "team history" example runs against the test server's database instead.</summary>
        public const string TeamHistoryUrl = "postgresql://herd@pg.example.com/herd";

        private DocExample(string file, int line, string script, string? notRunBecause, bool windowsPaths, bool runsUntilStopped, bool teamHistory = false)
        {
            TeamHistory = teamHistory;
            RunsUntilStopped = runsUntilStopped;
            File = file;
            Line = line;
            Script = script;
            NotRunBecause = notRunBecause;
            WindowsPaths = windowsPaths;
        }

        /// <summary>Path relative to the repository root.</summary>
        public string File { get; }
        /// <summary>Line of the opening fence.</summary>
        public int Line { get; }
        public string Script { get; }
        public string? NotRunBecause { get; }
        public bool WindowsPaths { get; }
        public bool RunsUntilStopped { get; }
        public bool TeamHistory { get; }
        public string Id => $"{File}:{Line}";

        public override string ToString() => Id;

        /// <summary>Every example of the user documentation: README.md and docs/*.md.</summary>
        public static IReadOnlyList<DocExample> All()
        {
            var files = new[] { "README.md" }.Concat(Directory.GetFiles(TestPaths.Repo("docs"), "*.md").Select(f => Path.GetRelativePath(TestPaths.RepoRoot, f)))
                .OrderBy(f => f, StringComparer.Ordinal);
            return files.SelectMany(f => Read(f, System.IO.File.ReadAllLines(TestPaths.Repo(f)))).ToList();
        }

        public static IEnumerable<DocExample> Read(string file, string[] lines)
        {
            for (var i = 0; i < lines.Length; i++)
            {
                if (lines[i].Trim() != "```powershell") continue;
                var start = i;
                var body = new List<string>();
                for (i++; i < lines.Length && lines[i].Trim() != "```"; i++) body.Add(lines[i]);
                if (i == lines.Length) throw new FormatException($"{file}:{start + 1}: a powershell block is not closed");
                string? notRun = null;
                var windows = false;
                var untilStopped = false;
                var team = false;
                if (start > 0 && Marker.Match(lines[start - 1].Trim()) is { Success: true } m)
                {
                    if (m.Groups["kind"].Value.Equals("not run", StringComparison.OrdinalIgnoreCase))
                    {
                        notRun = m.Groups["why"].Value.Trim();
                        if (notRun.Length == 0) throw new FormatException($"{file}:{start}: 'example: not run' must say why");
                    }
                    else if (m.Groups["kind"].Value.Equals("windows paths", StringComparison.OrdinalIgnoreCase)) windows = true;
                    else if (m.Groups["kind"].Value.Equals("team history", StringComparison.OrdinalIgnoreCase)) team = true;
                    else untilStopped = true;
                }
                yield return new DocExample(file, start + 1, ScriptOf(body), notRun, windows, untilStopped, team);
            }
        }

        private static string ScriptOf(List<string> body)
        {
            if (!body.Any(l => Prompt.IsMatch(l))) return string.Join("\n", body);
            var script = new StringBuilder();
            for (var i = 0; i < body.Count; i++)
            {
                var prompt = Prompt.Match(body[i]);
                if (!prompt.Success) continue; // sample output
                var command = new StringBuilder(body[i].Substring(prompt.Length));
                while (i + 1 < body.Count && !Prompt.IsMatch(body[i + 1]) && (body[i + 1].StartsWith(">>", StringComparison.Ordinal) || Incomplete(command.ToString())))
                {
                    i++;
                    var next = body[i].StartsWith(">>", StringComparison.Ordinal) ? body[i].Substring(2).TrimStart() : body[i];
                    command.Append('\n').Append(next);
                }
                script.Append(command).Append('\n');
            }
            return script.ToString();
        }

        private static bool Incomplete(string input)
        {
            Parser.ParseInput(input, out _, out var errors);
            return errors.Any(e => e.IncompleteInput);
        }

        /// <summary>
        /// The script with C:\herd paths moved into <paramref name="root"/> (only for blocks marked windows paths), and the
        /// team history's URL replaced by <paramref name="teamHistory"/> (only for blocks marked team history).
        /// </summary>
        public string ScriptFor(string root, string? teamHistory = null)
        {
            if (TeamHistory)
            {
                if (teamHistory == null) throw new ArgumentNullException(nameof(teamHistory), $"{Id} is a team history example");
                if (!Script.Contains(TeamHistoryUrl, StringComparison.Ordinal)) throw new FormatException($"{Id} is marked team history but never names {TeamHistoryUrl}");
                return Script.Replace(TeamHistoryUrl, teamHistory, StringComparison.Ordinal);
            }
            if (!WindowsPaths) return Script;
            return Regex.Replace(Script, @"C:\\herd((?:\\[^\s'""\\]+)*)\\?", m => root.TrimEnd('/') + "/herd" + m.Groups[1].Value.Replace('\\', '/'), RegexOptions.IgnoreCase);
        }
    }
}
