using System;
using HerdPS.Inventory;
using HerdPS.Selection;
using HerdPS.Transport;

namespace HerdPS.Execution
{
    /// <summary>
    /// Everything a front end (the herd CLI, a cmdlet) was told, before defaults. Both front ends fill one of
    /// these from their flags or parameters, so "flag, else inventory default, else built-in default" is decided
    /// once, here. Null means "not given".
    /// </summary>
    public sealed class FleetCommandRequest
    {
        public string? InventoryPath { get; set; }
        public HostSelection Selection { get; set; } = new HostSelection();
        public string? SshConfigPath { get; set; }
        public string? SshPath { get; set; }
        public string? User { get; set; }
        public string? IdentityFile { get; set; }
        public int? Throttle { get; set; }
        public TimeSpan? Timeout { get; set; }
        public TimeSpan? ConnectTimeout { get; set; }
        public int? Retries { get; set; }
        public TimeSpan? RetryDelay { get; set; }
        public bool RetryOnFailure { get; set; }
        public bool FailFast { get; set; }
        public bool AcceptNewHostKeys { get; set; }
        /// <summary>Turns host key checking off. Callers must warn on every run that uses it.</summary>
        public bool Insecure { get; set; }
        public long? MaxOutputBytes { get; set; }
        public bool NoMultiplex { get; set; }
        public TimeSpan? ControlPersist { get; set; }
        public string? ControlDirectory { get; set; }
        /// <summary>
        /// The transport kind that serves the inventory's SSH hosts (<c>openssh</c>, the default); hosts marked
        /// <c>transport: local</c> still run locally. Resolved through the transport registry, which refuses an unknown kind.
        /// </summary>
        public string? Transport { get; set; }
        /// <summary>Send the command without the remote wrapper (hosts without /bin/sh).</summary>
        public bool Raw { get; set; }
        /// <summary>The history database (<c>--history</c>); null = <c>$HERD_HISTORY</c>, else the per-user default.</summary>
        public string? HistoryPath { get; set; }
        /// <summary>Don't record this run (<c>--no-history</c>).</summary>
        public bool NoHistory { get; set; }

        public FleetRunOptions ToRunOptions(InventoryDefaults defaults)
        {
            var options = new FleetRunOptions
            {
                Throttle = Throttle ?? defaults.Throttle ?? FleetRunOptions.DefaultThrottle,
                CommandTimeout = Timeout ?? defaults.Timeout,
                ConnectTimeout = ConnectTimeout ?? defaults.ConnectTimeout ?? TimeSpan.FromSeconds(10),
                Retries = Retries ?? 0,
                RetryOnFailure = RetryOnFailure,
                FailFast = FailFast,
                MaxOutputBytes = MaxOutputBytes ?? FleetRunOptions.DefaultMaxOutputBytes,
            };
            if (RetryDelay is TimeSpan d) options.RetryBaseDelay = d;
            options.Validate();
            return options;
        }

        public SshOptions ToSshOptions()
        {
            if (AcceptNewHostKeys && Insecure)
                throw new ArgumentException("choose either accepting new host keys or insecure (no host key checking), not both");
            var ssh = new SshOptions
            {
                ConfigFile = SshConfigPath,
                User = User,
                IdentityFile = IdentityFile,
                HostKeyPolicy = Insecure ? HostKeyPolicy.Insecure : AcceptNewHostKeys ? HostKeyPolicy.AcceptNew : HostKeyPolicy.Strict,
                ControlDirectory = ControlDirectory,
            };
            if (!string.IsNullOrEmpty(SshPath)) ssh.SshPath = SshPath!;
            if (NoMultiplex) ssh.Multiplex = false;
            if (ControlPersist is TimeSpan p) ssh.ControlPersist = p;
            return ssh;
        }

        /// <summary>The warning every insecure run must show, worded once for both front ends.</summary>
        public const string InsecureWarning =
            "WARNING: host key checking is OFF (--insecure): a man-in-the-middle can impersonate any host in this run.";
    }
}
