using System.IO;
using HerdPS.Grouping;
using HerdPS.Transport;

namespace HerdPS.Tests.Grouping
{
    public class GroupedTextViewTests
    {
        private static FleetResult Ran(string host, string stdout, int exit = 0) => new FleetResult
        {
            HostName = host, Status = exit == 0 ? FleetStatus.Succeeded : FleetStatus.Failed, ExitCode = exit, StdOut = stdout,
            OutputHash = OutputCapture.HashOf(stdout, "", exit),
        };

        [Fact]
        public void TheMajorityIsTheNormAndOutliersAreDiffedAgainstIt()
        {
            var g = OutputGrouper.Group(new[]
            {
                Ran("c", "a\nb\n"), Ran("a", "a\nb\n"), Ran("d", "a\nX\n"),
                new FleetResult { HostName = "e", Status = FleetStatus.Unreachable, ErrorKind = FleetErrorKind.ConnectionRefused, ErrorMessage = "e refused" },
            });
            Assert.Equal(2, g.Groups.Count);
            Assert.True(g.Groups[0].IsNorm);
            Assert.Equal(new[] { "a", "c" }, g.Groups[0].HostNames);
            Assert.Contains("-b", g.Groups[1].Diff);
            Assert.Contains("+X", g.Groups[1].Diff);
            var w = new StringWriter();
            GroupedTextView.Render(g, w);
            var text = w.ToString();
            Assert.Contains(" 2 hosts identical:\n   a,c\n   a\n   b\n", text.Replace("\r\n", "\n"));
            Assert.Contains(" 1 host differs:\n   d\n", text.Replace("\r\n", "\n"));
            Assert.Contains(" 1 host unreachable (ConnectionRefused):\n   e: e refused", text.Replace("\r\n", "\n"));
            Assert.Contains("4 hosts: 3 succeeded, 1 unreachable; 2 distinct outputs", text);
        }

        [Fact]
        public void ErrorsOnlyHidesSucceededGroups()
        {
            var g = OutputGrouper.Group(new[] { Ran("a", "ok\n"), Ran("b", "bad\n", 2) });
            var w = new StringWriter();
            GroupedTextView.Render(g, w, errorsOnly: true);
            var text = w.ToString().Replace("\r\n", "\n");
            Assert.Contains(" 1 host (exit 2):\n   b\n   bad\n", text); // every host distinct: outputs shown plainly
            Assert.DoesNotContain("   a\n", text);
        }
    }
}
