using System;

namespace HerdPS.Execution
{
    public static partial class FleetErrorRecords
    {
        /// <summary>
        /// The error for one host's step of a fleet script, or null: as for a command, a host the step could not
        /// reach or that ran out of time yields the same id ("ConnectionRefused", "CommandTimedOut", ...) with the host
        /// as its target, so -ErrorAction and -ErrorVariable work on scripts too. A step that ran and exited non-zero,
        /// was skipped or never started (the host failed earlier: that error was already written) is a result only;
        /// so is a cancelled one (Ctrl-C stopped the run, not the host).
        /// </summary>
        public static FleetErrorInfo? ForStep(FleetScriptStepResult step)
        {
            if (step == null) throw new ArgumentNullException(nameof(step));
            FleetStatus status;
            switch (step.Status)
            {
                case FleetScriptStepStatus.Unreachable: status = FleetStatus.Unreachable; break;
                case FleetScriptStepStatus.TimedOut: status = FleetStatus.TimedOut; break;
                default: return null;
            }
            var (id, category, action) = NotRun(status, step.ErrorKind);
            var exception = new ScriptStepException(step);
            return new FleetErrorInfo(id, category, exception, step.HostName) { RecommendedAction = action };
        }
    }

    /// <summary>A host's step of a fleet script that could not run to an exit code.</summary>
    public sealed class ScriptStepException : Exception
    {
        public ScriptStepException(FleetScriptStepResult step)
            : base($"{step.HostName}: step {step.StepId}: {step.ErrorMessage ?? step.Status.ToString()}")
        {
            Step = step;
        }

        public FleetScriptStepResult Step { get; }
    }
}
