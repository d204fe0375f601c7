using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using Microsoft.Data.Sqlite;

namespace HerdPS.History
{
    /// <summary>
    /// The history in one SQLite file (the embedded default, and the local spool in front of a server). Any number of
    /// processes may record into and read the same file at once: WAL mode lets readers and one writer proceed together,
    /// writes are short transactions, and writers take turns in the order the kernel wakes them from a lock on a file beside
    /// the database (<see cref="HistoryWriteLock"/>), waiting at most <see cref="HistoryStoreOptions.BusyTimeout"/>. The file and its folder are private to their owner
    /// (<see cref="OwnerOnlyAccess"/>).
    /// </summary>
    public sealed partial class SqliteHistoryBackend : IHistoryBackend
    {
        private const string LastPruneKey = "last_prune_utc", LastCheckKey = "last_check_utc";

        internal const string RunColumns =
            "id, kind, command, selection, started_utc, finished_utc, host_count, succeeded_count, failed_count, watch_id, iteration, " +
            "uuid, controller_machine, controller_user";

        private readonly TimeSpan _busyTimeout;
        // One connection for writes and short queries, used under this lock; ReadResults streams through a connection of
        // its own so that a caller still enumerating doesn't block recording.
        private readonly object _gate = new object();
        private readonly SqliteConnection _connection;
        private readonly HistoryWriteLock _writeLock;
        private bool _disposed;

        private SqliteHistoryBackend(string path, TimeSpan busyTimeout)
        {
            Location = path;
            _busyTimeout = busyTimeout;
            _writeLock = new HistoryWriteLock(path, busyTimeout);
            _connection = SqliteRetry.Run(path, busyTimeout, () => Connect(path, busyTimeout));
        }

        /// <summary>The full path of the database file.</summary>
        public string Location { get; }

        /// <summary>
        /// Opens the file at <paramref name="path"/>, creating it (and its folder) readable by the owner only if needed,
        /// and bringing an older schema up to date (version 4 moves every stored output into the content-addressed,
        /// compressed blobs, once).
        /// </summary>
        /// <exception cref="HistoryException">The file can't be created, is damaged, is not a HerdPS history, or is from a newer HerdPS.</exception>
        public static SqliteHistoryBackend Open(string path, TimeSpan busyTimeout)
        {
            if (string.IsNullOrWhiteSpace(path)) throw new ArgumentException("A history database path is required.", nameof(path));
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

            var backend = new SqliteHistoryBackend(fullPath, busyTimeout);
            try
            {
                backend.Initialize();
                return backend;
            }
            catch
            {
                backend.Dispose();
                throw;
            }
        }

        private void Initialize()
        {
            bool converted = Write(connection =>
            {
                // Migrate first: it refuses a file that isn't ours before anything about it changes.
                bool movedOutputs = HistorySchema.Migrate(connection, Location);
                // WAL is a property of the file: set once, every later connection (any process) gets it.
                if (!string.Equals(ExecuteScalar(connection, "PRAGMA journal_mode") as string, "wal", StringComparison.OrdinalIgnoreCase))
                    ExecuteScalar(connection, "PRAGMA journal_mode = WAL");
                return movedOutputs;
            });
            if (converted) ShrinkAfterConversion();
        }

        // Moving the outputs into blobs frees most of an old file (the same 5 MiB stored 200 times becomes one compressed
        // copy). SQLite keeps freed pages for reuse; give them back to the disk once, when there are many.
        private void ShrinkAfterConversion()
        {
            try
            {
                _writeLock.Run(() =>
                {
                    lock (_gate)
                    {
                        long free = Convert.ToInt64(ExecuteScalar(_connection, "PRAGMA freelist_count"), CultureInfo.InvariantCulture);
                        long pages = Convert.ToInt64(ExecuteScalar(_connection, "PRAGMA page_count"), CultureInfo.InvariantCulture);
                        if (free > 256 && free * 4 > pages) ExecuteScalar(_connection, "VACUUM");
                        return true;
                    }
                });
            }
            catch (Exception e) when (e is SqliteException || e is HistoryException)
            {
                // Busy (another process has it open or is writing) or short of space: the file stays as large as it was, and works.
            }
        }

        public long BeginRun(RunHeader header)
        {
            if (header == null) throw new ArgumentNullException(nameof(header));
            return Write(connection =>
            {
                using (var transaction = new HistoryTransaction(connection, deferred: false))
                {
                    long id = InsertRun(connection, transaction, header, ProcessIdentity.Current);
                    transaction.Commit();
                    return id;
                }
            });
        }

        private static long InsertRun(SqliteConnection connection, SqliteTransaction transaction, RunHeader header, string? recorder)
        {
            long id;
            using (var insert = connection.CreateCommand())
            {
                insert.Transaction = transaction;
                insert.CommandText =
                    "INSERT INTO runs (uuid, kind, command, selection, started_utc, watch_uuid, iteration, controller_machine, controller_user, recorder) " +
                    "VALUES ($uuid, $kind, $command, $selection, $started, $watch_uuid, $iteration, $machine, $user, $recorder) RETURNING id";
                insert.Parameters.AddWithValue("$uuid", UuidText(header.Uuid));
                insert.Parameters.AddWithValue("$kind", header.Kind);
                insert.Parameters.AddWithValue("$command", header.Command);
                insert.Parameters.AddWithValue("$selection", header.Selection);
                insert.Parameters.AddWithValue("$started", HistoryTime.ToText(header.StartedUtc));
                insert.Parameters.AddWithValue("$watch_uuid", header.WatchUuid is Guid w ? UuidText(w) : (object)DBNull.Value);
                insert.Parameters.AddWithValue("$iteration", (object?)header.Iteration ?? DBNull.Value);
                insert.Parameters.AddWithValue("$machine", header.ControllerMachine ?? "");
                insert.Parameters.AddWithValue("$user", header.ControllerUser ?? "");
                insert.Parameters.AddWithValue("$recorder", (object?)recorder ?? DBNull.Value);
                id = (long)insert.ExecuteScalar()!;
            }
            // A watch's iterations name their first by UUID; its id is this database's. Iterations copied in before their
            // first (a spool uploads in order, but a partial copy may not) get the id when it arrives.
            using (var link = connection.CreateCommand())
            {
                link.Transaction = transaction;
                link.CommandText =
                    "UPDATE runs SET watch_id = (SELECT w.id FROM runs w WHERE w.uuid = runs.watch_uuid) WHERE id = $id AND watch_uuid IS NOT NULL; " +
                    "UPDATE runs SET watch_id = $id WHERE watch_uuid = $uuid AND watch_id IS NULL;";
                link.Parameters.AddWithValue("$id", id);
                link.Parameters.AddWithValue("$uuid", UuidText(header.Uuid));
                link.ExecuteNonQuery();
            }
            return id;
        }

