using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using HerdPS.Tests.Cli;
using HerdPS.Tests.Inventory;

namespace HerdPS.Tests.Notify
{
    /// <summary>
    /// The real herd binary with --notify and herd notify test, against a real HTTP server on loopback. The hosts
    /// run on this machine (transport: local), so a watch's rounds are real runs of a real command whose outcome the
    /// test decides through a counter file.
    /// </summary>
    public sealed class NotifyCliTests : IDisposable
    {
        private readonly TempDirectory _dir = new TempDirectory();
        private readonly WebhookServer _server = new WebhookServer();
        private readonly Dictionary<string, string> _env;

        public NotifyCliTests()
        {
            _env = new Dictionary<string, string> { ["HERD_HISTORY"] = Path.Combine(_dir.Path, "history.db") };
        }

        public void Dispose()
        {
            _server.Dispose();
            _dir.Dispose();
        }

        private string Inventory(string notifications) => _dir.Write("inventory.yaml",
            "groups:\n  boxes:\n    hosts:\n      - { host: box-a, transport: local }\n" + "notifications:\n" + notifications);

        /// <summary>A command that fails on the runs listed (1-based, counted in a file), and prints up or down.</summary>
        private string Rounds(params int[] failing)
        {
            var counter = Path.Combine(_dir.Path, "count");
            return $"c=$(cat {counter} 2>/dev/null || echo 0); c=$((c+1)); echo $c > {counter}; " +
                   $"case $c in {string.Join("|", failing)}) echo down; exit 1;; *) echo up;; esac";
        }

        private static JsonElement Body(WebhookServer.Request r) => JsonDocument.Parse(r.Body).RootElement;

        private async Task<HerdProcess.Outcome> Herd(params string[] args)
        {
            var o = await HerdProcess.RunAsync(args, _env, TimeSpan.FromMinutes(3));
            return o;
        }

