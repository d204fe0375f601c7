using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using HerdPS.Inventory;

namespace HerdPS.Transport.SshNet
{
    /// <summary>
    /// One host's effective SSH settings, as <c>ssh host</c> would use them: read from <c>ssh -G</c> when an
    /// OpenSSH client is present (so ssh_config Host/Match blocks, Include and defaults apply exactly), else built
    /// from the inventory and parameters alone. <see cref="Unsupported"/> lists what SSH.NET can't honour for this host.
    /// </summary>
    public sealed class SshHostConfig
    {
        public string Alias { get; set; } = "";
        public string HostName { get; set; } = "";
        public int Port { get; set; } = 22;
        public string User { get; set; } = "";
        public List<string> IdentityFiles { get; } = new List<string>();
        public List<string> CertificateFiles { get; } = new List<string>();
        public List<string> UserKnownHostsFiles { get; } = new List<string>();
        public List<string> GlobalKnownHostsFiles { get; } = new List<string>();
        /// <summary>yes, no, accept-new, ask (ask without a terminal is yes: we never prompt).</summary>
        public string StrictHostKeyChecking { get; set; } = "ask";
        public string? HostKeyAlias { get; set; }
        public TimeSpan? ConnectTimeout { get; set; }
        public TimeSpan ServerAliveInterval { get; set; }
        public int ServerAliveCountMax { get; set; } = 3;
        public bool IdentitiesOnly { get; set; }
        /// <summary>Whether ssh would offer keys from an agent for this host (IdentityAgent not "none" and an agent socket named).</summary>
        public string? IdentityAgent { get; set; }
        /// <summary>Settings SSH.NET cannot honour, each as "Option value" (ProxyJump, ProxyCommand, SetEnv, SendEnv, ...).</summary>
        public List<string> Unsupported { get; } = new List<string>();
        /// <summary>True when the settings came from <c>ssh -G</c>.</summary>
        public bool FromOpenSsh { get; set; }

        /// <summary>The name looked up in known_hosts: HostKeyAlias, else the host name, with [ ]:port when the port is not 22.</summary>
        public string KnownHostsName
        {
            get
            {
                var name = HostKeyAlias ?? HostName;
                return Port == 22 || HostKeyAlias != null ? name : "[" + name + "]:" + Port.ToString(CultureInfo.InvariantCulture);
            }
        }

        /// <summary>
        /// Reads the output of <c>ssh -G</c>: one "keyword value" per line, keywords lower case. Options whose effect
        /// SSH.NET can't reproduce are listed in <see cref="Unsupported"/> rather than silently dropped.
        /// </summary>
        /// <param name="defaults">What <c>ssh -G</c> says with no configuration at all (<see cref="SshConfigResolver"/>
        /// asks once): every other option whose value differs from it and that SSH.NET doesn't follow (Ciphers,
        /// KexAlgorithms, MACs, HostKeyAlgorithms, AddressFamily, BindAddress, RevokedHostKeys, ...) is listed too, so
        /// a setting nobody thought of is never silently ignored. Null: only the options named below are checked.</param>
        public static SshHostConfig Parse(string alias, string sshG, IReadOnlyDictionary<string, string>? defaults = null)
        {
            var c = new SshHostConfig { Alias = alias, FromOpenSsh = true };
            if (defaults != null)
                foreach (var option in ReadOptions(sshG))
                    if (!Followed.Contains(option.Key) && (!defaults.TryGetValue(option.Key, out var usual) || usual != option.Value))
                        c.Unsupported.Add(option.Key + " " + option.Value.Replace("\n", " "));
            foreach (var (key, value) in OptionLines(sshG))
            {
                switch (key)
                {
                    case "hostname": c.HostName = value; break;
                    case "port": c.Port = int.Parse(value, CultureInfo.InvariantCulture); break;
                    case "user": c.User = value; break;
                    case "identityfile": c.IdentityFiles.Add(ExpandHome(value)); break;
                    case "certificatefile": c.CertificateFiles.Add(ExpandHome(value)); break;
                    case "userknownhostsfile": c.UserKnownHostsFiles.AddRange(SplitFiles(value)); break;
                    case "globalknownhostsfile": c.GlobalKnownHostsFiles.AddRange(SplitFiles(value)); break;
                    case "stricthostkeychecking": c.StrictHostKeyChecking = Normalize(value); break;
                    case "hostkeyalias": c.HostKeyAlias = value; break;
                    case "connecttimeout": if (value != "none" && int.TryParse(value, out var ct)) c.ConnectTimeout = TimeSpan.FromSeconds(ct); break;
                    case "serveraliveinterval": if (int.TryParse(value, out var sa)) c.ServerAliveInterval = TimeSpan.FromSeconds(sa); break;
                    case "serveralivecountmax": if (int.TryParse(value, out var sm)) c.ServerAliveCountMax = sm; break;
                    case "identitiesonly": c.IdentitiesOnly = value == "yes" || value == "true"; break;
                    case "identityagent": c.IdentityAgent = value; break;
                    case "proxyjump": if (value != "none") c.Unsupported.Add("ProxyJump " + value); break;
                    case "proxycommand": if (value != "none") c.Unsupported.Add("ProxyCommand " + value); break;
                    case "setenv": c.Unsupported.Add("SetEnv " + value); break;
                    case "sendenv": c.Unsupported.Add("SendEnv " + value); break;
                    case "remotecommand": if (value != "none") c.Unsupported.Add("RemoteCommand " + value); break;
                    case "localforward": case "remoteforward": case "dynamicforward": c.Unsupported.Add(key + " " + value); break;
                    case "forwardagent": if (value != "no") c.Unsupported.Add("ForwardAgent " + value); break;
                    case "pkcs11provider": if (value != "none") c.Unsupported.Add("PKCS11Provider " + value); break;
                    case "securitykeyprovider": break;
                    case "gssapiauthentication": if (value == "yes") c.Unsupported.Add("GSSAPIAuthentication yes"); break;
                    case "canonicalizehostname": if (value == "yes" || value == "always") c.Unsupported.Add("CanonicalizeHostname " + value); break;
                }
            }
            if (c.HostName.Length == 0) c.HostName = alias;
            return c;
        }