        public Guid? FindRunUuid(long id) => Execute(connection =>
        {
            using (var select = connection.CreateCommand())
            {
                select.CommandText = "SELECT uuid FROM runs WHERE id = $id";
                select.Parameters.AddWithValue("$id", id);
                return select.ExecuteScalar() is string text ? Guid.Parse(text) : (Guid?)null;
            }
        });

        public void WriteResults(long runId, IReadOnlyList<StoredResult> batch, RunCounts counts, DateTime? finishedUtc)
            => Write(connection =>
            {
                using (var transaction = new HistoryTransaction(connection, deferred: false))
                {
                    if (batch.Count > 0) InsertResults(connection, transaction, runId, batch, Location);
                    using (var update = connection.CreateCommand())
                    {
                        update.Transaction = transaction;
                        update.CommandText =
                            "UPDATE runs SET host_count = $hosts, succeeded_count = $succeeded, failed_count = $failed, " +
                            "finished_utc = coalesce($finished, finished_utc), recorder = CASE WHEN $finished IS NULL THEN recorder END WHERE id = $id";
                        update.Parameters.AddWithValue("$hosts", counts.Hosts);
                        update.Parameters.AddWithValue("$succeeded", counts.Succeeded);
                        update.Parameters.AddWithValue("$failed", counts.Failed);
                        update.Parameters.AddWithValue("$finished", finishedUtc.HasValue ? HistoryTime.ToText(finishedUtc.Value) : (object)DBNull.Value);
                        update.Parameters.AddWithValue("$id", runId);
                        if (update.ExecuteNonQuery() == 0)
                            throw new HistoryException(Location, $"run {runId} is no longer in the history (it was pruned or deleted while recording).");
                    }
                    transaction.Commit();
                    return true;
                }
            });

        /// <summary>
        /// Inserts results as packs (skipping sequence numbers the run has), storing each long output unless its content is
        /// there; returns how many were new. A recording batch is one pack; a copied run is cut into packs of
        /// <see cref="ResultPack.MaxResults"/>, read lazily, so a run of any size is copied in bounded memory.
        /// </summary>
        internal static int InsertResults(SqliteConnection connection, SqliteTransaction transaction, long runId, IEnumerable<StoredResult> batch, string location)
        {
            var blobs = new BlobWriter(connection, transaction);
            var packs = new PackWriter(connection, transaction);
            var pending = new List<StoredResult>(ResultPack.MaxResults);
            int inserted = 0;
            foreach (var stored in batch)
            {
                pending.Add(stored);
                if (pending.Count == ResultPack.MaxResults)
                {
                    inserted += InsertPack(connection, transaction, runId, pending, blobs, packs, location);
                    pending.Clear();
                }
            }
            if (pending.Count > 0) inserted += InsertPack(connection, transaction, runId, pending, blobs, packs, location);
            return inserted;
        }

        private static int InsertPack(SqliteConnection connection, SqliteTransaction transaction, long runId, List<StoredResult> batch,
            BlobWriter blobs, PackWriter packs, string location)
        {
            var seqs = ExistingSeqs(connection, transaction, runId, batch.Min(r => r.Seq), batch.Max(r => r.Seq), location);
            var fresh = new List<PackedResult>(batch.Count);
            foreach (var stored in batch)
                if (seqs.Add(stored.Seq)) fresh.Add(ResultPack.Entry(stored, blobs.IdOf));
            if (fresh.Count > 0) packs.Write(runId, fresh);
            return fresh.Count;
        }

        /// <summary>
        /// The sequence numbers the run has between <paramref name="low"/> and <paramref name="high"/>: from the packs whose
        /// range overlaps (none while a run records in order; the pack a lost commit's repeat would repeat).
        /// </summary>
        private static HashSet<int> ExistingSeqs(SqliteConnection connection, SqliteTransaction transaction, long runId, int low, int high, string location)
        {
            var seqs = new HashSet<int>();
            using (var select = connection.CreateCommand())
            {
                select.Transaction = transaction;
                select.CommandText = "SELECT data FROM result_packs WHERE run_id = $run AND first_seq <= $high AND last_seq >= $low";
                select.Parameters.AddWithValue("$run", runId);
                select.Parameters.AddWithValue("$low", low);
                select.Parameters.AddWithValue("$high", high);
                using (var reader = select.ExecuteReader())
                    while (reader.Read())
                        foreach (var entry in DecodePack(reader.GetFieldValue<byte[]>(0), runId, location)) seqs.Add(entry.Seq);
            }
            return seqs;
        }

        internal static List<PackedResult> DecodePack(byte[] data, long runId, string location)
        {
            try
            {
                return ResultPack.Decode(data);
            }
            catch (InvalidDataException e)
            {
                throw new HistoryException(location, $"run {runId}: a stored batch of results can't be read ({e.Message}).", e);
            }
        }

