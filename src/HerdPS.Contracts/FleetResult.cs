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
        private readonly HerdPS.Transport.OutputText _stdOut = new HerdPS.Transport.OutputText();
        private readonly HerdPS.Transport.OutputText _stdErr = new HerdPS.Transport.OutputText();
        /// <summary>
        /// The command's stdout (within the output cap). When the run spilled a large output to a temporary file
        /// (<c>herd exec</c> does), it is read into this string the first time it is asked for.
        /// </summary>
        public string StdOut { get => _stdOut.Text; set => _stdOut.Text = value; }
        public string StdErr { get => _stdErr.Text; set => _stdErr.Text = value; }
        /// <summary>True when stdout or stderr went past the output cap; the hash still covers everything.</summary>
        public bool Truncated { get; set; }
        /// <summary>When the first attempt started, in UTC.</summary>
        public DateTime StartTime { get; set; }
        public TimeSpan Duration { get; set; }
        public int Attempts { get; set; }
        /// <summary>The transport that ran it (<c>openssh</c>, <c>local</c>, ...): the registry kind the host resolved to.</summary>
        public string Transport { get; set; } = "";
        public FleetErrorKind ErrorKind { get; set; }
        public string? ErrorMessage { get; set; }
        /// <summary>SHA-256 (hex) over stdout, stderr and exit code, so identical outputs group.</summary>
        public string OutputHash { get; set; } = "";
        public NameList Groups { get; set; } = NameList.Empty;
        public NameList Tags { get; set; } = NameList.Empty;

        /// <summary>
        /// Frees the temporary files of a spilled output nobody has read into <see cref="StdOut"/> or
        /// <see cref="StdErr"/> (a streaming front end calls it once it has written the result). Reading them
        /// afterwards is an error, never a silent empty string. Output held in memory is untouched.
        /// </summary>
        public void ReleaseOutput()
        {
            _stdOut.Release();
            _stdErr.Release();
        }

        internal HerdPS.Transport.OutputText StdOutText => _stdOut;
        internal HerdPS.Transport.OutputText StdErrText => _stdErr;
        /// <summary>Stdout still in its spill file (not read into a string); null when it is in memory.</summary>
        internal HerdPS.Transport.CapturedOutput? SpilledStdOut => _stdOut.Spilled;
        internal HerdPS.Transport.CapturedOutput? SpilledStdErr => _stdErr.Spilled;
        internal bool HasSpilledOutput => _stdOut.Spilled != null || _stdErr.Spilled != null;

        /// <summary>Holds spilled outputs instead of text (this result now owns them); null leaves a stream as it is.</summary>
        internal void SetSpilledOutput(HerdPS.Transport.CapturedOutput? stdout, HerdPS.Transport.CapturedOutput? stderr)
        {
            if (stdout != null) _stdOut.SetSpilled(stdout);
            if (stderr != null) _stdErr.SetSpilled(stderr);
        }

        public override string ToString() => $"{HostName}: {Status}" + (ExitCode is int c ? $" ({c})" : "");
    }
}
