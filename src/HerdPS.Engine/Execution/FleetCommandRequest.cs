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
        /// The transport kind that serves every host not marked <c>transport: local</c> (<c>auto</c>, <c>openssh</c>,
        /// <c>sshnet</c>, <c>local</c>); null = the inventory's per-host choice, else openssh. Resolved through the transport
        /// registry, which refuses an unknown kind.
        /// </summary>
        public string? Transport { get; set; }
        /// <summary>Password and keyboard-interactive logins (SSH.NET only); the password stays a SecureString.</summary>
        public System.Net.NetworkCredential? Credential { get; set; }
        /// <summary>Unlocks encrypted key files (SSH.NET only).</summary>
        public System.Security.SecureString? KeyPassphrase { get; set; }
        /// <summary>Send the command without the remote wrapper (hosts without /bin/sh).</summary>
        public bool Raw { get; set; }
        /// <summary>
        /// The history (<c>--history</c>, <c>-HistoryPath</c>, <c>-HistoryConnection</c>): a file, or a PostgreSQL URL or
        /// connection string; null = <c>$HERD_HISTORY</c>, else the inventory's <c>history:</c>, else the per-user file.
        /// </summary>
        public string? HistoryPath { get; set; }
        /// <summary>User name and password for a PostgreSQL history (<c>-HistoryCredential</c>); they override the connection's.</summary>
        public System.Net.NetworkCredential? HistoryCredential { get; set; }
        /// <summary>Don't record this run (<c>--no-history</c>).</summary>
        public bool NoHistory { get; set; }
        /// <summary>
        /// How to start the user's shared SSH.NET pool process, for front ends whose process is short-lived (herd):
        /// set, sshnet runs go through that process and find their connections warm the next time. Null (the
        /// cmdlets: a PowerShell session lives long) keeps the pool in this process.
        /// </summary>
        public HerdPS.Transport.SshNet.SharedPoolLauncher? SharedPool { get; set; }

        /// <summary>
        /// Checks what the inventory would check had it said the same: the user for every host follows the
        /// inventory's user-name rules (<see cref="NameRules.IsValidUserName"/>), so a value such as
        /// <c>-oProxyCommand=...</c> can never reach ssh. Throws <see cref="ArgumentException"/> before anything runs;
        /// <paramref name="userParameter"/> is how the front end spells the parameter in the message.
        /// </summary>
        public void Validate(string userParameter = "the user for every host")
        {
            if (User != null && !NameRules.IsValidUserName(User, out var reason))
                throw new ArgumentException($"{userParameter}: {reason}; nothing was run");
        }

        public FleetRunOptions ToRunOptions(InventoryDefaults defaults)
        {
            var options = new FleetRunOptions
            {
                Throttle = Throttle ?? defaults.Throttle ?? FleetRunOptions.DefaultThrottle,
                CommandTimeout = Timeout ?? defaults.Timeout,
                HostTimeoutsApply = Timeout == null,
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
                ConfigFile = SshConfigFile(),
                User = User,
                IdentityFile = IdentityFile,
                HostKeyPolicy = Insecure ? HostKeyPolicy.Insecure : AcceptNewHostKeys ? HostKeyPolicy.AcceptNew : HostKeyPolicy.Strict,
                ControlDirectory = ControlDirectory,
                Credential = Credential,
                KeyPassphrase = KeyPassphrase,
            };
            if (!string.IsNullOrEmpty(SshPath)) ssh.SshPath = SshPath!;
            if (NoMultiplex) ssh.Multiplex = false;
            if (ControlPersist is TimeSpan p) ssh.ControlPersist = p;
            return ssh;
        }

        /// <summary>The environment variable that names an ssh_config when <c>--ssh-config</c> / <c>-SshConfigPath</c> is not given.</summary>
        public const string SshConfigVariable = "HERD_SSH_CONFIG";

        /// <summary>
        /// <see cref="SshConfigPath"/>, else <c>$HERD_SSH_CONFIG</c> (a scheduled task or a team sets it once, as it
        /// sets <c>$HERD_INVENTORY</c>), else null (ssh reads the user's own config). A file that isn't there stops
        /// the run before any host is touched: ssh would otherwise fail on every host with the same message.
        /// </summary>
        public string? SshConfigFile(Func<string, string?>? getEnv = null)
        {
            var fromEnvironment = string.IsNullOrWhiteSpace(SshConfigPath);
            var path = fromEnvironment ? (getEnv ?? Environment.GetEnvironmentVariable)(SshConfigVariable) : SshConfigPath;
            if (string.IsNullOrWhiteSpace(path)) return null;
            if (!System.IO.File.Exists(path))
                throw new ArgumentException(fromEnvironment
                    ? $"the ssh_config file named by ${SshConfigVariable} does not exist: {path}"
                    : $"the ssh_config file does not exist: {path}");
            return path;
        }

        /// <summary>The warning every insecure run must show, worded once for both front ends.</summary>
        public const string InsecureWarning =
            "WARNING: host key checking is OFF (--insecure): a man-in-the-middle can impersonate any host in this run.";
    }
}