        /// <summary>
        /// Writes packs inside one write transaction: the pack's row, its hosts' entries in the per-host index (host names
        /// are keys in lower case, as every host query compares them), and the run's references to the blobs it uses.
        /// </summary>
        internal sealed class PackWriter
        {
            private readonly SqliteConnection _connection;
            private readonly SqliteTransaction _transaction;
            private readonly Dictionary<string, long> _hostIds = new Dictionary<string, long>(StringComparer.Ordinal);

            public PackWriter(SqliteConnection connection, SqliteTransaction transaction)
            {
                _connection = connection;
                _transaction = transaction;
            }

            public void Write(long runId, IReadOnlyList<PackedResult> entries)
            {
                var hostIds = new List<long>();
                var seen = new HashSet<long>();
                var blobIds = new HashSet<long>();
                int first = int.MaxValue, last = int.MinValue;
                foreach (var e in entries)
                {
                    long id = HostId(e.Result.HostName ?? "");
                    if (seen.Add(id)) hostIds.Add(id);
                    if (e.StdOutBlob is long o) blobIds.Add(o);
                    if (e.StdErrBlob is long x) blobIds.Add(x);
                    first = Math.Min(first, e.Seq);
                    last = Math.Max(last, e.Seq);
                }
                using (var insert = Command("INSERT INTO result_packs (run_id, first_seq, last_seq, result_count, host_ids, data) " +
                                            "VALUES ($run, $first, $last, $count, $hosts, $data)"))
                {
                    insert.Parameters.AddWithValue("$run", runId);
                    insert.Parameters.AddWithValue("$first", first);
                    insert.Parameters.AddWithValue("$last", last);
                    insert.Parameters.AddWithValue("$count", entries.Count);
                    insert.Parameters.AddWithValue("$hosts", ResultPack.EncodeIds(hostIds));
                    insert.Parameters.AddWithValue("$data", ResultPack.Encode(entries));
                    insert.ExecuteNonQuery();
                }
                using (var index = Command("INSERT OR IGNORE INTO host_runs (host_id, run_id) VALUES ($host, $run)"))
                {
                    var host = index.Parameters.Add("$host", SqliteType.Integer);
                    index.Parameters.AddWithValue("$run", runId);
                    foreach (var id in hostIds)
                    {
                        host.Value = id;
                        index.ExecuteNonQuery();
                    }
                }
                if (blobIds.Count == 0) return;
                using (var uses = Command("INSERT OR IGNORE INTO run_blobs (run_id, blob_id) VALUES ($run, $blob)"))
                {
                    uses.Parameters.AddWithValue("$run", runId);
                    var blob = uses.Parameters.Add("$blob", SqliteType.Integer);
                    foreach (var id in blobIds)
                    {
                        blob.Value = id;
                        uses.ExecuteNonQuery();
                    }
                }
            }

            private long HostId(string host)
            {
                string key = HostKey(host);
                if (_hostIds.TryGetValue(key, out var id)) return id;
                using (var upsert = Command("INSERT INTO hosts (name) VALUES ($name) ON CONFLICT (name) DO NOTHING; SELECT id FROM hosts WHERE name = $name"))
                {
                    upsert.Parameters.AddWithValue("$name", key);
                    return _hostIds[key] = (long)upsert.ExecuteScalar()!;
                }
            }

            private SqliteCommand Command(string sql)
            {
                var command = _connection.CreateCommand();
                command.Transaction = _transaction;
                command.CommandText = sql;
                return command;
            }
        }

        /// <summary>A host name as the per-host index keys it: every host query is case-insensitive.</summary>
        internal static string HostKey(string host) => host.ToLowerInvariant();

        /// <summary>
        /// Finds or stores outputs by content hash inside one write transaction. Writers take turns on the file, so a
        /// blob found here can't be pruned before this transaction commits.
        /// </summary>
        internal sealed class BlobWriter
        {
            private readonly SqliteConnection _connection;
            private readonly SqliteTransaction _transaction;
            private readonly Dictionary<string, long> _known = new Dictionary<string, long>(StringComparer.Ordinal);

            public BlobWriter(SqliteConnection connection, SqliteTransaction transaction)
            {
                _connection = connection;
                _transaction = transaction;
            }

            /// <summary>Blobs this writer stored (not found): what a run really added to the file.</summary>
            public int Stored { get; private set; }

