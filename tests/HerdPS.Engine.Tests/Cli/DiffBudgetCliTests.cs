using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using HerdPS.Tests.Fleet;
using HerdPS.Tests.Inventory;

namespace HerdPS.Tests.Cli
{
    /// <summary>
    /// Outputs that differ everywhere (the case that took minutes of CPU per pair before diffs were bounded) give
    /// herd exec's grouped view a summary per differing host, promptly, instead of a diff that never ends.
    /// </summary>
    [Collection("ssh fleet")]
    public class DiffBudgetCliTests
    {
        private readonly SshFleet _fleet;

        public DiffBudgetCliTests(SshFleet fleet)
        {
            _fleet = fleet;
        }

        [Fact]
        public async Task HostsWithRandomOutputsGetASummaryInTheGroupedView()
        {
            using var dir = new TempDirectory();
            var hosts = _fleet.Hosts.Skip(170).Take(4).ToArray();
            // 120,000 lines of random 0s and 1s after a common first line: the same on the first two hosts (the
            // norm), another sequence on each of the other two.
            string command = $"case $HERD_ALIAS in {hosts[2]}) seed=2;; {hosts[3]}) seed=3;; *) seed=1;; esac; " +
                "awk -v seed=$seed 'BEGIN { srand(seed); print \"header\"; for (i = 0; i < 120000; i++) print int(rand() * 2) }'";
            var env = new Dictionary<string, string>
            {
                ["HERD_CONTROL_DIR"] = Path.Combine(_fleet.ControlDirectory, "cli-diff-budget"),
                ["HERD_HISTORY"] = Path.Combine(dir.Path, "history.db"),
            };

            var o = await HerdProcess.RunAsync(new[] { "exec", "-F", _fleet.SshConfigPath, "--connect-timeout", "3s", "-H", string.Join(",", hosts), "--", command }, env);

            Assert.True(o.ExitCode == 0, o.StdErr);
            Assert.Contains("2 hosts identical:", o.StdOut);
            Assert.Equal(2, o.StdOut.Split('\n').Count(l => l.Trim() == "1 host differs:"));
            var summaries = o.StdOut.Split('\n').Where(l => l.Contains("(no line-by-line diff: these texts differ in too many places")).ToList();
            Assert.Equal(2, summaries.Count);
            Assert.Equal(2, o.StdOut.Split('\n').Count(l => l.Trim().StartsWith("first difference, line ")));
            Assert.Contains("120,001 lines, SHA-256 ", o.StdOut);
        }
    }
}
