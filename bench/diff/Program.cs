using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Security.Cryptography;
using System.Text;
using HerdPS.Grouping;

namespace HerdPS.Bench
{
    /// <summary>
    /// CPU time of one diff between two generated outputs, against a baseline measured in the same process: SHA-256
    /// over both outputs, which every run already pays to group them. See bench/diff.sh and bench/README.md.
    /// <code>
    /// DiffBench time new|old CASE MIB   one TSV line: case, MiB, impl, lines, baseline s, diff s, ratio, result
    /// DiffBench agree COUNT SEED        small random pairs: how often the new diff's text is the old one's, and GNU diff's
    /// </code>
    /// </summary>
    public static class Program
    {
        public static int Main(string[] args)
        {
            if (args.Length == 4 && args[0] == "time") return Time(args[1], args[2], double.Parse(args[3], CultureInfo.InvariantCulture));
            if (args.Length == 3 && args[0] == "agree") return Agree(int.Parse(args[1], CultureInfo.InvariantCulture), int.Parse(args[2], CultureInfo.InvariantCulture));
            Console.Error.WriteLine("usage: DiffBench time new|old CASE MIB | DiffBench agree COUNT SEED");
            return 2;
        }

        private static int Time(string impl, string kind, double mib)
        {
            var (oldText, newText) = Generate(kind, (int)(mib * 1024 * 1024), seed: 11);
            Func<string, string, string> diff = impl switch
            {
                "new" => (a, b) => UnifiedDiff.Create(a, b, "norm", "other"),
                "old" => (a, b) => DiffPlexUnifiedDiff.Create(a, b, "norm", "other"),
                _ => throw new ArgumentException("impl is new or old"),
            };
            // Warm up the JIT on a small pair, so its cost is not in either measurement.
            var (warmOld, warmNew) = Generate(kind, 64 * 1024, seed: 5);
            diff(warmOld, warmNew);
            Baseline(warmOld, warmNew);

            const int baselineReps = 5;
            var started = Cpu();
            for (int i = 0; i < baselineReps; i++) Baseline(oldText, newText);
            double baseline = (Cpu() - started).TotalSeconds / baselineReps;

            started = Cpu();
            string result = diff(oldText, newText);
            double spent = (Cpu() - started).TotalSeconds;

            string outcome = result.Contains("\n(no line-by-line diff:") ? "summary" : $"diff, {Count(result, "\n@@ ")} hunks";
            Console.WriteLine(string.Join("\t", kind, mib.ToString(CultureInfo.InvariantCulture), impl,
                Lines(oldText) + "/" + Lines(newText), baseline.ToString("F4", CultureInfo.InvariantCulture),
                spent.ToString("F3", CultureInfo.InvariantCulture), (spent / baseline).ToString("F1", CultureInfo.InvariantCulture), outcome));
            return 0;
        }

        /// <summary>
        /// Small random pairs with few distinct lines (many equally short ways to align them, where two algorithms
        /// part): how often the bounded diff prints the same text as the DiffPlex one, and as GNU diff -u.
        /// </summary>
        private static int Agree(int count, int seed)
        {
            var random = new Random(seed);
            string dir = Directory.CreateTempSubdirectory("diffbench").FullName;
            try
            {
                int sameAsOld = 0, oldAsGnu = 0, newAsGnu = 0;
                for (int n = 0; n < count; n++)
                {
                    string a = RandomLines(random, random.Next(0, 30), random.Next(1, 6));
                    string b = random.Next(2) == 0 ? RandomLines(random, random.Next(0, 30), random.Next(1, 6)) : Mutate(random, a);
                    string before = DiffPlexUnifiedDiff.Create(a, b, "old", "new");
                    string after = UnifiedDiff.Create(a, b, "old", "new");
                    string gnu = GnuDiff(dir, a, b);
                    if (before == after) sameAsOld++;
                    if (before == gnu) oldAsGnu++;
                    if (after == gnu) newAsGnu++;
                }
                Console.WriteLine($"{count} random pairs: bounded = DiffPlex in {sameAsOld}; DiffPlex = GNU diff in {oldAsGnu}; bounded = GNU diff in {newAsGnu}");
                return 0;
            }
            finally
            {
                Directory.Delete(dir, recursive: true);
            }
        }

        private static string GnuDiff(string dir, string a, string b)
        {
            File.WriteAllText(Path.Combine(dir, "a"), a);
            File.WriteAllText(Path.Combine(dir, "b"), b);
            var psi = new ProcessStartInfo("diff") { RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var arg in new[] { "-u", "--label", "old", "--label", "new", Path.Combine(dir, "a"), Path.Combine(dir, "b") }) psi.ArgumentList.Add(arg);
            using var diff = Process.Start(psi)!;
            string output = diff.StandardOutput.ReadToEnd();
            diff.WaitForExit();
            return output;
        }

