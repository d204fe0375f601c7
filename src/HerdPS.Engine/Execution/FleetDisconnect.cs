using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using HerdPS.Inventory;
using HerdPS.Transport;
using HerdPS.Transport.OpenSsh;

namespace HerdPS.Execution
{

    /// <summary>
    /// Closes pooled (ControlMaster) connections: all of them, or those of the selected hosts (whose sockets
    /// are named exactly as the transport names them).
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
                var all = await pool.DisconnectAllAsync(ssh.SshPath, cancellationToken).ConfigureAwait(false);
                return all.Select(s => new FleetDisconnectResult(s.Key, s.Value, s.Value ? null : "stale socket removed")).ToArray();
            }
            var target = FleetEngine.Resolve(request);
            var transport = new OpenSshTransport(ssh);
            var results = new List<FleetDisconnectResult>();
            foreach (var host in target.Hosts.Where(h => h.Transport == HostTransportKind.Ssh))
            {
                // A host may have masters from runs under each host key policy: close them all.
                var closed = false;
                foreach (HostKeyPolicy policy in Enum.GetValues(typeof(HostKeyPolicy)))
                    closed |= await pool.CloseAsync(transport.ControlPathFor(host, policy)!, ssh.SshPath, cancellationToken).ConfigureAwait(false);
                results.Add(new FleetDisconnectResult(host.Name, closed, closed ? null : "no pooled connection"));
            }
            return results;
        }
    }
}
