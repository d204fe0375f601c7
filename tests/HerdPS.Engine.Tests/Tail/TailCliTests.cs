using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using HerdPS.Tail;
using HerdPS.Tests.Cli;
using HerdPS.Tests.Fleet;

namespace HerdPS.Tests.Tail
{
    /// <summary>The herd tail command as a user runs it: the real binary, real hosts, real signals.</summary>
    [Collection("ssh fleet")]
    public sealed class TailCliTests
    {
        private readonly SshFleet _fleet;

        public TailCliTests(SshFleet fleet) => _fleet = fleet;

        private static Dictionary<string, string> Env(LogHosts hosts) => new Dictionary<string, string> { ["HERD_CONTROL_DIR"] = hosts.ControlDirectory };

        [Theory]
        [InlineData("nothing to follow", "tail")]
        [InlineData("not both", "tail", "/var/log/x", "--journalctl", "nginx.service")]
        [InlineData("'(' is never closed", "tail", "/var/log/x", "--grep", "a(b")]
        [InlineData("--grep-exclude", "tail", "/var/log/x", "--grep-exclude", "[a")]
        [InlineData("applies to the journal", "tail", "/var/log/x", "--since", "5m")]
        [InlineData("at most 7 files", "tail", "/1", "/2", "/3", "/4", "/5", "/6", "/7", "/8")]
        [InlineData("--lines must be between 0", "tail", "/var/log/x", "--lines", "-1")]
        [InlineData("not a unit name", "tail", "--journalctl", "nginx; rm -rf /")]
        [InlineData("unknown option '--exclude-lines'", "tail", "/var/log/x", "--exclude-lines", "a")]
        [InlineData("control character", "tail", "/var/log/x\u001b]0;x\u0007")]
        public async Task Bad_input_is_exit_2_with_the_problem_named_and_nothing_run(string expected, params string[] args)
        {
            var r = await HerdProcess.RunAsync(args.Concat(new[] { "-H", "no-such-host.invalid" }));
            Assert.Equal(2, r.ExitCode);
            Assert.Contains(expected, r.StdErr);
            Assert.Equal("", r.StdOut);
            Assert.False(r.StdErr.Contains('\u001b'), "a hostile path must be shown escaped"); // (ordinal: culture compares ignore controls)
        }

        [Fact]
        public async Task Lines_stream_as_host_tagged_NDJSON_and_ctrl_c_ends_herd_and_every_remote_follower()
        {
            using var hosts = new LogHosts(_fleet, 2);
            hosts.Append(0, "a context 1", "a context 2");
            hosts.Append(1, "b context 1", "b context 2");
            using var herd = new RunningHerd(new[] { "tail", LogHosts.LogPath, "--json", "-n", "1", "-F", hosts.ConfigPath, "-H", string.Join(",", hosts.Names) }, Env(hosts));
            herd.WaitForLines(2);
            hosts.Append(0, "a new \u001b]0;title\u0007 line");
            hosts.Append(1, "b new");
            herd.WaitForLines(4);
            var outcome = await herd.InterruptAsync();

            Assert.Equal(130, outcome.ExitCode);
            var objects = herd.Lines.Select(l => JsonDocument.Parse(l).RootElement).ToList();
            string Of(JsonElement o, string name) => o.GetProperty(name).GetString()!;
            Assert.Equal(new[] { "a context 2", "a new \u001b]0;title\u0007 line" }, objects.Where(o => Of(o, "hostName") == hosts.Names[0]).Select(o => Of(o, "line")));
            Assert.Equal(new[] { "b context 2", "b new" }, objects.Where(o => Of(o, "hostName") == hosts.Names[1]).Select(o => Of(o, "line")));
            Assert.All(objects, o =>
            {
                Assert.Equal(LogHosts.LogPath, Of(o, "source"));
                Assert.Equal("file", Of(o, "sourceKind"));
                Assert.True(DateTime.Parse(Of(o, "receivedUtc")) > DateTime.UtcNow.AddMinutes(-5));
            });
            Assert.Empty(ProcessTable.WaitUntilGone(p => p.CommandLine.Contains(RemoteFollower.ProcessName, StringComparison.Ordinal), TimeSpan.FromSeconds(10)));
            Assert.Empty(ProcessTable.WaitUntilGone(p => p.Name == "ssh" && p.CommandLine.Contains(hosts.ControlDirectory, StringComparison.Ordinal)
                                                          && !p.CommandLine.Contains("[mux]", StringComparison.Ordinal), TimeSpan.FromSeconds(10)));
        }