        private static string RandomLines(Random random, int lines, int alphabet)
        {
            var text = new StringBuilder();
            for (int i = 0; i < lines; i++) text.Append((char)('a' + random.Next(alphabet))).Append('\n');
            return text.ToString();
        }

        private static string Mutate(Random random, string text)
        {
            var lines = new List<string>(text.Split('\n'));
            lines.RemoveAt(lines.Count - 1);
            int edits = random.Next(1, 5);
            for (int e = 0; e < edits; e++)
            {
                int at = random.Next(lines.Count + 1);
                switch (random.Next(3))
                {
                    case 0: lines.Insert(at, ((char)('a' + random.Next(6))).ToString()); break;
                    case 1: if (at < lines.Count) lines.RemoveAt(at); break;
                    default: if (at < lines.Count) lines[at] = ((char)('a' + random.Next(6))).ToString(); break;
                }
            }
            return lines.Count == 0 ? "" : string.Join("\n", lines) + "\n";
        }

        /// <summary>
        /// Two outputs of about <paramref name="bytes"/> each, lines of about 64 bytes:
        /// <list type="bullet">
        /// <item>unrelated: random lines on both sides (two hosts printing different data);</item>
        /// <item>scattered: the same unique lines, 1% of them changed (a log or config that drifted);</item>
        /// <item>reordered: the same unique lines, 5% of them moved elsewhere (find or ls output in another order);</item>
        /// <item>repetitive: lines drawn at random from 8 values (the hostile case: nothing unique to anchor on);</item>
        /// <item>numbers: random numbers below 1000, one per line of about 4 bytes (od or shuf output: many short,
        /// repeated lines, the case behind the 25 s per 1 MB first reported).</item>
        /// </list>
        /// </summary>
        private static (string, string) Generate(string kind, int bytes, int seed)
        {
            var random = new Random(seed);
            int lines = Math.Max(1, bytes / 64); // of about 64 bytes
            switch (kind)
            {
                case "unrelated":
                    return (Join(Unique(random, lines, "a")), Join(Unique(random, lines, "b")));
                case "scattered":
                {
                    var a = Unique(random, lines, "x");
                    var b = new List<string>(a);
                    for (int i = 0; i < lines / 100; i++) b[random.Next(lines)] = "changed " + RandomWord(random, 55);
                    return (Join(a), Join(b));
                }
                case "reordered":
                {
                    var a = Unique(random, lines, "x");
                    var b = new List<string>(a);
                    for (int i = 0; i < lines / 20; i++)
                    {
                        int from = random.Next(b.Count);
                        string line = b[from];
                        b.RemoveAt(from);
                        b.Insert(random.Next(b.Count + 1), line);
                    }
                    return (Join(a), Join(b));
                }
                case "repetitive":
                {
                    var values = Unique(random, 8, "v");
                    var a = new List<string>();
                    var b = new List<string>();
                    for (int i = 0; i < lines; i++) { a.Add(values[random.Next(8)]); b.Add(values[random.Next(8)]); }
                    return (Join(a), Join(b));
                }
                case "numbers":
                {
                    var a = new List<string>();
                    var b = new List<string>();
                    for (int i = 0; i < bytes / 4; i++) { a.Add(random.Next(1000).ToString(CultureInfo.InvariantCulture)); b.Add(random.Next(1000).ToString(CultureInfo.InvariantCulture)); }
                    return (Join(a), Join(b));
                }
                default:
                    throw new ArgumentException("case is unrelated, scattered, reordered, repetitive or numbers");
            }
        }

        private static List<string> Unique(Random random, int count, string prefix)
        {
            var lines = new List<string>(count);
            for (int i = 0; i < count; i++) lines.Add($"{prefix}{i:D7} {RandomWord(random, 55)}");
            return lines;
        }

        private static string RandomWord(Random random, int length)
        {
            const string alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/";
            var chars = new char[length];
            for (int i = 0; i < length; i++) chars[i] = alphabet[random.Next(alphabet.Length)];
            return new string(chars);
        }

        private static string Join(List<string> lines) => string.Join("\n", lines) + "\n";

        private static void Baseline(string a, string b)
        {
            using var sha = SHA256.Create();
            sha.ComputeHash(Encoding.UTF8.GetBytes(a));
            sha.ComputeHash(Encoding.UTF8.GetBytes(b));
        }

        private static TimeSpan Cpu()
        {
            using var self = Process.GetCurrentProcess();
            return self.TotalProcessorTime;
        }

        private static int Lines(string text) => Count(text, "\n");

        private static int Count(string text, string what)
        {
            int n = 0;
            for (int at = text.IndexOf(what, StringComparison.Ordinal); at >= 0; at = text.IndexOf(what, at + 1, StringComparison.Ordinal)) n++;
            return n;
        }

            }
}
