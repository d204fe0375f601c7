using System.Management.Automation;
using HerdPS.Execution;
using HerdPS.Files;

namespace HerdPS.Commands
{
    /// <summary>
    /// Copies one remote file from every selected host into &lt;Destination&gt;/&lt;host&gt;/&lt;file name&gt;,
    /// checksum-verified; writes one HerdPS.Files.FileTransferResult per host as it finishes.
    /// </summary>
    [Cmdlet(VerbsCommunications.Receive, "FleetFile", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
    [OutputType(typeof(FileTransferResult))]
    public sealed class ReceiveFleetFileCommand : FleetConnectionCmdlet
    {
        [Parameter(Mandatory = true, Position = 0)]
        [ValidateNotNullOrEmpty]
        public string Path { get; set; } = "";

        [Parameter(Mandatory = true, Position = 1)]
        [ValidateNotNullOrEmpty]
        public string Destination { get; set; } = "";

        [Parameter]
        public SwitchParameter Force { get; set; }

        protected override void Execute(FleetCommandRequest request)
        {
            RemoteFileScripts.ValidateRemotePath(Path);
            var local = GetUnresolvedProviderPathFromPSPath(Destination);
            var options = new FilePullOptions { Force = Force.IsPresent };
            var what = FileTransfer.DescribePull(Path, local, options);
            var target = Resolve(request);
            if (!ShouldProcess(FleetQueries.Describe(target), what)) return;
            var wait = new PipelineWait(this, $"Receiving {Path}");
            wait.ForEach(FileTransfer.Pull(target, request, Path, local, options, wait.Progress.Enqueue, StopToken), result =>
            {
                WriteVerbose($"{result.HostName}: {result.Status}, {result.Bytes} bytes" + (result.ErrorMessage != null ? ": " + result.ErrorMessage : ""));
                WriteObject(result);
                if (FleetErrorRecords.ForTransfer(result) is FleetErrorInfo error) WriteError(ToErrorRecord(error));
                if (FleetErrorRecords.WarningForTransfer(result) is string warning) WriteWarning(warning);
            });
        }
    }
}