            public long IdOf(BlobContent content)
            {
                var key = OutputChunks.Hex(content.Hash);
                if (_known.TryGetValue(key, out var id)) return id;
                using (var find = _connection.CreateCommand())
                {
                    find.Transaction = _transaction;
                    find.CommandText = "SELECT id FROM blobs WHERE hash = $hash";
                    find.Parameters.AddWithValue("$hash", content.Hash);
                    if (find.ExecuteScalar() is long existing) return _known[key] = existing;
                }
                if (content.Length <= StoredOutput.ChunkSize)
                {
                    // One chunk (nearly every output): inline in its blobs row, no row of blob_chunks.
                    byte encoding = 0;
                    byte[] data = Array.Empty<byte>();
                    content.WriteChunks((n, enc, bytes, count) =>
                    {
                        encoding = enc;
                        data = new byte[count];
                        Buffer.BlockCopy(bytes, 0, data, 0, count);
                    });
                    using (var insert = _connection.CreateCommand())
                    {
                        insert.Transaction = _transaction;
                        insert.CommandText = "INSERT INTO blobs (hash, raw_length, stored_length, encoding, data) VALUES ($hash, $length, $stored, $encoding, $data) RETURNING id";
                        insert.Parameters.AddWithValue("$hash", content.Hash);
                        insert.Parameters.AddWithValue("$length", content.Length);
                        insert.Parameters.AddWithValue("$stored", (long)data.Length);
                        insert.Parameters.AddWithValue("$encoding", (int)encoding);
                        insert.Parameters.AddWithValue("$data", data);
                        id = (long)insert.ExecuteScalar()!;
                    }
                    Stored++;
                    return _known[key] = id;
                }
                using (var insert = _connection.CreateCommand())
                {
                    insert.Transaction = _transaction;
                    insert.CommandText = "INSERT INTO blobs (hash, raw_length, stored_length) VALUES ($hash, $length, 0) RETURNING id";
                    insert.Parameters.AddWithValue("$hash", content.Hash);
                    insert.Parameters.AddWithValue("$length", content.Length);
                    id = (long)insert.ExecuteScalar()!;
                }
                long stored;
                using (var chunk = _connection.CreateCommand())
                {
                    chunk.Transaction = _transaction;
                    chunk.CommandText = "INSERT INTO blob_chunks (blob_id, seq, encoding, data) VALUES ($id, $seq, $encoding, $data)";
                    chunk.Parameters.AddWithValue("$id", id);
                    var seq = chunk.Parameters.Add("$seq", SqliteType.Integer);
                    var encoding = chunk.Parameters.Add("$encoding", SqliteType.Integer);
                    var data = chunk.Parameters.Add("$data", SqliteType.Blob);
                    stored = content.WriteChunks((n, enc, bytes, count) =>
                    {
                        var copy = new byte[count];
                        Buffer.BlockCopy(bytes, 0, copy, 0, count);
                        seq.Value = n;
                        encoding.Value = (int)enc;
                        data.Value = copy;
                        chunk.ExecuteNonQuery();
                    });
                }
                using (var size = _connection.CreateCommand())
                {
                    size.Transaction = _transaction;
                    size.CommandText = "UPDATE blobs SET stored_length = $stored WHERE id = $id";
                    size.Parameters.AddWithValue("$stored", stored);
                    size.Parameters.AddWithValue("$id", id);
                    size.ExecuteNonQuery();
                }
                Stored++;
                return _known[key] = id;
            }
        }

        /// <summary>
        /// How many of the newest runs (after the other filters) a host's listing with a limit looks through before it reads
        /// all the host's runs from host_runs instead. A host in many runs is found within the newest few hundred (0.2 ms at
        /// 100k runs); walking every run for a host in one took 24 ms, where its entries in host_runs are one range.
        /// </summary>
        internal const int HostWalkRuns = 4096;

        public void ListRuns(HistoryQuery query, int? limit, Func<HistoryRunRecord, bool> add)
        {
            if (query == null) throw new ArgumentNullException(nameof(query));
            if (add == null) throw new ArgumentNullException(nameof(add));
            Execute(connection =>
            {
                bool host = !string.IsNullOrEmpty(query.HostName);
                if (host && limit is int n)
                {
                    // The newest runs first: when the host is in at least n of them, those are its n newest runs.
                    var recent = new List<HistoryRunRecord>(n);
                    ListRuns(connection, query, limit, walkNewest: true, run => { recent.Add(run); return true; });
                    if (recent.Count == n)
                    {
                        foreach (var run in recent)
                            if (!add(run)) break;
                        return true;
                    }
                }
                ListRuns(connection, query, limit, walkNewest: false, add);
                return true;
            });
        }

        private static void ListRuns(SqliteConnection connection, HistoryQuery query, int? limit, bool walkNewest, Func<HistoryRunRecord, bool> add)
        {
            using (var select = connection.CreateCommand())
            {
                var where = new List<string>();
                if (query.Id is long id) { where.Add("id = $id"); select.Parameters.AddWithValue("$id", id); }
                if (query.Since is DateTime since) { where.Add("started_utc >= $since"); select.Parameters.AddWithValue("$since", HistoryTime.ToText(since)); }
                if (!string.IsNullOrEmpty(query.Kind)) { where.Add("kind = $kind COLLATE NOCASE"); select.Parameters.AddWithValue("$kind", query.Kind); }
                if (!string.IsNullOrEmpty(query.Controller))
                {
                    where.Add("(controller_machine = $controller COLLATE NOCASE OR controller_user = $controller COLLATE NOCASE " +
                              "OR controller_user || '@' || controller_machine = $controller COLLATE NOCASE)");
                    select.Parameters.AddWithValue("$controller", query.Controller);
                }
                string Where() => where.Count > 0 ? " WHERE " + string.Join(" AND ", where) : "";
                var sql = new StringBuilder();
                if (!string.IsNullOrEmpty(query.HostName))
                {
                    select.Parameters.AddWithValue("$host", HostKey(query.HostName!));
                    const string HostIdSql = "(SELECT h.id FROM hosts h WHERE h.name = $host)";
                    if (walkNewest)
                    {
                        // The ids of the newest runs that pass the other filters (off runs_by_started), each probed in
                        // host_runs' key (host_id, run_id); only the matches' rows are read.
                        sql.Append("SELECT ").Append(RunColumns).Append(" FROM runs WHERE id IN (SELECT id FROM (SELECT id, started_utc FROM runs")
                           .Append(Where()).Append(" ORDER BY started_utc DESC, id DESC LIMIT ").Append(HostWalkRuns.ToString(CultureInfo.InvariantCulture))
                           .Append($") w WHERE EXISTS (SELECT 1 FROM host_runs x WHERE x.host_id = {HostIdSql} AND x.run_id = w.id))");
                        where.Clear();
                    }
                    else
                    {
                        // Every run of the host: one range of host_runs' key, then the other filters.
                        where.Add($"id IN (SELECT run_id FROM host_runs WHERE host_id = {HostIdSql})");
                        sql.Append("SELECT ").Append(RunColumns).Append(" FROM runs");
                    }
                }
                else sql.Append("SELECT ").Append(RunColumns).Append(" FROM runs");
                sql.Append(Where()).Append(" ORDER BY started_utc DESC, id DESC");
                if (limit is int n) sql.Append(" LIMIT ").Append(n.ToString(CultureInfo.InvariantCulture));
                select.CommandText = sql.ToString();
                using (var reader = select.ExecuteReader())
                    while (reader.Read() && add(ReadRun(reader))) { }
            }
        }

