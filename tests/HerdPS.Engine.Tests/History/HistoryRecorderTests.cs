using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using HerdPS.Execution;
using HerdPS.History;
using HerdPS.Inventory;
using HerdPS.Selection;
using HerdPS.Tests.Inventory;
using HerdPS.Transport;

namespace HerdPS.Tests.History
{
    /// <summary>Recording while results pass through, on the local transport (no SSH needed for what is tested here).</summary>
    public class HistoryRecorderTests
    {
        private static IReadOnlyList<FleetHost> LocalHosts(int n) =>
            Enumerable.Range(1, n).Select(i => new FleetHost($"l{i:000}") { Transport = HostTransportKind.Local }).ToList();

        private static FleetRun Start(int hosts, string command, CancellationToken ct = default) =>
            new FleetRunner(new LocalTransport()).Start(LocalHosts(hosts), command, new FleetRunOptions { Throttle = 8 }, null, ct);

        [Fact]
        public async Task ResultsPassThroughInOrderOfArrivalAndTheRunIsCompleted()
        {
            using var dir = new TempDirectory();
            using var store = HistoryStore.Open(Path.Combine(dir.Path, "h.db"), new HistoryStoreOptions { BatchSize = 4 });
            using var recorder = HistoryRecorder.Begin(store, FleetHistory.ExecKind, "echo $$", "all", DateTime.UtcNow);
            var seen = new List<FleetResult>();
            await foreach (var r in recorder.RecordAsync(Start(10, "echo hi").ReadAllAsync())) seen.Add(r);

            Assert.Equal(10, seen.Count);
            Assert.Null(recorder.Failure);
            var run = store.GetRun(recorder.RunId)!;
            Assert.True(run.IsComplete);
            Assert.Equal(10, run.HostCount);
            Assert.Equal(seen.Select(r => r.HostName).OrderBy(h => h, StringComparer.Ordinal), store.ReadResults(run.Id).Select(r => r.HostName));
        }

        [Fact]
        public async Task ACancelledRunIsLeftUnfinishedWithWhatItRecorded()
        {
            using var dir = new TempDirectory();
            using var store = HistoryStore.Open(Path.Combine(dir.Path, "h.db"));
            using var cts = new CancellationTokenSource();
            using var recorder = HistoryRecorder.Begin(store, FleetHistory.ExecKind, "sleep", "all", DateTime.UtcNow);
            var started = Path.Combine(dir.Path, "started");
            Directory.CreateDirectory(started);
            // Cancelled mid-run: once every host's command has really started (each leaves a marker), not after it ends.
            var cancelWhenStarted = Task.Run(async () =>
            {
                var deadline = DateTime.UtcNow.AddSeconds(60);
                while (Directory.GetFiles(started).Length < 3 && DateTime.UtcNow < deadline) await Task.Delay(10);
                cts.Cancel();
            });
            var results = new List<FleetResult>();
            await foreach (var r in recorder.RecordAsync(Start(3, $"touch {started}/$$ && sleep 30", cts.Token).ReadAllAsync(), cts.Token))
                results.Add(r);
            await cancelWhenStarted;

            Assert.Equal(3, Directory.GetFiles(started).Length);
            Assert.Equal(3, results.Count);
            Assert.All(results, r => Assert.Equal(FleetStatus.Cancelled, r.Status));
            var run = store.GetRun(recorder.RunId)!;
            Assert.False(run.IsComplete);
            Assert.Equal(3, run.HostCount);
            Assert.Equal(results.Select(r => r.HostName).OrderBy(h => h, StringComparer.Ordinal), store.ReadResults(run.Id).Select(r => r.HostName));
            Assert.Null(store.FindLatestRun("sleep", "all")); // --diff-last never compares with it
        }

        [Fact]
        public async Task AHistoryThatFailsMidRunCostsNoResult()
        {
            using var dir = new TempDirectory();
            var store = HistoryStore.Open(Path.Combine(dir.Path, "h.db"), new HistoryStoreOptions { BatchSize = 1 });
            using var recorder = HistoryRecorder.Begin(store, FleetHistory.ExecKind, "echo", "all", DateTime.UtcNow);
            var seen = 0;
            await foreach (var r in recorder.RecordAsync(Start(20, "echo hi").ReadAllAsync()))
            {
                if (++seen == 5) store.Dispose(); // the database goes away under the run
            }
            Assert.Equal(20, seen);
            Assert.NotNull(recorder.Failure);
            Assert.False(recorder.IsRecording);
        }