        [Fact]
        public async Task AWatchTellsAFailureOnceUnderTheCooldownThenItsRecoveryAndEveryChange()
        {
            var inventory = Inventory($@"  - name: alerts
    type: webhook
    url: {_server.Url("/alerts")}
  - name: changes
    type: webhook
    url: {_server.Url("/changes")}
    on: [change]
    cooldown: 0
");
            // Rounds: up, down, down, up, up.
            var o = await Herd("watch", "-i", inventory, "-g", "boxes", "--interval", "1s", "--count", "5",
                "--notify", "alerts,changes", "--notify-on-resolve", "--json", Rounds(2, 3));
            Assert.True(0 == o.ExitCode, $"exit {o.ExitCode}\n{o.StdOut}\n{o.StdErr}");

            var alerts = _server.Requests.Where(r => r.PathAndQuery == "/alerts").Select(Body).ToList();
            // The failure once (round 3 is within the 5m cooldown for box-a), then the resolve.
            Assert.Equal(new[] { "failure", "resolve" }, alerts.Select(b => b.GetProperty("event").GetString()));
            Assert.Equal(2, alerts[0].GetProperty("iteration").GetInt32());
            Assert.Equal(4, alerts[1].GetProperty("iteration").GetInt32());
            Assert.All(alerts, b => Assert.Equal("box-a", Assert.Single(b.GetProperty("hosts").EnumerateArray()).GetProperty("name").GetString()));
            Assert.Equal("Failed", alerts[1].GetProperty("hosts")[0].GetProperty("previousStatus").GetString());
            Assert.All(alerts, b => Assert.Equal("group=boxes", b.GetProperty("selection").GetString()));
            Assert.All(alerts, b => Assert.Equal("watch", b.GetProperty("runKind").GetString()));

            var changes = _server.Requests.Where(r => r.PathAndQuery == "/changes").Select(Body).ToList();
            Assert.Equal(new[] { 2, 4 }, changes.Select(b => b.GetProperty("iteration").GetInt32()));
            Assert.All(changes, b => Assert.Equal("change", b.GetProperty("event").GetString()));
            Assert.Contains("+down", changes[0].GetProperty("hosts")[0].GetProperty("diff").GetString());
            Assert.Contains("notification 'alerts' sent", o.StdErr);
        }

        [Fact]
        public async Task AWatchKeepsGoingWhileTheEndpointHangsAndSaysTheDeliveryFailed()
        {
            _server.Hang = true;
            var inventory = Inventory($"  - name: slow\n    type: webhook\n    url: {_server.Url("/slow")}\n    timeout: 30s\n    retries: 0\n    cooldown: 0\n");
            var historyPath = _env["HERD_HISTORY"];
            var herd = Task.Run(() => Herd("watch", "-i", inventory, "-g", "boxes", "--interval", "1s", "--count", "3", "--notify", "slow", "--json", "echo down; exit 1"));
            // All three rounds are run and recorded while the endpoint still holds the first message.
            var deadline = DateTime.UtcNow.AddSeconds(90);
            while (FinishedIterations(historyPath) < 3 && DateTime.UtcNow < deadline && !herd.IsCompleted) await Task.Delay(50);
            Assert.Equal(3, FinishedIterations(historyPath));
            Assert.Equal(1, _server.Held);
            Assert.False(herd.IsCompleted, "herd ended before its notification was delivered or given up");
            // The endpoint answers at last, with an error: what it held and what waited behind it fail, and herd says so.
            _server.Status = 503;
            _server.Hang = false;
            _server.Release();
            var o = await herd;
            Assert.True(1 == o.ExitCode, $"exit {o.ExitCode}\n{o.StdErr}");
            Assert.Equal(3, o.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
            var warnings = o.StdErr.Split('\n').Where(l => l.StartsWith("herd: warning: notification 'slow' (failure) could not be delivered to webhook http://127.0.0.1:", StringComparison.Ordinal)).ToList();
            Assert.True(3 == warnings.Count, o.StdErr);
            Assert.All(warnings, w => Assert.Contains("HTTP 503", w));
            Assert.Equal(3, HerdPS.Tests.History.HistoryTestData.Scalar(historyPath, "SELECT count(*) FROM runs WHERE kind = 'notify'"));
        }

        private static long FinishedIterations(string historyPath)
        {
            if (!File.Exists(historyPath)) return 0;
            try { return HerdPS.Tests.History.HistoryTestData.Scalar(historyPath, "SELECT count(*) FROM runs WHERE kind = 'watch' AND finished_utc IS NOT NULL"); }
            catch (Microsoft.Data.Sqlite.SqliteException) { return 0; }
        }

        [Fact]
        public async Task ExecTellsItsFailuresAndSecretsFromTheEnvironmentNeverShow()
        {
            const string token = "tok-5be1e0c2";
            const string path = "p-93a7f1";
            _env["HOOK_TOKEN"] = token;
            _env["HOOK_PATH"] = path;
            var inventory = Inventory($"  - name: hook\n    type: webhook\n    url: {_server.Url("/h/${HOOK_PATH}")}\n    headers: {{ Authorization: 'Bearer ${{HOOK_TOKEN}}' }}\n");
            var ok = await Herd("exec", "-i", inventory, "-g", "boxes", "--notify", "hook", "echo fine");
            Assert.Equal(0, ok.ExitCode);
            Assert.Empty(_server.Requests); // nothing failed, nothing to tell

            var failed = await Herd("exec", "-i", inventory, "-g", "boxes", "--notify", "hook", "echo broken; exit 4");
            Assert.Equal(1, failed.ExitCode);
            var request = Assert.Single(_server.WaitFor(1));
            Assert.Equal($"/h/{path}", request.PathAndQuery);
            Assert.Equal($"Bearer {token}", request.Headers["Authorization"]);
            var body = Body(request);
            Assert.Equal(("failure", "exec", "echo broken; exit 4"), (body.GetProperty("event").GetString(), body.GetProperty("runKind").GetString(), body.GetProperty("command").GetString()));
            Assert.Equal(4, body.GetProperty("hosts")[0].GetProperty("exitCode").GetInt32());

            // Now the endpoint refuses: the warning names it without its path or token.
            _server.Status = 401;
            var refused = await Herd("exec", "-i", inventory, "-g", "boxes", "--notify", "hook", "exit 4");
            Assert.Equal(1, refused.ExitCode);
            Assert.Contains("herd: warning: notification 'hook' (failure) could not be delivered to webhook http://127.0.0.1:", refused.StdErr);
            Assert.Contains("HTTP 401", refused.StdErr);
            var history = await Herd("history", "--json");
            var show = await Herd("history", "show", JsonDocument.Parse(history.StdOut.Split('\n')[0]).RootElement.GetProperty("id").GetInt64().ToString(), "--json");
            Assert.Contains("HTTP 401", show.StdOut);
            foreach (var text in new[] { ok.StdOut, ok.StdErr, failed.StdOut, failed.StdErr, refused.StdOut, refused.StdErr, history.StdOut, show.StdOut, File.ReadAllText(_env["HERD_HISTORY"]) })
            {
                Assert.DoesNotContain(token, text);
                Assert.DoesNotContain(path, text);
            }
        }

        [Fact]
        public async Task NotifyTestSendsASampleAndSaysHowItWent()
        {
            var inventory = Inventory($"  - name: hook\n    type: webhook\n    url: {_server.Url("/test")}\n    retries: 1\n");
            var sent = await Herd("notify", "test", "hook", "-i", inventory);
            Assert.True(0 == sent.ExitCode, sent.StdErr);
            Assert.Contains("delivered (HTTP 200)", sent.StdErr);
            var body = Body(Assert.Single(_server.Requests));
            Assert.Equal("test", body.GetProperty("event").GetString());
            Assert.Equal(new[] { "web-01", "web-02" }, body.GetProperty("hosts").EnumerateArray().Select(h => h.GetProperty("name").GetString()));

            _server.Status = 500;
            var failed = await Herd("notify", "test", "hook", "-i", inventory);
            Assert.Equal(1, failed.ExitCode);
            Assert.Contains("not delivered: the endpoint answered HTTP 500", failed.StdErr);
            Assert.Equal(3, _server.Requests.Count); // the sample, then two attempts of the second

            var unknown = await Herd("notify", "test", "nope", "-i", inventory);
            Assert.Equal(2, unknown.ExitCode);
            Assert.Contains("no notification named 'nope'", unknown.StdErr);
        }

        [Fact]
        public async Task ABadNotificationIsExit2WithItsPlaceInTheFileAndNothingRuns()
        {
            var marker = Path.Combine(_dir.Path, "ran");
            var bad = Inventory($"  - name: hook\n    type: webhook\n    url: {_server.Url("/")}\n    on: [failure, panic]\n");
            var o = await Herd("exec", "-i", bad, "-g", "boxes", "--notify", "hook", $"touch {marker}");
            Assert.Equal(2, o.ExitCode);
            Assert.Contains($"{bad}:9:", o.StdErr);
            Assert.Contains("'panic' is not an event", o.StdErr);

            var unset = Inventory($"  - name: hook\n    type: webhook\n    url: {_server.Url("/${NO_SUCH_HERD_VAR}")}\n");
            o = await Herd("watch", "-i", unset, "-g", "boxes", "--count", "1", "--notify", "hook", $"touch {marker}");
            Assert.Equal(2, o.ExitCode);
            Assert.Contains("${NO_SUCH_HERD_VAR} is not set", o.StdErr);
            Assert.Contains($"{unset}:6:", o.StdErr);

            var template = Inventory($"  - name: hook\n    type: webhook\n    url: {_server.Url("/")}\n    body: |\n      {{\"a\": \"{{{{ summary \"}}\n");
            o = await Herd("exec", "-i", template, "-g", "boxes", "--notify", "hook", $"touch {marker}");
            Assert.Equal(2, o.ExitCode);
            Assert.Contains($"{template}:10:", o.StdErr);

            o = await Herd("exec", "-i", unset, "-g", "boxes", "--notify", "other", $"touch {marker}");
            Assert.Equal(2, o.ExitCode);
            Assert.Contains("no notification named 'other'", o.StdErr);
            o = await Herd("exec", "-i", unset, "-g", "boxes", "--notify-on-resolve", $"touch {marker}");
            Assert.Equal(2, o.ExitCode);
            Assert.Contains("--notify-on-resolve", o.StdErr);

            Assert.False(File.Exists(marker));
            Assert.Empty(_server.Requests);
            // Nothing was begun in the history either (no unfinished run left behind).
            Assert.False(File.Exists(_env["HERD_HISTORY"]) && HerdPS.Tests.History.HistoryTestData.Scalar(_env["HERD_HISTORY"], "SELECT count(*) FROM runs") > 0);
        }
    }
}
