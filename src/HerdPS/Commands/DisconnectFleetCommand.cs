using System.Management.Automation;
using HerdPS.Execution;

namespace HerdPS.Commands
{
    /// <summary>Closes pooled SSH connections: those of the selected hosts, or every pooled connection when none is selected.</summary>
    [Cmdlet(VerbsCommunications.Disconnect, "Fleet", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
    [OutputType(typeof(FleetDisconnectResult))]
    public sealed class DisconnectFleetCommand : FleetCmdlet
    {
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? SshConfigPath { get; set; }

        [Parameter]
        public SwitchParameter PassThru { get; set; }

        protected override void FillParameters(FleetParameters parameters)
        {
            parameters.SshConfigPath = SshConfigPath is string config ? GetUnresolvedProviderPathFromPSPath(config) : null;
        }

        protected override void Execute(FleetCommandRequest request)
        {
            var what = FleetDisconnect.NamesHosts(request) ? $"pooled connections of selection '{request.Selection}'" : "every pooled SSH connection";
            if (!ShouldProcess(what, "Close")) return;
            var results = FleetDisconnect.RunAsync(request, StopToken).GetAwaiter().GetResult();
            foreach (var result in results)
            {
                WriteVerbose($"{result.Target}: " + (result.Closed ? "closed" : result.Message));
                if (PassThru) WriteObject(result);
            }
        }
    }
}
