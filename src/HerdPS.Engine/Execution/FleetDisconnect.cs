using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using HerdPS.Inventory;
using HerdPS.Transport;

namespace HerdPS.Execution
{
    /// <summary>What closing pooled connections did, one per host named (or one per socket when closing all).</summary>
    public sealed class FleetDisconnectResult
    {
        public FleetDisconnectResult(string target, bool closed, string? message)
        {
            Target = target;
            Closed = closed;
            Message = message;
        }

        /// <summary>The host name, or the control socket's path when every pooled connection was closed.</summary>
        public string Target { get; }
        /// <summary>True when a live master connection was there and was told to exit.</summary>
        public bool Closed { get; }
        public string? Message { get; }
    }

    /// <summary>
    /// Closes pooled (ControlMaster) connections: all of them, or those of the selected hosts. A host's master
    /// is found the way ssh finds it (<c>ssh -O exit</c> with the same ControlPath, user, port and address the
    /// runner uses), because the socket name is a hash only ssh computes.
    /// </summary>
    public static class FleetDisconnect
    {
        /// <summary>True when the request names hosts (any selection criteria); false means "close every pooled connection".</summary>
        public static bool NamesHosts(FleetCommandRequest request) => !request.Selection.IsEmpty;

        public static async Task<IReadOnlyList<FleetDisconnectResult>> RunAsync(FleetCommandRequest request, CancellationToken cancellationToken)
        {
            var ssh = request.ToSshOptions();
            if (!OpenSshTransport.MultiplexEnabled(ssh)) return Array.Empty<FleetDisconnectResult>();
            var pool = ConnectionPool.For(ssh.ControlDirectory);
            if (!NamesHosts(request))
            {
                var sockets = pool.Sockets();
                var closed = await pool.DisconnectAllAsync(ssh.SshPath, cancellationToken).ConfigureAwait(false);
                // DisconnectAll removes stale sockets; whatever is gone now was closed or stale.
                return sockets.Select(s => new FleetDisconnectResult(s, true, null)).Take(closed)
                    .Concat(sockets.Skip(closed).Select(s => new FleetDisconnectResult(s, false, "stale socket removed"))).ToArray();
            }
            var target = FleetEngine.Resolve(request);
            var results = new List<FleetDisconnectResult>();
            foreach (var host in target.Hosts.Where(h => h.Transport == HostTransportKind.Ssh))
            {
                cancellationToken.ThrowIfCancellationRequested();
                var args = ExitArguments(ssh, pool, host);
                using var run = await ChildProcess.RunAsync(ssh.SshPath, args, new ChildProcessSettings { Timeout = TimeSpan.FromSeconds(10), OutputLimit = 64 * 1024 }, cancellationToken).ConfigureAwait(false);
                var closed = run.ExitCode == 0;
                results.Add(new FleetDisconnectResult(host.Name, closed, closed ? null : "no pooled connection"));
            }
            return results;
        }

        /// <summary>ssh -O exit for one host, with the options that decide its ControlPath hash (%C: local host, address, port, user).</summary>
        public static IReadOnlyList<string> ExitArguments(SshOptions ssh, ConnectionPool pool, FleetHost host)
        {
            var args = new List<string>();
            if (!string.IsNullOrEmpty(ssh.ConfigFile)) { args.Add("-F"); args.Add(ssh.ConfigFile!); }
            args.Add("-o"); args.Add("BatchMode=yes");
            args.Add("-o"); args.Add("ControlPath=" + pool.ControlPathTemplate);
            if (!string.IsNullOrEmpty(host.Address)) { args.Add("-o"); args.Add("HostName=" + host.Address); }
            var user = ssh.User ?? host.User;
            if (!string.IsNullOrEmpty(user)) { args.Add("-l"); args.Add(user!); }
            if (host.Port is int port) { args.Add("-p"); args.Add(port.ToString(CultureInfo.InvariantCulture)); }
            args.Add("-O"); args.Add("exit");
            args.Add("--");
            args.Add(host.Name);
            return args;
        }
    }
}
