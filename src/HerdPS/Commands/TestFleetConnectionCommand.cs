using System.Management.Automation;
using HerdPS.Execution;

namespace HerdPS.Commands
{
    /// <summary>Logs in to every selected host (a real SSH login that runs 'true', not a TCP probe) and reports latency.</summary>
    [Cmdlet(VerbsDiagnostic.Test, "FleetConnection")]
    [OutputType(typeof(FleetConnectionResult))]
    public sealed class TestFleetConnectionCommand : FleetConnectionCmdlet
    {
        protected override void Execute(FleetCommandRequest request)
        {
            var target = Resolve(request);
            RunAndWrite(target, FleetConnectionResult.ProbeCommand, request, FleetConnectionResult.From);
        }
    }
}
