using System;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.Loader;

namespace HerdPS.Module.Tests
{
    /// <summary>
    /// The folder `dotnet publish src/HerdPS` lays out is what Import-Module needs, and its loader's decisions. The
    /// loader's real test is PowerShell importing the module (tests/HerdPS.PowerShell.Tests); these pin its rules,
    /// including the Windows PowerShell 5.1 path that can't run here.
    /// </summary>
    public class PackagedLayoutTests
    {
        private static string Dependency(string file) => Path.Combine(ModuleFiles.ModuleDir, "Dependencies", file);

        [Fact]
        public void Layout_has_the_module_and_its_contracts_at_the_root_and_dependencies_below()
        {
            var dir = ModuleFiles.ModuleDir;
            foreach (var f in new[] { "HerdPS.dll", "HerdPS.Contracts.dll", "HerdPS.psd1", "HerdPS.format.ps1xml", "en-US/HerdPS.dll-Help.xml", "en-US/about_HerdPS.help.txt",
                                      "Dependencies/HerdPS.Engine.dll", "Dependencies/YamlDotNet.dll", "Dependencies/Microsoft.Data.Sqlite.dll",
                                      // Fluid.Core (the scripts' Liquid templates) and what it needs
                                      "Dependencies/Fluid.dll", "Dependencies/Parlot.dll", "Dependencies/TimeZoneConverter.dll",
                                      "Dependencies/Microsoft.Extensions.FileProviders.Abstractions.dll", "Dependencies/Microsoft.Extensions.Primitives.dll",
                                      // The PostgreSQL history backend (net8.0) and its driver, loaded by name only when a server history is used.
                                      "Dependencies/HerdPS.History.PostgreSql.dll", "Dependencies/Npgsql.dll" })
                Assert.True(File.Exists(Path.Combine(dir, f)), $"{f} missing from {dir}");
            Assert.Equal(new[] { "HerdPS.Contracts.dll", "HerdPS.dll" }, Directory.GetFiles(dir, "*.dll").Select(Path.GetFileName).OrderBy(n => n, StringComparer.Ordinal));
            Assert.Empty(Directory.GetFiles(dir, "System.Management.Automation.dll", SearchOption.AllDirectories));
            Assert.NotEmpty(Directory.GetFiles(Path.Combine(dir, "Dependencies", "runtimes"), "*e_sqlite3*", SearchOption.AllDirectories));
        }

        [Fact]
        public void Packaged_help_and_manifest_are_the_committed_ones()
        {
            foreach (var f in new[] { "HerdPS.psd1", "en-US/HerdPS.dll-Help.xml" })
                Assert.Equal(File.ReadAllText(ModuleFiles.Repo(f)), File.ReadAllText(Path.Combine(ModuleFiles.ModuleDir, f)));
        }

        /// <summary>
        /// What sits in PowerShell's default context may reference nothing PowerShell 7.4 or 7.6 could hold at an
        /// older version (System.Text.Json, System.Threading.Channels, Microsoft.Bcl.AsyncInterfaces, ...): only
        /// netstandard, PowerShell itself, the module's two root assemblies, and the engine (which the loader isolates).
        /// </summary>
        [Fact]
        public void The_default_context_assemblies_reference_nothing_a_PowerShell_could_hold_in_another_version()
        {
            var allowed = new[] { "netstandard", "System.Management.Automation", "HerdPS.Contracts", "HerdPS.Engine" };
            Assert.Empty(ModuleFiles.Module.GetReferencedAssemblies().Select(a => a.Name).Except(allowed));
            Assert.Equal(new[] { "netstandard" }, ModuleFiles.Contracts.GetReferencedAssemblies().Select(a => a.Name));
        }

        private static (Type loader, Assembly contracts) LoaderIn(string contextName)
        {
            // HerdPS.dll is loaded for real (only its loader class runs; nothing touches System.Management.Automation).
            var host = new AssemblyLoadContext(contextName, isCollectible: false);
            var module = host.LoadFromAssemblyPath(ModuleFiles.ModuleDll);
            var contracts = host.LoadFromAssemblyPath(ModuleFiles.ContractsDll);
            return (module.GetType("HerdPS.Loading.ModuleDependencies", throwOnError: true)!, contracts);
        }

        private static object Create(Type loader, bool useLoadContext, Assembly? contracts) =>
            loader.GetMethod("Create")!.Invoke(null, new object?[] { ModuleFiles.ModuleDir, useLoadContext, contracts })!;

        private static string? ForDefault(Type loader, object deps, string name, Assembly? requester) =>
            (string?)loader.GetMethod("PathForDefaultContext")!.Invoke(deps, new object?[] { new AssemblyName(name), requester });

