using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using HerdPS.Tests.Fleet;

namespace HerdPS.PowerShell.Tests
{
    /// <summary>
    /// Another module's older YamlDotNet and Microsoft.Data.Sqlite, already loaded when HerdPS is imported: both keep
    /// working, and HerdPS still reads inventories (YamlDotNet) and writes its history (SQLite) with its own copies.
    /// It runs in a fresh pwsh process (tools/pwsh), because "loaded before HerdPS" can't be arranged in this test
    /// process, where other tests have imported HerdPS already.
    /// </summary>
    [Collection(ModuleFleetCollection.Name)]
    public sealed class IsolationTests
    {
        private readonly ModuleFleet _fleet;

        public IsolationTests(ModuleFleet fleet) { _fleet = fleet; }

        private static string Package(string id, string version, string path)
        {
            var file = Path.Combine(TestPaths.NuGetPackageRoot, id.ToLowerInvariant(), version, path);
            Assert.True(File.Exists(file), $"{file} is missing (restoring this test project downloads it)");
            return file;
        }

        /// <summary>Lays out "another module": its own YamlDotNet 11 and SQLite 6 with their native library, as a module folder holds them.</summary>
        private string OtherModule()
        {
            var dir = Directory.CreateDirectory(Path.Combine(_fleet.WorkDir, "OtherModule-" + Guid.NewGuid().ToString("N"))).FullName;
            var files = new[]
            {
                Package("YamlDotNet", "11.2.1", "lib/netstandard2.1/YamlDotNet.dll"),
                Package("Microsoft.Data.Sqlite.Core", "6.0.0", "lib/netstandard2.0/Microsoft.Data.Sqlite.dll"),
                Package("SQLitePCLRaw.core", "2.0.6", "lib/netstandard2.0/SQLitePCLRaw.core.dll"),
                Package("SQLitePCLRaw.provider.e_sqlite3", "2.0.6", "lib/netstandard2.0/SQLitePCLRaw.provider.e_sqlite3.dll"),
                Package("SQLitePCLRaw.bundle_e_sqlite3", "2.0.6", "lib/netstandard2.0/SQLitePCLRaw.batteries_v2.dll"),
                Package("SQLitePCLRaw.lib.e_sqlite3", "2.0.6", "runtimes/linux-x64/native/libe_sqlite3.so"),
            };
            foreach (var f in files) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
            return dir;
        }