        /// <summary>
        /// Options SSH.NET follows (above), or that don't change what a non-interactive command over SSH.NET does: our
        /// own settings for OpenSSH's client (BatchMode, ControlMaster, LogLevel), interactive and X11 features, the
        /// agent and forwarding options checked above, canonicalization's details (CanonicalizeHostname is checked).
        /// Every other option must have its default value for SSH.NET to serve the host.
        /// </summary>
        private static readonly HashSet<string> Followed = new HashSet<string>(StringComparer.Ordinal)
        {
            "host", "hostname", "port", "user", "identityfile", "certificatefile", "userknownhostsfile", "globalknownhostsfile",
            "stricthostkeychecking", "hostkeyalias", "connecttimeout", "serveraliveinterval", "serveralivecountmax", "identitiesonly",
            "identityagent", "proxyjump", "proxycommand", "setenv", "sendenv", "remotecommand", "localforward", "remoteforward",
            "dynamicforward", "forwardagent", "pkcs11provider", "securitykeyprovider", "gssapiauthentication", "canonicalizehostname",
            "batchmode", "loglevel", "logverbose", "syslogfacility", "controlmaster", "controlpath", "controlpersist", "requesttty",
            "sessiontype", "stdinnull", "forkafterauthentication", "escapechar", "enableescapecommandline", "visualhostkey",
            "fingerprinthash", "forwardx11", "forwardx11trusted", "forwardx11timeout", "xauthlocation", "clearallforwardings",
            "exitonforwardfailure", "gatewayports", "permitremoteopen", "streamlocalbindunlink", "streamlocalbindmask", "tunnel",
            "tunneldevice", "addkeystoagent", "hashknownhosts", "updatehostkeys", "numberofpasswordprompts", "passwordauthentication",
            "kbdinteractiveauthentication", "connectionattempts", "tcpkeepalive", "compression", "ipqos", "canonicalizefallbacklocal",
            "canonicalizemaxdots", "canonicaldomains", "canonicalizepermittedcnames", "checkhostip", "enablesshkeysign",
            "obscurekeystroketiming", "proxyusefdpass",
        };

        /// <summary>The options of <c>ssh -G</c> output, keyword (lower case) to value; repeated ones joined by newlines in order.</summary>
        internal static Dictionary<string, string> ReadOptions(string sshG)
        {
            var options = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (key, value) in OptionLines(sshG))
                options[key] = options.TryGetValue(key, out var before) ? before + "\n" + value : value;
            return options;
        }

        /// <summary>Each "keyword value" line of <c>ssh -G</c> output, keyword in lower case, in order.</summary>
        private static IEnumerable<(string Key, string Value)> OptionLines(string sshG)
        {
            foreach (var raw in sshG.Split('\n'))
            {
                var line = raw.TrimEnd('\r');
                var space = line.IndexOf(' ');
                if (space <= 0) continue;
                yield return (line.Substring(0, space).ToLowerInvariant(), line.Substring(space + 1).Trim());
            }
        }

