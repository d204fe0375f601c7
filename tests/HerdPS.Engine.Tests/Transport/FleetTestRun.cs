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
using HerdPS.Transport.SshNet;

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

        /// <param name="kind">The transport under test: <c>openssh</c> (the default) or <c>sshnet</c>, which gets a pool
        /// of its own (so login counts are this run's) and the fleet's ssh_config without SetEnv.</param>
        /// <param name="sharedPool">sshnet through a shared pool process (the one herd runs use), served here in the
        /// test's process from <see cref="ControlDirectory"/> with this run's own pool.</param>
        public FleetTestRun(SshFleet fleet, Action<SshOptions>? configure = null, string kind = TransportKinds.OpenSsh, bool sharedPool = false)
        {
            Fleet = fleet;
            Kind = kind;
            ControlDirectory = Path.Combine(fleet.ControlDirectory, "t" + Interlocked.Increment(ref _counter));
            Ssh = new SshOptions { ConfigFile = kind == TransportKinds.OpenSsh ? fleet.SshConfigPath : fleet.PlainSshConfigPath, ControlDirectory = ControlDirectory };
            configure?.Invoke(Ssh);
            if (sharedPool)
            {
                Directory.CreateDirectory(ControlDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                _server = SharedPoolServer.ServeAsync(ControlDirectory, TimeSpan.FromMinutes(10), CancellationToken.None, Pool, Resolver);
                var socket = Path.Combine(ControlDirectory, "sshnet.sock");
                var deadline = DateTime.UtcNow.AddSeconds(30);
                while (!File.Exists(socket) && !_server.IsCompleted && DateTime.UtcNow < deadline) Thread.Sleep(10);
                Assert.True(File.Exists(socket), "the in-process pool server did not listen: " + _server.Exception);
            }
        }

        private readonly Task<int>? _server;

        /// <summary>A pool process never needs starting here (the server above listens); if it did, the real herd would start.</summary>
        private static SharedPoolLauncher Launcher => new SharedPoolLauncher(HerdPS.Tests.Cli.HerdProcess.Path, new[] { "pool-serve" });

        public SshFleet Fleet { get; }
        public string Kind { get; }
        public string ControlDirectory { get; }
        public SshOptions Ssh { get; }
        /// <summary>This run's SSH.NET connections (sshnet only).</summary>
        public SshNetPool Pool { get; } = new SshNetPool();
        public SshConfigResolver Resolver { get; } = new SshConfigResolver();

        public IFleetTransport Transport() => Transport(Ssh);

        /// <summary>The transport under test with other options, on the same pool.</summary>
        public IFleetTransport Transport(SshOptions options) => Kind switch
        {
            TransportKinds.SshNet when _server != null => new SharedPoolTransport(options, ControlDirectory, Launcher),
            TransportKinds.Auto when _server != null => new AutoTransport(new SharedPoolTransport(options, ControlDirectory, Launcher), new OpenSshTransport(options)),
            TransportKinds.SshNet => new SshNetTransport(options, Pool, Resolver),
            TransportKinds.Auto => new AutoTransport(new SshNetTransport(options, Pool, Resolver), new OpenSshTransport(options)),
            _ => new OpenSshTransport(options),
        };

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
            if (_server != null)
            {
                SharedPoolTransport.QuitAsync(ControlDirectory, CancellationToken.None).GetAwaiter().GetResult();
                _server.Wait(TimeSpan.FromSeconds(60));
            }
            Pool.Dispose();
            ConnectionPool.For(ControlDirectory).DisconnectAllAsync("ssh", CancellationToken.None).GetAwaiter().GetResult();
        }
    }
}
