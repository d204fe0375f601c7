using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using HerdPS.Execution;
using HerdPS.Inventory;
using HerdPS.Tail;
using HerdPS.Tests.Fleet;
using HerdPS.Transport;
using HerdPS.Transport.OpenSsh;

namespace HerdPS.Tests.Tail
{
    /// <summary>
    /// Hosts with a real systemd journal, on a machine where systemd does not run. Each host is an isolated sshd
    /// (a mount namespace of its own) with its own real <c>systemd-journald</c>, started in another mount namespace
    /// where a tmpfs covers /run and the journal's socket and files are folders of the test. Entries are written
    /// the way services write them: <c>systemd-cat</c> run in the journald's namespace from a process placed in a
    /// cgroup named after the unit (<c>/sys/fs/cgroup/{unified,systemd}/&lt;unit&gt;</c>), so journald itself
    /// stamps <c>_SYSTEMD_UNIT</c> and <c>journalctl -u</c> selects by it as on any systemd host.
    /// <para>
    /// The one stand-in: the journal lives in the test's folder, not /var/log/journal, so on each host a
    /// <c>journalctl</c> earlier on the login user's PATH (/usr/local/bin, covered inside that host's namespace only)
    /// runs the real <c>/usr/bin/journalctl --directory=&lt;that folder&gt; "$@"</c>. Everything else (cursors,
    /// <c>--after-cursor</c>, <c>-f</c>, JSON, unit matching) is systemd 252's own. Needs root (namespaces, cgroups).
    /// </para>
    /// </summary>
    internal sealed class JournalHosts : IDisposable
    {
        private static int _counter;
        private readonly SshFleet _fleet;
        private readonly List<ExtraSshHost> _hosts = new List<ExtraSshHost>();
        private readonly List<Process> _journalds = new List<Process>();
        private readonly List<string> _cgroups = new List<string>();
        private readonly List<string> _folders = new List<string>();

