using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using HerdPS.Tests.Fleet;
using HerdPS.Tests.Inventory;

namespace HerdPS.Tests.Cli
{
    /// <summary>
    /// The real herd binary against the real fleet: a misspelled option or a hostile --user runs nothing (a marker
    /// file the command would create stays absent), the no-inventory notice tells the truth, and pdsh ranges work
    /// in -H and -x with host lists folded in the human view.
    /// </summary>
    [Collection(SshFleetCollection.Name)]
    public sealed class CommandLineSafetyCliTests : IDisposable
    {
        private readonly SshFleet _fleet;
        private readonly TempDirectory _dir = new TempDirectory();
        private readonly Dictionary<string, string> _env;
        // Under /tmp: the remote side logs in as another user when the tests run as root, and must be able to create it.
        private readonly string _marker = "/tmp/herd-ran-" + Guid.NewGuid().ToString("N");

        public CommandLineSafetyCliTests(SshFleet fleet)
        {
            _fleet = fleet;
            _env = new Dictionary<string, string>
            {
                ["HERD_CONTROL_DIR"] = Path.Combine(fleet.ControlDirectory, "cli-safety"),
                ["HERD_HISTORY"] = Path.Combine(_dir.Path, "history.db"),
            };
        }

        public void Dispose()
        {
            File.Delete(_marker);
            _dir.Dispose();
        }

        private string Host => _fleet.Hosts[140];

        private string[] Herd(string verb, params string[] rest) =>
            new[] { verb, "-F", _fleet.SshConfigPath, "--connect-timeout", "3s" }.Concat(rest).ToArray();

        private async Task AssertRefusedAndNothingRan(string[] args, string expected)
        {
            var o = await HerdProcess.RunAsync(args, _env);
            Assert.True(2 == o.ExitCode, $"exit {o.ExitCode}\n{o.StdOut}\n{o.StdErr}");
            Assert.Equal("", o.StdOut);
            Assert.Contains(expected, o.StdErr);
            Assert.DoesNotContain("may have run", o.StdErr);
            Assert.False(File.Exists(_marker), "the command ran");
        }

        [Fact]
        public async Task AMisspelledOptionIsRefusedWithASuggestionAndNothingRuns()
        {
            var touch = $"touch {_marker}";
            await AssertRefusedAndNothingRan(Herd("exec", touch, "-H", Host, "--exlcude=h003"),
                "unknown option '--exlcude=h003' (did you mean --exclude?); nothing was run");
            await AssertRefusedAndNothingRan(Herd("exec", "--timout", "5s", touch, "-H", Host), "unknown option '--timout' (did you mean --timeout?)");
            await AssertRefusedAndNothingRan(Herd("exec", "-H", Host, touch, "-n"), "unknown option '-n'");
            await AssertRefusedAndNothingRan(Herd("watch", touch, "-H", Host, "--count", "1", "--intreval", "1s"), "(did you mean --interval?)");
            await AssertRefusedAndNothingRan(Herd("exec", "-H", Host, "--jsno", touch), "(did you mean --json?)");
            await AssertRefusedAndNothingRan(Herd("exec", "-H", Host, "-X", "h001", touch), "unknown option '-X' (did you mean -x?)");
            // Commands with fixed arguments: a typo would have become a path.
            var pulled = Path.Combine(_dir.Path, "pulled");
            await AssertRefusedAndNothingRan(Herd("pull", "-H", Host, "/etc/hostname", pulled, "--forse"), "(did you mean --force?)");
            Assert.False(Directory.Exists(pulled));
            await AssertRefusedAndNothingRan(Herd("pull", "-H", Host, "/etc/hostname", "--forse"), "(did you mean --force?)");
            Assert.False(Directory.Exists("--forse"));
            await AssertRefusedAndNothingRan(new[] { "history", "--lsat", "3" }, "(did you mean --last?)");
        }

        [Fact]
        public async Task WordsThatStartWithADashRunWhenTheyComeAfterTheDoubleDash()
        {
            var o = await HerdProcess.RunAsync(Herd("exec", "-H", Host, "--json", "--", "printf", "'%s\\n'", "-n-is-a-word", "--exclude=kept"), _env);
            Assert.Equal(0, o.ExitCode);
            var line = JsonDocument.Parse(o.StdOut.Trim()).RootElement;
            Assert.Equal("printf '%s\\n' -n-is-a-word --exclude=kept", line.GetProperty("command").GetString());
            Assert.Equal("-n-is-a-word\n--exclude=kept\n", line.GetProperty("stdOut").GetString());

            // '@word' is a word, not a response file of options.
            var at = await HerdProcess.RunAsync(Herd("exec", "-H", Host, "--json", "echo", "@no-such-file"), _env);
            Assert.Equal(0, at.ExitCode);
            Assert.Equal("@no-such-file\n", JsonDocument.Parse(at.StdOut.Trim()).RootElement.GetProperty("stdOut").GetString());
        }

