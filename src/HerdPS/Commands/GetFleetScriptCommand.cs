using System.Management.Automation;
using HerdPS.Scripting;

namespace HerdPS.Commands
{
    /// <summary>
    /// Lists the built-in fleet scripts and the inventory's recipes, or checks script files without running them:
    /// one HerdPS.FleetScriptInfo each, whose Error names file:line:column when the file is not a valid script.
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "FleetScript", DefaultParameterSetName = "List")]
    [OutputType(typeof(FleetScriptInfo))]
    public sealed class GetFleetScriptCommand : PSCmdlet
    {
        [Parameter(Mandatory = true, Position = 0, ParameterSetName = "Path", ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("FullName")]
        [ValidateNotNullOrEmpty]
        public string[] Path { get; set; } = System.Array.Empty<string>();

        [Parameter(Position = 0, ParameterSetName = "List")]
        [SupportsWildcards]
        public string Name { get; set; } = "*";

        [Parameter(ParameterSetName = "List")]
        [ValidateNotNullOrEmpty]
        public string? InventoryPath { get; set; }

        protected override void ProcessRecord()
        {
            if (ParameterSetName == "Path")
            {
                foreach (var p in Path)
                {
                    var info = ScriptCatalog.Check(GetUnresolvedProviderPathFromPSPath(p));
                    if (info.Error != null)
                        WriteError(FleetCmdlet.ToErrorRecord(Execution.FleetErrorRecords.ForException(new ScriptException(info.Error))));
                    WriteObject(info);
                }
                return;
            }
            try
            {
                var path = InventoryPath is string i ? GetUnresolvedProviderPathFromPSPath(i) : null;
                var inventory = Inventory.InventoryLoader.LoadOrDefault(path, System.Environment.GetEnvironmentVariable, out _);
                var pattern = new WildcardPattern(Name, WildcardOptions.IgnoreCase);
                foreach (var info in ScriptCatalog.List(inventory))
                    if (pattern.IsMatch(info.Name)) WriteObject(info);
            }
            catch (System.Exception e) when (!(e is PipelineStoppedException))
            {
                ThrowTerminatingError(FleetCmdlet.ToErrorRecord(Execution.FleetErrorRecords.ForException(e)));
            }
        }
    }
}
