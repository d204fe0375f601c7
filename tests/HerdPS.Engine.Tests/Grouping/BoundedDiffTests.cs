using System;
using System.Collections.Generic;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using HerdPS.Grouping;

namespace HerdPS.Tests.Grouping
{
    /// <summary>
    /// Diffs cost bounded work: every diff that is produced is correct (it turns the old text into the new one when
    /// applied), large ordinary outputs still get a real diff, and texts too different to diff within the budget get
    /// an honest summary, produced promptly, the same on every machine.
    /// </summary>
    public class BoundedDiffTests
    {
        private static readonly TimeSpan Guard = TimeSpan.FromMinutes(2);

        [Fact]
        public async Task HostileOutputsGetASummaryInsteadOfAHang()
        {
            // Two 1 MiB outputs of lines drawn from two values: nothing unique to anchor on and a minimal diff that
            // costs billions of steps. The old diff took minutes on such input; the guard only stops a hang.
            var random = new Random(7);
            string oldText = "header\n" + RandomLines(random, 500_000, "ab");
            string newText = "header\n" + RandomLines(random, 500_000, "ab");

            string diff = await Task.Run(() => UnifiedDiff.Create(oldText, newText, "norm (2 hosts)", "web-03")).WaitAsync(Guard);

            var lines = diff.Split('\n');
            Assert.Equal("--- norm (2 hosts)", lines[0]);
            Assert.Equal("+++ web-03", lines[1]);
            Assert.Equal("(no line-by-line diff: these texts differ in too many places to diff within the budget of 50,000,000 steps)", lines[2]);
            Assert.Equal($"norm (2 hosts): {Utf8Length(oldText):N0} bytes, 500,001 lines, SHA-256 {Sha256(oldText)}", lines[3]);
            Assert.Equal($"web-03: {Utf8Length(newText):N0} bytes, 500,001 lines, SHA-256 {Sha256(newText)}", lines[4]);

            int first = FirstDifferingLine(oldText, newText);
            Assert.StartsWith($"they differ from line {first:N0} to line ", lines[5]);
            Assert.Equal($"first difference, line {first:N0}:", lines[6]);
            Assert.Equal("-" + oldText.Split('\n')[first - 1], lines[7]);
            Assert.Equal("+" + newText.Split('\n')[first - 1], lines[8]);
            Assert.Equal("", lines[9]);
            Assert.Equal(10, lines.Length);
        }

        /// <summary>
        /// A run whose every host printed something hostile and different pays the diff budget once for the whole run,
        /// not once per host: past the shared budget the remaining hosts get summaries, which say why.
        /// </summary>
        [Fact]
        public void A_run_of_many_hostile_outputs_shares_one_budget()
        {
            var random = new Random(11);
            var budget = new DiffBudget(total: 3_000_000, perDiff: 1_000_000);
            string norm = RandomLines(random, 20_000, "ab");
            var diffs = Enumerable.Range(0, 12).Select(i => UnifiedDiff.Create(norm, RandomLines(random, 20_000, "ab"), "norm (2 hosts)", $"h{i:00}", budget)).ToList();
            Assert.Equal(0, budget.Remaining);
            var spent = diffs.Where(d => d.Contains("were spent on earlier hosts", StringComparison.Ordinal)).ToList();
            Assert.NotEmpty(spent);
            Assert.Contains("the diffs of this run, 3,000,000 steps in all, were spent on earlier hosts", spent[0]);
            // Every summary still names both sides and the first difference.
            Assert.All(diffs, d => Assert.Contains("first difference, line", d));
        }

        [Fact]
        public void Ordinary_diffs_leave_the_shared_budget_for_the_others()
        {
            var budget = new DiffBudget(total: 1_000_000, perDiff: 1_000_000);
            var diffs = Enumerable.Range(0, 50).Select(i => UnifiedDiff.Create("a\nb\nc\n", $"a\n{i}\nc\n", "old", "new", budget)).ToList();
            Assert.All(diffs, d => Assert.DoesNotContain("(no line-by-line diff:", d));
            Assert.True(budget.Remaining > 900_000, $"50 one-line diffs took {1_000_000 - budget.Remaining} steps");
        }

