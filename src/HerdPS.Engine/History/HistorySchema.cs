using System;
using System.Collections.Generic;
using Microsoft.Data.Sqlite;
using HerdPS;

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

            // Team history (issue 15). Each output is stored once per content, by its SHA-256, compressed, in blobs and
            // blob_chunks (the same 5 MiB from 200 hosts was 200 copies in results.stdout); results are numbered within
            // their run (seq), so a batch copied twice (a spool upload after a lost commit) is recorded once; runs and
            // snapshots get a UUID that stays theirs in any copy, and runs the machine and user that ran them. The old
            // rows' outputs are moved into blobs by MoveOutputsIntoBlobs, between the two halves of this SQL.
            new SchemaMigration(4, "content-addressed compressed outputs; run and snapshot UUIDs; controller; per-host index", @"
                ALTER TABLE runs ADD COLUMN uuid TEXT;
                ALTER TABLE runs ADD COLUMN watch_uuid TEXT;                       -- a watch iteration's first iteration
                ALTER TABLE runs ADD COLUMN controller_machine TEXT NOT NULL DEFAULT '';
                ALTER TABLE runs ADD COLUMN controller_user TEXT NOT NULL DEFAULT '';
                ALTER TABLE runs ADD COLUMN recorder TEXT;                         -- machine:pid:start of the process still recording it
                ALTER TABLE snapshots ADD COLUMN uuid TEXT;
                CREATE TABLE blobs (
                    id             INTEGER PRIMARY KEY,
                    hash           BLOB    NOT NULL UNIQUE,                        -- SHA-256 of the UTF-8 content
                    raw_length     INTEGER NOT NULL,
                    stored_length  INTEGER NOT NULL DEFAULT 0,
                    encoding       INTEGER,                                        -- content of one chunk: here, inline
                    data           BLOB                                            -- (NULL: in blob_chunks)
                );
                CREATE TABLE blob_chunks (
                    blob_id   INTEGER NOT NULL REFERENCES blobs (id) ON DELETE CASCADE,
                    seq       INTEGER NOT NULL,
                    encoding  INTEGER NOT NULL,                                    -- 0 raw, 1 deflate (RFC 1951)
                    data      BLOB    NOT NULL,
                    PRIMARY KEY (blob_id, seq)
                ) WITHOUT ROWID;
                CREATE TABLE results_v4 (
                    run_id        INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
                    seq           INTEGER NOT NULL,                                -- 0, 1, ... as the run's results arrived
                    host          TEXT    NOT NULL,
                    status        TEXT    NOT NULL,
                    exit_code     INTEGER,
                    stdout_blob   INTEGER REFERENCES blobs (id),                  -- NULL: empty
                    stderr_blob   INTEGER REFERENCES blobs (id),
                    duration_ms   REAL    NOT NULL,
                    output_hash   TEXT    NOT NULL,
                    truncated     INTEGER NOT NULL DEFAULT 0,
                    error_kind    TEXT    NOT NULL DEFAULT 'None',
                    error_message TEXT,
                    attempts      INTEGER NOT NULL DEFAULT 1,
                    start_utc     TEXT    NOT NULL,
                    groups        TEXT    NOT NULL DEFAULT '[]',
                    tags          TEXT    NOT NULL DEFAULT '[]',
                    PRIMARY KEY (run_id, seq)
                ) WITHOUT ROWID;",
                MoveOutputsIntoBlobs, @"
                DROP TABLE results;
                ALTER TABLE results_v4 RENAME TO results;
                -- A run's results are its primary key's range (run_id, seq); replaying sorts its few rows by host.
                CREATE INDEX results_by_host ON results (host COLLATE NOCASE, run_id);
                CREATE INDEX results_by_stdout ON results (stdout_blob) WHERE stdout_blob IS NOT NULL;
                CREATE INDEX results_by_stderr ON results (stderr_blob) WHERE stderr_blob IS NOT NULL;
                CREATE UNIQUE INDEX runs_by_uuid ON runs (uuid);
                CREATE INDEX runs_by_watch_uuid ON runs (watch_uuid) WHERE watch_uuid IS NOT NULL;
                CREATE UNIQUE INDEX snapshots_by_uuid ON snapshots (uuid);"),

            // Every result carries the transport that ran it (auto picks per host): kept so a replayed run says
            // it too. '' = recorded before this step.
            new SchemaMigration(5, "result transport", @"
                ALTER TABLE results ADD COLUMN transport TEXT NOT NULL DEFAULT '';  -- local | openssh | sshnet"),

            // Outputs of up to BlobContent.InlineLimit bytes are kept in the result row (stdout_blob NULL): a blob row and its
            // hash's index entry cost more than a short output that differs on every host. Older rows keep their blobs.
            new SchemaMigration(6, "short outputs inline in the result row", @"
                ALTER TABLE results ADD COLUMN stdout_text TEXT;                  -- the output itself when short, else NULL
                ALTER TABLE results ADD COLUMN stderr_text TEXT;"),

            // Result packs (ResultPack): a batch of a run's results is one compressed record instead of a row per host. A
            // row cost ~250 bytes whatever the output, so 200 one-line outputs took 4 times their raw size and a watch over
            // a large fleet wrote mostly row overhead. hosts and host_runs keep `herd history --host` an index lookup;
            // run_blobs says which blobs a run uses (pruning deletes the blobs no run uses any more). The old rows are
            // packed by PackResults, between the two halves of this SQL.
            new SchemaMigration(7, "result packs; per-host index; run blob references", @"
                CREATE TABLE hosts (
                    id   INTEGER PRIMARY KEY,
                    name TEXT    NOT NULL UNIQUE                                      -- in lower case: every host query is case-insensitive
                );
                CREATE TABLE host_runs (
                    host_id INTEGER NOT NULL,
                    run_id  INTEGER NOT NULL,
                    PRIMARY KEY (host_id, run_id)
                ) WITHOUT ROWID;
                CREATE TABLE result_packs (
                    id           INTEGER PRIMARY KEY,
                    run_id       INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
                    first_seq    INTEGER NOT NULL,
                    last_seq     INTEGER NOT NULL,
                    result_count INTEGER NOT NULL,
                    host_ids     BLOB    NOT NULL,                                   -- hosts.id of its results (LEB128), to unindex them
                    data         BLOB    NOT NULL                                    -- ResultPack.Encode
                );
                CREATE UNIQUE INDEX result_packs_by_run ON result_packs (run_id, first_seq);
                CREATE TABLE run_blobs (
                    run_id  INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
                    blob_id INTEGER NOT NULL REFERENCES blobs (id),
                    PRIMARY KEY (run_id, blob_id)
                ) WITHOUT ROWID;
                CREATE INDEX run_blobs_by_blob ON run_blobs (blob_id);",
                PackResults, @"
                DROP TABLE results;"),
        };

        /// <summary>
        /// Version 7's data step: every run's results rows become packs of <see cref="ResultPack.MaxResults"/>, in their
        /// order; a short output in its row stays inline, a blob stays that blob (now referenced through run_blobs). Rows
        /// are read one at a time and a pack is written as soon as it is full, so a history of any size converts in
        /// flat memory. Returns whether there were results to pack (the file then has free pages to give back).
        /// </summary>
        private static bool PackResults(SqliteConnection connection, SqliteTransaction transaction)
        {
            bool any = false;
            var writer = new SqliteHistoryBackend.PackWriter(connection, transaction);
            // Each row comes with its blobs' hashes (a derived output hash is computed from them).
            using (var select = Command(connection, transaction,
                "SELECT x.run_id, x.seq, x.host, x.status, x.exit_code, x.stdout_blob, x.stderr_blob, x.duration_ms, x.output_hash, x.truncated, " +
                "x.error_kind, x.error_message, x.attempts, x.start_utc, x.groups, x.tags, x.transport, x.stdout_text, x.stderr_text, so.hash, se.hash " +
                "FROM results x LEFT JOIN blobs so ON so.id = x.stdout_blob LEFT JOIN blobs se ON se.id = x.stderr_blob ORDER BY x.run_id, x.seq"))
            using (var reader = select.ExecuteReader())
            {
                long run = -1;
                var pack = new List<PackedResult>(ResultPack.MaxResults);
                while (reader.Read())
                {
                    any = true;
                    long runId = reader.GetInt64(0);
                    if ((runId != run || pack.Count == ResultPack.MaxResults) && pack.Count > 0)
                    {
                        writer.Write(run, pack);
                        pack.Clear();
                    }
                    run = runId;
                    string host = reader.GetString(2);
                    var result = new FleetResult
                    {
                        HostName = host,
                        ExitCode = reader.IsDBNull(4) ? (int?)null : reader.GetInt32(4),
                        Duration = ResultFields.Duration(reader.GetDouble(7)),
                        OutputHash = reader.GetString(8),
                        Truncated = reader.GetInt64(9) != 0,
                        ErrorMessage = reader.IsDBNull(11) ? null : reader.GetString(11),
                        Attempts = reader.GetInt32(12),
                        StartTime = HistoryTime.Parse(reader.GetString(13)),
                        Groups = ResultFields.ParseStringList(reader.GetString(14), "groups", runId, host, "the history"),
                        Tags = ResultFields.ParseStringList(reader.GetString(15), "tags", runId, host, "the history"),
                        Transport = reader.GetString(16),
                    };
                    var entry = new PackedResult(reader.GetInt32(1), result)
                    {
                        // Names are kept as they were written, even one this build doesn't know: reading reports it.
                        StatusName = reader.GetString(3),
                        ErrorKindName = reader.GetString(10),
                        StdOutText = reader.IsDBNull(17) ? null : reader.GetString(17),
                        StdErrText = reader.IsDBNull(18) ? null : reader.GetString(18),
                        StdOutBlob = reader.IsDBNull(5) ? (long?)null : reader.GetInt64(5),
                        StdErrBlob = reader.IsDBNull(6) ? (long?)null : reader.GetInt64(6),
                    };
                    byte[]? stdoutHash = reader.GetValue(19) as byte[], stderrHash = reader.GetValue(20) as byte[];
                    byte[] BlobHash(long id) => (id == entry.StdOutBlob ? stdoutHash : stderrHash) ?? Array.Empty<byte>(); // a missing blob: not derived
                    entry.HashIsDerived = string.Equals(ResultPack.DerivedHash(entry, BlobHash), result.OutputHash, StringComparison.Ordinal);
                    pack.Add(entry);
                }
                if (pack.Count > 0) writer.Write(run, pack);
            }
            return any;
        }

        /// <summary>
        /// Version 4's data step: every run and snapshot gets a UUID (and a watch iteration its first iteration's), and
        /// every result is copied into the new table with its outputs stored once per content. Rows are read one at a
        /// time, so a history of any size converts in flat memory. Returns whether there were results to move.
        /// </summary>
        private static bool MoveOutputsIntoBlobs(SqliteConnection connection, SqliteTransaction transaction)
        {
            foreach (var table in new[] { "runs", "snapshots" })
            {
                var ids = new List<long>();
                using (var select = Command(connection, transaction, $"SELECT id FROM {table}"))
                using (var reader = select.ExecuteReader())
                    while (reader.Read()) ids.Add(reader.GetInt64(0));
                using (var update = Command(connection, transaction, $"UPDATE {table} SET uuid = $uuid WHERE id = $id"))
                {
                    var uuid = update.Parameters.Add("$uuid", SqliteType.Text);
                    var id = update.Parameters.Add("$id", SqliteType.Integer);
                    foreach (var i in ids)
                    {
                        uuid.Value = SqliteHistoryBackend.UuidText(Guid.NewGuid());
                        id.Value = i;
                        update.ExecuteNonQuery();
                    }
                }
            }
            using (var watches = Command(connection, transaction,
                "UPDATE runs SET watch_uuid = (SELECT w.uuid FROM runs w WHERE w.id = runs.watch_id) WHERE watch_id IS NOT NULL"))
                watches.ExecuteNonQuery();

            bool any = false;
            var blobs = new SqliteHistoryBackend.BlobWriter(connection, transaction);
            using (var select = Command(connection, transaction,
                "SELECT run_id, host, status, exit_code, stdout, stderr, duration_ms, output_hash, truncated, error_kind, error_message, " +
                "attempts, start_utc, groups, tags FROM results ORDER BY run_id, rowid"))
            using (var insert = Command(connection, transaction,
                "INSERT INTO results_v4 (run_id, seq, host, status, exit_code, stdout_blob, stderr_blob, duration_ms, output_hash, truncated, " +
                "error_kind, error_message, attempts, start_utc, groups, tags) VALUES ($run_id, $seq, $host, $status, $exit_code, $stdout_blob, " +
                "$stderr_blob, $duration_ms, $output_hash, $truncated, $error_kind, $error_message, $attempts, $start_utc, $groups, $tags)"))
            using (var reader = select.ExecuteReader())
            {
                string[] names = { "$run_id", "$host", "$status", "$exit_code", "$stdout_blob", "$stderr_blob", "$duration_ms", "$output_hash",
                                   "$truncated", "$error_kind", "$error_message", "$attempts", "$start_utc", "$groups", "$tags" };
                var p = new SqliteParameter[names.Length];
                for (int i = 0; i < names.Length; i++) p[i] = insert.Parameters.AddWithValue(names[i], DBNull.Value); // typed by each value
                var seq = insert.Parameters.Add("$seq", SqliteType.Integer);
                long lastRun = -1;
                int next = 0;
                while (reader.Read())
                {
                    any = true;
                    long run = reader.GetInt64(0);
                    if (run != lastRun) { lastRun = run; next = 0; }
                    seq.Value = next++;
                    for (int i = 0; i < names.Length; i++)
                    {
                        if (i == 4 || i == 5)
                        {
                            var content = StoredOutput.Of(reader.IsDBNull(i) ? "" : reader.GetString(i));
                            p[i].Value = content == null ? DBNull.Value : (object)blobs.IdOf(content);
                        }
                        else p[i].Value = reader.GetValue(i);
                    }
                    insert.ExecuteNonQuery();
                }
            }
            return any;
        }

        private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction transaction, string sql)
        {
            var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = sql;
            return command;
        }

        /// <summary>The newest schema version this build knows.</summary>
        internal static int CurrentVersion => Migrations[Migrations.Length - 1].Version;

        /// <summary>
        /// Checks the file is a HerdPS history this build can use, then applies the steps it lacks. Returns true when a
        /// step moved existing data (version 4 moving outputs into blobs), after which the file is worth compacting.
        /// </summary>
        internal static bool Migrate(SqliteConnection connection, string path) => Migrate(connection, path, CurrentVersion);

        /// <summary>Brings the file up to <paramref name="version"/> only: how tests make a file as an older HerdPS left it.</summary>
        internal static bool Migrate(SqliteConnection connection, string path, int version)
        {
            // The common case, an up-to-date database, needs only a read.
            using (var transaction = new HistoryTransaction(connection, deferred: true))
            {
                if (CheckUsable(connection, transaction, path) >= version) return false;
            }

            bool moved = false;
            foreach (var migration in Migrations)
            {
                if (migration.Version > version) break;
                using (var transaction = new HistoryTransaction(connection, deferred: false))
                {
                    // Read again under the write lock: another process may have migrated while we waited.
                    if (CheckUsable(connection, transaction, path) >= migration.Version) continue;
                    using (var command = connection.CreateCommand())
                    {
                        command.Transaction = transaction;
                        command.CommandText = migration.Sql;
                        command.ExecuteNonQuery();
                    }
                    if (migration.DataStep != null)
                    {
                        moved |= migration.DataStep(connection, transaction);
                        using (var command = connection.CreateCommand())
                        {
                            command.Transaction = transaction;
                            command.CommandText = migration.SqlAfter!;
                            command.ExecuteNonQuery();
                        }
                    }
                    using (var command = connection.CreateCommand())
                    {
                        command.Transaction = transaction;
                        command.CommandText = $"PRAGMA user_version = {migration.Version};";
                        command.ExecuteNonQuery();
                    }
                    transaction.Commit();
                }
            }
            return moved;
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
            public SchemaMigration(int version, string description, string sql,
                Func<SqliteConnection, SqliteTransaction, bool>? dataStep = null, string? sqlAfter = null)
            {
                Version = version;
                Description = description;
                Sql = sql;
                DataStep = dataStep;
                SqlAfter = sqlAfter;
            }

            public int Version { get; }
            /// <summary>What the step adds, for whoever reads this list next.</summary>
            public string Description { get; }
            public string Sql { get; }
            /// <summary>Work SQL can't do (hashing, compressing), run after <see cref="Sql"/> in the same transaction.</summary>
            public Func<SqliteConnection, SqliteTransaction, bool>? DataStep { get; }
            /// <summary>SQL run after <see cref="DataStep"/>, still in the same transaction.</summary>
            public string? SqlAfter { get; }
        }
    }
}
