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
        /// -Interval as the user gave it: a TimeSpan (<c>New-TimeSpan -Seconds 30</c>, <c>'00:00:30'</c>) or a quoted
        /// duration (<c>'30s'</c>, <c>'5m'</c>, <c>'1h'</c>). A number is refused, never guessed at: PowerShell reads
        /// <c>30s</c> as the short integer 30 and <c>2d</c> as the decimal 2, and a plain TimeSpan parameter would turn
        /// 30 into 30 ticks. A number of seconds goes to -IntervalSec.
        /// </summary>
        /// <exception cref="ArgumentException">Anything else, with what to write instead.</exception>
        public static TimeSpan Interval(object? value)
        {
            switch (value)
            {
                case TimeSpan t: return t;
                case string text:
                    text = text.Trim();
                    if (Duration.TryParse(text, out var d)) return d;
                    if (TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var span)) return span;
                    throw new ArgumentException($"-Interval: '{text}' is not a duration ('30s', '5m') or a TimeSpan ('00:00:30'); for a number of seconds use -IntervalSec", "Interval");
                case null:
                    throw new ArgumentNullException("Interval");
                default:
                    if (Duration.IsNumber(value))
                        throw new ArgumentException(
                            $"-Interval takes a TimeSpan or a quoted duration, not the number {Convert.ToString(value, CultureInfo.InvariantCulture)} " +
                            "(PowerShell reads 30s as the number 30 and 2d as 2): write -IntervalSec 30, -Interval '30s' or -Interval (New-TimeSpan -Seconds 30)", "Interval");
                    throw new ArgumentException($"-Interval takes a TimeSpan or a quoted duration ('30s', '5m'), not a {value.GetType().Name}", "Interval");
            }
        }

        /// <summary>
        /// The interval from -IntervalSec (a number of seconds, as Start-Sleep -Seconds) or -Interval (a TimeSpan), at
        /// most one of them; null when neither was given.
        /// </summary>
        public static TimeSpan? Interval(double? intervalSec, TimeSpan? interval)
        {
            if (intervalSec != null && interval != null) throw new ArgumentException("give the interval once: -IntervalSec or -Interval, not both", "IntervalSec");
            if (intervalSec is double seconds)
            {
                if (double.IsNaN(seconds) || double.IsInfinity(seconds) || seconds <= 0) throw new ArgumentOutOfRangeException("IntervalSec", seconds, "-IntervalSec must be a positive number of seconds");
                return TimeSpan.FromSeconds(seconds);
            }
            return interval;
        }

        /// <summary>The watch's options: interval default 30 s and at least 1 s; count, when given, at least 1.</summary>
        public static FleetWatchOptions Options(TimeSpan? interval, int? count)
        {
            var options = new FleetWatchOptions { Interval = interval ?? FleetWatchOptions.DefaultInterval, Count = count };
            if (options.Interval < FleetWatchOptions.MinimumInterval)
                throw new ArgumentOutOfRangeException("Interval", options.Interval, "the interval must be at least 1 second");
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
