using System;
using System.IO;
using System.Linq;
using HerdPS.Execution;
using HerdPS.History;
using HerdPS.Inventory;
using HerdPS.Tests.Inventory;
using static HerdPS.Tests.History.HistoryTestData;

namespace HerdPS.Tests.History
{
    /// <summary>What the history cmdlets decide, tested without PowerShell: parameter mapping and the exec recording sequence.</summary>
    public class HistoryArgumentsTests
    {
        [Fact]
        public void Listing_defaults_to_the_last_20_like_herd_history_and_an_id_alone_is_not_limited()
        {
            var q = HistoryArguments.Query(null, null, null, null);
            Assert.Equal(20, q.Last);
            Assert.Null(q.Id);
            Assert.Null(q.Command);
            Assert.Null(q.Since);
            var byId = HistoryArguments.Query(7, null, null, null);
            Assert.Equal(7, byId.Id);
            Assert.Null(byId.Last);
            Assert.Equal(5, HistoryArguments.Query(null, 5, "df*", null).Last);
            Assert.Equal("df*", HistoryArguments.Query(null, 5, "df*", null).Command);
            Assert.Throws<ArgumentOutOfRangeException>(() => HistoryArguments.Query(null, 0, null, null));
        }

        [Fact]
        public void Since_takes_dates_durations_timespans_and_days_and_returns_utc()
        {
            Assert.Equal(Now.AddDays(-7), HistoryArguments.Since("7d", Now));
            Assert.Equal(Now.AddHours(-2), HistoryArguments.Since(TimeSpan.FromHours(2), Now));
            // PowerShell reads an unquoted 7d as the decimal 7: a number is refused, never taken as days.
            Assert.Contains("'7d'", Assert.Throws<ArgumentException>(() => HistoryArguments.Since(7m, Now)).Message);
            Assert.Throws<ArgumentException>(() => HistoryArguments.Since(3, Now));
            Assert.Equal(Now.AddHours(-1), HistoryArguments.Since(new DateTimeOffset(Now.AddHours(-1)), Now));
            Assert.Equal(new DateTime(2026, 2, 27, 14, 30, 0, DateTimeKind.Utc), HistoryArguments.Since("2026-02-27T14:30Z", Now));
            var local = new DateTime(2026, 2, 27, 8, 0, 0, DateTimeKind.Unspecified);
            Assert.Equal(DateTime.SpecifyKind(local, DateTimeKind.Local).ToUniversalTime(), HistoryArguments.Since(local, Now));
            Assert.Equal(DateTimeKind.Utc, HistoryArguments.Since(local, Now).Kind);
            var e = Assert.ThrowsAny<ArgumentException>(() => HistoryArguments.Since("yesterday-ish", Now));
            Assert.Contains("yesterday-ish", e.Message);
        }

        [Fact]
        public void A_run_id_comes_from_a_number_its_text_or_a_run_object()
        {
            var record = new HistoryRunRecord { Id = 42 };
            Assert.Equal(42, HistoryArguments.RunId(record, "ReferenceRun"));
            Assert.Equal(42, HistoryArguments.RunId(new RecordedRun(record, null), "ReferenceRun"));
            Assert.Equal(42, HistoryArguments.RunId(42, "ReferenceRun"));
            Assert.Equal(42, HistoryArguments.RunId(42L, "ReferenceRun"));
            Assert.Equal(42, HistoryArguments.RunId(" 42 ", "ReferenceRun"));
            Assert.ThrowsAny<ArgumentException>(() => HistoryArguments.RunId("web-01", "ReferenceRun"));
            Assert.ThrowsAny<ArgumentException>(() => HistoryArguments.RunId(0, "ReferenceRun"));
            Assert.ThrowsAny<ArgumentException>(() => HistoryArguments.RunId(null, "ReferenceRun"));
        }

