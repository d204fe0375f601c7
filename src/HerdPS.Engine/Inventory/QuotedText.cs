namespace HerdPS.Inventory
{
    /// <summary>
    /// Text from an inventory as an error message quotes it: control characters escaped as every view escapes them
    /// (<see cref="Display.TerminalText.Line(string?)"/>) and a long text cut in the middle, so a 100 KB "host name"
    /// gives a readable one-line error with both its ends, not 100 KB of it.
    /// </summary>
    internal static class QuotedText
    {
        public const int MaxLength = 100;

        public static string Of(string text) =>
            Display.TerminalText.Line(text.Length > MaxLength ? CutMiddle(text, MaxLength * 2 / 3, MaxLength / 6, "more characters") : text);

        /// <summary>The first <paramref name="head"/> and last <paramref name="tail"/> characters with "...(N more)..." between.</summary>
        public static string CutMiddle(string text, int head, int tail, string what)
        {
            // Never split a surrogate pair: move the cuts off a pair's halves.
            if (char.IsHighSurrogate(text[head - 1])) head--;
            if (char.IsLowSurrogate(text[text.Length - tail])) tail--;
            return text.Substring(0, head) + $"...({text.Length - head - tail:N0} {what})..." + text.Substring(text.Length - tail);
        }
    }
}