        [Fact]
        public void TheBudgetIsCountedInStepsSoTheSameInputsGiveTheSameResult()
        {
            var random = new Random(3);
            string oldText = RandomLines(random, 400, "abc");
            string newText = RandomLines(random, 400, "abc");

            // Enough steps: a minimal diff. Too few: the summary, whatever the machine's speed.
            string full = UnifiedDiff.Create(oldText, newText, "old", "new", 3, budget: 10_000_000);
            Assert.DoesNotContain("(no line-by-line diff:", full);
            Assert.Equal(newText, Apply(oldText, full));
            Assert.Equal(MinimalEditCount(oldText, newText), ChangedLines(full));

            string limited = UnifiedDiff.Create(oldText, newText, "old", "new", 3, budget: 1_000);
            Assert.Contains("\n(no line-by-line diff: these texts differ in too many places to diff within the budget of 1,000 steps)\n", limited);
            for (int i = 0; i < 3; i++) Assert.Equal(limited, UnifiedDiff.Create(oldText, newText, "old", "new", 3, budget: 1_000));
        }

        [Theory]
        [InlineData(1)]
        [InlineData(2)]
        [InlineData(10)]
        public async Task LargeOrdinaryOutputsStillGetARealDiff(int mebibytes)
        {
            // Lines of about 64 bytes, each unique (log lines, file lists): 1% changed, 1% moved elsewhere, a few
            // lines appended. A diff of these must stay a diff at every size up to the 10 MiB output cap.
            var random = new Random(mebibytes);
            int count = mebibytes * 1024 * 1024 / 64;
            var oldLines = Enumerable.Range(0, count).Select(i => $"{i:D8} " + Word(random, 54)).ToList();
            var newLines = new List<string>(oldLines);
            for (int i = 0; i < count / 100; i++) newLines[random.Next(count)] = "changed " + Word(random, 54);
            for (int i = 0; i < count / 100; i++)
            {
                int from = random.Next(newLines.Count);
                string line = newLines[from];
                newLines.RemoveAt(from);
                newLines.Insert(random.Next(newLines.Count + 1), line);
            }
            newLines.Add("appended");
            string oldText = string.Join("\n", oldLines) + "\n", newText = string.Join("\n", newLines) + "\n";

            string diff = await Task.Run(() => UnifiedDiff.Create(oldText, newText, "old", "new")).WaitAsync(Guard);

            Assert.DoesNotContain("(no line-by-line diff:", diff);
            Assert.Equal(newText, Apply(oldText, diff));
        }

