using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using HerdPS.History;
using HerdPS.Inventory;
using HerdPS.Notify;
using HerdPS.Tests.Inventory;

namespace HerdPS.Tests.Notify
{
    /// <summary>The notifier against a real HTTP server on loopback and a real script: what is sent, and how failures are told.</summary>
    public sealed class FleetNotifierTests : IDisposable
    {
        private readonly TempDirectory _temp = new TempDirectory();
        private readonly WebhookServer _server = new WebhookServer();
        private readonly ConcurrentQueue<NotifyReport> _reports = new ConcurrentQueue<NotifyReport>();

        public void Dispose()
        {
            _server.Dispose();
            _temp.Dispose();
        }

        private string HistoryPath => Path.Combine(_temp.Path, "history.db");

        private FleetNotifier Notifier(string notificationsYaml, IDictionary<string, string>? env = null, bool onResolve = false, params string[] names) =>
            Notifier(notificationsYaml, env, onResolve, queueLength: 32, names);

        private FleetNotifier Notifier(string notificationsYaml, IDictionary<string, string>? env, bool onResolve, int queueLength, params string[] names)
        {
            var inventory = InventoryLoader.Load(_temp.Write("inventory.yaml", "notifications:\n" + notificationsYaml));
            var options = new NotifyOptions
            {
                OnResolve = onResolve,
                Secrets = new NotificationSecrets(n => env != null && env.TryGetValue(n, out var v) ? v : null),
                Command = "systemctl is-active nginx",
                Selection = "group=web",
                OpenHistory = () => HistoryStore.Open(HistoryPath),
                Reports = _reports.Enqueue,
                RetryDelay = TimeSpan.FromMilliseconds(50),
                QueueLength = queueLength,
            };
            options.Names.AddRange(names.Length > 0 ? names : new[] { "hook" });
            return FleetNotifier.Create(inventory, options)!;
        }

        private static FleetResult Result(string host, FleetStatus status, string stdout = "", int? exit = null) => new FleetResult
        {
            HostName = host,
            Command = "systemctl is-active nginx",
            Status = status,
            ExitCode = exit ?? (status == FleetStatus.Succeeded ? 0 : status == FleetStatus.Failed ? 3 : (int?)null),
            StdOut = stdout,
            StdErr = "",
            StartTime = DateTime.UtcNow,
            OutputHash = "h-" + host + status,
            ErrorKind = status == FleetStatus.Unreachable ? FleetErrorKind.ConnectionRefused : FleetErrorKind.None,
            ErrorMessage = status == FleetStatus.Unreachable ? "connect to host db01 port 22: Connection refused" : null,
        };

        private void Exec(FleetNotifier notifier, params FleetResult[] results)
        {
            foreach (var r in results) notifier.Observe(r);
            notifier.CompleteExec(17);
        }

