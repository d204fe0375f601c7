using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using HerdPS.Tests.Display;
using HerdPS.Tests.Files;
using HerdPS.Tests.Fleet;
using HerdPS.Tests.Inventory;
using HerdPS.Tests.Watch;

namespace HerdPS.Tests.Cli
{
    /// <summary>
    /// Terminal injection through the real herd binary: hosts of the sshd fleet print escape sequences (a window
    /// title, cursor-up + erase-line, an OSC 52 clipboard write, a C1 CSI, a right-to-left override), and every
    /// human view is checked byte by byte: no ESC, BEL, other C0 control but newline and tab, DEL, C1 control or
    /// bidi/format character reaches stdout or stderr, while the escaped form is visibly there. NDJSON keeps the
    /// exact content.
    /// </summary>
    [Collection(SshFleetCollection.Name)]
    public sealed class HostileOutputCliTests : IDisposable
    {
        /// <summary>One line of hostile output; each sequence is a different attack.</summary>
        public const string HostileLine = "title:\u001b]0;pwned\u0007 up:\u001b[1A\u001b[2K clip:\u001b]52;c;cHduZWQ=\u0007 c1:\u009b31m bidi:\u202eevil\u202c";
        /// <summary>How <see cref="HostileLine"/> must look in a human view.</summary>
        public const string HostileShown = @"title:\x1b]0;pwned\x07 up:\x1b[1A\x1b[2K clip:\x1b]52;c;cHduZWQ=\x07 c1:\u009b31m bidi:\u202eevil\u202c";

        private readonly SshFleet _fleet;
        private readonly TempDirectory _dir = new TempDirectory();
        private readonly Dictionary<string, string> _env;
        private readonly WatchFiles _files = new WatchFiles();

        public HostileOutputCliTests(SshFleet fleet)
        {
            _fleet = fleet;
            _env = new Dictionary<string, string>
            {
                ["HERD_CONTROL_DIR"] = Path.Combine(fleet.ControlDirectory, "cli-hostile"),
                ["HERD_HISTORY"] = Path.Combine(_dir.Path, "history.db"),
            };
        }

        public void Dispose()
        {
            _files.Dispose();
            _dir.Dispose();
        }

        private string[] Herd(string verb, params string[] rest) =>
            new[] { verb, "-F", _fleet.SshConfigPath, "--connect-timeout", "3s" }.Concat(rest).ToArray();

        /// <summary>
        /// Fails when <paramref name="bytes"/> hold anything a terminal would act on: a C0 control other than newline
        /// and tab (carriage return too when <paramref name="allowCarriageReturn"/>, for a pty), DEL, bytes that are
        /// not UTF-8, a C1 control or a bidi/format character.
        /// </summary>
        internal static void AssertInert(byte[] bytes, string what, bool allowCarriageReturn = false)
        {
            for (int i = 0; i < bytes.Length; i++)
            {
                byte b = bytes[i];
                bool allowed = b == '\n' || b == '\t' || (allowCarriageReturn && b == '\r');
                if (b < 0x20 && !allowed || b == 0x7f)
                    Assert.Fail($"{what}: raw byte 0x{b:x2} at {i}, near: {Around(bytes, i)}");
            }
            string text;
            try
            {
                text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
            }
            catch (DecoderFallbackException e)
            {
                Assert.Fail($"{what}: not UTF-8 ({e.Message})");
                return;
            }
            for (int i = 0; i < text.Length; i++)
                if (TerminalTextTests.IsForbidden(text[i]) && !(allowCarriageReturn && text[i] == '\r'))
                    Assert.Fail($"{what}: raw U+{(int)text[i]:X4} at {i}");
        }

        private static string Around(byte[] bytes, int i)
        {
            var from = Math.Max(0, i - 40);
            var s = Encoding.UTF8.GetString(bytes, from, Math.Min(bytes.Length, i + 40) - from);
            return HerdPS.Display.TerminalText.Line(s);
        }

        private static void AssertInert(HerdProcess.RawOutcome o, string what)
        {
            AssertInert(o.StdOut, what + " stdout");
            AssertInert(o.StdErr, what + " stderr");
        }

        private static List<JsonElement> JsonLines(string stdout) =>
            stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();

