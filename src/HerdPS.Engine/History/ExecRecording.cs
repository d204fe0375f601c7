using System;
using System.Collections.Generic;
using System.Linq;
using HerdPS.Execution;

namespace HerdPS.History
{
    /// <summary>
    /// What one exec-style run (<c>Invoke-FleetCommand</c>, and its <c>-AsJob</c>) does with the history, decided
    /// here so the cmdlet is plumbing: open the history before anything runs (unless <c>-NoHistory</c>), with
    /// <c>-DiffLast</c> find the latest finished run of the same command and selection before this run is begun,
    /// record each result as it arrives and say how it changed, then complete the run, or leave it unfinished
    /// when it was cut short. The same sequence as <c>herd exec</c>.
    /// </summary>
    public sealed class ExecRecording : IDisposable
    {
        private readonly HistoryStore? _history;
        private readonly HistoryStore? _readOnly;
        private readonly HistoryRecorder? _recorder;
        private readonly LastRunComparison? _last;
        private bool _completed;

        private ExecRecording(HistoryStore? history, HistoryStore? readOnly, HistoryRecorder? recorder, LastRunComparison? last,
            string command, string selection)
        {
            _history = history;
            _readOnly = readOnly;
            _recorder = recorder;
            _last = last;
            Command = command;
            Selection = selection;
        }

        /// <summary>
        /// Opens the history for <paramref name="request"/> (its HistoryPath and NoHistory) and begins the run.
        /// With <paramref name="diffLast"/> and NoHistory, the history is only read. Call before any host is touched.
        /// </summary>
        /// <exception cref="HistoryException">The history can't be used: nothing should run (use NoHistory to run anyway).</exception>
        /// <param name="notice">Where a server history's notices go (unreachable: the run is kept in the local spool);
        /// null: the engine's process-wide notice.</param>
        public static ExecRecording Begin(FleetCommandRequest request, FleetTarget target, string command, bool diffLast,
            Func<string, string?>? getEnv = null, Action<string>? notice = null)
        {
            if (request == null) throw new ArgumentNullException(nameof(request));
            if (target == null) throw new ArgumentNullException(nameof(target));
            if (command == null) throw new ArgumentNullException(nameof(command));
            var selection = FleetHistory.SelectionText(request.Selection);
            HistoryStore? history = null, readOnly = null;
            HistoryRecorder? recorder = null;
            try
            {
                history = FleetHistory.OpenForRun(request, target, getEnv, notice);
                readOnly = diffLast && history == null
                    ? FleetHistory.OpenForReading(FleetHistory.Resolve(request.HistoryPath, request.HistoryCredential, target.Inventory.Defaults, getEnv), getEnv)
                    : null;
                // The reference is read before this run is begun, so it can never be this run.
                var last = diffLast ? FleetHistory.CompareWithLast((history ?? readOnly)!, command, selection) : null;
                recorder = history == null ? null : HistoryRecorder.Begin(history, FleetHistory.ExecKind, command, selection, DateTime.UtcNow);
                return new ExecRecording(history, readOnly, recorder, last, command, selection);
            }
            catch
            {
                recorder?.Dispose();
                history?.Dispose();
                readOnly?.Dispose();
                throw;
            }
        }

        public string Command { get; }
        public string Selection { get; }

        /// <summary>True when the run is being recorded (not NoHistory).</summary>
        public bool IsRecording => _recorder != null;
        /// <summary>The run's id in the history; null when not recorded.</summary>
        public long? RunId => _recorder?.RunId;
        public string? DatabasePath => _recorder?.DatabasePath ?? _readOnly?.DatabasePath;

        /// <summary>True with DiffLast: each result gets a Change, Changed and Diff.</summary>
        public bool ComparesWithLast => _last != null;

        /// <summary>The earlier run compared with; null without DiffLast or when there is none.</summary>
        public HistoryRunRecord? Reference => _last?.Reference;

        /// <summary>
        /// With DiffLast and no earlier finished run: the sentence saying so (a warning; not an error, this run
        /// becomes the baseline). Null otherwise.
        /// </summary>
        public string? NoReferenceNotice => _last != null && !_last.HasReference
            ? $"no earlier finished run of '{Command}' on '{Selection}' in the history; nothing to compare with (this run is the baseline for the next -DiffLast)"
            : null;

        /// <summary>Records one result and returns how it changed since the reference run (null without one).</summary>
        public HostChange? Add(FleetResult result)
        {
            if (result == null) throw new ArgumentNullException(nameof(result));
            _recorder?.Add(result);
            return _last?.Add(result);
        }

        /// <summary>
        /// Ends the run: completes its record, or leaves it unfinished when <paramref name="cancelled"/> (Ctrl-C).
        /// Returns the whole comparison (including hosts only in the earlier run) with DiffLast and a reference.
        /// </summary>
        public RunDifference? Complete(bool cancelled)
        {
            if (_completed) throw new InvalidOperationException("the run is already complete");
            _completed = true;
            if (_recorder != null)
            {
                if (cancelled) _recorder.Abandon();
                else _recorder.Complete(DateTime.UtcNow);
            }
            return _last?.Complete(RecordedRunOrNull());
        }

        /// <summary>After <see cref="Complete"/>: the warning to give when recording failed mid-run (the results are all there); else null.</summary>
        public string? FailureWarning => _recorder?.FailureSummary is string summary
            ? $"this run was not fully recorded in the history ({_recorder.DatabasePath}): {summary}"
            : null;

        /// <summary>Hosts of the reference run that are not in this one, as a warning; null when there are none.</summary>
        public static string? RemovedHostsNotice(RunDifference? difference)
        {
            if (difference == null || difference.Reference == null) return null;
            var removed = difference.Changes.Where(c => c.Change == HostChangeKind.Removed).Select(c => c.HostName).ToList();
            if (removed.Count == 0) return null;
            return $"{removed.Count} host(s) of run {difference.Reference.Id} are not in this run: {string.Join(", ", removed)}";
        }

        // The record only labels the comparison; a history that failed mid-run must not turn a finished run into an error.
        private HistoryRunRecord? RecordedRunOrNull()
        {
            if (_history == null || _recorder == null || _recorder.Failure != null) return null;
            try { return _history.GetRun(_recorder.RunId); }
            catch (HistoryException) { return null; }
        }

        /// <summary>Leaves the run unfinished unless completed (a stopped pipeline), and closes the history.</summary>
        public void Dispose()
        {
            _recorder?.Dispose();
            _history?.Dispose();
            _readOnly?.Dispose();
        }
    }

    /// <summary>
    /// The properties <c>-DiffLast</c> adds to each FleetResult, named and valued as <c>herd exec --diff-last --json</c>
    /// adds them: Change (Unchanged, Changed, Added; null with no earlier run), Changed (true only for Changed; null with no earlier run), Diff
    /// (stdout's unified diff, empty unless changed).
    /// </summary>
    public static class HostChangeFields
    {
        public static IReadOnlyList<KeyValuePair<string, object?>> For(HostChange? change) => new[]
        {
            new KeyValuePair<string, object?>("Change", change?.Change),
            new KeyValuePair<string, object?>("Changed", change == null ? null : (object)(change.Change == HostChangeKind.Changed)),
            new KeyValuePair<string, object?>("Diff", change?.Change == HostChangeKind.Changed ? change.Diff : ""),
        };
    }
}
