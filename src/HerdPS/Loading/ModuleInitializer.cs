using System.IO;
using System.Management.Automation;

namespace HerdPS.Loading
{
    /// <summary>
    /// Runs when Import-Module loads HerdPS.dll, before any cmdlet runs: the engine and its dependencies are
    /// then loaded from Dependencies/ in isolation. Cmdlet classes must not derive from or implement engine types,
    /// or PowerShell would need the engine while it looks for cmdlets, before this has run.
    /// </summary>
    public sealed class ModuleInitializer : IModuleAssemblyInitializer
    {
        public void OnImport()
        {
            ModuleDependencies.Install(Path.GetDirectoryName(typeof(ModuleInitializer).Assembly.Location)!);
        }
    }
}
