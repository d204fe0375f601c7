using System;

namespace HerdPS.Inventory
{
    /// <summary>
    /// An inventory that can't be used as written. The message always names the file and, where known,
    /// the line and column, so the user can go straight to the problem. Nothing runs after one of these.
    /// </summary>
    public sealed class InventoryException : Exception
    {
        public InventoryException(string message, string? file = null, int line = 0, int column = 0, Exception? inner = null)
            : base(Format(Shorten(message), file, line, column), inner)
        {
            File = file;
            Line = line;
            Column = column;
            Reason = Shorten(message);
        }

        public string? File { get; }
        public int Line { get; }
        public int Column { get; }
        /// <summary>The message without the location prefix.</summary>
        public string Reason { get; }

        /// <summary>Longer messages are cut in the middle (a name quoted whole in a reason could be megabytes).</summary>
        public const int MaxMessageLength = 2000;

        private static string Shorten(string message) =>
            message.Length > MaxMessageLength ? QuotedText.CutMiddle(message, MaxMessageLength / 2, MaxMessageLength / 4, "characters left out") : message;

        private static string Format(string message, string? file, int line, int column)
        {
            if (file == null) return message;
            if (line <= 0) return $"{file}: {message}";
            return column > 0 ? $"{file}:{line}:{column}: {message}" : $"{file}:{line}: {message}";
        }
    }
}