        [Fact]
        public async Task TheGroupedViewShowsHostileOutputEscapedAndJsonKeepsItExact()
        {
            var hosts = new[] { _fleet.Hosts[130], _fleet.Hosts[131], _fleet.Hosts[132] };
            _files.Write(hosts[0], HostileLine + "\nsame\n");
            _files.Write(hosts[1], HostileLine + "\nsame\n");
            _files.Write(hosts[2], HostileLine + "\nother \u001b[31mred\u001b[0m\n"); // the outlier: its diff carries escapes too
            // The command also writes its hostile line to stderr, and one host is unreachable (a message, not output).
            var command = $"{_files.CatCommand}; printf '\\033]0;stderr\\007\\n' >&2";
            var o = await HerdProcess.RunRawAsync(Herd("exec", "-H", string.Join(",", hosts) + "," + _fleet.RefusedHost, command), _env);
            Assert.Equal(1, o.ExitCode);
            AssertInert(o, "exec");
            var text = o.StdOutText;
            Assert.Contains(" 2 hosts identical:\n   " + $"h[{hosts[0].Substring(1)}-{hosts[1].Substring(1)}]\n   " + HostileShown + "\n   same\n", text);
            Assert.Contains("+other \\x1b[31mred\\x1b[0m", text);
            Assert.Contains(@"\x1b]0;stderr\x07", text);

            var json = await HerdProcess.RunRawAsync(Herd("exec", "-H", string.Join(",", hosts), "--json", command), _env);
            var lines = JsonLines(json.StdOutText);
            Assert.Equal(3, lines.Count);
            Assert.All(lines, l => Assert.StartsWith(HostileLine + "\n", l.GetProperty("stdOut").GetString()));
            Assert.All(lines, l => Assert.Equal("\u001b]0;stderr\u0007\n", l.GetProperty("stdErr").GetString()));
            AssertInert(json, "exec --json"); // JSON's own escaping leaves no raw control character either
        }

        [Fact]
        public async Task HistoryShowDiffAndListAndDiffLastShowHostileOutputAndCommandsEscaped()
        {
            var hosts = new[] { _fleet.Hosts[133], _fleet.Hosts[134] };
            foreach (var h in hosts) _files.Write(h, HostileLine + "\n");
            // The command itself holds raw escapes (a quoted word for the no-op ':'), first so the history table's
            // shortened command column still shows them.
            var command = ": '\u001b]0;cmd\u0007\u202e'; " + _files.CatCommand;
            var args = Herd("exec", "-H", string.Join(",", hosts), "--diff-last", command);

            var firstJson = await HerdProcess.RunRawAsync(Herd("exec", "-H", string.Join(",", hosts), "--diff-last", "--json", command), _env);
            Assert.Equal(0, firstJson.ExitCode);
            AssertInert(firstJson.StdErr, "--diff-last --json notice");
            Assert.Contains(@"no earlier finished run of ': '\x1b]0;cmd\x07\u202e'; cat", firstJson.StdErrText);

            _files.Write(hosts[1], HostileLine + "\n\u001b]52;c;Y2hhbmdlZA==\u0007 changed\n");
            var second = await HerdProcess.RunRawAsync(args, _env);
            Assert.Equal(0, second.ExitCode);
            AssertInert(second, "exec --diff-last");
            Assert.Contains("1 host changed:", second.StdOutText);
            Assert.Contains(@"+\x1b]52;c;Y2hhbmdlZA==\x07 changed", second.StdOutText);

            var list = await HerdProcess.RunRawAsync(new[] { "history" }, _env);
            AssertInert(list, "history");
            Assert.Contains(@": '\x1b]0;cmd\x07\u202e'; cat", list.StdOutText);

            var ids = JsonLines((await HerdProcess.RunAsync(new[] { "history", "--json" }, _env)).StdOut).Select(r => r.GetProperty("id").GetInt64().ToString()).ToList();
            var show = await HerdProcess.RunRawAsync(new[] { "history", "show", ids[0] }, _env);
            Assert.Equal(0, show.ExitCode);
            AssertInert(show, "history show");
            Assert.Contains(HostileShown, show.StdOutText);
            Assert.Contains(@": '\x1b]0;cmd\x07\u202e'; cat", show.StdOutText);

            var diff = await HerdProcess.RunRawAsync(new[] { "history", "diff", ids[1], ids[0] }, _env);
            Assert.Equal(1, diff.ExitCode);
            AssertInert(diff, "history diff");
            Assert.Contains(@"+\x1b]52;c;Y2hhbmdlZA==\x07 changed", diff.StdOutText);

            var showJson = await HerdProcess.RunRawAsync(new[] { "history", "show", ids[0], "--json" }, _env);
            Assert.All(JsonLines(showJson.StdOutText), l => Assert.StartsWith(HostileLine + "\n", l.GetProperty("stdOut").GetString()));
        }

