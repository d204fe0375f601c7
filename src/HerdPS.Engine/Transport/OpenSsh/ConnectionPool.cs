using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace HerdPS.Transport.OpenSsh
{
    /// <summary>
    /// The process-wide pool of SSH connections. The connections themselves are OpenSSH ControlMaster processes
    /// whose sockets live in one private folder, so they are shared by every runner on every thread and runspace
    /// of this process and by later herd processes of the same user. ssh does the multiplexing and replaces a
    /// stale socket by itself (it unlinks a socket nobody answers on and becomes the new master); this class
    /// chooses the folder, builds the options, and closes masters on request.
    /// </summary>
    public sealed class ConnectionPool
    {
        private static readonly object SharedGate = new object();
        private static readonly Dictionary<string, ConnectionPool> ByDirectory = new Dictionary<string, ConnectionPool>(StringComparer.Ordinal);

        private ConnectionPool(string directory, bool isShared)
        {
            Directory = directory;
            IsShared = isShared;
        }

        /// <summary>The folder holding the control sockets.</summary>
        public string Directory { get; }

        /// <summary>
        /// True when the folder is the configured or usual one, which later processes of this user find again; false
        /// for a fresh folder this process had to make (its connections then last for this process only).
        /// </summary>
        public bool IsShared { get; }

        /// <summary>
        /// The pool for a socket folder (null = $HERD_CONTROL_DIR, else the per-user default); one instance per
        /// folder per process. A folder given here or in $HERD_CONTROL_DIR that is not private (a symbolic link,
        /// someone else's, or open to group or others) is refused with a <see cref="PrivateDirectoryException"/>:
        /// whoever can write there can plant a socket that poses as a master and sees every command. A default
        /// folder that is not private is left alone and a fresh private one used instead, with a
        /// <see cref="PrivateDirectory.Notice"/>.
        /// </summary>
        /// <exception cref="PrivateDirectoryException">The configured folder is not private.</exception>
        public static ConnectionPool For(string? controlDirectory)
        {
            var configured = !string.IsNullOrEmpty(controlDirectory) ? controlDirectory : Environment.GetEnvironmentVariable(DirectoryVariable);
            var candidate = !string.IsNullOrEmpty(configured) ? configured! : DefaultDirectory(Environment.GetEnvironmentVariable);
            var key = candidate ?? "";
            lock (SharedGate)
            {
                if (!ByDirectory.TryGetValue(key, out var pool))
                {
                    string dir;
                    var shared = true;
                    if (!string.IsNullOrEmpty(configured))
                        dir = PrivateDirectory.EnsureConfigured(configured!, string.IsNullOrEmpty(controlDirectory) ? "$" + DirectoryVariable : "the control socket folder setting",
                            "ssh control sockets (the pooled connections)");
                    else if (candidate == null)
                    {
                        shared = false;
                        dir = PrivateDirectory.IsWindows
                            ? System.IO.Directory.CreateDirectory(FreshPrefix() + Guid.NewGuid().ToString("N").Substring(0, 8)).FullName
                            : UnixFiles.CreateUniqueDirectory(FreshPrefix());
                    }
                    else
                    {
                        dir = PrivateDirectory.EnsureDefault(candidate, FreshPrefix(), out var notice);
                        if (notice != null)
                        {
                            shared = false;
                            PrivateDirectory.Tell("the folder for pooled ssh connections " + notice + " Pooled connections then last for this process only.");
                        }
                    }
                    pool = new ConnectionPool(dir, shared);
                    ByDirectory[key] = pool;
                }
                return pool;
            }
        }

        /// <summary>The environment variable that names the control socket folder.</summary>
        public const string DirectoryVariable = "HERD_CONTROL_DIR";

        /// <summary>
        /// Where the sockets live by default. A Unix socket path is limited to ~104 bytes and ssh adds a
        /// temporary suffix while it creates one, so the folder must be short; and it must be a folder nobody else
        /// can create or write, or another user could plant a socket that impersonates a master. Candidates, in
        /// order: $HERD_CONTROL_DIR, $XDG_RUNTIME_DIR/herd (private by design), ~/.ssh/herd, ~/.herd-cm.
        /// If none is short enough, null: <see cref="For"/> then makes a fresh private temporary folder (pooling then
        /// lasts for this process only).
        /// </summary>
        public static string? DefaultDirectory(Func<string, string?> getEnv)
        {
            var explicitDir = getEnv(DirectoryVariable);
            if (!string.IsNullOrEmpty(explicitDir)) return explicitDir!;
            var candidates = new List<string>();
            var runtime = getEnv("XDG_RUNTIME_DIR");
            if (!string.IsNullOrEmpty(runtime) && System.IO.Directory.Exists(runtime)) candidates.Add(Path.Combine(runtime!, "herd"));
            var home = getEnv("HOME");
            if (string.IsNullOrEmpty(home)) home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            if (!string.IsNullOrEmpty(home))
            {
                candidates.Add(Path.Combine(home!, ".ssh", "herd"));
                candidates.Add(Path.Combine(home!, ".herd-cm"));
            }
            foreach (var c in candidates)
                if (c.Length <= MaxDirectoryLength) return c;
            return null;
        }

        /// <summary>
        /// Where a fresh folder goes when no usual one can be used: the temporary folder, or /tmp if that one's path
        /// is too long for sockets. The folder is made with mkdtemp (a name nobody could have taken first, mode 0700).
        /// </summary>
        private static string FreshPrefix()
        {
            var prefix = Path.Combine(Path.GetTempPath(), "herd-");
            return prefix.Length + 6 <= MaxDirectoryLength || PrivateDirectory.IsWindows ? prefix : "/tmp/herd-";
        }

        /// <summary>40 hex chars of the socket name, a slash, and ssh's 17-char temporary suffix must fit in 104 bytes.</summary>
        internal const int MaxDirectoryLength = 104 - 40 - 1 - 17 - 1;

        /// <summary>
        /// The control socket for one destination as we name it. Not ssh's <c>%C</c>: that hashes the resolved
        /// address, port and user, so two inventory hosts that resolve to the same endpoint (aliases, HostKeyAlias
        /// entries, hosts with different ssh_config settings) would share one master, and the second host's
        /// host-key alias and per-host settings would be bypassed silently. Hashing the destination as given
        /// (name, overrides, config file) gives each inventory host its own master, in a name of fixed length.
        /// The host key policy and extra options are part of the key too: a master opened without host key
        /// checking must never carry a later checked run.
        /// '%' is ssh's token character, so a literal one in the folder is doubled.
        /// </summary>
        public string ControlPathFor(string destination, string? user, int? port, string? address, string? identityFile, string? configFile, string securityContext, string extraOptions)
        {
            var key = string.Join("\n", destination, user ?? "", port?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "", address ?? "",
                identityFile ?? "", configFile ?? "", securityContext, extraOptions);
            using var sha = System.Security.Cryptography.SHA256.Create();
            var hash = OutputCapture.ToHex(sha.ComputeHash(System.Text.Encoding.UTF8.GetBytes(key))).Substring(0, 40);
            return Directory.Replace("%", "%%") + Path.DirectorySeparatorChar + hash;
        }

        /// <summary>The sockets present now (each one a master, live or stale).</summary>
        public IReadOnlyList<string> Sockets()
        {
            if (!System.IO.Directory.Exists(Directory)) return Array.Empty<string>();
            return System.IO.Directory.GetFiles(Directory).Where(f => !Path.GetFileName(f).Contains(".")).OrderBy(f => f, StringComparer.Ordinal).ToList();
        }

        /// <summary>
        /// Closes every master of this pool (<see cref="CloseAsync"/> on each socket). A socket nobody answers on is
        /// stale and is removed. Returns each socket with whether a live master was closed.
        /// </summary>
        public async Task<IReadOnlyList<KeyValuePair<string, bool>>> DisconnectAllAsync(string sshPath, CancellationToken cancellationToken)
        {
            var results = new List<KeyValuePair<string, bool>>();
            foreach (var socket in Sockets())
                results.Add(new KeyValuePair<string, bool>(socket, await CloseAsync(socket, sshPath, cancellationToken).ConfigureAwait(false)));
            return results;
        }

        /// <summary>
        /// Closes the master behind one socket; false when there was none or it was stale (then it is removed).
        /// <c>ssh -O stop</c>, not <c>-O exit</c>: the master removes its socket at once, so nothing new joins it,
        /// but the sessions it carries (another herd run, a cmdlet in another runspace) run to their end, and the
        /// master exits when the last one has. <c>-O exit</c> would cut them off, and their hosts would be
        /// reported Unreachable ("may have run in part").
        /// </summary>
        public async Task<bool> CloseAsync(string socket, string sshPath, CancellationToken cancellationToken)
        {
            if (!File.Exists(socket)) return false;
            var args = new[] { "-O", "stop", "-o", "BatchMode=yes", "-S", socket, "herd-pool" };
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            limit.CancelAfter(TimeSpan.FromSeconds(10));
            using var outcome = await ChildProcess.RunAsync(sshPath, args, new ChildProcessSettings { OnStop = ChildStop.Kill, OutputLimit = 64 * 1024 }, limit.Token).ConfigureAwait(false);
            if (outcome.ExitCode == 0) return true;
            TryDelete(socket);
            return false;
        }

        private static void TryDelete(string path)
        {
            try { File.Delete(path); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
    }
}
