using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;

namespace HerdPS.Tests.Fleet
{
    /// <summary>
    /// A real fleet of ssh hosts on loopback for integration tests, owned for one test run:
    /// one sshd standing for <see cref="Hosts"/> (h001..h200, told apart by HostKeyAlias), fault hosts that fail
    /// in each way a real fleet does, and killable extra sshds on demand. Everything lives under
    /// <see cref="WorkDir"/> and a generated ssh_config (<see cref="SshConfigPath"/>, used with <c>ssh -F</c>).
    /// See tests/fleet/README.md.
    /// </summary>
    public sealed class SshFleet : IDisposable
    {
        public const int DefaultHostCount = 200;
        /// <summary>Dedicated login user when the tests run as root: root's heavy profile costs ~0.5 s a command.</summary>
        public const string RootModeUser = "herdtest";

        private static readonly TimeSpan HelperTimeout = TimeSpan.FromSeconds(30);

        private readonly SshdServer? _sshd;
        private readonly Socket? _refusedPort;
        private readonly TcpListener? _blackhole;
        private readonly ConcurrentBag<TcpClient> _blackholeClients = new ConcurrentBag<TcpClient>();
        private readonly List<ExtraSshHost> _extraHosts = new List<ExtraSshHost>();
        private readonly object _gate = new object();
        private int _disposed;

        public bool IsRoot { get; }
        public string User { get; }
        /// <summary>Private (0700) directory holding keys, configs, known_hosts and sshd logs; deleted on Dispose.</summary>
        public string WorkDir { get; }
        /// <summary>Short private (0700) directory under /tmp for ControlMaster sockets (unix socket paths max out at 108 bytes).</summary>
        public string ControlDirectory { get; }
        public string SshConfigPath { get; }
        /// <summary>
        /// The same fleet without the SetEnv lines (SSH.NET can't send environment requests, so a host with SetEnv
        /// goes to OpenSSH under auto and is refused by an explicit sshnet). Tests of the sshnet transport use this.
        /// </summary>
        public string PlainSshConfigPath { get; }
        public string KnownHostsPath { get; }
        public string AuthorizedKeysPath { get; }
        public string IdentityFile { get; }
        /// <summary>A client key that is not in authorized_keys.</summary>
        public string UnauthorizedIdentityFile { get; }
        /// <summary>Port of the main sshd that serves <see cref="Hosts"/> and the key/auth fault hosts.</summary>
        public int Port => _sshd!.Port;
        public int SshdPid => _sshd!.Pid;
        public string SshdLogPath => _sshd!.LogPath;
        public IReadOnlyList<string> Hosts { get; }

        /// <summary>127.0.0.1 on a port that is bound but not listening: connection refused.</summary>
        public string RefusedHost => "refused";
        /// <summary>A TCP listener that accepts and never writes: connect/banner timeout.</summary>
        public string BlackholeHost => "blackhole";
        /// <summary>The main sshd under an alias that is not in known_hosts.</summary>
        public string UnknownKeyHost => "unknown-key";
        /// <summary>The main sshd under an alias that known_hosts pairs with a different key.</summary>
        public string MismatchKeyHost => "mismatch-key";
        /// <summary>The main sshd, logging in with <see cref="UnauthorizedIdentityFile"/> only.</summary>
        public string AuthFailHost => "auth-fail";
        /// <summary>HostName under .invalid (RFC 6761): name resolution fails.</summary>
        public string UnresolvableHost => "unresolvable";
        public IReadOnlyList<string> FaultHosts => new[] { RefusedHost, BlackholeHost, UnknownKeyHost, MismatchKeyHost, AuthFailHost, UnresolvableHost };

        public int RefusedPort { get; }
        public int BlackholePort { get; }
        public int BlackholeConnectionCount => _blackholeClients.Count;

        /// <summary>The xunit fixture constructor: a fleet of <see cref="DefaultHostCount"/> hosts.</summary>
        public SshFleet() : this(DefaultHostCount)
        {
        }