        public HistoryRunRecord? FindLatestRun(string command, string selection, long? beforeRunId) => Execute(connection =>
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

        public IEnumerable<FleetResult> ReadResults(long runId, string? hostName)
        {
            ThrowIfDisposed();
            return ReadResultsOneByOne(runId, hostName);
        }

        private IEnumerable<FleetResult> ReadResultsOneByOne(long runId, string? hostName)
        {
            var cache = new BlobTextCache();
            using (var connection = SqliteRetry.Run(Location, _busyTimeout, () => Connect(Location, _busyTimeout)))
            {
                var read = ReadPacks(connection, runId, hostName);
                if (read == null) yield break;
                var (command, entries) = read.Value;
                // Ordered by host name, then as recorded: the packs hold a run in arrival order.
                entries.Sort((a, b) =>
                {
                    int byHost = string.CompareOrdinal(a.Result.HostName, b.Result.HostName);
                    return byHost != 0 ? byHost : a.Seq.CompareTo(b.Seq);
                });
                var blobs = new Dictionary<long, (byte[] Hash, long Length)>();
                for (int i = 0; i < entries.Count; i++)
                {
                    var entry = entries[i];
                    entries[i] = null!; // handed out: don't keep its outputs
                    FleetResult result;
                    try
                    {
                        result = entry.Complete(command, runId, Location, id => Blob(connection, id, blobs).Hash);
                        result.StdOut = entry.StdOutText ?? (entry.StdOutBlob is long o ? cache.Get(o, id => ReadBlobText(connection, id, blobs)) : "");
                        result.StdErr = entry.StdErrText ?? (entry.StdErrBlob is long e ? cache.Get(e, id => ReadBlobText(connection, id, blobs)) : "");
                    }
                    catch (InvalidDataException e)
                    {
                        throw ResultFields.DamagedOutput(Location, runId, entry.Result.HostName, e);
                    }
                    yield return result;
                }
            }
        }

        /// <summary>The run's command and its results' entries (only <paramref name="hostName"/>'s when given), in pack order; null for an unknown run.</summary>
        private (string command, List<PackedResult> entries)? ReadPacks(SqliteConnection connection, long runId, string? hostName)
        {
            string? command;
            using (var select = connection.CreateCommand())
            {
                select.CommandText = "SELECT command FROM runs WHERE id = $id";
                select.Parameters.AddWithValue("$id", runId);
                command = SqliteRetry.Run(Location, _busyTimeout, () => select.ExecuteScalar()) as string;
            }
            if (command == null) return null;
            // One host's results: only the packs that list its id are unpacked (a run of 10,000 hosts is ~300 packs).
            long? hostId = null;
            string? hostKey = hostName == null ? null : HostKey(hostName);
            if (hostKey != null)
            {
                using (var select = connection.CreateCommand())
                {
                    select.CommandText = "SELECT id FROM hosts WHERE name = $name";
                    select.Parameters.AddWithValue("$name", hostKey);
                    if (!(SqliteRetry.Run(Location, _busyTimeout, () => select.ExecuteScalar()) is long id)) return (command, new List<PackedResult>());
                    hostId = id;
                }
            }
            var entries = new List<PackedResult>();
            using (var select = connection.CreateCommand())
            {
                select.CommandText = "SELECT host_ids, data FROM result_packs WHERE run_id = $id ORDER BY first_seq";
                select.Parameters.AddWithValue("$id", runId);
                using (var reader = SqliteRetry.Run(Location, _busyTimeout, () => select.ExecuteReader()))
                    while (SqliteRetry.Run(Location, _busyTimeout, () => reader.Read()))
                    {
                        if (hostId is long wanted && !ListsHost(reader.GetFieldValue<byte[]>(0), wanted)) continue;
                        foreach (var entry in DecodePack(reader.GetFieldValue<byte[]>(1), runId, Location))
                            if (hostKey == null || string.Equals(HostKey(entry.Result.HostName), hostKey, StringComparison.Ordinal))
                                entries.Add(entry);
                    }
            }
            return (command, entries);
        }

        // A damaged list of host ids can't say the host isn't there: its pack is unpacked (and reports damage of its own).
        private static bool ListsHost(byte[] hostIds, long hostId)
        {
            try
            {
                return ResultPack.DecodeIds(hostIds).Contains(hostId);
            }
            catch (InvalidDataException)
            {
                return true;
            }
        }

        /// <summary>
        /// A stored output's SHA-256 (a derived output hash is computed from it) and length, by blob id: read once per
        /// blob of the run being read, into <paramref name="known"/>.
        /// </summary>
        private (byte[] Hash, long Length) Blob(SqliteConnection connection, long blobId, Dictionary<long, (byte[] Hash, long Length)> known)
        {
            if (known.TryGetValue(blobId, out var blob)) return blob;
            using (var select = connection.CreateCommand())
            {
                select.CommandText = "SELECT hash, raw_length FROM blobs WHERE id = $id";
                select.Parameters.AddWithValue("$id", blobId);
                using (var reader = SqliteRetry.Run(Location, _busyTimeout, () => select.ExecuteReader()))
                {
                    if (!SqliteRetry.Run(Location, _busyTimeout, () => reader.Read())) throw new InvalidDataException($"output {blobId} is missing");
                    return known[blobId] = (reader.GetFieldValue<byte[]>(0), reader.GetInt64(1));
                }
            }
        }

        private string ReadBlobText(SqliteConnection connection, long blobId, Dictionary<long, (byte[] Hash, long Length)> known)
            => OutputChunks.Decode(ReadChunks(connection, blobId), Blob(connection, blobId, known).Length);

        /// <summary>A blob's stored chunks, in order: its inline one, or its rows of blob_chunks.</summary>
        private IEnumerable<KeyValuePair<byte, byte[]>> ReadChunks(SqliteConnection connection, long blobId)
        {
            using (var inline = connection.CreateCommand())
            {
                inline.CommandText = "SELECT encoding, data FROM blobs WHERE id = $id AND data IS NOT NULL";
                inline.Parameters.AddWithValue("$id", blobId);
                using (var reader = SqliteRetry.Run(Location, _busyTimeout, () => inline.ExecuteReader()))
                {
                    if (SqliteRetry.Run(Location, _busyTimeout, () => reader.Read()))
                    {
                        yield return new KeyValuePair<byte, byte[]>((byte)reader.GetInt64(0), (byte[])reader.GetValue(1));
                        yield break;
                    }
                }
            }
            using (var chunks = connection.CreateCommand())
            {
                chunks.CommandText = "SELECT encoding, data FROM blob_chunks WHERE blob_id = $id ORDER BY seq";
                chunks.Parameters.AddWithValue("$id", blobId);
                using (var reader = SqliteRetry.Run(Location, _busyTimeout, () => chunks.ExecuteReader()))
                    while (SqliteRetry.Run(Location, _busyTimeout, () => reader.Read()))
                        yield return new KeyValuePair<byte, byte[]>((byte)reader.GetInt64(0), (byte[])reader.GetValue(1));
            }
        }

        internal static HistoryRunRecord ReadRun(SqliteDataReader reader) => new HistoryRunRecord
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
            Uuid = Guid.Parse(reader.GetString(11)),
            ControllerMachine = reader.GetString(12),
            ControllerUser = reader.GetString(13),
        };

