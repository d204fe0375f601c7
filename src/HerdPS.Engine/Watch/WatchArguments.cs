using System;
using System.Globalization;
using HerdPS.Execution;
using HerdPS.Inventory;

namespace HerdPS.Watch
{
    /// <summary>
    /// Watch-Fleet's parameters and output rules, decided here (the cmdlet only passes them through): what an
    /// -Interval value means, the options a watch runs with, which results are written with -ChangesOnly, and
    /// which hosts get an error record. The same limits as <c>herd watch</c>.
    /// </summary>
    public static class WatchArguments
    {
        /// <summary>
        /// -Interval as the user gave it: a TimeSpan, a number of seconds (<c>-Interval 30</c>; PowerShell would
        /// otherwise read 30 as 30 ticks), or text: a duration (<c>30s</c>, <c>5m</c>, <c>1h</c>) or a TimeSpan
        /// (<c>00:00:30</c>).
        /// </summary>
        /// <exception cref="ArgumentException">Anything else.</exception>
        public static TimeSpan Interval(object? value)
        {
            switch (value)
            {
                case TimeSpan t: return t;
                case int s: return TimeSpan.FromSeconds(s);
                case long s: return TimeSpan.FromSeconds(s);
                case double s: return TimeSpan.FromSeconds(s);
                case decimal s: return TimeSpan.FromSeconds((double)s);
                case string text:
                    text = text.Trim();
                    if (Duration.TryParse(text, out var d)) return d;
                    if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds)) return TimeSpan.FromSeconds(seconds);
                    if (TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var span)) return span;
                    throw new ArgumentException($"-Interval: '{text}' is not a duration (30s, 5m) or a number of seconds", "Interval");
                default:
                    throw new ArgumentException($"-Interval takes a duration (30s, 5m), a number of seconds or a TimeSpan, not '{value}'", "Interval");
            }
        }

        /// <summary>The watch's options: interval default 30 s and at least 1 s; count, when given, at least 1.</summary>
        public static FleetWatchOptions Options(TimeSpan? interval, int? count)
        {
            var options = new FleetWatchOptions { Interval = interval ?? FleetWatchOptions.DefaultInterval, Count = count };
            if (options.Interval < FleetWatchOptions.MinimumInterval)
                throw new ArgumentOutOfRangeException("Interval", options.Interval, "-Interval must be at least 1 second");
            if (count is int n && n < 1) throw new ArgumentOutOfRangeException("Count", n, "-Count must be at least 1");
            options.Validate();
            return options;
        }

        /// <summary>Whether a result is written: every result, or with -ChangesOnly only hosts that changed (so iteration 1, the baseline, writes nothing).</summary>
        public static bool Writes(WatchResult result, bool changesOnly)
            => !changesOnly || (result ?? throw new ArgumentNullException(nameof(result))).Changed;

        /// <summary>
        /// The error record for a host, or null. A host that can't be reached would otherwise repeat the same error
        /// every interval for as long as the watch runs, so the error is reported when it is new: in iteration 1,
        /// and when the host's outcome changed (it became unreachable, or unreachable in another way). Written
        /// whether or not -ChangesOnly writes the result.
        /// </summary>
        public static FleetErrorInfo? ErrorFor(WatchResult result)
        {
            if (result == null) throw new ArgumentNullException(nameof(result));
            var error = FleetErrorRecords.ForResult(result.Result);
            if (error == null) return null;
            if (result.Result.Status == FleetStatus.Cancelled) return null; // Ctrl-C stopped the watch; not the host's fault
            return result.Iteration == 1 || result.Changed || result.PreviousStatus == null ? error : null;
        }
    }
}
