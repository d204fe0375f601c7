using System;
using System.Collections.Generic;
using System.Text;
using System.Threading;

namespace HerdPS.Tests.Fuzzing
{
    /// <summary>
    /// Deterministic fuzzing for any parser of text (inventories today; fleet scripts and other formats later).
    /// Each case is a generated document or a valid one from the corpus, with one to four mutations stacked on it:
    /// spans deleted, duplicated or moved, characters replaced (control, non-ASCII, lone surrogates), tokens of the
    /// language inserted, a token repeated thousands of times (deep nesting, huge lists), lines swapped or
    /// re-indented, two documents spliced, the end cut off. The same seed gives the same cases on every machine,
    /// so a failure names its seed and case number and replays exactly.
    /// </summary>
    public sealed class TextFuzzer
    {
        private static readonly string[] OddCharacters =
        {
            "\0", "\t", "\r", "\n", "\u001b", "\u007f", "\u0085", "\u00a0", "\u2028", "\u202e", "\ufeff", "\ufffd",
            "\ud800", "\udc00", "😀", "é", "ı", "\u0130", " ", "\\", "\"", "'", "%", "@", "!", "&", "*", "|", ">", "#",
        };

        private readonly Random random;
        private readonly IReadOnlyList<string> corpus;
        private readonly IReadOnlyList<string> tokens;
        private readonly Func<Random, string>? generate;
        private readonly int maxLength;

        /// <param name="seed">Chooses every case.</param>
        /// <param name="corpus">Valid documents to mutate.</param>
        /// <param name="tokens">Fragments of the language (keywords, brackets, punctuation) to insert and repeat.</param>
        /// <param name="generate">Makes a fresh, mostly well-formed document from the random source; optional.</param>
        /// <param name="maxLength">Cases are cut to this many characters, so a run stays fast.</param>
        public TextFuzzer(int seed, IReadOnlyList<string> corpus, IReadOnlyList<string> tokens, Func<Random, string>? generate = null, int maxLength = 200_000)
        {
            if (corpus.Count == 0 && generate == null) throw new ArgumentException("give a corpus, a generator, or both");
            random = new Random(seed);
            this.corpus = corpus;
            this.tokens = tokens;
            this.generate = generate;
            this.maxLength = maxLength;
        }

        /// <summary>The next case.</summary>
        public string Next()
        {
            string text = Source();
            int mutations = random.Next(5); // 0: the source as it is (generated documents are cases too)
            for (int i = 0; i < mutations; i++) text = Mutate(text);
            return text.Length > maxLength ? text.Substring(0, maxLength) : text;
        }

        private string Source() =>
            generate != null && (corpus.Count == 0 || random.Next(2) == 0) ? generate(random) : corpus[random.Next(corpus.Count)];

        private string Mutate(string text)
        {
            int at = random.Next(text.Length + 1);
            int span = Math.Min(text.Length - at, random.Next(1, 40));
            switch (random.Next(11))
            {
                case 0: return text.Remove(at, span);
                case 1: return text.Insert(at, text.Substring(at, span));
                case 2: return text.Insert(at, Token());
                case 3: return text.Insert(at, OddCharacters[random.Next(OddCharacters.Length)]);
                case 4: return span == 0 ? text : text.Remove(at, 1).Insert(at, OddCharacters[random.Next(OddCharacters.Length)]);
                case 5: return text.Insert(at, Repeat(random.Next(2) == 0 ? Token() : text.Substring(at, span), Amount()));
                case 6: return SwapLines(text);
                case 7: return Reindent(text);
                case 8:
                {
                    string other = Source();
                    return text.Substring(0, at) + other.Substring(random.Next(other.Length + 1));
                }
                case 9: return text.Substring(0, at);
                default:
                    // Move a span elsewhere.
                    string moved = text.Substring(at, span);
                    string rest = text.Remove(at, span);
                    return rest.Insert(random.Next(rest.Length + 1), moved);
            }
        }

        private string Token() => tokens.Count == 0 ? "x" : tokens[random.Next(tokens.Count)];

        /// <summary>Mostly a few, sometimes thousands: the shapes that find quadratic loops and deep recursion.</summary>
        private int Amount() => random.Next(4) == 0 ? random.Next(1_000, 25_000) : random.Next(2, 50);

        private static string Repeat(string piece, int times)
        {
            var text = new StringBuilder(piece.Length * times);
            for (int i = 0; i < times; i++) text.Append(piece);
            return text.ToString();
        }

        private string SwapLines(string text)
        {
            var lines = text.Split('\n');
            if (lines.Length < 2) return text;
            int a = random.Next(lines.Length), b = random.Next(lines.Length);
            (lines[a], lines[b]) = (lines[b], lines[a]);
            return string.Join("\n", lines);
        }

        private string Reindent(string text)
        {
            var lines = text.Split('\n');
            int i = random.Next(lines.Length);
            string trimmed = lines[i].TrimStart(' ');
            lines[i] = new string(random.Next(8) == 0 ? '\t' : ' ', random.Next(0, 12)) + trimmed;
            return string.Join("\n", lines);
        }

        /// <summary>
        /// Runs <paramref name="parse"/> on a thread of its own with a 1 MiB stack (Windows' default, smaller than
        /// Linux's: a parser that recurses per level of input fails here first) and returns what it threw, or null.
        /// A parse that hasn't ended within <paramref name="bound"/> is a <see cref="TimeoutException"/>: a hang
        /// is a failure like a crash. (The thread can't be stopped; it is a background thread, so it can't keep
        /// the test host alive either.)
        /// </summary>
        public static Exception? RunBounded(Action parse, TimeSpan bound)
        {
            Exception? thrown = null;
            var thread = new Thread(() =>
            {
                try { parse(); }
                catch (Exception e) { thrown = e; }
            }, maxStackSize: 1024 * 1024) { IsBackground = true, Name = "fuzz case" };
            thread.Start();
            if (!thread.Join(bound)) throw new TimeoutException($"the parse did not end within {bound.TotalSeconds:0.#} s");
            return thrown;
        }

        /// <summary>A case as a failure message shows it: escaped, and cut to a readable length.</summary>
        public static string Show(string text)
        {
            var shown = new StringBuilder();
            foreach (char c in text.Length > 600 ? text.Substring(0, 600) : text)
            {
                if (c == '\n') shown.Append("\\n");
                else if (c < ' ' || c == '\u007f' || char.IsSurrogate(c) || (c >= '\u0080' && c < '\u00a0') || c == '\u2028' || c == '\u202e')
                    shown.Append("\\u").Append(((int)c).ToString("x4"));
                else shown.Append(c);
            }
            if (text.Length > 600) shown.Append($"... ({text.Length:N0} characters)");
            return shown.ToString();
        }
    }
}
