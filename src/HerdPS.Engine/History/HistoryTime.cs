using System;
using System.Globalization;

namespace HerdPS.History
{
    /// <summary>
    /// How times are stored: UTC text of fixed width, so text order is time order (the index on started_utc
    /// serves "since" and "newest first"), ticks survive the round trip, and sqlite3 users can read them.
    /// </summary>
    internal static class HistoryTime
    {
        private const string Format = "yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'";

        /// <summary>
        /// The engine speaks UTC. A local time is converted; an unspecified one is taken as already UTC,
        /// because guessing a time zone in the engine would make the same script mean different things on
        /// different machines. Front ends that accept user-typed dates convert them before they get here.
        /// </summary>
        public static DateTime ToUtc(DateTime time) => time.Kind switch
        {
            DateTimeKind.Local => time.ToUniversalTime(),
            DateTimeKind.Unspecified => DateTime.SpecifyKind(time, DateTimeKind.Utc),
            _ => time,
        };

        public static string ToText(DateTime time) => ToUtc(time).ToString(Format, CultureInfo.InvariantCulture);

        public static DateTime Parse(string text)
            => DateTime.ParseExact(text, Format, CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
    }
}
