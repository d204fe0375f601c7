using System;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Reflection;
using System.Runtime.Loader;

namespace HerdPS.PowerShell.Tests
{
    /// <summary>The packaged module imported by PowerShell 7.6, the way users import it, and where its assemblies land.</summary>
    [Collection(ModuleFleetCollection.Name)]
    public sealed class LoadingTests
    {
        private readonly ModuleFleet _fleet;

        public LoadingTests(ModuleFleet fleet) { _fleet = fleet; }

        /// <summary>
        /// PowerShell calls GetExportedTypes() on HerdPS.dll before the module initializer runs. Every exported type
        /// must load with only what the default context has then: PowerShell itself and HerdPS.Contracts. A context
        /// that refuses HerdPS.Engine proves no base type, interface, generic argument or value-type field needs it.
        /// </summary>
        [Fact]
        public void Every_exported_type_loads_before_the_engine_can()
        {
            var context = new EngineRefusingContext();
            try
            {
                var module = context.LoadFromAssemblyPath(Path.Combine(TestPaths.ModuleDir, "HerdPS.dll"));
                var types = module.GetExportedTypes();
                Assert.Contains(types, t => t.Name == "InvokeFleetCommandCommand");
                foreach (var type in types)
                {
                    // Fields force the layout of value types; the attribute data forces nothing, as in PowerShell's scan.
                    _ = type.GetFields(BindingFlags.Instance | BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic);
                    _ = type.BaseType;
                    _ = type.GetInterfaces();
                }
                Assert.Equal(0, context.EngineRequests);
            }
            finally { context.Unload(); }
        }

        /// <summary>The handlers of AppDomain.AssemblyResolve (on .NET it is AssemblyLoadContext's static event).</summary>
        private static Delegate[] AppDomainResolveHandlers()
        {
            var field = typeof(AssemblyLoadContext).GetField("AssemblyResolve", BindingFlags.Static | BindingFlags.NonPublic);
            Assert.NotNull(field); // the check below must not pass because the runtime moved the event
            return (field!.GetValue(null) as Delegate)?.GetInvocationList() ?? Array.Empty<Delegate>();
        }

        [Fact]
        public void Import_installs_the_resolver_once_however_often_the_module_is_imported()
        {
            using var first = _fleet.Session();
            using var second = _fleet.Session();
            second.Run($"Import-Module '{TestPaths.Manifest}' -Force").AssertClean();
            Assert.Single(AppDomainResolveHandlers(), d => d.Method.DeclaringType?.FullName == "HerdPS.Loading.ModuleDependencies");
        }

        private sealed class EngineRefusingContext : AssemblyLoadContext
        {
            public EngineRefusingContext() : base("no-engine", isCollectible: true) { }
            public int EngineRequests { get; private set; }

            protected override Assembly? Load(AssemblyName name)
            {
                if (name.Name == "HerdPS.Engine") { EngineRequests++; throw new FileNotFoundException("the engine is not loadable before the module initializer runs", name.FullName); }
                if (name.Name == "HerdPS.Contracts") return LoadFromAssemblyPath(Path.Combine(TestPaths.ModuleDir, "HerdPS.Contracts.dll"));
                return null; // PowerShell and the framework, from the default context
            }
        }

