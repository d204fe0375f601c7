using System;
using System.Collections.Generic;
using System.Linq;
using System.Diagnostics;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;

namespace HerdPS.Tests.Fleet
{
    /// <summary>
    /// One real sshd in the foreground (-D) on 127.0.0.1, with its own host key, config, log and pid file,
    /// all under <c>dir</c>. Shared by the fleet's main server and by each <see cref="ExtraSshHost"/>.
    /// </summary>
    internal sealed class SshdServer : IDisposable
    {
        public const string SshdPath = "/usr/sbin/sshd";
        private static readonly TimeSpan StartDeadline = TimeSpan.FromSeconds(20);

        private readonly Process _process;
        private readonly IReadOnlyList<string>? _launcher;

        public int Port { get; }
        public int Pid => _process.Id;
        public string HostKeyPath { get; }
        /// <summary>"ssh-ed25519 AAAA..." without comment, as known_hosts wants it after the host name.</summary>
        public string HostPublicKey { get; }
        public string ConfigPath { get; }
        public string LogPath { get; }
        public bool HasExited => _process.HasExited;

        private SshdServer(Process process, int port, string hostKeyPath, string hostPublicKey, string configPath, string logPath, IReadOnlyList<string>? launcher)
        {
            _process = process;
            _launcher = launcher;
            Port = port;
            HostKeyPath = hostKeyPath;
            HostPublicKey = hostPublicKey;
            ConfigPath = configPath;
            LogPath = logPath;
        }

        /// <summary>Generates a host key and starts sshd; returns once it has sent its banner.</summary>
        /// <param name="launcher">A program (and its arguments) that ends by exec-ing the sshd command line it is given
        /// after them, e.g. unshare for a private mount namespace; the process stays sshd's pid.</param>
        /// <param name="overrides">Given the host key's path, sshd_config lines that go before the defaults (sshd takes
        /// the first value of a keyword): other logins, a host certificate, more users.</param>
        public static SshdServer Start(string dir, string name, string authorizedKeysFile, string user, IReadOnlyList<string>? launcher = null,
            Func<string, IEnumerable<string>>? overrides = null)
        {
            if (!File.Exists(SshdPath))
            {
                throw new InvalidOperationException(
                    $"{SshdPath} is missing: run `apt-get update && apt-get install -y openssh-server` (see /work/shared/testing.md).");
            }
            var hostKey = Path.Combine(dir, $"{name}_host_ed25519");
            Keys.Generate(hostKey);
            var hostPub = Keys.PublicKey(hostKey);
            var first = overrides?.Invoke(hostKey).ToList() ?? new List<string>();

            // A free port can be taken by someone else between our probe and sshd's bind; sshd then exits
            // at once ("Cannot bind any address"), so a few fresh attempts settle it.
            Exception? last = null;
            for (var attempt = 0; attempt < 5; attempt++)
            {
                var port = FreePort();
                var config = Path.Combine(dir, $"{name}_sshd_config");
                var log = Path.Combine(dir, $"{name}_sshd.log");
                File.WriteAllText(config, string.Concat(first.Select(l => l + "\n")) + Config(dir, name, port, hostKey, authorizedKeysFile, user));
                var process = Launch(config, log, launcher);
                try
                {
                    WaitForBanner(process, port, log);
                    return new SshdServer(process, port, hostKey, hostPub, config, log, launcher);
                }
                catch (Exception e)
                {
                    last = e;
                    try { process.Kill(); } catch (InvalidOperationException) { }
                    process.WaitForExit();
                    process.Dispose();
                }
            }
            throw new InvalidOperationException($"sshd '{name}' did not start", last);
        }