        private static string? ForModule(Type loader, object deps, string name) =>
            (string?)loader.GetMethod("PathForModuleContext")!.Invoke(deps, new object?[] { new AssemblyName(name) });

        [Fact]
        public void The_engine_and_its_dependencies_load_in_the_module_context_apart_from_other_copies()
        {
            var (loader, contracts) = LoaderIn("test-host");
            var deps = Create(loader, useLoadContext: true, contracts);
            var context = (AssemblyLoadContext)loader.GetProperty("LoadContext")!.GetValue(deps)!;
            Assert.Equal("HerdPS", context.Name);

            // Third-party assemblies are loaded up front, so the context's own cache answers before the default context;
            // framework packages are left to the runtime, and the engine waits until HerdPS.dll asks for it.
            var preloaded = context.Assemblies.Select(a => a.GetName().Name).ToList();
            Assert.Contains("YamlDotNet", preloaded);
            Assert.Contains("Microsoft.Data.Sqlite", preloaded);
            Assert.Contains("Npgsql", preloaded);
            Assert.DoesNotContain("System.Text.Json", preloaded);
            Assert.DoesNotContain("HerdPS.Engine", preloaded);

            var engine = (Assembly)loader.GetMethod("LoadOwned")!.Invoke(deps, new object[] { "HerdPS.Engine" })!;
            Assert.Same(context, AssemblyLoadContext.GetLoadContext(engine));
            Assert.Equal(Dependency("HerdPS.Engine.dll"), engine.Location);
            // The test's own engine (from its bin folder) is a different copy: two versions can live side by side.
            Assert.NotSame(typeof(Execution.FleetErrorRecords).Assembly, engine);

            // Exercise YamlDotNet through the isolated engine: parse an inventory. The engine's contract types come from
            // the default context (where PowerShell holds HerdPS.Contracts), never from a second copy in ours.
            var file = Path.Combine(Path.GetTempPath(), "herd-loader-" + Guid.NewGuid().ToString("N") + ".yaml");
            File.WriteAllText(file, "groups:\n  web:\n    hosts:\n      - host: web-01\n        tags: [prod]\n");
            try
            {
                var inventory = engine.GetType("HerdPS.Inventory.InventoryLoader")!.GetMethod("Load")!.Invoke(null, new object[] { file })!;
                var hosts = (System.Collections.IEnumerable)inventory.GetType().GetProperty("Hosts")!.GetValue(inventory)!;
                Assert.Equal("web-01", hosts.Cast<object>().Single().ToString());
                var hostInfo = engine.GetType("HerdPS.Inventory.FleetHostInfoFactory")!.GetMethod("From")!.Invoke(null, new[] { hosts.Cast<object>().Single() })!;
                Assert.Same(AssemblyLoadContext.Default, AssemblyLoadContext.GetLoadContext(hostInfo.GetType().Assembly));
            }
            finally { File.Delete(file); }
            var yaml = context.Assemblies.Single(a => a.GetName().Name == "YamlDotNet");
            Assert.Equal(Dependency("YamlDotNet.dll"), yaml.Location);
            Assert.DoesNotContain(AssemblyLoadContext.Default.Assemblies, a => a.Location == yaml.Location);
        }

        [Fact]
        public void The_default_context_is_answered_only_for_the_engine_at_our_version_when_HerdPS_asks()
        {
            var (loader, contracts) = LoaderIn("test-host-2");
            var deps = Create(loader, useLoadContext: true, contracts);
            var module = loader.Assembly;
            var ours = AssemblyName.GetAssemblyName(Dependency("HerdPS.Engine.dll"));

            Assert.Equal(Dependency("HerdPS.Engine.dll"), ForDefault(loader, deps, ours.FullName, module));
            // Another version of the engine, or a request from someone else's code, is not ours to answer.
            Assert.Null(ForDefault(loader, deps, "HerdPS.Engine, Version=9.9.0.0, Culture=neutral, PublicKeyToken=null", module));
            Assert.Null(ForDefault(loader, deps, ours.FullName, typeof(object).Assembly));
            // Our third-party dependencies never leak into the default context, whatever version is asked for:
            // another module asking for YamlDotNet gets its own copy (or a failure), never ours.
            var yaml = AssemblyName.GetAssemblyName(Dependency("YamlDotNet.dll"));
            Assert.Null(ForDefault(loader, deps, yaml.FullName, module));
            Assert.Null(ForDefault(loader, deps, "YamlDotNet, Version=16.0.0.0, Culture=neutral, PublicKeyToken=ec19458f3c15af5e", null));
            Assert.Null(ForDefault(loader, deps, "System.Text.Json, Version=10.0.0.0, Culture=neutral, PublicKeyToken=cc7b13ffcd2ddd51", module));
            Assert.Null(ForDefault(loader, deps, "Newtonsoft.Json", module));
        }

