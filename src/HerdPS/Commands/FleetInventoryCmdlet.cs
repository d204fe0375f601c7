using System.Management.Automation;

namespace HerdPS.Commands
{
    /// <summary>
    /// -InventoryPath, spelled once for every cmdlet that reads the inventory: the ones that select hosts
    /// (<see cref="FleetCmdlet"/>) and the ones that read only what the inventory defines besides hosts, such as
    /// Get-FleetScript listing its recipes.
    /// </summary>
    public abstract class FleetInventoryCmdlet : PSCmdlet
    {
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? InventoryPath { get; set; }

        /// <summary>-InventoryPath as a file system path (PowerShell's current location applied), or null when not given.</summary>
        protected string? ResolvedInventoryPath => InventoryPath is string path ? GetUnresolvedProviderPathFromPSPath(path) : null;
    }
}