        [Fact]
        public async Task WatchIterationsAndTheirChangeDiffsAreEscaped()
        {
            var hosts = new[] { _fleet.Hosts[135], _fleet.Hosts[136] };
            foreach (var h in hosts) _files.Write(h, HostileLine + "\n");
            // Every iteration prints a new line that itself holds escapes, so every iteration after the first is a change.
            var command = $"{_files.CatCommand}; printf '\\033[2Kat %s\\n' \"$(date +%s%N)\"";
            foreach (var changesOnly in new[] { false, true })
            {
                var extra = changesOnly ? new[] { "--changes-only" } : Array.Empty<string>();
                var o = await HerdProcess.RunRawAsync(Herd("watch", new[] { "-H", string.Join(",", hosts), "--interval", "1s", "--count", "2", command }.Concat(extra).ToArray()), _env);
                Assert.Equal(0, o.ExitCode);
                AssertInert(o, changesOnly ? "watch --changes-only" : "watch");
                Assert.Contains("2 hosts changed since iteration 1:", o.StdOutText);
                Assert.Contains(@"+\x1b[2Kat ", o.StdOutText);
                if (!changesOnly) Assert.Contains(HostileShown, o.StdOutText);
            }
        }

        [Fact]
        public async Task FileDriftShowsHostileContentEscaped()
        {
            var drift = DriftFleet.For(_fleet);
            var name = "hostile-" + Guid.NewGuid().ToString("N").Substring(0, 8) + ".conf";
            File.WriteAllText(Path.Combine(drift['a'].FilesDirectory!, name), HostileLine + "\nport=80\n");
            File.WriteAllText(Path.Combine(drift['b'].FilesDirectory!, name), HostileLine + "\nport=80\n");
            File.WriteAllText(Path.Combine(drift['c'].FilesDirectory!, name), HostileLine + "\nport=\u001b]52;c;eA==\u0007\n");
            try
            {
                var env = new Dictionary<string, string>(_env) { ["HERD_CONTROL_DIR"] = Path.Combine(_fleet.ControlDirectory, "cli-hostile-drift") };
                var o = await HerdProcess.RunRawAsync(new[] { "diff", "-F", drift.ConfigPath, "-H", "drift-a,drift-b,drift-c", DriftFleet.Remote(name) }, env);
                Assert.Equal(0, o.ExitCode);
                AssertInert(o, "herd diff");
                Assert.Contains(" 2 hosts identical:\n   drift-a,drift-b\n", o.StdOutText);
                Assert.Contains("   " + HostileShown + "\n", o.StdOutText);
                Assert.Contains(@"+port=\x1b]52;c;eA==\x07", o.StdOutText);
            }
            finally
            {
                foreach (var id in "abc") File.Delete(Path.Combine(drift[id].FilesDirectory!, name));
            }
        }

        [Fact]
        public async Task SnapshotViewsShowWhatAHostileHostReportsEscaped()
        {
            // A host whose /etc/os-release (bind-mounted inside its own namespace) names its OS with escape sequences.
            var osRelease = (string os) => $"PRETTY_NAME=\"{os}\"\nID=debian\nVERSION_ID=\"12\"\n";
            using var host = _fleet.StartIsolatedHost("hostile-os", dir => File.WriteAllText(Path.Combine(dir, "os-release"), osRelease("Debian \u001b]0;pwned\u0007\u202e")),
                $"mount --bind {SshFleet.IsolatedMountPoint}/os-release /etc/os-release");
            var config = _fleet.WriteCombinedConfig("hostile-os", new[] { host });
            var env = new Dictionary<string, string>(_env)
            {
                ["HERD_CONTROL_DIR"] = Path.Combine(_fleet.ControlDirectory, "cli-hostile-os"),
                ["HERD_HISTORY"] = Path.Combine(_dir.Path, "snapshots.db"),
            };
            var first = await HerdProcess.RunRawAsync(new[] { "snapshot", "-F", config, "-H", "hostile-os" }, env);
            Assert.True(first.ExitCode == 0, first.StdOutText + first.StdErrText);
            AssertInert(first, "snapshot");
            File.WriteAllText(Path.Combine(host.FilesDirectory!, "os-release"), osRelease("Debian \u001b[1A\u001b[2K\u009b"));
            var second = await HerdProcess.RunRawAsync(new[] { "snapshot", "-F", config, "-H", "hostile-os" }, env);
            Assert.Equal(0, second.ExitCode);

            var show = await HerdProcess.RunRawAsync(new[] { "snapshot", "show", "1" }, env);
            AssertInert(show, "snapshot show");
            Assert.Contains(@"os:       Debian \x1b]0;pwned\x07\u202e;", show.StdOutText);
            var diff = await HerdProcess.RunRawAsync(new[] { "snapshot", "diff", "1", "2", "--disk-threshold", "100" }, env);
            AssertInert(diff, "snapshot diff");
            Assert.Contains(@"os: Debian \x1b]0;pwned\x07\u202e -> Debian \x1b[1A\x1b[2K\u009b", diff.StdOutText);
            var list = await HerdProcess.RunRawAsync(new[] { "snapshot", "list" }, env);
            AssertInert(list, "snapshot list");
        }