        [Fact]
        public void DiffLast_fields_match_the_CLI_json_names_and_values()
        {
            var none = HostChangeFields.For(null);
            Assert.Equal(new[] { "Change", "Changed", "Diff" }, none.Select(f => f.Key));
            Assert.Null(none[0].Value);
            Assert.Null(none[1].Value);
            Assert.Equal("", none[2].Value);
            var changed = HostChangeFields.For(new HostChange { HostName = "h", Change = HostChangeKind.Changed, Diff = "-a\n+b\n" });
            Assert.Equal(HostChangeKind.Changed, changed[0].Value);
            Assert.Equal(true, changed[1].Value);
            Assert.Equal("-a\n+b\n", changed[2].Value);
            var added = HostChangeFields.For(new HostChange { HostName = "h", Change = HostChangeKind.Added });
            Assert.Equal(false, added[1].Value);
        }
    }

    public class ExecRecordingTests
    {
        private static FleetTarget LocalTarget() =>
            new FleetTarget(InventoryLoader.LoadOrDefault(null, _ => null, out _), Array.Empty<FleetHost>(), null);

        private static FleetCommandRequest Request(string historyPath, bool noHistory = false, params string[] hosts)
        {
            var p = new FleetParameters { HistoryPath = historyPath, NoHistory = noHistory };
            p.AddHostNames(hosts.Length == 0 ? new[] { "web-01", "web-02" } : hosts);
            return p.ToRequest();
        }

        [Fact]
        public void HistoryPath_and_NoHistory_reach_the_request()
        {
            var r = new FleetParameters { HistoryPath = " ", NoHistory = true }.ToRequest();
            Assert.Null(r.HistoryPath);
            Assert.True(r.NoHistory);
            Assert.Equal("/x/h.db", new FleetParameters { HistoryPath = "/x/h.db" }.ToRequest().HistoryPath);
        }

        [Fact]
        public void A_run_is_recorded_as_an_exec_with_its_selection_and_completed()
        {
            using var dir = new TempDirectory();
            var path = Path.Combine(dir.Path, "h.db");
            using (var recording = ExecRecording.Begin(Request(path), LocalTarget(), "uptime", diffLast: false))
            {
                Assert.True(recording.IsRecording);
                Assert.False(recording.ComparesWithLast);
                Assert.Null(recording.Add(Result("web-01")));
                recording.Add(Result("web-02", status: FleetStatus.Failed, exitCode: 1));
                Assert.Null(recording.Complete(cancelled: false));
                Assert.Null(recording.FailureWarning);
            }
            using var store = FleetHistory.OpenForReading(path);
            var run = Assert.Single(FleetHistory.GetRuns(store, new HistoryQuery()));
            Assert.Equal(FleetHistory.ExecKind, run.Kind);
            Assert.Equal("uptime", run.Command);
            Assert.Equal(Request(path).Selection.ToString(), run.Selection);
            Assert.True(run.IsComplete);
            Assert.Equal((2, 1, 1), (run.HostCount, run.SucceededCount, run.FailedCount));
            Assert.Equal(new[] { "web-01", "web-02" }, run.Results.Select(r => r.HostName));
        }

        [Fact]
        public void A_stopped_run_stays_unfinished_and_NoHistory_records_nothing()
        {
            using var dir = new TempDirectory();
            var path = Path.Combine(dir.Path, "h.db");
            using (var recording = ExecRecording.Begin(Request(path), LocalTarget(), "uptime", diffLast: false))
                recording.Add(Result("web-01")); // the pipeline stopped: disposed without Complete
            using (var recording = ExecRecording.Begin(Request(path), LocalTarget(), "uptime", diffLast: false))
            {
                recording.Add(Result("web-01"));
                recording.Complete(cancelled: true);
            }
            using (var recording = ExecRecording.Begin(Request(path, noHistory: true), LocalTarget(), "uptime", diffLast: false))
            {
                Assert.False(recording.IsRecording);
                Assert.Null(recording.RunId);
                recording.Add(Result("web-01"));
                recording.Complete(cancelled: false);
            }
            using var store = FleetHistory.OpenForReading(path);
            var runs = FleetHistory.GetRuns(store, new HistoryQuery());
            Assert.Equal(2, runs.Count);
            Assert.All(runs, r => { Assert.False(r.IsComplete); Assert.Single(r.Results); });
        }

