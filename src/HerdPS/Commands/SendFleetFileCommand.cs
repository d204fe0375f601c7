using System.Management.Automation;
using HerdPS.Execution;
using HerdPS.Files;

namespace HerdPS.Commands
{
    /// <summary>
    /// Copies one local file to every selected host, checksum-verified, never half-written under the final name;
    /// writes one HerdPS.Files.FileTransferResult per host as it finishes. An existing remote file is replaced only with -Force.
    /// </summary>
    [Cmdlet(VerbsCommunications.Send, "FleetFile", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(FileTransferResult))]
    public sealed class SendFleetFileCommand : FleetConnectionCmdlet
    {
        [Parameter(Mandatory = true, Position = 0)]
        [ValidateNotNullOrEmpty]
        public string Path { get; set; } = "";

        [Parameter(Mandatory = true, Position = 1)]
        [ValidateNotNullOrEmpty]
        public string Destination { get; set; } = "";

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? Mode { get; set; }

        [Parameter]
        public SwitchParameter Force { get; set; }

        protected override void Execute(FleetCommandRequest request)
        {
            // A PowerShell path (relative to the current location, a PSDrive) as a file system path: the engine resolves against the process directory.
            var local = GetUnresolvedProviderPathFromPSPath(Path);
            var options = new FilePushOptions { Force = Force.IsPresent, Mode = FileTransfer.ValidatePush(local, Destination, Mode) };
            var target = Resolve(request);
            if (!ShouldProcess(FleetQueries.Describe(target), FileTransfer.DescribePush(local, Destination, options))) return;
            var wait = new PipelineWait(this, $"Sending {System.IO.Path.GetFileName(local)} to {Destination}");
            wait.ForEach(FileTransfer.Push(target, request, local, Destination, options, wait.Progress.Enqueue, StopToken), WriteResult);
        }

        private void WriteResult(FileTransferResult result)
        {
            WriteVerbose($"{result.HostName}: {result.Status}, {result.Bytes} bytes after {result.Duration.TotalSeconds:0.00}s" + (result.ErrorMessage != null ? ": " + result.ErrorMessage : ""));
            WriteObject(result);
            if (FleetErrorRecords.ForTransfer(result) is FleetErrorInfo error) WriteError(ToErrorRecord(error));
            if (FleetErrorRecords.WarningForTransfer(result) is string warning) WriteWarning(warning);
        }
    }
}
