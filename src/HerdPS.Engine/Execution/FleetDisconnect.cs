using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using HerdPS.Inventory;
using HerdPS.Transport;
using HerdPS.Transport.OpenSsh;
using HerdPS.Transport.SshNet;

namespace HerdPS.Execution
{

    /// <summary>
    /// Closes pooled connections: OpenSSH's ControlMaster sockets and this process's SSH.NET connections; all of
    /// them, or those of the selected hosts. A connection carrying a command closes when the command ends.
    /// </summary>
    public static class FleetDisconnect
    {
        /// <summary>True when the request names hosts (any selection criteria); false means "close every pooled connection".</summary>
        public static bool NamesHosts(FleetCommandRequest request) => !request.Selection.IsEmpty;

        public static async Task<IReadOnlyList<FleetDisconnectResult>> RunAsync(FleetCommandRequest request, CancellationToken cancellationToken)
        {
            var ssh = request.ToSshOptions();
            var multiplex = OpenSshTransport.MultiplexEnabled(ssh);
            var pool = multiplex ? ConnectionPool.For(ssh.ControlDirectory) : null;
            if (!NamesHosts(request))
            {
                var results = new List<FleetDisconnectResult>();
                foreach (var key in SshNetPool.Shared.Keys())
                    results.Add(new FleetDisconnectResult("sshnet:" + key.Split('\u0001')[0], true, null));
                SshNetPool.Shared.DisconnectAll();
                SshConfigResolver.Shared.Clear();
                // The shared pool process of herd runs, if one serves this folder: it closes its connections (commands
                // on them finish first) and exits. Disconnecting never starts one.
                var folder = ConnectionPool.For(ssh.ControlDirectory);
                if (folder.IsShared)
                {
                    var closed = await SharedPoolTransport.QuitAsync(folder.Directory, cancellationToken).ConfigureAwait(false);
                    for (var i = 0; i < closed; i++) results.Add(new FleetDisconnectResult("sshnet pool process", true, null));
                }
                if (pool != null)
                {
                    var all = await pool.DisconnectAllAsync(ssh.SshPath, cancellationToken).ConfigureAwait(false);
                    results.AddRange(all.Select(s => new FleetDisconnectResult(s.Key, s.Value, s.Value ? null : "stale socket removed")));
                }
                return results;
            }
            var target = FleetEngine.Resolve(request);
            var transport = new OpenSshTransport(ssh);
            var sshNet = new SshNetTransport(ssh);
            var selected = new List<FleetDisconnectResult>();
            foreach (var host in target.Hosts.Where(h => h.Transport != HostTransportKind.Local))
            {
                // A host may have masters from runs under each host key policy: close them all.
                var closed = await sshNet.DisconnectAsync(host, cancellationToken).ConfigureAwait(false);
                if (pool != null)
                    foreach (HostKeyPolicy policy in Enum.GetValues(typeof(HostKeyPolicy)))
                        closed |= await pool.CloseAsync(transport.ControlPathFor(host, policy)!, ssh.SshPath, cancellationToken).ConfigureAwait(false);
                selected.Add(new FleetDisconnectResult(host.Name, closed, closed ? null : "no pooled connection"));
            }
            return selected;
        }
    }
}