        [Fact]
        public void DiffLast_with_no_earlier_run_says_so_and_the_run_becomes_the_baseline()
        {
            using var dir = new TempDirectory();
            var path = Path.Combine(dir.Path, "h.db");
            using (var first = ExecRecording.Begin(Request(path), LocalTarget(), "cat /etc/motd", diffLast: true))
            {
                Assert.True(first.ComparesWithLast);
                Assert.Contains("no earlier finished run of 'cat /etc/motd'", first.NoReferenceNotice);
                Assert.Null(first.Add(Result("web-01", "v1\n")));
                first.Add(Result("web-02", "v1\n"));
                Assert.Null(first.Complete(cancelled: false));
            }
            using var second = ExecRecording.Begin(Request(path), LocalTarget(), "cat /etc/motd", diffLast: true);
            Assert.Null(second.NoReferenceNotice);
            Assert.NotNull(second.Reference);
            Assert.Equal(HostChangeKind.Unchanged, second.Add(Result("web-01", "v1\n"))!.Change);
            var changed = second.Add(Result("web-02", "v2\n"))!;
            Assert.Equal(HostChangeKind.Changed, changed.Change);
            Assert.Contains("+v2", changed.Diff);
            var difference = second.Complete(cancelled: false)!;
            Assert.Equal(second.RunId, difference.Difference!.Id);
            Assert.Null(ExecRecording.RemovedHostsNotice(difference));
        }

        [Fact]
        public void DiffLast_compares_only_the_same_command_on_the_same_selection_and_names_hosts_that_are_gone()
        {
            using var dir = new TempDirectory();
            var path = Path.Combine(dir.Path, "h.db");
            using (var store = HistoryStore.Open(path))
            {
                Record(store, "uptime", Request(path).Selection.ToString(), Now.AddMinutes(-5), "exec", Result("web-01"), Result("web-02"));
                Record(store, "uptime", "other selection", Now.AddMinutes(-1), "exec", Result("web-01", "other\n"));
                Record(store, "df -h", Request(path).Selection.ToString(), Now.AddMinutes(-1), "exec", Result("web-01", "other\n"));
            }
            // -NoHistory with -DiffLast reads the history but records nothing.
            using var recording = ExecRecording.Begin(Request(path, noHistory: true, "web-01"), LocalTarget(), "uptime", diffLast: true);
            Assert.False(recording.IsRecording);
            Assert.Null(recording.Reference); // web-01 alone is another selection
            recording.Complete(cancelled: false);

            using var again = ExecRecording.Begin(Request(path, noHistory: true), LocalTarget(), "uptime", diffLast: true);
            Assert.Equal(HostChangeKind.Unchanged, again.Add(Result("web-01"))!.Change);
            var difference = again.Complete(cancelled: false)!;
            Assert.Null(difference.Difference); // not recorded
            Assert.Equal(HostChangeKind.Removed, difference.Changes.Single(c => c.HostName == "web-02").Change);
            Assert.Contains("web-02", ExecRecording.RemovedHostsNotice(difference));
            using var store2 = FleetHistory.OpenForReading(path);
            Assert.Equal(3, FleetHistory.GetRuns(store2, new HistoryQuery()).Count);
        }

        [Fact]
        public void A_history_that_cannot_be_used_stops_before_the_run_unless_NoHistory()
        {
            using var dir = new TempDirectory();
            var path = dir.Write("h.db", "this is not a SQLite database, it is a text file that is long enough to have a header...");
            var e = Assert.Throws<HistoryException>(() => ExecRecording.Begin(Request(path), LocalTarget(), "uptime", diffLast: false));
            Assert.Equal(path, e.DatabasePath);
            using var unrecorded = ExecRecording.Begin(Request(path, noHistory: true), LocalTarget(), "uptime", diffLast: false);
            Assert.False(unrecorded.IsRecording);
        }
    }
}
