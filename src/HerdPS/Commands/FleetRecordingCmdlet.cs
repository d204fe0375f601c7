using System.Collections;
using System.Management.Automation;
using HerdPS.History;
using HerdPS.Execution;

namespace HerdPS.Commands
{
    /// <summary>
    /// The parameters of the cmdlets that run the user's command and record it (Invoke-FleetCommand, Watch-Fleet),
    /// spelled once, as herd exec and herd watch spell them: -HistoryPath and -NoHistory (--history, --no-history),
    /// -Raw, -MaxOutputBytes, -RetryFailed and -FailFast (--raw, --max-output, --retry-failed, --fail-fast), and
    /// -Notify, -NotifyOnResolve (--notify, --notify-on-resolve) with -NotifySecret, which only PowerShell has.
    /// </summary>
    public abstract class FleetRecordingCmdlet : FleetConnectionCmdlet
    {
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? HistoryPath { get; set; }

        /// <summary>A PostgreSQL history shared by a team: postgresql://user@host/database (libpq's URL) or Host=...;Database=....</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? HistoryConnection { get; set; }

        /// <summary>User name and password for -HistoryConnection (else PGPASSWORD or ~/.pgpass, as psql finds them).</summary>
        [Parameter]
        [Credential]
        public PSCredential? HistoryCredential { get; set; }

        /// <summary>A server history's notices during the run (runs kept in the local spool), written as warnings.</summary>
        internal HistoryNotices Notices { get; } = new HistoryNotices();

        [Parameter]
        public SwitchParameter NoHistory { get; set; }

        /// <summary>The command goes to the host as it is, without the POSIX wrapper (hosts without /bin/sh).</summary>
        [Parameter]
        public SwitchParameter Raw { get; set; }

        /// <summary>Cap on kept stdout and on kept stderr per host, in bytes (10MB works); the hash still covers all of it.</summary>
        [Parameter]
        [ValidateRange(1L, long.MaxValue)]
        public long MaxOutputBytes { get; set; }

        /// <summary>Start no new host after the first one that does not succeed; the rest are reported Cancelled.</summary>
        [Parameter]
        public SwitchParameter FailFast { get; set; }

        /// <summary>Also retry hosts whose command ran and exited non-zero.</summary>
        [Parameter]
        public SwitchParameter RetryFailed { get; set; }

        /// <summary>Notifications of the inventory (its notifications: list) told about this run's failures, timeouts, changes (docs/notifications.md).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(NotificationCompleter))]
        public string[]? Notify { get; set; }

        /// <summary>Also tell them when a host they were told failed recovers (a resolve event).</summary>
        [Parameter]
        public SwitchParameter NotifyOnResolve { get; set; }

        /// <summary>
        /// The secrets the notifications' ${NAME} references take (they win over environment variables): a hashtable
        /// of name to SecureString or PSCredential (its password). Plain strings are refused.
        /// </summary>
        [Parameter]
        [ValidateNotNull]
        public Hashtable? NotifySecret { get; set; }

        protected override void FillParameters(FleetParameters p)
        {
            base.FillParameters(p);
            p.HistoryPath = HistoryParameters.FilePath(this, HistoryPath);
            p.HistoryConnection = HistoryConnection;
            p.HistoryCredential = HistoryParameters.Network(HistoryCredential);
            p.NoHistory = NoHistory.IsPresent;
            p.Raw = Raw.IsPresent;
            p.MaxOutputBytes = MyInvocation.BoundParameters.ContainsKey(nameof(MaxOutputBytes)) ? MaxOutputBytes : (long?)null;
            p.RetryFailed = RetryFailed.IsPresent;
            p.FailFast = FailFast.IsPresent;
        }
    }
}
