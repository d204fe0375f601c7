using System;
using System.Collections.Concurrent;
using System.Management.Automation;
using HerdPS.Execution;

namespace HerdPS.Commands
{
    /// <summary>
    /// The connection parameters of every cmdlet that logs in to hosts, spelled once, and the one way a run's
    /// results reach the pipeline: the engine's workers put results in a channel and progress in a queue; only
    /// the pipeline thread, here, reads them and calls WriteObject/WriteError/WriteProgress/WriteVerbose.
    /// </summary>
    public abstract class FleetConnectionCmdlet : FleetCmdlet
    {
        private int? _throttle;

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? SshConfigPath { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? UserName { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? KeyFilePath { get; set; }

        /// <summary>How hosts are reached: OpenSsh (the default), Auto, SshNet or Local.</summary>
        [Parameter]
        public FleetTransport Transport { get; set; }

        /// <summary>User name and password for password and keyboard-interactive logins (SSH.NET).</summary>
        [Parameter]
        [Credential]
        public PSCredential? Credential { get; set; }

        /// <summary>Unlocks encrypted private key files (SSH.NET).</summary>
        [Parameter]
        public System.Security.SecureString? KeyPassphrase { get; set; }

        [Parameter]
        [ValidateRange(1, 4096)]
        public int ThrottleLimit
        {
            get => _throttle ?? FleetRunOptions.DefaultThrottle;
            set => _throttle = value;
        }

        [Parameter]
        [ValidateRange(1, int.MaxValue)]
        public int TimeoutSec { get; set; }

        [Parameter]
        [ValidateRange(1, 3600)]
        public int ConnectTimeoutSec { get; set; }

        [Parameter]
        [ValidateRange(0, 100)]
        public int RetryCount { get; set; }

        [Parameter]
        public SwitchParameter AcceptNewHostKey { get; set; }

        /// <summary>No host key checking at all (herd --insecure); warned about on every run.</summary>
        [Parameter]
        public SwitchParameter Insecure { get; set; }

        [Parameter]
        public SwitchParameter NoMultiplex { get; set; }

        [Parameter]
        [ValidateRange(1, 31 * 24 * 3600)]
        public int ControlPersistSec { get; set; }

        [Parameter]
        [ValidateRange(0.001, 3600.0)]
        public double RetryDelaySec { get; set; }

        protected override void FillParameters(FleetParameters p)
        {
            p.SshConfigPath = SshConfigPath is string config ? GetUnresolvedProviderPathFromPSPath(config) : null;
            p.UserName = UserName;
            p.KeyFilePath = KeyFilePath is string key ? GetUnresolvedProviderPathFromPSPath(key) : null;
            p.ThrottleLimit = _throttle;
            p.TimeoutSec = Bound(nameof(TimeoutSec), TimeoutSec);
            p.ConnectTimeoutSec = Bound(nameof(ConnectTimeoutSec), ConnectTimeoutSec);
            p.RetryCount = Bound(nameof(RetryCount), RetryCount);
            p.AcceptNewHostKey = AcceptNewHostKey.IsPresent;
            p.Insecure = Insecure.IsPresent;
            p.NoMultiplex = NoMultiplex.IsPresent;
            p.ControlPersistSec = Bound(nameof(ControlPersistSec), ControlPersistSec);
            p.RetryDelaySec = MyInvocation.BoundParameters.ContainsKey(nameof(RetryDelaySec)) ? RetryDelaySec : (double?)null;
            p.Transport = MyInvocation.BoundParameters.ContainsKey(nameof(Transport)) ? Transport : (FleetTransport?)null;
            // PSCredential.Empty (what [Credential] makes of nothing) is no credential.
            // The password stays a SecureString (never GetNetworkCredential().Password, a plain string).
            p.Credential = Credential != null && Credential != PSCredential.Empty && Credential.Password != null
                ? new System.Net.NetworkCredential(Credential.UserName, Credential.Password) : null;
            p.KeyPassphrase = KeyPassphrase;
        }

        /// <summary>Null when the user didn't give the parameter, so the inventory's default applies.</summary>
        private int? Bound(string name, int value) => MyInvocation.BoundParameters.ContainsKey(name) ? value : (int?)null;

        /// <summary>
        /// Starts the run and writes each host's result as it finishes (shaped by <paramref name="shape"/>), with a
        /// non-terminating error for each host the engine maps to one. Blocks the pipeline thread, which is the
        /// point: it is the only thread allowed to write. Ctrl-C cancels the run through <see cref="FleetCmdlet.StopToken"/>.
        /// </summary>
        protected void RunAndWrite(FleetTarget target, string command, FleetCommandRequest request, Func<FleetResult, object> shape)
        {
            var progress = new ConcurrentQueue<FleetProgress>();
            using var run = FleetEngine.Start(target, command, request, progress.Enqueue, StopToken);
            using var results = BlockingReader.Of(run);
            while (true)
            {
                // Waking every 200 ms keeps the progress bar moving while no host finishes.
                var step = results.Next(ProgressTick, out var result);
                WriteLatestProgress(progress, command);
                if (step == ReadStep.End) break;
                if (step == ReadStep.Idle) continue;
                WriteVerbose(FleetResultNotes.VerboseLine(result));
                WriteObject(shape(result));
                var error = FleetErrorRecords.ForResult(result);
                if (error != null) WriteError(ToErrorRecord(error));
            }
        }

        /// <summary>How often a waiting cmdlet wakes to write progress while no result arrives.</summary>
        internal static readonly TimeSpan ProgressTick = TimeSpan.FromMilliseconds(200);

        protected void WriteLatestProgress(ConcurrentQueue<FleetProgress> queue, string command)
        {
            FleetProgress? latest = null;
            while (queue.TryDequeue(out var p)) latest = p;
            if (latest is FleetProgress last)
            {
                var text = FleetProgressText.From(command, last);
                WriteProgress(new ProgressRecord(0, text.Activity, text.Status)
                {
                    PercentComplete = text.PercentComplete,
                    RecordType = text.Completed ? ProgressRecordType.Completed : ProgressRecordType.Processing,
                });
            }
        }
    }
}
