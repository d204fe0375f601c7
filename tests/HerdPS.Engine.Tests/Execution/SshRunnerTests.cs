using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using HerdPS.Execution;
using HerdPS.Grouping;
using HerdPS.Inventory;
using HerdPS.Tests.Fleet;
using HerdPS.Tests.Transport;

namespace HerdPS.Tests.Execution
{
    [Collection("ssh fleet")]
    public class SshRunnerTests
    {
        private readonly SshFleet _fleet;

        public SshRunnerTests(SshFleet fleet)
        {
            _fleet = fleet;
        }

        [Fact]
        public async Task TwoHundredHostsYieldTwoHundredResultsNoneLostNoneMisattributed()
        {
            using var t = new FleetTestRun(_fleet);
            var hosts = _fleet.Hosts.Take(200).Select(h => new FleetHost(h)).ToList();
            // Each host echoes the alias it was reached as (the fleet's ssh_config sends it with SetEnv).
            var run = new FleetRunner(t.Transport()).Start(hosts, "echo \"$HERD_ALIAS\"", new FleetRunOptions { Throttle = 32 });
            var results = new List<FleetResult>();
            await foreach (var r in run.ReadAllAsync()) results.Add(r);
            Assert.Equal(200, results.Count);
            Assert.Equal(hosts.Select(h => h.Name).OrderBy(n => n), results.Select(r => r.HostName).OrderBy(n => n));
            Assert.All(results, r => Assert.True(r.Succeeded, $"{r.HostName}: {r.ErrorMessage} {r.StdErr}"));
            Assert.All(results, r => Assert.Equal(r.HostName + "\n", r.StdOut));
            Assert.Equal(200, OutputGrouper.Group(results).Groups.Count);
        }

        [Fact]
        public async Task CancellingARunLeavesNoSshClientAndNoRemoteCommandBehind()
        {
            using var t = new FleetTestRun(_fleet);
            var sleep = LocalRunnerTests.UniqueSleep();
            using var cts = new CancellationTokenSource();
            var hosts = FleetTestRun.Hosts(_fleet.Hosts.Skip(20).Take(12).ToArray());
            var run = new FleetRunner(t.Transport()).Start(hosts, $"sleep {sleep}", new FleetRunOptions { Throttle = 6 }, null, cts.Token);
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (ProcessTable.FindByCommandLine(sleep).Count(p => p.Name == "sleep") < 6 && DateTime.UtcNow < deadline) await Task.Delay(20);
            Assert.Equal(6, ProcessTable.FindByCommandLine(sleep).Count(p => p.Name == "sleep"));
            cts.Cancel();
            var results = new List<FleetResult>();
            await foreach (var r in run.ReadAllAsync()) results.Add(r);
            Assert.Equal(12, results.Count);
            Assert.All(results, r => Assert.Equal(FleetStatus.Cancelled, r.Status));
            // No ssh client of this run is left (pooled masters are not clients: they are the pool, closed by disconnect).
            Assert.Empty(ProcessTable.WaitUntilGone(p => p.Name == "ssh" && p.CommandLine.Contains(sleep), TimeSpan.FromSeconds(10)));
            Assert.Empty(ProcessTable.WaitUntilGone(p => p.Name == "sleep" && p.CommandLine.Contains(sleep), TimeSpan.FromSeconds(15)));
        }

        [Fact]
        public async Task ManyRunnersOnManyThreadsShareThePoolSafely()
        {
            using var t = new FleetTestRun(_fleet);
            var hosts = FleetTestRun.Hosts(_fleet.Hosts.Skip(70).Take(4).ToArray());
            Assert.All(await t.RunAsync(hosts, "true"), r => Assert.True(r.Succeeded)); // one master per host
            var before = _fleet.CountAcceptedLogins();
            // Eight runners at once, each with its own transport object, each running on all four hosts five times.
            var runners = Enumerable.Range(0, 8).Select(i => Task.Run(async () =>
            {
                var results = new List<FleetResult>();
                for (var round = 0; round < 5; round++) results.AddRange(await t.RunAsync(hosts, $"echo {i}-{round}"));
                return results;
            })).ToArray();
            var all = (await Task.WhenAll(runners)).SelectMany(r => r).ToList();
            Assert.Equal(8 * 5 * 4, all.Count);
            Assert.All(all, r => Assert.True(r.Succeeded, $"{r.HostName}: {r.ErrorMessage}"));
            Assert.Equal(0, _fleet.CountAcceptedLogins() - before); // every command rode on the four masters
            Assert.Equal(4, t.Masters().Count);
        }

        [Fact]
        public async Task FailFastOverSshStopsAfterTheFirstUnreachableHost()
        {
            using var t = new FleetTestRun(_fleet);
            var hosts = FleetTestRun.Hosts(_fleet.RefusedHost, _fleet.Hosts[30], _fleet.Hosts[31], _fleet.Hosts[32]);
            var results = await t.RunAsync(hosts, "true", new FleetRunOptions { Throttle = 1, FailFast = true, ConnectTimeout = TimeSpan.FromSeconds(2) });
            Assert.Equal(4, results.Count);
            Assert.Equal(FleetStatus.Unreachable, results[0].Status);
            Assert.All(results.Skip(1), r => Assert.Equal(FleetStatus.Cancelled, r.Status));
        }

        [Fact]
        public async Task OneSlowHostDoesNotHoldBackTheOthers()
        {
            using var t = new FleetTestRun(_fleet);
            // The blackhole never answers; good hosts must all report while it is still connecting.
            var hosts = FleetTestRun.Hosts(_fleet.BlackholeHost, _fleet.Hosts[40], _fleet.Hosts[41], _fleet.Hosts[42]);
            var run = new FleetRunner(t.Transport()).Start(hosts, "true", new FleetRunOptions { Throttle = 4, ConnectTimeout = TimeSpan.FromSeconds(30) });
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(25));
            var firstThree = new List<FleetResult>();
            for (var i = 0; i < 3; i++) firstThree.Add(await run.Results.ReadAsync(wait.Token));
            Assert.All(firstThree, r => Assert.True(r.Succeeded));
            Assert.False(run.Completion.IsCompleted);
            run.Cancel();
            var last = await run.Results.ReadAsync();
            Assert.Equal(_fleet.BlackholeHost, last.HostName);
            Assert.Equal(FleetStatus.Cancelled, last.Status);
        }
    }
}