        [Fact]
        public void EveryDiffAppliesWhicheverSearchFoundIt()
        {
            // Small random texts with few distinct lines (many ways to align them) and with unique lines moved about,
            // under budgets from generous to tiny: the minimal search, the patience search and the summary all
            // occur, and each diff produced turns the old text into the new one.
            var random = new Random(11);
            var seen = new HashSet<DiffSearch>();
            for (int n = 0; n < 3000; n++)
            {
                string oldText, newText;
                if (n % 2 == 0)
                {
                    string alphabet = "abcdef".Substring(0, random.Next(1, 7));
                    oldText = RandomLines(random, random.Next(0, 40), alphabet);
                    newText = random.Next(3) == 0 ? RandomLines(random, random.Next(0, 40), alphabet) : Mutate(random, oldText, alphabet);
                }
                else
                {
                    var lines = Enumerable.Range(0, random.Next(1, 80)).Select(i => "line " + i).ToList();
                    oldText = string.Join("\n", lines) + "\n";
                    for (int m = random.Next(1, 8); m > 0; m--)
                    {
                        int from = random.Next(lines.Count);
                        string line = lines[from];
                        lines.RemoveAt(from);
                        lines.Insert(random.Next(lines.Count + 1), random.Next(4) == 0 ? "new " + m : line);
                    }
                    newText = string.Join("\n", lines) + (random.Next(4) == 0 ? "" : "\n");
                }
                long budget = new[] { 100_000_000L, 2_000, 300, 50 }[random.Next(4)];

                string diff = UnifiedDiff.Create(oldText, newText, "old", "new", random.Next(0, 4), budget, out var search);

                seen.Add(search);
                if (oldText == newText)
                {
                    Assert.Equal("", diff);
                    Assert.Equal(DiffSearch.None, search);
                    continue;
                }
                if (search == DiffSearch.OverBudget)
                {
                    Assert.Contains("\n(no line-by-line diff:", diff);
                    continue;
                }
                Assert.Equal(newText, Apply(oldText, diff));
                if (search == DiffSearch.Minimal) Assert.Equal(MinimalEditCount(oldText, newText), ChangedLines(diff));
                else Assert.True(ChangedLines(diff) >= MinimalEditCount(oldText, newText));
            }
            Assert.Equal(new[] { DiffSearch.None, DiffSearch.Minimal, DiffSearch.Patience, DiffSearch.OverBudget }, seen.OrderBy(s => s));
        }

        [Fact]
        public void TheSummaryShortensAHugeFirstLineAndSaysSo()
        {
            var random = new Random(5);
            string longOld = new string('x', 5000) + "😀" + new string('y', 100);
            string longNew = new string('z', 20_000);
            string oldText = "same\n" + longOld + "\n" + RandomLines(random, 300, "ab");
            string newText = "same\n" + longNew + "\n" + RandomLines(random, 300, "ab");

            string diff = UnifiedDiff.Create(oldText, newText, "old", "new", 3, budget: 100);

            var lines = diff.Split('\n');
            Assert.Equal("they differ from line 2 to line 302 of old and line 302 of new; 1 line before and 0 lines after are the same", lines[5]);
            Assert.Equal("first difference, line 2:", lines[6]);
            Assert.Equal("-" + new string('x', UnifiedDiff.MaxShownLineLength), lines[7]);
            Assert.Equal($"\\ line shortened: the first 1,000 of its {longOld.Length:N0} characters shown", lines[8]);
            Assert.Equal("+" + new string('z', UnifiedDiff.MaxShownLineLength), lines[9]);
            Assert.Equal("\\ line shortened: the first 1,000 of its 20,000 characters shown", lines[10]);
        }

        [Fact]
        public void ASummarizedLastLineWithoutNewlineIsMarked()
        {
            string oldText = "x\na\nb\na\nb\na", newText = "x\nb\na\nb\na\nb";
            string diff = UnifiedDiff.Create(oldText, newText, "old", "new", 3, budget: 0);
            Assert.Contains("\nfirst difference, line 2:\n-a\n+b\n", diff);
            Assert.Contains("old: 11 bytes, 6 lines, SHA-256 " + Sha256(oldText) + "\n", diff);
        }

        // ---- helpers ---------------------------------------------------------------------------------------------

        private static readonly Regex HunkHeader = new Regex(@"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@$");

