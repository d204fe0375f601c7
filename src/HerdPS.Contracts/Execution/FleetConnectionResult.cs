using System;

namespace HerdPS.Execution
{
    /// <summary>
    /// One host's answer to a real login (<c>Test-FleetConnection</c>, <c>herd ping</c>): PowerShell type
    /// <c>HerdPS.FleetConnectionResult</c>. The names match <see cref="FleetResult"/> where they mean the same.
    /// </summary>
    public sealed class FleetConnectionResult
    {
        /// <summary>The command a connection test runs: it proves a login and a shell, and changes nothing.</summary>
        public const string ProbeCommand = "true";

        public string HostName { get; set; } = "";
        /// <summary>True when the login worked and the probe exited 0.</summary>
        public bool Connected { get; set; }
        public FleetStatus Status { get; set; }
        /// <summary>Time from starting ssh to the probe's exit (with a pooled connection, a round trip on it).</summary>
        public TimeSpan Latency { get; set; }
        public int Attempts { get; set; }
        public FleetErrorKind ErrorKind { get; set; }
        public string? ErrorMessage { get; set; }
        public DateTime StartTime { get; set; }
        public NameList Groups { get; set; } = NameList.Empty;
        public NameList Tags { get; set; } = NameList.Empty;

        public static FleetConnectionResult From(FleetResult result)
        {
            if (result == null) throw new ArgumentNullException(nameof(result));
            return new FleetConnectionResult
            {
                HostName = result.HostName,
                Connected = result.Succeeded,
                Status = result.Status,
                Latency = result.Duration,
                Attempts = result.Attempts,
                ErrorKind = result.ErrorKind,
                // A probe that ran and exited non-zero means the remote shell is broken: say so rather than show nothing.
                ErrorMessage = result.Status == FleetStatus.Failed
                    ? $"logged in, but '{ProbeCommand}' exited {result.ExitCode}: {FirstLine(result.StdErr)}".TrimEnd(' ', ':')
                    : result.ErrorMessage,
                StartTime = result.StartTime,
                Groups = result.Groups,
                Tags = result.Tags,
            };
        }

        private static string FirstLine(string text)
        {
            var line = text.Split('\n')[0].Trim();
            return line;
        }

        public override string ToString() => $"{HostName}: " + (Connected ? $"connected ({Latency.TotalMilliseconds:0} ms)" : Status.ToString());
    }
}
