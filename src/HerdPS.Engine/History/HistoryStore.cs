using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace HerdPS.History
{
    /// <summary>
    /// The run history: every recorded run and each host's result, in one SQLite database per user
    /// (see <see cref="HistoryLocation"/>). Any number of processes may record into and read the same database
    /// at once: WAL mode lets readers and one writer proceed together, writes are short transactions, and a
    /// writer that finds the database locked waits and retries (<see cref="HistoryStoreOptions.BusyTimeout"/>).
    /// One instance may be shared by threads.
    /// <para>
    /// The store records what it is given, verbatim: commands, output, error messages. Callers must not pass
    /// secrets in them (a password on a command line, a token echoed to stdout); anything recorded stays on disk
    /// until retention prunes it. The file is readable by its owner only.
    /// </para>
    /// </summary>
    public sealed partial class HistoryStore : IDisposable
    {
        private const string LastPruneKey = "last_prune_utc", LastCheckKey = "last_check_utc";
        private static readonly TimeSpan MaintenanceInterval = TimeSpan.FromDays(1);

        private const string RunColumns =
            "id, kind, command, selection, started_utc, finished_utc, host_count, succeeded_count, failed_count, watch_id, iteration";

        private readonly HistoryStoreOptions _options;
        // One connection for writes and short queries, used under this lock; ReadResults streams through a
        // connection of its own so that a caller still enumerating doesn't block recording.
        private readonly object _gate = new object();
        private readonly SqliteConnection _connection;
        private bool _disposed;

        private HistoryStore(string databasePath, HistoryStoreOptions options)
        {
            DatabasePath = databasePath;
            _options = options;
            _connection = SqliteRetry.Run(databasePath, options.BusyTimeout, () => Connect(databasePath, options.BusyTimeout));
        }

        /// <summary>The full path of the database file.</summary>
        public string DatabasePath { get; }

        /// <summary>
        /// Opens the history database at <paramref name="path"/>, creating it (and its folder) readable by the
        /// owner only if needed, and bringing an older schema up to date. Once a day per database it also
        /// checks the file's integrity and deletes runs older than <see cref="HistoryStoreOptions.Retention"/>.
        /// </summary>
        /// <exception cref="HistoryException">The file can't be created, is damaged, is not a HerdPS history, or is
        /// from a newer HerdPS.</exception>
        public static HistoryStore Open(string path, HistoryStoreOptions? options = null)
        {
            if (string.IsNullOrWhiteSpace(path)) throw new ArgumentException("A history database path is required.", nameof(path));
            options ??= new HistoryStoreOptions();
            if (options.BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(options), "BatchSize must be at least 1.");
            if (options.BusyTimeout < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(options), "BusyTimeout can't be negative.");

            string fullPath = Path.GetFullPath(path);
            string? folder = Path.GetDirectoryName(fullPath);
            try
            {
                if (!string.IsNullOrEmpty(folder)) OwnerOnlyAccess.PrepareFolder(fullPath, folder!);
                OwnerOnlyAccess.PrepareFile(fullPath);
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                throw new HistoryException(fullPath, $"can't create the history database: {e.Message}", e);
            }

            var store = new HistoryStore(fullPath, options);
            try
            {
                store.Initialize();
                return store;
            }
            catch
            {
                store.Dispose();
                throw;
            }
        }

        private void Initialize() => Execute(connection =>
        {
            // Migrate first: it refuses a file that isn't ours before anything about it changes.
            HistorySchema.Migrate(connection, DatabasePath);
            // WAL is a property of the file: set once, every later connection (any process) gets it.
            if (!string.Equals(ExecuteScalar(connection, "PRAGMA journal_mode") as string, "wal", StringComparison.OrdinalIgnoreCase))
                ExecuteScalar(connection, "PRAGMA journal_mode = WAL");
            CheckAndPruneIfDue(connection);
            return true;
        });

        /// <summary>
        /// Starts recording a run; its results go in through <see cref="HistoryRun.Add"/>. Until
        /// <see cref="HistoryRun.Complete"/> the run is listed with no finish time.
        /// </summary>
        /// <param name="kind">What records it: <c>exec</c>, <c>watch</c>, <c>script</c>, ...</param>
        /// <param name="command">The command as the user gave it. Stored verbatim: never pass secrets.</param>
        /// <param name="selection">The selection in a canonical text form; <see cref="FindLatestRun"/> compares it verbatim.</param>
        /// <param name="watchId">For a watch iteration after the first: the <see cref="HistoryRun.Id"/> of the first.</param>
        /// <param name="iteration">For a watch iteration: its number from 1. With no <paramref name="watchId"/>,
        /// this run is a watch's first iteration and its own id becomes the watch id.</param>
        public HistoryRun BeginRun(string kind, string command, string selection, DateTime startedUtc,
            long? watchId = null, int? iteration = null)
        {
            if (string.IsNullOrEmpty(kind)) throw new ArgumentException("A run kind is required.", nameof(kind));
            if (command == null) throw new ArgumentNullException(nameof(command));
            if (selection == null) throw new ArgumentNullException(nameof(selection));

            long id = Execute(connection =>
            {
                using (var transaction = new HistoryTransaction(connection, deferred: false))
                using (var insert = connection.CreateCommand())
                {
                    insert.Transaction = transaction;
                    insert.CommandText =
                        "INSERT INTO runs (kind, command, selection, started_utc, watch_id, iteration) " +
                        "VALUES ($kind, $command, $selection, $started, $watch_id, $iteration); " +
                        "UPDATE runs SET watch_id = id WHERE id = last_insert_rowid() AND watch_id IS NULL AND iteration IS NOT NULL; " +
                        "SELECT last_insert_rowid();";
                    insert.Parameters.AddWithValue("$kind", kind);
                    insert.Parameters.AddWithValue("$command", command);
                    insert.Parameters.AddWithValue("$selection", selection);
                    insert.Parameters.AddWithValue("$started", HistoryTime.ToText(startedUtc));
                    insert.Parameters.AddWithValue("$watch_id", (object?)watchId ?? DBNull.Value);
                    insert.Parameters.AddWithValue("$iteration", (object?)iteration ?? DBNull.Value);
                    long newId = (long)insert.ExecuteScalar()!;
                    transaction.Commit();
                    return newId;
                }
            });
            return new HistoryRun(this, id, _options.BatchSize);
        }

        /// <summary>
        /// Writes a batch of a run's results and its counts in one transaction; with <paramref name="finishedUtc"/>
        /// it also marks the run complete. The whole transaction is repeated if the database was busy.
        /// </summary>
        internal void WriteResults(long runId, IReadOnlyList<FleetResult> batch, HistoryRun.Counts counts, DateTime? finishedUtc)
            => Execute(connection =>
            {
                using (var transaction = new HistoryTransaction(connection, deferred: false))
                {
                    if (batch.Count > 0) InsertResults(connection, transaction, runId, batch);
                    using (var update = connection.CreateCommand())
                    {
                        update.Transaction = transaction;
                        update.CommandText =
                            "UPDATE runs SET host_count = $hosts, succeeded_count = $succeeded, failed_count = $failed, " +
                            "finished_utc = coalesce($finished, finished_utc) WHERE id = $id";
                        update.Parameters.AddWithValue("$hosts", counts.Hosts);
                        update.Parameters.AddWithValue("$succeeded", counts.Succeeded);
                        update.Parameters.AddWithValue("$failed", counts.Failed);
                        update.Parameters.AddWithValue("$finished", finishedUtc.HasValue ? HistoryTime.ToText(finishedUtc.Value) : (object)DBNull.Value);
                        update.Parameters.AddWithValue("$id", runId);
                        if (update.ExecuteNonQuery() == 0)
                            throw new HistoryException(DatabasePath, $"run {runId} is no longer in the history (it was pruned or deleted while recording).");
                    }
                    transaction.Commit();
                    return true;
                }
            });

        private static void InsertResults(SqliteConnection connection, SqliteTransaction transaction, long runId, IReadOnlyList<FleetResult> batch)
        {
            using (var insert = connection.CreateCommand())
            {
                insert.Transaction = transaction;
                insert.CommandText =
                    "INSERT INTO results (run_id, host, status, exit_code, stdout, stderr, duration_ms, output_hash, " +
                    "truncated, error_kind, error_message, attempts, start_utc, groups, tags, transport) VALUES ($run_id, $host, " +
                    "$status, $exit_code, coalesce($stdout, CAST(zeroblob($stdout_len) AS TEXT)), " +
                    "coalesce($stderr, CAST(zeroblob($stderr_len) AS TEXT)), $duration_ms, $output_hash, $truncated, $error_kind, " +
                    "$error_message, $attempts, $start_utc, $groups, $tags, $transport) RETURNING rowid";
                var p = insert.Parameters;
                p.AddWithValue("$run_id", runId);
                var host = p.Add("$host", SqliteType.Text);
                var status = p.Add("$status", SqliteType.Text);
                var exitCode = p.Add("$exit_code", SqliteType.Integer);
                var stdout = p.Add("$stdout", SqliteType.Text);
                var stderr = p.Add("$stderr", SqliteType.Text);
                var stdoutLength = p.Add("$stdout_len", SqliteType.Integer);
                var stderrLength = p.Add("$stderr_len", SqliteType.Integer);
                var durationMs = p.Add("$duration_ms", SqliteType.Real);
                var outputHash = p.Add("$output_hash", SqliteType.Text);
                var truncated = p.Add("$truncated", SqliteType.Integer);
                var errorKind = p.Add("$error_kind", SqliteType.Text);
                var errorMessage = p.Add("$error_message", SqliteType.Text);
                var attempts = p.Add("$attempts", SqliteType.Integer);
                var startUtc = p.Add("$start_utc", SqliteType.Text);
                var groups = p.Add("$groups", SqliteType.Text);
                var tags = p.Add("$tags", SqliteType.Text);
                var transport = p.Add("$transport", SqliteType.Text);
                insert.Prepare();

                foreach (var result in batch)
                {
                    host.Value = result.HostName ?? "";
                    status.Value = result.Status.ToString();
                    exitCode.Value = (object?)result.ExitCode ?? DBNull.Value;
                    // A spilled output is not read into a string: its row gets room of the right size, filled below
                    // straight from the temporary file.
                    var spilledOut = result.SpilledStdOut;
                    var spilledErr = result.SpilledStdErr;
                    var outLength = spilledOut?.TextUtf8Length() ?? 0;
                    var errLength = spilledErr?.TextUtf8Length() ?? 0;
                    stdout.Value = spilledOut == null ? result.StdOut ?? "" : (object)DBNull.Value;
                    stderr.Value = spilledErr == null ? result.StdErr ?? "" : (object)DBNull.Value;
                    stdoutLength.Value = outLength;
                    stderrLength.Value = errLength;
                    durationMs.Value = result.Duration.Ticks / (double)TimeSpan.TicksPerMillisecond;
                    outputHash.Value = result.OutputHash ?? "";
                    truncated.Value = result.Truncated ? 1 : 0;
                    errorKind.Value = result.ErrorKind.ToString();
                    errorMessage.Value = (object?)result.ErrorMessage ?? DBNull.Value;
                    attempts.Value = result.Attempts;
                    startUtc.Value = HistoryTime.ToText(result.StartTime);
                    groups.Value = StringListJson(result.Groups.ToArray());
                    tags.Value = StringListJson(result.Tags.ToArray());
                    transport.Value = result.Transport ?? "";
                    var rowid = (long)insert.ExecuteScalar()!;
                    if (spilledOut != null) FillText(connection, "stdout", rowid, spilledOut, outLength);
                    if (spilledErr != null) FillText(connection, "stderr", rowid, spilledErr, errLength);
                }
            }
        }

        /// <summary>Writes a spilled output into the room its row was given, in chunks, through SQLite's blob I/O.</summary>
        private static void FillText(SqliteConnection connection, string column, long rowid, Transport.CapturedOutput output, long length)
        {
            if (length == 0) return;
            using (var blob = new SqliteBlob(connection, "results", column, rowid))
            {
                if (blob.Length != length)
                    throw new InvalidOperationException($"the history row for {column} has {blob.Length} bytes of room, not {length}");
                output.CopyTextUtf8To(blob);
            }
        }

        /// <summary>The runs that match <paramref name="query"/>, newest first.</summary>
        public IReadOnlyList<HistoryRunRecord> ListRuns(HistoryQuery query)
        {
            if (query == null) throw new ArgumentNullException(nameof(query));
            if (query.Last is int last && last < 1) throw new ArgumentOutOfRangeException(nameof(query), "Last must be at least 1.");
            var commandPattern = string.IsNullOrEmpty(query.Command) ? null : new LikePattern(query.Command!);

            return Execute(connection =>
            {
                using (var select = connection.CreateCommand())
                {
                    var where = new List<string>();
                    if (query.Id is long id) { where.Add("id = $id"); select.Parameters.AddWithValue("$id", id); }
                    if (query.Since is DateTime since) { where.Add("started_utc >= $since"); select.Parameters.AddWithValue("$since", HistoryTime.ToText(since)); }
                    if (!string.IsNullOrEmpty(query.Kind)) { where.Add("kind = $kind COLLATE NOCASE"); select.Parameters.AddWithValue("$kind", query.Kind); }

                    var sql = new StringBuilder("SELECT ").Append(RunColumns).Append(" FROM runs");
                    if (where.Count > 0) sql.Append(" WHERE ").Append(string.Join(" AND ", where));
                    sql.Append(" ORDER BY started_utc DESC, id DESC");
                    // The wildcard is matched here, not in SQL (SQLite's LIKE folds ASCII case only), so the
                    // limit can only go into SQL when there is no wildcard.
                    if (query.Last.HasValue && commandPattern == null) sql.Append(" LIMIT ").Append(query.Last.Value.ToString(CultureInfo.InvariantCulture));
                    select.CommandText = sql.ToString();

                    var runs = new List<HistoryRunRecord>();
                    using (var reader = select.ExecuteReader())
                    {
                        while ((query.Last == null || runs.Count < query.Last) && reader.Read())
                        {
                            var run = ReadRun(reader);
                            if (commandPattern == null || commandPattern.IsMatch(run.Command)) runs.Add(run);
                        }
                    }
                    return (IReadOnlyList<HistoryRunRecord>)runs;
                }
            });
        }

        /// <summary>The run with this id, or null if there is none (never recorded, or pruned).</summary>
        public HistoryRunRecord? GetRun(long id)
        {
            var runs = ListRuns(new HistoryQuery { Id = id });
            return runs.Count == 0 ? null : runs[0];
        }

        /// <summary>
        /// The most recent completed run of exactly this command on exactly this selection, before
        /// <paramref name="beforeRunId"/> if given: what <c>--diff-last</c> compares against. Incomplete runs are
        /// skipped, since hosts they never recorded would show as removed (and the run being recorded now is one).
        /// </summary>
        public HistoryRunRecord? FindLatestRun(string command, string selection, long? beforeRunId = null)
        {
            if (command == null) throw new ArgumentNullException(nameof(command));
            if (selection == null) throw new ArgumentNullException(nameof(selection));
            return Execute(connection =>
            {
                using (var select = connection.CreateCommand())
                {
                    select.CommandText =
                        $"SELECT {RunColumns} FROM runs WHERE command = $command AND selection = $selection " +
                        "AND finished_utc IS NOT NULL" + (beforeRunId.HasValue ? " AND id < $before" : "") +
                        " ORDER BY id DESC LIMIT 1";
                    select.Parameters.AddWithValue("$command", command);
                    select.Parameters.AddWithValue("$selection", selection);
                    if (beforeRunId.HasValue) select.Parameters.AddWithValue("$before", beforeRunId.Value);
                    using (var reader = select.ExecuteReader())
                        return reader.Read() ? ReadRun(reader) : null;
                }
            });
        }

        /// <summary>
        /// A run's results, ordered by host name (ordinal), rebuilt as <see cref="FleetResult"/>s and read one
        /// at a time, so a run of any size can be replayed. Empty for an unknown run. Dispose the enumerator
        /// (foreach does) to release its database connection.
        /// </summary>
        public IEnumerable<FleetResult> ReadResults(long runId)
        {
            ThrowIfDisposed();
            return ReadResultsOneByOne(runId);
        }

        private IEnumerable<FleetResult> ReadResultsOneByOne(long runId)
        {
            TimeSpan busyTimeout = _options.BusyTimeout;
            using (var connection = SqliteRetry.Run(DatabasePath, busyTimeout, () => Connect(DatabasePath, busyTimeout)))
            using (var select = connection.CreateCommand())
            {
                select.CommandText =
                    "SELECT r.command, x.host, x.status, x.exit_code, x.stdout, x.stderr, x.duration_ms, x.output_hash, " +
                    "x.truncated, x.error_kind, x.error_message, x.attempts, x.start_utc, x.groups, x.tags, x.transport " +
                    "FROM results x JOIN runs r ON r.id = x.run_id WHERE x.run_id = $run_id ORDER BY x.host, x.rowid";
                select.Parameters.AddWithValue("$run_id", runId);
                using (var reader = SqliteRetry.Run(DatabasePath, busyTimeout, () => select.ExecuteReader()))
                {
                    while (SqliteRetry.Run(DatabasePath, busyTimeout, () => reader.Read()))
                        yield return ReadResult(reader, runId);
                }
            }
        }

        private FleetResult ReadResult(SqliteDataReader reader, long runId)
        {
            string host = reader.GetString(1);
            return new FleetResult
            {
                Command = reader.GetString(0),
                HostName = host,
                Status = ParseName<FleetStatus>(reader.GetString(2), "status", runId, host),
                ExitCode = reader.IsDBNull(3) ? (int?)null : reader.GetInt32(3),
                StdOut = reader.GetString(4),
                StdErr = reader.GetString(5),
                Duration = TimeSpan.FromTicks((long)Math.Round(reader.GetDouble(6) * TimeSpan.TicksPerMillisecond)),
                OutputHash = reader.GetString(7),
                Truncated = reader.GetInt64(8) != 0,
                ErrorKind = ParseName<FleetErrorKind>(reader.GetString(9), "error kind", runId, host),
                ErrorMessage = reader.IsDBNull(10) ? null : reader.GetString(10),
                Attempts = reader.GetInt32(11),
                StartTime = HistoryTime.Parse(reader.GetString(12)),
                Groups = ParseStringList(reader.GetString(13), "groups", runId, host),
                Tags = ParseStringList(reader.GetString(14), "tags", runId, host),
                Transport = reader.GetString(15),
            };
        }

        // Groups and tags are JSON arrays of strings. Written and read with the plain writer and reader, not
        // JsonSerializer: its first use in a process costs 20-30 ms of reflection, most of what recording
        // added to a short warm run (bench/results.md).
        internal static string StringListJson(string[]? values)
        {
            using (var buffer = new MemoryStream())
            {
                using (var w = new Utf8JsonWriter(buffer))
                {
                    w.WriteStartArray();
                    foreach (var v in values ?? Array.Empty<string>()) w.WriteStringValue(v);
                    w.WriteEndArray();
                }
                return Encoding.UTF8.GetString(buffer.ToArray());
            }
        }

        private string[] ParseStringList(string json, string what, long runId, string host)
        {
            try
            {
                using (var doc = JsonDocument.Parse(json))
                {
                    if (doc.RootElement.ValueKind == JsonValueKind.Null) return Array.Empty<string>();
                    if (doc.RootElement.ValueKind == JsonValueKind.Array)
                    {
                        var list = new List<string>(doc.RootElement.GetArrayLength());
                        foreach (var e in doc.RootElement.EnumerateArray())
                        {
                            if (e.ValueKind != JsonValueKind.String) throw new FormatException("an element is not a string");
                            list.Add(e.GetString()!);
                        }
                        return list.ToArray();
                    }
                }
                throw new FormatException("not a JSON array");
            }
            catch (Exception e) when (e is JsonException || e is FormatException)
            {
                throw new HistoryException(DatabasePath, $"run {runId}, host '{host}': {what} is not a list of names ({e.Message}).");
            }
        }

        // A name this build doesn't know was written by a newer HerdPS; guessing a value would misreport the run.
        private TEnum ParseName<TEnum>(string name, string what, long runId, string host) where TEnum : struct
        {
            if (Enum.TryParse(name, ignoreCase: false, out TEnum value) && Enum.IsDefined(typeof(TEnum), value)) return value;
            throw new HistoryException(DatabasePath,
                $"run {runId}, host '{host}': {what} '{name}' is unknown to this HerdPS; a newer HerdPS recorded it.");
        }

        private static HistoryRunRecord ReadRun(SqliteDataReader reader) => new HistoryRunRecord
        {
            Id = reader.GetInt64(0),
            Kind = reader.GetString(1),
            Command = reader.GetString(2),
            Selection = reader.GetString(3),
            StartedUtc = HistoryTime.Parse(reader.GetString(4)),
            FinishedUtc = reader.IsDBNull(5) ? (DateTime?)null : HistoryTime.Parse(reader.GetString(5)),
            HostCount = reader.GetInt32(6),
            SucceededCount = reader.GetInt32(7),
            FailedCount = reader.GetInt32(8),
            WatchId = reader.IsDBNull(9) ? (long?)null : reader.GetInt64(9),
            Iteration = reader.IsDBNull(10) ? (int?)null : reader.GetInt32(10),
        };

        /// <summary>
        /// Deletes the runs, and their results, that started before <paramref name="nowUtc"/> minus
        /// <paramref name="retention"/>. Returns how many runs it deleted. The file keeps its size; SQLite reuses
        /// the freed pages for the next runs.
        /// </summary>
        public int Prune(TimeSpan retention, DateTime nowUtc)
        {
            if (retention < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(retention), "Retention can't be negative.");
            return Execute(connection =>
            {
                using (var transaction = new HistoryTransaction(connection, deferred: false))
                {
                    int deleted = DeleteRunsStartedBefore(connection, transaction, Cutoff(HistoryTime.ToUtc(nowUtc), retention));
                    transaction.Commit();
                    return deleted;
                }
            });
        }

        // At most once a day per database, whichever process opens it first that day checks it, and prunes it if
        // that process has a retention (one run without retention mustn't use up the day's prune). The due-check
        // and the work share one write transaction, so two processes opening at once don't both do it.
        // The integrity check reads every page (about 30 ms for 24 MB): too slow for every open, cheap once a day,
        // and it finds damage before more runs are written into a broken file.
        private void CheckAndPruneIfDue(SqliteConnection connection)
        {
            DateTime now = HistoryTime.ToUtc(_options.UtcNow());
            using (var transaction = new HistoryTransaction(connection, deferred: false))
            {
                bool checkDue = IsDue(connection, transaction, LastCheckKey, now);
                bool pruneDue = _options.Retention.HasValue && IsDue(connection, transaction, LastPruneKey, now);
                if (!checkDue && !pruneDue) return;

                if (checkDue)
                {
                    CheckIntegrity(connection, transaction);
                    SetMeta(connection, transaction, LastCheckKey, HistoryTime.ToText(now));
                }
                if (pruneDue)
                {
                    DeleteRunsStartedBefore(connection, transaction, Cutoff(now, _options.Retention!.Value));
                    SetMeta(connection, transaction, LastPruneKey, HistoryTime.ToText(now));
                }
                transaction.Commit();
            }
        }

        private static bool IsDue(SqliteConnection connection, SqliteTransaction transaction, string key, DateTime now)
        {
            using (var read = connection.CreateCommand())
            {
                read.Transaction = transaction;
                read.CommandText = "SELECT value FROM meta WHERE key = $key";
                read.Parameters.AddWithValue("$key", key);
                if (!(read.ExecuteScalar() is string lastText)) return true;
                // A time in the future means the clock was wrong then or is now: do it rather than wait.
                DateTime last = HistoryTime.Parse(lastText);
                return last > now || now - last >= MaintenanceInterval;
            }
        }

        private static void SetMeta(SqliteConnection connection, SqliteTransaction transaction, string key, string value)
        {
            using (var write = connection.CreateCommand())
            {
                write.Transaction = transaction;
                write.CommandText = "INSERT OR REPLACE INTO meta (key, value) VALUES ($key, $value)";
                write.Parameters.AddWithValue("$key", key);
                write.Parameters.AddWithValue("$value", value);
                write.ExecuteNonQuery();
            }
        }

        private void CheckIntegrity(SqliteConnection connection, SqliteTransaction transaction)
        {
            using (var check = connection.CreateCommand())
            {
                check.Transaction = transaction;
                check.CommandText = "PRAGMA quick_check(1)";
                string verdict = check.ExecuteScalar() as string ?? "no answer";
                if (verdict != "ok") throw SqliteRetry.Damaged(DatabasePath, verdict);
            }
        }

        // A retention longer than the calendar (TimeSpan.MaxValue as "forever") keeps everything.
        private static DateTime Cutoff(DateTime nowUtc, TimeSpan retention)
            => retention >= nowUtc - DateTime.MinValue ? DateTime.MinValue : nowUtc - retention;

        private static int DeleteRunsStartedBefore(SqliteConnection connection, SqliteTransaction transaction, DateTime cutoffUtc)
        {
            using (var delete = connection.CreateCommand())
            {
                delete.Transaction = transaction;
                // Results first and explicitly, rather than through ON DELETE CASCADE, so the prune doesn't depend
                // on the connection having foreign keys switched on.
                delete.CommandText =
                    "DELETE FROM results WHERE run_id IN (SELECT id FROM runs WHERE started_utc < $cutoff); " +
                    "DELETE FROM runs WHERE started_utc < $cutoff; SELECT changes();";
                delete.Parameters.AddWithValue("$cutoff", HistoryTime.ToText(cutoffUtc));
                return Convert.ToInt32(delete.ExecuteScalar(), CultureInfo.InvariantCulture);
            }
        }

        private T Execute<T>(Func<SqliteConnection, T> operation)
        {
            lock (_gate)
            {
                ThrowIfDisposed();
                return SqliteRetry.Run(DatabasePath, _options.BusyTimeout, () => operation(_connection));
            }
        }

        private static object? ExecuteScalar(SqliteConnection connection, string sql)
        {
            using (var command = connection.CreateCommand())
            {
                command.CommandText = sql;
                return command.ExecuteScalar();
            }
        }

        /// <summary>
        /// A connection of our own, not pooled: a pooled connection would keep the file open after Dispose,
        /// which stops the user from moving a damaged database aside (and Windows from deleting it).
        /// </summary>
        private static SqliteConnection Connect(string path, TimeSpan busyTimeout)
        {
            var connectionString = new SqliteConnectionStringBuilder
            {
                DataSource = path,
                Mode = SqliteOpenMode.ReadWrite,
                Pooling = false,
                ForeignKeys = true,
                DefaultTimeout = Math.Max(1, (int)Math.Ceiling(busyTimeout.TotalSeconds)),
            }.ToString();
            var connection = new SqliteConnection(connectionString);
            try
            {
                connection.Open();
                // NORMAL is safe in WAL mode (a power cut may lose the last commits, never corrupt the file) and
                // spares an fsync per transaction.
                using (var pragmas = connection.CreateCommand())
                {
                    pragmas.CommandText = $"PRAGMA busy_timeout = {(long)busyTimeout.TotalMilliseconds}; PRAGMA synchronous = NORMAL;";
                    pragmas.ExecuteNonQuery();
                }
                return connection;
            }
            catch
            {
                connection.Dispose();
                throw;
            }
        }

        private void ThrowIfDisposed()
        {
            if (_disposed) throw new ObjectDisposedException(nameof(HistoryStore), $"The history store for {DatabasePath} is closed.");
        }

        /// <summary>Closes the database. Results a <see cref="HistoryRun"/> still buffers are not written: complete or dispose runs first.</summary>
        public void Dispose()
        {
            lock (_gate)
            {
                if (_disposed) return;
                _disposed = true;
                _connection.Dispose();
            }
        }
    }
}
