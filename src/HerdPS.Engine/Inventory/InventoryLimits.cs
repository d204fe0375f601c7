using System;
using System.Globalization;

namespace HerdPS.Inventory
{
    /// <summary>
    /// How much one inventory may hold, so that a typo or a hostile file ends in a clear error instead of minutes of
    /// CPU, gigabytes of memory or a crashed process (docs/inventory.md, "Limits"):
    /// <list type="bullet">
    /// <item><see cref="MaxHosts"/>: host entries, counting every name each time it is listed and every name a
    /// range expands to, checked before a range is expanded. 100,000 unless <c>HERD_MAX_HOSTS</c> says otherwise;
    /// the same number bounds a host list and the ranges given on the command line.</item>
    /// <item><see cref="MaxTagsPerHost"/>: tags one host ends up with, and items in one <c>tags:</c> list.</item>
    /// <item><see cref="MaxNestingDepth"/>: YAML collections inside collections. An inventory needs 6; the limit
    /// stops a document nested thousands deep before the YAML library's recursive reader overflows the stack.</item>
    /// </list>
    /// </summary>
    public sealed class InventoryLimits
    {
        public const int DefaultMaxHosts = 100_000;
        public const int MaxTagsPerHost = 256;
        public const int MaxNestingDepth = 64;

        /// <summary>The environment variable that raises (or lowers) <see cref="MaxHosts"/>.</summary>
        public const string MaxHostsVariable = "HERD_MAX_HOSTS";

        public InventoryLimits(int maxHosts = DefaultMaxHosts)
        {
            if (maxHosts < 1) throw new ArgumentOutOfRangeException(nameof(maxHosts), "The host limit must be at least 1.");
            MaxHosts = maxHosts;
        }

        public int MaxHosts { get; }

        public static InventoryLimits Default { get; } = new InventoryLimits();

        /// <summary>
        /// The limits with <c>HERD_MAX_HOSTS</c> applied when it is set. A value that isn't a whole number from 1 to
        /// 2,147,483,647 is an <see cref="InventoryException"/> naming the variable: never a silent default.
        /// </summary>
        public static InventoryLimits FromEnvironment(Func<string, string?> getEnv)
        {
            if (getEnv == null) throw new ArgumentNullException(nameof(getEnv));
            string? text = getEnv(MaxHostsVariable);
            if (string.IsNullOrEmpty(text)) return Default;
            string value = text!.Trim();
            if (value.Length > 0 && value.Length <= 10 && IsDigits(value)
                && int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int maxHosts) && maxHosts >= 1)
                return new InventoryLimits(maxHosts);
            throw new InventoryException(
                $"${MaxHostsVariable} is '{QuotedText.Of(text)}'; it must be a whole number of hosts from 1 to 2,147,483,647 (the default is {DefaultMaxHosts:N0})");
        }

        /// <summary>The sentence an error ends with, telling how to raise the host limit.</summary>
        internal string HowToRaiseHosts() =>
            $"the limit is {MaxHosts:N0} host entries, counting each name every time it is listed; set ${MaxHostsVariable} to raise it";

        private static bool IsDigits(string text)
        {
            foreach (char c in text) if (c < '0' || c > '9') return false;
            return true;
        }
    }
}