        public int Prune(DateTime cutoffUtc) => Write(connection =>
        {
            using (var transaction = new HistoryTransaction(connection, deferred: false))
            {
                int deleted = DeleteRunsStartedBefore(connection, transaction, cutoffUtc);
                transaction.Commit();
                return deleted;
            }
        });

        // At most once a day per database, whichever process opens it first that day checks it, and prunes it if
        // that process has a retention (one run without retention mustn't use up the day's prune). The due-check
        // and the work share one write transaction, so two processes opening at once don't both do it.
        // The integrity check reads every page (about 30 ms for 24 MB): too slow for every open, cheap once a day,
        // and it finds damage before more runs are written into a broken file.
        public void Maintain(TimeSpan? retention, DateTime nowUtc) => Write(connection =>
        {
            DateTime now = HistoryTime.ToUtc(nowUtc);
            using (var transaction = new HistoryTransaction(connection, deferred: false))
            {
                bool checkDue = IsDue(connection, transaction, LastCheckKey, now);
                bool pruneDue = retention.HasValue && IsDue(connection, transaction, LastPruneKey, now);
                if (!checkDue && !pruneDue) return true;

                if (checkDue)
                {
                    CheckIntegrity(connection, transaction);
                    SetMeta(connection, transaction, LastCheckKey, HistoryTime.ToText(now));
                }
                if (pruneDue)
                {
                    DeleteRunsStartedBefore(connection, transaction, HistoryRetention.Cutoff(now, retention!.Value));
                    SetMeta(connection, transaction, LastPruneKey, HistoryTime.ToText(now));
                }
                transaction.Commit();
                return true;
            }
        });

        private static bool IsDue(SqliteConnection connection, SqliteTransaction transaction, string key, DateTime now)
        {
            using (var read = connection.CreateCommand())
            {
                read.Transaction = transaction;
                read.CommandText = "SELECT value FROM meta WHERE key = $key";
                read.Parameters.AddWithValue("$key", key);
                if (!(read.ExecuteScalar() is string lastText)) return true;
                return HistoryRetention.IsDue(HistoryTime.Parse(lastText), now);
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
                if (verdict != "ok") throw SqliteRetry.Damaged(Location, verdict);
            }
        }

        private static int DeleteRunsStartedBefore(SqliteConnection connection, SqliteTransaction transaction, DateTime cutoffUtc)
        {
            using (var delete = connection.CreateCommand())
            {
                delete.Transaction = transaction;
                delete.CommandText = "SELECT id FROM runs WHERE started_utc < $cutoff";
                delete.Parameters.AddWithValue("$cutoff", HistoryTime.ToText(cutoffUtc));
                var ids = new List<long>();
                using (var reader = delete.ExecuteReader())
                    while (reader.Read()) ids.Add(reader.GetInt64(0));
                foreach (var id in ids) DeleteRun(connection, transaction, id);
                return ids.Count;
            }
        }

