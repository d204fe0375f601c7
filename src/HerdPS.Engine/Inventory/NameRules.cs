using System;
using System.Globalization;
using HerdPS.Display;

namespace HerdPS.Inventory
{
    /// <summary>
    /// What a host, user, group or tag name may contain. Host and user names end up on an ssh command
    /// line and, through ssh_config tokens such as <c>%h</c> in a ProxyCommand, in a shell: so a name
    /// must never be able to become an ssh option (leading <c>-</c>) or more than one shell word
    /// (whitespace, control characters, shell metacharacters). The rules are allow-lists, ASCII only:
    /// <list type="bullet">
    /// <item>host names: letters, digits, <c>.</c> <c>-</c> <c>_</c> <c>:</c> (IPv6 literals), and one
    /// <c>%</c> only as the zone separator of an IPv6 literal (<c>fe80::1%eth0</c>); internationalized
    /// names in their <c>xn--</c> form. Brackets are range syntax, expanded before this check.</item>
    /// <item>user names: letters, digits, <c>.</c> <c>-</c> <c>_</c>.</item>
    /// <item>group and tag names: letters, digits, <c>.</c> <c>-</c> <c>_</c> <c>:</c> <c>/</c>, not
    /// starting with <c>-</c> or <c>!</c> (which a tag expression reads as negation).</item>
    /// </list>
    /// Every check returns the reason as a sentence naming the rejected text.
    /// </summary>
    public static class NameRules
    {
        public const int MaxHostNameLength = 253;
        public const int MaxLabelLength = 128;
        public const int MaxUserNameLength = 64;

        public static bool IsValidHostName(string? name, out string reason)
        {
            reason = "";
            if (!CheckCommon("host name", name, MaxHostNameLength, out reason)) return false;
            string text = name!;

            int percent = text.IndexOf('%');
            for (int i = 0; i < text.Length; i++)
            {
                char c = text[i];
                if (IsAsciiLetterOrDigit(c) || c == '.' || c == '-' || c == '_' || c == ':') continue;
                if (c == '%' && i == percent) continue;
                reason = Rejected("host name", text, Explain(c, "host name"));
                return false;
            }

            if (percent >= 0)
            {
                // Only an IPv6 literal has a zone ("fe80::1%eth0"); anywhere else '%' is an ssh token.
                if (text.IndexOf(':') < 0 || text.IndexOf(':') > percent)
                {
                    reason = Rejected("host name", text, "'%' is only allowed as the zone of an IPv6 address, as in fe80::1%eth0");
                    return false;
                }
                if (percent == text.Length - 1)
                {
                    reason = Rejected("host name", text, "the IPv6 zone after '%' is empty");
                    return false;
                }
            }
            return true;
        }

        public static bool IsValidUserName(string? name, out string reason)
        {
            reason = "";
            if (!CheckCommon("user name", name, MaxUserNameLength, out reason)) return false;
            string text = name!;
            foreach (char c in text)
            {
                if (IsAsciiLetterOrDigit(c) || c == '.' || c == '-' || c == '_') continue;
                reason = Rejected("user name", text, Explain(c, "user name"));
                return false;
            }
            return true;
        }

        public static bool IsValidGroupName(string? name, out string reason) => IsValidLabel("group name", name, out reason);

        public static bool IsValidTagName(string? name, out string reason) => IsValidLabel("tag", name, out reason);

        private static bool IsValidLabel(string what, string? name, out string reason)
        {
            reason = "";
            if (!CheckCommon(what, name, MaxLabelLength, out reason)) return false;
            string text = name!;
            if (text[0] == '!')
            {
                reason = Rejected(what, text, "it starts with '!', which a tag expression reads as NOT");
                return false;
            }
            foreach (char c in text)
            {
                if (IsAsciiLetterOrDigit(c) || c == '.' || c == '-' || c == '_' || c == ':' || c == '/') continue;
                reason = Rejected(what, text, Explain(c, what));
                return false;
            }
            return true;
        }

        /// <summary>The checks every kind of name shares: present, short enough, not an option.</summary>
        private static bool CheckCommon(string what, string? name, int maxLength, out string reason)
        {
            reason = "";
            if (string.IsNullOrEmpty(name))
            {
                reason = $"a {what} can't be empty";
                return false;
            }
            string text = name!;
            if (text.Length > maxLength)
            {
                reason = Rejected(what, text, $"it is longer than {maxLength} characters");
                return false;
            }
            if (text[0] == '-')
            {
                reason = Rejected(what, text, "it starts with '-', which ssh would read as an option");
                return false;
            }
            return true;
        }

        private static string Explain(char c, string what)
        {
            if (char.IsWhiteSpace(c)) return "it contains whitespace";
            if (char.IsControl(c)) return $"it contains the control character U+{(int)c:X4}";
            if (c == '@') return "it contains '@'; give the user separately";
            if (c == '[' || c == ']') return $"it contains '{c}'; brackets are only allowed as a range such as web[01-20]";
            if (c > 127) return what == "host name"
                ? $"it contains {TerminalText.Quote(c.ToString())}; host names are ASCII (write an internationalized name in its xn-- form)"
                : $"it contains {TerminalText.Quote(c.ToString())}; only ASCII letters and digits are allowed";
            if (";&|$`'\"<>()\\*?{}!#~=,".IndexOf(c) >= 0) return $"it contains '{c}', which a shell or ssh would interpret";
            return $"it contains '{c}', which is not allowed in a {what}";
        }

        /// <summary>
        /// The rejected text is quoted through <see cref="TerminalText.Quote"/>: escaped, so the message can't itself
        /// drive a terminal, and cut short with its length said, so a 10 MB name isn't echoed whole.
        /// </summary>
        private static string Rejected(string what, string text, string why) =>
            $"{what} {TerminalText.Quote(text)} is not allowed: {why}";

        private static bool IsAsciiLetterOrDigit(char c) =>
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    }
}