        [Fact]
        public void Inside_the_module_context_our_files_answer_requests_up_to_their_own_version()
        {
            var (loader, contracts) = LoaderIn("test-host-3");
            var deps = Create(loader, useLoadContext: true, contracts);
            var yaml = AssemblyName.GetAssemblyName(Dependency("YamlDotNet.dll"));
            Assert.Equal(Dependency("YamlDotNet.dll"), ForModule(loader, deps, yaml.FullName));
            Assert.Equal(Dependency("YamlDotNet.dll"), ForModule(loader, deps, "YamlDotNet, Version=1.0.0.0, Culture=neutral, PublicKeyToken=ec19458f3c15af5e"));
            Assert.Null(ForModule(loader, deps, "YamlDotNet, Version=99.0.0.0, Culture=neutral, PublicKeyToken=ec19458f3c15af5e"));
            Assert.Null(ForModule(loader, deps, "YamlDotNet, Version=1.0.0.0, Culture=neutral, PublicKeyToken=0000000000000000"));
            Assert.Null(ForModule(loader, deps, "Newtonsoft.Json"));
        }

        [Fact]
        public void Only_third_party_assemblies_are_preloaded()
        {
            var (loader, _) = LoaderIn("test-host-4");
            var isThirdParty = loader.GetMethod("IsThirdParty")!;
            bool ThirdParty(string n) => (bool)isThirdParty.Invoke(null, new object[] { n })!;
            Assert.True(ThirdParty("YamlDotNet"));
            Assert.True(ThirdParty("Microsoft.Data.Sqlite"));
            Assert.True(ThirdParty("SQLitePCLRaw.core"));
            Assert.False(ThirdParty("HerdPS.Engine"));
            Assert.False(ThirdParty("System.Memory"));
            Assert.False(ThirdParty("Microsoft.Bcl.AsyncInterfaces"));
            Assert.False(ThirdParty("Microsoft.CSharp")); // the runtime's own, newer than the package Fluid asks for
            Assert.True(ThirdParty("Fluid"));
            Assert.True(ThirdParty("Parlot"));
            Assert.False(ThirdParty("netstandard"));
        }

        /// <summary>
        /// Windows PowerShell 5.1 can't run here (docs/building.md reasons its loading path out). Without load contexts
        /// the one AppDomain handler answers for any file in Dependencies/ at a version at least the one asked for,
        /// and only when our code asks (or the runtime doesn't say who asked).
        /// </summary>
        [Fact]
        public void On_Windows_PowerShell_resolution_answers_only_our_code_and_only_from_Dependencies()
        {
            var (loader, contracts) = LoaderIn("test-host-5");
            var deps = Create(loader, useLoadContext: false, contracts);
            Assert.Null(loader.GetProperty("LoadContext")!.GetValue(deps));
            var module = loader.Assembly;
            var yaml = AssemblyName.GetAssemblyName(Dependency("YamlDotNet.dll"));
            Assert.Equal(Dependency("YamlDotNet.dll"), ForDefault(loader, deps, yaml.FullName, module));
            Assert.Equal(Dependency("YamlDotNet.dll"), ForDefault(loader, deps, "YamlDotNet, Version=1.0.0.0, Culture=neutral, PublicKeyToken=ec19458f3c15af5e", null));
            Assert.Equal(Dependency("HerdPS.Engine.dll"), ForDefault(loader, deps, "HerdPS.Engine", module));
            // A binding redirect's work (System.Memory 4.0.1.1 asked, 4.0.x shipped) for our dependencies' requests.
            var memory = AssemblyName.GetAssemblyName(Dependency("System.Memory.dll"));
            Assert.Equal(Dependency("System.Memory.dll"), ForDefault(loader, deps, $"System.Memory, Version=4.0.0.0, Culture=neutral, PublicKeyToken=cc7b13ffcd2ddd51", module));
            Assert.Null(ForDefault(loader, deps, memory.FullName, typeof(object).Assembly));
            Assert.Null(ForDefault(loader, deps, "YamlDotNet, Version=99.0.0.0, Culture=neutral, PublicKeyToken=ec19458f3c15af5e", module));
            Assert.Null(ForDefault(loader, deps, "Newtonsoft.Json", module));
            Assert.Null(ForDefault(loader, deps, "HerdPS", module));
        }
    }
}