        /// <summary>A fleet of a chosen size, for callers outside the xunit fixture (benchmarks).</summary>
        public static SshFleet Start(int hostCount) => new SshFleet(hostCount);

        private SshFleet(int hostCount)
        {
            if (hostCount < 1)
            {
                throw new ArgumentOutOfRangeException(nameof(hostCount));
            }
            IsRoot = geteuid() == 0;
            WorkDir = Directory.CreateTempSubdirectory("herdps-fleet-").FullName; // created 0700
            ControlDirectory = CreateControlDirectory();
            // A test run that dies without disposing fixtures would otherwise leave sshds running.
            AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
            try
            {
                User = IsRoot ? EnsureRootModeUser() : Environment.UserName;
                SshConfigPath = Path.Combine(WorkDir, "ssh_config");
                PlainSshConfigPath = Path.Combine(WorkDir, "ssh_config_plain");
                KnownHostsPath = Path.Combine(WorkDir, "known_hosts");
                AuthorizedKeysPath = Path.Combine(WorkDir, "authorized_keys");
                IdentityFile = Path.Combine(WorkDir, "id_client");
                UnauthorizedIdentityFile = Path.Combine(WorkDir, "id_unauthorized");
                var mismatchKey = Path.Combine(WorkDir, "mismatch_host_ed25519");

                Parallel.Invoke(
                    () => Keys.Generate(IdentityFile),
                    () => Keys.Generate(UnauthorizedIdentityFile),
                    () => Keys.Generate(mismatchKey));
                File.WriteAllText(AuthorizedKeysPath, Keys.PublicKey(IdentityFile) + "\n");
                if (IsRoot)
                {
                    // sshd reads AuthorizedKeysFile as the login user, so that user must be able to reach it.
                    Chown(User, WorkDir, AuthorizedKeysPath);
                    Directory.CreateDirectory("/run/sshd"); // privilege-separation chroot, required when root
                }

                _sshd = SshdServer.Start(WorkDir, "main", AuthorizedKeysPath, User);

                _refusedPort = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                // Bound but never listening: the kernel answers SYNs with RST, and nobody else can take the port.
                _refusedPort.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                RefusedPort = ((IPEndPoint)_refusedPort.LocalEndPoint!).Port;

                _blackhole = new TcpListener(IPAddress.Loopback, 0);
                _blackhole.Start(1000);
                BlackholePort = ((IPEndPoint)_blackhole.LocalEndpoint).Port;
                _ = AcceptAndHoldAsync(_blackhole);

                var width = Math.Max(3, hostCount.ToString().Length);
                Hosts = Enumerable.Range(1, hostCount).Select(i => "h" + i.ToString().PadLeft(width, '0')).ToList();

                var hostKey = _sshd.HostPublicKey;
                var known = new StringBuilder();
                foreach (var alias in Hosts.Append(AuthFailHost))
                {
                    known.Append(alias).Append(' ').Append(hostKey).Append('\n');
                }
                known.Append(MismatchKeyHost).Append(' ').Append(Keys.PublicKey(mismatchKey)).Append('\n');
                File.WriteAllText(KnownHostsPath, known.ToString());
                File.WriteAllText(SshConfigPath, ClientConfig(setEnv: true));
                File.WriteAllText(PlainSshConfigPath, ClientConfig(setEnv: false));
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        private string ClientConfig(bool setEnv)
        {
            var c = new StringBuilder();
            c.Append("# Generated by SshFleet for one test run; see tests/fleet/README.md.\n");
            void HostBlock(string alias, string hostName, int port)
            {
                // SetEnv lets the remote side tell which alias it was reached as, so tests can prove that no
                // result is attributed to the wrong host even though one sshd serves them all.
                c.Append($"Host {alias}\n  HostName {hostName}\n  Port {port}\n  HostKeyAlias {alias}\n");
                if (setEnv) c.Append($"  SetEnv HERD_ALIAS={alias}\n");
            }
            foreach (var alias in Hosts)
            {
                HostBlock(alias, "127.0.0.1", Port);
            }
            HostBlock(RefusedHost, "127.0.0.1", RefusedPort);
            HostBlock(BlackholeHost, "127.0.0.1", BlackholePort);
            HostBlock(UnknownKeyHost, "127.0.0.1", Port);
            HostBlock(MismatchKeyHost, "127.0.0.1", Port);
            HostBlock(AuthFailHost, "127.0.0.1", Port);
            c.Append($"  IdentityFile {UnauthorizedIdentityFile}\n");
            HostBlock(UnresolvableHost, "no-such-host.invalid", Port);
            // IdentityFile accumulates across matching blocks instead of first-wins, so the authorized key
            // must be kept away from auth-fail explicitly.
            c.Append($"Host * !{AuthFailHost}\n  IdentityFile {IdentityFile}\n");
            c.Append("Host *\n");
            c.Append($"  User {User}\n");
            c.Append("  IdentitiesOnly yes\n");
            c.Append($"  UserKnownHostsFile {KnownHostsPath}\n");
            c.Append("  GlobalKnownHostsFile /dev/null\n");
            c.Append("  LogLevel ERROR\n");
            return c.ToString();
        }

        /// <summary>Number of "Accepted publickey" lines in the main sshd's log: one per fresh (non-multiplexed) login.</summary>
        public int CountAcceptedLogins() => CountAcceptedLogins(SshdLogPath);

        internal static int CountAcceptedLogins(string logPath)
        {
            // sshd keeps appending while we read.
            using var fs = new FileStream(logPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(fs);
            var count = 0;
            string? line;
            while ((line = reader.ReadLine()) != null)
            {
                if (line.Contains("Accepted publickey", StringComparison.Ordinal))
                {
                    count++;
                }
            }
            return count;
        }

        /// <summary>
        /// Starts a separate sshd (own port, own host key, own pid) reachable as <paramref name="alias"/> through
        /// the returned host's <see cref="ExtraSshHost.SshConfigPath"/>, which also includes every fleet host.
        /// The fleet kills it on Dispose if the test does not.
        /// </summary>
        public ExtraSshHost StartExtraHost(string alias) => StartExtraHostCore(alias, null);

        /// <summary>
        /// An extra host whose sshd takes <paramref name="sshdOverrides"/> (given its host key's path) before the usual
        /// settings: password or keyboard-interactive logins, trusted user CAs, a host certificate. Its known_hosts
        /// holds <paramref name="knownHosts"/> (given the host's "type base64" key) instead of the plain entry.
        /// </summary>
        public ExtraSshHost StartExtraHost(string alias, Func<string, IEnumerable<string>> sshdOverrides, Func<string, string>? knownHosts = null) =>
            StartExtraHostCore(alias, null, sshdOverrides, knownHosts);

        /// <summary>The directory every isolated host sees its own files at (see <see cref="StartIsolatedHost"/>).</summary>
        public const string IsolatedMountPoint = "/srv/herd-drift";

        /// <summary>
        /// Starts a separate sshd in a mount namespace of its own (<c>unshare -m</c>) where a fresh per-host folder
        /// is bind-mounted over <see cref="IsolatedMountPoint"/>: every isolated host has the same path holding
        /// different files, as hosts of a real fleet do. <paramref name="populate"/> fills the folder (its path is
        /// passed) before sshd starts; the folder stays reachable from the test as <see cref="ExtraSshHost.FilesDirectory"/>.
        /// Needs root (mount namespaces and bind mounts): without it this throws, so drift tests fail loudly rather
        /// than pass without proving anything. <paramref name="namespaceSetup"/>, when given, is a shell command run
        /// inside the namespace after that bind mount and before sshd starts (e.g. another bind mount, so the host
        /// reports what a test needs it to).
        /// </summary>
        public ExtraSshHost StartIsolatedHost(string alias, Action<string> populate, string? namespaceSetup = null)
        {
            if (!IsRoot)
            {
                throw new InvalidOperationException(
                    "isolated drift hosts need root (unshare -m and mount --bind): run these tests as root, as CI does. They are not skipped on purpose.");
            }
            var files = Path.Combine(WorkDir, "files-" + alias);
            Directory.CreateDirectory(files);
            Directory.CreateDirectory(IsolatedMountPoint);
            populate(files);
            // The namespace gets private propagation, so the bind mount never shows outside it; sshd is exec'd, so
            // the launcher's pid is sshd's and killing it ends the namespace with it.
            var setup = namespaceSetup == null ? "" : " && " + namespaceSetup;
            var launcher = new[] { "unshare", "-m", "--propagation", "private", "/bin/sh", "-c", "mount --bind \"$0\" " + IsolatedMountPoint + setup + " && exec \"$@\"", files };
            var host = StartExtraHostCore(alias, launcher);
            host.FilesDirectory = files;
            return host;
        }

        /// <summary>An ssh_config naming every given extra host first, then including the fleet's config.</summary>
        public string WriteCombinedConfig(string name, IEnumerable<ExtraSshHost> hosts)
        {
            var c = new StringBuilder();
            foreach (var h in hosts)
            {
                c.Append($"Host {h.Alias}\n  HostName 127.0.0.1\n  Port {h.Port}\n  HostKeyAlias {h.Alias}\n  UserKnownHostsFile {h.KnownHostsPath}\n");
            }
            c.Append($"Host *\nInclude {SshConfigPath}\n");
            var path = Path.Combine(WorkDir, name + "_ssh_config");
            File.WriteAllText(path, c.ToString());
            return path;
        }

        /// <summary>Gives a path to the login user (chown), e.g. a folder push tests write into.</summary>
        public void ChownToLoginUser(params string[] paths) => Chown(User, paths);

        private ExtraSshHost StartExtraHostCore(string alias, IReadOnlyList<string>? launcher, Func<string, IEnumerable<string>>? sshdOverrides = null, Func<string, string>? knownHosts = null)
        {
            if (!Regex.IsMatch(alias, "^[A-Za-z0-9][A-Za-z0-9._-]*$"))
            {
                throw new ArgumentException($"'{alias}' is not a plain host alias", nameof(alias));
            }
            lock (_gate)
            {
                if (Hosts.Contains(alias) || FaultHosts.Contains(alias) || _extraHosts.Any(h => h.Alias == alias))
                {
                    throw new ArgumentException($"alias '{alias}' is already in use", nameof(alias));
                }
            }
            var name = "extra-" + alias;
            var sshd = SshdServer.Start(WorkDir, name, AuthorizedKeysPath, User, launcher, sshdOverrides);
            try
            {
                var knownHostsPath = Path.Combine(WorkDir, name + "_known_hosts");
                File.WriteAllText(knownHostsPath, knownHosts != null ? knownHosts(sshd.HostPublicKey) : $"{alias} {sshd.HostPublicKey}\n");
                var config = Path.Combine(WorkDir, name + "_ssh_config");
                // ssh takes the first value it obtains, so the alias's own block (and its own known_hosts)
                // must come before the main config. "Host *" makes the Include unconditional.
                File.WriteAllText(config,
                    $"Host {alias}\n  HostName 127.0.0.1\n  Port {sshd.Port}\n  HostKeyAlias {alias}\n  UserKnownHostsFile {knownHostsPath}\n" +
                    $"Host *\nInclude {(sshdOverrides != null ? PlainSshConfigPath : SshConfigPath)}\n");
                var host = new ExtraSshHost(alias, sshd, config, knownHostsPath, Forget);
                lock (_gate)
                {
                    _extraHosts.Add(host);
                }
                return host;
            }
            catch
            {
                sshd.Dispose();
                throw;
            }
        }

        private void Forget(ExtraSshHost host)
        {
            lock (_gate)
            {
                _extraHosts.Remove(host);
            }
        }

        /// <summary>
        /// ssh options that multiplex over a master whose socket lives in <see cref="ControlDirectory"/>.
        /// Beware: %C hashes HostName, port and user, and every fleet alias is 127.0.0.1 on one port, so with
        /// %C all fleet hosts share one master. Pass "%n" (the alias as typed) for one master per alias.
        /// </summary>
        public IReadOnlyList<string> MultiplexOptions(int persistSeconds = 60, string socketName = "%C") => new[]
        {
            "-o", "ControlMaster=auto",
            "-o", $"ControlPath={ControlDirectory}/{socketName}",
            "-o", $"ControlPersist={persistSeconds}",
        };

        /// <summary>
        /// A plain <c>ssh -F config -o BatchMode=yes [options] alias command</c> with all three stdio streams
        /// redirected, for the fleet's own tests. Tests of the product use the product's transport instead.
        /// </summary>
        public ProcessStartInfo SshStartInfo(string alias, string? remoteCommand, IEnumerable<string>? options = null, string? configPath = null)
        {
            var args = new List<string> { "-F", configPath ?? SshConfigPath, "-o", "BatchMode=yes" };
            args.AddRange(options ?? Array.Empty<string>());
            args.Add(alias);
            if (remoteCommand != null)
            {
                args.Add(remoteCommand);
            }
            return ProcessRunner.StartInfo("ssh", args);
        }

        /// <summary>
        /// <c>ssh -O operation</c> ("check", "exit", "stop") against the master that <paramref name="options"/>
        /// (usually <see cref="MultiplexOptions"/>) point at for <paramref name="alias"/>.
        /// </summary>
        public Task<ProcessOutcome> ControlMasterAsync(string alias, string operation, IEnumerable<string> options, string? configPath = null) =>
            ProcessRunner.RunAsync(SshStartInfo(alias, null, options.Concat(new[] { "-O", operation }), configPath), TimeSpan.FromSeconds(30));

        /// <summary>Runs <see cref="SshStartInfo"/> to exit with stdin at EOF; throws TimeoutException after <paramref name="timeout"/> (default 60 s).</summary>
        public Task<ProcessOutcome> RunSshAsync(string alias, string remoteCommand, IEnumerable<string>? options = null, string? configPath = null, TimeSpan? timeout = null) =>
            ProcessRunner.RunAsync(SshStartInfo(alias, remoteCommand, options, configPath), timeout ?? TimeSpan.FromSeconds(60));

        private async Task AcceptAndHoldAsync(TcpListener listener)
        {
            try
            {
                while (true)
                {
                    // Held, never read or written, until Dispose: the client waits for a banner that never comes.
                    _blackholeClients.Add(await listener.AcceptTcpClientAsync().ConfigureAwait(false));
                }
            }
            catch (Exception e) when (e is SocketException || e is ObjectDisposedException || e is InvalidOperationException)
            {
                // listener stopped by Dispose
            }
        }

        private static string CreateControlDirectory()
        {
            // Not Path.GetTempPath(): TMPDIR may be long, and ControlPath plus ssh's 17-byte temp suffix
            // must fit in 108 bytes.
            if (!OperatingSystem.IsLinux())
            {
                throw new PlatformNotSupportedException("the ssh test fleet needs Linux (sshd, /proc)");
            }
            var root = Directory.Exists("/tmp") ? "/tmp" : Path.GetTempPath();
            while (true)
            {
                var path = Path.Combine(root, "hc-" + Path.GetRandomFileName().Replace(".", "").Substring(0, 8));
                if (Directory.Exists(path))
                {
                    continue;
                }
                var dir = Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                return dir.FullName;
            }
        }

        /// <summary>
        /// Creates <see cref="RootModeUser"/> with /bin/sh if missing and unlocks it ('*' = no password, but not
        /// locked, so sshd lets key logins through). Idempotent and safe when several test runs race: useradd's
        /// "already exists" (9) counts as success and a busy passwd lock (10) is retried.
        /// </summary>
        private static string EnsureRootModeUser()
        {
            var sw = Stopwatch.StartNew();
            while (true)
            {
                string failure;
                if (!PasswdEntryExists(RootModeUser))
                {
                    var r = ProcessRunner.Run("useradd", new[] { "-m", "-s", "/bin/sh", RootModeUser }, HelperTimeout);
                    failure = r.ExitCode is 0 or 9 ? "" : $"useradd exited {r.ExitCode}: {r.StdErr}";
                }
                else if (ShadowPassword(RootModeUser) != "*")
                {
                    var r = ProcessRunner.Run("usermod", new[] { "-p", "*", RootModeUser }, HelperTimeout);
                    failure = r.ExitCode == 0 ? "" : $"usermod exited {r.ExitCode}: {r.StdErr}";
                }
                else
                {
                    return RootModeUser;
                }
                if (failure.Length > 0)
                {
                    if (sw.Elapsed > HelperTimeout)
                    {
                        throw new InvalidOperationException($"could not prepare user {RootModeUser}: {failure}");
                    }
                    Thread.Sleep(100); // another run holds the passwd lock
                }
            }
        }

        private static bool PasswdEntryExists(string user) =>
            File.ReadLines("/etc/passwd").Any(l => l.StartsWith(user + ":", StringComparison.Ordinal));

        private static string? ShadowPassword(string user) =>
            File.ReadLines("/etc/shadow").Where(l => l.StartsWith(user + ":", StringComparison.Ordinal))
                .Select(l => l.Split(':')[1]).FirstOrDefault();

        private static void Chown(string user, params string[] paths)
        {
            var r = ProcessRunner.Run("chown", new[] { user }.Concat(paths), HelperTimeout);
            if (r.ExitCode != 0)
            {
                throw new InvalidOperationException($"chown failed: {r.StdErr}");
            }
        }

        private void OnProcessExit(object? sender, EventArgs e) => Dispose();

        /// <summary>
        /// Leaves nothing behind, even after a test failed midway: closes ControlMaster masters in
        /// <see cref="ControlDirectory"/>, kills every sshd (with its sessions) and the blackhole, kills any
        /// leftover process whose command line names the work or control directory, and deletes both.
        /// </summary>
        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
            {
                return;
            }
            AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
            Attempt(CloseMasters);
            List<ExtraSshHost> extras;
            lock (_gate)
            {
                extras = _extraHosts.ToList();
            }
            foreach (var h in extras)
            {
                Attempt(h.Dispose);
            }
            Attempt(() => _sshd?.Dispose());
            Attempt(() => _blackhole?.Stop());
            foreach (var c in _blackholeClients)
            {
                Attempt(c.Dispose);
            }
            Attempt(() => _refusedPort?.Dispose());
            // After the sshds are gone (their session children with them): stray clients, e.g. an ssh a
            // failed test started with -F <WorkDir>/ssh_config, or a master that ignored -O exit.
            Attempt(KillLeftovers);
            Attempt(() => Directory.Delete(ControlDirectory, recursive: true));
            Attempt(() => Directory.Delete(WorkDir, recursive: true));
        }

        private void CloseMasters()
        {
            if (!Directory.Exists(ControlDirectory))
            {
                return;
            }
            var exits = Directory.GetFileSystemEntries(ControlDirectory).Select(socket =>
                ProcessRunner.RunAsync(ProcessRunner.StartInfo("ssh", new[] { "-F", "/dev/null", "-O", "exit", "-S", socket, "x" }), TimeSpan.FromSeconds(10)));
            try
            {
                Task.WhenAll(exits).GetAwaiter().GetResult();
            }
            catch (TimeoutException)
            {
                // KillLeftovers deals with a master that does not answer
            }
        }

        private void KillLeftovers()
        {
            foreach (var p in ProcessTable.Find(p => !p.IsZombie && p.Pid != Environment.ProcessId &&
                         (p.CommandLine.Contains(ControlDirectory, StringComparison.Ordinal) ||
                          p.CommandLine.Contains(WorkDir, StringComparison.Ordinal))))
            {
                ProcessTable.KillTree(p.Pid);
            }
        }

        private static void Attempt(Action step)
        {
            try
            {
                step();
            }
            catch (Exception)
            {
                // Cleanup continues past one failed step: the remaining steps still free their resources.
            }
        }

        [DllImport("libc")]
        private static extern uint geteuid();
    }
}
