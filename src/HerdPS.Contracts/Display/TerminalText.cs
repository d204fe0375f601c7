using System;
using System.Globalization;
using System.Text;

namespace HerdPS.Display
{
    /// <summary>
    /// The one place that decides what of a text may reach a terminal. Remote output, file contents, host names,
    /// ssh's messages and anything a user typed can hold bytes a terminal acts on: <c>ESC ] 0 ; title BEL</c>
    /// retitles the window, <c>ESC [ 1 A ESC [ 2 K</c> moves up and erases another host's line, OSC 52 writes the
    /// clipboard, C1 controls (U+0080-U+009F) are the same commands in one character, and bidirectional overrides
    /// (U+202E and friends) make text read differently from what it is. Every human view escapes text through here,
    /// so what is shown is visible and inert:
    /// <list type="bullet">
    /// <item>C0 controls and DEL as <c>\xHH</c> (<c>\x1b</c> for ESC, <c>\x07</c> for BEL), with <c>\n</c>, <c>\t</c> and
    /// <c>\r</c> spelled as such;</item>
    /// <item>C1 controls, Unicode format characters (bidi controls, zero-width spaces, the BOM, soft hyphens),
    /// line and paragraph separators and unpaired surrogates as <c>\uHHHH</c>. Zero-width joiner and non-joiner
    /// stay: scripts and emoji need them to render, and they can't move or hide other text.</item>
    /// </list>
    /// Newline and tab stay only where they are layout: in a block of output (<see cref="Block"/>) or within one of
    /// its lines (<see cref="OutputLine"/>). A backslash is not escaped, so escaped text is readable, not reversible:
    /// machine-readable output (NDJSON, objects) keeps the exact content and never goes through here.
    /// </summary>
    public static class TerminalText
    {
        /// <summary>How much of a value an error message quotes before it cuts it short.</summary>
        public const int DefaultQuoteLength = 80;

        /// <summary>Text shown on one line (a name, a command, a message): every control character escaped, newline and tab included.</summary>
        public static string Line(string? text) => Escape(text, keepTabs: false, keepNewlines: false);

        /// <summary>
        /// <see cref="Line(string?)"/>, cut after <paramref name="maxLength"/> characters of the original text with
        /// "... (N characters)", so a huge value can't flood a terminal or a log.
        /// </summary>
        public static string Line(string? text, int maxLength)
        {
            if (text == null) return "";
            if (text.Length <= maxLength) return Line(text);
            return Line(Prefix(text, maxLength)) + "... (" + text.Length.ToString(CultureInfo.InvariantCulture) + " characters)";
        }

        /// <summary>One line of command output or of a file: tabs stay (they are its layout), everything else is escaped.</summary>
        public static string OutputLine(string? text) => Escape(text, keepTabs: true, keepNewlines: false);

        /// <summary>Several lines of output: newlines (CRLF read as a newline) and tabs stay, everything else is escaped.</summary>
        public static string Block(string? text) => Escape(text, keepTabs: true, keepNewlines: true);

        /// <summary>
        /// A value quoted inside a message: <c>'web-01'</c>. Escaped as <see cref="Line(string?)"/>; past
        /// <paramref name="maxLength"/> characters it is cut and the length said, <c>'aaaa...' (10485760 characters)</c>.
        /// </summary>
        public static string Quote(string? value, int maxLength = DefaultQuoteLength)
        {
            if (value == null) return "''";
            if (value.Length <= maxLength) return "'" + Line(value) + "'";
            return "'" + Line(Prefix(value, maxLength)) + "...' (" + value.Length.ToString(CultureInfo.InvariantCulture) + " characters)";
        }

        /// <summary>True when <paramref name="c"/> must never reach a terminal as it is (newline and tab aside, which the caller decides).</summary>
        public static bool IsUnsafe(char c)
        {
            if (c < 0x20 || c == 0x7F) return true;
            if (c < 0x80) return false;
            if (c <= 0x9F) return true; // C1 controls: CSI (U+009B), OSC (U+009D), ... in one character
            if (c == '\u200C' || c == '\u200D') return false;
            switch (CharUnicodeInfo.GetUnicodeCategory(c))
            {
                case UnicodeCategory.Format:             // bidi overrides and isolates, zero-width space, BOM, soft hyphen
                case UnicodeCategory.LineSeparator:      // U+2028
                case UnicodeCategory.ParagraphSeparator: // U+2029
                    return true;
                default:
                    return false;
            }
        }

        private static string Escape(string? text, bool keepTabs, bool keepNewlines)
        {
            if (string.IsNullOrEmpty(text)) return "";
            int first = FirstToEscape(text!, keepTabs, keepNewlines);
            if (first < 0) return text!;
            var escaped = new StringBuilder(text!.Length + 16);
            escaped.Append(text, 0, first);
            for (int i = first; i < text.Length; i++)
            {
                char c = text[i];
                if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                {
                    escaped.Append(c).Append(text[++i]); // a well-formed pair is an ordinary character (emoji, CJK extensions)
                    continue;
                }
                if (keepNewlines && c == '\r' && i + 1 < text.Length && text[i + 1] == '\n') continue; // CRLF is a newline
                if (Keeps(c, keepTabs, keepNewlines)) escaped.Append(c);
                else AppendEscape(escaped, c);
            }
            return escaped.ToString();
        }

        private static int FirstToEscape(string text, bool keepTabs, bool keepNewlines)
        {
            for (int i = 0; i < text.Length; i++)
            {
                char c = text[i];
                if (c >= 0x20 && c < 0x7F) continue; // the common case, printable ASCII
                if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) { i++; continue; }
                if (!Keeps(c, keepTabs, keepNewlines)) return i;
            }
            return -1;
        }

        private static bool Keeps(char c, bool keepTabs, bool keepNewlines)
        {
            if (c == '\n') return keepNewlines;
            if (c == '\t') return keepTabs;
            return !IsUnsafe(c) && !char.IsSurrogate(c);
        }

        /// <summary>The visible form of one character that may not be shown as it is.</summary>
        public static void AppendEscape(StringBuilder into, char c)
        {
            switch (c)
            {
                case '\n': into.Append("\\n"); return;
                case '\t': into.Append("\\t"); return;
                case '\r': into.Append("\\r"); return;
            }
            if (c < 0x80) into.Append("\\x").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
            else into.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
        }

        /// <summary>The first <paramref name="length"/> characters, never ending inside a surrogate pair.</summary>
        private static string Prefix(string text, int length)
        {
            if (length <= 0) return "";
            if (char.IsHighSurrogate(text[length - 1])) length--;
            return text.Substring(0, length);
        }
    }
}
