using System;
using System.Collections.Generic;

namespace HerdPS.History
{
    /// <summary>
    /// Records one run's results as they arrive. Results are numbered in arrival order, buffered and written in batches
    /// of <see cref="HistoryStoreOptions.BatchSize"/>, each batch in one transaction, so recording keeps up with a large
    /// fleet while holding only one batch in memory. The run's counts are updated with every batch, so a run whose
    /// process dies is still listed with what it had recorded (and no finish time).
    /// Add may be called from several threads.
    /// </summary>
    public sealed class HistoryRun : IDisposable
    {
        private readonly HistoryStore _store;
        private readonly int _batchSize;
        private readonly object _gate = new object();
        private readonly List<KeyValuePair<int, FleetResult>> _pending;
        private long _pendingChars;
        /// <summary>Output characters buffered before a batch is written regardless of its count (about 8 MiB of text).</summary>
        internal const long MaxPendingChars = 4L * 1024 * 1024;
        private RunCounts _counts;
        private int _nextSeq;
        private bool _completed;

        internal HistoryRun(HistoryStore store, long id, RunHeader header, int batchSize)
        {
            _store = store;
            Id = id;
            Header = header;
            _batchSize = batchSize;
            _pending = new List<KeyValuePair<int, FleetResult>>(batchSize);
        }

        /// <summary>
        /// The run's id in the history: what <c>herd history show</c> and <c>Get-FleetHistory -Id</c> take. A run kept
        /// in a server history's local spool has a negative id until it is uploaded (<see cref="Uuid"/> stays).
        /// </summary>
        public long Id { get; }

        /// <summary>The run's identity in every copy of the history.</summary>
        public Guid Uuid => Header.Uuid;

        internal RunHeader Header { get; }

        /// <summary>How many results are on disk (committed with their batch); the rest are buffered or were lost with a failed batch.</summary>
        public int WrittenCount { get; private set; }

        /// <summary>Records one host's result. It is on disk once its batch is written, at the latest at <see cref="Complete"/>.</summary>
        public void Add(FleetResult result)
        {
            if (result == null) throw new ArgumentNullException(nameof(result));
            lock (_gate)
            {
                if (_completed) throw new InvalidOperationException($"Run {Id} is already complete.");
                _pending.Add(new KeyValuePair<int, FleetResult>(_nextSeq++, result));
                var spilled = result.HasSpilledOutput;
                if (result.SpilledStdOut == null) _pendingChars += result.StdOut.Length;
                if (result.SpilledStdErr == null) _pendingChars += result.StdErr.Length;
                _counts = _counts.With(result);
                // A batch is bounded by size as well as count: 32 hosts of 5 MiB each must not sit in memory together.
                // A result whose output is in a spill file is written at once, from the file: the caller frees
                // that file as soon as Add returns (FleetResult.ReleaseOutput), so the batch must not outlive it.
                if (spilled || _pending.Count >= _batchSize || _pendingChars >= MaxPendingChars) WritePending(finishedUtc: null);
            }
        }

        /// <summary>Writes buffered results now, e.g. before a long pause in a watch.</summary>
        public void Flush()
        {
            lock (_gate)
            {
                if (!_completed && _pending.Count > 0) WritePending(finishedUtc: null);
            }
        }

        /// <summary>Writes the remaining results and the final counts, and marks the run finished.</summary>
        public void Complete(DateTime finishedUtc)
        {
            lock (_gate)
            {
                if (_completed) throw new InvalidOperationException($"Run {Id} is already complete.");
                WritePending(finishedUtc);
                _completed = true;
            }
        }

        /// <summary>
        /// Writes what is buffered but leaves the run unfinished, as a crash would, only without losing the
        /// last batch: a run that was cancelled or threw is still in the history, marked incomplete.
        /// Like every write, it throws a <see cref="HistoryException"/> if the database fails.
        /// </summary>
        public void Dispose()
        {
            lock (_gate)
            {
                if (_completed) return;
                _completed = true;
                if (_pending.Count > 0) WritePending(finishedUtc: null);
            }
        }

        private void WritePending(DateTime? finishedUtc)
        {
            // If the write throws, the batch stays pending and goes with the next one. A batch is one transaction:
            // it is on disk whole, with the run's counts, or not at all.
            _store.WriteResults(Id, _pending, _counts, finishedUtc);
            WrittenCount += _pending.Count;
            _pending.Clear();
            _pendingChars = 0;
        }
    }
}
