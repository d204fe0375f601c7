using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using HerdPS.Tests.Fleet;
using HerdPS.Tests.History;
using HerdPS.Tests.Inventory;

namespace HerdPS.Tests.Cli
{
    /// <summary>
    /// herd exec keeps output past 256 KiB per host in private temporary files, not memory: every reader still
    /// gets all of it, and no file is left once herd exits.
    /// </summary>
    [Collection("ssh fleet")]
    public class LargeOutputCliTests
    {
        private readonly SshFleet _fleet;

        public LargeOutputCliTests(SshFleet fleet)
        {
            _fleet = fleet;
        }

        private string[] Exec(params string[] rest) => new[] { "exec", "-F", _fleet.SshConfigPath, "--connect-timeout", "3s" }.Concat(rest).ToArray();

        // About 1 MiB of lines naming the host, multi-byte characters included, then a last line of its own.
        private const string BigCommand = "yes \"$HERD_ALIAS é€😀 0123456789\" | head -n 40000; echo \"END $HERD_ALIAS\"";

        private static string Expected(string alias)
        {
            var line = alias + " é€😀 0123456789\n";
            return string.Concat(Enumerable.Repeat(line, 40000)) + "END " + alias + "\n";
        }

        private Dictionary<string, string> Env(TempDirectory dir) => new Dictionary<string, string>
        {
            ["HERD_CONTROL_DIR"] = Path.Combine(_fleet.ControlDirectory, "cli-large"),
            ["HERD_SPILL_DIR"] = Path.Combine(dir.Path, "spill"),
            ["HERD_HISTORY"] = Path.Combine(dir.Path, "history.db"),
        };

        [Fact]
        public async Task JsonCarriesEveryByteOfLargeOutputsAndTheHistoryRecordsThemAll()
        {
            using var dir = new TempDirectory();
            var hosts = _fleet.Hosts.Skip(150).Take(4).ToArray();
            var o = await HerdProcess.RunAsync(Exec("-H", string.Join(",", hosts), "-T", "2", "--json", "--", BigCommand), Env(dir));
            Assert.True(o.ExitCode == 0, o.StdErr);
            var lines = o.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(4, lines.Length);
            foreach (var line in lines)
            {
                using var doc = JsonDocument.Parse(line);
                var host = doc.RootElement.GetProperty("hostName").GetString()!;
                Assert.Equal(Expected(host), doc.RootElement.GetProperty("stdOut").GetString());
                Assert.False(doc.RootElement.GetProperty("truncated").GetBoolean());
            }
            // The spill folder was made (so output did go through files) and nothing is left in it.
            Assert.True(Directory.Exists(Path.Combine(dir.Path, "spill")));
            Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(dir.Path, "spill")));
            var db = Path.Combine(dir.Path, "history.db");
            using (var store = HerdPS.History.HistoryStore.Open(db))
            {
                var recorded = store.ReadResults(store.ListRuns(new HerdPS.History.HistoryQuery { Last = 1 }).Single().Id).ToList();
                Assert.Equal(hosts.OrderBy(h => h, StringComparer.Ordinal), recorded.Select(r => r.HostName));
                Assert.All(recorded, r => Assert.True(string.Equals(Expected(r.HostName), r.StdOut, StringComparison.Ordinal), $"{r.HostName}'s output was not recorded whole"));
            }
            // Each host's output is a blob of its own, whole.
            Assert.Equal(hosts.Length, HistoryTestData.Scalar(db, "SELECT count(*) FROM run_blobs"));
            Assert.Equal(hosts.Sum(h => (long)Encoding.UTF8.GetByteCount(Expected(h))),
                HistoryTestData.Scalar(db, "SELECT sum(b.raw_length) FROM run_blobs r JOIN blobs b ON b.id = r.blob_id"));
        }

        [Fact]
        public async Task TheGroupedViewStillShowsAndDiffsLargeOutputs()
        {
            using var dir = new TempDirectory();
            var hosts = _fleet.Hosts.Skip(160).Take(3).ToArray();
            // Two hosts print the same megabyte; the third's differs in one line in the middle.
            var cmd = $"yes 'same line é€😀' | head -n 30000; if [ \"$HERD_ALIAS\" = {hosts[2]} ]; then echo ODD; else echo even; fi; yes 'tail line' | head -n 30000";
            var o = await HerdProcess.RunAsync(Exec("-H", string.Join(",", hosts), "--", cmd), Env(dir));
            Assert.True(o.ExitCode == 0, o.StdErr);
            Assert.Contains("2 hosts identical:", o.StdOut);
            Assert.Contains("1 host differs:", o.StdOut);
            Assert.Contains("-even", o.StdOut);
            Assert.Contains("+ODD", o.StdOut);
            Assert.Contains("same line é€😀", o.StdOut);
            Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(dir.Path, "spill")));
        }
    }
}