        [Fact]
        public void Import_exports_the_manifest_cmdlets_and_the_types_users_name_resolve()
        {
            using var session = _fleet.Session();
            var run = session.Run(@"
                (Get-Command -Module HerdPS).Name | Sort-Object
                [HerdPS.FleetStatus]::Failed
                [HerdPS.FleetErrorKind]'HostKeyMismatch'
                [HerdPS.FleetResult].Assembly.GetName().Name
                [HerdPS.Watch.WatchResult].FullName
                [HerdPS.Files.RemoteFileResult].FullName
                [HerdPS.History.RecordedRun].FullName
                [HerdPS.Inventory.FleetHostInfo].FullName").AssertClean();
            var output = run.Output.Select(o => o.ToString()).ToList();
            var manifest = File.ReadAllText(TestPaths.Manifest);
            var exported = output.TakeWhile(o => o.Contains('-')).ToList();
            Assert.NotEmpty(exported);
            foreach (var name in exported) Assert.Contains($"'{name}'", manifest);
            Assert.Contains("Failed", output);
            Assert.Contains("HostKeyMismatch", output);
            Assert.Contains("HerdPS.Contracts", output);
            Assert.Contains("HerdPS.Watch.WatchResult", output);
        }

        [Fact]
        public void Results_are_the_types_their_literals_name_in_every_runspace_and_in_jobs()
        {
            using var session = _fleet.Session();
            var run = session.Run(@"
                $r = Invoke-FleetCommand -HostName web-01 -Command 'echo hi' -NoHistory
                $r -is [HerdPS.FleetResult]
                $r.Status -eq [HerdPS.FleetStatus]::Succeeded
                $job = Invoke-FleetCommand -HostName web-02 -Command 'echo hi' -NoHistory -AsJob
                $fromJob = $job | Receive-Job -Wait -AutoRemoveJob
                $fromJob -is [HerdPS.FleetResult]
                $fromJob.PSObject.BaseObject.GetType() -eq [HerdPS.FleetResult]
                $ps = [powershell]::Create()
                $null = $ps.AddScript(""Import-Module '$($args[0])'; Invoke-FleetCommand -HostName web-03 -Command 'echo hi' -NoHistory"").AddArgument(1)
                $other = $ps.Invoke()
                $other[0].GetType() -eq [HerdPS.FleetResult]
                $ps.Dispose()".Replace("$($args[0])", TestPaths.Manifest)).AssertClean();
            Assert.All(run.Output, o => Assert.True((bool)o.BaseObject, run.Describe()));
            Assert.Equal(5, run.Output.Count);
        }

        [Fact]
        public void Engine_and_dependencies_load_in_the_module_context_and_the_public_types_in_the_default_one()
        {
            using var session = _fleet.Session();
            session.Run("Get-FleetHost | Out-Null; Invoke-FleetCommand -HostName web-01 -Command true | Out-Null").AssertClean();
            string ContextOf(string name) =>
                AssemblyLoadContext.All.SelectMany(c => c.Assemblies.Where(a => a.GetName().Name == name).Select(_ => c.Name ?? "")).Distinct().Single();
            Assert.Equal("Default", ContextOf("HerdPS"));
            Assert.Equal("Default", ContextOf("HerdPS.Contracts"));
            Assert.Equal("HerdPS", ContextOf("HerdPS.Engine"));
            Assert.Equal("HerdPS", ContextOf("YamlDotNet"));
            Assert.Equal("HerdPS", ContextOf("Microsoft.Data.Sqlite"));
            var engine = AssemblyLoadContext.All.Single(c => c.Name == "HerdPS").Assemblies.Single(a => a.GetName().Name == "HerdPS.Engine");
            Assert.Equal(Path.Combine(TestPaths.ModuleDir, "Dependencies", "HerdPS.Engine.dll"), engine.Location);
            // Framework assemblies come from the runtime: no second System.Text.Json or Channels.
            Assert.DoesNotContain(AssemblyLoadContext.All.Single(c => c.Name == "HerdPS").Assemblies, a => a.GetName().Name!.StartsWith("System.", StringComparison.Ordinal));
        }

        [Fact]
        public void Remove_Module_then_Import_Module_works_and_the_resolver_is_gone_in_between()
        {
            using var session = _fleet.Session();
            var run = session.Run($@"
                Invoke-FleetCommand -HostName web-01 -Command 'echo one' -NoHistory | ForEach-Object StdOut
                Remove-Module HerdPS
                [bool](Get-Module HerdPS)
                [HerdPS.Loading.ModuleDependencies].GetMethod('Install') -ne $null
                Import-Module '{TestPaths.Manifest}'
                Invoke-FleetCommand -HostName web-01 -Command 'echo two' -NoHistory | ForEach-Object StdOut").AssertClean();
            Assert.Equal(new object[] { "one", false, true, "two" }, run.Output.Select(o => o.BaseObject).ToArray());
        }

        [Fact]
        public void The_resolver_answers_nothing_for_other_code_after_Remove_Module()
        {
            using var session = _fleet.Session();
            session.Run("Get-FleetHost | Out-Null; Remove-Module HerdPS").AssertClean();
            Assert.DoesNotContain(AppDomainResolveHandlers(), d => d.Method.DeclaringType?.FullName == "HerdPS.Loading.ModuleDependencies");
            session.Run($"Import-Module '{TestPaths.Manifest}'").AssertClean();
        }
    }
}
