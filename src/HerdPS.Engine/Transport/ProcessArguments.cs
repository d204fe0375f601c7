using System.Collections.Generic;
using System.Text;

namespace HerdPS.Transport
{
    /// <summary>
    /// Joins an argument vector into one <c>ProcessStartInfo.Arguments</c> string that .NET splits back into
    /// exactly the same vector. netstandard2.0 has no <c>ArgumentList</c>, and .NET splits <c>Arguments</c> by the
    /// Windows (CommandLineToArgvW) rules on every platform, so this follows those rules: quote when needed,
    /// double the backslashes that precede a quote, escape embedded quotes.
    /// </summary>
    public static class ProcessArguments
    {
        public static string Join(IEnumerable<string> arguments)
        {
            var sb = new StringBuilder();
            foreach (var arg in arguments)
            {
                if (sb.Length > 0) sb.Append(' ');
                Append(sb, arg);
            }
            return sb.ToString();
        }

        private static void Append(StringBuilder sb, string arg)
        {
            if (arg.Length != 0 && arg.IndexOfAny(NeedsQuoting) < 0)
            {
                sb.Append(arg);
                return;
            }
            sb.Append('"');
            var i = 0;
            while (i < arg.Length)
            {
                var backslashes = 0;
                while (i < arg.Length && arg[i] == '\\') { backslashes++; i++; }
                if (i == arg.Length)
                {
                    // Backslashes before the closing quote must be doubled or they'd escape it.
                    sb.Append('\\', backslashes * 2);
                    break;
                }
                if (arg[i] == '"')
                {
                    sb.Append('\\', backslashes * 2 + 1);
                    sb.Append('"');
                }
                else
                {
                    sb.Append('\\', backslashes);
                    sb.Append(arg[i]);
                }
                i++;
            }
            sb.Append('"');
        }

        private static readonly char[] NeedsQuoting = { ' ', '\t', '\n', '\v', '"', '\r' };
    }
}
