using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using HerdPS.History;
using Npgsql;
using NpgsqlTypes;

namespace HerdPS.History.PostgreSql
{
    /// <summary>
    /// How a run's results sit on the server (schema 4): a batch of them is one row of <c>herd.result_packs</c>, its
    /// <see cref="ResultPack"/> record with the sequence numbers it covers and its hosts' numbers (<c>herd.hosts</c>, for
    /// the GIN index <c>--host</c> uses); <c>herd.run_blobs</c> says which stored outputs the run refers to. Shared by the
    /// backend's writes and the migration that packs the rows of schema 3.
    /// </summary>
    internal static class ResultPacks
    {
        /// <summary>
        /// The number of each host name (a name that differs only in case has its number), numbering the new ones. Names
        /// are looked up first and only the missing ones inserted: an INSERT ... ON CONFLICT takes a number from the
        /// sequence even for a name that is there, and a batch per host a day would run the integers out. New names are
        /// inserted in one order (by lower(name)), so two writers numbering the same new hosts wait for each other in the
        /// same order and never deadlock. Hosts are never deleted, so a number once read stays right.
        /// </summary>
        public static Dictionary<string, int> HostIds(NpgsqlConnection connection, NpgsqlTransaction? transaction, IEnumerable<string> names)
        {
            var wanted = names.Distinct(StringComparer.Ordinal).ToArray();
            var ids = new Dictionary<string, int>(StringComparer.Ordinal);
            if (wanted.Length == 0) return ids;
            ReadHostIds(connection, transaction, wanted, ids);
            var missing = wanted.Where(n => !ids.ContainsKey(n)).ToArray();
            if (missing.Length == 0) return ids;
            using (var insert = new NpgsqlCommand(
                "INSERT INTO herd.hosts (name) SELECT DISTINCT ON (lower(n)) n FROM unnest($1::text[]) AS n ORDER BY lower(n), n " +
                "ON CONFLICT ((lower(name))) DO NOTHING", connection, transaction))
            {
                insert.Parameters.Add(new NpgsqlParameter { Value = missing, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
                insert.ExecuteNonQuery();
            }
            ReadHostIds(connection, transaction, missing, ids);
            foreach (var name in missing)
                if (!ids.ContainsKey(name)) throw new InvalidDataException($"host '{name}' could not be numbered");
            return ids;
        }

        private static void ReadHostIds(NpgsqlConnection connection, NpgsqlTransaction? transaction, string[] names, Dictionary<string, int> ids)
        {
            using (var select = new NpgsqlCommand(
                "SELECT n, h.id FROM unnest($1::text[]) AS n JOIN herd.hosts h ON lower(h.name) = lower(n)", connection, transaction))
            {
                select.Parameters.Add(new NpgsqlParameter { Value = names, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
                using (var reader = select.ExecuteReader())
                    while (reader.Read()) ids[reader.GetString(0)] = reader.GetInt32(1);
            }
        }

        /// <summary>
        /// Stores <paramref name="entries"/> (of one run, sequence numbers it doesn't have, at most
        /// <see cref="ResultPack.MaxResults"/>) as one pack, and the run's references to the outputs they use.
        /// </summary>
        public static void Insert(NpgsqlConnection connection, NpgsqlTransaction transaction, long runId, IReadOnlyList<PackedResult> entries,
            IReadOnlyDictionary<string, int> hostIds)
        {
            if (entries.Count == 0) return;
            var blobs = new SortedSet<long>();
            foreach (var e in entries)
            {
                if (e.StdOutBlob is long o) blobs.Add(o);
                if (e.StdErrBlob is long x) blobs.Add(x);
            }
            using (var batch = new NpgsqlBatch(connection, transaction))
            {
                var pack = new NpgsqlBatchCommand(
                    "INSERT INTO herd.result_packs (run_id, first_seq, last_seq, result_count, host_ids, data) VALUES ($1, $2, $3, $4, $5, $6)");
                pack.Parameters.Add(new NpgsqlParameter { Value = runId });
                pack.Parameters.Add(new NpgsqlParameter { Value = entries.Min(e => e.Seq) });
                pack.Parameters.Add(new NpgsqlParameter { Value = entries.Max(e => e.Seq) });
                pack.Parameters.Add(new NpgsqlParameter { Value = entries.Count });
                pack.Parameters.Add(new NpgsqlParameter
                {
                    Value = entries.Select(e => hostIds[e.Result.HostName ?? ""]).Distinct().OrderBy(id => id).ToArray(),
                    NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer,
                });
                pack.Parameters.Add(new NpgsqlParameter { Value = ResultPack.Encode(entries), NpgsqlDbType = NpgsqlDbType.Bytea });
                batch.BatchCommands.Add(pack);
                if (blobs.Count > 0)
                {
                    // The foreign key locks each output FOR KEY SHARE until commit: a prune skips it meanwhile.
                    var refer = new NpgsqlBatchCommand(
                        "INSERT INTO herd.run_blobs (run_id, blob_id) SELECT $1, b FROM unnest($2::bigint[]) AS b ON CONFLICT DO NOTHING");
                    refer.Parameters.Add(new NpgsqlParameter { Value = runId });
                    refer.Parameters.Add(new NpgsqlParameter { Value = blobs.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
                    batch.BatchCommands.Add(refer);
                }
                batch.ExecuteNonQuery();
            }
        }

        /// <summary>The sequence numbers from <paramref name="first"/> to <paramref name="last"/> the run has already.</summary>
        public static HashSet<int> SeqsThere(NpgsqlConnection connection, NpgsqlTransaction transaction, long runId, int first, int last, string location)
        {
            var seqs = new HashSet<int>();
            using (var select = new NpgsqlCommand(
                "SELECT first_seq, last_seq, data FROM herd.result_packs WHERE run_id = $1 AND first_seq <= $3 AND last_seq >= $2", connection, transaction))
            {
                select.Parameters.Add(new NpgsqlParameter { Value = runId });
                select.Parameters.Add(new NpgsqlParameter { Value = first });
                select.Parameters.Add(new NpgsqlParameter { Value = last });
                using (var reader = select.ExecuteReader())
                    while (reader.Read())
                        foreach (var e in Decode((byte[])reader.GetValue(2), runId, reader.GetInt32(0), reader.GetInt32(1), null, location))
                            seqs.Add(e.Seq);
            }
            return seqs;
        }

        /// <summary>A pack's entries; a damaged one (or one a newer HerdPS wrote) is an error naming the run and its results, never a guess.</summary>
        public static List<PackedResult> Decode(byte[] data, long runId, int firstSeq, int lastSeq, string? host, string location)
        {
            try
            {
                return ResultPack.Decode(data);
            }
            catch (InvalidDataException e)
            {
                string which = host != null ? $"host '{host}'" : $"results {firstSeq} to {lastSeq}";
                throw new HistoryException(location, $"run {runId}, {which}: the stored results can't be read ({e.Message}).", e);
            }
        }

        /// <summary>
        /// Schema 4's data step: every row of the old <c>herd.results</c> into packs, per run in sequence order, at most
        /// <see cref="ResultPack.MaxResults"/> to a pack; then the table goes. Read through a cursor a page at a time, so a
        /// server with millions of results migrates in flat memory. Short outputs (in the row's text columns) go into the
        /// pack; outputs in blobs stay there, now referred to from <c>run_blobs</c>. The output hash is kept unless the
        /// outputs and exit code give it (nearly always), as a new pack keeps it.
        /// </summary>
        public static void PackOldResults(NpgsqlConnection connection, NpgsqlTransaction transaction, string location)
        {
            using (var declare = new NpgsqlCommand(
                "DECLARE herd_old_results NO SCROLL CURSOR FOR " +
                "SELECT x.run_id, x.seq, x.host, x.status, x.exit_code, x.duration_ms, x.output_hash, x.truncated, x.error_kind, x.error_message, " +
                "x.attempts, x.start_utc, x.groups, x.tags, x.transport, x.stdout_text, x.stderr_text, x.stdout_blob, x.stderr_blob, so.hash, se.hash " +
                "FROM herd.results x LEFT JOIN herd.blobs so ON so.id = x.stdout_blob LEFT JOIN herd.blobs se ON se.id = x.stderr_blob " +
                "ORDER BY x.run_id, x.seq", connection, transaction))
                declare.ExecuteNonQuery();
            const int Page = 1024;
            var pack = new List<PackedResult>(ResultPack.MaxResults);
            long packRun = 0;
            var page = new List<(long run, PackedResult entry)>(Page);
            var blobHashes = new Dictionary<long, byte[]>();
            while (true)
            {
                page.Clear();
                using (var fetch = new NpgsqlCommand($"FETCH FORWARD {Page} FROM herd_old_results", connection, transaction))
                using (var r = fetch.ExecuteReader())
                    while (r.Read())
                    {
                        long runId = r.GetInt64(0);
                        string host = r.GetString(2);
                        var result = new FleetResult
                        {
                            HostName = host,
                            ExitCode = r.IsDBNull(4) ? (int?)null : r.GetInt32(4),
                            Duration = ResultFields.Duration(r.GetDouble(5)),
                            OutputHash = r.GetString(6),
                            Truncated = r.GetBoolean(7),
                            ErrorMessage = r.IsDBNull(9) ? null : r.GetString(9),
                            Attempts = r.GetInt32(10),
                            StartTime = r.GetFieldValue<DateTime>(11),
                            Groups = ResultFields.ParseStringList(r.GetString(12), "groups", runId, host, location),
                            Tags = ResultFields.ParseStringList(r.GetString(13), "tags", runId, host, location),
                            Transport = r.GetString(14),
                        };
                        var entry = new PackedResult(r.GetInt32(1), result)
                        {
                            // The names as stored: one this build doesn't know stays what it was, an error naming the run and
                            // host on reading, as it was before.
                            StatusName = r.GetString(3),
                            ErrorKindName = r.GetString(8),
                            StdOutText = r.IsDBNull(15) ? null : r.GetString(15),
                            StdErrText = r.IsDBNull(16) ? null : r.GetString(16),
                            StdOutBlob = r.IsDBNull(17) ? (long?)null : r.GetInt64(17),
                            StdErrBlob = r.IsDBNull(18) ? (long?)null : r.GetInt64(18),
                        };
                        // A row has its output as text or as a blob, never both; should one have both, the blob is the output.
                        if (entry.StdOutBlob != null) entry.StdOutText = null;
                        if (entry.StdErrBlob != null) entry.StdErrText = null;
                        blobHashes.Clear();
                        if (entry.StdOutBlob is long o) blobHashes[o] = (byte[])r.GetValue(19);
                        if (entry.StdErrBlob is long x) blobHashes[x] = (byte[])r.GetValue(20);
                        entry.HashIsDerived = string.Equals(ResultPack.DerivedHash(entry, id => blobHashes[id]), result.OutputHash, StringComparison.Ordinal);
                        page.Add((runId, entry));
                    }
                foreach (var (runId, entry) in page)
                {
                    if (pack.Count > 0 && (runId != packRun || pack.Count == ResultPack.MaxResults)) Flush();
                    packRun = runId;
                    pack.Add(entry);
                }
                if (page.Count < Page) break;
            }
            Flush();
            using (var close = new NpgsqlCommand("CLOSE herd_old_results; DROP TABLE herd.results", connection, transaction))
                close.ExecuteNonQuery();

            void Flush()
            {
                if (pack.Count == 0) return;
                var hosts = HostIds(connection, transaction, pack.Select(e => e.Result.HostName));
                Insert(connection, transaction, packRun, pack, hosts);
                pack.Clear();
            }
        }
    }
}
