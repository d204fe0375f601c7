using System;
using System.Collections.Generic;

namespace HerdPS
{
    /// <summary>How one step ended on one host. The names are a contract: scripts filter on them.</summary>
    public enum FleetScriptStepStatus
    {
        /// <summary>The step ran and its exit code was allowed (0 unless allowed_exit_codes says more).</summary>
        Succeeded,
        /// <summary>The step ran and exited with a code it does not allow (or its until condition never held).</summary>
        Failed,
        /// <summary>The step never ran: no connection, no login, or a host key problem.</summary>
        Unreachable,
        /// <summary>The step ran longer than its timeout and was ended.</summary>
        TimedOut,
        /// <summary>The run was cancelled (Ctrl-C) before this host finished the step.</summary>
        Cancelled,
        /// <summary>The step's when condition was false, its on selector left the host out, or run_once ran it elsewhere.</summary>
        Skipped,
        /// <summary>The step never ran because the host had failed earlier, the run stopped (max_fail_percentage, stop_on_failure), or a dependency failed.</summary>
        NotRun,
    }

    /// <summary>
    /// One step of a fleet script on one host (<c>HerdPS.FleetScriptStepResult</c>; NDJSON uses the same names in
    /// camelCase). A looped step gives one per host per item, with <see cref="Item"/> set.
    /// </summary>
    public sealed class FleetScriptStepResult
    {
        public string Script { get; set; } = "";
        public string StepId { get; set; } = "";
        public string HostName { get; set; } = "";
        public FleetScriptStepStatus Status { get; set; }
        /// <summary>True for Succeeded, and for a failure the step ignores (ignore_error).</summary>
        public bool Succeeded => Status == FleetScriptStepStatus.Succeeded || (Ignored && Status != FleetScriptStepStatus.Cancelled);
        /// <summary>The step failed on this host and said ignore_error: the host goes on.</summary>
        public bool Ignored { get; set; }
        public int? ExitCode { get; set; }
        /// <summary>What ran, after templating (for a delegated or local step, on the controller or the delegate).</summary>
        public string Command { get; set; } = "";
        public string StdOut { get; set; } = "";
        public string StdErr { get; set; } = "";
        public int Attempts { get; set; }
        public DateTime StartTime { get; set; }
        public TimeSpan Duration { get; set; }
        /// <summary>The loop item this result is for; null for a step without a loop.</summary>
        public string? Item { get; set; }
        /// <summary>The rolling batch the host ran in, from 1.</summary>
        public int Batch { get; set; }
        /// <summary>Where a delegated step ran (delegate_to, local); null when it ran on the host itself.</summary>
        public string? RanOn { get; set; }
        /// <summary>How the command reached the host, as FleetResult.Transport says it (ssh, local, ...); empty for a transfer or a step that never ran.</summary>
        public string Transport { get; set; } = "";
        public FleetErrorKind ErrorKind { get; set; }
        /// <summary>Why the step did not succeed, or why it was skipped or not run.</summary>
        public string? ErrorMessage { get; set; }
        /// <summary>With diff-last: Unchanged, Changed or Added against the step's latest finished run; null without a comparison.</summary>
        public string? Change { get; set; }
        /// <summary>With diff-last: stdout's unified diff when Changed; empty otherwise.</summary>
        public string Diff { get; set; } = "";
        /// <summary>SHA-256 over stdout, stderr and exit code, as FleetResult.OutputHash (hosts with the same output share it).</summary>
        public string OutputHash { get; set; } = "";
        /// <summary>A handler (notify) rather than a step.</summary>
        public bool IsHandler { get; set; }
        /// <summary>Fields a step's parse: parser extracted from stdout (name to value); empty without one.</summary>
        public IDictionary<string, object?> Parsed { get; set; } = new Dictionary<string, object?>();

        public override string ToString() => $"{StepId}@{HostName}: {Status}";
    }

    /// <summary>How a whole script run ended, one per run (<c>HerdPS.FleetScriptSummary</c>), after every step result.</summary>
    public sealed class FleetScriptSummary
    {
        public string Script { get; set; } = "";
        /// <summary>Hosts the run selected.</summary>
        public int HostCount { get; set; }
        /// <summary>Hosts that finished every step they ran without a failure it didn't ignore.</summary>
        public int SucceededCount { get; set; }
        /// <summary>Hosts with a failure (failed, unreachable, timed out) that was not ignored.</summary>
        public int FailedCount { get; set; }
        /// <summary>Hosts left out because the run stopped before their batch (or Ctrl-C).</summary>
        public int NotRunCount { get; set; }
        public int StepCount { get; set; }
        public int BatchCount { get; set; }
        public bool Succeeded => FailedCount == 0 && NotRunCount == 0 && !Cancelled;
        public bool Cancelled { get; set; }
        /// <summary>Why the run stopped early (max_fail_percentage, stop_on_failure); null when it ran to the end.</summary>
        public string? StoppedReason { get; set; }
        public NameList FailedHosts { get; set; } = NameList.Empty;
        public DateTime StartTime { get; set; }
        public TimeSpan Duration { get; set; }
        /// <summary>The history runs that recorded the steps (one per step, a loop's items together); empty with NoHistory.</summary>
        public long[] HistoryRunIds { get; set; } = Array.Empty<long>();
    }

    /// <summary>A fleet script as <c>Get-FleetScript</c> lists it: a built-in, a recipe of the inventory, or a file it checked.</summary>
    public sealed class FleetScriptInfo
    {
        public string Name { get; set; } = "";
        public string? Description { get; set; }
        /// <summary>BuiltIn, Recipe or File.</summary>
        public string Source { get; set; } = "";
        public string? Path { get; set; }
        public NameList Parameters { get; set; } = NameList.Empty;
        public NameList Steps { get; set; } = NameList.Empty;
        /// <summary>For a file or recipe that was checked: null when valid, else the error with file:line:column.</summary>
        public string? Error { get; set; }
        public bool IsValid => Error == null;
    }

    /// <summary>One line of a script's plan (-WhatIf, --dry-run): what a step would do on a host, nothing run.</summary>
    public sealed class FleetScriptPlanStep
    {
        public string Script { get; set; } = "";
        public int Batch { get; set; }
        public string StepId { get; set; } = "";
        public string HostName { get; set; } = "";
        /// <summary>The command after templating, or what a transfer would copy; for a step whose hosts depend on earlier results, the selector.</summary>
        public string Action { get; set; } = "";
        /// <summary>Conditions known only while running (when, on, until) that may skip it.</summary>
        public string? Condition { get; set; }
        public string? RunsOn { get; set; }
    }
}
