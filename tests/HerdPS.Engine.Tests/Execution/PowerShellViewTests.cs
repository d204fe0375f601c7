using System;
using System.Linq;
using System.Reflection;
using HerdPS.Execution;
using HerdPS.History;
using HerdPS.Watch;

namespace HerdPS.Tests.Execution
{
    public class PowerShellViewTests
    {
        [Theory]
        [InlineData("ok\n", "ok")]
        [InlineData("ok\r\n", "ok")]
        [InlineData("ok", "ok")]
        [InlineData("a\nb\n", "a\nb")]
        [InlineData("a\n\n", "a\n")]
        [InlineData("\n", "")]
        [InlineData("", "")]
        [InlineData("ok\r", "ok\r")]
        public void Only_the_final_line_break_goes(string text, string shown) =>
            Assert.Equal(shown, PowerShellView.WithoutFinalLineBreak(text));

        /// <summary>
        /// The copy handed to PowerShell carries every property of the original (so a property added to FleetResult
        /// later can't silently be missing in PowerShell), and the original keeps its exact output.
        /// </summary>
        [Fact]
        public void A_result_is_copied_whole_and_the_original_keeps_its_bytes()
        {
            var original = new FleetResult
            {
                HostName = "web-01", Command = "echo ok", Status = FleetStatus.Failed, ExitCode = 3, StdOut = "ok\n", StdErr = "warn\r\n",
                Truncated = true, StartTime = new DateTime(2026, 11, 27, 1, 2, 3, DateTimeKind.Utc), Duration = TimeSpan.FromSeconds(1.5),
                Attempts = 2, ErrorKind = FleetErrorKind.CommandTimeout, ErrorMessage = "slow", OutputHash = "abc",
                Groups = new[] { "web" }, Tags = new[] { "prod", "nginx" }, Transport = "openssh",
            };
            var shown = PowerShellView.Of(original);
            Assert.Equal("ok", shown.StdOut);
            Assert.Equal("warn", shown.StdErr);
            Assert.Equal("ok\n", original.StdOut);
            foreach (var property in typeof(FleetResult).GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.Name != "StdOut" && p.Name != "StdErr"))
                Assert.True(Equals(property.GetValue(original), property.GetValue(shown)), $"{property.Name} was not copied");
            var settable = typeof(FleetResult).GetProperties().Where(p => p.CanWrite).Select(p => p.Name).OrderBy(n => n);
            // Every settable property is given a non-default value above; a new one must be added there (and to the copy).
            Assert.Equal(new[] { "Attempts", "Command", "Duration", "ErrorKind", "ErrorMessage", "ExitCode", "Groups", "HostName", "OutputHash", "StartTime", "Status", "StdErr", "StdOut", "Tags", "Transport", "Truncated" }
                .OrderBy(n => n), settable);
        }

        [Fact]
        public void Watch_results_runs_and_changes_show_their_results_the_same_way()
        {
            var result = new FleetResult { HostName = "h", StdOut = "v2\n" };
            var watched = new WatchResult(result, 3, DateTime.UtcNow) { Changed = true, Diff = "-v1\n+v2\n", HistoryRunId = 7, WatchId = 5, IsLastOfIteration = true };
            var shownWatch = PowerShellView.Of(watched);
            Assert.Equal("v2", shownWatch.StdOut);
            Assert.True(shownWatch.Changed);
            Assert.Equal((3, "-v1\n+v2\n", 7L, 5L, true), (shownWatch.Iteration, shownWatch.Diff, shownWatch.HistoryRunId!.Value, shownWatch.WatchId!.Value, shownWatch.IsLastOfIteration));

            var run = new RecordedRun(new HistoryRunRecord { Id = 4 }, new[] { result });
            Assert.Equal("v2", PowerShellView.Of(run).Results.Single().StdOut);
            var change = new HostChange { HostName = "h", Change = HostChangeKind.Changed, Reference = new FleetResult { StdOut = "v1\n" }, Difference = result, Diff = "d" };
            var shownChange = PowerShellView.Of(change);
            Assert.Equal(("v1", "v2", "d"), (shownChange.Reference!.StdOut, shownChange.Difference!.StdOut, shownChange.Diff));
            Assert.Equal("v2\n", result.StdOut);
        }

        [Theory]
        [InlineData("apt-get -s upgrade", "apt-get -s upgrade")]
        [InlineData("  df -h /\n  | tail -1 ", "df -h / | tail -1")]
        [InlineData("", "FleetJob")]
        public void Jobs_are_named_after_their_command(string command, string name) => Assert.Equal(name, PowerShellView.JobName(command));

        [Fact]
        public void A_long_command_makes_a_cut_job_name()
        {
            var name = PowerShellView.JobName(new string('x', 200));
            Assert.Equal(PowerShellView.JobNameLength, name.Length);
            Assert.EndsWith("\u2026", name);
        }
    }

    public class NameListTests
    {
        [Fact]
        public void Prints_as_a_comma_list_and_behaves_as_a_list()
        {
            NameList tags = new[] { "prod", "nginx" };
            Assert.Equal("prod,nginx", tags.ToString());
            Assert.Equal(2, tags.Count);
            Assert.Equal(2, tags.Length);
            Assert.Equal("nginx", tags[1]);
            var (exact, otherCase) = (tags.Contains("prod"), tags.Contains("Prod")); // NameList.Contains itself: ordinal
            Assert.True(exact);
            Assert.False(otherCase);
            Assert.Equal(new[] { "prod", "nginx" }, tags.ToArray());
            Assert.Throws<NotSupportedException>(() => ((System.Collections.Generic.IList<string>)tags).Add("x"));
            Assert.Same(NameList.Empty, (NameList)Array.Empty<string>());
            Assert.Equal("", NameList.Empty.ToString());
            Assert.Equal(new NameList(new[] { "a", "b" }), (NameList)new[] { "a", "b" });
        }
    }
}
