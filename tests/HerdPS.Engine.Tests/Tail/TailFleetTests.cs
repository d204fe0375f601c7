using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using HerdPS.Tail;
using HerdPS.Tests.Fleet;

namespace HerdPS.Tests.Tail
{
    /// <summary>herd tail's engine against real sshd hosts whose logs really differ (isolated hosts, one sshd each).</summary>
    [Collection("ssh fleet")]
    public sealed class TailFleetTests
    {
        private readonly SshFleet _fleet;
        private readonly Xunit.Abstractions.ITestOutputHelper _output;

        public TailFleetTests(SshFleet fleet, Xunit.Abstractions.ITestOutputHelper output)
        {
            _fleet = fleet;
            _output = output;
        }

        private static string[] Numbered(string prefix, int from, int to) => Enumerable.Range(from, to - from + 1).Select(i => $"{prefix} {i}").ToArray();

        [Fact]
        public void Lines_appended_on_several_hosts_arrive_with_the_right_host_after_the_last_ten_of_context()
        {
            using var hosts = new LogHosts(_fleet, 3);
            for (int h = 0; h < 3; h++) hosts.Append(h, Numbered(hosts.Names[h] + " old", 1, 15));
            // A line still being written (no line break yet) is not shown until it is whole.
            File.AppendAllText(hosts.File_(0), hosts.Names[0] + " half");

            using var tail = new TailCollector(hosts.Tail(LogHosts.Fast()));
            foreach (var name in hosts.Names) tail.WaitForLines(name, 10);
            Assert.DoesNotContain(tail.LinesOf(hosts.Names[0]), l => l.Contains("half", StringComparison.Ordinal));
            File.AppendAllText(hosts.File_(0), " done\n");
            for (int h = 0; h < 3; h++) hosts.Append(h, Numbered(hosts.Names[h] + " new", 1, 5));
            foreach (var name in hosts.Names) tail.WaitFor(c => c.LinesOf(name).Any(l => l.EndsWith(" new 5", StringComparison.Ordinal)), $"the new lines of {name}");
            tail.WaitFor(c => c.LinesOf(hosts.Names[0]).Contains(hosts.Names[0] + " half done"), "the finished half line");
            tail.Stop();

            for (int h = 0; h < 3; h++)
            {
                var name = hosts.Names[h];
                var expected = Numbered(name + " old", 6, 15).Concat(Numbered(name + " new", 1, 5)).ToList();
                if (h == 0) expected.Insert(10, name + " half done");
                Assert.Equal(expected, tail.LinesOf(name));
            }
            Assert.All(tail.Lines, l =>
            {
                Assert.StartsWith(l.HostName + " ", l.Line);
                Assert.Equal(LogHosts.LogPath, l.Path);
                Assert.Equal(LogSourceKind.File, l.SourceKind);
            });
            Assert.DoesNotContain(tail.Notices, n => n.Severity != TailNoticeSeverity.Info);
        }

        [Fact]
        public void Grep_filters_on_the_host_so_filtered_lines_never_cross_the_network()
        {
            // The host is reached through a relay that counts what the server sends: the real (encrypted) traffic.
            using var plain = new LogHosts(_fleet, 1);
            using var relay = new CountingRelay(plain[0].Port);
            var alias = plain.Names[0] + "-relayed";
            plain.AddConfigFirst(
                $"Host {alias}\n  HostName 127.0.0.1\n  Port {relay.Port}\n  HostKeyAlias {plain.Names[0]}\n  UserKnownHostsFile {plain[0].KnownHostsPath}\n");

            var filler = new string('x', 90);
            var lines = Enumerable.Range(1, 20_000).Select(i => i % 1000 == 0 ? $"{i} panic: {filler}" : $"{i} ok {filler}").ToArray();
            long logBytes = lines.Sum(l => l.Length + 1);

            long Traffic(string? grep)
            {
                File.WriteAllText(plain.File_(0), "");
                var options = LogHosts.Fast();
                options.Lines = 0;
                options.Grep = grep;
                var before = relay.BytesToClient;
                using var tail = new TailCollector(plain.Tail(options, new[] { alias }));
                tail.WaitFor(c => c.Tail.Following == 1, "the follower");
                plain.Append(0, lines);
                int expected = grep == null ? lines.Length : 20;
                tail.WaitFor(c => c.Lines.Count >= expected, $"{expected} lines", TimeSpan.FromSeconds(120));
                var seen = tail.Lines.Select(l => l.Line).ToList();
                Assert.Equal(grep == null ? lines : lines.Where(l => l.Contains(" panic: ")).ToArray(), seen);
                tail.Stop();
                return relay.BytesToClient - before;
            }

            var filtered = Traffic("panic");
            var unfiltered = Traffic(null);
            _output.WriteLine($"log {logBytes:N0} bytes; on the wire from the server: {unfiltered:N0} without --grep, {filtered:N0} with it");
            // Every byte of the log crossed without the filter; with it, the 20 matches and the session's own overhead.
            Assert.True(unfiltered > logBytes, $"unfiltered: {unfiltered:N0} bytes on the wire for a {logBytes:N0}-byte log");
            Assert.True(filtered < logBytes / 20, $"with --grep: {filtered:N0} bytes on the wire for a {logBytes:N0}-byte log of which 20 lines match");
        }

