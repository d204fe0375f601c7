using System.Management.Automation;
using HerdPS.Execution;
using HerdPS.Inventory;

namespace HerdPS.Commands
{
    /// <summary>Lists the hosts a selection matches, with address, groups and tags, without connecting to any.</summary>
    [Cmdlet(VerbsCommon.Get, "FleetHost")]
    [OutputType(typeof(FleetHostInfo))]
    public sealed class GetFleetHostCommand : FleetCmdlet
    {
        protected override void Execute(FleetCommandRequest request)
        {
            foreach (var host in FleetQueries.Hosts(Resolve(request))) WriteObject(host);
        }
    }
}
