using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;

namespace HerdPS.Tests.Fleet
{
    /// <summary>
    /// A Dropbear server with BusyBox for its shell and tools, as on a router or a Raspberry Pi, on loopback:
    /// dropbear (Debian's dropbear-bin) in a mount namespace of its own where /bin/sh (dash), sleep and setsid are
    /// bind-mounted over by busybox, so the login shell, the remote wrapper's /bin/sh and the commands are BusyBox
    /// applets. It logs in as the fleet's user with the fleet's key (Dropbear only reads ~/.ssh/authorized_keys, so
    /// the key is added there) and is reachable as <see cref="Alias"/> through <see cref="SshConfigPath"/>.
    /// Needs root (mount namespaces, and a login user other than ourselves); without it the constructor throws.
    /// </summary>
    public sealed class DropbearHost : IDisposable
    {
        private readonly Process _process;
        private readonly string _authorizedKeys;
        private readonly string _keyLine;

        public string Alias { get; }
        public int Port { get; }
        public string SshConfigPath { get; }
        public string LogPath { get; }

        public DropbearHost(SshFleet fleet, string alias)
        {
            if (!fleet.IsRoot)
                throw new InvalidOperationException("the Dropbear host needs root (unshare -m, mount --bind, a login user of its own): run these tests as root, as CI does. They are not skipped on purpose.");
            var dropbear = DebianPackages.Ensure("/usr/sbin/dropbear", "dropbear-bin");
            DebianPackages.Ensure("/usr/bin/dropbearkey", "dropbear-bin");
            var busybox = DebianPackages.Ensure("/usr/bin/busybox", "busybox");
            Alias = alias;
            var dir = Path.Combine(fleet.WorkDir, "dropbear-" + alias);
            Directory.CreateDirectory(dir);
            var hostKey = Path.Combine(dir, "host_ed25519");
            Run("dropbearkey", "-t", "ed25519", "-f", hostKey);
            var publicKey = Run("dropbearkey", "-y", "-f", hostKey).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            var hostLine = Array.Find(publicKey, l => l.StartsWith("ssh-ed25519 ", StringComparison.Ordinal))!.Split(' ');
            (_authorizedKeys, _keyLine) = AuthorizeFleetKey(fleet);

            LogPath = Path.Combine(dir, "dropbear.log");
            var shell = "/bin/sh"; // the fleet user's login shell; busybox inside the namespace
            var script = string.Join(" && ",
                $"mount --bind {busybox} {shell}",
                $"mount --bind {busybox} /usr/bin/sleep",
                $"mount --bind {busybox} /usr/bin/setsid",
                "exec \"$@\"");
            Exception? last = null;
            Process? started = null;
            for (var attempt = 0; attempt < 5; attempt++)
            {
                Port = FreePort();
                var psi = new ProcessStartInfo("unshare") { UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
                foreach (var a in new[] { "-m", "--propagation", "private", "/bin/sh", "-c", script, "dropbear",
                    dropbear, "-F", "-E", "-s", "-m", "-r", hostKey, "-p", $"127.0.0.1:{Port}", "-P", Path.Combine(dir, "pid") })
                    psi.ArgumentList.Add(a);
                var process = Process.Start(psi)!;
                process.StandardInput.Close();
                var log = new StreamWriter(LogPath, append: true) { AutoFlush = true };
                process.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (log) log.WriteLine(e.Data); };
                process.BeginErrorReadLine();
                process.OutputDataReceived += (_, __) => { };
                process.BeginOutputReadLine();
                var deadline = Stopwatch.StartNew();
                while (!process.HasExited && deadline.Elapsed < TimeSpan.FromSeconds(20) && !SshdServer.TryReadBanner(Port)) Thread.Sleep(20);
                if (!process.HasExited && SshdServer.TryReadBanner(Port))
                {
                    started = process;
                    break;
                }
                last = new InvalidOperationException($"dropbear did not start on port {Port}: {File.ReadAllText(LogPath)}");
                try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                process.WaitForExit();
            }
            _process = started ?? throw new InvalidOperationException("dropbear did not start", last);

            var knownHosts = Path.Combine(dir, "known_hosts");
            File.WriteAllText(knownHosts, $"{alias} {hostLine[0]} {hostLine[1]}\n");
            SshConfigPath = Path.Combine(dir, "ssh_config");
            File.WriteAllText(SshConfigPath,
                $"Host {alias}\n  HostName 127.0.0.1\n  Port {Port}\n  HostKeyAlias {alias}\n  UserKnownHostsFile {knownHosts}\n" +
                $"Host *\nInclude {fleet.SshConfigPath}\n");
        }

        /// <summary>Processes of the fleet user running under this server (the sessions' shells and commands).</summary>
        public int ServerPid => _process.Id;

        /// <summary>Adds the fleet's key to the login user's authorized_keys (Dropbear reads no other file); Dispose takes it out again.</summary>
        private static (string File, string Line) AuthorizeFleetKey(SshFleet fleet)
        {
            var home = Run("getent", "passwd", fleet.User).Split(':')[5];
            var sshDir = Path.Combine(home, ".ssh");
            Directory.CreateDirectory(sshDir);
            var keys = Path.Combine(sshDir, "authorized_keys");
            var line = Keys.PublicKey(fleet.IdentityFile) + " herd-test-dropbear";
            var existing = File.Exists(keys) ? File.ReadAllText(keys) : "";
            if (!existing.Contains(line, StringComparison.Ordinal)) File.AppendAllText(keys, line + "\n");
            // Dropbear, like sshd's StrictModes, refuses keys in a folder others could write.
            Run("chown", "-R", fleet.User + ":", sshDir);
            Run("chmod", "700", sshDir);
            Run("chmod", "600", keys);
            return (keys, line);
        }

        private static string Run(string file, params string[] args)
        {
            var r = ProcessRunner.Run(file, args, TimeSpan.FromSeconds(30));
            if (r.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(" ", args)} failed: {r.StdErr}");
            return r.StdOut;
        }

        private static int FreePort()
        {
            var l = new TcpListener(IPAddress.Loopback, 0);
            l.Start();
            var port = ((IPEndPoint)l.LocalEndpoint).Port;
            l.Stop();
            return port;
        }

        public void Dispose()
        {
            if (!_process.HasExited) ProcessTable.KillTree(_process.Id);
            _process.WaitForExit();
            _process.Dispose();
            if (File.Exists(_authorizedKeys))
                File.WriteAllLines(_authorizedKeys, File.ReadAllLines(_authorizedKeys).Where(l => l != _keyLine));
        }
    }
}