        private static Process Launch(string config, string log, IReadOnlyList<string>? launcher)
        {
            var psi = new ProcessStartInfo(launcher?[0] ?? SshdPath)
            {
                UseShellExecute = false,
                // sshd must not hold the test runner's stdio: its children would inherit them.
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            if (launcher != null)
            {
                foreach (var a in launcher.Skip(1)) psi.ArgumentList.Add(a);
                psi.ArgumentList.Add(SshdPath);
            }
            foreach (var a in new[] { "-D", "-f", config, "-E", log })
            {
                psi.ArgumentList.Add(a);
            }
            var process = Process.Start(psi)!;
            process.StandardInput.Close();
            return process;
        }

        /// <summary>
        /// Kills this sshd (if it still runs) and starts a new one as the same host: the same config, port, host key
        /// and launcher (an isolated host gets a fresh namespace set up the same way), the log appended to. What a
        /// host that rebooted looks like from outside: it went away and came back under the key known_hosts holds.
        /// Returns the new server once it sends its banner (the port is retried while the old socket lets go).
        /// </summary>
        public SshdServer Restart()
        {
            Kill();
            var sw = Stopwatch.StartNew();
            while (true)
            {
                var process = Launch(ConfigPath, LogPath, _launcher);
                try
                {
                    WaitForBanner(process, Port, LogPath);
                    return new SshdServer(process, Port, HostKeyPath, HostPublicKey, ConfigPath, LogPath, _launcher);
                }
                catch (Exception) when (sw.Elapsed < StartDeadline)
                {
                    try { process.Kill(); } catch (InvalidOperationException) { }
                    process.WaitForExit();
                    process.Dispose();
                    Thread.Sleep(100);
                }
            }
        }

        private static string Config(string dir, string name, int port, string hostKey, string authorizedKeysFile, string user) =>
            string.Join("\n",
                $"ListenAddress 127.0.0.1:{port}",
                $"HostKey {hostKey}",
                $"PidFile {Path.Combine(dir, name + "_sshd.pid")}",
                $"AuthorizedKeysFile {authorizedKeysFile}",
                $"AllowUsers {user}",
                "UsePAM no",
                // Our files live in a temp dir that sshd's ownership checks would reject.
                "StrictModes no",
                "PubkeyAuthentication yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                // Defaults (10:30:100, 10) drop connections on purpose when 200 hosts arrive at once.
                "MaxStartups 1000:30:2000",
                "MaxSessions 100",
                "AcceptEnv HERD_ALIAS",
                // VERBOSE logs one "Accepted publickey" line per login: tests count them to prove reuse.
                "LogLevel VERBOSE",
                "PrintMotd no",
                "PrintLastLog no",
                "UseDNS no",
                "X11Forwarding no",
                "Subsystem sftp internal-sftp",
                "");

        private static int FreePort()
        {
            var l = new TcpListener(IPAddress.Loopback, 0);
            l.Start();
            var port = ((IPEndPoint)l.LocalEndpoint).Port;
            l.Stop();
            return port;
        }

        /// <summary>Ready means: our sshd is alive and a TCP client on its port reads an "SSH-" banner.</summary>
        private static void WaitForBanner(Process process, int port, string log)
        {
            var sw = Stopwatch.StartNew();
            while (true)
            {
                if (process.HasExited)
                {
                    var text = (File.Exists(log) ? File.ReadAllText(log) : "") + process.StandardError.ReadToEnd();
                    throw new InvalidOperationException($"sshd exited with {process.ExitCode}: {text}");
                }
                if (sw.Elapsed > StartDeadline)
                {
                    throw new TimeoutException($"sshd on port {port} sent no banner within {StartDeadline}");
                }
                if (TryReadBanner(port) && !process.HasExited)
                {
                    return;
                }
                Thread.Sleep(20);
            }
        }

        internal static bool TryReadBanner(int port)
        {
            try
            {
                using var client = new TcpClient();
                client.Connect(IPAddress.Loopback, port);
                var stream = client.GetStream();
                stream.ReadTimeout = 2000;
                var line = new StringBuilder();
                int b;
                while ((b = stream.ReadByte()) >= 0 && b != '\n' && line.Length < 255)
                {
                    line.Append((char)b);
                }
                // Answer with a banner of our own so sshd logs a plain preauth close, not a protocol error.
                var hello = Encoding.ASCII.GetBytes("SSH-2.0-HerdPSFleetProbe\r\n");
                stream.Write(hello, 0, hello.Length);
                return line.ToString().StartsWith("SSH-", StringComparison.Ordinal);
            }
            catch (Exception e) when (e is SocketException || e is IOException)
            {
                return false;
            }
        }

        /// <summary>SIGKILLs sshd and every session process under it, like a host that lost power.</summary>
        public void Kill()
        {
            if (!_process.HasExited)
            {
                ProcessTable.KillTree(_process.Id);
            }
            _process.WaitForExit();
        }

        public void Dispose()
        {
            Kill();
            _process.Dispose();
        }
    }

    /// <summary>ssh-keygen wrappers: every key the fleet uses is generated fresh per run.</summary>
    internal static class Keys
    {
        public static void Generate(string path)
        {
            var r = ProcessRunner.Run("ssh-keygen", new[] { "-q", "-t", "ed25519", "-N", "", "-C", "herdps-fleet", "-f", path }, TimeSpan.FromSeconds(30));
            if (r.ExitCode != 0)
            {
                throw new InvalidOperationException($"ssh-keygen failed for {path}: {r.StdErr}");
            }
        }

        /// <summary>A key of another type or size, optionally encrypted with a passphrase.</summary>
        public static void Generate(string path, string type, string passphrase = "", int? bits = null)
        {
            var args = new List<string> { "-q", "-t", type, "-N", passphrase, "-C", "herdps-fleet", "-f", path };
            if (bits is int b) { args.Add("-b"); args.Add(b.ToString()); }
            var r = ProcessRunner.Run("ssh-keygen", args, TimeSpan.FromSeconds(60));
            if (r.ExitCode != 0) throw new InvalidOperationException($"ssh-keygen failed for {path}: {r.StdErr}");
        }

        /// <summary>
        /// Signs <paramref name="keyPath"/>.pub with the CA key into <paramref name="keyPath"/>-cert.pub, where ssh
        /// (and herd) look for it: a user certificate for <paramref name="principal"/>, or with <paramref name="host"/>
        /// a host certificate naming it.
        /// </summary>
        public static void Sign(string caPath, string keyPath, string principal, bool host = false, string validity = "-5m:+1h")
        {
            var args = new List<string> { "-q", "-s", caPath, "-I", "herd-test-" + principal, "-n", principal, "-V", validity };
            if (host) args.Add("-h");
            args.Add(keyPath + ".pub");
            var r = ProcessRunner.Run("ssh-keygen", args, TimeSpan.FromSeconds(30));
            if (r.ExitCode != 0) throw new InvalidOperationException($"ssh-keygen -s failed for {keyPath}: {r.StdErr}");
        }

        /// <summary>The "type base64" part of the .pub file, without its comment.</summary>
        public static string PublicKey(string privateKeyPath)
        {
            var parts = File.ReadAllText(privateKeyPath + ".pub").Trim().Split(' ');
            return parts[0] + " " + parts[1];
        }
    }
}
