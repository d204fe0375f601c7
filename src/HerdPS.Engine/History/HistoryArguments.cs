using System;
using System.Globalization;
using HerdPS.Inventory;

namespace HerdPS.History
{
    /// <summary>
    /// The history cmdlets' parameters (<c>Get-FleetHistory</c>, <c>Compare-FleetHistory</c>) in PowerShell's shapes,
    /// turned into what <see cref="FleetHistory"/> takes. The same rules as <c>herd history</c>.
    /// </summary>
    public static class HistoryArguments
    {
        /// <summary>How many runs are listed when no -Last (or -Id) is given: 20, as <c>herd history</c>.</summary>
        public const int DefaultLast = 20;

        /// <summary>
        /// The query for Get-FleetHistory. With an id, that run alone (the other filters still apply); otherwise the
        /// newest <paramref name="last"/> runs (default <see cref="DefaultLast"/>) matching the command wildcard and the start time.
        /// </summary>
        public static HistoryQuery Query(long? id, int? last, string? command, DateTime? since)
        {
            if (last is int n && n < 1) throw new ArgumentOutOfRangeException("Last", n, "-Last must be at least 1");
            if (id is long i && i < 1) throw new ArgumentOutOfRangeException("Id", i, "-Id must be at least 1");
            return new HistoryQuery
            {
                Id = id,
                Last = id != null ? last : last ?? DefaultLast,
                Command = string.IsNullOrEmpty(command) ? null : command,
                Since = since is DateTime s ? ToUtc(s) : (DateTime?)null,
            };
        }

        /// <summary>A "since" given as text (both front ends): a duration back from now (2h, 7d), or a date/time, local unless it says otherwise.</summary>
        public static bool TryParseSinceText(string text, DateTime nowUtc, out DateTime since)
        {
            text = text.Trim();
            if (Duration.TryParse(text, out var ago)) { since = nowUtc - ago; return true; }
            if (DateTime.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeLocal | DateTimeStyles.AdjustToUniversal, out var when))
            {
                since = DateTime.SpecifyKind(when, DateTimeKind.Utc);
                return true;
            }
            since = default;
            return false;
        }

        public static string SinceTextError(string text) => $"'{text.Trim()}' is neither a duration (2h, 7d) nor a date (2026-02-27, 2026-02-27T14:30)";

        /// <summary>
        /// -Since as the user gave it: a DateTime (local unless it says UTC), a DateTimeOffset, a TimeSpan back from now,
        /// or text: a duration back from now (<c>'2h'</c>, <c>'7d'</c>) or a date/time (<c>'2026-02-27'</c>,
        /// <c>'2026-02-27T14:30'</c>, local unless it ends in Z). Returns UTC. A number is refused: PowerShell reads
        /// an unquoted 7d as the number 7, and guessing its unit is how a week became seven ticks.
        /// </summary>
        /// <exception cref="ArgumentException">Anything else, with what to write instead.</exception>
        public static DateTime Since(object? value, DateTime nowUtc)
        {
            switch (value)
            {
                case DateTime d: return ToUtc(d);
                case DateTimeOffset o: return o.UtcDateTime;
                case TimeSpan t: return nowUtc - t.Duration();
                case string text:
                    if (TryParseSinceText(text, nowUtc, out var since)) return since;
                    throw new ArgumentException("-Since: " + SinceTextError(text), "Since");
                case null:
                    throw new ArgumentNullException("Since");
                default:
                    if (Duration.IsNumber(value))
                        throw new ArgumentException(
                            $"-Since takes a date, a TimeSpan or a quoted duration, not the number {Convert.ToString(value, CultureInfo.InvariantCulture)} " +
                            "(PowerShell reads 7d as the number 7): write -Since '7d', -Since (New-TimeSpan -Days 7) or -Since (Get-Date).AddDays(-7)", "Since");
                    throw new ArgumentException($"-Since takes a date, a TimeSpan or a quoted duration such as '7d', not a {value.GetType().Name}", "Since");
            }
        }

        /// <summary>
        /// A run id from what the user passed to -ReferenceRun/-DifferenceRun: a number, a Get-FleetHistory run
        /// (<see cref="RecordedRun"/>, <see cref="HistoryRunRecord"/>) or the text of a number.
        /// </summary>
        /// <exception cref="ArgumentException">Anything else, or an id below 1.</exception>
        public static long RunId(object? value, string parameter)
        {
            long id;
            switch (value)
            {
                case RecordedRun r: id = r.Id; break;
                case HistoryRunRecord r: id = r.Id; break;
                case long l: id = l; break;
                case int i: id = i; break;
                case string s when long.TryParse(s.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var parsed): id = parsed; break;
                default:
                    throw new ArgumentException($"-{parameter} takes a run id (a number, as Get-FleetHistory lists it) or a run from Get-FleetHistory, not '{value}'", parameter);
            }
            if (id < 1) throw new ArgumentException($"-{parameter}: run ids start at 1, not {id}", parameter);
            return id;
        }

        private static DateTime ToUtc(DateTime d) => d.Kind switch
        {
            DateTimeKind.Utc => d,
            DateTimeKind.Local => d.ToUniversalTime(),
            _ => DateTime.SpecifyKind(d, DateTimeKind.Local).ToUniversalTime(), // PowerShell's [datetime]'2026-02-27' is Unspecified: people mean local time
        };
    }
}
