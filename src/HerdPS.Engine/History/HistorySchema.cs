using System;
using Microsoft.Data.Sqlite;

namespace HerdPS.History
{
    /// <summary>
    /// The history database's schema and the steps that bring an older database up to date. The version lives in
    /// <c>PRAGMA user_version</c>; each step runs in its own write transaction and re-reads the version inside it,
    /// so processes opening the same new database at once apply every step exactly once.
    /// Add a step by appending to <see cref="Migrations"/>: never edit a step that has shipped.
    /// </summary>
    internal static class HistorySchema
    {
        /// <summary>PRAGMA application_id for HerdPS history files ("Herd"), so we never migrate someone else's database.</summary>
        internal const int ApplicationId = 0x48657264;

        private static readonly SchemaMigration[] Migrations =
        {
            new SchemaMigration(1, "runs, results and meta tables", "PRAGMA application_id = " + ApplicationId + ";" + @"
                CREATE TABLE runs (
                    id              INTEGER PRIMARY KEY,
                    kind            TEXT    NOT NULL,               -- exec | watch | script | ...
                    command         TEXT    NOT NULL,
                    selection       TEXT    NOT NULL,               -- the caller's canonical selection text
                    started_utc     TEXT    NOT NULL,               -- yyyy-MM-ddTHH:mm:ss.fffffffZ, sorts as text
                    finished_utc    TEXT,                           -- NULL while running or if it never completed
                    host_count      INTEGER NOT NULL DEFAULT 0,
                    succeeded_count INTEGER NOT NULL DEFAULT 0,
                    failed_count    INTEGER NOT NULL DEFAULT 0,
                    watch_id        INTEGER,
                    iteration       INTEGER
                );
                CREATE INDEX runs_by_started ON runs (started_utc);
                CREATE INDEX runs_by_command_selection ON runs (command, selection);
                CREATE TABLE results (
                    run_id        INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
                    host          TEXT    NOT NULL,
                    status        TEXT    NOT NULL,                 -- FleetStatus name
                    exit_code     INTEGER,
                    stdout        TEXT    NOT NULL,
                    stderr        TEXT    NOT NULL,
                    duration_ms   REAL    NOT NULL,
                    output_hash   TEXT    NOT NULL,
                    truncated     INTEGER NOT NULL DEFAULT 0,
                    error_kind    TEXT    NOT NULL DEFAULT 'None',  -- FleetErrorKind name
                    error_message TEXT,
                    attempts      INTEGER NOT NULL DEFAULT 1,
                    start_utc     TEXT    NOT NULL
                );
                CREATE INDEX results_by_run ON results (run_id, host);
                CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"),

            // Replaying a run grouped by inventory group or tag needs them as they were then, not as the
            // inventory says today; and a watch's iterations are listed together.
            new SchemaMigration(2, "result groups and tags; watch index", @"
                ALTER TABLE results ADD COLUMN groups TEXT NOT NULL DEFAULT '[]';  -- JSON array of strings
                ALTER TABLE results ADD COLUMN tags   TEXT NOT NULL DEFAULT '[]';  -- JSON array of strings
                CREATE INDEX runs_by_watch ON runs (watch_id, iteration) WHERE watch_id IS NOT NULL;"),

            // Fleet snapshots (herd snapshot): one row per capture, one per host with each section structured
            // (JSON where it is a list or map), so diffs compare parsed packages and services, not text.
            new SchemaMigration(3, "fleet snapshots", @"
                CREATE TABLE snapshots (
                    id             INTEGER PRIMARY KEY,
                    taken_utc      TEXT    NOT NULL,
                    selection      TEXT    NOT NULL,
                    host_count     INTEGER NOT NULL,
                    captured_count INTEGER NOT NULL
                );
                CREATE INDEX snapshots_by_taken ON snapshots (taken_utc);
                CREATE TABLE snapshot_hosts (
                    snapshot_id     INTEGER NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
                    host            TEXT    NOT NULL,
                    status          TEXT    NOT NULL,                -- SnapshotHostStatus name
                    error_message   TEXT,
                    kernel          TEXT,                            -- uname -srm
                    os_name         TEXT,
                    os_id           TEXT,
                    os_version      TEXT,
                    uptime_seconds  REAL,
                    package_manager TEXT,
                    packages        TEXT    NOT NULL DEFAULT '{}',   -- JSON object name -> version
                    service_manager TEXT,
                    services        TEXT    NOT NULL DEFAULT '{}',   -- JSON {enabled: [...], running: [...]}
                    disks           TEXT    NOT NULL DEFAULT '[]',   -- JSON array of DiskUsage
                    memory          TEXT    NOT NULL DEFAULT '{}',   -- JSON {totalKb, availableKb, swapTotalKb, swapFreeKb}
                    unavailable     TEXT    NOT NULL DEFAULT '{}',   -- JSON object section -> reason
                    PRIMARY KEY (snapshot_id, host)
                );"),

            // Every result carries the transport that ran it (auto picks per host): kept so a replayed run says
            // it too. '' = recorded before this step.
            new SchemaMigration(4, "result transport", @"
                ALTER TABLE results ADD COLUMN transport TEXT NOT NULL DEFAULT '';  -- local | openssh | sshnet"),
        };

        /// <summary>The newest schema version this build knows.</summary>
        internal static int CurrentVersion => Migrations[Migrations.Length - 1].Version;

        /// <summary>Checks the file is a HerdPS history this build can use, then applies the steps it lacks.</summary>
        internal static void Migrate(SqliteConnection connection, string path)
        {
            // The common case, an up-to-date database, needs only a read.
            using (var transaction = new HistoryTransaction(connection, deferred: true))
            {
                if (CheckUsable(connection, transaction, path) == CurrentVersion) return;
            }

            foreach (var migration in Migrations)
            {
                using (var transaction = new HistoryTransaction(connection, deferred: false))
                {
                    // Read again under the write lock: another process may have migrated while we waited.
                    if (CheckUsable(connection, transaction, path) >= migration.Version) continue;
                    using (var command = connection.CreateCommand())
                    {
                        command.Transaction = transaction;
                        command.CommandText = migration.Sql + $"\nPRAGMA user_version = {migration.Version};";
                        command.ExecuteNonQuery();
                    }
                    transaction.Commit();
                }
            }
        }

        /// <summary>
        /// The schema version, after checking that the file is ours (or new and empty) and not from a newer
        /// HerdPS. All three facts are read in the caller's transaction, so they describe one moment: read one
        /// by one, a database that another process is creating can look half-made, i.e. foreign.
        /// </summary>
        private static int CheckUsable(SqliteConnection connection, SqliteTransaction transaction, string path)
        {
            int version = (int)Scalar(connection, transaction, "PRAGMA user_version");
            long applicationId = Scalar(connection, transaction, "PRAGMA application_id");
            bool isNewAndEmpty = applicationId == 0 && version == 0
                                 && Scalar(connection, transaction, "SELECT count(*) FROM sqlite_master") == 0;
            if (applicationId != ApplicationId && !isNewAndEmpty)
                throw new HistoryException(path,
                    "this is a SQLite database, but not a HerdPS history. Point " +
                    $"the {HistoryLocation.PathVariable} environment variable at another file; HerdPS won't change this one.");
            if (version > CurrentVersion)
                throw new HistoryException(path,
                    $"this history database was created by a newer HerdPS (schema version {version}; this HerdPS " +
                    $"knows up to {CurrentVersion}). Use the newer HerdPS, or point the {HistoryLocation.PathVariable} " +
                    "environment variable at another file. HerdPS never downgrades a history database.");
            return version;
        }

        private static long Scalar(SqliteConnection connection, SqliteTransaction transaction, string sql)
        {
            using (var command = connection.CreateCommand())
            {
                command.Transaction = transaction;
                command.CommandText = sql;
                return Convert.ToInt64(command.ExecuteScalar());
            }
        }

        private sealed class SchemaMigration
        {
            public SchemaMigration(int version, string description, string sql)
            {
                Version = version;
                Description = description;
                Sql = sql;
            }

            public int Version { get; }
            /// <summary>What the step adds, for whoever reads this list next.</summary>
            public string Description { get; }
            public string Sql { get; }
        }
    }
}