        [Fact]
        public async Task The_human_view_tags_lines_with_the_padded_host_escapes_control_characters_and_filters_on_the_host()
        {
            using var hosts = new LogHosts(_fleet, 1);
            var host = hosts.Names[0];
            // The last line as context: when it is shown, the follower is in place and later lines will come.
            hosts.Append(0, "err marker");
            using var herd = new RunningHerd(new[] { "tail", LogHosts.LogPath, "-n", "1", "--grep", "err", "--grep-exclude", "ignored", "-F", hosts.ConfigPath, "-H", host + "," + _fleet.RefusedHost, "--connect-timeout", "2s" }, Env(hosts));
            herd.WaitForLines(1);
            hosts.Append(0, "ok line", "err \u001b[2J cleared?", "err but ignored", "\u202eerr reversed");
            herd.WaitForLines(3);
            var outcome = await herd.InterruptAsync();

            Assert.Equal(130, outcome.ExitCode);
            var width = Math.Max(host.Length, _fleet.RefusedHost.Length) + 2;
            Assert.Equal(new[] { "err marker", "err \\x1b[2J cleared?", "\\u202eerr reversed" }.Select(l => $"[{host}]".PadRight(width) + " " + l), herd.Lines);
            Assert.DoesNotContain(herd.Lines, l => l.Contains('\u001b'));
            // The host that refuses connections is retried with backoff, and says so on stderr.
            Assert.Contains(_fleet.RefusedHost + ": ", outcome.StdErr);
            Assert.Contains("reconnecting in", outcome.StdErr);
        }

        [Fact]
        public void On_a_terminal_each_host_has_its_own_stable_colour_and_no_hostname_drops_the_prefix()
        {
            using var hosts = new LogHosts(_fleet, 2);
            hosts.Append(0, "from a");
            hosts.Append(1, "from b");
            string Run(string extra)
            {
                // script(1) gives herd a pseudo-terminal for stdout, as an interactive shell would.
                var command = string.Join(" ", new[] { HerdProcess.Path, "tail", LogHosts.LogPath, "-n", "1", "-F", hosts.ConfigPath, "-H", string.Join(",", hosts.Names), extra }
                    .Select(a => "'" + a.Replace("'", "'\\''") + "'"));
                var psi = HerdProcess.StartInfo(Array.Empty<string>(), Env(hosts));
                psi.FileName = "script";
                psi.ArgumentList.Clear();
                foreach (var a in new[] { "-q", "-e", "-c", command, "/dev/null" }) psi.ArgumentList.Add(a);
                using var p = Process.Start(psi)!;
                var output = new System.Text.StringBuilder();
                var reading = Task.Run(() => { int c; while ((c = p.StandardOutput.Read()) >= 0) lock (output) output.Append((char)c); });
                var deadline = DateTime.UtcNow.AddSeconds(60);
                while (!(output.ToString().Contains("from a") && output.ToString().Contains("from b")) && DateTime.UtcNow < deadline) Thread.Sleep(20);
                var herd = ProcessTable.Find(x => x.Name == "herd" && x.ParentPid != Environment.ProcessId && x.CommandLine.Contains(hosts.ConfigPath)).Single();
                ProcessTable.Signal(herd.Pid, 2);
                Assert.True(p.WaitForExit(60_000));
                reading.Wait(TimeSpan.FromSeconds(10));
                return output.ToString();
            }

            var tagged = Run("--throttle=32");
            foreach (var (name, line) in new[] { (hosts.Names[0], "from a"), (hosts.Names[1], "from b") })
                Assert.Contains($"\u001b[{TailTextView.ColourOf(name)}m[{name}]\u001b[0m {line}", tagged);
            var bare = Run("--no-hostname");
            Assert.Contains("from a", bare);
            Assert.DoesNotContain("[" + hosts.Names[0] + "]", bare);
        }

