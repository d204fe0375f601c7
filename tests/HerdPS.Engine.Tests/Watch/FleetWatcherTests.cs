using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using HerdPS.Execution;
using HerdPS.History;
using HerdPS.Tests.Fleet;
using HerdPS.Tests.Inventory;
using HerdPS.Tests.Transport;
using HerdPS.Watch;

namespace HerdPS.Tests.Watch
{
    [Collection("ssh fleet")]
    public class FleetWatcherTests
    {
        private readonly SshFleet _fleet;

        public FleetWatcherTests(SshFleet fleet) => _fleet = fleet;

        private static FleetRunOptions RunOptions => new FleetRunOptions { ConnectTimeout = TimeSpan.FromSeconds(5) };

        [Fact]
        public async Task AFileChangedOnOneHostBetweenIterationsIsReportedChangedOnThatHostOnly()
        {
            var hosts = new[] { _fleet.Hosts[100], _fleet.Hosts[101], _fleet.Hosts[102] };
            using var files = new WatchFiles();
            foreach (var h in hosts) files.Write(h, "version 1\n");
            using var dir = new TempDirectory();
            using var store = HistoryStore.Open(Path.Combine(dir.Path, "history.db"));
            using var test = new FleetTestRun(_fleet);

            // The change happens when iteration 1 is over and before iteration 2 starts: the callback runs
            // between them, so the test needs no timing.
            void OnEvent(WatchEvent e)
            {
                if (e.Kind == WatchEventKind.IterationCompleted && e.Iteration == 1) files.Write(hosts[1], "version 2\n");
            }
            var watcher = new FleetWatcher(new FleetRunner(test.Transport()), FleetTestRun.Hosts(hosts), files.CatCommand, RunOptions,
                new FleetWatchOptions { Interval = TimeSpan.FromMilliseconds(200), Count = 3 }, store, "host=watch-test", events: OnEvent);

            var results = new List<WatchResult>();
            await foreach (var r in watcher.RunAsync()) results.Add(r);

            Assert.Equal(9, results.Count);
            Assert.All(results, r => Assert.Equal(FleetStatus.Succeeded, r.Status));
            Assert.Equal(new[] { 1, 2, 3 }, results.Select(r => r.Iteration).Distinct());
            Assert.Equal(3, results.Count(r => r.IsLastOfIteration));

            // Iteration 1 has nothing to compare with: nothing changed, no previous hash.
            Assert.All(results.Where(r => r.Iteration == 1), r => { Assert.False(r.Changed); Assert.Null(r.PreviousHash); });
            // Iteration 2: exactly the host whose file changed, with the diff.
            var changed = Assert.Single(results, r => r.Changed);
            Assert.Equal(2, changed.Iteration);
            Assert.Equal(hosts[1], changed.HostName);
            Assert.Contains("-version 1", changed.Diff);
            Assert.Contains("+version 2", changed.Diff);
            Assert.NotEqual(changed.PreviousHash, changed.OutputHash);
            // Iteration 3 compares with iteration 2: the changed host is stable again.
            Assert.All(results.Where(r => r.Iteration == 3), r => Assert.False(r.Changed));

            // Every iteration is a finished 'watch' run sharing the first iteration's id as its watch id.
            var runs = store.ListRuns(new HistoryQuery { Kind = FleetHistory.WatchKind }).OrderBy(r => r.Id).ToList();
            Assert.Equal(3, runs.Count);
            Assert.All(runs, r => { Assert.True(r.IsComplete); Assert.Equal(runs[0].Id, r.WatchId); Assert.Equal(3, r.HostCount); });
            Assert.Equal(new int?[] { 1, 2, 3 }, runs.Select(r => r.Iteration));
            Assert.Equal(runs[0].Id, watcher.WatchId);
            Assert.Equal("version 2\n", store.ReadResults(runs[1].Id).Single(r => r.HostName == hosts[1]).StdOut);
            Assert.Equal(0, watcher.LastCompletedIteration!.NotSucceeded);
        }

        [Fact]
        public async Task CancellingBetweenIterationsEndsTheWatchWithoutThrowing()
        {
            using var test = new FleetTestRun(_fleet);
            using var cts = new CancellationTokenSource();
            void OnEvent(WatchEvent e)
            {
                if (e.Kind == WatchEventKind.IterationCompleted && e.Iteration == 2) cts.Cancel();
            }
            var watcher = new FleetWatcher(new FleetRunner(test.Transport()), FleetTestRun.Hosts(_fleet.Hosts[103]), "echo hi", RunOptions,
                new FleetWatchOptions { Interval = TimeSpan.Zero }, events: OnEvent);
            var results = new List<WatchResult>();
            await foreach (var r in watcher.RunAsync(cts.Token)) results.Add(r);
            Assert.Equal(new[] { 1, 2 }, results.Select(r => r.Iteration));
        }

        [Fact]
        public async Task AnIterationLongerThanTheIntervalIsFollowedAtOnceAndReported()
        {
            using var test = new FleetTestRun(_fleet);
            var events = new List<WatchEvent>();
            var watcher = new FleetWatcher(new FleetRunner(test.Transport()), FleetTestRun.Hosts(_fleet.Hosts[104]), "sleep 0.3", RunOptions,
                new FleetWatchOptions { Interval = TimeSpan.FromMilliseconds(50), Count = 2 }, events: events.Add);
            var iterations = new List<WatchResult>();
            await foreach (var r in watcher.RunAsync()) iterations.Add(r);
            Assert.Equal(2, iterations.Count);
            Assert.Contains(events, e => e.Kind == WatchEventKind.IterationOverran && e.Iteration == 1 && e.Message.Contains("longer than"));
            // Never overlapping: iteration 2 started after iteration 1's result was in.
            Assert.True(iterations[1].IterationStartedUtc >= iterations[0].Result.StartTime + iterations[0].Result.Duration - TimeSpan.FromMilliseconds(50));
        }

        [Fact]
        public void OptionsAreValidated()
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => new FleetWatchOptions { Interval = TimeSpan.FromSeconds(-1) }.Validate());
            Assert.Throws<ArgumentOutOfRangeException>(() => new FleetWatchOptions { Count = 0 }.Validate());
            Assert.Throws<ArgumentException>(() => new FleetWatcher(new FleetRunner(new HerdPS.Transport.LocalTransport()),
                Array.Empty<HerdPS.Inventory.FleetHost>(), "true", new FleetRunOptions(), new FleetWatchOptions()));
        }
    }
}
