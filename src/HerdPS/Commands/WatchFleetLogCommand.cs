using System.Management.Automation;
using System.Threading;
using HerdPS.Execution;
using HerdPS.Tail;

namespace HerdPS.Commands
{
    /// <summary>
    /// Follows log files (-Path, as tail -F) or journal units (-JournalUnit, as journalctl -f -u) on every selected
    /// host and writes one HerdPS.Tail.FleetLogLine per line the moment it arrives, until Ctrl-C or until the pipeline
    /// stops reading (`| Select-Object -First 1` ends every remote follower). Reconnects dropped hosts and goes on
    /// where they left off; -RetryCount and -RetryDelaySec are the reconnects'.
    /// </summary>
    [Cmdlet(VerbsCommon.Watch, "FleetLog", DefaultParameterSetName = PathSet)]
    [OutputType(typeof(FleetLogLine))]
    public sealed class WatchFleetLogCommand : FleetConnectionCmdlet
    {
        private const string PathSet = "Path";
        private const string JournalSet = "Journal";

        [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet)]
        [ValidateNotNullOrEmpty]
        public string[] Path { get; set; } = new string[0];

        [Parameter(Mandatory = true, ParameterSetName = JournalSet)]
        [ValidateNotNullOrEmpty]
        public string[] JournalUnit { get; set; } = new string[0];

        /// <summary>Lines of context shown first (default 10).</summary>
        [Parameter]
        [ValidateRange(0, TailOptions.MaxLines)]
        public int Lines { get; set; }

        /// <summary>Only lines matching this POSIX extended regex (grep -E on each host).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? Pattern { get; set; }

        /// <summary>Lines matching this POSIX extended regex are left out (grep -vE on each host).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? ExcludePattern { get; set; }

        /// <summary>Journal only: a quoted duration back from now on each host's clock ('5m'), a TimeSpan, or a date.</summary>
        [Parameter(ParameterSetName = JournalSet)]
        [TailSinceTransformation]
        public object? Since { get; set; }

        protected override void Execute(FleetCommandRequest request)
        {
            var options = TailArguments.Options(ParameterSetName == PathSet ? Path : null, ParameterSetName == JournalSet ? JournalUnit : null,
                MyInvocation.BoundParameters.ContainsKey(nameof(Lines)) ? Lines : (int?)null, Pattern, ExcludePattern, Since);
            var target = Resolve(request);
            var tail = FleetTail.Create(target, request, options);
            WriteVerbose($"Following {string.Join(", ", options.IsJournal ? options.Units : options.Paths)} on {target.Hosts.Count} host(s) until stopped.");

            // Cancelled by Ctrl-C (through StopToken) and when the pipeline stops reading (Select-Object -First).
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(StopToken);
            var events = tail.Start(stop.Token);
            try
            {
                while (true)
                {
                    // Only this thread writes; waking every 200 ms keeps Ctrl-C prompt while no line arrives.
                    var step = events.Next(ProgressTick, out var e);
                    if (step == ReadStep.End) break;
                    if (step == ReadStep.Idle) continue;
                    if (e.Line != null)
                    {
                        WriteObject(e.Line);
                        continue;
                    }
                    var notice = e.Notice!;
                    if (TailArguments.ErrorFor(notice) is FleetErrorInfo error) WriteError(ToErrorRecord(error));
                    else if (TailArguments.IsWarning(notice)) WriteWarning(notice.Message);
                    else if (notice.Kind != TailNoticeKind.Paused) WriteVerbose(notice.Message);
                }
            }
            finally
            {
                // Ends every remote follower (through its session) before the cmdlet returns.
                stop.Cancel();
                events.Dispose();
            }
        }
    }
}
