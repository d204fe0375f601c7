using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using HerdPS.Inventory;
using HerdPS.Selection;
using HerdPS.Transport;
using HerdPS.Transport.OpenSsh;
using HerdPS.Transport.SshNet;

namespace HerdPS.Execution
{
    /// <summary>The inventory a run used and the hosts it selected.</summary>
    public sealed class FleetTarget
    {
        public FleetTarget(FleetInventory inventory, IReadOnlyList<FleetHost> hosts, string? notice)
        {
            Inventory = inventory;
            Hosts = hosts;
            Notice = notice;
        }

        public FleetInventory Inventory { get; }
        public IReadOnlyList<FleetHost> Hosts { get; }
        /// <summary>Something the user should be told (e.g. "no inventory found; using the local machine").</summary>
        public string? Notice { get; }
    }

    /// <summary>
    /// The one path from a front end's request to a running fleet command: find and load the inventory, select
    /// hosts, apply defaults, and start the runner on the shared connection pool. The CLI and every cmdlet go
    /// through here, so they can't drift apart.
    /// </summary>
    public static class FleetEngine
    {
        /// <summary>Loads the inventory (or the embedded default) and selects hosts. Throws InventoryException / SelectionException.</summary>
        /// <remarks>
        /// The request's own values are checked first (<see cref="FleetCommandRequest.Validate"/>), so a front end
        /// that forgot to can't pass a bad user to ssh. Without an inventory file, the notice says the local machine
        /// is used only when it is: hosts named explicitly are what runs then.
        /// </remarks>
        public static FleetTarget Resolve(FleetCommandRequest request, Func<string, string?>? getEnv = null)
        {
            if (request == null) throw new ArgumentNullException(nameof(request));
            request.Validate();
            getEnv ??= Environment.GetEnvironmentVariable;
            var inventory = InventoryLoader.LoadOrDefault(request.InventoryPath, getEnv, out var notice);
            var hosts = HostSelector.Select(inventory, request.Selection);
            if (inventory.IsEmbeddedDefault && notice != null)
            {
                bool localMachineSelected = false;
                foreach (var host in hosts) localMachineSelected |= host.Transport == HostTransportKind.Local;
                notice = InventoryLoader.NoInventoryNotice(getEnv, localMachineSelected);
            }
            // The pooled connections' socket folder is settled before anything runs: a configured one that is not
            // private stops the command here (PrivateDirectoryException), never half-way through a fleet.
            var ssh = request.ToSshOptions();
            if (OpenSshTransport.MultiplexEnabled(ssh)) ConnectionPool.For(ssh.ControlDirectory);
            return new FleetTarget(inventory, hosts, notice);
        }

        /// <param name="raw">Overrides <see cref="FleetCommandRequest.Raw"/> (file transfers choose for themselves).</param>
        /// <param name="prepare">Per-host invocation setup (stdin, stdout observer); see <see cref="FleetRunner.Start"/>.</param>
        /// <param name="configure">Adjusts the run options after defaults are applied (e.g. a file cap).</param>
        public static FleetRun Start(FleetTarget target, string command, FleetCommandRequest request, Action<FleetProgress>? progress, CancellationToken cancellationToken,
            bool? raw = null, Action<FleetHost, RemoteInvocation>? prepare = null, Action<FleetRunOptions>? configure = null)
        {
            var runOptions = request.ToRunOptions(target.Inventory.Defaults);
            configure?.Invoke(runOptions);
            return CreateRunner(request).Start(target.Hosts, command, runOptions, progress, cancellationToken, raw ?? request.Raw, prepare);
        }

        /// <summary>The runner a request's runs go through (its transports, see <see cref="CreateTransports"/>); a watch reuses one for every iteration.</summary>
        public static FleetRunner CreateRunner(FleetCommandRequest request) => new FleetRunner(CreateTransports(request));

        /// <summary>
        /// Every transport a request can use, keyed by kind: <c>local</c>, <c>openssh</c> (on the shared ControlMaster
        /// pool; the default), <c>sshnet</c> (on the process-wide SSH.NET pool) and <c>auto</c> (sshnet where it can serve
        /// the host, else openssh). The request's <see cref="FleetCommandRequest.Transport"/>, when given, serves
        /// every non-local host; an unknown kind is an ArgumentException naming the known ones. A new transport is
        /// registered here (docs/transports.md).
        /// </summary>
        public static TransportRegistry CreateTransports(FleetCommandRequest request)
        {
            var ssh = request.ToSshOptions();
            var openSsh = new OpenSshTransport(ssh);
            var registry = new TransportRegistry()
                .Add(new LocalTransport())
                .Add(openSsh);
            var shared = SharedPoolFolder(request, ssh);
            if (shared != null)
            {
                var sshNet = new SharedPoolTransport(ssh, shared, request.SharedPool!);
                registry.Add(sshNet).Add(new AutoTransport(sshNet, openSsh));
            }
            else
            {
                var sshNet = new SshNetTransport(ssh);
                registry.Add(sshNet).Add(new AutoTransport(sshNet, openSsh));
            }
            if (request.Transport != null) registry.ChosenKind = NormalizeKind(request.Transport);
            return registry;
        }

        /// <summary>
        /// The folder of the user's shared SSH.NET pool process when this request's sshnet runs should go through it:
        /// the front end asked for it (<see cref="FleetCommandRequest.SharedPool"/>), the options allow it (multiplexing
        /// on, no password or passphrase) and the control folder is the one later processes find again. Else null:
        /// the pool lives in this process.
        /// </summary>
        private static string? SharedPoolFolder(FleetCommandRequest request, SshOptions ssh)
        {
            if (request.SharedPool == null || !SharedPoolTransport.CanShare(ssh)) return null;
            var pool = ConnectionPool.For(ssh.ControlDirectory);
            return pool.IsShared ? pool.Directory : null;
        }

        /// <summary>A front end's spelling of a kind: case-insensitive, <c>ssh</c> meaning the default.</summary>
        private static string? NormalizeKind(string kind)
        {
            var k = kind.Trim().ToLowerInvariant();
            return k == "ssh" ? null : k;
        }

        /// <summary>Closes the pooled master connections (all of them: masters are per-destination sockets).</summary>
        public static async Task<int> DisconnectAsync(FleetCommandRequest request, CancellationToken cancellationToken)
        {
            var results = await FleetDisconnect.RunAsync(request, cancellationToken).ConfigureAwait(false);
            var closed = 0;
            foreach (var r in results) if (r.Closed) closed++;
            return closed;
        }
    }
}
