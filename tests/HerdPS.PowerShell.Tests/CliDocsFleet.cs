using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using HerdPS.Tests.Fleet;
using HerdPS.Tests.Notify;

namespace HerdPS.PowerShell.Tests
{
    /// <summary>
    /// The docs' fleet as the herd examples of the sh blocks see it: the same host names, groups and tags as
    /// <see cref="ModuleFleet"/> (web, db, pis; prod, staging, nginx, debian12, arm64) and its seeded history, but
    /// every name on one sshd of its own that runs in a mount namespace where the files the examples name exist:
    /// /etc/app.conf, /var/log/syslog, auth.log, app.log, nginx/error.log, and /usr/local/bin/check-backup (the
    /// reader's own backup check). They are overlays on the machine's /etc, /var/log and /usr/local/bin, seen only by
    /// that sshd and its sessions. The inventory also holds the notifications of docs/notifications.md (sent to a
    /// local webhook server, the pager a local script) and the recipe restart-nginx of docs/scripts.md.
    /// </summary>
    public sealed class CliDocsFleet : IDisposable
    {
        private readonly ModuleFleet _fleet;
        private readonly ExtraSshHost _host;

        public CliDocsFleet(ModuleFleet fleet)
        {
            _fleet = fleet;
            Webhooks = new WebhookServer();
            var root = Directory.CreateDirectory(Path.Combine(fleet.WorkDir, "cli-docs")).FullName;
            var mounts = new StringBuilder();
            foreach (var (target, fill) in new (string, Action<string>)[] { ("/etc", FillEtc), ("/var/log", FillLog), ("/usr/local/bin", FillBin) })
            {
                var upper = Directory.CreateDirectory(Path.Combine(root, target.Trim('/').Replace('/', '-'), "upper")).FullName;
                var work = Directory.CreateDirectory(Path.Combine(root, target.Trim('/').Replace('/', '-'), "work")).FullName;
                fill(upper);
                mounts.Append($" && mount -t overlay overlay -o lowerdir={target},upperdir={upper},workdir={work} {target}");
            }
            // The login user reads what the overlays add (its umask may be stricter than a host's log files), and owns
            // /etc/nginx, where the push example writes (on a real host that is root's, and herd logs in as root).
            ProcessRunner.Run("chmod", new[] { "-R", "a+rX", root }, TimeSpan.FromSeconds(30));
            fleet.Ssh.ChownToLoginUser(Path.Combine(root, "etc", "upper", "nginx"));
            _host = fleet.Ssh.StartIsolatedHost("docs-fleet", _ => { }, "true" + mounts);

            InventoryPath = Path.Combine(root, "inventory.yaml");
            SshConfigPath = Path.Combine(root, "ssh_config");
            PagerLog = Path.Combine(root, "paged.txt");
            File.WriteAllText(InventoryPath, Inventory());
            File.WriteAllText(SshConfigPath,
                // n0001..n9999: the pdsh range of docs/inventory.md, hosts of the reader's network mapped here too.
                "Host " + string.Join(' ', ModuleFleet.AllHosts) + " n????\n" +
                $"  HostName 127.0.0.1\n  Port {_host.Port}\n  HostKeyAlias {_host.Alias}\n  UserKnownHostsFile {_host.KnownHostsPath}\n" +
                $"Host *\nInclude {fleet.Ssh.SshConfigPath}\n");
            SeedRunFromSched01();
            // Copied in the background from the start: it takes a while, and the other lines need none of it.
            TeamHistory = Task.Run(MigrateToTeamHistory);
        }

        /// <summary>
        /// The team's history the docs call postgresql://herd@pg.example.com/herd: a database of the test PostgreSQL
        /// server holding the seeded history, copied in with herd history migrate.
        /// </summary>
        public Task<PostgresDatabase> TeamHistory { get; }

        /// <summary>
        /// A run recorded by the scheduled-task machine sched-01 (docs/history.md: herd history --from sched-01): herd
        /// in a UTS namespace whose host name is sched-01, recording into the docs' history.
        /// </summary>
        private void SeedRunFromSched01()
        {
            var psi = ProcessRunner.StartInfo("unshare", new[] { "-u", "sh", "-c", "hostname sched-01 && exec herd exec uptime -g web" });
            foreach (var kv in Environment()) psi.Environment[kv.Key] = kv.Value;
            var run = ProcessRunner.RunAsync(psi, TimeSpan.FromMinutes(2)).GetAwaiter().GetResult();
            Assert.True(run.ExitCode == 0, "seeding a run from sched-01 failed: " + run);
        }

