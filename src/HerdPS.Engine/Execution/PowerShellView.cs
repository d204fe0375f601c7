using System;
using System.Linq;
using HerdPS.History;
using HerdPS.Watch;

namespace HerdPS.Execution
{
    /// <summary>
    /// The results as the cmdlets hand them to PowerShell. Output text loses its final line break, the way PowerShell
    /// shows a native command's output (<c>echo ok</c> gives "ok", so <c>-eq 'ok'</c> holds, a table cell has no
    /// empty second line and an Export-Csv cell no trailing newline). Only the copy handed to PowerShell changes:
    /// the history, <c>-DiffLast</c> and a watch's change detection compare the exact bytes, and
    /// <see cref="FleetResult.OutputHash"/> still covers every byte, so two outputs that differ only in that final
    /// line break have different hashes.
    /// </summary>
    public static class PowerShellView
    {
        /// <summary>"a\n" and "a\r\n" become "a"; "a\n\n" becomes "a\n"; anything else is unchanged.</summary>
        public static string WithoutFinalLineBreak(string? text)
        {
            if (string.IsNullOrEmpty(text)) return "";
            if (text![text.Length - 1] != '\n') return text;
            var cut = text.Length > 1 && text[text.Length - 2] == '\r' ? 2 : 1;
            return text.Substring(0, text.Length - cut);
        }

        /// <summary>The longest job name <see cref="JobName"/> makes; Get-Job's table has room for about this much.</summary>
        public const int JobNameLength = 60;

        /// <summary>
        /// A job's name says what it runs ("apt-get -s upgrade"), so Get-Job tells jobs apart: one line, runs of
        /// whitespace (newlines of a multi-line command included) made one space, cut with an ellipsis past
        /// <see cref="JobNameLength"/> characters.
        /// </summary>
        public static string JobName(string command)
        {
            var words = (command ?? "").Split(new[] { ' ', '\t', '\r', '\n' }, StringSplitOptions.RemoveEmptyEntries);
            var name = string.Join(" ", words);
            if (name.Length == 0) return "FleetJob";
            return name.Length <= JobNameLength ? name : name.Substring(0, JobNameLength - 1) + "\u2026";
        }

        /// <summary>A copy of <paramref name="result"/> with PowerShell's view of its output; the original is untouched.</summary>
        public static FleetResult Of(FleetResult result)
        {
            if (result == null) throw new ArgumentNullException(nameof(result));
            return new FleetResult
            {
                HostName = result.HostName,
                Command = result.Command,
                Status = result.Status,
                ExitCode = result.ExitCode,
                StdOut = WithoutFinalLineBreak(result.StdOut),
                StdErr = WithoutFinalLineBreak(result.StdErr),
                Truncated = result.Truncated,
                StartTime = result.StartTime,
                Duration = result.Duration,
                Attempts = result.Attempts,
                ErrorKind = result.ErrorKind,
                ErrorMessage = result.ErrorMessage,
                OutputHash = result.OutputHash,
                Groups = result.Groups,
                Tags = result.Tags,
                Transport = result.Transport,
            };
        }

        /// <summary>A copy of a script step's result with PowerShell's view of its output (the history keeps the exact bytes).</summary>
        public static FleetScriptStepResult Of(FleetScriptStepResult result)
        {
            if (result == null) throw new ArgumentNullException(nameof(result));
            return new FleetScriptStepResult
            {
                Script = result.Script,
                StepId = result.StepId,
                HostName = result.HostName,
                Status = result.Status,
                Ignored = result.Ignored,
                ExitCode = result.ExitCode,
                Command = result.Command,
                StdOut = WithoutFinalLineBreak(result.StdOut),
                StdErr = WithoutFinalLineBreak(result.StdErr),
                Attempts = result.Attempts,
                StartTime = result.StartTime,
                Duration = result.Duration,
                Item = result.Item,
                Batch = result.Batch,
                RanOn = result.RanOn,
                Transport = result.Transport,
                ErrorKind = result.ErrorKind,
                ErrorMessage = result.ErrorMessage,
                Change = result.Change,
                Diff = result.Diff,
                OutputHash = result.OutputHash,
                IsHandler = result.IsHandler,
                Parsed = result.Parsed,
            };
        }

        public static WatchResult Of(WatchResult watched)
        {
            if (watched == null) throw new ArgumentNullException(nameof(watched));
            return new WatchResult(Of(watched.Result), watched.Iteration, watched.IterationStartedUtc)
            {
                Changed = watched.Changed,
                Diff = watched.Diff,
                PreviousHash = watched.PreviousHash,
                PreviousStatus = watched.PreviousStatus,
                HistoryRunId = watched.HistoryRunId,
                WatchId = watched.WatchId,
                IsLastOfIteration = watched.IsLastOfIteration,
            };
        }

        public static RecordedRun Of(RecordedRun run)
        {
            if (run == null) throw new ArgumentNullException(nameof(run));
            return new RecordedRun(run.Run, run.Results.Select(Of).ToList());
        }

        public static HostChange Of(HostChange change)
        {
            if (change == null) throw new ArgumentNullException(nameof(change));
            return new HostChange
            {
                HostName = change.HostName,
                Change = change.Change,
                ReferenceStatus = change.ReferenceStatus,
                DifferenceStatus = change.DifferenceStatus,
                ReferenceHash = change.ReferenceHash,
                DifferenceHash = change.DifferenceHash,
                Diff = change.Diff,
                Reference = change.Reference == null ? null : Of(change.Reference),
                Difference = change.Difference == null ? null : Of(change.Difference),
            };
        }
    }
}
