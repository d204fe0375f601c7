using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using HerdPS.Tests.Notify;

namespace HerdPS.PowerShell.Tests
{
    /// <summary>
    /// -Notify on Invoke-FleetCommand and Watch-Fleet in a real PowerShell 7.6 runspace with the packaged module,
    /// against a real HTTP server on loopback. The hosts run on this machine (transport: local).
    /// </summary>
    public sealed class NotifyCmdletTests : IDisposable
    {
        private const string Token = "ps-tok-61f0c9";
        private readonly string _folder = Directory.CreateTempSubdirectory("herd-notify-ps-").FullName;
        private readonly WebhookServer _server = new WebhookServer();
        private readonly string _inventory;
        private readonly string _history;

        public NotifyCmdletTests()
        {
            _inventory = Path.Combine(_folder, "inventory.yaml");
            _history = Path.Combine(_folder, "history.db");
            File.WriteAllText(_inventory,
                "groups:\n  boxes:\n    hosts:\n      - { host: box-a, transport: local }\n" +
                "notifications:\n" +
                $"  - name: hook\n    type: webhook\n    url: {_server.Url("/hook")}\n    headers: {{ Authorization: 'Bearer ${{HOOK_TOKEN}}' }}\n    retries: 0\n" +
                $"  - name: down\n    type: webhook\n    url: {_server.Url("/down")}\n    retries: 0\n");
        }

        public void Dispose()
        {
            _server.Dispose();
            Directory.Delete(_folder, recursive: true);
        }

        private string Common => $"-InventoryPath '{_inventory}' -HistoryPath '{_history}' -Group boxes";

