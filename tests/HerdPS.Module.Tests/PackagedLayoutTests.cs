using System;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.Loader;

namespace HerdPS.Module.Tests
{
    /// <summary>The folder `dotnet publish src/HerdPS` lays out is what Import-Module needs, and its loader isolates dependencies.</summary>
    public class PackagedLayoutTests
    {
        [Fact]
        public void Layout_has_the_module_at_the_root_and_dependencies_below()
        {
            var dir = ModuleFiles.ModuleDir;
            foreach (var f in new[] { "HerdPS.dll", "HerdPS.psd1", "HerdPS.format.ps1xml", "en-US/HerdPS.dll-Help.xml", "en-US/about_HerdPS.help.txt",
                                      "Dependencies/HerdPS.Engine.dll", "Dependencies/YamlDotNet.dll", "Dependencies/Microsoft.Data.Sqlite.dll" })
                Assert.True(File.Exists(Path.Combine(dir, f)), $"{f} missing from {dir}");
            Assert.Empty(Directory.GetFiles(dir, "*.dll").Select(Path.GetFileName).Where(n => n != "HerdPS.dll"));
            Assert.Empty(Directory.GetFiles(dir, "System.Management.Automation.dll", SearchOption.AllDirectories));
            Assert.NotEmpty(Directory.GetFiles(Path.Combine(dir, "Dependencies", "runtimes"), "*e_sqlite3*", SearchOption.AllDirectories));
        }

        [Fact]
        public void Packaged_help_and_manifest_are_the_committed_ones()
        {
            foreach (var f in new[] { "HerdPS.psd1", "en-US/HerdPS.dll-Help.xml" })
                Assert.Equal(File.ReadAllText(ModuleFiles.Repo(f)), File.ReadAllText(Path.Combine(ModuleFiles.ModuleDir, f)));
        }

        [Fact]
        public void Loader_puts_the_engine_and_its_dependencies_in_the_module_context_apart_from_other_copies()
        {
            // HerdPS.dll is loaded for real (only its loader class runs; nothing touches System.Management.Automation).
            var host = new AssemblyLoadContext("test-host", isCollectible: false);
            var module = host.LoadFromAssemblyPath(ModuleFiles.ModuleDll);
            var loaderType = module.GetType("HerdPS.Loading.ModuleDependencies", throwOnError: true)!;
            var deps = loaderType.GetMethod("Create")!.Invoke(null, new object[] { ModuleFiles.ModuleDir, true })!;
            var context = (AssemblyLoadContext)loaderType.GetProperty("LoadContext")!.GetValue(deps)!;
            Assert.Equal("HerdPS", context.Name);

            var engine = context.Assemblies.Single(a => a.GetName().Name == "HerdPS.Engine");
            Assert.StartsWith(Path.Combine(ModuleFiles.ModuleDir, "Dependencies"), engine.Location);
            // The test's own engine (from its bin folder) is a different copy: two versions can live side by side.
            Assert.NotSame(typeof(Execution.FleetErrorRecords).Assembly, engine);

            // Exercise YamlDotNet through the isolated engine: parse an inventory.
            var file = Path.Combine(Path.GetTempPath(), "herd-loader-" + Guid.NewGuid().ToString("N") + ".yaml");
            File.WriteAllText(file, "groups:\n  web:\n    hosts:\n      - host: web-01\n        tags: [prod]\n");
            try
            {
                var inventory = engine.GetType("HerdPS.Inventory.InventoryLoader")!.GetMethod("Load")!.Invoke(null, new object[] { file })!;
                var hosts = (System.Collections.IEnumerable)inventory.GetType().GetProperty("Hosts")!.GetValue(inventory)!;
                Assert.Equal("web-01", hosts.Cast<object>().Single().ToString());
            }
            finally { File.Delete(file); }
            var yaml = context.Assemblies.Single(a => a.GetName().Name == "YamlDotNet");
            Assert.StartsWith(Path.Combine(ModuleFiles.ModuleDir, "Dependencies"), yaml.Location);
            Assert.DoesNotContain(AssemblyLoadContext.Default.Assemblies, a => a.Location == yaml.Location);

            // The default context (where PowerShell loads HerdPS.dll) is answered with the same instance.
            var resolve = loaderType.GetMethod("Resolve")!;
            Assert.Same(engine, resolve.Invoke(deps, new object[] { new AssemblyName("HerdPS.Engine") }));
            Assert.Null(resolve.Invoke(deps, new object[] { new AssemblyName("Some.Other.Module") }));
        }

        [Fact]
        public void Framework_assemblies_are_left_to_the_runtime_and_our_own_are_preloaded()
        {
            var host = new AssemblyLoadContext("test-host-2", isCollectible: false);
            var loaderType = host.LoadFromAssemblyPath(ModuleFiles.ModuleDll).GetType("HerdPS.Loading.ModuleDependencies", throwOnError: true)!;
            var owned = loaderType.GetMethod("IsOwnedByModule")!;
            bool Owned(string n) => (bool)owned.Invoke(null, new object[] { n })!;
            Assert.True(Owned("YamlDotNet"));
            Assert.True(Owned("HerdPS.Engine"));
            Assert.True(Owned("Microsoft.Data.Sqlite"));
            Assert.False(Owned("System.Memory"));
            Assert.False(Owned("Microsoft.Bcl.AsyncInterfaces"));
            Assert.False(Owned("netstandard"));
        }

        [Fact]
        public void On_Windows_PowerShell_resolution_answers_only_for_files_in_Dependencies()
        {
            var host = new AssemblyLoadContext("test-host-3", isCollectible: false);
            var loaderType = host.LoadFromAssemblyPath(ModuleFiles.ModuleDll).GetType("HerdPS.Loading.ModuleDependencies", throwOnError: true)!;
            var deps = loaderType.GetMethod("Create")!.Invoke(null, new object[] { ModuleFiles.ModuleDir, false })!;
            Assert.Null(loaderType.GetProperty("LoadContext")!.GetValue(deps));
            var pathOf = loaderType.GetMethod("PathOf")!;
            Assert.Equal(Path.Combine(ModuleFiles.ModuleDir, "Dependencies", "YamlDotNet.dll"), pathOf.Invoke(deps, new object[] { new AssemblyName("YamlDotNet, Version=1.0.0.0") }));
            Assert.Null(pathOf.Invoke(deps, new object[] { new AssemblyName("Newtonsoft.Json") }));
            Assert.Null(pathOf.Invoke(deps, new object[] { new AssemblyName("HerdPS") }));
        }
    }
}
