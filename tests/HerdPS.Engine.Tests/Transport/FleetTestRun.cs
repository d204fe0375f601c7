using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using HerdPS.Execution;
using HerdPS.Inventory;
using HerdPS.Tests.Fleet;
using HerdPS.Transport;
using HerdPS.Transport.OpenSsh;

namespace HerdPS.Tests.Transport
{
    /// <summary>
    /// Runs the product's own transport and runner against the test fleet. Each instance has its own socket
    /// folder (inside the fleet's, so the fleet's cleanup still reaches any master a failed test left), so a
    /// test that counts logins sees only its own connections.
    /// </summary>
    internal sealed class FleetTestRun : IDisposable
    {
        private static int _counter;

        public FleetTestRun(SshFleet fleet, Action<SshOptions>? configure = null)
        {
            Fleet = fleet;
            ControlDirectory = Path.Combine(fleet.ControlDirectory, "t" + Interlocked.Increment(ref _counter));
            Ssh = new SshOptions { ConfigFile = fleet.SshConfigPath, ControlDirectory = ControlDirectory };
            configure?.Invoke(Ssh);
        }

        public SshFleet Fleet { get; }
        public string ControlDirectory { get; }
        public SshOptions Ssh { get; }

        public OpenSshTransport Transport() => new OpenSshTransport(Ssh);

        public static IReadOnlyList<FleetHost> Hosts(params string[] names) => names.Select(n => new FleetHost(n)).ToList();

        public async Task<List<FleetResult>> RunAsync(IReadOnlyList<FleetHost> hosts, string command, FleetRunOptions? options = null, CancellationToken ct = default)
        {
            var run = new FleetRunner(Transport()).Start(hosts, command, options ?? new FleetRunOptions { ConnectTimeout = TimeSpan.FromSeconds(5) }, null, ct);
            var results = new List<FleetResult>();
            await foreach (var r in run.ReadAllAsync()) results.Add(r);
            return results;
        }

        public async Task<FleetResult> RunOneAsync(string host, string command, FleetRunOptions? options = null) =>
            Assert.Single(await RunAsync(Hosts(host), command, options));

        /// <summary>Masters of this run's sockets ([mux] processes naming our folder).</summary>
        public IReadOnlyList<ProcessInfo> Masters() =>
            ProcessTable.Find(p => !p.IsZombie && p.Name == "ssh" && p.CommandLine.Contains(ControlDirectory) && p.CommandLine.Contains("[mux]"));

        public void Dispose()
        {
            ConnectionPool.For(ControlDirectory).DisconnectAllAsync("ssh", CancellationToken.None).GetAwaiter().GetResult();
        }
    }
}
