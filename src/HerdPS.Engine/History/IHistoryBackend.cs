using System;
using System.Collections.Generic;
using HerdPS.Files;

namespace HerdPS.History
{
    /// <summary>
    /// One database that holds a history: the embedded SQLite file (<see cref="SqliteHistoryBackend"/>), a PostgreSQL
    /// server (HerdPS.History.PostgreSql, loaded by <see cref="ServerHistory"/>), or a server with a local spool in front
    /// (<see cref="SpoolingHistoryBackend"/>). They hold the same things under the same names (runs with a UUID and
    /// their controller, results by run and sequence number, outputs stored once per content hash, snapshots) and answer
    /// the same questions; <see cref="HistoryStore"/> is the one front door to all of them, and holds what they share
    /// (batching, hashing outputs, the command wildcard, argument checks), so a backend is only its SQL.
    /// <para>
    /// Every method is safe to call from several threads. Failures are <see cref="HistoryException"/>s whose message
    /// names <see cref="Location"/> and never a password.
    /// </para>
    /// </summary>
    public interface IHistoryBackend : IDisposable
    {
        /// <summary>Where the history is, for messages: a file path, or <c>postgresql://user@host:port/database</c> (no password, ever).</summary>
        string Location { get; }

        /// <summary>Inserts a new run and returns its id. A watch iteration's <c>watch_id</c> is the id of the run whose UUID is <see cref="RunHeader.WatchUuid"/> (its own for the first iteration).</summary>
        long BeginRun(RunHeader header);

        /// <summary>The UUID of the run with this id, or null when there is none.</summary>
        Guid? FindRunUuid(long id);

        /// <summary>
        /// In one transaction: the batch's results (each output stored unless its content is there already), the run's
        /// counts, and with <paramref name="finishedUtc"/> its finish time. A result whose sequence number the run
        /// already has is skipped: a batch repeated after a lost commit is never recorded twice.
        /// </summary>
        /// <exception cref="HistoryException">Includes a run that is no longer there (pruned while recording).</exception>
        void WriteResults(long runId, IReadOnlyList<StoredResult> batch, RunCounts counts, DateTime? finishedUtc);

        /// <summary>
        /// The runs matching <paramref name="query"/>'s id, start time, kind, controller and host (not its command
        /// wildcard: the caller matches that), newest first, at most <paramref name="limit"/> when given, each passed to
        /// <paramref name="add"/> until it returns false.
        /// </summary>
        void ListRuns(HistoryQuery query, int? limit, Func<HistoryRunRecord, bool> add);

        /// <summary>The latest finished run of exactly this command on exactly this selection, before <paramref name="beforeRunId"/> if given.</summary>
        HistoryRunRecord? FindLatestRun(string command, string selection, long? beforeRunId);

        /// <summary>
        /// A run's results with their outputs, ordered by host name (ordinal) then as recorded, read one at a time; only
        /// <paramref name="hostName"/>'s (case-insensitive) when given. Empty for an unknown run.
        /// </summary>
        IEnumerable<FleetResult> ReadResults(long runId, string? hostName);

        /// <summary>Deletes the runs started before <paramref name="cutoffUtc"/>, their results, and the outputs no run refers to any more; returns how many runs.</summary>
        int Prune(DateTime cutoffUtc);

        /// <summary>What is done on opening, at most once a day per database: a check where the database has one, and with a <paramref name="retention"/> the prune.</summary>
        void Maintain(TimeSpan? retention, DateTime nowUtc);

        /// <summary>Stores a snapshot with all its hosts in one transaction; returns its id.</summary>
        long SaveSnapshot(FleetSnapshot snapshot, Guid uuid);

        IReadOnlyList<SnapshotRecord> ListSnapshots(int? last);

        FleetSnapshot? GetSnapshot(long id);

        bool DeleteSnapshot(long id);

        /// <summary>
        /// Copies a run in from another history (a spool's upload, <c>herd history migrate</c>), in one transaction. A run
        /// whose UUID is not here is added whole; one that is gets the results it lacks (by sequence number) and the
        /// more complete counts and finish time. Repeating an import changes nothing.
        /// </summary>
        RunImport ImportRun(ExportedRun run);

        /// <summary>Copies a snapshot in unless one with its UUID is here; true when it was added.</summary>
        bool ImportSnapshot(FleetSnapshot snapshot, Guid uuid);
    }

