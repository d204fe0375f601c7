using System;

namespace HerdPS.Execution
{
    /// <summary>When and how often each host runs. Defaults are what a user gets without flags.</summary>
    public sealed class FleetRunOptions
    {
        public const int DefaultThrottle = 32;
        public const long DefaultMaxOutputBytes = 10L * 1024 * 1024;

        /// <summary>How many hosts run at once.</summary>
        public int Throttle { get; set; } = DefaultThrottle;
        /// <summary>How long the command may run on a host before it is ended; null = no limit.</summary>
        public TimeSpan? CommandTimeout { get; set; }
        /// <summary>
        /// A host's own timeout (its group's in herd's config.yaml: <see cref="Inventory.FleetHost.Timeout"/>) replaces
        /// <see cref="CommandTimeout"/> for that host. Off when the run named a timeout itself (--timeout, -TimeoutSec,
        /// a script step's timeout), which then holds for every host.
        /// </summary>
        public bool HostTimeoutsApply { get; set; } = true;

        /// <summary>The limit for <paramref name="host"/>'s command under these options.</summary>
        public TimeSpan? CommandTimeoutFor(Inventory.FleetHost host) =>
            HostTimeoutsApply && host?.Timeout is TimeSpan own ? own : CommandTimeout;
        /// <summary>
        /// When the runner ends a command (timeout, Ctrl-C): how long after TERM to its process group before KILL.
        /// </summary>
        public TimeSpan StopGrace { get; set; } = Transport.RemoteInvocation.DefaultStopGrace;
        /// <summary>How long connecting (TCP, banner, key exchange) may take.</summary>
        public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);
        /// <summary>Extra attempts after a connection-level failure.</summary>
        public int Retries { get; set; }
        /// <summary>First retry delay; doubled each attempt, with jitter, capped at <see cref="RetryMaxDelay"/>.</summary>
        public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);
        public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromSeconds(30);
        /// <summary>Also retry a command that ran and exited non-zero (off: such a command is never re-run).</summary>
        public bool RetryOnFailure { get; set; }
        /// <summary>Stop starting new hosts after the first host that did not succeed.</summary>
        public bool FailFast { get; set; }
        /// <summary>Cap on kept stdout and on kept stderr per host; past it output is hashed but not kept.</summary>
        public long MaxOutputBytes { get; set; } = DefaultMaxOutputBytes;
        /// <summary>
        /// Keep output past a size in temporary files instead of memory (each result then reads it on demand; see
        /// <see cref="FleetResult.ReleaseOutput"/>). Null, the default, keeps all output in memory.
        /// </summary>
        public Transport.OutputSpill? Spill { get; set; }

        public void Validate()
        {
            if (Throttle < 1) throw new ArgumentOutOfRangeException(nameof(Throttle), Throttle, "throttle must be at least 1");
            if (Retries < 0) throw new ArgumentOutOfRangeException(nameof(Retries), Retries, "retries can't be negative");
            if (MaxOutputBytes < 0) throw new ArgumentOutOfRangeException(nameof(MaxOutputBytes), MaxOutputBytes, "output cap can't be negative");
            if (CommandTimeout is TimeSpan t && t <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(CommandTimeout), t, "timeout must be positive");
            if (StopGrace < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(StopGrace), StopGrace, "stop grace can't be negative");
            if (ConnectTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(ConnectTimeout), ConnectTimeout, "connect timeout must be positive");
        }
    }

    /// <summary>Progress of a run, reported through a callback that front ends render.</summary>
    public readonly struct FleetProgress
    {
        public FleetProgress(int total, int completed, int running, int notSucceeded)
        {
            Total = total;
            Completed = completed;
            Running = running;
            NotSucceeded = notSucceeded;
        }

        public int Total { get; }
        public int Completed { get; }
        public int Running { get; }
        /// <summary>Hosts finished in any state but Succeeded.</summary>
        public int NotSucceeded { get; }
    }
}
