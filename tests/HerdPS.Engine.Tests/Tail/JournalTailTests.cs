using System;
using System.Linq;
using HerdPS.Tail;
using HerdPS.Tests.Fleet;

namespace HerdPS.Tests.Tail
{
    /// <summary>
    /// herd tail --journalctl against real systemd-journald instances and the real journalctl (see
    /// <see cref="JournalHosts"/> for the one stand-in: where journalctl finds the journal).
    /// </summary>
    [Collection("ssh fleet")]
    public sealed class JournalTailTests
    {
        private readonly SshFleet _fleet;

        public JournalTailTests(SshFleet fleet) => _fleet = fleet;

        [Fact]
        public void A_units_entries_arrive_with_the_right_host_after_the_last_entries_of_context_and_other_units_stay_out()
        {
            using var journal = new JournalHosts(_fleet, 2);
            for (int h = 0; h < 2; h++)
            {
                journal.Write(h, journal.Unit, $"{journal.Names[h]} before 1", $"{journal.Names[h]} before 2");
                journal.Write(h, journal.OtherUnit, $"{journal.Names[h]} other unit");
            }
            var options = journal.Options();
            options.Lines = 2;
            using var tail = new TailCollector(journal.Tail(options));
            foreach (var name in journal.Names) tail.WaitForLines(name, 2);
            for (int h = 0; h < 2; h++)
            {
                journal.Write(h, journal.Unit, $"{journal.Names[h]} after 1");
                journal.Write(h, journal.OtherUnit, $"{journal.Names[h]} other unit again");
                journal.Write(h, journal.Unit, $"{journal.Names[h]} after 2");
            }
            foreach (var name in journal.Names) tail.WaitForLines(name, 4);
            tail.Stop();

            foreach (var name in journal.Names)
                Assert.Equal(new[] { "before 1", "before 2", "after 1", "after 2" }.Select(s => $"{name} {s}"), tail.LinesOf(name));
            Assert.All(tail.Lines, l =>
            {
                Assert.Equal(LogSourceKind.Journal, l.SourceKind);
                Assert.Equal(journal.Unit, l.Unit);
                Assert.Null(l.Path);
                Assert.Equal("app", l.Identifier);
                Assert.True(l.ProcessId > 0);
                Assert.True(l.EntryTimeUtc > DateTime.UtcNow.AddMinutes(-10) && l.EntryTimeUtc <= DateTime.UtcNow.AddMinutes(1));
            });
        }

        [Fact]
        public void Grep_and_exclude_match_the_entrys_message_on_the_host()
        {
            using var journal = new JournalHosts(_fleet, 1);
            var host = journal.Names[0];
            var options = journal.Options();
            options.Lines = 0;
            options.Grep = "panic|\"quoted\" a\\\\b";
            options.GrepExclude = "^test ";
            using var tail = new TailCollector(journal.Tail(options));
            tail.WaitFor(c => c.Tail.Following == 1, "the follower");
            // The follower's session is up, but journalctl -f -n 0 starts from the journal's end as it finds it: an
            // entry written before it has opened the journal (a slow start on a busy machine) is rightly never
            // shown. A marker that passes the filter, written until one arrives, says journalctl is reading.
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (!tail.LinesOf(host).Contains("panic: ready") && DateTime.UtcNow < deadline)
            {
                journal.Write(0, journal.Unit, "panic: ready");
                var wait = DateTime.UtcNow.AddSeconds(2);
                while (!tail.LinesOf(host).Contains("panic: ready") && DateTime.UtcNow < wait) System.Threading.Thread.Sleep(20);
            }
            var before = tail.LinesOf(host).Count;
            journal.Write(0, journal.Unit, "GET /ok", "panic: disk full", "test panic: ignore me", "say \"quoted\" a\\b twice", "panic: the end");
            tail.WaitFor(c => c.LinesOf(host).Contains("panic: the end"), "the last match");
            tail.Stop();
            Assert.All(tail.LinesOf(host).Take(before), l => Assert.Equal("panic: ready", l));
            Assert.Equal(new[] { "panic: disk full", "say \"quoted\" a\\b twice", "panic: the end" }, tail.LinesOf(host).Skip(before));
        }

        [Fact]
        public void A_killed_sshd_is_reconnected_and_the_journal_goes_on_after_the_last_entrys_cursor()
        {
            using var journal = new JournalHosts(_fleet, 1);
            var host = journal.Names[0];
            journal.Write(0, journal.Unit, "entry 1");
            var options = journal.Options();
            options.Lines = 1;
            using var tail = new TailCollector(journal.Tail(options));
            tail.WaitForLines(host, 1);
            journal[0].Kill();
            journal.Write(0, journal.Unit, "entry 2", "entry 3");
            tail.WaitFor(c => c.Notices.Any(n => n.Kind == TailNoticeKind.Reconnecting), "the reconnect notice");
            journal[0].Restart();
            journal.Write(0, journal.Unit, "entry 4");
            tail.WaitForLines(host, 4);
            tail.Stop();

            Assert.Equal(new[] { "entry 1", "entry 2", "entry 3", "entry 4" }, tail.LinesOf(host));
            // The restarted sshd may take more than one try to come up (SshdServer.Restart retries while the old
            // socket lets go), and the tail may reconnect in between: each resume goes on after the cursor, and the
            // lines above arrived once each either way.
            var resumed = tail.Notices.Where(n => n.Kind == TailNoticeKind.Resumed).ToList();
            Assert.NotEmpty(resumed);
            Assert.All(resumed, r => Assert.Contains("cursor", r.Message));
        }

        [Fact]
        public void Since_starts_at_that_point_rather_than_the_last_lines()
        {
            using var journal = new JournalHosts(_fleet, 1);
            var host = journal.Names[0];
            journal.Write(0, journal.Unit, "old 1", "old 2", "old 3");
            var options = journal.Options();
            options.Lines = 1;
            options.Since = TailSince.Back(TimeSpan.FromHours(1));
            using var tail = new TailCollector(journal.Tail(options));
            tail.WaitFor(c => c.LinesOf(host).Contains("old 3"), "the entries since an hour ago");
            tail.Stop();
            // The start entry of the fixture is within the hour too: --since shows everything since then, --lines aside.
            Assert.Equal(new[] { "old 1", "old 2", "old 3" }, tail.LinesOf(host).Where(l => l.StartsWith("old", StringComparison.Ordinal)));
        }

    }
}
