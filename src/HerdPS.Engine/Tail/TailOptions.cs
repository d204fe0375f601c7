using System;
using System.Collections.Generic;
using System.Globalization;
using HerdPS.Display;
using HerdPS.Inventory;

namespace HerdPS.Tail
{
    /// <summary>
    /// What <c>herd tail</c> and <c>Watch-FleetLog</c> follow on every host, and how: files (<see cref="Paths"/>) or
    /// journal units (<see cref="Units"/>), never both; the context shown first; the remote filters; and the tuning
    /// the tests turn down. Both front ends fill one of these and call <see cref="Validate"/>, which says what is
    /// wrong with a value before any host is touched.
    /// </summary>
    public sealed class TailOptions
    {
        /// <summary>The remote follower keeps one descriptor per file, and POSIX sh only promises descriptors 3 to 9.</summary>
        public const int MaxPaths = 7;
        public const int DefaultLines = 10;
        public const int MaxLines = 100_000;

        public List<string> Paths { get; } = new List<string>();
        public List<string> Units { get; } = new List<string>();
        /// <summary>Lines of context shown before following (the last N lines of each file, the last N journal entries).</summary>
        public int Lines { get; set; } = DefaultLines;
        /// <summary>Keep only lines matching this POSIX extended regex (remote <c>grep -E</c>; the journal's message, by awk).</summary>
        public string? Grep { get; set; }
        /// <summary>Drop lines matching this POSIX extended regex (remote <c>grep -vE</c>).</summary>
        public string? GrepExclude { get; set; }
        /// <summary>Journal only: start at this point instead of the last <see cref="Lines"/> entries.</summary>
        public TailSince? Since { get; set; }

        /// <summary>How often the file follower looks for new lines when there were none (it reads without pausing while it is behind).</summary>
        public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(500);
        /// <summary>Most bytes of a file read in one go; also the longest line (a longer one is cut there).</summary>
        public int MaxBatchBytes { get; set; } = 1024 * 1024;
        /// <summary>First delay before reconnecting a host; doubled after each failed attempt (with jitter) up to <see cref="ReconnectMaxDelay"/>.</summary>
        public TimeSpan ReconnectDelay { get; set; } = TimeSpan.FromSeconds(1);
        public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(30);
        /// <summary>Failed attempts in a row after which a host is given up (null: never; it is retried until the tail stops).</summary>
        public int? ReconnectAttempts { get; set; }
        /// <summary>
        /// Bytes of received lines all hosts together may hold while the reader is behind; each host gets an equal
        /// share (at least <see cref="MinHostQueueBytes"/>, at most <see cref="MaxHostQueueBytes"/>). A host past its
        /// share pauses (its remote follower is ended) and resumes where it stopped once the reader has caught up.
        /// </summary>
        public long QueueBytes { get; set; } = 32L * 1024 * 1024;
        public long MinHostQueueBytes { get; set; } = 16 * 1024;
        public long MaxHostQueueBytes { get; set; } = 1024 * 1024;

        /// <summary>Follows the journal rather than files.</summary>
        public bool IsJournal => Units.Count > 0;

        /// <summary>The per-host share of <see cref="QueueBytes"/> for a fleet of <paramref name="hosts"/>.</summary>
        public long HostQueueBytes(int hosts) => Math.Max(MinHostQueueBytes, Math.Min(MaxHostQueueBytes, QueueBytes / Math.Max(1, hosts)));

