using System.Globalization;

namespace HerdPS.Inventory
{
    /// <summary>
    /// <c>[user@]host[:port]</c> as written in a plain host list or on the command line. An IPv6 address
    /// with a port is bracketed (<c>[::1]:22</c>, <c>admin@[fe80::1%eth0]:2222</c>); an unbracketed text
    /// with more than one ':' is an IPv6 address without a port. The host part may still be a range
    /// pattern (<c>web[01-03]</c>); the caller decides whether to expand it and checks the names.
    /// </summary>
    internal sealed class HostSpec
    {
        private HostSpec(string? user, string host, int? port, bool isBracketedAddress)
        {
            User = user;
            Host = host;
            Port = port;
            IsBracketedAddress = isBracketedAddress;
        }

        public string? User { get; }
        /// <summary>The host name, address or range pattern, without the IPv6 brackets.</summary>
        public string Host { get; }
        public int? Port { get; }
        /// <summary>True for <c>[::1]</c> forms: the host is an address, never a range pattern.</summary>
        public bool IsBracketedAddress { get; }

        public static bool TryParse(string text, out HostSpec? spec, out string reason)
        {
            spec = null;
            reason = "";
            if (string.IsNullOrEmpty(text))
            {
                reason = "a host can't be empty";
                return false;
            }

            string? user = null;
            string rest = text;
            int at = text.LastIndexOf('@');
            if (at >= 0)
            {
                user = text.Substring(0, at);
                rest = text.Substring(at + 1);
                if (!NameRules.IsValidUserName(user, out reason)) return false;
            }

            string host;
            string? portText = null;
            bool bracketed = false;
            if (rest.StartsWith("[") && StartsWithAddressInBrackets(rest, out int close))
            {
                bracketed = true;
                host = rest.Substring(1, close - 1);
                string after = rest.Substring(close + 1);
                if (after.Length > 0)
                {
                    if (after[0] != ':')
                    {
                        reason = $"'{QuotedText.Of(text)}' has '{QuotedText.Of(after)}' after the bracketed address; write [address]:port";
                        return false;
                    }
                    portText = after.Substring(1);
                }
            }
            else
            {
                int firstColon = rest.IndexOf(':');
                int lastColon = rest.LastIndexOf(':');
                if (firstColon >= 0 && firstColon == lastColon)
                {
                    host = rest.Substring(0, lastColon);
                    portText = rest.Substring(lastColon + 1);
                }
                else
                {
                    host = rest; // no port, or an IPv6 address written without brackets
                }
            }

            int? port = null;
            if (portText != null)
            {
                if (!TryParsePort(portText, out int value, out reason)) return false;
                port = value;
            }
            if (bracketed && !NameRules.IsValidHostName(host, out reason)) return false;
            if (host.Length == 0)
            {
                reason = $"'{QuotedText.Of(text)}' has no host name";
                return false;
            }

            spec = new HostSpec(user, host, port, bracketed);
            return true;
        }

        /// <summary>Ports are 1-65535, written as plain digits.</summary>
        public static bool TryParsePort(string text, out int port, out string reason)
        {
            reason = "";
            port = 0;
            bool digits = text.Length > 0 && text.Length <= 5;
            foreach (char c in text) digits &= c >= '0' && c <= '9';
            if (digits && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port >= 1 && port <= 65535)
                return true;
            reason = $"port '{QuotedText.Of(text)}' is not valid: a port is a whole number from 1 to 65535";
            return false;
        }

        /// <summary>A leading bracket holding a ':' is an IPv6 address; anything else is a range pattern.</summary>
        private static bool StartsWithAddressInBrackets(string rest, out int close)
        {
            close = rest.IndexOf(']');
            return close > 0 && rest.IndexOf(':', 1) is int colon && colon > 0 && colon < close;
        }
    }
}
