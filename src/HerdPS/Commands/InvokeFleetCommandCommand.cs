using System.Management.Automation;
using HerdPS.Execution;

namespace HerdPS.Commands
{
    /// <summary>Runs a command on every selected host in parallel and writes one HerdPS.FleetResult per host as it finishes.</summary>
    [Cmdlet(VerbsLifecycle.Invoke, "FleetCommand", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(FleetResult))]
    [OutputType(typeof(FleetJob))]
    public sealed class InvokeFleetCommandCommand : FleetConnectionCmdlet
    {
        [Parameter(Mandatory = true, Position = 0)]
        [ValidateNotNullOrEmpty]
        public string Command { get; set; } = "";

        [Parameter]
        public SwitchParameter FailFast { get; set; }

        [Parameter]
        public SwitchParameter AsJob { get; set; }

        protected override void FillParameters(FleetParameters parameters)
        {
            base.FillParameters(parameters);
            parameters.FailFast = FailFast.IsPresent;
        }

        protected override void Execute(FleetCommandRequest request)
        {
            var target = Resolve(request);
            if (!ShouldProcess(FleetQueries.Describe(target), $"Run '{Command}'")) return;
            if (AsJob)
            {
                var job = new FleetJob(MyInvocation.Line, target, Command, request);
                JobRepository.Add(job);
                job.StartJob();
                WriteObject(job);
                return;
            }
            RunAndWrite(target, Command, request, result => result);
        }
    }
}
