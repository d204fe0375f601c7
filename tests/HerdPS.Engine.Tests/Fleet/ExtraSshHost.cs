using System;
using System.IO;

namespace HerdPS.Tests.Fleet
{
    /// <summary>
    /// A separate sshd (own port, host key, pid and log) started by <see cref="SshFleet.StartExtraHost"/>,
    /// reachable as <see cref="Alias"/> through <see cref="SshConfigPath"/>. That config defines the alias
    /// first (with its own known_hosts) and then includes the fleet's ssh_config, so it reaches every fleet
    /// host too. The fleet's own ssh_config is never rewritten while tests read it.
    /// </summary>
    public sealed class ExtraSshHost : IDisposable
    {
        private readonly SshdServer _sshd;
        private readonly Action<ExtraSshHost> _onDispose;
        private int _disposed;

        internal ExtraSshHost(string alias, SshdServer sshd, string sshConfigPath, string knownHostsPath, Action<ExtraSshHost> onDispose)
        {
            Alias = alias;
            _sshd = sshd;
            SshConfigPath = sshConfigPath;
            KnownHostsPath = knownHostsPath;
            _onDispose = onDispose;
        }

        public string Alias { get; }
        public int Port => _sshd.Port;
        /// <summary>The listening sshd's pid; sessions are its children.</summary>
        public int Pid => _sshd.Pid;
        public string SshConfigPath { get; }
        public string KnownHostsPath { get; }
        public string SshdLogPath => _sshd.LogPath;
        public bool IsRunning => !_sshd.HasExited;
        /// <summary>For an isolated host: the folder mounted over <see cref="SshFleet.IsolatedMountPoint"/> inside its namespace.</summary>
        public string? FilesDirectory { get; internal set; }

        public int CountAcceptedLogins() => SshFleet.CountAcceptedLogins(SshdLogPath);

        /// <summary>
        /// SIGKILLs the sshd and every session process under it (the remote commands included), as if the host
        /// lost power: a command in flight loses its connection. Returns once the sshd has exited.
        /// </summary>
        public void Kill() => _sshd.Kill();

        /// <summary>Starts the killed sshd again on the same port with the same key and namespace setup: the host is back.</summary>
        public void Restart() => _sshd.Restart();

        public void Dispose()
        {
            if (System.Threading.Interlocked.Exchange(ref _disposed, 1) != 0)
            {
                return;
            }
            _sshd.Dispose();
            _onDispose(this);
        }
    }
}
