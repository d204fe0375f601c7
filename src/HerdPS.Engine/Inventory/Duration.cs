using System;
using System.Globalization;
using System.Text;

namespace HerdPS.Inventory
{
    /// <summary>
    /// Durations as people write them in inventories and on the command line: <c>30s</c>, <c>5m</c>,
    /// <c>1h30m</c>, <c>250ms</c>, <c>2d</c>, or a bare whole number meaning seconds.
    /// Units are <c>d</c>, <c>h</c>, <c>m</c>, <c>s</c>, <c>ms</c>, each at most once and from largest to
    /// smallest, so a typo such as <c>30m1h</c> or <c>1m1m</c> is an error rather than a surprise.
    /// Fractions, signs, spaces and upper-case units are rejected.
    /// </summary>
    public static class Duration
    {
        /// <summary>True for every numeric type PowerShell's parser can make from a literal (30, 30s, 2d, 1kb, 0x1F, 1e3).</summary>
        internal static bool IsNumber(object value) => value is sbyte || value is byte || value is short || value is ushort || value is int || value is uint
            || value is long || value is ulong || value is float || value is double || value is decimal || value is System.Numerics.BigInteger;

        private static readonly (string Unit, long Ticks)[] Units =
        {
            ("d", TimeSpan.TicksPerDay),
            ("h", TimeSpan.TicksPerHour),
            ("m", TimeSpan.TicksPerMinute),
            ("s", TimeSpan.TicksPerSecond),
            ("ms", TimeSpan.TicksPerMillisecond),
        };

        /// <summary>Parses a duration; throws <see cref="FormatException"/> naming the text when it isn't one.</summary>
        public static TimeSpan Parse(string text)
        {
            if (TryParse(text, out var value, out var reason)) return value;
            throw new FormatException(reason);
        }

        public static bool TryParse(string? text, out TimeSpan value) => TryParse(text, out value, out _);

        /// <summary>Parses a duration; on failure <paramref name="reason"/> says what is wrong, naming the text.</summary>
        public static bool TryParse(string? text, out TimeSpan value, out string reason)
        {
            value = TimeSpan.Zero;
            reason = "";
            if (string.IsNullOrEmpty(text))
            {
                reason = "a duration can't be empty; write e.g. 30s, 5m, 1h30m, 250ms or 2d";
                return false;
            }

            string s = text!;
            string Invalid(string why) =>
                $"'{QuotedText.Of(s)}' is not a duration: {why}; write e.g. 30s, 5m, 1h30m, 250ms, 2d, or a whole number of seconds";

            long totalTicks = 0;
            int previousUnitIndex = -1;
            int i = 0;
            while (i < s.Length)
            {
                int digitsStart = i;
                while (i < s.Length && s[i] >= '0' && s[i] <= '9') i++;
                if (i == digitsStart)
                {
                    reason = Invalid(s[i] == '-' ? "it can't be negative" : $"expected a number at position {i + 1}");
                    return false;
                }
                if (!long.TryParse(s.Substring(digitsStart, i - digitsStart), NumberStyles.None, CultureInfo.InvariantCulture, out long amount))
                {
                    reason = Invalid("the number is too large");
                    return false;
                }

                int unitStart = i;
                while (i < s.Length && (s[i] < '0' || s[i] > '9')) i++;
                string unit = s.Substring(unitStart, i - unitStart);

                long unitTicks;
                if (unit.Length == 0)
                {
                    // A bare number means seconds, but only on its own: "1h30" is ambiguous.
                    if (digitsStart != 0)
                    {
                        reason = Invalid("a number without a unit is only allowed on its own");
                        return false;
                    }
                    unitTicks = TimeSpan.TicksPerSecond;
                }
                else
                {
                    int unitIndex = Array.FindIndex(Units, u => u.Unit == unit);
                    if (unitIndex < 0)
                    {
                        reason = Invalid($"unknown unit '{unit}' (units are d, h, m, s, ms)");
                        return false;
                    }
                    if (unitIndex <= previousUnitIndex)
                    {
                        reason = Invalid("units must go from largest to smallest, each at most once");
                        return false;
                    }
                    previousUnitIndex = unitIndex;
                    unitTicks = Units[unitIndex].Ticks;
                }

                try
                {
                    totalTicks = checked(totalTicks + checked(amount * unitTicks));
                }
                catch (OverflowException)
                {
                    reason = Invalid("it is too long");
                    return false;
                }
            }

            value = TimeSpan.FromTicks(totalTicks);
            return true;
        }

        /// <summary>
        /// The compact form <see cref="Parse"/> reads back ("1m30s", "250ms", "0s"). Precision below a
        /// millisecond is dropped.
        /// </summary>
        public static string Format(TimeSpan value)
        {
            if (value < TimeSpan.Zero)
                throw new ArgumentOutOfRangeException(nameof(value), value, "A duration can't be negative.");

            long remaining = value.Ticks - value.Ticks % TimeSpan.TicksPerMillisecond;
            if (remaining == 0) return "0s";

            var text = new StringBuilder();
            foreach (var (unit, ticks) in Units)
            {
                long amount = remaining / ticks;
                if (amount == 0) continue;
                text.Append(amount.ToString(CultureInfo.InvariantCulture)).Append(unit);
                remaining -= amount * ticks;
            }
            return text.ToString();
        }
    }
}
