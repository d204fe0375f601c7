using System;
using System.Collections.Generic;

namespace HerdPS
{
    /// <summary>How a host's run ended. The names are a contract: scripts filter on them.</summary>
    public enum FleetStatus
    {
        /// <summary>The command ran and exited 0.</summary>
        Succeeded,
        /// <summary>The command ran and exited non-zero.</summary>
        Failed,
        /// <summary>The command never ran: no connection, no login, or a host key problem.</summary>
        Unreachable,
        /// <summary>The command ran longer than its timeout and was ended.</summary>
        TimedOut,
        /// <summary>The run was cancelled (Ctrl-C, fail-fast) before this host finished or started.</summary>
        Cancelled,
    }

    /// <summary>Why a host did not succeed, when the reason is not the command's own exit code.</summary>
    public enum FleetErrorKind
    {
        None,
        ConnectionRefused,
        NameResolution,
        ConnectTimeout,
        AuthenticationFailed,
        HostKeyUnknown,
        HostKeyMismatch,
        CommandTimeout,
        TransportError,
    }

    /// <summary>
    /// One host's outcome of one command. PowerShell sees it as <c>HerdPS.FleetResult</c>; NDJSON uses the
    /// same names in camelCase. Properties are settable so that history can rebuild results it stored.
    /// </summary>
    public sealed class FleetResult
    {
        public string HostName { get; set; } = "";
        public string Command { get; set; } = "";
        public FleetStatus Status { get; set; }
        /// <summary>Null when the command never ran (unreachable, cancelled before start).</summary>
        public int? ExitCode { get; set; }
        public bool Succeeded => Status == FleetStatus.Succeeded;
        public string StdOut { get; set; } = "";
        public string StdErr { get; set; } = "";
        /// <summary>True when stdout or stderr went past the output cap; the hash still covers everything.</summary>
        public bool Truncated { get; set; }
        /// <summary>When the first attempt started, in UTC.</summary>
        public DateTime StartTime { get; set; }
        public TimeSpan Duration { get; set; }
        public int Attempts { get; set; }
        public FleetErrorKind ErrorKind { get; set; }
        public string? ErrorMessage { get; set; }
        /// <summary>SHA-256 (hex) over stdout, stderr and exit code, so identical outputs group.</summary>
        public string OutputHash { get; set; } = "";
        public string[] Groups { get; set; } = Array.Empty<string>();
        public string[] Tags { get; set; } = Array.Empty<string>();

        public override string ToString() => $"{HostName}: {Status}" + (ExitCode is int c ? $" ({c})" : "");
    }
}