        [Fact]
        public void AClosedStoreCantBeginARun()
        {
            using var dir = new TempDirectory();
            var store = HistoryStore.Open(Path.Combine(dir.Path, "h.db"));
            store.Dispose();
            Assert.Throws<HistoryException>(() => HistoryRecorder.Begin(store, "exec", "true", "all", DateTime.UtcNow));
        }

        [Fact]
        public void RecordingUsesTheInventorysRetentionAndViewingNeverPrunes()
        {
            using var dir = new TempDirectory();
            var path = Path.Combine(dir.Path, "h.db");
            using (var store = HistoryStore.Open(path, new HistoryStoreOptions { Retention = null }))
                HistoryTestData.Record(store, "old", "all", DateTime.UtcNow.AddDays(-40), "exec", HistoryTestData.Result("a"));

            using (var viewing = FleetHistory.OpenForReading(path))
                Assert.Single(viewing.ListRuns(new HistoryQuery()));
            using (var keeping = FleetHistory.OpenForRecording(path, new InventoryDefaults { HistoryRetention = TimeSpan.FromDays(90) }))
                Assert.Single(keeping.ListRuns(new HistoryQuery()));
            // The prune above was due and done (90 days): open as another day's first recorder would with 30.
            HistoryTestData.Execute(path, "DELETE FROM meta WHERE key = 'last_prune_utc'");
            using (var pruning = FleetHistory.OpenForRecording(path, new InventoryDefaults()))
                Assert.Empty(pruning.ListRuns(new HistoryQuery()));
        }

        [Fact]
        public void SelectionTextIsTheSelectionsCanonicalForm()
        {
            var s = new HostSelection();
            s.Groups.Add("web");
            s.Tags.Add("prod,!staging");
            Assert.Equal("group=web tag=prod,!staging", FleetHistory.SelectionText(s));
            Assert.Equal("all", FleetHistory.SelectionText(new HostSelection()));
        }

        [Fact]
        public void UnknownRunIdsAreArgumentErrorsNamingTheId()
        {
            using var dir = new TempDirectory();
            using var store = HistoryStore.Open(Path.Combine(dir.Path, "h.db"));
            var e = Assert.Throws<HistoryRunNotFoundException>(() => FleetHistory.GetRun(store, 42));
            Assert.Contains("no run 42", e.Message);
            Assert.Throws<HistoryRunNotFoundException>(() => FleetHistory.CompareRuns(store, 1, 2));
        }

        [Fact]
        public void DiffLastComparesWithTheLatestFinishedRunAndListsHostsThatAreGone()
        {
            using var dir = new TempDirectory();
            using var store = HistoryStore.Open(Path.Combine(dir.Path, "h.db"));
            Assert.False(FleetHistory.CompareWithLast(store, "uptime", "all").HasReference);

            HistoryTestData.Record(store, "uptime", "all", DateTime.UtcNow.AddHours(-2), "exec",
                HistoryTestData.Result("a", "1\n"), HistoryTestData.Result("b", "1\n"), HistoryTestData.Result("gone", "1\n"));
            var last = FleetHistory.CompareWithLast(store, "uptime", "all");
            Assert.True(last.HasReference);
            Assert.Equal(HostChangeKind.Unchanged, last.Add(HistoryTestData.Result("a", "1\n"))!.Change);
            var b = last.Add(HistoryTestData.Result("b", "2\n"))!;
            Assert.Equal(HostChangeKind.Changed, b.Change);
            Assert.Contains("+2", b.Diff);
            Assert.Equal(HostChangeKind.Added, last.Add(HistoryTestData.Result("new", "1\n"))!.Change);
            var all = last.Complete()!;
            Assert.Equal(new[] { "a", "b", "gone", "new" }, all.Changes.Select(c => c.HostName));
            Assert.Equal((1, 1, 1, 1), (all.Unchanged, all.Changed, all.Added, all.Removed));
            Assert.Null(FleetHistory.CompareWithLast(store, "uptime", "group=web").Reference); // another selection
        }
    }
}