        [Fact]
        public void Invoke_FleetCommand_Notify_sends_the_failure_with_the_secret_from_NotifySecret_and_never_shows_it()
        {
            using var session = PowerShellSession.Start();
            var run = session.Run($@"
                $token = ConvertTo-SecureString '{Token}' -AsPlainText -Force
                Invoke-FleetCommand {Common} -Command 'echo broken; exit 5' -Notify hook -NotifySecret @{{ HOOK_TOKEN = $token }} -Verbose -ErrorAction SilentlyContinue");
            Assert.Null(run.Terminating);
            var request = Assert.Single(_server.WaitFor(1));
            Assert.Equal($"Bearer {Token}", request.Headers["Authorization"]);
            var body = JsonDocument.Parse(request.Body).RootElement;
            Assert.Equal("failure", body.GetProperty("event").GetString());
            Assert.Equal("box-a", body.GetProperty("hosts")[0].GetProperty("name").GetString());
            Assert.Contains(run.Verbose, v => v.Message.Contains("notification 'hook' sent"));
            Assert.Empty(run.Warnings);
            var everything = string.Join("\n", run.Verbose.Select(v => v.Message).Concat(run.Errors.Select(e => e.ToString())).Concat(run.Output.Select(o => o.ToString())));
            Assert.DoesNotContain(Token, everything);
        }

        [Fact]
        public void Invoke_FleetCommand_AsJob_Notify_sends_from_the_job_and_its_results_keep_their_shape()
        {
            using var session = PowerShellSession.Start();
            var run = session.Run($@"
                $token = ConvertTo-SecureString '{Token}' -AsPlainText -Force
                $job = Invoke-FleetCommand {Common} -Command 'echo broken; exit 5' -Parser uptime -Notify hook -NotifySecret @{{ HOOK_TOKEN = $token }} -AsJob
                $job | Wait-Job | Out-Null
                $job | Receive-Job -ErrorAction SilentlyContinue");
            Assert.Null(run.Terminating);
            var result = Assert.Single(run.Output);
            Assert.Equal("box-a", result.Properties["HostName"].Value);
            Assert.NotNull(result.Properties["Parsed"]); // -Parser's shape survives the job
            var request = Assert.Single(_server.WaitFor(1));
            Assert.Equal($"Bearer {Token}", request.Headers["Authorization"]);
            Assert.Equal("failure", JsonDocument.Parse(request.Body).RootElement.GetProperty("event").GetString());
        }

        [Fact]
        public void A_PSCredential_gives_its_password_and_plain_text_or_an_unset_secret_stops_before_anything_runs()
        {
            var marker = Path.Combine(_folder, "ran");
            using var session = PowerShellSession.Start();
            var run = session.Run($@"
                $credential = [pscredential]::new('hook', (ConvertTo-SecureString '{Token}' -AsPlainText -Force))
                Invoke-FleetCommand {Common} -Command 'exit 1' -Notify hook -NotifySecret @{{ HOOK_TOKEN = $credential }} -ErrorAction SilentlyContinue | Out-Null");
            Assert.Null(run.Terminating);
            Assert.Equal($"Bearer {Token}", Assert.Single(_server.WaitFor(1)).Headers["Authorization"]);

            var plain = session.Run($"Invoke-FleetCommand {Common} -Command 'touch {marker}' -Notify hook -NotifySecret @{{ HOOK_TOKEN = '{Token}' }}");
            var refused = Assert.Single(plain.Errors);
            Assert.Contains("must be a SecureString or a PSCredential", refused.ToString());
            Assert.DoesNotContain(Token, refused.ToString());

            var unset = session.Run($"Watch-Fleet {Common} -Command 'touch {marker}' -Count 1 -Notify hook");
            var notSet = Assert.Single(unset.Errors);
            Assert.Contains("${HOOK_TOKEN} is not set", notSet.ToString());
            Assert.Contains($"{_inventory}:", notSet.ToString());
            Assert.False(File.Exists(marker));
            Assert.Single(_server.Requests);
        }

        [Fact]
        public void Watch_Fleet_Notify_tells_a_failure_once_and_its_recovery_and_a_failed_delivery_is_a_warning()
        {
            var counter = Path.Combine(_folder, "count");
            var rounds = $"c=$(cat {counter} 2>/dev/null || echo 0); c=$((c+1)); echo $c > {counter}; case $c in 2|3) echo down; exit 1;; *) echo up;; esac";
            using var session = PowerShellSession.Start();
            var run = session.Run($@"
                $token = ConvertTo-SecureString '{Token}' -AsPlainText -Force
                Watch-Fleet {Common} -Command '{rounds.Replace("'", "''")}' -IntervalSec 1 -Count 4 -Notify hook, down -NotifyOnResolve -NotifySecret @{{ HOOK_TOKEN = $token }} -ErrorAction SilentlyContinue |
                    Select-Object Iteration, Status", TimeSpan.FromMinutes(3));
            Assert.Null(run.Terminating);
            Assert.Equal(new[] { "Succeeded", "Failed", "Failed", "Succeeded" }, run.Output.Select(o => o.Properties["Status"].Value.ToString()));
            var hook = _server.Requests.Where(r => r.PathAndQuery == "/hook").Select(r => JsonDocument.Parse(r.Body).RootElement).ToList();
            Assert.Equal(new[] { "failure", "resolve" }, hook.Select(b => b.GetProperty("event").GetString()));
            Assert.Equal(new[] { 2, 4 }, hook.Select(b => b.GetProperty("iteration").GetInt32()));
            // "down" answers 200 too here; then it is turned off and the next watch's failure is a warning.
            _server.Status = 500;
            File.WriteAllText(counter, "1\n");
            var failing = session.Run($"Watch-Fleet {Common} -Command '{rounds.Replace("'", "''")}' -IntervalSec 1 -Count 1 -Notify down -ErrorAction SilentlyContinue | Out-Null");
            Assert.Null(failing.Terminating);
            var warning = Assert.Single(failing.Warnings);
            Assert.Contains("notification 'down' (failure) could not be delivered", warning.Message);
            Assert.Contains("HTTP 500", warning.Message);
        }
    }
}
