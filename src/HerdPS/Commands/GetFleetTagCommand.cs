using System.Management.Automation;
using HerdPS.Execution;
using HerdPS.Selection;

namespace HerdPS.Commands
{
    /// <summary>Lists the tags of the selected hosts (all hosts when nothing is selected), each with its host count and hosts.</summary>
    [Cmdlet(VerbsCommon.Get, "FleetTag")]
    [OutputType(typeof(TagSummary))]
    public sealed class GetFleetTagCommand : FleetCmdlet
    {
        protected override void Execute(FleetCommandRequest request)
        {
            foreach (var tag in FleetQueries.Tags(Resolve(request))) WriteObject(tag);
        }
    }
}