        /// <summary>
        /// Deletes a run, its results, and the outputs no other result refers to. Results first and explicitly, rather
        /// than through ON DELETE CASCADE, so it doesn't depend on the connection having foreign keys switched on.
        /// </summary>
        internal static void DeleteRun(SqliteConnection connection, SqliteTransaction transaction, long runId)
        {
            // The run's entries in the per-host index, by the host ids its packs list (host_runs is keyed by host first).
            // A damaged list can't stop a prune: the whole index is searched for the run then (slow, and only then).
            var hostIds = new HashSet<long>();
            bool damaged = false;
            using (var select = connection.CreateCommand())
            {
                select.Transaction = transaction;
                select.CommandText = "SELECT host_ids FROM result_packs WHERE run_id = $id";
                select.Parameters.AddWithValue("$id", runId);
                using (var reader = select.ExecuteReader())
                    while (reader.Read())
                    {
                        try
                        {
                            foreach (var id in ResultPack.DecodeIds(reader.GetFieldValue<byte[]>(0))) hostIds.Add(id);
                        }
                        catch (InvalidDataException)
                        {
                            damaged = true;
                        }
                    }
            }
            if (damaged)
            {
                using (var select = connection.CreateCommand())
                {
                    select.Transaction = transaction;
                    select.CommandText = "SELECT host_id FROM host_runs WHERE run_id = $id";
                    select.Parameters.AddWithValue("$id", runId);
                    using (var reader = select.ExecuteReader())
                        while (reader.Read()) hostIds.Add(reader.GetInt64(0));
                }
            }
            using (var unindex = connection.CreateCommand())
            {
                unindex.Transaction = transaction;
                unindex.CommandText = "DELETE FROM host_runs WHERE host_id = $host AND run_id = $id; " +
                                      "DELETE FROM hosts WHERE id = $host AND NOT EXISTS (SELECT 1 FROM host_runs WHERE host_id = $host)";
                var host = unindex.Parameters.Add("$host", SqliteType.Integer);
                unindex.Parameters.AddWithValue("$id", runId);
                foreach (var id in hostIds)
                {
                    host.Value = id;
                    unindex.ExecuteNonQuery();
                }
            }
            using (var delete = connection.CreateCommand())
            {
                delete.Transaction = transaction;
                delete.CommandText =
                    "CREATE TEMP TABLE IF NOT EXISTS gone_blobs (id INTEGER PRIMARY KEY); DELETE FROM temp.gone_blobs; " +
                    "INSERT OR IGNORE INTO temp.gone_blobs SELECT blob_id FROM run_blobs WHERE run_id = $id; " +
                    "DELETE FROM run_blobs WHERE run_id = $id; " +
                    "DELETE FROM result_packs WHERE run_id = $id; " +
                    "DELETE FROM runs WHERE id = $id; " +
                    "DELETE FROM temp.gone_blobs WHERE EXISTS (SELECT 1 FROM run_blobs WHERE blob_id = gone_blobs.id); " +
                    "DELETE FROM blob_chunks WHERE blob_id IN (SELECT id FROM temp.gone_blobs); " +
                    "DELETE FROM blobs WHERE id IN (SELECT id FROM temp.gone_blobs); " +
                    "DELETE FROM temp.gone_blobs;";
                delete.Parameters.AddWithValue("$id", runId);
                delete.ExecuteNonQuery();
            }
        }

        public RunImport ImportRun(ExportedRun run)
        {
            if (run == null) throw new ArgumentNullException(nameof(run));
            return Write(connection =>
            {
                using (var transaction = new HistoryTransaction(connection, deferred: false))
                {
                    long id;
                    int hostsThere;
                    bool finishedThere;
                    using (var find = connection.CreateCommand())
                    {
                        find.Transaction = transaction;
                        find.CommandText = "SELECT id, host_count, finished_utc IS NOT NULL FROM runs WHERE uuid = $uuid";
                        find.Parameters.AddWithValue("$uuid", UuidText(run.Header.Uuid));
                        using (var reader = find.ExecuteReader())
                        {
                            if (reader.Read()) { id = reader.GetInt64(0); hostsThere = reader.GetInt32(1); finishedThere = reader.GetInt64(2) != 0; }
                            else { id = -1; hostsThere = 0; finishedThere = false; }
                        }
                    }
                    bool added = id < 0;
                    if (added) id = InsertRun(connection, transaction, run.Header, recorder: null);
                    int inserted = InsertResults(connection, transaction, id, run.Results, Location);
                    bool moreComplete = run.Counts.Hosts > hostsThere || (run.FinishedUtc.HasValue && !finishedThere);
                    if (added || moreComplete)
                    {
                        using (var update = connection.CreateCommand())
                        {
                            update.Transaction = transaction;
                            update.CommandText =
                                "UPDATE runs SET host_count = max(host_count, $hosts), succeeded_count = CASE WHEN $hosts >= host_count THEN $succeeded ELSE succeeded_count END, " +
                                "failed_count = CASE WHEN $hosts >= host_count THEN $failed ELSE failed_count END, " +
                                "finished_utc = coalesce(finished_utc, $finished) WHERE id = $id";
                            update.Parameters.AddWithValue("$hosts", run.Counts.Hosts);
                            update.Parameters.AddWithValue("$succeeded", run.Counts.Succeeded);
                            update.Parameters.AddWithValue("$failed", run.Counts.Failed);
                            update.Parameters.AddWithValue("$finished", run.FinishedUtc.HasValue ? HistoryTime.ToText(run.FinishedUtc.Value) : (object)DBNull.Value);
                            update.Parameters.AddWithValue("$id", id);
                            update.ExecuteNonQuery();
                        }
                    }
                    transaction.Commit();
                    return added ? RunImport.Added : inserted > 0 || moreComplete ? RunImport.Completed : RunImport.AlreadyThere;
                }
            });
        }