        /// <summary>
        /// Checks every value; throws <see cref="ArgumentException"/> naming the option as <paramref name="names"/>
        /// spells it (the CLI's <c>--grep</c> or the cmdlet's <c>-Pattern</c>), so nothing runs with a bad one.
        /// </summary>
        public void Validate(TailOptionNames? names = null)
        {
            names ??= TailOptionNames.Cli;
            if (Paths.Count == 0 && Units.Count == 0) throw new ArgumentException($"nothing to follow: give one or more paths, or {names.Unit} UNIT");
            if (Paths.Count > 0 && Units.Count > 0) throw new ArgumentException($"follow files or {names.Unit} units, not both in one run");
            if (Paths.Count > MaxPaths) throw new ArgumentException($"at most {MaxPaths} files can be followed at once (each holds one of the remote shell's descriptors 3-9); {Paths.Count} were given");
            foreach (var path in Paths) CheckPath(path);
            foreach (var unit in Units) CheckUnit(unit, names.Unit);
            if (Lines < 0 || Lines > MaxLines) throw new ArgumentOutOfRangeException(names.Lines, Lines, $"{names.Lines} must be between 0 and {MaxLines:N0}");
            CheckPattern(Grep, names.Grep);
            CheckPattern(GrepExclude, names.GrepExclude);
            if (Since != null && !IsJournal) throw new ArgumentException($"{names.Since} applies to the journal ({names.Unit}); a file has no time per line");
            if (PollInterval <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(PollInterval), PollInterval, "the poll interval must be positive");
            if (MaxBatchBytes < 1024) throw new ArgumentOutOfRangeException(nameof(MaxBatchBytes), MaxBatchBytes, "a batch must be at least 1 KiB");
            if (ReconnectDelay <= TimeSpan.Zero || ReconnectMaxDelay < ReconnectDelay)
                throw new ArgumentOutOfRangeException(nameof(ReconnectDelay), ReconnectDelay, "the reconnect delays must be positive, the maximum at least the first");
            if (ReconnectAttempts is int attempts && attempts < 0) throw new ArgumentOutOfRangeException(nameof(ReconnectAttempts), attempts, "the reconnect attempts can't be negative");
            if (QueueBytes < 1 || MinHostQueueBytes < 1 || MaxHostQueueBytes < MinHostQueueBytes)
                throw new ArgumentOutOfRangeException(nameof(QueueBytes), QueueBytes, "the queue sizes must be positive, the largest share at least the smallest");
        }

        /// <summary>
        /// A path as the remote follower gets it: <c>~/x</c> and a leading <c>-</c> become <c>./...</c> (a session starts
        /// in the home folder, and no path may read as an option to find or ls). Any other byte is passed as one
        /// quoted word, so spaces, quotes and <c>$</c> are just characters of a name.
        /// </summary>
        public static string RemotePath(string path)
        {
            if (path.StartsWith("~/", StringComparison.Ordinal)) return "./" + path.Substring(2);
            if (path.StartsWith("-", StringComparison.Ordinal)) return "./" + path;
            return path;
        }

        private static void CheckPath(string path)
        {
            if (string.IsNullOrEmpty(path)) throw new ArgumentException("a path to follow is empty");
            if (path == "~" || path.StartsWith("~", StringComparison.Ordinal) && !path.StartsWith("~/", StringComparison.Ordinal))
                throw new ArgumentException($"{TerminalText.Quote(path)}: only ~/ (the login user's home) is understood; write the path in full");
            foreach (var c in path)
                if (c < 0x20 || c == 0x7F) throw new ArgumentException($"the path {TerminalText.Quote(path)} contains a control character");
            if (path.EndsWith("/", StringComparison.Ordinal)) throw new ArgumentException($"{TerminalText.Quote(path)} names a folder; follow a file in it");
        }

        private static void CheckUnit(string unit, string option)
        {
            if (string.IsNullOrEmpty(unit)) throw new ArgumentException($"{option}: the unit name is empty");
            if (unit.Length > 256) throw new ArgumentException($"{option}: {TerminalText.Quote(unit)} is too long for a unit name");
            if (unit.StartsWith("-", StringComparison.Ordinal)) throw new ArgumentException($"{option}: a unit name can't start with '-' ({TerminalText.Quote(unit)})");
            foreach (var c in unit)
            {
                // systemd unit names: ASCII letters, digits, ":-_.\@", and the globs journalctl -u also takes.
                bool ok = c < 0x80 && (char.IsLetterOrDigit(c) || ":-_.\\@*?[]".IndexOf(c) >= 0);
                if (!ok) throw new ArgumentException($"{option}: {TerminalText.Quote(unit)} is not a unit name (letters, digits and :-_.\\@, or the globs * ? [ ])");
            }
        }