        [Fact]
        public async Task TheDefaultWebhookBodyIsJsonWithTheEventCommandSelectionAndHostsAndTheHeadersCarryTheSecret()
        {
            var env = new Dictionary<string, string> { ["HOOK_TOKEN"] = "tok-8d1f2a", ["HOOK_PATH"] = "path-secret-77" };
            using var notifier = Notifier($@"  - name: hook
    type: webhook
    url: {_server.Url("/hooks/${HOOK_PATH}?team=ops")}
    method: PUT
    headers: {{ Authorization: 'Bearer ${{HOOK_TOKEN}}', X-Team: ops }}
", env);
            Exec(notifier, Result("web-01", FleetStatus.Failed, "inactive\n"), Result("web-02", FleetStatus.Succeeded, "active\n"), Result("db01", FleetStatus.Unreachable));
            await notifier.FinishAsync(TimeSpan.FromSeconds(30));

            var request = Assert.Single(_server.Requests);
            Assert.Equal("PUT", request.Method);
            Assert.Equal("/hooks/path-secret-77?team=ops", request.PathAndQuery);
            Assert.Equal("Bearer tok-8d1f2a", request.Headers["Authorization"]);
            Assert.Equal("ops", request.Headers["X-Team"]);
            Assert.StartsWith("application/json", request.Headers["Content-Type"]);
            var body = JsonDocument.Parse(request.Body).RootElement;
            Assert.Equal("hook", body.GetProperty("notification").GetString());
            Assert.Equal("failure", body.GetProperty("event").GetString());
            Assert.Equal("systemctl is-active nginx", body.GetProperty("command").GetString());
            Assert.Equal("group=web", body.GetProperty("selection").GetString());
            Assert.Equal(17, body.GetProperty("runId").GetInt64());
            Assert.Equal(3, body.GetProperty("totalHosts").GetInt32());
            var hosts = body.GetProperty("hosts").EnumerateArray().ToList();
            Assert.Equal(new[] { "db01", "web-01" }, hosts.Select(h => h.GetProperty("name").GetString()));
            Assert.Equal(new[] { "Unreachable", "Failed" }, hosts.Select(h => h.GetProperty("status").GetString()));
            Assert.Equal(3, hosts[1].GetProperty("exitCode").GetInt32());
            Assert.Equal("inactive\n", hosts[1].GetProperty("output").GetString());
            Assert.Equal("ConnectionRefused", hosts[0].GetProperty("errorKind").GetString());
            var sent = Assert.Single(_reports);
            Assert.Equal(NotifyReportKind.Sent, sent.Kind);
            Assert.DoesNotContain("tok-8d1f2a", sent.Message);
            Assert.DoesNotContain("path-secret-77", sent.Message);
        }

        [Fact]
        public async Task ATemplateBodyIsRenderedWithJsonQuotingSoHostOutputCannotBreakTheJson()
        {
            using var notifier = Notifier($@"  - name: hook
    type: webhook
    url: {_server.Url("/t")}
    body: |
      {{""text"": ""{{{{ event }}}}: {{{{ failed_hosts | join: ', ' }}}} ran {{{{ command }}}}"",
       ""first"": ""{{{{ hosts[0].output }}}}"", ""count"": {{{{ hosts | size | raw }}}}}}
");
            Exec(notifier, Result("web-01", FleetStatus.Failed, "say \"hi\"\\ \n{\"x\":1}"), Result("web-02", FleetStatus.Failed, "no"));
            await notifier.FinishAsync(TimeSpan.FromSeconds(30));
            var body = JsonDocument.Parse(Assert.Single(_server.Requests).Body).RootElement;
            Assert.Equal("failure: web-01, web-02 ran systemctl is-active nginx", body.GetProperty("text").GetString());
            Assert.Equal("say \"hi\"\\ \n{\"x\":1}", body.GetProperty("first").GetString());
            Assert.Equal(2, body.GetProperty("count").GetInt32());
        }

        [Fact]
        public async Task ASlackTargetPostsItsTextAsTheTextField()
        {
            using var notifier = Notifier($"  - name: hook\n    type: slack\n    webhook: {_server.Url("/services/T0/B0/xyz")}\n");
            Exec(notifier, Result("web-01", FleetStatus.Failed, "inactive"));
            await notifier.FinishAsync(TimeSpan.FromSeconds(30));
            var request = Assert.Single(_server.Requests);
            Assert.Equal("POST", request.Method);
            var text = JsonDocument.Parse(request.Body).RootElement.GetProperty("text").GetString()!;
            Assert.Contains("failure on 1 of 1 host (web-01) running 'systemctl is-active nginx'", text);
            Assert.Contains("web-01: Failed (exit 3)", text);
            // Byte for byte what JsonSerializer wrote (its default encoder escapes the quote and the bullet), which the native herd can't call.
            Assert.Equal(JsonSerializer.Serialize(new Dictionary<string, string> { ["text"] = text }), request.Body);
        }

        [Fact]
        public async Task AScriptGetsTheEventAsJsonOnStdinAndHerdVariables()
        {
            var stdinFile = Path.Combine(_temp.Path, "stdin.json");
            var envFile = Path.Combine(_temp.Path, "env.txt");
            using var notifier = Notifier($"  - name: hook\n    type: script\n    command: cat > {stdinFile}; env | grep ^HERD_ | sort > {envFile}\n    on: [timeout]\n");
            Exec(notifier, Result("web-01", FleetStatus.TimedOut), Result("web-02", FleetStatus.Failed));
            await notifier.FinishAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(NotifyReportKind.Sent, Assert.Single(_reports).Kind);
            var body = JsonDocument.Parse(File.ReadAllText(stdinFile)).RootElement;
            Assert.Equal("timeout", body.GetProperty("event").GetString());
            Assert.Equal(new[] { "web-01" }, body.GetProperty("hosts").EnumerateArray().Select(h => h.GetProperty("name").GetString()));
            var env = File.ReadAllLines(envFile);
            Assert.Contains("HERD_EVENT=timeout", env);
            Assert.Contains("HERD_NOTIFICATION=hook", env);
            Assert.Contains("HERD_HOSTS=web-01", env);
            Assert.Contains("HERD_TIMED_OUT_HOSTS=web-01", env);
            Assert.Contains("HERD_COMMAND=systemctl is-active nginx", env);
            Assert.Contains("HERD_SELECTION=group=web", env);
        }

        [Fact]
        public async Task AFailingEndpointIsRetriedThenReportedAndRecordedInTheHistoryWithoutItsSecret()
        {
            _server.Status = 503;
            var env = new Dictionary<string, string> { ["HOOK_PATH"] = "secret-path-4411", ["HOOK_TOKEN"] = "secret-token-9931" };
            using var notifier = Notifier($"  - name: hook\n    type: webhook\n    url: {_server.Url("/${HOOK_PATH}")}\n    headers: {{ X-Token: '${{HOOK_TOKEN}}' }}\n    retries: 2\n", env);
            Exec(notifier, Result("web-01", FleetStatus.Failed));
            await notifier.FinishAsync(TimeSpan.FromSeconds(30));

            Assert.Equal(3, _server.Requests.Count); // one attempt and two retries
            var failed = Assert.Single(_reports);
            Assert.Equal(NotifyReportKind.Failed, failed.Kind);
            Assert.Contains("HTTP 503", failed.Message);
            Assert.Contains("all 3 attempts failed", failed.Message);
            using var history = HistoryStore.Open(HistoryPath);
            var run = Assert.Single(history.ListRuns(new HistoryQuery()));
            Assert.Equal(FleetNotifier.HistoryKind, run.Kind);
            Assert.Contains("notify hook: failure", run.Command);
            var recorded = Assert.Single(history.ReadResults(run.Id));
            Assert.Equal(FleetStatus.Failed, recorded.Status);
            Assert.Contains("HTTP 503", recorded.ErrorMessage);
            var everything = File.ReadAllBytes(HistoryPath);
            foreach (var secret in env.Values)
            {
                Assert.DoesNotContain(secret, failed.Message);
                Assert.Equal(-1, System.Text.Encoding.UTF8.GetString(everything).IndexOf(secret, StringComparison.Ordinal));
            }
        }

        [Fact]
        public async Task AHangingEndpointNeverHoldsUpTheRunAndEachAttemptEndsAtTheTimeout()
        {
            _server.Hang = true;
            using var notifier = Notifier($"  - name: hook\n    type: webhook\n    url: {_server.Url("/slow")}\n    timeout: 2s\n    retries: 0\n    cooldown: 0\n");
            for (var run = 0; run < 3; run++) Exec(notifier, Result("web-01", FleetStatus.Failed));
            // Three runs' messages are queued and no attempt has ended yet (each takes its 2 s timeout): the runs
            // went on without waiting for the endpoint.
            Assert.DoesNotContain(_reports, r => r.Kind == NotifyReportKind.Failed);
            await notifier.FinishAsync(TimeSpan.FromSeconds(60));
            var failures = _reports.Where(r => r.Kind == NotifyReportKind.Failed).ToList();
            Assert.Equal(3, failures.Count);
            Assert.All(failures, f => Assert.Contains("no answer within 2s", f.Message));
            Assert.Equal(3, _server.Requests.Count); // one attempt per message, each given up at its timeout
        }
    
        [Fact]
        public async Task AMessageThatFindsItsQueueFullIsDroppedWithAWarningAndAHistoryRecordNeverWaitedFor()
        {
            _server.Hang = true;
            using var notifier = Notifier($"  - name: hook\n    type: webhook\n    url: {_server.Url("/full")}\n    timeout: 2s\n    retries: 0\n    cooldown: 0\n", null, false, queueLength: 1);
            Exec(notifier, Result("web-01", FleetStatus.Failed));
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (_server.Held < 1 && DateTime.UtcNow < deadline) await Task.Delay(20);
            Assert.Equal(1, _server.Held); // the first message is on its way, held by the endpoint
            Exec(notifier, Result("web-02", FleetStatus.Failed)); // waits in the queue (1 place)
            Exec(notifier, Result("web-03", FleetStatus.Failed)); // finds it full
            var dropped = Assert.Single(_reports, r => r.Kind == NotifyReportKind.Dropped);
            Assert.Contains("was dropped: 1 messages are already waiting", dropped.Message);
            await notifier.FinishAsync(TimeSpan.FromSeconds(60));
            Assert.Equal(2, _server.Requests.Count);
            Assert.Equal(2, _reports.Count(r => r.Kind == NotifyReportKind.Failed));
            using var history = HistoryStore.Open(HistoryPath);
            Assert.Equal(3, history.ListRuns(new HistoryQuery()).Count(r => r.Kind == FleetNotifier.HistoryKind));
        }
    }
}
