using System.IO;
using System.Management.Automation;

namespace HerdPS.Loading
{
    /// <summary>
    /// Runs when Import-Module loads HerdPS.dll, before any cmdlet runs: from then on HerdPS.Engine and its
    /// dependencies load from Dependencies/ in isolation (<see cref="ModuleDependencies"/>). Remove-Module removes the
    /// resolve handler again. PowerShell calls GetExportedTypes() on HerdPS.dll before this runs, so no exported
    /// type may need the engine to load: no engine base type, interface, generic argument or value-type field
    /// (the module tests load every exported type with the engine out of reach to prove it).
    /// </summary>
    public sealed class ModuleInitializer : IModuleAssemblyInitializer, IModuleAssemblyCleanup
    {
        public void OnImport()
        {
            ModuleDependencies.Install(Path.GetDirectoryName(typeof(ModuleInitializer).Assembly.Location)!, typeof(FleetResult).Assembly);
        }

        public void OnRemove(PSModuleInfo module)
        {
            ModuleDependencies.Uninstall();
        }
    }
}