        private static string Normalize(string value) => value switch
        {
            "true" => "yes",
            "false" => "no",
            _ => value,
        };

        private static IEnumerable<string> SplitFiles(string value) =>
            value.Split(new[] { ' ' }, StringSplitOptions.RemoveEmptyEntries).Select(ExpandHome);

        internal static string ExpandHome(string path)
        {
            if (path == "~" || path.StartsWith("~/", StringComparison.Ordinal))
            {
                var home = Environment.GetEnvironmentVariable("HOME");
                if (string.IsNullOrEmpty(home)) home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
                return home + path.Substring(1);
            }
            return path;
        }

        /// <summary>
        /// The settings without an OpenSSH client: the inventory's address, port, user and key, the default key files
        /// and known_hosts of the user, strict checking.
        /// </summary>
        public static SshHostConfig FromInventory(FleetHost host, SshOptions options)
        {
            var c = new SshHostConfig
            {
                Alias = host.Name,
                HostName = host.Address ?? host.Name,
                Port = host.Port ?? 22,
                User = options.User ?? host.User ?? Environment.UserName,
            };
            var identity = options.IdentityFile ?? host.IdentityFile;
            if (!string.IsNullOrEmpty(identity)) c.IdentityFiles.Add(ExpandHome(identity!));
            else foreach (var name in new[] { "id_rsa", "id_ecdsa", "id_ed25519" }) c.IdentityFiles.Add(ExpandHome("~/.ssh/" + name));
            c.UserKnownHostsFiles.Add(ExpandHome("~/.ssh/known_hosts"));
            c.UserKnownHostsFiles.Add(ExpandHome("~/.ssh/known_hosts2"));
            if (!PrivateDirectory.IsWindows)
            {
                c.GlobalKnownHostsFiles.Add("/etc/ssh/ssh_known_hosts");
                c.GlobalKnownHostsFiles.Add("/etc/ssh/ssh_known_hosts2");
            }
            return c;
        }
    }

    /// <summary>
    /// Resolves hosts' settings through <c>ssh -G</c> (one short process per host, about 6 ms of CPU here), and keeps
    /// the answers for the life of the process keyed by everything that goes into them, including the config
    /// files' modification times, so a warm session asks ssh once per host and an edited ssh_config is read again.
    /// </summary>
    public sealed class SshConfigResolver
    {
        private readonly ConcurrentDictionary<string, SshHostConfig> _cache = new ConcurrentDictionary<string, SshHostConfig>(StringComparer.Ordinal);
        private static readonly SemaphoreSlim Concurrency = new SemaphoreSlim(Math.Max(2, Environment.ProcessorCount * 2));
        private static bool? _sshPresent;

        /// <summary>The process-wide resolver.</summary>
        public static SshConfigResolver Shared { get; } = new SshConfigResolver();

        /// <summary>Whether an OpenSSH client can be run (the answer is kept).</summary>
        public static bool OpenSshPresent(string sshPath)
        {
            if (_sshPresent is bool known) return known;
            bool present;
            if (Path.IsPathRooted(sshPath)) present = File.Exists(sshPath);
            else
            {
                var path = Environment.GetEnvironmentVariable("PATH") ?? "";
                present = path.Split(Path.PathSeparator).Any(d => d.Length > 0 &&
                    (File.Exists(Path.Combine(d, sshPath)) || PrivateDirectory.IsWindows && File.Exists(Path.Combine(d, sshPath + ".exe"))));
            }
            _sshPresent = present;
            return present;
        }

        /// <summary>
        /// The host's settings. With an OpenSSH client: <c>ssh -G [-F file] [-l user] [-p port] [-i key] [-o HostName=addr] -- alias</c>;
        /// without one (or with <paramref name="useOpenSsh"/> false), <see cref="SshHostConfig.FromInventory"/>.
        /// Throws <see cref="SshConfigException"/> when ssh rejects the configuration.
        /// </summary>
        public async Task<SshHostConfig> ResolveAsync(FleetHost host, SshOptions options, CancellationToken cancellationToken)
        {
            if (!OpenSshPresent(options.SshPath)) return SshHostConfig.FromInventory(host, options);
            var args = new List<string>();
            if (!string.IsNullOrEmpty(options.ConfigFile)) { args.Add("-F"); args.Add(options.ConfigFile!); }
            foreach (var extra in options.ExtraOptions) { args.Add("-o"); args.Add(extra); }
            if (!string.IsNullOrEmpty(host.Address)) { args.Add("-o"); args.Add("HostName=" + host.Address); }
            var user = options.User ?? host.User;
            if (!string.IsNullOrEmpty(user)) { args.Add("-l"); args.Add(user!); }
            if (host.Port is int port) { args.Add("-p"); args.Add(port.ToString(CultureInfo.InvariantCulture)); }
            var identity = options.IdentityFile ?? host.IdentityFile;
            if (!string.IsNullOrEmpty(identity)) { args.Add("-i"); args.Add(identity!); }
            args.Add("-T");
            args.Add("-G");
            args.Add("--");
            args.Add(host.Name);
            var key = string.Join("\u0001", args) + "\u0001" + ConfigStamp(options.ConfigFile);
            if (_cache.TryGetValue(key, out var cached)) return cached;
            await Concurrency.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (_cache.TryGetValue(key, out cached)) return cached;
                using var run = await RunSshAsync(options.SshPath, args, cancellationToken).ConfigureAwait(false);
                if (run.StartError != null) return SshHostConfig.FromInventory(host, options);
                if (run.ExitCode != 0)
                    throw new SshConfigException($"ssh could not read the configuration for {host.Name}: {FirstLine(run.StdErr.Text())}");
                var config = SshHostConfig.Parse(host.Name, run.StdOut.Text(), await DefaultsAsync(options.SshPath, cancellationToken).ConfigureAwait(false));
                // Identity given explicitly: ssh -i adds it first; with -i ssh still lists the defaults after it, which
                // it would only try if the first one fails, as we do.
                _cache[key] = config;
                return config;
            }
            finally
            {
                Concurrency.Release();
            }
        }

        private static Task<IReadOnlyDictionary<string, string>?>? _defaults;

        /// <summary>
        /// What this ssh says with no configuration file (<c>-F /dev/null</c>) for a name no config could match: the
        /// defaults a host's options are compared with. Asked once per process; null if ssh can't say (then only the
        /// options SshHostConfig names are checked).
        /// </summary>
        private static Task<IReadOnlyDictionary<string, string>?> DefaultsAsync(string sshPath, CancellationToken cancellationToken)
        {
            var task = _defaults;
            if (task != null && !task.IsCanceled) return task;
            task = Task.Run(async () =>
            {
                var args = new[] { "-F", PrivateDirectory.IsWindows ? "NUL" : "/dev/null", "-T", "-G", "--", "herd-defaults.invalid" };
                using var run = await RunSshAsync(sshPath, args, cancellationToken).ConfigureAwait(false);
                if (run.StartError != null || run.ExitCode != 0) return (IReadOnlyDictionary<string, string>?)null;
                return SshHostConfig.ReadOptions(run.StdOut.Text());
            }, cancellationToken);
            return _defaults = task;
        }

        /// <summary>Runs <c>ssh</c> to read its configuration (<c>-G</c>); a stop is an OperationCanceledException.</summary>
        private static async Task<ChildProcessOutcome> RunSshAsync(string sshPath, IReadOnlyList<string> args, CancellationToken cancellationToken)
        {
            var run = await ChildProcess.RunAsync(sshPath, args, new ChildProcessSettings { OutputLimit = 256 * 1024, OnStop = ChildStop.Kill }, cancellationToken).ConfigureAwait(false);
            if (!run.StoppedBeforeStart && !run.Stopped) return run;
            run.Dispose();
            throw new OperationCanceledException(cancellationToken);
        }

        private static string FirstLine(string text)
        {
            var lines = text.Split(new[] { '\n', '\r' }, StringSplitOptions.RemoveEmptyEntries);
            return lines.Length == 0 ? "(no message)" : lines[0].Trim();
        }

        /// <summary>Modification times of the config files ssh reads, so an edit is seen by the next run.</summary>
        private static string ConfigStamp(string? configFile)
        {
            var files = configFile != null ? new[] { configFile } : new[] { SshHostConfig.ExpandHome("~/.ssh/config"), "/etc/ssh/ssh_config" };
            return string.Join(",", files.Select(f =>
            {
                try { return File.Exists(f) ? File.GetLastWriteTimeUtc(f).Ticks.ToString(CultureInfo.InvariantCulture) : "-"; }
                catch (IOException) { return "?"; }
                catch (UnauthorizedAccessException) { return "?"; }
            }));
        }

        /// <summary>Forgets every resolved host (Disconnect-Fleet, herd disconnect).</summary>
        public void Clear() => _cache.Clear();
    }

    /// <summary>ssh rejected its configuration for a host (a bad ssh_config line, an unknown option).</summary>
    public sealed class SshConfigException : Exception
    {
        public SshConfigException(string message) : base(message) { }
    }
}