        [Theory]
        [InlineData("-oProxyCommand=sh -c id", "starts with '-', which ssh would read as an option")]
        [InlineData("root;touch {0}", "';'")]
        [InlineData("$(touch {0})", "'$'")]
        public async Task AHostileUserIsRefusedBeforeAnythingRuns(string user, string why)
        {
            await AssertRefusedAndNothingRan(Herd("exec", "-u", string.Format(user, _marker), "-H", Host, $"touch {_marker}"),
                "--user: user name '");
            var o = await HerdProcess.RunAsync(Herd("exec", "-u", string.Format(user, _marker), "-H", Host, "true"), _env);
            Assert.Contains(why, o.StdErr);
            Assert.Contains("nothing was run", o.StdErr);
        }

        [Fact]
        public async Task WithoutAnInventoryNamedHostsAreNotCalledTheLocalMachine()
        {
            var o = await HerdProcess.RunAsync(Herd("exec", "-H", Host, "echo remote"), _env);
            Assert.Equal(0, o.ExitCode);
            Assert.Contains("no inventory found", o.StdErr);
            Assert.DoesNotContain("local machine", o.StdErr);
            Assert.Contains($"   {Host}\n   remote\n", o.StdOut);
        }

        [Fact]
        public async Task RangesSelectAndExcludeAndTheHumanViewFoldsTheHosts()
        {
            // h141..h150 minus h143, h144 and h149; a comma inside brackets is part of the range.
            var args = Herd("exec", "-H", "h[141-150]", "-x", "h[143-144,149]", "echo same");
            var o = await HerdProcess.RunAsync(args, _env);
            Assert.True(0 == o.ExitCode, o.StdOut + o.StdErr);
            Assert.Contains(" 7 hosts identical:\n   h[141-142,145-148,150]\n   same\n", o.StdOut);

            var json = await HerdProcess.RunAsync(args.Append("--json").ToArray(), _env);
            var names = json.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("hostName").GetString()).OrderBy(n => n);
            Assert.Equal(new[] { "h141", "h142", "h145", "h146", "h147", "h148", "h150" }, names);

            var padded = await HerdProcess.RunAsync(new[] { "hosts", "-H", "n[0001-0003],web-[08-10]", "--json" }, _env);
            Assert.Equal(0, padded.ExitCode);
            Assert.Equal(new[] { "n0001", "n0002", "n0003", "web-08", "web-09", "web-10" },
                padded.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("name").GetString()));
        }

        [Fact]
        public async Task AReaderThatGoesAwayIsNoCrash()
        {
            // herd writes to its file descriptors itself; a closed pipe (herd exec ... | head -1) must still just
            // drop the rest, as .NET's console stream did.
            foreach (var json in new[] { false, true })
            {
                var args = Herd("exec", "-H", Host, "sleep 0.3; seq 1 1000");
                using var p = System.Diagnostics.Process.Start(HerdProcess.StartInfo(json ? args.Append("--json") : args, _env))!;
                p.StandardInput.Close();
                p.StandardOutput.Close();
                var stderr = p.StandardError.ReadToEndAsync();
                using var cts = new System.Threading.CancellationTokenSource(TimeSpan.FromMinutes(1));
                await p.WaitForExitAsync(cts.Token);
                Assert.True(p.ExitCode == 0, $"exit {p.ExitCode}: {await stderr}");
                Assert.DoesNotContain("Unhandled exception", await stderr);
            }
        }

        [Theory]
        [InlineData("-H", "h[150-141]", "host pattern 'h[150-141]': '[150-141]' has a reversed range 150-141")]
        [InlineData("-H", "n[0001-0003", "host pattern 'n[0001-0003' has a '[' without a matching ']' at position 2")]
        [InlineData("-x", "web[z-a]", "host pattern 'web[z-a]' has the range z-a written high to low")]
        [InlineData("-x", "n[1-200000]", "host pattern 'n[1-200000]': '[1-200000]' expands to more than 100,000 names (the host limit; set $HERD_MAX_HOSTS to raise it)")]
        public async Task PatternErrorsAreWordedInOurOwnTerms(string option, string pattern, string expected)
        {
            await AssertRefusedAndNothingRan(Herd("exec", "-H", Host, option, pattern, $"touch {_marker}"), expected);
            var o = await HerdProcess.RunAsync(Herd("exec", option, pattern, "true"), _env);
            Assert.DoesNotContain("Invalid pattern", o.StdErr);
            Assert.DoesNotContain("offset", o.StdErr);
        }
    }
}