        public JournalHosts(SshFleet fleet, int count)
        {
            if (!fleet.IsRoot) throw new InvalidOperationException("journal hosts need root (mount namespaces, cgroups): run these tests as root, as CI does");
            foreach (var tool in new[] { "/lib/systemd/systemd-journald", "/usr/bin/journalctl", "/usr/bin/systemd-cat" })
                if (!File.Exists(tool)) throw new InvalidOperationException($"{tool} is missing: the journal tests need systemd's journald, journalctl and systemd-cat installed (apt-get install systemd); systemd itself need not run");
            _fleet = fleet;
            int id = Interlocked.Increment(ref _counter);
            Unit = $"herdtest-{id}-app.service";
            OtherUnit = $"herdtest-{id}-other.service";
            try
            {
                foreach (var unit in new[] { Unit, OtherUnit })
                    foreach (var hierarchy in new[] { "unified", "systemd" })
                    {
                        var cgroup = $"/sys/fs/cgroup/{hierarchy}/{unit}";
                        Directory.CreateDirectory(cgroup);
                        _cgroups.Add(cgroup);
                    }
                for (int i = 0; i < count; i++)
                {
                    var folder = Directory.CreateTempSubdirectory($"herd-journal-{id}{(char)('a' + i)}-").FullName;
                    _folders.Add(folder);
                    File.SetUnixFileMode(folder, (UnixFileMode)Convert.ToInt32("755", 8));
                    foreach (var sub in new[] { "socket", "log", "bin" }) Directory.CreateDirectory(Path.Combine(folder, sub));
                    var journald = StartJournald(folder);
                    _journalds.Add(journald);
                    var shim = Path.Combine(folder, "bin", "journalctl");
                    File.WriteAllText(shim, $"#!/bin/sh\nexec /usr/bin/journalctl --directory={folder}/log/journal \"$@\"\n");
                    File.SetUnixFileMode(shim, (UnixFileMode)Convert.ToInt32("755", 8));
                    _hosts.Add(fleet.StartIsolatedHost($"jrn{id}-{(char)('a' + i)}", _ => { }, $"mount --bind {folder}/bin /usr/local/bin"));
                }
                ConfigPath = fleet.WriteCombinedConfig($"journal{id}", _hosts);
                ControlDirectory = Path.Combine(fleet.ControlDirectory, "j" + id);
                // journald makes its file with the first entry, readable by root only; the login user must read it.
                for (int i = 0; i < count; i++) Write(i, Unit, "journal host " + i + " started");
                for (int i = 0; i < count; i++)
                {
                    var journal = Path.Combine(_folders[i], "log", "journal");
                    WaitFor(() => Directory.Exists(journal) && Directory.EnumerateFiles(journal, "*.journal", SearchOption.AllDirectories).Any(), "the journal file");
                    foreach (var d in Directory.EnumerateDirectories(journal, "*", SearchOption.AllDirectories).Append(journal))
                        File.SetUnixFileMode(d, (UnixFileMode)Convert.ToInt32("755", 8));
                    foreach (var f in Directory.EnumerateFiles(journal, "*", SearchOption.AllDirectories))
                        File.SetUnixFileMode(f, (UnixFileMode)Convert.ToInt32("644", 8));
                }
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        public string Unit { get; }
        public string OtherUnit { get; }
        public string ConfigPath { get; } = "";
        public string ControlDirectory { get; } = "";
        public string[] Names => _hosts.Select(h => h.Alias).ToArray();
        public ExtraSshHost this[int i] => _hosts[i];

        /// <summary>journald on its own, in a namespace where /run is a fresh tmpfs and its socket and files are our folders.</summary>
        private static Process StartJournald(string folder)
        {
            var setup = "mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/journal /run/log && " +
                        $"mount --bind {folder}/socket /run/systemd/journal && mount --bind {folder}/log /run/log && exec /lib/systemd/systemd-journald";
            var psi = new ProcessStartInfo("unshare") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { "-m", "--propagation", "private", "/bin/sh", "-c", setup }) psi.ArgumentList.Add(a);
            var p = Process.Start(psi)!;
            p.StandardInput.Close();
            WaitFor(() => File.Exists(Path.Combine(folder, "socket", "stdout")) || p.HasExited, "journald's socket");
            if (p.HasExited) throw new InvalidOperationException("systemd-journald did not start: " + p.StandardError.ReadToEnd());
            return p;
        }

        /// <summary>
        /// Writes lines as entries of <paramref name="unit"/> on a host, as a service of that unit would (one systemd-cat
        /// stream). journald reads a writer's unit, pid and name from /proc when it takes the entry in, so the writer
        /// stays alive (its input still open) until journalctl shows the last line under the unit; a writer gone
        /// before that leaves entries without _SYSTEMD_UNIT, which no -u would ever select.
        /// </summary>
        public void Write(int host, string unit, params string[] messages)
        {
            var psi = new ProcessStartInfo("nsenter") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            var script = $"echo $$ > /sys/fs/cgroup/unified/{unit}/cgroup.procs && echo $$ > /sys/fs/cgroup/systemd/{unit}/cgroup.procs && exec systemd-cat -t app";
            foreach (var a in new[] { $"--mount=/proc/{_journalds[host].Id}/ns/mnt", "--", "/bin/sh", "-c", script }) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            var error = p.StandardError.ReadToEndAsync();
            p.StandardInput.Write(string.Concat(messages.Select(m => m + "\n")));
            p.StandardInput.Flush();
            try
            {
                var last = messages[messages.Length - 1];
                WaitFor(() => Entries(host, unit).Contains(last) || p.HasExited, $"'{last}' in the journal under {unit}");
            }
            finally
            {
                p.StandardInput.Close();
            }
            Assert.True(p.WaitForExit(30_000), "systemd-cat did not finish");
            Assert.True(p.ExitCode == 0, "writing to the journal failed: " + error.Result);
        }

        /// <summary>The messages of a unit in a host's journal, read with the real journalctl.</summary>
        public IReadOnlyList<string> Entries(int host, string unit)
        {
            var r = ProcessRunner.Run("journalctl", new[] { "--directory=" + Path.Combine(_folders[host], "log", "journal"), "--no-pager", "--unit=" + unit, "--output=cat" }, TimeSpan.FromSeconds(30));
            return r.StdOut.Split('\n');
        }

        public FleetTail Tail(TailOptions options, IEnumerable<string>? hosts = null)
        {
            var ssh = new SshOptions { ConfigFile = ConfigPath, ControlDirectory = ControlDirectory };
            var runner = new FleetRunner(new OpenSshTransport(ssh));
            return new FleetTail(runner, (hosts ?? Names).Select(n => new FleetHost(n)).ToList(), new FleetRunOptions { ConnectTimeout = TimeSpan.FromSeconds(5) }, options);
        }

        public TailOptions Options(params string[] units)
        {
            var o = new TailOptions { ReconnectDelay = TimeSpan.FromMilliseconds(200), ReconnectMaxDelay = TimeSpan.FromSeconds(1) };
            o.Units.AddRange(units.Length == 0 ? new[] { Unit } : units);
            return o;
        }

        // A guard, not a timing: on a machine at load 25 (CI beside benches) journald has taken more than 30 s to
        // show an entry.
        private static void WaitFor(Func<bool> condition, string what)
        {
            var deadline = DateTime.UtcNow.AddSeconds(90);
            while (!condition())
            {
                if (DateTime.UtcNow > deadline) throw new TimeoutException("timed out waiting for " + what);
                Thread.Sleep(20);
            }
        }

        public void Dispose()
        {
            try { ConnectionPool.For(ControlDirectory).DisconnectAllAsync("ssh", CancellationToken.None).GetAwaiter().GetResult(); }
            catch (Exception) { }
            foreach (var h in _hosts) h.Dispose();
            foreach (var j in _journalds)
            {
                try { if (!j.HasExited) { j.Kill(); j.WaitForExit(10_000); } } catch (Exception) { }
                j.Dispose();
            }
            // A cgroup goes once its last process has (systemd-cat exits after its input).
            foreach (var c in _cgroups) { try { Directory.Delete(c); } catch (Exception) { } }
            foreach (var f in _folders) { try { Directory.Delete(f, recursive: true); } catch (Exception) { } }
        }
    }
}