    /// <summary>What a run is, as it is begun: everything but its results and counts.</summary>
    public sealed class RunHeader
    {
        public Guid Uuid { get; set; }
        public string Kind { get; set; } = "";
        public string Command { get; set; } = "";
        public string Selection { get; set; } = "";
        public DateTime StartedUtc { get; set; }
        /// <summary>For a watch iteration, the UUID of the watch's first iteration (its own, for the first).</summary>
        public Guid? WatchUuid { get; set; }
        public int? Iteration { get; set; }
        public string ControllerMachine { get; set; } = "";
        public string ControllerUser { get; set; } = "";

        public RunHeader Clone() => (RunHeader)MemberwiseClone();
    }

    /// <summary>How many results a run has and how they went; written with every batch.</summary>
    public readonly struct RunCounts
    {
        public RunCounts(int hosts, int succeeded)
        {
            Hosts = hosts;
            Succeeded = succeeded;
        }

        public int Hosts { get; }
        public int Succeeded { get; }
        public int Failed => Hosts - Succeeded;

        public RunCounts With(FleetResult result) => new RunCounts(Hosts + 1, Succeeded + (result.Succeeded ? 1 : 0));
    }

    /// <summary>
    /// An output's content as a backend stores it: its hash and length, and its chunks, produced only if the backend
    /// doesn't have that hash yet.
    /// </summary>
    public abstract class BlobContent
    {
        /// <summary>SHA-256 of the uncompressed UTF-8 bytes.</summary>
        public abstract byte[] Hash { get; }
        /// <summary>Uncompressed length in bytes.</summary>
        public abstract long Length { get; }
        /// <summary>Calls <paramref name="chunk"/> with each chunk's number, encoding, bytes and length, in order; returns the stored bytes.</summary>
        public abstract long WriteChunks(Action<int, byte, byte[], int> chunk);

        /// <summary>
        /// Outputs of at most this many UTF-8 bytes are kept as text in their result's pack (<see cref="ResultPack"/>)
        /// instead of as a blob. A blob costs ~100 bytes whatever its content (its row with the 32-byte hash, the hash's
        /// index entry, the run's reference to it) and is compressed alone; in a pack, outputs that differ from host to host
        /// compress together (what repeats between them goes). Reading a run holds its packs' short outputs in memory at
        /// once (at most this many bytes a host); longer outputs are read one at a time.
        /// </summary>
        public const int InlineLimit = 1024;

        /// <summary>The content as text when it is kept in the result's pack (at most <see cref="InlineLimit"/> bytes); else null, and it is stored as a blob.</summary>
        public virtual string? InlineText()
        {
            if (Length > InlineLimit) return null;
            var chunks = new List<KeyValuePair<byte, byte[]>>();
            WriteChunks((n, encoding, bytes, count) =>
            {
                var copy = new byte[count]; // the buffer is reused
                Buffer.BlockCopy(bytes, 0, copy, 0, count);
                chunks.Add(new KeyValuePair<byte, byte[]>(encoding, copy));
            });
            return OutputChunks.Decode(chunks, Length);
        }
    }

    /// <summary>One result as a backend writes it: its number within the run, its fields, and its two outputs (null when empty).</summary>
    public sealed class StoredResult
    {
        public StoredResult(int seq, FleetResult result, BlobContent? stdOut, BlobContent? stdErr)
        {
            Seq = seq;
            Result = result ?? throw new ArgumentNullException(nameof(result));
            StdOut = stdOut;
            StdErr = stdErr;
        }

        /// <summary>0, 1, 2, ... in the order the run's results arrived: with the run, the result's identity.</summary>
        public int Seq { get; }
        /// <summary>The result's fields (its StdOut and StdErr are not read: <see cref="StdOut"/> and <see cref="StdErr"/> are).</summary>
        public FleetResult Result { get; }
        public BlobContent? StdOut { get; }
        public BlobContent? StdErr { get; }
    }

    /// <summary>A whole run as read out of one history to be copied into another.</summary>
    public sealed class ExportedRun
    {
        public ExportedRun(RunHeader header, RunCounts counts, DateTime? finishedUtc, IEnumerable<StoredResult> results)
        {
            Header = header;
            Counts = counts;
            FinishedUtc = finishedUtc;
            Results = results;
        }

        public RunHeader Header { get; }
        public RunCounts Counts { get; }
        public DateTime? FinishedUtc { get; }
        /// <summary>Read lazily, one at a time, while the target writes them.</summary>
        public IEnumerable<StoredResult> Results { get; }
    }

    /// <summary>What an import did.</summary>
    public enum RunImport
    {
        /// <summary>The run was not there; it is now, whole.</summary>
        Added,
        /// <summary>The run was there in part (it was spooled mid-run); the missing results, counts or finish were added.</summary>
        Completed,
        /// <summary>The run was there already with everything: nothing changed.</summary>
        AlreadyThere,
    }
}
