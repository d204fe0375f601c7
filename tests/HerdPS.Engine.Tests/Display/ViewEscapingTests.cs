using System;
using System.Collections.Generic;
using System.IO;
using HerdPS.Files;
using HerdPS.Grouping;
using HerdPS.History;
using HerdPS.Transport;

namespace HerdPS.Tests.Display
{
    /// <summary>
    /// Each human view escapes on its own, without herd's stdout backstop: rendered into a plain StringWriter, hostile
    /// output, names and messages come out visible and inert, and host lists come out folded.
    /// </summary>
    public class ViewEscapingTests
    {
        private const string Hostile = TerminalTextTests.Hostile;
        private const string Shown = @"\x1b]0;pwned\x07 \x1b[1A\x1b[2K \x1b]52;c;cHduZWQ=\x07 \u009b31m \u202eevil\u202c";

        private static FleetResult Ran(string host, string stdout, string stderr = "") => new FleetResult
        {
            HostName = host, Status = FleetStatus.Succeeded, ExitCode = 0, StdOut = stdout, StdErr = stderr,
            OutputHash = OutputCapture.HashOf(stdout, stderr, 0),
        };

        private static string Inert(Action<TextWriter> render)
        {
            var w = new StringWriter { NewLine = "\n" };
            render(w);
            var text = w.ToString();
            Assert.DoesNotContain(text, TerminalTextTests.IsForbidden);
            return text;
        }

        [Fact]
        public void TheGroupedViewEscapesOutputStderrDiffsAndMessagesAndFoldsHosts()
        {
            var results = new List<FleetResult>();
            for (int i = 1; i <= 100; i++) results.Add(Ran($"n{i:0000}", Hostile + "\n\tindented\n", "err " + Hostile + "\n"));
            results.Add(Ran("odd", Hostile + "\nX\u001b[31m\n"));
            results.Add(new FleetResult { HostName = "down", Status = FleetStatus.Unreachable, ErrorKind = FleetErrorKind.TransportError, ErrorMessage = "ssh said " + Hostile + "\nsecond line" });
            var text = Inert(w => GroupedTextView.Render(OutputGrouper.Group(results), w));
            Assert.Contains(" 100 hosts identical:\n   n[0001-0100]\n   " + Shown + "\n   \tindented\n", text);
            Assert.Contains("   stderr:\n     err " + Shown + "\n", text);
            Assert.Contains("   +X\\x1b[31m\n", text);
            Assert.Contains("   down: ssh said " + Shown + "\\nsecond line\n", text);
        }

        [Fact]
        public void SnapshotViewsEscapeWhatHostsReported()
        {
            var host = new HostSnapshot
            {
                HostName = "web-01", Status = SnapshotHostStatus.Captured, OsName = "Debian " + Hostile, Kernel = "Linux \u202e6.1",
                PackageManager = "dpkg", Disks = { new DiskUsage { Mount = "/mnt/\u001b]0;x\u0007", FileSystem = "\u009b", UsePercent = 5, SizeKb = 1024 } },
            };
            host.Unavailable["services"] = "no " + Hostile;
            var failed = new HostSnapshot { HostName = "web-02", Status = SnapshotHostStatus.Failed, ErrorMessage = "exited 1: " + Hostile };
            var snapshot = new FleetSnapshot { Id = 3, Hosts = { host, failed } };
            var show = Inert(w => SnapshotTextView.RenderShow(snapshot, w));
            Assert.Contains("os:       Debian " + Shown + "; kernel Linux \\u202e6.1", show);
            Assert.Contains("disk:     /mnt/\\x1b]0;x\\x07 5% of 1 MiB (\\u009b)", show);
            Assert.Contains("exited 1: " + Shown, show);

            var diff = new SnapshotDiff { BeforeId = 1, AfterId = 2 };
            diff.Hosts.Add(new HostSnapshotDiff { HostName = "web-01", Change = HostSnapshotChange.Changed, OsBefore = "a" + Hostile, OsAfter = "b" });
            diff.Hosts.Add(new HostSnapshotDiff { HostName = "web-02", Change = HostSnapshotChange.Unchanged });
            diff.Hosts.Add(new HostSnapshotDiff { HostName = "web-03", Change = HostSnapshotChange.Unchanged });
            var shownDiff = Inert(w => SnapshotTextView.RenderDiff(diff, w));
            Assert.Contains("os: a" + Shown + " -> b", shownDiff);
            Assert.Contains(" 2 hosts unchanged:\n   web-[02-03]\n", shownDiff);

            var list = Inert(w => SnapshotTextView.RenderList(new[] { new SnapshotRecord { Id = 1, Selection = "host=" + Hostile } }, w));
            Assert.Contains("host=" + Shown, list);
        }

        [Fact]
        public void TheFileDriftViewEscapesContentDiffsAndMessages()
        {
            var norm = new RemoteFileGroup { IsNorm = true, Sha256 = new string('a', 64), Length = 10, Text = Hostile + "\nport=80\n" };
            norm.HostNames.AddRange(new[] { "web-01", "web-02", "web-03" });
            var outlier = new RemoteFileGroup { Sha256 = new string('b', 64), Length = 10, Diff = "--- norm\n+++ web-04\n@@ -1 +1 @@\n-port=80\n+port=" + Hostile + "\n" };
            outlier.HostNames.Add("web-04");
            var report = new FileDriftReport
            {
                Groups = new[] { norm, outlier },
                Results = new[] { new RemoteFileResult { HostName = "web-05", Status = RemoteFileStatus.Failed, ErrorMessage = "cat: " + Hostile } },
                Compared = 4, Differing = 1, Unread = 1,
            };
            var text = Inert(w => FileDriftTextView.Render(report, w));
            Assert.Contains(" 3 hosts identical:\n   web-[01-03]\n", text);
            Assert.Contains("   " + Shown + "\n   port=80\n", text);
            Assert.Contains("   +port=" + Shown + "\n", text);
            Assert.Contains("   web-05: cat: " + Shown + "\n", text);
        }

        [Fact]
        public void RunDiffsEscapeCommandsHostsAndDiffs()
        {
            var reference = new HistoryRunRecord { Id = 1, Kind = "exec", Command = "echo " + Hostile, Selection = "all" };
            var difference = new HistoryRunRecord { Id = 2, Kind = "exec", Command = "echo " + Hostile, Selection = "all" };
            var changes = new List<HostChange>
            {
                new HostChange { HostName = "h1", Change = HostChangeKind.Changed, Diff = "-a\n+" + Hostile + "\n" },
                new HostChange { HostName = "h2", Change = HostChangeKind.Unchanged },
                new HostChange { HostName = "h3", Change = HostChangeKind.Unchanged },
            };
            var text = Inert(w => HerdPS.Cli.ChangeView.RenderRunDiff(new RunDifference(reference, difference, changes), w));
            Assert.Contains(" run 1: echo " + Shown + "  [all]", text);
            Assert.Contains("   +" + Shown + "\n", text);
            Assert.Contains(" 2 hosts unchanged\n   h[2-3]\n", text);
        }
    }
}
