using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using HerdPS.Tests.Cli;
using HerdPS.Tests.Fleet;
using HerdPS.Tests.Inventory;

namespace HerdPS.Tests.Files
{
    /// <summary>The real herd binary: diff, push, pull and snapshot output and exit codes.</summary>
    [Collection(SshFleetCollection.Name)]
    public sealed class FileCliTests
    {
        private readonly DriftFleet _drift;
        private readonly Dictionary<string, string> _env;

        public FileCliTests(SshFleet fleet)
        {
            _drift = DriftFleet.For(fleet);
            _env = new Dictionary<string, string> { ["HERD_CONTROL_DIR"] = Path.Combine(fleet.ControlDirectory, "files-cli") };
        }

        private string[] Args(string verb, string hosts, params string[] rest) =>
            new[] { verb, "-F", _drift.ConfigPath, "-H", hosts }.Concat(rest).ToArray();

        [Fact]
        public async Task DiffShowsTheGroupedViewAndExitsOneOnlyForUnreadHostsOrWithFailOnDrift()
        {
            var o = await HerdProcess.RunAsync(Args("diff", "drift-a,drift-b,drift-c,drift-d", DriftFleet.Remote("app.conf")), _env);
            Assert.Equal(0, o.ExitCode);
            Assert.Contains(" 3 hosts identical:", o.StdOut);
            Assert.Contains(" 1 host differs:\n   drift-d\n   --- norm (3 hosts)\n   +++ drift-d\n", o.StdOut);
            Assert.Contains("-port=80\n   +port=8080", o.StdOut);
            Assert.Contains("4 files compared, 1 differs", o.StdOut);

            var drift = await HerdProcess.RunAsync(Args("diff", "drift-a,drift-d", DriftFleet.Remote("app.conf"), "--fail-on-drift"), _env);
            Assert.Equal(1, drift.ExitCode);
            var missing = await HerdProcess.RunAsync(Args("diff", "drift-a,drift-e", DriftFleet.Remote("app.conf")), _env);
            Assert.Equal(1, missing.ExitCode);
        }

        [Fact]
        public async Task DiffJsonIsOneObjectPerHost()
        {
            var o = await HerdProcess.RunAsync(Args("diff", "drift-a,drift-e", DriftFleet.Remote("app.conf"), "--json"), _env);
            var lines = o.StdOut.Trim().Split('\n').Select(l => JsonDocument.Parse(l).RootElement).ToList();
            Assert.Equal(2, lines.Count);
            Assert.Equal("Ok", lines[0].GetProperty("status").GetString());
            Assert.Equal(DriftFleet.Sha256(DriftFleet.AppConf), lines[0].GetProperty("sha256").GetString());
            Assert.True(lines[0].GetProperty("isNorm").GetBoolean());
            Assert.Equal("Missing", lines[1].GetProperty("status").GetString());
            Assert.Equal(JsonValueKind.Null, lines[1].GetProperty("length").ValueKind);
        }

        [Fact]
        public async Task PushAndPullThroughTheBinary()
        {
            using var temp = new TempDirectory();
            var local = temp.Write("cli.conf", "from the cli\n");
            var push = await HerdProcess.RunAsync(Args("push", "drift-c", local, DriftFleet.Remote("push/cli.conf")), _env);
            Assert.Equal(0, push.ExitCode);
            Assert.Contains("drift-c: Transferred, 13 bytes, sha256 verified", push.StdOut);
            var again = await HerdProcess.RunAsync(Args("push", "drift-c", local, DriftFleet.Remote("push/cli.conf")), _env);
            Assert.Equal(1, again.ExitCode);
            Assert.Contains("drift-c: Exists", again.StdOut);

            var pull = await HerdProcess.RunAsync(Args("pull", "drift-c", DriftFleet.Remote("push/cli.conf"), Path.Combine(temp.Path, "out")), _env);
            Assert.Equal(0, pull.ExitCode);
            Assert.Equal("from the cli\n", File.ReadAllText(Path.Combine(temp.Path, "out", "drift-c", "cli.conf")));
            File.Delete(Path.Combine(_drift['c'].FilesDirectory!, "push", "cli.conf"));

            var usage = await HerdProcess.RunAsync(Args("push", "drift-c", Path.Combine(temp.Path, "nope"), "/tmp/x"), _env);
            Assert.Equal(2, usage.ExitCode);
        }

        [Fact]
        public async Task SnapshotListShowAndDiff()
        {
            using var temp = new TempDirectory();
            var env = new Dictionary<string, string>(_env) { ["HERD_HISTORY"] = Path.Combine(temp.Path, "history.db") };
            var one = await HerdProcess.RunAsync(Args("snapshot", "drift-a"), env);
            Assert.Equal(0, one.ExitCode);
            Assert.Contains("Snapshot #1 saved (1 hosts, 1 captured", one.StdOut);
            var two = await HerdProcess.RunAsync(Args("snapshot", "drift-a"), env);
            Assert.Equal(0, two.ExitCode);

            var list = await HerdProcess.RunAsync(new[] { "snapshot", "list" }, env);
            Assert.Equal(0, list.ExitCode);
            Assert.Contains("host=drift-a", list.StdOut);
            var show = await HerdProcess.RunAsync(new[] { "snapshot", "show", "1" }, env);
            Assert.Contains(" drift-a: Captured", show.StdOut);
            Assert.Contains("packages:", show.StdOut);
            var diff = await HerdProcess.RunAsync(new[] { "snapshot", "diff", "1", "2", "--disk-threshold", "100" }, env);
            Assert.Equal(0, diff.ExitCode);
            Assert.Contains("1 host unchanged", diff.StdOut);
            var missing = await HerdProcess.RunAsync(new[] { "snapshot", "show", "99" }, env);
            Assert.Equal(2, missing.ExitCode);
        }
    }
}
