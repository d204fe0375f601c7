using System;
using System.Collections.Generic;

namespace HerdPS.Execution
{
    /// <summary>
    /// The cmdlets' selection and connection parameters, in PowerShell's shapes (arrays, whole seconds), turned
    /// into the <see cref="FleetCommandRequest"/> the CLI builds from its flags. Pipeline input arrives one
    /// record at a time: <see cref="AddHostNames"/> collects it so the whole pipeline runs as one parallel batch.
    /// Null means "not given", so the inventory's defaults still apply.
    /// </summary>
    public sealed class FleetParameters
    {
        private readonly List<string> _hostNames = new List<string>();
        private readonly HashSet<string> _seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);

        public string[]? Group { get; set; }
        public string[]? Tag { get; set; }
        public string[]? Exclude { get; set; }
        public string? InventoryPath { get; set; }
        public string? SshConfigPath { get; set; }
        public string? UserName { get; set; }
        public string? KeyFilePath { get; set; }
        public int? ThrottleLimit { get; set; }
        public int? TimeoutSec { get; set; }
        public int? ConnectTimeoutSec { get; set; }
        public int? RetryCount { get; set; }
        public bool FailFast { get; set; }
        public bool AcceptNewHostKey { get; set; }
        /// <summary>-Insecure: no host key checking (the cmdlet warns on every run, as herd does).</summary>
        public bool Insecure { get; set; }
        public bool NoMultiplex { get; set; }
        public int? ControlPersistSec { get; set; }
        public double? RetryDelaySec { get; set; }
        public bool RetryFailed { get; set; }
        public long? MaxOutputBytes { get; set; }
        public bool Raw { get; set; }
        /// <summary>-Transport: how hosts are reached (null: the inventory's choice per host, else openssh).</summary>
        public FleetTransport? Transport { get; set; }
        /// <summary>-Credential: user name and password for password and keyboard-interactive logins (sshnet).</summary>
        public System.Net.NetworkCredential? Credential { get; set; }
        /// <summary>-KeyPassphrase: unlocks encrypted key files (sshnet).</summary>
        public System.Security.SecureString? KeyPassphrase { get; set; }
        /// <summary>-HistoryPath: the history database this run records into (null: $HERD_HISTORY, else the per-user file).</summary>
        public string? HistoryPath { get; set; }
        /// <summary>-HistoryConnection: a PostgreSQL history (a postgresql:// URL or Host=...;Database=...).</summary>
        public string? HistoryConnection { get; set; }
        /// <summary>-HistoryCredential: user name and password for the PostgreSQL history.</summary>
        public System.Net.NetworkCredential? HistoryCredential { get; set; }
        /// <summary>-NoHistory: don't record this run.</summary>
        public bool NoHistory { get; set; }

        /// <summary>The cmdlet sits behind a pipe (PowerShell's MyInvocation.ExpectingInput).</summary>
        public bool ExpectingPipelineInput { get; set; }

        /// <summary>
        /// True when piped input brought no host: the command must do nothing. Without this, an empty CSV or an
        /// upstream filter that matched nothing would leave the selection empty, and an empty selection means
        /// every host of the inventory.
        /// </summary>
        public bool NothingToDo => ExpectingPipelineInput && _hostNames.Count == 0;

        /// <summary>Host names collected so far, first spelling kept, duplicates (case-insensitive) dropped, in arrival order.</summary>
        public IReadOnlyList<string> HostNames => _hostNames;

        /// <summary>Adds names from one pipeline record or from the -HostName argument. Null and blank names are refused.</summary>
        public void AddHostNames(IEnumerable<string>? names)
        {
            if (names == null) return;
            foreach (var raw in names)
            {
                var name = raw?.Trim();
                if (string.IsNullOrEmpty(name))
                    throw new ArgumentException("a host name is empty (check the HostName column or property of the piped input)", "HostName");
                if (_seen.Add(name!)) _hostNames.Add(name!);
            }
        }

        public FleetCommandRequest ToRequest()
        {
            if (ThrottleLimit is int t && t < 1) throw new ArgumentOutOfRangeException("ThrottleLimit", t, "-ThrottleLimit must be at least 1");
            if (RetryCount is int r && r < 0) throw new ArgumentOutOfRangeException("RetryCount", r, "-RetryCount can't be negative");
            if (MaxOutputBytes is long m && m < 1) throw new ArgumentOutOfRangeException("MaxOutputBytes", m, "-MaxOutputBytes must be at least 1 (e.g. 10MB)");
            if (AcceptNewHostKey && Insecure) throw new ArgumentException("-AcceptNewHostKey and -Insecure contradict each other; choose one", "Insecure");
            var request = new FleetCommandRequest
            {
                InventoryPath = Blank(InventoryPath),
                SshConfigPath = Blank(SshConfigPath),
                User = Blank(UserName),
                IdentityFile = Blank(KeyFilePath),
                Throttle = ThrottleLimit,
                Timeout = Seconds(TimeoutSec, "TimeoutSec"),
                ConnectTimeout = Seconds(ConnectTimeoutSec, "ConnectTimeoutSec"),
                Retries = RetryCount,
                FailFast = FailFast,
                AcceptNewHostKeys = AcceptNewHostKey,
                Insecure = Insecure,
                NoMultiplex = NoMultiplex,
                ControlPersist = Seconds(ControlPersistSec, "ControlPersistSec"),
                RetryDelay = FractionalSeconds(RetryDelaySec, "RetryDelaySec"),
                RetryOnFailure = RetryFailed,
                MaxOutputBytes = MaxOutputBytes,
                Raw = Raw,
                Transport = HerdPS.Transport.TransportRegistry.KindOf(Transport),
                Credential = Credential,
                KeyPassphrase = KeyPassphrase,
                HistoryPath = Inventory.HistoryLocationText.Location(Blank(HistoryPath), Blank(HistoryConnection)),
                HistoryCredential = HistoryCredential,
                NoHistory = NoHistory,
            };
            try
            {
                request.Validate("-UserName");
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException(e.Message, "UserName");
            }
            request.Selection.Hosts.AddRange(_hostNames);
            AddAll(request.Selection.Groups, Group, "Group");
            AddAll(request.Selection.Tags, Tag, "Tag");
            AddAll(request.Selection.Excludes, Exclude, "Exclude");
            return request;
        }

        private static string? Blank(string? s) => string.IsNullOrWhiteSpace(s) ? null : s;

        private static TimeSpan? Seconds(int? value, string parameter)
        {
            if (value == null) return null;
            if (value <= 0) throw new ArgumentOutOfRangeException(parameter, value, $"-{parameter} must be a positive number of seconds");
            return TimeSpan.FromSeconds(value.Value);
        }

        private static TimeSpan? FractionalSeconds(double? value, string parameter)
        {
            if (value == null) return null;
            if (double.IsNaN(value.Value) || double.IsInfinity(value.Value) || value <= 0)
                throw new ArgumentOutOfRangeException(parameter, value, $"-{parameter} must be a positive number of seconds");
            return TimeSpan.FromSeconds(value.Value);
        }

        private static void AddAll(List<string> into, string[]? values, string parameter)
        {
            if (values == null) return;
            foreach (var v in values)
            {
                if (string.IsNullOrWhiteSpace(v)) throw new ArgumentException($"-{parameter} has an empty value", parameter);
                into.Add(v.Trim());
            }
        }
    }
}
