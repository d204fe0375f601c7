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
        /// with a <see cref="HistoryException"/>: for its turn to write (on SQLite, the lock file beside the database, see
        /// <see cref="HistoryWriteLock"/>), and again for SQLite's own lock if a writer that doesn't take turns holds it.
        /// Writes are short, so this is only reached when something hangs.
        /// </summary>
        public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(10);

        /// <summary>
        /// A recording run writes its results in one transaction per this many results (and the rest at
        /// Complete): few enough fsyncs to keep up with a large fleet, few enough results held in memory and
        /// lost if the process dies.
        /// </summary>
        public int BatchSize { get; set; } = 32;

        /// <summary>
        /// For a server history: when it can't be reached (or fails while recording), keep runs in the local spool and
        /// upload them the next time it can be (true: a recording run goes on). False (looking at the history) makes an
        /// unreachable server an error.
        /// </summary>
        public bool SpoolWhenUnreachable { get; set; } = true;

        /// <summary>
        /// For a server history: the spool file. Null: <c>spool/&lt;server&gt;.db</c> beside the per-user history file
        /// (see <see cref="HistoryLocation"/>), one per server, database and user.
        /// </summary>
        public string? SpoolPath { get; set; }

        /// <summary>For a server history: how long after it was found unreachable a recording store tries it again (at the next run it begins).</summary>
        public TimeSpan ReconnectInterval { get; set; } = TimeSpan.FromSeconds(60);

        /// <summary>The controller's machine name recorded with each run; null: this machine.</summary>
        public string? ControllerMachine { get; set; }

        /// <summary>The controller's user name recorded with each run; null: the user this process runs as.</summary>
        public string? ControllerUser { get; set; }

        /// <summary>
        /// Where a server history says things on the side (it is unreachable and runs go to the spool; spooled runs were
        /// uploaded). Null: the engine's process-wide notice (<see cref="Transport.PrivateDirectory.Notice"/>).
        /// </summary>
        public Action<string>? Notice { get; set; }

        /// <summary>Environment lookups (PGPASSWORD, HOME, ...); null: the process's.</summary>
        public Func<string, string?>? GetEnvironment { get; set; }

        /// <summary>The clock for the once-a-day check and prune at open; tests move it.</summary>
        internal Func<DateTime> UtcNow { get; set; } = () => DateTime.UtcNow;

        internal HistoryStoreOptions Clone() => (HistoryStoreOptions)MemberwiseClone();
    }
}
