using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using HerdPS.Files;
using Npgsql;
using NpgsqlTypes;

namespace HerdPS.History.PostgreSql
{
    /// <summary>
    /// A history on a PostgreSQL server, shared by every admin machine and scheduled task that records into it. Each
    /// operation takes a pooled connection; each batch of results is one transaction. Writers lock only their own run's
    /// row and, briefly, the output rows they refer to (FOR KEY SHARE, which writers never wait on among themselves), so
    /// any number of processes record at once; two that store the same new output at the same moment take turns on it,
    /// in hash order so they can't deadlock. The daily prune deletes an output only under FOR UPDATE SKIP LOCKED and only
    /// once no result refers to it, so it never takes an output a writer is about to use.
    /// </summary>
    internal sealed class PostgresHistoryBackend : IHistoryBackend
    {
        private const string RunColumns =
            "id, kind, command, selection, started_utc, finished_utc, host_count, succeeded_count, failed_count, watch_id, iteration, " +
            "uuid, controller_machine, controller_user";
        private const string LastPruneKey = "last_prune_utc";
        // Repeating a whole batch transaction is safe (results are numbered; outputs are re-read from where they are).
        private const int Attempts = 4;

        private readonly HistoryTarget _target;
        private readonly SharedDataSources.Lease _lease;
        private readonly NpgsqlDataSource _dataSource;
        private bool _disposed;

        public PostgresHistoryBackend(HistoryTarget target, SharedDataSources.Lease lease, HistoryStoreOptions options)
        {
            _target = target;
            _lease = lease;
            _dataSource = lease.Source;
        }

        public string Location => _target.Display;

        public void Initialize() => Run("opening the history", connection =>
        {
            PostgresSchema.Migrate(connection, _target);
            return true;
        });

        public long BeginRun(RunHeader header) => Run("beginning a run", connection =>
        {
            using (var transaction = connection.BeginTransaction())
            {
                // Claimed by UUID: when a broken connection's attempt did commit, the one run again finds it.
                long id = InsertRun(connection, transaction, header, ifAbsent: true) ?? RunIdOf(connection, transaction, header.Uuid);
                transaction.Commit();
                return id;
            }
        });

        private static long RunIdOf(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid uuid)
        {
            using (var find = new NpgsqlCommand("SELECT id FROM herd.runs WHERE uuid = $1", connection, transaction))
            {
                find.Parameters.Add(new NpgsqlParameter { Value = uuid });
                return (long)find.ExecuteScalar()!;
            }
        }