        [Fact]
        public void A_rotated_file_is_read_to_its_end_then_the_new_one_is_followed_and_a_truncated_one_from_its_start()
        {
            using var hosts = new LogHosts(_fleet, 1);
            var host = hosts.Names[0];
            hosts.Append(0, "before");
            var options = LogHosts.Fast();
            options.Lines = 0;
            using var tail = new TailCollector(hosts.Tail(options));
            tail.WaitFor(c => c.Tail.Following == 1, "the follower");
            hosts.Append(0, "a1", "a2");
            tail.WaitForLines(host, 2);

            // logrotate's default: rename, then a new file; the writer still has the old one open for a moment.
            File.Move(hosts.File_(0), hosts.File_(0, "app.log.1"));
            hosts.AppendTo(0, "app.log.1", "a3 late into the old file");
            File.WriteAllText(hosts.File_(0), "b1\n");
            hosts.Append(0, "b2");
            tail.WaitForLines(host, 5);

            // copytruncate: the same file cut to nothing, then written again.
            using (var f = new FileStream(hosts.File_(0), FileMode.Open, FileAccess.Write, FileShare.ReadWrite)) f.SetLength(0);
            tail.WaitFor(c => c.Notices.Any(n => n.Kind == TailNoticeKind.Truncated), "the truncation notice");
            hosts.Append(0, "c1");
            tail.WaitForLines(host, 6);
            tail.Stop();

            Assert.Equal(new[] { "a1", "a2", "a3 late into the old file", "b1", "b2", "c1" }, tail.LinesOf(host));
            var rotated = Assert.Single(tail.Notices, n => n.Kind == TailNoticeKind.Rotated);
            Assert.Contains("rotated", rotated.Message);
            Assert.Equal(LogHosts.LogPath, rotated.Source);
        }

        [Fact]
        public void A_killed_sshd_is_reconnected_and_the_lines_written_meanwhile_arrive_once()
        {
            using var hosts = new LogHosts(_fleet, 2);
            var (down, up) = (hosts.Names[0], hosts.Names[1]);
            var options = LogHosts.Fast();
            options.Lines = 0;
            using var tail = new TailCollector(hosts.Tail(options));
            tail.WaitFor(c => c.Tail.Following == 2, "both followers");
            hosts.Append(0, Numbered("line", 1, 5));
            tail.WaitForLines(down, 5);

            // Power cut: the sshd and every session under it (the remote follower too) are SIGKILLed.
            hosts[0].Kill();
            hosts.Append(0, Numbered("line", 6, 10));
            hosts.Append(1, "the other host goes on");
            tail.WaitFor(c => c.Notices.Any(n => n.HostName == down && n.Kind == TailNoticeKind.Reconnecting), "the reconnect notice");
            tail.WaitForLines(up, 1);
            hosts[0].Restart();
            hosts.Append(0, Numbered("line", 11, 15));
            tail.WaitForLines(down, 15);

            // And once more, with the log rotated while the host is down: the rest of the old file comes from the
            // rotated file (found by its inode), then the new file.
            hosts[0].Kill();
            hosts.Append(0, Numbered("line", 16, 17));
            File.Move(hosts.File_(0), hosts.File_(0, "app.log.1"));
            hosts.Append(0, Numbered("line", 18, 20));
            hosts[0].Restart();
            tail.WaitForLines(down, 20);
            tail.Stop();

            Assert.Equal(Numbered("line", 1, 20), tail.LinesOf(down));
            Assert.Equal(new[] { "the other host goes on" }, tail.LinesOf(up));
            Assert.Contains(tail.Notices, n => n.HostName == down && n.Kind == TailNoticeKind.Resumed && n.Severity == TailNoticeSeverity.Info);
            var gap = Assert.Single(tail.Notices, n => n.HostName == down && n.Kind == TailNoticeKind.Gap);
            Assert.Contains("rotated meanwhile", gap.Message);
            Assert.Contains("app.log.1", gap.Message);
            Assert.DoesNotContain(tail.Notices, n => n.HostName == up && n.Severity != TailNoticeSeverity.Info);
        }

