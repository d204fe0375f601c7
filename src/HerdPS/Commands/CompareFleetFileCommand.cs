using System.Collections.Concurrent;
using System.Management.Automation;
using HerdPS.Execution;
using HerdPS.Files;

namespace HerdPS.Commands
{
    /// <summary>
    /// Reads one remote file from every selected host and compares the copies: one HerdPS.Files.RemoteFileResult
    /// per host, the norm's hosts first, then each differing group with its unified diff, then the hosts not read.
    /// </summary>
    [Cmdlet(VerbsData.Compare, "FleetFile")]
    [OutputType(typeof(RemoteFileResult))]
    public sealed class CompareFleetFileCommand : FleetConnectionCmdlet
    {
        [Parameter(Mandatory = true, Position = 0)]
        [ValidateNotNullOrEmpty]
        public string Path { get; set; } = "";

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? Destination { get; set; }

        [Parameter]
        [ValidateRange(0L, long.MaxValue)]
        public long MaxFileBytes { get; set; } = FileDriftOptions.DefaultMaxFileBytes;

        protected override void Execute(FleetCommandRequest request)
        {
            RemoteFileScripts.ValidateRemotePath(Path);
            var options = new FileDriftOptions
            {
                MaxFileBytes = MaxFileBytes,
                SaveDirectory = Destination is string d ? GetUnresolvedProviderPathFromPSPath(d) : null,
            };
            var target = Resolve(request);
            var read = new ConcurrentQueue<RemoteFileResult>();
            var wait = new PipelineWait(this, $"Reading {Path}", () =>
            {
                while (read.TryDequeue(out var r)) WriteVerbose($"{r.HostName}: {r.Status}" + (r.Length is long n ? $", {n} bytes" : "") + (r.ErrorMessage != null ? ": " + r.ErrorMessage : ""));
            });
            var report = wait.Wait(FileDrift.CompareAsync(target, request, Path, options, wait.Progress.Enqueue, read.Enqueue, StopToken));
            foreach (var result in report.ResultsByGroup())
            {
                WriteObject(result);
                if (FleetErrorRecords.ForFile(result) is FleetErrorInfo error) WriteError(ToErrorRecord(error));
            }
            WriteVerbose(FileDriftTextView.Summary(report));
        }
    }
}
