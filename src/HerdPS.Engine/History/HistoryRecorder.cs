using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;

namespace HerdPS.History
{
    /// <summary>
    /// Records one run into the history while its results pass through to the caller, one at a time, so
    /// recording never holds more than the store's current batch.
    /// <para>
    /// The run is begun in the history by <see cref="Begin"/>, before anything runs: a history that can't be
    /// opened or written stops the command before it touches a host (the front ends exit 2), so nobody runs a
    /// command believing it was recorded when it wasn't. A failure after that (disk full, the file damaged or
    /// locked for too long mid-run) never costs the run its results: recording stops, <see cref="Failure"/>
    /// says why, and every result still reaches the caller. The front ends warn about it.
    /// </para>
    /// </summary>
    public sealed class HistoryRecorder : IDisposable
    {
        private readonly object _gate = new object();
        private HistoryRun? _run;
        private bool _finished;
        private int _given, _written;

        private HistoryRecorder(HistoryRun run, string databasePath)
        {
            _run = run;
            RunId = run.Id;
            RunUuid = run.Uuid;
            DatabasePath = databasePath;
        }

        /// <summary>
        /// Starts recording a run (see <see cref="HistoryStore.BeginRun"/>).
        /// </summary>
        /// <exception cref="HistoryException">The history can't be written; nothing should run.</exception>
        public static HistoryRecorder Begin(HistoryStore store, string kind, string command, string selection,
            DateTime startedUtc, long? watchId = null, int? iteration = null, Guid? watchUuid = null)
        {
            if (store == null) throw new ArgumentNullException(nameof(store));
            try
            {
                return new HistoryRecorder(store.BeginRun(kind, command, selection, startedUtc, watchId, iteration, watchUuid), store.DatabasePath);
            }
            catch (ObjectDisposedException e)
            {
                throw new HistoryException(store.DatabasePath, "the history store is closed", e);
            }
        }

        /// <summary>The run's id in the history (negative while a server history keeps it in the local spool).</summary>
        public long RunId { get; }

        /// <summary>The run's identity in every copy of the history (spool, server, a migrated file).</summary>
        public Guid RunUuid { get; }

        public string DatabasePath { get; }

        /// <summary>Why recording stopped before the run was complete; null while all is well.</summary>
        public Exception? Failure { get; private set; }

        /// <summary>
        /// After a failure: the sentence a front end warns with. It names the cause (for a full disk, "no space left
        /// on device" and the file) and how the run stands in the history: unfinished, with the results whose batch
        /// was written whole before the failure (a batch is one transaction; none is ever half there).
        /// </summary>
        public string? FailureSummary
        {
            get
            {
                lock (_gate)
                {
                    if (Failure == null) return null;
                    var reason = Failure is HistoryException h ? h.Reason : Failure.Message;
                    return $"{reason.TrimEnd('.')}. Run {RunId} stays in the history as unfinished, with {_written} of {_given} host result{(_given == 1 ? "" : "s")}.";
                }
            }
        }

        /// <summary>True when every result given so far is recorded (or buffered to be) and no failure occurred.</summary>
        public bool IsRecording => _run != null;

        /// <summary>Records one result. Never throws for a history problem: it stops recording and sets <see cref="Failure"/>.</summary>
        public void Add(FleetResult result)
        {
            if (result == null) throw new ArgumentNullException(nameof(result));
            lock (_gate)
            {
                _given++;
                if (_run == null) return;
                try { _run.Add(result); }
                catch (Exception e) when (IsHistoryFailure(e)) { Stop(e); }
            }
        }

        /// <summary>Writes what is left and marks the run finished. A failure sets <see cref="Failure"/>.</summary>
        public void Complete(DateTime finishedUtc)
        {
            lock (_gate)
            {
                if (_finished) return;
                _finished = true;
                if (_run == null) return;
                try { _run.Complete(finishedUtc); _run = null; }
                catch (Exception e) when (IsHistoryFailure(e)) { Stop(e); }
            }
        }

        /// <summary>
        /// Writes what is buffered and leaves the run without a finish time: what a cancelled (Ctrl-C) or
        /// abandoned run looks like in the history. <c>--diff-last</c> never compares with such a run.
        /// </summary>
        public void Abandon()
        {
            lock (_gate)
            {
                if (_finished) return;
                _finished = true;
                if (_run == null) return;
                try { _run.Dispose(); _run = null; }
                catch (Exception e) when (IsHistoryFailure(e)) { Stop(e); }
            }
        }

        /// <summary>
        /// Passes <paramref name="results"/> through, recording each before the caller sees it. When the
        /// results end, the run is completed, or abandoned if <paramref name="cancellation"/> was cancelled (the
        /// run was cut short: its hosts not yet finished are Cancelled) or the caller stopped reading early.
        /// </summary>
        public async IAsyncEnumerable<FleetResult> RecordAsync(IAsyncEnumerable<FleetResult> results,
            CancellationToken cancellation = default, [EnumeratorCancellation] CancellationToken enumeratorCancellation = default)
        {
            bool endedNormally = false;
            try
            {
                await foreach (var result in results.WithCancellation(enumeratorCancellation).ConfigureAwait(false))
                {
                    Add(result);
                    yield return result;
                }
                endedNormally = true;
            }
            finally
            {
                if (endedNormally && !cancellation.IsCancellationRequested) Complete(DateTime.UtcNow);
                else Abandon();
            }
        }

        // Recording is secondary to the run: whatever goes wrong with the database must not cost the results.
        private static bool IsHistoryFailure(Exception e) => !(e is OutOfMemoryException) && !(e is ArgumentNullException);

        private void Stop(Exception e)
        {
            Failure ??= e;
            var run = _run;
            _run = null;
            try { run?.Dispose(); }
            catch (Exception) { /* the same failure again; the first one is what the user is told */ }
            if (run != null) _written = run.WrittenCount;
        }

        /// <summary>Abandons the run unless it was completed.</summary>
        public void Dispose() => Abandon();
    }
}
