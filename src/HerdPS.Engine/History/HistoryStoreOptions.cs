using System;

namespace HerdPS.History
{
    /// <summary>How a <see cref="HistoryStore"/> behaves. The defaults suit the CLI and the cmdlets.</summary>
    public sealed class HistoryStoreOptions
    {
        /// <summary>The default retention: 30 days.</summary>
        public static readonly TimeSpan DefaultRetention = TimeSpan.FromDays(30);

        /// <summary>
        /// Runs that started longer ago than this are deleted, with their results, when a store opens (at most
        /// once a day per database). Null keeps everything.
        /// </summary>
        public TimeSpan? Retention { get; set; } = DefaultRetention;

        /// <summary>
        /// How long an operation waits for another process that holds the database's write lock before it fails
        /// with a <see cref="HistoryException"/>. Writes are short, so this is only reached when something hangs.
        /// </summary>
        public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(10);

        /// <summary>
        /// A recording run writes its results in one transaction per this many results (and the rest at
        /// Complete): few enough fsyncs to keep up with a large fleet, few enough results held in memory and
        /// lost if the process dies.
        /// </summary>
        public int BatchSize { get; set; } = 32;

        /// <summary>The clock for the once-a-day check and prune at open; tests move it.</summary>
        internal Func<DateTime> UtcNow { get; set; } = () => DateTime.UtcNow;
    }
}