        /// <summary>Inserts a run and links it to its watch; with <paramref name="ifAbsent"/>, null when its UUID is here already.</summary>
        private static long? InsertRun(NpgsqlConnection connection, NpgsqlTransaction transaction, RunHeader header, bool ifAbsent)
        {
            long id;
            using (var insert = new NpgsqlCommand(
                "INSERT INTO herd.runs (uuid, kind, command, selection, started_utc, watch_uuid, iteration, controller_machine, controller_user) " +
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)" + (ifAbsent ? " ON CONFLICT (uuid) DO NOTHING" : "") + " RETURNING id", connection, transaction))
            {
                insert.Parameters.Add(new NpgsqlParameter { Value = header.Uuid });
                insert.Parameters.Add(new NpgsqlParameter { Value = header.Kind });
                insert.Parameters.Add(new NpgsqlParameter { Value = header.Command });
                insert.Parameters.Add(new NpgsqlParameter { Value = header.Selection });
                insert.Parameters.Add(Utc(header.StartedUtc));
                insert.Parameters.Add(new NpgsqlParameter { Value = (object?)header.WatchUuid ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Uuid });
                insert.Parameters.Add(new NpgsqlParameter { Value = (object?)header.Iteration ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Integer });
                insert.Parameters.Add(new NpgsqlParameter { Value = header.ControllerMachine ?? "" });
                insert.Parameters.Add(new NpgsqlParameter { Value = header.ControllerUser ?? "" });
                if (!(insert.ExecuteScalar() is long inserted)) return null;
                id = inserted;
            }
            // A watch's iterations name their first by UUID; its id is this database's. Iterations that arrived before
            // their first (uploaded from a spool) get the id when it arrives.
            if (header.WatchUuid is Guid watch)
            {
                using (var link = new NpgsqlCommand("UPDATE herd.runs SET watch_id = (SELECT w.id FROM herd.runs w WHERE w.uuid = $2) WHERE id = $1", connection, transaction))
                {
                    link.Parameters.Add(new NpgsqlParameter { Value = id });
                    link.Parameters.Add(new NpgsqlParameter { Value = watch });
                    link.ExecuteNonQuery();
                }
            }
            if (header.Iteration != null || ifAbsent)
            {
                using (var link = new NpgsqlCommand("UPDATE herd.runs SET watch_id = $1 WHERE watch_uuid = $2 AND watch_id IS NULL AND id <> $1", connection, transaction))
                {
                    link.Parameters.Add(new NpgsqlParameter { Value = id });
                    link.Parameters.Add(new NpgsqlParameter { Value = header.Uuid });
                    link.ExecuteNonQuery();
                }
            }
            return id;
        }

        public Guid? FindRunUuid(long id) => Run("looking up a run", connection =>
        {
            using (var select = new NpgsqlCommand("SELECT uuid FROM herd.runs WHERE id = $1", connection))
            {
                select.Parameters.Add(new NpgsqlParameter { Value = id });
                return select.ExecuteScalar() is Guid g ? g : (Guid?)null;
            }
        });

        public void WriteResults(long runId, IReadOnlyList<StoredResult> batch, RunCounts counts, DateTime? finishedUtc)
            => Run("recording results", connection =>
            {
                using (var transaction = connection.BeginTransaction())
                {
                    // The run's row first: locked until commit, so two writers of one run (a spool upload racing a retry)
                    // take turns, and the second sees which results the first stored.
                    using (var update = new NpgsqlCommand(
                        "UPDATE herd.runs SET host_count = $2, succeeded_count = $3, failed_count = $4, finished_utc = coalesce($5, finished_utc) WHERE id = $1",
                        connection, transaction))
                    {
                        update.Parameters.Add(new NpgsqlParameter { Value = runId });
                        update.Parameters.Add(new NpgsqlParameter { Value = counts.Hosts });
                        update.Parameters.Add(new NpgsqlParameter { Value = counts.Succeeded });
                        update.Parameters.Add(new NpgsqlParameter { Value = counts.Failed });
                        update.Parameters.Add(Utc(finishedUtc));
                        if (update.ExecuteNonQuery() == 0)
                            throw new HistoryException(Location, $"run {runId} is no longer in the history (it was pruned or deleted while recording).");
                    }
                    if (batch.Count > 0) InsertResults(connection, transaction, runId, batch);
                    transaction.Commit();
                    return true;
                }
            }, retry: true);

        /// <summary>
        /// Stores the results whose sequence numbers the run doesn't have yet (the caller holds the run's row locked), as
        /// packs of at most <see cref="ResultPack.MaxResults"/>, each long output stored unless its content is there;
        /// returns how many were new.
        /// </summary>
        private int InsertResults(NpgsqlConnection connection, NpgsqlTransaction transaction, long runId, IReadOnlyList<StoredResult> batch)
        {
            var there = ResultPacks.SeqsThere(connection, transaction, runId, batch.Min(r => r.Seq), batch.Max(r => r.Seq), Location);
            var fresh = batch.Where(r => there.Add(r.Seq)).OrderBy(r => r.Seq).ToList(); // Add: a number twice in the batch counts once
            if (fresh.Count == 0) return 0;
            // Hosts first, then outputs, in every writer: each in one order, so writers never wait for each other in a circle.
            var hosts = ResultPacks.HostIds(connection, transaction, fresh.Select(r => r.Result.HostName ?? ""));
            // A short output goes in the pack itself, a longer one into the blobs once per content: the pack refers to its id.
            var longOutputs = new List<BlobContent>();
            var entries = fresh.Select(r => ResultPack.Entry(r, content => { longOutputs.Add(content); return PendingBlob; })).ToList();
            var blobIds = BlobIds(connection, transaction, longOutputs);
            for (int i = 0; i < entries.Count; i++)
            {
                if (entries[i].StdOutBlob == PendingBlob) entries[i].StdOutBlob = blobIds[Key(fresh[i].StdOut!.Hash)];
                if (entries[i].StdErrBlob == PendingBlob) entries[i].StdErrBlob = blobIds[Key(fresh[i].StdErr!.Hash)];
            }
            for (int from = 0; from < entries.Count; from += ResultPack.MaxResults)
                ResultPacks.Insert(connection, transaction, runId, entries.GetRange(from, Math.Min(ResultPack.MaxResults, entries.Count - from)), hosts);
            return fresh.Count;
        }

        /// <summary>A long output's place in its entry until the outputs of the whole batch are stored (ids are positive).</summary>
        private const long PendingBlob = -1;

        /// <summary>
        /// The ids of these outputs, storing those the server doesn't have. Existing ones are locked FOR KEY SHARE (a
        /// pruning transaction then skips them); new ones are inserted in hash order, so two writers storing the same new
        /// outputs wait for each other in the same order and never deadlock.
        /// </summary>
        private static Dictionary<string, long> BlobIds(NpgsqlConnection connection, NpgsqlTransaction transaction, IEnumerable<BlobContent> contents)
        {
            var wanted = new SortedDictionary<string, BlobContent>(StringComparer.Ordinal);
            foreach (var c in contents) wanted[Key(c.Hash)] = c;
            var ids = new Dictionary<string, long>(StringComparer.Ordinal);
            if (wanted.Count == 0) return ids;
            Find(connection, transaction, wanted.Values.Select(c => c.Hash).ToArray(), ids);
            // New outputs of one chunk (nearly all) go in one round trip, compressed here first; larger ones stream in
            // chunk by chunk, so a 100 MiB output never sits in memory.
            var small = new List<(string key, BlobContent content, byte encoding, byte[] data)>();
            long smallBytes = 0;
            foreach (var entry in wanted)
            {
                if (ids.ContainsKey(entry.Key)) continue;
                var content = entry.Value;
                if (content.Length <= StoredOutput.ChunkSize && smallBytes < MaxSmallBatchBytes)
                {
                    byte encoding = 0;
                    byte[] data = Array.Empty<byte>();
                    content.WriteChunks((n, enc, bytes, count) => { encoding = enc; data = new ArraySegment<byte>(bytes, 0, count).ToArray(); });
                    small.Add((entry.Key, content, encoding, data));
                    smallBytes += data.Length;
                    continue;
                }
                InsertSmall(connection, transaction, small, ids);
                smallBytes = 0;
                InsertStreamed(connection, transaction, entry.Key, content, ids);
            }
            InsertSmall(connection, transaction, small, ids);
            return ids;
        }

        private const long MaxSmallBatchBytes = 8L * 1024 * 1024;

        private static void InsertSmall(NpgsqlConnection connection, NpgsqlTransaction transaction,
            List<(string key, BlobContent content, byte encoding, byte[] data)> small, Dictionary<string, long> ids)
        {
            if (small.Count == 0) return;
            using (var batch = new NpgsqlBatch(connection, transaction))
            {
                foreach (var (_, content, encoding, data) in small)
                {
                    // One chunk: inline in its blobs row.
                    var insert = new NpgsqlBatchCommand(
                        "INSERT INTO herd.blobs (hash, raw_length, stored_length, encoding, data) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (hash) DO NOTHING RETURNING id");
                    insert.Parameters.Add(new NpgsqlParameter { Value = content.Hash, NpgsqlDbType = NpgsqlDbType.Bytea });
                    insert.Parameters.Add(new NpgsqlParameter { Value = content.Length });
                    insert.Parameters.Add(new NpgsqlParameter { Value = (long)data.Length });
                    insert.Parameters.Add(new NpgsqlParameter { Value = (short)encoding, NpgsqlDbType = NpgsqlDbType.Smallint });
                    insert.Parameters.Add(new NpgsqlParameter { Value = data, NpgsqlDbType = NpgsqlDbType.Bytea });
                    batch.BatchCommands.Add(insert);
                }
                var lost = new List<byte[]>();
                using (var reader = batch.ExecuteReader())
                {
                    int i = 0;
                    do
                    {
                        if (reader.Read()) ids[small[i].key] = reader.GetInt64(0);
                        else lost.Add(small[i].content.Hash);
                        i++;
                    } while (reader.NextResult());
                }
                // Another writer stored these first and has committed (ON CONFLICT waited for it): a new statement sees them.
                if (lost.Count > 0) Find(connection, transaction, lost.ToArray(), ids);
                foreach (var (key, _, _, _) in small)
                    if (!ids.ContainsKey(key)) throw new InvalidDataException("an output another writer stored is gone again; the batch is tried again");
            }
            small.Clear();
        }

        private static void InsertStreamed(NpgsqlConnection connection, NpgsqlTransaction transaction, string key, BlobContent content, Dictionary<string, long> ids)
        {
            long? id;
            using (var insert = new NpgsqlCommand(
                "INSERT INTO herd.blobs (hash, raw_length) VALUES ($1, $2) ON CONFLICT (hash) DO NOTHING RETURNING id", connection, transaction))
            {
                insert.Parameters.Add(new NpgsqlParameter { Value = content.Hash, NpgsqlDbType = NpgsqlDbType.Bytea });
                insert.Parameters.Add(new NpgsqlParameter { Value = content.Length });
                id = insert.ExecuteScalar() as long?;
            }
            if (id is long newId)
            {
                long stored;
                using (var chunk = new NpgsqlCommand("INSERT INTO herd.blob_chunks (blob_id, seq, encoding, data) VALUES ($1, $2, $3, $4)", connection, transaction))
                {
                    var seq = new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Integer };
                    var encoding = new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Smallint };
                    var data = new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bytea };
                    chunk.Parameters.Add(new NpgsqlParameter { Value = newId });
                    chunk.Parameters.Add(seq);
                    chunk.Parameters.Add(encoding);
                    chunk.Parameters.Add(data);
                    stored = content.WriteChunks((n, enc, bytes, count) =>
                    {
                        seq.Value = n;
                        encoding.Value = (short)enc;
                        data.Value = new ArraySegment<byte>(bytes, 0, count).ToArray();
                        chunk.ExecuteNonQuery();
                    });
                }
                using (var size = new NpgsqlCommand("UPDATE herd.blobs SET stored_length = $2 WHERE id = $1", connection, transaction))
                {
                    size.Parameters.Add(new NpgsqlParameter { Value = newId });
                    size.Parameters.Add(new NpgsqlParameter { Value = stored });
                    size.ExecuteNonQuery();
                }
                ids[key] = newId;
            }
            else
            {
                Find(connection, transaction, new[] { content.Hash }, ids);
                if (!ids.ContainsKey(key)) throw new InvalidDataException("an output another writer stored is gone again; the batch is tried again");
            }
        }

        private static void Find(NpgsqlConnection connection, NpgsqlTransaction transaction, byte[][] hashes, Dictionary<string, long> ids)
        {
            using (var find = new NpgsqlCommand("SELECT hash, id FROM herd.blobs WHERE hash = ANY($1) ORDER BY hash FOR KEY SHARE", connection, transaction))
            {
                find.Parameters.Add(new NpgsqlParameter { Value = hashes, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bytea });
                using (var reader = find.ExecuteReader())
                    while (reader.Read()) ids[Key((byte[])reader.GetValue(0))] = reader.GetInt64(1);
            }
        }

        private static string Key(byte[] hash) => Convert.ToBase64String(hash);

        /// <summary>
        /// How many of the newest runs (after the other filters) a host's listing looks through for its runs before it asks
        /// the GIN index for all of them instead. A host in many runs is found within the newest few hundred (1 ms at 100k
        /// runs); walking all of them for a host in few runs took 124 ms, where the index finds those at once.
        /// </summary>
        internal const int HostWalkRuns = 4096;

        public void ListRuns(HistoryQuery query, int? limit, Func<HistoryRunRecord, bool> add)
        {
            var runs = Run("listing runs", connection =>
            {
                int? hostId = null;
                if (!string.IsNullOrEmpty(query.HostName))
                {
                    hostId = HostId(connection, query.HostName!);
                    if (hostId == null) return new List<HistoryRunRecord>(); // no run has had it
                }
                if (hostId is int host && limit is int n)
                {
                    // The newest runs first: when the host is in at least n of them, those are its n newest runs.
                    var recent = ListRuns(connection, query, host, limit, HostLookup.WalkNewest);
                    if (recent.Count == n) return recent;
                }
                return ListRuns(connection, query, hostId, limit, HostLookup.Index);
            });
            foreach (var run in runs)
                if (!add(run)) break;
        }

        private enum HostLookup { WalkNewest, Index }

        private List<HistoryRunRecord> ListRuns(NpgsqlConnection connection, HistoryQuery query, int? hostId, int? limit, HostLookup lookup)
        {
            using (var select = new NpgsqlCommand { Connection = connection })
            {
                var where = new List<string>();
                void Param(string condition, object value)
                {
                    select.Parameters.Add(new NpgsqlParameter { Value = value });
                    where.Add(condition.Replace("{p}", "$" + select.Parameters.Count));
                }
                if (query.Id is long id) Param("id = {p}", id);
                if (query.Since is DateTime since) { select.Parameters.Add(Utc(since)); where.Add("started_utc >= $" + select.Parameters.Count); }
                if (!string.IsNullOrEmpty(query.Kind)) Param("lower(kind) = lower({p})", query.Kind!);
                if (!string.IsNullOrEmpty(query.Controller))
                    Param("(lower(controller_machine) = lower({p}) OR lower(controller_user) = lower({p}) OR lower(controller_user || '@' || controller_machine) = lower({p}))", query.Controller!);
                string Where() => where.Count > 0 ? " WHERE " + string.Join(" AND ", where) : "";
                var sql = new StringBuilder();
                if (hostId is int host && lookup == HostLookup.WalkNewest)
                {
                    // The newest runs that pass the other filters, each checked for the host's number in its packs.
                    sql.Append("SELECT ").Append(RunColumns).Append(" FROM (SELECT * FROM herd.runs").Append(Where())
                       .Append(" ORDER BY started_utc DESC, id DESC LIMIT ").Append(HostWalkRuns).Append(") runs");
                    where.Clear();
                    Param("EXISTS (SELECT 1 FROM herd.result_packs p WHERE p.run_id = runs.id AND p.host_ids @> ARRAY[{p}::integer])", host);
                }
                else
                {
                    // Every run of the host, from the GIN index (as many lookups as it has runs), then the other filters.
                    if (hostId is int h)
                    {
                        select.Parameters.Add(new NpgsqlParameter { Value = h });
                        sql.Append("WITH of_host AS MATERIALIZED (SELECT DISTINCT run_id FROM herd.result_packs WHERE host_ids @> ARRAY[$")
                           .Append(select.Parameters.Count).Append("::integer]) ");
                        where.Add("id IN (SELECT run_id FROM of_host)");
                    }
                    sql.Append("SELECT ").Append(RunColumns).Append(" FROM herd.runs");
                }
                sql.Append(Where()).Append(" ORDER BY started_utc DESC, id DESC");
                if (limit is int n) sql.Append(" LIMIT ").Append(n);
                select.CommandText = sql.ToString();
                // Read whole (a listing is small, or limited), so the caller's filter runs with the connection back in the pool.
                var list = new List<HistoryRunRecord>();
                using (var reader = select.ExecuteReader())
                    while (reader.Read()) list.Add(ReadRun(reader));
                return list;
            }
        }

        public HistoryRunRecord? FindLatestRun(string command, string selection, long? beforeRunId) => Run("finding the last run", connection =>
        {
            using (var select = new NpgsqlCommand(
                $"SELECT {RunColumns} FROM herd.runs WHERE md5(command) = md5($1) AND md5(selection) = md5($2) AND command = $1 AND selection = $2 " +
                "AND finished_utc IS NOT NULL" + (beforeRunId.HasValue ? " AND id < $3" : "") + " ORDER BY md5(command), md5(selection), id DESC LIMIT 1", connection))
            {
                select.Parameters.Add(new NpgsqlParameter { Value = command });
                select.Parameters.Add(new NpgsqlParameter { Value = selection });
                if (beforeRunId.HasValue) select.Parameters.Add(new NpgsqlParameter { Value = beforeRunId.Value });
                using (var reader = select.ExecuteReader())
                    return reader.Read() ? ReadRun(reader) : null;
            }
        });

        public IEnumerable<FleetResult> ReadResults(long runId, string? hostName)
        {
            ThrowIfDisposed();
            return ReadResultsInBatches(runId, hostName);
        }

        private IEnumerable<FleetResult> ReadResultsInBatches(long runId, string? hostName)
        {
            // The run's packs first (with a host, only those that have it), decoded one by one as they arrive, keeping the
            // results asked for; then the stored outputs the next results need, a bounded batch per round trip
            // (OutputBatches), decoded as the results are handed out.
            var rows = Run("reading a run", connection =>
            {
                var list = new List<PendingResult>();
                string command;
                using (var select = new NpgsqlCommand("SELECT command FROM herd.runs WHERE id = $1", connection))
                {
                    select.Parameters.Add(new NpgsqlParameter { Value = runId });
                    if (!(select.ExecuteScalar() is string c)) return list;
                    command = c;
                }
                var kept = new List<PackedResult>();
                using (var select = new NpgsqlCommand(
                    "SELECT first_seq, last_seq, data FROM herd.result_packs WHERE run_id = $1" +
                    (hostName != null ? " AND (SELECT h.id FROM herd.hosts h WHERE lower(h.name) = lower($2)) = ANY (host_ids)" : "") +
                    " ORDER BY first_seq", connection))
                {
                    select.Parameters.Add(new NpgsqlParameter { Value = runId });
                    if (hostName != null) select.Parameters.Add(new NpgsqlParameter { Value = hostName });
                    using (var reader = select.ExecuteReader())
                        while (reader.Read())
                            foreach (var entry in ResultPacks.Decode((byte[])reader.GetValue(2), runId, reader.GetInt32(0), reader.GetInt32(1), hostName, Location))
                                if (hostName == null || string.Equals(entry.Result.HostName, hostName, StringComparison.OrdinalIgnoreCase))
                                    kept.Add(entry);
                }
                kept.Sort((a, b) =>
                {
                    int byHost = string.CompareOrdinal(a.Result.HostName, b.Result.HostName);
                    return byHost != 0 ? byHost : a.Seq.CompareTo(b.Seq);
                });
                // The outputs' sizes (to bound each read) and hashes (the output hash of a result is derived from them).
                var blobs = new Dictionary<long, (long Length, byte[] Hash)>();
                var ids = kept.SelectMany(e => new[] { e.StdOutBlob, e.StdErrBlob }).Where(id => id != null).Select(id => id!.Value).Distinct().ToArray();
                if (ids.Length > 0)
                    using (var select = new NpgsqlCommand("SELECT id, raw_length, hash FROM herd.blobs WHERE id = ANY($1)", connection))
                    {
                        select.Parameters.Add(new NpgsqlParameter { Value = ids, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
                        using (var reader = select.ExecuteReader())
                            while (reader.Read()) blobs[reader.GetInt64(0)] = (reader.GetInt64(1), (byte[])reader.GetValue(2));
                    }
                foreach (var entry in kept)
                {
                    var result = entry.Result;
                    foreach (var id in new[] { entry.StdOutBlob, entry.StdErrBlob })
                        if (id is long blob && !blobs.ContainsKey(blob))
                            throw ResultFields.DamagedOutput(Location, runId, result.HostName, new InvalidDataException($"output {blob} is missing"));
                    entry.Complete(command, runId, Location, blob => blobs[blob].Hash);
                    // Short outputs are in the pack; the others are read from their blobs afterwards.
                    result.StdOut = entry.StdOutText ?? "";
                    result.StdErr = entry.StdErrText ?? "";
                    list.Add(new PendingResult(result,
                        entry.StdOutBlob, entry.StdOutBlob is long o ? blobs[o].Length : 0,
                        entry.StdErrBlob, entry.StdErrBlob is long e ? blobs[e].Length : 0));
                }
                return list;
            });
            return OutputBatches.Read(rows, ReadOutputs, (result, e) => ResultFields.DamagedOutput(Location, runId, result.HostName, e));
        }

        /// <summary>The number of a host name (any case), or null when no run has had it.</summary>
        private static int? HostId(NpgsqlConnection connection, string hostName)
        {
            using (var select = new NpgsqlCommand("SELECT id FROM herd.hosts WHERE lower(name) = lower($1)", connection))
            {
                select.Parameters.Add(new NpgsqlParameter { Value = hostName });
                return select.ExecuteScalar() is int id ? id : (int?)null;
            }
        }

        /// <summary>The stored chunks of these outputs, in one round trip: inline ones from their blobs rows, the others from blob_chunks.</summary>
        private void ReadOutputs(List<long> ids, Dictionary<long, StoredChunks> read) => Run("reading stored outputs", connection =>
        {
            using (var batch = new NpgsqlBatch(connection))
            {
                var blobs = new NpgsqlBatchCommand("SELECT id, raw_length, encoding, data FROM herd.blobs WHERE id = ANY($1)");
                blobs.Parameters.Add(new NpgsqlParameter { Value = ids.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
                var chunks = new NpgsqlBatchCommand("SELECT blob_id, encoding, data FROM herd.blob_chunks WHERE blob_id = ANY($1) ORDER BY blob_id, seq");
                chunks.Parameters.Add(new NpgsqlParameter { Value = ids.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
                batch.BatchCommands.Add(blobs);
                batch.BatchCommands.Add(chunks);
                using (var reader = batch.ExecuteReader())
                {
                    while (reader.Read())
                    {
                        var stored = new StoredChunks(reader.GetInt64(1));
                        if (!reader.IsDBNull(3)) // one chunk, inline
                            stored.Chunks.Add(new KeyValuePair<byte, byte[]>((byte)reader.GetInt16(2), (byte[])reader.GetValue(3)));
                        read[reader.GetInt64(0)] = stored;
                    }
                    reader.NextResult();
                    while (reader.Read())
                        if (read.TryGetValue(reader.GetInt64(0), out var stored))
                            stored.Chunks.Add(new KeyValuePair<byte, byte[]>((byte)reader.GetInt16(1), (byte[])reader.GetValue(2)));
                }
            }
            return true;
        }, retryBroken: true);

        private HistoryRunRecord ReadRun(NpgsqlDataReader reader) => new HistoryRunRecord
        {
            Id = reader.GetInt64(0),
            Kind = reader.GetString(1),
            Command = reader.GetString(2),
            Selection = reader.GetString(3),
            StartedUtc = reader.GetFieldValue<DateTime>(4),
            FinishedUtc = reader.IsDBNull(5) ? (DateTime?)null : reader.GetFieldValue<DateTime>(5),
            HostCount = reader.GetInt32(6),
            SucceededCount = reader.GetInt32(7),
            FailedCount = reader.GetInt32(8),
            WatchId = reader.IsDBNull(9) ? (long?)null : reader.GetInt64(9),
            Iteration = reader.IsDBNull(10) ? (int?)null : reader.GetInt32(10),
            Uuid = reader.GetGuid(11),
            ControllerMachine = reader.GetString(12),
            ControllerUser = reader.GetString(13),
        };

        public int Prune(DateTime cutoffUtc) => Run("pruning old runs", connection =>
        {
            using (var transaction = connection.BeginTransaction())
            {
                int deleted = DeleteRunsStartedBefore(connection, transaction, cutoffUtc);
                transaction.Commit();
                return deleted;
            }
        }, retry: true, retryBroken: false); // it reports what it deleted: a second attempt would say 0

        // Once a day per server, whichever herd opens it first that day with a retention prunes; the others see the date,
        // or the advisory lock the one pruning holds, and go on at once rather than wait for it.
        public void Maintain(TimeSpan? retention, DateTime nowUtc)
        {
            if (retention == null) return;
            Run("pruning old runs", connection =>
            {
                using (var transaction = connection.BeginTransaction())
                {
                    using (var locked = new NpgsqlCommand($"SELECT pg_try_advisory_xact_lock({PostgresSchema.MaintenanceLock})", connection, transaction))
                        if (!(bool)locked.ExecuteScalar()!) return true;
                    using (var last = new NpgsqlCommand("SELECT value FROM herd.meta WHERE key = $1", connection, transaction))
                    {
                        last.Parameters.Add(new NpgsqlParameter { Value = LastPruneKey });
                        if (last.ExecuteScalar() is string text && !HistoryRetention.IsDue(DateTime.Parse(text, System.Globalization.CultureInfo.InvariantCulture,
                                System.Globalization.DateTimeStyles.AdjustToUniversal | System.Globalization.DateTimeStyles.AssumeUniversal), nowUtc))
                            return true;
                    }
                    DeleteRunsStartedBefore(connection, transaction, HistoryRetention.Cutoff(nowUtc, retention.Value));
                    using (var set = new NpgsqlCommand(
                        "INSERT INTO herd.meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value", connection, transaction))
                    {
                        set.Parameters.Add(new NpgsqlParameter { Value = LastPruneKey });
                        set.Parameters.Add(new NpgsqlParameter { Value = nowUtc.ToString("o", System.Globalization.CultureInfo.InvariantCulture) });
                        set.ExecuteNonQuery();
                    }
                    transaction.Commit();
                    return true;
                }
            }, retry: true);
        }

        private static int DeleteRunsStartedBefore(NpgsqlConnection connection, NpgsqlTransaction transaction, DateTime cutoffUtc)
        {
            void Execute(string sql, bool withCutoff = true)
            {
                using (var command = new NpgsqlCommand(sql, connection, transaction))
                {
                    if (withCutoff) command.Parameters.Add(Utc(cutoffUtc));
                    command.ExecuteNonQuery();
                }
            }
            Execute("CREATE TEMP TABLE IF NOT EXISTS herd_gone_blobs (id bigint PRIMARY KEY) ON COMMIT DELETE ROWS", withCutoff: false);
            Execute("CREATE TEMP TABLE IF NOT EXISTS herd_locked_blobs (id bigint PRIMARY KEY) ON COMMIT DELETE ROWS", withCutoff: false);
            // The old runs' references to outputs, noting the outputs: the only ones that may now be unused.
            Execute("WITH gone AS (DELETE FROM herd.run_blobs x USING herd.runs r WHERE r.id = x.run_id AND r.started_utc < $1 RETURNING x.blob_id) " +
                    "INSERT INTO herd_gone_blobs SELECT DISTINCT blob_id FROM gone ON CONFLICT DO NOTHING");
            int deleted;
            using (var runs = new NpgsqlCommand("DELETE FROM herd.runs WHERE started_utc < $1", connection, transaction)) // their packs with them
            {
                runs.Parameters.Add(Utc(cutoffUtc));
                deleted = runs.ExecuteNonQuery();
            }
            // Outputs no run refers to any more. Lock first, skipping any a writer holds (it is about to use it); then
            // look with a fresh snapshot: a writer that committed meanwhile is seen, and its output kept.
            Execute("INSERT INTO herd_locked_blobs SELECT b.id FROM herd.blobs b JOIN herd_gone_blobs g ON g.id = b.id FOR UPDATE OF b SKIP LOCKED", withCutoff: false);
            Execute("DELETE FROM herd.blobs b USING herd_locked_blobs l WHERE b.id = l.id AND NOT EXISTS (SELECT 1 FROM herd.run_blobs x WHERE x.blob_id = b.id)",
                withCutoff: false);
            return deleted;
        }

        public long SaveSnapshot(FleetSnapshot snapshot, Guid uuid) => Run("saving a snapshot", connection =>
        {
            using (var transaction = connection.BeginTransaction())
            {
                long id = InsertSnapshot(connection, transaction, snapshot, uuid);
                transaction.Commit();
                return id;
            }
        });

        private static long InsertSnapshot(NpgsqlConnection connection, NpgsqlTransaction transaction, FleetSnapshot snapshot, Guid uuid)
        {
            long id;
            using (var insert = new NpgsqlCommand(
                "INSERT INTO herd.snapshots (uuid, taken_utc, selection, host_count, captured_count) VALUES ($1, $2, $3, $4, $5) " +
                "ON CONFLICT (uuid) DO NOTHING RETURNING id", connection, transaction))
            {
                insert.Parameters.Add(new NpgsqlParameter { Value = uuid });
                insert.Parameters.Add(Utc(snapshot.TakenUtc));
                insert.Parameters.Add(new NpgsqlParameter { Value = snapshot.Selection ?? "" });
                insert.Parameters.Add(new NpgsqlParameter { Value = snapshot.Hosts.Count });
                insert.Parameters.Add(new NpgsqlParameter { Value = snapshot.CapturedCount });
                if (insert.ExecuteScalar() is long inserted) id = inserted;
                else
                {
                    // Saved already, hosts and all, by an attempt whose connection broke before its answer came.
                    using (var find = new NpgsqlCommand("SELECT id FROM herd.snapshots WHERE uuid = $1", connection, transaction))
                    {
                        find.Parameters.Add(new NpgsqlParameter { Value = uuid });
                        return (long)find.ExecuteScalar()!;
                    }
                }
            }
            int ord = 0;
            foreach (var h in snapshot.Hosts)
            {
                var f = SnapshotFields.Of(h);
                using (var insert = new NpgsqlCommand(
                    "INSERT INTO herd.snapshot_hosts (snapshot_id, ord, host, status, error_message, kernel, os_name, os_id, os_version, uptime_seconds, " +
                    "package_manager, packages, service_manager, services, disks, memory, unavailable) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
                    connection, transaction))
                {
                    var p = insert.Parameters;
                    p.Add(new NpgsqlParameter { Value = id });
                    p.Add(new NpgsqlParameter { Value = ord++ });
                    p.Add(new NpgsqlParameter { Value = h.HostName });
                    p.Add(new NpgsqlParameter { Value = h.Status.ToString() });
                    foreach (var text in new[] { h.ErrorMessage, h.Kernel, h.OsName, h.OsId, h.OsVersion })
                        p.Add(new NpgsqlParameter { Value = (object?)text ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
                    p.Add(new NpgsqlParameter { Value = (object?)h.UptimeSeconds ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Double });
                    p.Add(new NpgsqlParameter { Value = (object?)h.PackageManager ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
                    p.Add(new NpgsqlParameter { Value = f.Packages });
                    p.Add(new NpgsqlParameter { Value = (object?)h.ServiceManager ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
                    p.Add(new NpgsqlParameter { Value = f.Services });
                    p.Add(new NpgsqlParameter { Value = f.Disks });
                    p.Add(new NpgsqlParameter { Value = f.Memory });
                    p.Add(new NpgsqlParameter { Value = f.Unavailable });
                    insert.ExecuteNonQuery();
                }
            }
            return id;
        }

        public IReadOnlyList<SnapshotRecord> ListSnapshots(int? last) => Run("listing snapshots", connection =>
        {
            using (var select = new NpgsqlCommand(
                "SELECT id, taken_utc, selection, host_count, captured_count FROM herd.snapshots ORDER BY taken_utc DESC, id DESC" +
                (last is int n ? " LIMIT " + n : ""), connection))
            {
                var list = new List<SnapshotRecord>();
                using (var reader = select.ExecuteReader())
                    while (reader.Read())
                        list.Add(new SnapshotRecord
                        {
                            Id = reader.GetInt64(0),
                            TakenUtc = reader.GetFieldValue<DateTime>(1),
                            Selection = reader.GetString(2),
                            HostCount = reader.GetInt32(3),
                            CapturedCount = reader.GetInt32(4),
                        });
                return (IReadOnlyList<SnapshotRecord>)list;
            }
        });

        public FleetSnapshot? GetSnapshot(long id) => Run("reading a snapshot", connection =>
        {
            FleetSnapshot snapshot;
            using (var select = new NpgsqlCommand("SELECT taken_utc, selection FROM herd.snapshots WHERE id = $1", connection))
            {
                select.Parameters.Add(new NpgsqlParameter { Value = id });
                using (var reader = select.ExecuteReader())
                {
                    if (!reader.Read()) return null;
                    snapshot = new FleetSnapshot { Id = id, TakenUtc = reader.GetFieldValue<DateTime>(0), Selection = reader.GetString(1) };
                }
            }
            using (var select = new NpgsqlCommand(
                "SELECT host, status, error_message, kernel, os_name, os_id, os_version, uptime_seconds, package_manager, packages, " +
                "service_manager, services, disks, memory, unavailable FROM herd.snapshot_hosts WHERE snapshot_id = $1 ORDER BY ord", connection))
            {
                select.Parameters.Add(new NpgsqlParameter { Value = id });
                using (var r = select.ExecuteReader())
                    while (r.Read())
                        snapshot.Hosts.Add(SnapshotFields.Host(r.GetString(0), r.GetString(1), Text(r, 2), Text(r, 3), Text(r, 4), Text(r, 5), Text(r, 6),
                            r.IsDBNull(7) ? (double?)null : r.GetDouble(7), Text(r, 8), r.GetString(9), Text(r, 10), r.GetString(11), r.GetString(12),
                            r.GetString(13), r.GetString(14)));
            }
            return snapshot;
        });

        public bool DeleteSnapshot(long id) => Run("deleting a snapshot", connection =>
        {
            using (var delete = new NpgsqlCommand("DELETE FROM herd.snapshots WHERE id = $1", connection))
            {
                delete.Parameters.Add(new NpgsqlParameter { Value = id });
                return delete.ExecuteNonQuery() > 0;
            }
        }, retryBroken: false); // a second attempt after a deletion that did commit would say "no such snapshot"

        public RunImport ImportRun(ExportedRun run) => Run("copying a run in", connection =>
        {
            using (var transaction = connection.BeginTransaction())
            {
                int hostsThere = 0;
                bool finishedThere = false;
                // Claim the UUID by inserting it: a second upload of the same run (another herd emptying the same spool)
                // waits here for the first, then finds it.
                long? claimed = InsertRun(connection, transaction, run.Header, ifAbsent: true);
                bool added = claimed != null;
                long id;
                if (claimed is long newId) id = newId;
                else
                {
                    using (var find = new NpgsqlCommand("SELECT id, host_count, finished_utc IS NOT NULL FROM herd.runs WHERE uuid = $1 FOR UPDATE", connection, transaction))
                    {
                        find.Parameters.Add(new NpgsqlParameter { Value = run.Header.Uuid });
                        using (var reader = find.ExecuteReader())
                        {
                            reader.Read();
                            id = reader.GetInt64(0);
                            hostsThere = reader.GetInt32(1);
                            finishedThere = reader.GetBoolean(2);
                        }
                    }
                }
                int inserted = 0;
                var page = new List<StoredResult>(256);
                foreach (var result in run.Results)
                {
                    page.Add(result);
                    if (page.Count == page.Capacity) { inserted += InsertResults(connection, transaction, id, page); page.Clear(); }
                }
                if (page.Count > 0) inserted += InsertResults(connection, transaction, id, page);
                bool moreComplete = run.Counts.Hosts > hostsThere || (run.FinishedUtc.HasValue && !finishedThere);
                if (added || moreComplete)
                {
                    using (var update = new NpgsqlCommand(
                        "UPDATE herd.runs SET host_count = greatest(host_count, $2), " +
                        "succeeded_count = CASE WHEN $2 >= host_count THEN $3 ELSE succeeded_count END, " +
                        "failed_count = CASE WHEN $2 >= host_count THEN $4 ELSE failed_count END, " +
                        "finished_utc = coalesce(finished_utc, $5) WHERE id = $1", connection, transaction))
                    {
                        update.Parameters.Add(new NpgsqlParameter { Value = id });
                        update.Parameters.Add(new NpgsqlParameter { Value = run.Counts.Hosts });
                        update.Parameters.Add(new NpgsqlParameter { Value = run.Counts.Succeeded });
                        update.Parameters.Add(new NpgsqlParameter { Value = run.Counts.Failed });
                        update.Parameters.Add(Utc(run.FinishedUtc));
                        update.ExecuteNonQuery();
                    }
                }
                transaction.Commit();
                return added ? RunImport.Added : inserted > 0 || moreComplete ? RunImport.Completed : RunImport.AlreadyThere;
            }
        });

        public bool ImportSnapshot(FleetSnapshot snapshot, Guid uuid) => Run("copying a snapshot in", connection =>
        {
            using (var transaction = connection.BeginTransaction())
            {
                using (var find = new NpgsqlCommand("SELECT 1 FROM herd.snapshots WHERE uuid = $1", connection, transaction))
                {
                    find.Parameters.Add(new NpgsqlParameter { Value = uuid });
                    if (find.ExecuteScalar() != null) return false;
                }
                InsertSnapshot(connection, transaction, snapshot, uuid);
                transaction.Commit();
                return true;
            }
        });

        private static string? Text(NpgsqlDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

        private static NpgsqlParameter Utc(DateTime? time) => time is DateTime t
            ? new NpgsqlParameter { Value = DateTime.SpecifyKind(HistoryTimeUtc(t), DateTimeKind.Utc), NpgsqlDbType = NpgsqlDbType.TimestampTz }
            : new NpgsqlParameter { Value = DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz };

        // The engine speaks UTC; an unspecified time is taken as UTC, a local one converted (HistoryTime's rule).
        private static DateTime HistoryTimeUtc(DateTime time) => time.Kind == DateTimeKind.Local ? time.ToUniversalTime() : time;

        /// <summary>
        /// One operation on a pooled connection, its failures as <see cref="HistoryException"/>s. With <paramref name="retry"/>,
        /// a transaction the server aborted to resolve a conflict (deadlock, serialization, an output pruned under it) is
        /// run again from the start. Unless <paramref name="retryBroken"/> is false, an operation whose connection opened but
        /// then broke (the server restarted or dropped it, the network cut it while it sat in the pool: Npgsql hands out
        /// pooled connections without a round trip to check them) is run once more on a new connection, after the pool's
        /// other idle connections are dropped; every operation that allows it is idempotent (a run and a snapshot are
        /// claimed by UUID, results by number), so one whose commit did reach the server is not recorded twice. A
        /// connection that can't be opened at all is not tried again: the server is unreachable, and recording spools.
        /// </summary>
        private T Run<T>(string doing, Func<NpgsqlConnection, T> operation, bool retry = false, bool retryBroken = true)
        {
            ThrowIfDisposed();
            bool brokenRetried = false;
            for (int attempt = 1; ; attempt++)
            {
                bool opened = false;
                try
                {
                    using (var connection = _dataSource.OpenConnection())
                    {
                        opened = true;
                        return operation(connection);
                    }
                }
                catch (Exception e) when (retry && attempt < Attempts && IsConflict(e))
                {
                    System.Threading.Thread.Sleep(10 * attempt);
                }
                catch (Exception e) when (opened && retryBroken && !brokenRetried && PostgresErrors.IsUnreachable(e))
                {
                    brokenRetried = true;
                    _dataSource.Clear();
                }
                catch (HistoryException) { throw; }
                catch (Exception e) when (e is NpgsqlException || e is InvalidOperationException || e is IOException || e is TimeoutException || e is InvalidDataException)
                {
                    throw PostgresErrors.Translate(_target, e, doing);
                }
            }
        }

        private static bool IsConflict(Exception e) =>
            e is PostgresException p && (p.SqlState == PostgresErrorCodes.DeadlockDetected || p.SqlState == PostgresErrorCodes.SerializationFailure
                                         || p.SqlState == PostgresErrorCodes.ForeignKeyViolation || p.SqlState == PostgresErrorCodes.UniqueViolation)
            || e is InvalidDataException;

        private void ThrowIfDisposed()
        {
            if (_disposed) throw new ObjectDisposedException(nameof(HistoryStore), $"The history store for {Location} is closed.");
        }

        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            _lease.Dispose(); // the pool stays for the next store of this process (SharedDataSources)
        }
    }
}