        private PostgresDatabase MigrateToTeamHistory()
        {
            var db = PostgresServer.Shared.CreateDatabase("cli-team");
            var psi = ProcessRunner.StartInfo(TestPaths.Herd, new[] { "history", "migrate", "--to", db.Url });
            foreach (var kv in Environment()) psi.Environment[kv.Key] = kv.Value;
            psi.Environment["PGPASSWORD"] = db.Server.Password;
            var run = ProcessRunner.RunAsync(psi, TimeSpan.FromMinutes(2)).GetAwaiter().GetResult();
            Assert.True(run.ExitCode == 0, "copying the docs' history into the team database failed: " + run);
            return db;
        }

        public WebhookServer Webhooks { get; }
        public string InventoryPath { get; }
        public string SshConfigPath { get; }
        /// <summary>Where the pager notification (a script on this machine) writes what it is sent.</summary>
        public string PagerLog { get; }

        /// <summary>The environment a reader's shell has: herd on $PATH, the docs' inventory, ssh_config and history, the notifications' secrets.</summary>
        public IDictionary<string, string> Environment() => new Dictionary<string, string>
        {
            ["PATH"] = Path.GetDirectoryName(TestPaths.Herd) + ":" + System.Environment.GetEnvironmentVariable("PATH"),
            ["HERD_INVENTORY"] = InventoryPath,
            ["HERD_SSH_CONFIG"] = SshConfigPath,
            ["HERD_HISTORY"] = _fleet.HistoryPath,
            // A private config home: nothing of this machine's user leaks into the examples.
            ["XDG_CONFIG_HOME"] = Path.Combine(_fleet.WorkDir, "cli-config"),
            ["OPS_HOOK_TOKEN"] = "hook-token",
            ["OPS_API_TOKEN"] = "api-token",
            ["SLACK_WEBHOOK_URL"] = Webhooks.Url("/slack"),
        };

        private static void FillEtc(string etc)
        {
            File.WriteAllText(Path.Combine(etc, "app.conf"), "listen 8080\nworkers 4\n");
            Directory.CreateDirectory(Path.Combine(etc, "nginx"));
        }

        private static void FillLog(string log)
        {
            File.WriteAllText(Path.Combine(log, "syslog"), "Nov 27 09:00:01 web CRON[101]: (root) CMD (run-parts /etc/cron.hourly)\nNov 27 09:00:02 web systemd[1]: Started nginx.service.\n");
            File.WriteAllText(Path.Combine(log, "auth.log"), "Nov 27 09:01:00 pi sshd[200]: Accepted publickey for pi from 10.0.0.2 port 50000 ssh2\n");
            File.WriteAllText(Path.Combine(log, "app.log"), "2026-11-27 09:02:00 INFO started\n2026-11-27 09:02:05 ERROR upstream timed out\n");
            Directory.CreateDirectory(Path.Combine(log, "nginx"));
            File.WriteAllText(Path.Combine(log, "nginx", "error.log"), "2026/11/27 09:03:00 [error] 12#12: upstream answered 502 Bad Gateway\n2026/11/27 09:03:01 [notice] 12#12: signal process started\n");
        }

        private static void FillBin(string bin)
        {
            var check = Path.Combine(bin, "check-backup");
            File.WriteAllText(check, "#!/bin/sh\n# The reader's own backup check.\necho 'last backup: 2026-11-27 03:00, ok'\n");
            File.SetUnixFileMode(check, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        }

        private string Inventory()
        {
            var y = new StringBuilder();
            y.Append("# The fleet the docs talk about, every host on the docs-fleet sshd.\n");
            y.Append("defaults: { connect_timeout: 10s }\n");
            ModuleFleet.AppendDocsGroups(y);
            // docs/notifications.md's notifications, delivered here.
            y.Append("notifications:\n");
            y.Append("  - name: ops-webhook\n    type: webhook\n    url: ").Append(Webhooks.Url("/herd/")).Append("${OPS_HOOK_TOKEN}\n");
            y.Append("    headers: { Authorization: \"Bearer ${OPS_API_TOKEN}\" }\n    on: [failure, timeout, resolve]\n");
            y.Append("  - name: team-slack\n    type: slack\n    webhook: ${SLACK_WEBHOOK_URL}\n    on: [failure, change]\n");
            y.Append("  - name: pager\n    type: script\n    command: cat >> ").Append(PagerLog).Append("\n    on: [failure]\n");
            // docs/scripts.md's recipe.
            y.Append("recipes:\n  restart-nginx:\n    description: Restart nginx where it is down\n    params:\n      service: { default: nginx }\n");
            y.Append("    steps:\n      - systemctl is-active {{.service}}\n      - \"@failed systemctl restart {{.service}}\"\n");
            return y.ToString();
        }

        public void Dispose()
        {
            _host.Dispose();
            Webhooks.Dispose();
        }
    }
}