        [Fact]
        public async Task ErrorMessagesEscapeAndShortenHostileNamesAndValues()
        {
            var inventory = Path.Combine(_dir.Path, "hostile.yaml");
            // YAML's own escapes put a raw RLO, ESC and BEL into the name.
            File.WriteAllText(inventory, "groups:\n  web:\n    hosts: [\"web\\u202e\\e]0;pwned\\a\"]\n");
            var badName = await HerdProcess.RunRawAsync(new[] { "exec", "-i", inventory, "true" }, _env);
            Assert.Equal(2, badName.ExitCode);
            AssertInert(badName, "bad inventory host name");
            Assert.Contains(@"web\u202e\x1b]0;pwned\x07", badName.StdErrText);

            // A 10 MB host name (in a host list file: argv can't hold one) is cut, with its length said.
            var list = Path.Combine(_dir.Path, "hosts.txt");
            File.WriteAllText(list, new string('w', 10 * 1024 * 1024) + "\n");
            var huge = await HerdProcess.RunRawAsync(new[] { "exec", "-i", list, "true" }, _env);
            Assert.Equal(2, huge.ExitCode);
            AssertInert(huge, "huge host name");
            Assert.True(huge.StdErr.Length < 1000, $"{huge.StdErr.Length} bytes on stderr");
            Assert.Contains("(10485760 characters)", huge.StdErrText);

            foreach (var args in new[]
            {
                new[] { "exec", "-H", "web\u001b[2K\u202e", "true" },
                new[] { "exec", "-H", "h001", "true", "--\u001b]0;pwned\u0007" },
                new[] { "exec", "-g", "\u001b]52;c;eA==\u0007", "true" },
                new[] { "exec", "-H", "h001", "--timeout", "\u001b[1A", "true" },
                new[] { "exec", "-H", "h001", "-u", "\u202eroot", "true" },
            })
            {
                var o = await HerdProcess.RunRawAsync(args, _env);
                Assert.Equal(2, o.ExitCode);
                AssertInert(o, "error for " + HerdPS.Display.TerminalText.Line(string.Join(" ", args)));
                Assert.Matches(@"\\x1b|\\u202e", o.StdErrText);
            }
        }

        [Fact]
        public async Task TheProgressLineOnATerminalCarriesNoControlSequence()
        {
            var hosts = new[] { _fleet.Hosts[137], _fleet.Hosts[138], _fleet.Hosts[139] };
            foreach (var h in hosts) _files.Write(h, HostileLine + "\n");
            // script(1) gives herd a pseudo-terminal, so stderr is a terminal and the progress line is drawn.
            var herd = string.Join(" ", new[] { HerdProcess.Path }.Concat(Herd("exec", "-H", string.Join(",", hosts), _files.CatCommand)).Select(Quote));
            var psi = HerdProcess.StartInfo(Array.Empty<string>(), _env);
            psi.FileName = "script";
            foreach (var a in new[] { "-qefc", herd, "/dev/null" }) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            p.StandardInput.Close();
            var output = new MemoryStream();
            var copy = p.StandardOutput.BaseStream.CopyToAsync(output);
            var errors = p.StandardError.ReadToEndAsync();
            using var cts = new System.Threading.CancellationTokenSource(TimeSpan.FromMinutes(2));
            await p.WaitForExitAsync(cts.Token);
            await copy;
            var bytes = output.ToArray();
            var text = Encoding.UTF8.GetString(bytes);
            Assert.True(p.ExitCode == 0, $"exit {p.ExitCode}: {text} {await errors}");
            Assert.Contains("[3/3] running 0, not succeeded 0", text); // the progress line was drawn
            Assert.Contains(HostileShown, text);
            AssertInert(bytes, "terminal", allowCarriageReturn: true);
        }

        private static string Quote(string word) => "'" + word.Replace("'", "'\\''") + "'";
    }
}
