using System.IO;
using System.Text;
using HerdPS.Display;

namespace HerdPS.Cli
{
    /// <summary>
    /// herd's stdout and stderr as text writers that can't pass a raw control character: whatever a view or a
    /// message forgot to escape is escaped here, by the same rules (<see cref="TerminalText"/>), so a host's output
    /// can never drive the terminal. Newline and tab pass (layout). The views escape on their own first, with the
    /// one-line or block rule each place needs; this is the backstop for every path, including System.CommandLine's
    /// own messages. NDJSON is untouched by it: its escaping leaves no control character, and herd exec writes
    /// it to the stdout stream directly.
    /// </summary>
    internal sealed class TerminalSafeWriter : TextWriter
    {
        private readonly TextWriter _inner;

        public TerminalSafeWriter(TextWriter inner)
        {
            _inner = inner;
        }

        public override Encoding Encoding => _inner.Encoding;

        public override void Write(char value)
        {
            if (Passes(value)) _inner.Write(value);
            else _inner.Write(Escaped(value));
        }

        public override void Write(string? value)
        {
            if (value == null) return;
            _inner.Write(Safe(value));
        }

        public override void Write(char[] buffer, int index, int count) => Write(new string(buffer, index, count));

        // The platform's newline ("\r\n" on Windows) is herd's own layout, not content.
        public override void WriteLine() => _inner.WriteLine();

        public override void WriteLine(string? value)
        {
            Write(value);
            _inner.WriteLine();
        }

        public override void Flush() => _inner.Flush();

        protected override void Dispose(bool disposing)
        {
            if (disposing) _inner.Flush();
            base.Dispose(disposing);
        }

        private static bool Passes(char c) => c == '\n' || c == '\t' || !TerminalText.IsUnsafe(c);

        private static string Safe(string text)
        {
            int i = 0;
            while (i < text.Length && Passes(text[i])) i++;
            if (i == text.Length) return text;
            var escaped = new StringBuilder(text.Length + 16).Append(text, 0, i);
            for (; i < text.Length; i++)
            {
                if (Passes(text[i])) escaped.Append(text[i]);
                else TerminalText.AppendEscape(escaped, text[i]);
            }
            return escaped.ToString();
        }

        private static string Escaped(char c)
        {
            var s = new StringBuilder(6);
            TerminalText.AppendEscape(s, c);
            return s.ToString();
        }
    }
}
