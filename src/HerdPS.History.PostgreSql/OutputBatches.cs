using System;
using System.Collections.Generic;
using System.IO;

using HerdPS.History;

namespace HerdPS.History.PostgreSql
{
    /// <summary>A result as read from a history before its outputs: the result, and its stored outputs' ids and sizes.</summary>
    internal sealed class PendingResult
    {
        public PendingResult(FleetResult result, long? stdOut, long stdOutLength, long? stdErr, long stdErrLength)
        {
            Result = result;
            StdOut = stdOut;
            StdOutLength = stdOutLength;
            StdErr = stdErr;
            StdErrLength = stdErrLength;
        }

        public FleetResult Result { get; }
        /// <summary>Blob ids (null when the output is empty or inline in the row) and their uncompressed lengths.</summary>
        public long? StdOut { get; }
        public long StdOutLength { get; }
        public long? StdErr { get; }
        public long StdErrLength { get; }
    }

    /// <summary>An output's stored chunks as read, decoded only when a result needs its text.</summary>
    internal sealed class StoredChunks
    {
        public StoredChunks(long rawLength) => RawLength = rawLength;
        public long RawLength { get; }
        public List<KeyValuePair<byte, byte[]>> Chunks { get; } = new List<KeyValuePair<byte, byte[]>>(1);
    }

    /// <summary>
    /// Hands out a run's results with their outputs, reading the distinct outputs the next results need a batch at a time
    /// (one query, or one round trip to a server, per batch instead of per output): at most <see cref="MaxOutputs"/>
    /// outputs and <see cref="MaxBytes"/> uncompressed bytes per batch (an output larger than that alone), so 200 hosts
    /// that each printed 5 MiB are read an output or two at a time. Outputs already read for this run come from a
    /// bounded <see cref="BlobTextCache"/>; results are decoded as they are handed out. Here, with the PostgreSQL backend,
    /// because each query is a round trip; SQLite reads an output in-process in microseconds, and batching its reads made no
    /// difference measured at 2000 results (bench/results.md), so it reads them one by one still.
    /// </summary>
    internal static class OutputBatches
    {
        public const int MaxOutputs = 256;
        public const long MaxBytes = 8L * 1024 * 1024;

        /// <param name="rows">The run's results, outputs not read yet.</param>
        /// <param name="read">Reads these blob ids' chunks into the dictionary (a missing id is a damaged history).</param>
        /// <param name="damaged">The error for a result whose output can't be read.</param>
        public static IEnumerable<FleetResult> Read(IReadOnlyList<PendingResult> rows, Action<List<long>, Dictionary<long, StoredChunks>> read,
            Func<FleetResult, InvalidDataException, Exception> damaged)
        {
            var cache = new BlobTextCache();
            // The outputs of the results up to rows[next]: texts decoded (or found in the cache), and chunks not decoded yet.
            var texts = new Dictionary<long, string>();
            var chunks = new Dictionary<long, StoredChunks>();
            int next = 0;
            for (int i = 0; i < rows.Count; i++)
            {
                if (i == next)
                {
                    texts.Clear();
                    chunks.Clear();
                    next = Plan(rows, i, cache, texts, out var wanted);
                    if (wanted.Count > 0) read(wanted, chunks);
                }
                var row = rows[i];
                try
                {
                    if (row.StdOut is long o) row.Result.StdOut = Text(o, texts, chunks, cache);
                    if (row.StdErr is long e) row.Result.StdErr = Text(e, texts, chunks, cache);
                }
                catch (InvalidDataException e)
                {
                    throw damaged(row.Result, e);
                }
                yield return row.Result;
            }
        }

        /// <summary>
        /// The outputs to read for the results from rows[first] on, not in the cache: at least the first result's, then as
        /// many more whole results' as the bounds allow. Cached texts these results need go into <paramref name="texts"/>,
        /// so the cache dropping them meanwhile costs nothing. Returns the first row after the batch.
        /// </summary>
        private static int Plan(IReadOnlyList<PendingResult> rows, int first, BlobTextCache cache, Dictionary<long, string> texts, out List<long> wanted)
        {
            wanted = new List<long>();
            var seen = new HashSet<long>();
            long bytes = 0;
            var mine = new List<long>(2);
            for (int j = first; j < rows.Count; j++)
            {
                var row = rows[j];
                mine.Clear();
                long size = 0;
                foreach (var (id, length) in new[] { (row.StdOut, row.StdOutLength), (row.StdErr, row.StdErrLength) })
                {
                    if (!(id is long blob) || texts.ContainsKey(blob) || seen.Contains(blob) || mine.Contains(blob)) continue;
                    if (cache.TryGet(blob, out var text)) { texts[blob] = text; continue; }
                    mine.Add(blob);
                    size += length;
                }
                if (wanted.Count > 0 && (wanted.Count + mine.Count > MaxOutputs || bytes + size > MaxBytes)) return j;
                foreach (var blob in mine) { wanted.Add(blob); seen.Add(blob); }
                bytes += size;
            }
            return rows.Count;
        }

        private static string Text(long id, Dictionary<long, string> texts, Dictionary<long, StoredChunks> chunks, BlobTextCache cache)
        {
            if (texts.TryGetValue(id, out var text)) return text;
            if (!chunks.TryGetValue(id, out var stored)) throw new InvalidDataException($"output {id} is missing");
            text = OutputChunks.Decode(stored.Chunks, stored.RawLength);
            chunks.Remove(id);
            texts[id] = text;
            return cache.Get(id, _ => text);
        }
    }
}