        /// <summary>Applies a unified diff as patch(1) would, checking every context and removed line against the old text.</summary>
        private static string Apply(string oldText, string diff)
        {
            if (diff.Length == 0) return oldText;
            var old = Pieces(oldText);
            var result = new List<string>();
            var lines = diff.Split('\n');
            Assert.StartsWith("--- ", lines[0]);
            Assert.StartsWith("+++ ", lines[1]);
            int at = 0; // next old line not yet copied
            for (int i = 2; i < lines.Length - 1;)
            {
                var header = HunkHeader.Match(lines[i]);
                Assert.True(header.Success, "not a hunk header: " + lines[i]);
                int oldStart = int.Parse(header.Groups[1].Value), oldCount = header.Groups[2].Success ? int.Parse(header.Groups[2].Value) : 1;
                int hunkStart = oldCount == 0 ? oldStart : oldStart - 1;
                Assert.True(hunkStart >= at, "hunks overlap or go backwards");
                while (at < hunkStart) result.Add(old[at++]);
                for (i++; i < lines.Length - 1 && !lines[i].StartsWith("@@", StringComparison.Ordinal); i++)
                {
                    string body = lines[i].Substring(1);
                    bool noNewline = i + 1 < lines.Length && lines[i + 1] == "\\ No newline at end of file";
                    string piece = noNewline ? body : body + "\n";
                    switch (lines[i][0])
                    {
                        case ' ': Assert.Equal(old[at], piece); result.Add(old[at++]); break;
                        case '-': Assert.Equal(old[at], piece); at++; break;
                        case '+': result.Add(piece); break;
                        default: throw new Xunit.Sdk.XunitException("unexpected diff line: " + lines[i]);
                    }
                    if (noNewline) i++;
                }
            }
            while (at < old.Count) result.Add(old[at++]);
            return string.Concat(result);
        }

        private static List<string> Pieces(string text)
        {
            var pieces = new List<string>();
            for (int start = 0; start < text.Length;)
            {
                int newline = text.IndexOf('\n', start);
                int end = newline < 0 ? text.Length : newline + 1;
                pieces.Add(text.Substring(start, end - start));
                start = end;
            }
            return pieces;
        }

        /// <summary>Lines removed plus lines added by a minimal diff: n + m - 2 x LCS, by plain dynamic programming.</summary>
        private static int MinimalEditCount(string oldText, string newText)
        {
            var a = Pieces(oldText);
            var b = Pieces(newText);
            var lcs = new int[a.Count + 1, b.Count + 1];
            for (int i = a.Count - 1; i >= 0; i--)
                for (int j = b.Count - 1; j >= 0; j--)
                    lcs[i, j] = a[i] == b[j] ? lcs[i + 1, j + 1] + 1 : Math.Max(lcs[i + 1, j], lcs[i, j + 1]);
            return a.Count + b.Count - 2 * lcs[0, 0];
        }

        private static int ChangedLines(string diff) =>
            diff.Split('\n').Skip(2).Count(l => l.StartsWith("-", StringComparison.Ordinal) || l.StartsWith("+", StringComparison.Ordinal));

        private static string RandomLines(Random random, int count, string alphabet)
        {
            var text = new StringBuilder(count * 2);
            for (int i = 0; i < count; i++) text.Append(alphabet[random.Next(alphabet.Length)]).Append('\n');
            return text.ToString();
        }

        private static string Mutate(Random random, string text, string alphabet)
        {
            var lines = Pieces(text);
            for (int e = random.Next(1, 5); e > 0; e--)
            {
                int at = random.Next(lines.Count + 1);
                string line = alphabet[random.Next(alphabet.Length)] + "\n";
                switch (random.Next(3))
                {
                    case 0: lines.Insert(at, line); break;
                    case 1: if (at < lines.Count) lines.RemoveAt(at); break;
                    default: if (at < lines.Count) lines[at] = line; break;
                }
            }
            string result = string.Concat(lines);
            return random.Next(5) == 0 && result.Length > 0 ? result.Substring(0, result.Length - 1) : result;
        }

        private static string Word(Random random, int length)
        {
            const string alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
            var chars = new char[length];
            for (int i = 0; i < length; i++) chars[i] = alphabet[random.Next(alphabet.Length)];
            return new string(chars);
        }

        private static int FirstDifferingLine(string a, string b)
        {
            var x = a.Split('\n');
            var y = b.Split('\n');
            int i = 0;
            while (x[i] == y[i]) i++;
            return i + 1;
        }

        private static long Utf8Length(string text) => Encoding.UTF8.GetByteCount(text);

        private static string Sha256(string text) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text))).ToLowerInvariant();
    }
}
