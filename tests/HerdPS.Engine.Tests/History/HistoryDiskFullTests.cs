using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using HerdPS.History;
using HerdPS.Tests.Cli;
using HerdPS.Tests.Inventory;
using static HerdPS.Tests.History.HistoryTestData;

namespace HerdPS.Tests.History
{
    /// <summary>
    /// The history on a really full disk (a small tmpfs filled to the last byte): the user is told "no space left on
    /// device" and which file, never "cannot rollback" or a bare "disk I/O error", and what was recorded stays
    /// consistent: a run is complete with all its results, or unfinished with the batches that were written whole.
    /// </summary>
    public sealed class HistoryDiskFullTests
    {
        private static FleetResult Big(string host, int kib) => Result(host, new string('x', kib * 1024) + "\n");

        [Fact]
        public void ADiskThatFillsMidRunNamesTheCauseAndLeavesTheRunUnfinishedWithWholeBatches()
        {
            using var disk = new SmallDisk("2m");
            var path = Path.Combine(disk.Path, "herd", "history.db");
            long earlier;
            using (var store = HistoryStore.Open(path, new HistoryStoreOptions { BatchSize = 2 }))
            {
                earlier = Record(store, "uptime", "all", Now, results: new[] { Result("a"), Result("b") });
                using var recorder = HistoryRecorder.Begin(store, FleetHistory.ExecKind, "cat big", "all", Now);
                recorder.Add(Result("h1"));
                recorder.Add(Result("h2")); // a whole batch: written
                disk.Fill();
                recorder.Add(Big("h3", 300));
                recorder.Add(Big("h4", 300)); // this batch can't be written: the disk is full
                recorder.Add(Result("h5"));
                recorder.Complete(Now.AddSeconds(5));

                Assert.False(recorder.IsRecording);
                var failure = Assert.IsType<HistoryException>(recorder.Failure);
                Assert.Equal(path, failure.DatabasePath);
                Assert.StartsWith($"{path}: no space left on device: the disk holding the history database is full", failure.Message);
                Assert.DoesNotContain("cannot rollback", failure.Message);
                Assert.EndsWith($"Run {recorder.RunId} stays in the history as unfinished, with 2 of 5 host results.", recorder.FailureSummary);
            }

            disk.Free();
            using (var store = HistoryStore.Open(path))
            {
                var runs = store.ListRuns(new HistoryQuery()).ToDictionary(r => r.Id);
                Assert.True(runs[earlier].IsComplete);
                Assert.Equal(2, runs[earlier].HostCount);
                var cut = runs.Values.Single(r => r.Id != earlier);
                Assert.False(cut.IsComplete); // honestly unfinished: not "complete" with results missing
                Assert.Equal(2, cut.HostCount); // its counts are those of the batches on disk, no more
                Assert.Equal(new[] { "h1", "h2" }, store.ReadResults(cut.Id).Select(r => r.HostName));
                Assert.Null(store.FindLatestRun("cat big", "all")); // --diff-last never compares with it
            }
            Assert.Equal("ok", ScalarText(path, "PRAGMA integrity_check"));
        }

        [Fact]
        public void OpeningOnAFullDiskSaysNoSpaceLeftAndNamesTheFile()
        {
            using var disk = new SmallDisk("1m");
            var path = Path.Combine(disk.Path, "herd", "history.db"); // a tmpfs root is 1777: never a history folder
            using (var store = HistoryStore.Open(path)) Record(store, "uptime", "all", Now, results: Result("a"));
            disk.Fill();
            // Closed, SQLite removed the -wal and -shm files; opening again must make them, and can't.
            var e = Assert.Throws<HistoryException>(() =>
            {
                using var store = HistoryStore.Open(path);
                Record(store, "uptime", "all", Now, results: Result("b"));
            });
            Assert.StartsWith($"{path}: no space left on device: the disk holding the history database is full (0 bytes free in {Path.GetDirectoryName(path)}", e.Message);
            Assert.DoesNotContain("disk I/O error.", e.Message.Substring(0, e.Message.IndexOf("SQLite said", StringComparison.Ordinal)));
            disk.Free();
            using (var store = HistoryStore.Open(path))
                Assert.Equal(new[] { "uptime" }, store.ListRuns(new HistoryQuery()).Select(r => r.Command));
        }

        [Fact]
        public async Task HerdExecWarnsNoSpaceLeftKeepsItsExitCodeAndHistoryShowsTheRunUnfinished()
        {
            using var disk = new SmallDisk("2m");
            var history = Path.Combine(disk.Path, "herd", "history.db");
            var env = new Dictionary<string, string> { ["HERD_HISTORY"] = history };
            Assert.Equal(0, (await HerdProcess.RunAsync(new[] { "exec", "echo first" }, env)).ExitCode);
            disk.Fill(keepBytes: 128 * 1024); // room to begin the run, not for its 600 KB of output

            // Random bytes in base64: about 600 KB that compression can shrink only to about 450 KB (a run of one letter,
            // as this once printed, is stored in a kilobyte now).
            var o = await HerdProcess.RunAsync(new[] { "exec", "head -c 450000 /dev/urandom | base64 -w0; echo; echo done" }, env);

            Assert.True(o.ExitCode == 0, o.StdErr); // the command succeeded; the history is secondary
            Assert.Contains("done", o.StdOut);
            Assert.Contains($"herd: warning: this run was not fully recorded in the history ({history}): no space left on device: the disk holding the history database is full", o.StdErr);
            Assert.Contains("Run 2 stays in the history as unfinished, with 0 of 1 host result.", o.StdErr);
            Assert.DoesNotContain("cannot rollback", o.StdErr);

            // Full, even starting is refused with the cause, and nothing runs.
            disk.Fill();
            var marker = Path.Combine(Path.GetTempPath(), "herd-full-" + Guid.NewGuid().ToString("N"));
            var start = await HerdProcess.RunAsync(new[] { "exec", "touch " + marker }, env);
            Assert.Equal(2, start.ExitCode);
            Assert.Contains($"herd: {history}: no space left on device", start.StdErr);
            Assert.False(File.Exists(marker));

            disk.Free();
            var list = await HerdProcess.RunAsync(new[] { "history" }, env);
            Assert.Equal(0, list.ExitCode);
            var lines = list.StdOut.Split('\n');
            Assert.Contains(lines, l => l.StartsWith("2 ", StringComparison.Ordinal) && l.Contains("(unfinished)"));
            Assert.Contains(lines, l => l.StartsWith("1 ", StringComparison.Ordinal) && l.Contains("echo first") && !l.Contains("unfinished"));
        }
    }
}
