using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using HerdPS.Tests.Fleet;

namespace HerdPS.PowerShell.Tests
{
    /// <summary>
    /// A real sshd fleet on loopback (the engine tests' <see cref="SshFleet"/>), dressed as the fleet the docs talk
    /// about: an inventory with groups web, db and pis, tags prod, staging, nginx and debian12, and an ssh_config
    /// that points each of those names at the loopback sshd. It is what a user's machine would have, set the way a
    /// user sets it: $HERD_INVENTORY, $HERD_SSH_CONFIG, $HERD_HISTORY and the module on $PSModulePath, so the
    /// documented examples run exactly as written. The history starts with a few runs and snapshots, as a user's
    /// does after a while.
    /// </summary>
    public sealed class ModuleFleet : IDisposable
    {
        public static readonly string[] WebHosts = { "web-01", "web-02", "web-03" };
        public static readonly string[] DbHosts = { "db01", "db02" };
        public static readonly string[] PiHosts = { "pi-garage", "pi-livingroom", "pi-workshop", "pi-backyard" };
        public static IEnumerable<string> AllHosts => WebHosts.Concat(DbHosts).Concat(PiHosts);

        private readonly Dictionary<string, string?> _savedEnvironment = new Dictionary<string, string?>();

        public ModuleFleet()
        {
            Assert.True(File.Exists(TestPaths.Manifest), $"packaged module missing: {TestPaths.Manifest} (build this test project, or run: dotnet publish src/HerdPS)");
            Ssh = SshFleet.Start(10);
            try
            {
                WorkDir = Directory.CreateTempSubdirectory("herdps-module-").FullName;
                Scratch = Directory.CreateDirectory(Path.Combine(WorkDir, "scratch")).FullName;
                InventoryPath = Path.Combine(WorkDir, "inventory.yaml");
                SshConfigPath = Path.Combine(WorkDir, "ssh_config");
                HistoryPath = Path.Combine(WorkDir, "history", "history.db");
                File.WriteAllText(InventoryPath, Inventory());
                File.WriteAllText(SshConfigPath, ClientConfig());
                WriteScratchFiles();

                SetEnvironment("HERD_INVENTORY", InventoryPath);
                SetEnvironment("HERD_SSH_CONFIG", SshConfigPath);
                SetEnvironment("HERD_HISTORY", HistoryPath);
                SetEnvironment("HERD_CONTROL_DIR", Ssh.ControlDirectory);
                // Where a server history's spool goes (its per-user data folder), kept in this fixture's folder.
                SetEnvironment("XDG_DATA_HOME", Path.Combine(WorkDir, "data"));
                SetEnvironment("PSModulePath", TestPaths.ModuleRoot + Path.PathSeparator + Environment.GetEnvironmentVariable("PSModulePath"));
                SeedHistory();
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        public SshFleet Ssh { get; }
        public string WorkDir { get; } = "";
        /// <summary>A user's working folder: the examples' relative paths (servers.csv, .\nginx.conf, .\collected) resolve here.</summary>
        public string Scratch { get; } = "";
        public string InventoryPath { get; } = "";
        public string SshConfigPath { get; } = "";
        public string HistoryPath { get; } = "";

        private readonly Lazy<PostgresDatabase> _postgres = new Lazy<PostgresDatabase>(() => PostgresServer.Shared.CreateDatabase("module"));

        /// <summary>
        /// The team's PostgreSQL history (a database of the test server, made on first use): what the docs call
        /// postgresql://herd@pg.example.com/herd. Its password is only in the test, handed over as a PSCredential or
        /// PGPASSWORD, as users do.
        /// </summary>
        public PostgresDatabase Postgres => _postgres.Value;

        private CliDocsFleet? _cli;

        /// <summary>The docs' fleet for the herd examples of sh blocks (started on first use): see <see cref="CliDocsFleet"/>.</summary>
        public CliDocsFleet Cli => _cli ??= new CliDocsFleet(this);

        /// <summary>
        /// A user's working folder for one example: the files the examples read, the built module under out/, and
        /// C:\herd's layout (with <paramref name="windowsPaths"/>) for the Windows ones.
        /// </summary>
        public string ExampleFolder(bool windowsPaths)
        {
            var folder = Directory.CreateDirectory(Path.Combine(WorkDir, "example-" + Guid.NewGuid().ToString("N"))).FullName;
            foreach (var file in Directory.GetFiles(Scratch)) File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
            // The README's examples run from the repository root: ./out/HerdPS/<version>/HerdPS.psd1 is the built module.
            Directory.CreateSymbolicLink(Path.Combine(folder, "out"), TestPaths.ModuleRoot);
            if (windowsPaths)
            {
                var herd = Directory.CreateDirectory(Path.Combine(folder, "herd")).FullName;
                Directory.CreateDirectory(Path.Combine(herd, "reports"));
                Directory.CreateDirectory(Path.Combine(herd, "keys"));
                Directory.CreateDirectory(Path.Combine(herd, "nginx"));
                Directory.CreateDirectory(Path.Combine(herd, "logs"));
                File.Copy(InventoryPath, Path.Combine(herd, "inventory.yaml"));
                File.Copy(Ssh.IdentityFile, Path.Combine(herd, "keys", "svc_ed25519"));
                File.WriteAllText(Path.Combine(herd, "motd"), "Authorized use only.\n");
            }
            return folder;
        }

        /// <summary>A fresh runspace with the packaged module imported, in the scratch folder.</summary>
        public PowerShellSession Session(bool importModule = true) => PowerShellSession.Start(importModule, Scratch);

        /// <summary>
        /// The groups the docs' examples name (web-01..03, db01..02, the Pis), as both docs fleets write them: this one for
        /// the module's examples, <see cref="CliDocsFleet"/> for herd's.
        /// </summary>
        internal static void AppendDocsGroups(StringBuilder y)
        {
            y.Append("groups:\n");
            y.Append("  web:\n    tags: [nginx]\n    hosts:\n");
            y.Append("      - { host: web-01, tags: [prod, debian12] }\n");
            y.Append("      - { host: web-02, tags: [prod, debian12] }\n");
            y.Append("      - { host: web-03, tags: [staging] }\n");
            y.Append("  db:\n    tags: [prod]\n    hosts: [ \"db[01-02]\" ]\n");
            y.Append("  pis:\n    tags: [arm64]\n    hosts: [ ").Append(string.Join(", ", PiHosts)).Append(" ]\n");
        }

        private string Inventory()
        {
            var y = new StringBuilder();
            y.Append("# The fleet the docs talk about, every host on the loopback test sshd.\n");
            y.Append("defaults: { connect_timeout: 10s }\n");
            AppendDocsGroups(y);
            // This machine without SSH, as README's inventory shows it.
            y.Append("  local:\n    hosts:\n      - { host: this-box, transport: local }\n");
            // Hosts that fail in the ways users meet: a closed port, a changed host key, a key that is not authorized.
            y.Append("  faults:\n    hosts: [ ").Append(string.Join(", ", Ssh.RefusedHost, Ssh.MismatchKeyHost, Ssh.AuthFailHost)).Append(" ]\n");
            return y.ToString();
        }

        private string ClientConfig()
        {
            // The fleet's own config first (user, key, known_hosts, the fault hosts); then the docs' names, all on the
            // loopback sshd, checked against the key known for h001.
            var c = new StringBuilder();
            c.Append("Include ").Append(Ssh.SshConfigPath).Append('\n');
            c.Append("Host ").Append(string.Join(' ', AllHosts)).Append('\n');
            c.Append("  HostName 127.0.0.1\n  Port ").Append(Ssh.Port).Append("\n  HostKeyAlias ").Append(Ssh.Hosts[0]).Append('\n');
            return c.ToString();
        }

        private void WriteScratchFiles()
        {
            File.WriteAllText(Path.Combine(Scratch, "servers.csv"), "ComputerName,Role\nweb-01,web\ndb01,db\n");
            File.WriteAllText(Path.Combine(Scratch, "nginx.conf"), "worker_processes auto;\nevents { worker_connections 768; }\n");
            File.WriteAllText(Path.Combine(Scratch, "deploy.sh"), "#!/bin/sh\necho deployed\n");
            // The fleet scripts the docs run (docs/scripts.md, Invoke-FleetScript, Get-FleetScript): what a user would
            // have written, and work on the docs' fleet as they are.
            File.WriteAllText(Path.Combine(Scratch, "deploy.yaml"), DeployScript);
            File.WriteAllText(Path.Combine(Scratch, "nightly.yaml"), NightlyScript);
        }

        public const string DeployScript = @"name: deploy
description: Stage a release on one host first, then on half of the rest at a time
params:
  version: { required: true, description: the release to stage }
strategy:
  serial: [1, ""50%""]
  max_fail_percentage: 0
steps:
  - id: stage
    run: mkdir -p /tmp/herd-releases && echo {{ params.version }} > /tmp/herd-releases/{{ host.name }}
  - id: verify
    run: cat /tmp/herd-releases/{{ host.name }}
    register: staged
  - id: report
    run: echo {{ host.name }} has {{ staged.stdout }}
";

        public const string NightlyScript = @"name: nightly
description: Nightly look at load and disk
steps:
  - id: load
    run: uptime
    parse: uptime
  - id: disk
    run: df -P /
    parse: disk
";

        /// <summary>
        /// The history a user has after a while, shaped as the docs tell it: runs 140 and 142 are `rpm -qa | sort` on
        /// group web (Compare-FleetHistory 140 142), snapshot 12 is of web and 20 and 23 of pis (Compare-FleetSnapshot
        /// 20 23). Runs and snapshots in between are of this machine (transport: local), which costs no SSH.
        /// </summary>
        private void SeedHistory()
        {
            using var session = Session();
            session.Run(@"
                function Fill-Runs([long] $until) {
                    while (((Get-FleetHistory -Last 1).Id ?? 0) -lt $until) { Invoke-FleetCommand -HostName this-box -Command 'true' | Out-Null }
                }
                function Fill-Snapshots([long] $until) {
                    while (((Get-FleetSnapshot -List -Last 1).Id ?? 0) -lt $until) { Get-FleetSnapshot -HostName this-box | Out-Null }
                }
                foreach ($command in 'dpkg -l | sort', 'df -h / | tail -1') {
                    Invoke-FleetCommand -Group web -Command $command | Out-Null
                    Invoke-FleetCommand -Group web -Command $command | Out-Null
                }
                Fill-Runs 139
                Invoke-FleetCommand -Group web -Command 'rpm -qa | sort' | Out-Null
                Invoke-FleetCommand -Group pis -Command 'df -h / | tail -1' | Out-Null
                Invoke-FleetCommand -Group web -Command 'rpm -qa | sort' | Out-Null
                Fill-Snapshots 11
                Get-FleetSnapshot -Group web | Out-Null
                Fill-Snapshots 19
                Get-FleetSnapshot -Group pis | Out-Null
                Fill-Snapshots 22
                Get-FleetSnapshot -Group pis | Out-Null
                if ((Get-FleetHistory -Id 142).Command -ne 'rpm -qa | sort' -or (Get-FleetSnapshot -List -Last 1).Id -ne 23) { throw 'the seeded history is not the one the docs tell' }",
                TimeSpan.FromMinutes(5)).AssertClean();
        }

        private void SetEnvironment(string name, string value)
        {
            if (!_savedEnvironment.ContainsKey(name)) _savedEnvironment[name] = Environment.GetEnvironmentVariable(name);
            Environment.SetEnvironmentVariable(name, value);
        }

        public void Dispose()
        {
            foreach (var saved in _savedEnvironment) Environment.SetEnvironmentVariable(saved.Key, saved.Value);
            _cli?.Dispose();
            Ssh.Dispose();
            if (Directory.Exists(WorkDir)) Directory.Delete(WorkDir, recursive: true);
        }
    }

    [CollectionDefinition(Name)]
    public sealed class ModuleFleetCollection : ICollectionFixture<ModuleFleet>
    {
        public const string Name = "module fleet";
    }
}
