using System;

namespace HerdPS.Execution
{
    /// <summary>How a run's progress reads in a progress bar (<c>Write-Progress</c>): worded here so every cmdlet says it the same way.</summary>
    public readonly struct FleetProgressText
    {
        private FleetProgressText(string activity, string status, int percent, bool completed)
        {
            Activity = activity;
            Status = status;
            PercentComplete = percent;
            Completed = completed;
        }

        public string Activity { get; }
        public string Status { get; }
        /// <summary>0-100.</summary>
        public int PercentComplete { get; }
        /// <summary>Every host has a result: the bar should be removed.</summary>
        public bool Completed { get; }

        public static FleetProgressText From(string command, FleetProgress progress)
        {
            var oneLine = Display.TerminalText.Line(command);
            var shown = oneLine.Length > 60 ? oneLine.Substring(0, 57) + "..." : oneLine;
            return ForActivity($"Running '{shown}'", progress);
        }

        /// <summary>
        /// Progress of a run described by its purpose ("Reading /etc/hosts") rather than by its command line. A
        /// progress bar is a human view: control characters in the activity are shown escaped (<see cref="Display.TerminalText"/>).
        /// </summary>
        public static FleetProgressText ForActivity(string activity, FleetProgress progress)
        {
            activity = Display.TerminalText.Line(activity);
            var percent = progress.Total == 0 ? 100 : (int)Math.Min(100, Math.Floor(100.0 * progress.Completed / progress.Total));
            var status = $"{progress.Completed} of {progress.Total} hosts done, {progress.Running} running";
            if (progress.NotSucceeded > 0) status += $", {progress.NotSucceeded} not succeeded";
            return new FleetProgressText(activity, status, percent, progress.Total > 0 && progress.Completed >= progress.Total);
        }
    }
}