        /// <summary>
        /// The runs of this file with everything a copy needs, oldest first, for <paramref name="copy"/> to take one at a
        /// time (a spool's upload, <c>herd history migrate</c>); each run's results and outputs are read lazily on a
        /// connection of their own while <paramref name="copy"/> runs. <paramref name="copy"/> gets the run's id here.
        /// </summary>
        internal void ExportRuns(Func<long, string?, bool> include, Action<long, ExportedRun> copy)
        {
            var runs = Execute(connection =>
            {
                using (var select = connection.CreateCommand())
                {
                    select.CommandText = $"SELECT {RunColumns}, watch_uuid, recorder FROM runs ORDER BY id";
                    var list = new List<(HistoryRunRecord run, Guid? watchUuid)>();
                    using (var reader = select.ExecuteReader())
                        while (reader.Read())
                        {
                            var run = ReadRun(reader);
                            var recorder = reader.IsDBNull(15) ? null : reader.GetString(15);
                            if (include(run.Id, run.IsComplete ? null : recorder))
                                list.Add((run, reader.IsDBNull(14) ? (Guid?)null : Guid.Parse(reader.GetString(14))));
                        }
                    return list;
                }
            });
            foreach (var (run, watchUuid) in runs)
            {
                var header = new RunHeader
                {
                    Uuid = run.Uuid, Kind = run.Kind, Command = run.Command, Selection = run.Selection, StartedUtc = run.StartedUtc,
                    WatchUuid = watchUuid, Iteration = run.Iteration, ControllerMachine = run.ControllerMachine, ControllerUser = run.ControllerUser,
                };
                using (var connection = SqliteRetry.Run(Location, _busyTimeout, () => Connect(Location, _busyTimeout)))
                    copy(run.Id, new ExportedRun(header, new RunCounts(run.HostCount, run.SucceededCount), run.FinishedUtc, ExportResults(connection, run.Id)));
            }
        }

        private IEnumerable<StoredResult> ExportResults(SqliteConnection connection, long runId)
        {
            var read = ReadPacks(connection, runId, hostName: null);
            if (read == null) yield break;
            var (command, entries) = read.Value;
            entries.Sort((a, b) => a.Seq.CompareTo(b.Seq));
            var blobs = new Dictionary<long, (byte[] Hash, long Length)>();
            for (int i = 0; i < entries.Count; i++)
            {
                var entry = entries[i];
                entries[i] = null!;
                StoredResult stored;
                try
                {
                    var result = entry.Complete(command, runId, Location, id => Blob(connection, id, blobs).Hash);
                    stored = new StoredResult(entry.Seq, result, Content(entry.StdOutText, entry.StdOutBlob), Content(entry.StdErrText, entry.StdErrBlob));
                }
                catch (InvalidDataException e)
                {
                    throw ResultFields.DamagedOutput(Location, runId, entry.Result.HostName, e);
                }
                yield return stored;
            }

            BlobContent? Content(string? text, long? blob)
            {
                if (text != null) return StoredOutput.Of(text);
                if (!(blob is long id)) return null;
                var (hash, length) = Blob(connection, id, blobs);
                return new CopiedBlob(hash, length, () => ReadChunks(connection, id));
            }
        }

        /// <summary>A stored output copied as its chunks are, without decompressing it.</summary>
        private sealed class CopiedBlob : BlobContent
        {
            private readonly Func<IEnumerable<KeyValuePair<byte, byte[]>>> _chunks;

            public CopiedBlob(byte[] hash, long length, Func<IEnumerable<KeyValuePair<byte, byte[]>>> chunks)
            {
                Hash = hash;
                Length = length;
                _chunks = chunks;
            }

            public override byte[] Hash { get; }
            public override long Length { get; }

            public override long WriteChunks(Action<int, byte, byte[], int> chunk)
            {
                long stored = 0;
                int seq = 0;
                foreach (var c in _chunks())
                {
                    chunk(seq++, c.Key, c.Value, c.Value.Length);
                    stored += c.Value.Length;
                }
                return stored;
            }
        }

        /// <summary>Deletes a run that was copied elsewhere (a spool after its upload).</summary>
        internal void DeleteRun(long runId) => Write(connection =>
        {
            using (var transaction = new HistoryTransaction(connection, deferred: false))
            {
                DeleteRun(connection, transaction, runId);
                transaction.Commit();
                return true;
            }
        });

        /// <summary>How many runs and snapshots the file holds (a spool: how many wait to be uploaded).</summary>
        internal (long runs, long snapshots) Count() => Execute(connection =>
            (Convert.ToInt64(ExecuteScalar(connection, "SELECT count(*) FROM runs"), CultureInfo.InvariantCulture),
             Convert.ToInt64(ExecuteScalar(connection, "SELECT count(*) FROM snapshots"), CultureInfo.InvariantCulture)));

        // Every writer of the file, thread or process, waits for its turn in the kernel (HistoryWriteLock: a lock file
        // beside the database) rather than in SQLite's busy polling, which lets a waiter lose to newer writers again and
        // again: 16 writers on one file saw one write wait 5.4 s of the 10 s busy timeout. Reads don't take a turn.
        private T Write<T>(Func<SqliteConnection, T> operation)
        {
            return _writeLock.Run(() => Execute(operation));
        }

        private T Execute<T>(Func<SqliteConnection, T> operation)
        {
            lock (_gate)
            {
                ThrowIfDisposed();
                return SqliteRetry.Run(Location, _busyTimeout, () => operation(_connection));
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

        internal static string UuidText(Guid uuid) => uuid.ToString("D", CultureInfo.InvariantCulture);

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
            if (_disposed) throw new ObjectDisposedException(nameof(HistoryStore), $"The history store for {Location} is closed.");
        }

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

    /// <summary>Retention arithmetic both backends share.</summary>
    public static class HistoryRetention
    {
        private static readonly TimeSpan Interval = TimeSpan.FromDays(1);

        /// <summary>The start time before which runs are deleted. A retention longer than the calendar (TimeSpan.MaxValue as "forever") keeps everything.</summary>
        public static DateTime Cutoff(DateTime nowUtc, TimeSpan retention)
            => retention >= nowUtc - DateTime.MinValue ? DateTime.MinValue : nowUtc - retention;

        /// <summary>Whether the once-a-day work last done at <paramref name="last"/> is due. A time in the future means the clock was wrong then or is now: do it rather than wait.</summary>
        public static bool IsDue(DateTime last, DateTime now) => last > now || now - last >= Interval;
    }
}