        private static void CheckPattern(string? pattern, string option)
        {
            if (pattern == null) return;
            if (pattern.Length == 0) throw new ArgumentException($"{option}: the pattern is empty (it would match every line)");
            var problem = ExtendedRegex.Problem(pattern);
            if (problem != null) throw new ArgumentException($"{option} {TerminalText.Quote(pattern)}: {problem}");
        }
    }

    /// <summary>How each front end spells the options, for messages.</summary>
    public sealed class TailOptionNames
    {
        public TailOptionNames(string unit, string lines, string grep, string grepExclude, string since)
        {
            Unit = unit;
            Lines = lines;
            Grep = grep;
            GrepExclude = grepExclude;
            Since = since;
        }

        public string Unit { get; }
        public string Lines { get; }
        public string Grep { get; }
        public string GrepExclude { get; }
        public string Since { get; }

        public static readonly TailOptionNames Cli = new TailOptionNames("--journalctl", "--lines", "--grep", "--grep-exclude", "--since");
        public static readonly TailOptionNames PowerShell = new TailOptionNames("-JournalUnit", "-Lines", "-Pattern", "-ExcludePattern", "-Since");
    }

    /// <summary>
    /// Where a journal follow starts: some time back on the host's own clock (<c>--since 5m</c>, read as
    /// <c>journalctl --since=-300s</c>, so a host whose clock is off still shows its last five minutes), or at a
    /// moment (a date given to <c>-Since</c>, sent as seconds since the epoch).
    /// </summary>
    public sealed class TailSince
    {
        private TailSince(TimeSpan? ago, DateTime? atUtc)
        {
            Ago = ago;
            AtUtc = atUtc;
        }

        public TimeSpan? Ago { get; }
        public DateTime? AtUtc { get; }

        public static TailSince Back(TimeSpan ago)
        {
            if (ago <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(ago), ago, "a time back must be positive");
            return new TailSince(ago, null);
        }

        public static TailSince At(DateTime utc) => new TailSince(null, utc.Kind == DateTimeKind.Local ? utc.ToUniversalTime() : DateTime.SpecifyKind(utc, DateTimeKind.Utc));

        /// <summary>The value of journalctl's <c>--since=</c>.</summary>
        public string JournalctlValue()
        {
            if (Ago is TimeSpan ago) return "-" + Math.Max(1L, (long)Math.Ceiling(ago.TotalSeconds)).ToString(CultureInfo.InvariantCulture) + "s";
            var epoch = new DateTime(1970, 1, 1, 0, 0, 0, DateTimeKind.Utc);
            return "@" + Math.Max(0L, (long)Math.Floor((AtUtc!.Value - epoch).TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        }

        /// <summary>True for every numeric type PowerShell's parser makes from a literal (5, 5m, 2d, 1kb, 1e3).</summary>
        private static bool IsNumber(object value) => value is sbyte || value is byte || value is short || value is ushort || value is int || value is uint
            || value is long || value is ulong || value is float || value is double || value is decimal || value is System.Numerics.BigInteger;

        /// <summary>
        /// -Since as the user gave it: a TimeSpan or a quoted duration (<c>'5m'</c>) back from now on each host's clock,
        /// or a DateTime/DateTimeOffset. A bare number is refused: PowerShell reads an unquoted 5m as 5 (and 2d as 2).
        /// </summary>
        public static TailSince FromParameter(object? value)
        {
            switch (value)
            {
                case TailSince s: return s;
                case TimeSpan t: return Back(t);
                case DateTime d: return At(d);
                case DateTimeOffset o: return At(o.UtcDateTime);
                case string text:
                    if (Duration.TryParse(text.Trim(), out var ago, out _) && ago > TimeSpan.Zero) return Back(ago);
                    if (DateTime.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeLocal | DateTimeStyles.AdjustToUniversal, out var when))
                        return At(DateTime.SpecifyKind(when, DateTimeKind.Utc));
                    throw new ArgumentException($"-Since: {TerminalText.Quote(text)} is neither a duration ('5m', '2h') nor a date", "Since");
                case null: throw new ArgumentNullException("Since");
                default:
                    if (IsNumber(value))
                        throw new ArgumentException($"-Since takes a quoted duration ('5m'), a TimeSpan or a date, not the number {Convert.ToString(value, CultureInfo.InvariantCulture)} (PowerShell reads 5m as the number 5)", "Since");
                    throw new ArgumentException($"-Since takes a quoted duration ('5m'), a TimeSpan or a date, not a {value.GetType().Name}", "Since");
            }
        }
    }