        [Fact]
        public void A_log_rotated_away_while_disconnected_is_reported_as_a_gap()
        {
            using var hosts = new LogHosts(_fleet, 1);
            var host = hosts.Names[0];
            var options = LogHosts.Fast();
            options.Lines = 0;
            using var tail = new TailCollector(hosts.Tail(options));
            tail.WaitFor(c => c.Tail.Following == 1, "the follower");
            hosts.Append(0, "one");
            tail.WaitForLines(host, 1);
            hosts[0].Kill();
            hosts.Append(0, "lost with the old file");
            File.Delete(hosts.File_(0)); // rotated and compressed away: the old inode is gone
            hosts.Append(0, "two");
            hosts[0].Restart();
            tail.WaitForLines(host, 2);
            tail.Stop();

            Assert.Equal(new[] { "one", "two" }, tail.LinesOf(host));
            var gap = Assert.Single(tail.Notices, n => n.Kind == TailNoticeKind.Gap);
            Assert.Equal(TailNoticeSeverity.Warning, gap.Severity);
            Assert.Contains("missing", gap.Message); // "are" when the old inode is gone, "may be" when the new file got its number
        }

        [Fact]
        public void A_reader_that_falls_behind_pauses_the_host_and_every_line_still_arrives_once_in_order_within_the_memory_bound()
        {
            using var hosts = new LogHosts(_fleet, 1);
            var host = hosts.Names[0];
            var lines = Numbered("flood line with some padding to make it longer", 1, 20_000);
            var options = LogHosts.Fast();
            options.Lines = 0;
            options.MaxBatchBytes = 16 * 1024;
            options.MinHostQueueBytes = options.MaxHostQueueBytes = 256 * 1024;
            // The reader takes one event and then waits until the host's queue is full, so the pause and resume really happen.
            using var tail = new TailCollector(hosts.Tail(options), startReading: false);
            tail.WaitFor(c => c.Tail.Following == 1, "the follower");
            hosts.Append(0, lines);
            tail.WaitFor(c => c.Tail.PausedHosts == 1, "the host paused");
            var more = Numbered("appended while paused", 1, 10_000);
            hosts.Append(0, more);
            tail.StartReading();
            tail.WaitForLines(host, lines.Length + more.Length, TimeSpan.FromSeconds(180));
            tail.Stop();

            Assert.Equal(lines.Concat(more), tail.LinesOf(host));
            Assert.True(tail.Tail.Sessions >= 2, $"the host was never paused ({tail.Tail.Sessions} session)");
            // The queue never held more than its bound plus one record.
            Assert.True(tail.Tail.PeakQueuedBytes <= 256 * 1024 + 1024, $"peak queued: {tail.Tail.PeakQueuedBytes:N0} bytes");
            Assert.DoesNotContain(tail.Notices, n => n.Severity != TailNoticeSeverity.Info);
        }

        [Fact]
        public void A_flooding_host_can_not_hold_back_a_quiet_hosts_line()
        {
            using var hosts = new LogHosts(_fleet, 2);
            var (flood, quiet) = (hosts.Names[0], hosts.Names[1]);
            var options = LogHosts.Fast();
            options.Lines = 0;
            options.MinHostQueueBytes = options.MaxHostQueueBytes = 256 * 1024;
            // The reader holds back until the flooding host's queue is full (it pauses), so a backlog of thousands of its
            // lines waits when the quiet host's one line arrives. First in, first out, that line would come after all of them.
            using var tail = new TailCollector(hosts.Tail(options), startReading: false);
            tail.WaitFor(c => c.Tail.Following == 2, "both followers");
            hosts.Append(0, Numbered("flood", 1, 10_000));
            tail.WaitFor(c => c.Tail.PausedHosts == 1, "the flooding host paused with a full queue");
            hosts.Append(1, "quiet line");
            tail.WaitFor(c => c.Tail.QueuedItems(quiet) > 0, "the quiet line queued");
            tail.StartReading();
            tail.WaitForLines(quiet, 1);
            tail.WaitForLines(flood, 10_000, TimeSpan.FromSeconds(120));
            tail.Stop();

            var delivered = tail.Lines.ToList();
            int at = delivered.FindIndex(l => l.HostName == quiet);
            // Delivered at once: the first line the reader took was already waiting before it (the collector's first read).
            Assert.InRange(at, 0, 2);
            Assert.Equal(Numbered("flood", 1, 10_000), tail.LinesOf(flood));
        }

