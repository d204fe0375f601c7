using System;

namespace HerdPS.History
{
    /// <summary>Which runs <see cref="HistoryStore.ListRuns"/> returns. Filters combine with AND; unset ones don't filter.</summary>
    public sealed class HistoryQuery
    {
        /// <summary>Only the run with this id.</summary>
        public long? Id { get; set; }

        /// <summary>At most this many runs, the newest ones.</summary>
        public int? Last { get; set; }

        /// <summary>
        /// A wildcard the whole command must match, like PowerShell's <c>-like</c>: <c>*</c>, <c>?</c>,
        /// <c>[a-z]</c>, backtick escapes, case-insensitive.
        /// </summary>
        public string? Command { get; set; }

        /// <summary>Only runs that started at or after this time (a local time is converted to UTC).</summary>
        public DateTime? Since { get; set; }

        /// <summary>Only runs of this kind (<c>exec</c>, <c>watch</c>, ...), case-insensitive.</summary>
        public string? Kind { get; set; }

        /// <summary>
        /// Only runs from this controller: a machine name, a user name, or <c>user@machine</c>, case-insensitive
        /// (<c>herd history --from</c>, <c>Get-FleetHistory -Controller</c>).
        /// </summary>
        public string? Controller { get; set; }

        /// <summary>Only runs that have a result for this host (case-insensitive, as DNS names are).</summary>
        public string? HostName { get; set; }
    }
}