    /// <summary>
    /// A check of POSIX extended regular expressions before they are sent, so a typo is exit 2 here rather than
    /// "grep: Unmatched (" on every host. It looks for what every ERE implementation refuses (unbalanced
    /// parentheses and brackets, a trailing backslash, a repeat count written high to low); what passes is still checked by the host's
    /// own grep, whose refusal ends that host's tail with grep's message.
    /// </summary>
    public static class ExtendedRegex
    {
        /// <summary>Why <paramref name="pattern"/> is not an ERE, or null.</summary>
        public static string? Problem(string pattern)
        {
            foreach (var c in pattern)
                if (c == '\n' || c == '\r' || c == '\0') return "a pattern can't hold a line break or NUL (grep would read it as several patterns)";
            int depth = 0;
            for (int i = 0; i < pattern.Length; i++)
            {
                char c = pattern[i];
                switch (c)
                {
                    case '\\':
                        if (i + 1 == pattern.Length) return "it ends with a lone backslash";
                        i++;
                        break;
                    case '(':
                        depth++;
                        break;
                    case ')':
                        // GNU and BusyBox grep both read an unopened ')' as itself.
                        if (depth > 0) depth--;
                        break;
                    case '[':
                        int close = BracketEnd(pattern, i);
                        if (close < 0) return $"the '[' at character {i + 1} is never closed";
                        i = close;
                        break;
                    case '{':
                        // A '{' that doesn't start a repeat count is an ordinary character to GNU and BusyBox grep alike
                        // (JSON in a pattern works); only a count written high to low is refused everywhere.
                        int end = pattern.IndexOf('}', i + 1);
                        if (end > 0 && ReversedInterval(pattern.Substring(i + 1, end - i - 1)) is string body)
                            return $"the repeat count {{{body}}} at character {i + 1} is written high to low";
                        break;
                }
            }
            return depth > 0 ? "a '(' is never closed" : null;
        }

        private static int BracketEnd(string p, int open)
        {
            int i = open + 1;
            if (i < p.Length && p[i] == '^') i++;
            if (i < p.Length && p[i] == ']') i++; // a ']' first is a member
            for (; i < p.Length; i++)
            {
                if (p[i] == '[' && i + 1 < p.Length && (p[i + 1] == ':' || p[i + 1] == '.' || p[i + 1] == '='))
                {
                    var kind = p[i + 1];
                    int stop = p.IndexOf(kind + "]", i + 2, StringComparison.Ordinal);
                    if (stop < 0) return -1;
                    i = stop + 1;
                    continue;
                }
                if (p[i] == ']') return i;
            }
            return -1;
        }

        private static string? ReversedInterval(string body)
        {
            var parts = body.Split(',');
            if (parts.Length != 2) return null;
            if (!int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var low)) return null;
            if (!int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var high)) return null;
            return high < low ? body : null;
        }
    }
}