        [Fact]
        public void Stopping_the_tail_ends_every_remote_follower_and_ssh_client()
        {
            using var hosts = new LogHosts(_fleet, 3);
            for (int h = 0; h < 3; h++) hosts.Append(h, "x");
            var tail = new TailCollector(hosts.Tail(LogHosts.Fast()));
            foreach (var name in hosts.Names) tail.WaitForLines(name, 1);
            Assert.NotEmpty(ProcessTable.FindByCommandLine(RemoteFollower.ProcessName));
            tail.Stop();
            tail.Dispose();

            // Gone: every follower shell on the hosts, and every ssh client but the pooled masters.
            Assert.Empty(ProcessTable.WaitUntilGone(p => p.CommandLine.Contains(RemoteFollower.ProcessName, StringComparison.Ordinal), TimeSpan.FromSeconds(10)));
            Assert.Empty(ProcessTable.WaitUntilGone(p => p.Name == "ssh" && p.CommandLine.Contains(hosts.ControlDirectory, StringComparison.Ordinal) &&
                                                          !p.CommandLine.Contains("[mux]", StringComparison.Ordinal), TimeSpan.FromSeconds(10)));
        }

        [Fact]
        public void A_missing_file_is_waited_for_and_followed_from_its_start_when_it_appears()
        {
            using var hosts = new LogHosts(_fleet, 1);
            var host = hosts.Names[0];
            var options = LogHosts.Fast(SshFleet.IsolatedMountPoint + "/later.log");
            using var tail = new TailCollector(hosts.Tail(options));
            tail.WaitFor(c => c.Notices.Any(n => n.Kind == TailNoticeKind.Missing), "the missing notice");
            hosts.AppendTo(0, "later.log", "first", "second");
            tail.WaitForLines(host, 2);
            tail.Stop();
            Assert.Equal(new[] { "first", "second" }, tail.LinesOf(host));
            Assert.Contains(tail.Notices, n => n.Kind == TailNoticeKind.Appeared);
        }

        [Fact]
        public void A_pattern_the_hosts_grep_refuses_ends_that_hosts_tail_with_greps_words()
        {
            using var hosts = new LogHosts(_fleet, 1);
            var options = LogHosts.Fast();
            options.Grep = "[[:nosuchclass:]]"; // well formed to our check; grep knows no such class
            var tail = hosts.Tail(options);
            var events = new List<TailEvent>();
            var ended = System.Threading.Tasks.Task.Run(async () => { await foreach (var e in tail.RunAsync()) events.Add(e); });
            Assert.True(ended.Wait(TimeSpan.FromSeconds(60)), "the tail did not end after its only host failed");
            var failed = Assert.Single(events.Select(e => e.Notice).Where(n => n != null))!;
            Assert.Equal(TailNoticeKind.Failed, failed.Kind);
            Assert.Equal(TailNoticeSeverity.Error, failed.Severity);
            Assert.Contains("grep refused a pattern", failed.Message);
            Assert.Contains("class", failed.Message);
        }

        [Fact]
        public void A_host_whose_key_is_refused_fails_at_once_while_the_others_are_followed()
        {
            using var hosts = new LogHosts(_fleet, 1);
            hosts.Append(0, "fine");
            var tail = hosts.Tail(LogHosts.Fast(), new[] { hosts.Names[0], _fleet.MismatchKeyHost });
            using var collector = new TailCollector(tail);
            collector.WaitForLines(hosts.Names[0], 1);
            collector.WaitFor(c => c.Notices.Any(n => n.HostName == _fleet.MismatchKeyHost), "the refusal");
            var failed = Assert.Single(collector.Notices, n => n.HostName == _fleet.MismatchKeyHost);
            Assert.Equal(TailNoticeKind.Failed, failed.Kind);
            Assert.Contains("does not match", failed.Message);
        }
    }
}
