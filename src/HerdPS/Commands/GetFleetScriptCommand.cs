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
    public sealed class GetFleetScriptCommand : FleetInventoryCmdlet
    {
        [Parameter(Mandatory = true, Position = 0, ParameterSetName = "Path", ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("FullName")]
        [ValidateNotNullOrEmpty]
        public string[] Path { get; set; } = System.Array.Empty<string>();

        [Parameter(Position = 0, ParameterSetName = "List")]
        [SupportsWildcards]
        public string Name { get; set; } = "*";

        protected override void ProcessRecord()
        {
            if (ParameterSetName == "Path")
            {
                // With -InventoryPath, a file is also checked against that inventory (the parsers its steps name).
                Inventory.FleetInventory? against = null;
                if (ResolvedInventoryPath is string inventoryPath)
                {
                    try { against = Inventory.InventoryLoader.LoadOrDefault(inventoryPath, System.Environment.GetEnvironmentVariable, out _); }
                    catch (System.Exception e) when (!(e is PipelineStoppedException))
                    {
                        ThrowTerminatingError(FleetCmdlet.ToErrorRecord(Execution.FleetErrorRecords.ForException(e)));
                    }
                }
                foreach (var p in Path)
                {
                    var info = ScriptCatalog.Check(GetUnresolvedProviderPathFromPSPath(p), against);
                    if (info.Error != null)
                        WriteError(FleetCmdlet.ToErrorRecord(Execution.FleetErrorRecords.ForException(new ScriptException(info.Error))));
                    WriteObject(info);
                }
                return;
            }
            try
            {
                var inventory = Inventory.InventoryLoader.LoadOrDefault(ResolvedInventoryPath, System.Environment.GetEnvironmentVariable, out _);
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
