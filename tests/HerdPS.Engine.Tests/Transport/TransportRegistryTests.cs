using System;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using HerdPS.Execution;
using HerdPS.Inventory;
using HerdPS.Transport;
using HerdPS.Transport.OpenSsh;
using HerdPS.Tests.Files;

namespace HerdPS.Tests.Transport
{
    public class TransportRegistryTests
    {
        [Fact]
        public void AHostsTransportResolvesThroughTheRegistryByKind()
        {
            var registry = FleetEngine.CreateTransports(new FleetCommandRequest { NoMultiplex = true });
            Assert.Equal(new[] { "local", "openssh" }, registry.Kinds);
            Assert.Equal("openssh", registry.SshKind);
            Assert.IsType<OpenSshTransport>(registry.For(new FleetHost("web-01")));
            Assert.IsType<LocalTransport>(registry.For(new FleetHost("box") { Transport = HostTransportKind.Local }));
        }

        [Fact]
        public void TheRequestsChoiceServesTheSshHostsAndAnUnknownKindIsRefusedByName()
        {
            var local = FleetEngine.CreateTransports(new FleetCommandRequest { NoMultiplex = true, Transport = "local" });
            Assert.IsType<LocalTransport>(local.For(new FleetHost("web-01")));
            var e = Assert.Throws<ArgumentException>(() => FleetEngine.CreateTransports(new FleetCommandRequest { NoMultiplex = true, Transport = "sshnet" }));
            Assert.Contains("unknown transport 'sshnet'", e.Message);
            Assert.Contains("local, openssh", e.Message);
        }

        [Fact]
        public void KindsAreLowerCaseNames()
        {
            Assert.Throws<ArgumentException>(() => new TransportRegistry().Add(new Named("OpenSSH")));
            Assert.Throws<ArgumentException>(() => new TransportRegistry().Add(new Named("")));
        }

        [Fact]
        public async Task EveryResultSaysWhichTransportRanItAndNdjsonCarriesIt()
        {
            var hosts = new[] { new FleetHost("here") { Transport = HostTransportKind.Local } };
            var run = FleetEngine.CreateRunner(new FleetCommandRequest { NoMultiplex = true }).Start(hosts, "echo hi", new FleetRunOptions());
            var r = Assert.Single(await run.ReadAllAsync().ToListAsync());
            Assert.Equal("local", r.Transport);
            using var json = JsonDocument.Parse(FleetResultJson.Serialize(r));
            Assert.Equal("local", json.RootElement.GetProperty("transport").GetString());
        }

        [Fact]
        public async Task AHostWhoseTransportIsNotRegisteredIsUnreachableWithAReasonNotLost()
        {
            // A registry without the host's kind: the host is reported, with the reason, never dropped.
            var onlyOpenSsh = new TransportRegistry().Add(new OpenSshTransport(new SshOptions { Multiplex = false }));
            var run = new FleetRunner(onlyOpenSsh).Start(new[] { new FleetHost("here") { Transport = HostTransportKind.Local } }, "true", new FleetRunOptions());
            var r = Assert.Single(await run.ReadAllAsync().ToListAsync());
            Assert.Equal(FleetStatus.Unreachable, r.Status);
            Assert.Contains("no transport 'local'", r.ErrorMessage);
            Assert.Equal("local", r.Transport);
        }

        private sealed class Named : IFleetTransport
        {
            public Named(string kind) { Kind = kind; }
            public string Kind { get; }
            public Task<TransportOutcome> ExecuteAsync(FleetHost host, RemoteInvocation invocation, System.Threading.CancellationToken stop) =>
                throw new NotSupportedException("never run: only its name is under test");
        }
    }
}
