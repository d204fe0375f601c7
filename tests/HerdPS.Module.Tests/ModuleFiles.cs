using System;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.InteropServices;

namespace HerdPS.Module.Tests
{
    /// <summary>Where the repo, the packaged module and the SMA reference are, and a metadata view of HerdPS.dll.</summary>
    internal static class ModuleFiles
    {
        private static string Meta(string key) =>
            typeof(ModuleFiles).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;

        public static string RepoRoot => Meta("RepoRoot");
        public static string Version => Meta("HerdVersion");
        public static string SmaReference => Meta("SmaReference");
        public static string ModuleDir => Path.Combine(RepoRoot, "out", "HerdPS", Version);
        public static string ModuleDll => Path.Combine(ModuleDir, "HerdPS.dll");
        public static string ContractsDll => Path.Combine(ModuleDir, "HerdPS.Contracts.dll");
        public static string Repo(string relative) => Path.Combine(RepoRoot, relative);

        private static readonly Lazy<MetadataLoadContext> Context = new(() =>
        {
            Assert.True(File.Exists(ModuleDll), $"packaged module missing: {ModuleDll} (build the test project, or run: dotnet publish src/HerdPS)");
            var paths = Directory.GetFiles(RuntimeEnvironment.GetRuntimeDirectory(), "*.dll")
                .Where(p => !Path.GetFileName(p).StartsWith("System.Management.Automation", StringComparison.OrdinalIgnoreCase))
                .Concat(Directory.GetFiles(Path.Combine(ModuleDir, "Dependencies"), "*.dll"))
                .Append(SmaReference)
                .Append(ModuleDll)
                .Append(ContractsDll)
                // One file per simple name: the module's copies of framework packages yield to the runtime's.
                .GroupBy(p => Path.GetFileNameWithoutExtension(p), StringComparer.OrdinalIgnoreCase)
                .Select(g => g.First());
            return new MetadataLoadContext(new PathAssemblyResolver(paths), "System.Runtime");
        });

        public static Assembly Module => Context.Value.LoadFromAssemblyPath(ModuleDll);
        public static Assembly Engine => Context.Value.LoadFromAssemblyName("HerdPS.Engine");
        /// <summary>The types users name ([HerdPS.FleetResult]): the assembly PowerShell loads into its default context.</summary>
        public static Assembly Contracts => Context.Value.LoadFromAssemblyPath(ContractsDll);
        public static Assembly Sma => Context.Value.LoadFromAssemblyName("System.Management.Automation");
        public static Type SmaType(string name) => Sma.GetType("System.Management.Automation." + name, throwOnError: true)!;
    }
}