        [Fact]
        public void A_local_follower_left_behind_by_a_killed_herd_ends_at_its_next_heartbeat()
        {
            using var dir = new HerdPS.Tests.Inventory.TempDirectory();
            var log = dir.Write("local.log", "one\n");
            var inventory = dir.Write("inventory.yaml", "hosts:\n  - { host: this-box, transport: local }\n");
            using var herd = new RunningHerd(new[] { "tail", log, "-i", inventory });
            herd.WaitForLines(1);
            var followers = ProcessTable.FindByCommandLine(log).Where(p => p.CommandLine.Contains(RemoteFollower.ProcessName, StringComparison.Ordinal)).ToList();
            Assert.NotEmpty(followers);
            // kill -9: no Ctrl-C handling, nothing ends the children; only the follower's own heartbeat can notice.
            ProcessTable.Signal(ProcessTable.Find(p => p.Name == "herd" && p.CommandLine.Contains(log, StringComparison.Ordinal)).Single().Pid, ProcessTable.SigKill);
            Assert.Empty(ProcessTable.WaitUntilGone(p => followers.Any(f => f.Pid == p.Pid), RemoteFollower.HeartbeatInterval + TimeSpan.FromSeconds(20)));
        }

        [Fact]
        public async Task Output_and_notices_redirected_to_one_file_keep_every_line()
        {
            using var dir = new HerdPS.Tests.Inventory.TempDirectory();
            var file = Path.Combine(dir.Path, "out.txt");
            var psi = HerdProcess.StartInfo(Array.Empty<string>());
            psi.FileName = "/bin/sh";
            foreach (var a in new[] { "-c", $"'{HerdProcess.Path}' exec 'echo from-stdout' --no-history >'{file}' 2>&1" }) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            p.StandardInput.Close();
            await p.WaitForExitAsync();
            var text = File.ReadAllText(file);
            // The notice (stderr) and the result (stdout) share one file description: both must be there, whole.
            Assert.Contains("herd: no inventory found", text);
            Assert.Contains("from-stdout", text);
            Assert.Contains("1 host: 1 succeeded", text);
        }
    }

    /// <summary>A herd process whose stdout lines are read as they come, for commands that run until stopped.</summary>
    internal sealed class RunningHerd : IDisposable
    {
        private readonly Process _process;
        private readonly ConcurrentQueue<string> _lines = new ConcurrentQueue<string>();
        private readonly System.Text.StringBuilder _stderr = new System.Text.StringBuilder();
        private readonly Task _out, _err;

        public RunningHerd(IEnumerable<string> args, IDictionary<string, string>? env = null)
        {
            var psi = HerdProcess.StartInfo(args, env);
            // As a shell starts it (a test host in the background may ignore SIGINT and hand that on).
            psi.ArgumentList.Insert(0, psi.FileName);
            psi.ArgumentList.Insert(0, "--default-signal=INT");
            psi.FileName = "env";
            _process = Process.Start(psi)!;
            _process.StandardInput.Close();
            _out = Task.Run(async () => { string? l; while ((l = await _process.StandardOutput.ReadLineAsync()) != null) _lines.Enqueue(l); });
            _err = Task.Run(async () => { string? l; while ((l = await _process.StandardError.ReadLineAsync()) != null) lock (_stderr) _stderr.Append(l).Append('\n'); });
        }

        public IReadOnlyList<string> Lines => _lines.ToArray();
        public string ErrorText { get { lock (_stderr) return _stderr.ToString(); } }

        public void WaitFor(Func<bool> condition, string what)
        {
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (!condition())
            {
                if (_process.HasExited && !condition()) Assert.Fail($"herd exited ({_process.ExitCode}) before {what}; stdout:\n{string.Join("\n", Lines)}\nstderr:\n{ErrorText}");
                if (DateTime.UtcNow > deadline) Assert.Fail($"timed out waiting for {what}; stdout:\n{string.Join("\n", Lines)}\nstderr:\n{ErrorText}");
                Thread.Sleep(20);
            }
        }

        public void WaitForLines(int count) => WaitFor(() => _lines.Count >= count, $"{count} lines");

        /// <summary>SIGINT, as Ctrl-C sends it; returns once herd has exited.</summary>
        public async Task<HerdProcess.Outcome> InterruptAsync()
        {
            ProcessTable.Signal(_process.Id, 2);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await _process.WaitForExitAsync(cts.Token);
            await Task.WhenAll(_out, _err);
            return new HerdProcess.Outcome(_process.ExitCode, string.Join("\n", Lines), ErrorText);
        }

        public void Dispose()
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            _process.Dispose();
        }
    }
}