        [Fact]
        public void Another_modules_older_YamlDotNet_and_Sqlite_loaded_first_keep_working_beside_ours()
        {
            var other = OtherModule();
            var script = Path.Combine(_fleet.WorkDir, "isolation-" + Guid.NewGuid().ToString("N") + ".ps1");
            File.WriteAllText(script, $@"
$ErrorActionPreference = 'Stop'
$other = '{other}'
# The other module, loaded the way script modules load their libraries.
foreach ($dll in 'YamlDotNet', 'SQLitePCLRaw.core', 'SQLitePCLRaw.provider.e_sqlite3', 'SQLitePCLRaw.batteries_v2', 'Microsoft.Data.Sqlite') {{
    Add-Type -Path (Join-Path $other ""$dll.dll"")
}}
function Use-Other {{
    $yaml = (New-Object YamlDotNet.Serialization.Deserializer).Deserialize[object]('answer: 42')
    'other-yaml=' + $yaml['answer'] + ' ' + [YamlDotNet.Serialization.Deserializer].Assembly.GetName().Version
    [SQLitePCL.Batteries_V2]::Init()
    $db = New-Object Microsoft.Data.Sqlite.SqliteConnection 'Data Source=:memory:'
    $db.Open()
    $cmd = $db.CreateCommand(); $cmd.CommandText = 'select 6 * 7'
    'other-sqlite=' + $cmd.ExecuteScalar() + ' ' + $db.GetType().Assembly.GetName().Version
    $db.Close()
}}
Use-Other

Import-Module '{TestPaths.Manifest}'
'hosts=' + ((Get-FleetHost -Group web).HostName -join ',')
$run = Invoke-FleetCommand -HostName web-01 -Command 'echo isolated'
'ran=' + $run.StdOut
$recorded = Get-FleetHistory -Last 1
'recorded=' + ($recorded.Command -eq 'echo isolated') + ' ' + $recorded.Results[0].StdOut

Use-Other
foreach ($a in [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object {{ $_.GetName().Name -in 'YamlDotNet', 'Microsoft.Data.Sqlite', 'SQLitePCLRaw.core' }}) {{
    'loaded=' + $a.GetName().Name + ' ' + $a.GetName().Version + ' ' + [Runtime.Loader.AssemblyLoadContext]::GetLoadContext($a).Name
}}
");
            var result = ProcessRunner.Run(TestPaths.Pwsh, new[] { "-NoProfile", "-NonInteractive", "-File", script }, TimeSpan.FromMinutes(2));
            Assert.True(result.ExitCode == 0, $"pwsh exited {result.ExitCode}: {result.StdErr}\n{result.StdOut}");
            var lines = result.StdOut.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToList();
            Assert.Equal(2, lines.Count(l => l == "other-yaml=42 11.0.0.0"));
            Assert.Equal(2, lines.Count(l => l == "other-sqlite=42 6.0.0.0"));
            Assert.Contains("hosts=web-01,web-02,web-03", lines);
            Assert.Contains("ran=isolated", lines);
            Assert.Contains("recorded=True isolated", lines);
            // Two copies of each, side by side: the other module's in the default context, ours in HerdPS's.
            var loaded = lines.Where(l => l.StartsWith("loaded=", StringComparison.Ordinal)).OrderBy(l => l).ToList();
            Assert.Contains("loaded=YamlDotNet 11.0.0.0 Default", loaded);
            Assert.Contains("loaded=YamlDotNet 18.0.0.0 HerdPS", loaded);
            Assert.Contains("loaded=Microsoft.Data.Sqlite 6.0.0.0 Default", loaded);
            Assert.Contains("loaded=Microsoft.Data.Sqlite 9.0.0.0 HerdPS", loaded);
            Assert.Contains(loaded, l => l.StartsWith("loaded=SQLitePCLRaw.core 2.0.6", StringComparison.Ordinal) && l.EndsWith(" Default", StringComparison.Ordinal));
            Assert.Contains(loaded, l => l.StartsWith("loaded=SQLitePCLRaw.core 2.1", StringComparison.Ordinal) && l.EndsWith(" HerdPS", StringComparison.Ordinal));
        }

        [Fact]
        public void A_module_that_asks_for_our_YamlDotNet_version_after_import_does_not_get_our_copy()
        {
            // Someone else's code asking the default context for YamlDotNet must never be answered from our folder
            // (the old loader handed ours to anyone who asked, whatever version).
            var script = Path.Combine(_fleet.WorkDir, "leak-" + Guid.NewGuid().ToString("N") + ".ps1");
            File.WriteAllText(script, $@"
Import-Module '{TestPaths.Manifest}'
Get-FleetHost | Out-Null
foreach ($name in 'YamlDotNet, Version=16.0.0.0, Culture=neutral, PublicKeyToken=ec19458f3c15af5e', 'YamlDotNet, Version=18.0.0.0, Culture=neutral, PublicKeyToken=ec19458f3c15af5e', 'SQLitePCLRaw.core') {{
    try {{ $a = [Reflection.Assembly]::Load($name); 'answered ' + $a.Location }} catch {{ 'refused ' + $name.Split(',')[0] }}
}}
");
            var result = ProcessRunner.Run(TestPaths.Pwsh, new[] { "-NoProfile", "-NonInteractive", "-File", script }, TimeSpan.FromMinutes(2));
            Assert.True(result.ExitCode == 0, result.StdErr);
            Assert.DoesNotContain("answered", result.StdOut);
            Assert.Equal(3, result.StdOut.Split('\n').Count(l => l.StartsWith("refused ", StringComparison.Ordinal)));
        }
    }
}
