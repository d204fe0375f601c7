using System;
using System.Collections.Generic;
using System.Linq;
using HerdPS.Inventory;
using HerdPS.Notify;
using HerdPS.Tests.Inventory;

namespace HerdPS.Tests.Notify
{
    /// <summary>The inventory's notifications: list as written, and what a run checks before anything runs.</summary>
    public sealed class NotificationInventoryTests : IDisposable
    {
        private readonly TempDirectory _temp = new TempDirectory();

        public void Dispose() => _temp.Dispose();

        private FleetInventory Load(string yaml) => InventoryLoader.Load(_temp.Write("inventory.yaml", yaml));

        private InventoryException LoadFails(string yaml) => Assert.Throws<InventoryException>(() => Load(yaml));

        [Fact]
        public void ReadsEveryKeyOfTheThreeTypesAndTheDefaults()
        {
            var inventory = Load(@"
groups:
  web: { hosts: [web-01] }
notifications:
  - name: ops-hook
    type: webhook
    url: https://hooks.example.com/herd
    method: put
    headers:
      Authorization: Bearer ${OPS_TOKEN}
      X-Team: ops
    body: '{""text"": ""{{ summary }}""}'
    on: [failure, change, timeout, resolve]
    cooldown: 10m
    timeout: 5s
    retries: 4
  - name: chat
    type: slack
    webhook: ${SLACK_WEBHOOK}
  - name: pager
    type: script
    command: /usr/local/bin/page --team ops
    cooldown: 0
");
            var hook = inventory.Notifications[0];
            Assert.Equal(("ops-hook", "webhook", "PUT"), (hook.Name, hook.Type, hook.Method));
            Assert.Equal("https://hooks.example.com/herd", hook.Url);
            Assert.Equal(new[] { "Authorization", "X-Team" }, hook.Headers.Select(h => h.Key));
            Assert.Equal("Bearer ${OPS_TOKEN}", hook.Headers[0].Value);
            Assert.Equal(new[] { "failure", "change", "timeout", "resolve" }, hook.On);
            Assert.Equal((TimeSpan.FromMinutes(10), TimeSpan.FromSeconds(5), 4), (hook.Cooldown, hook.Timeout, hook.Retries));
            var chat = inventory.Notifications[1];
            Assert.Equal("${SLACK_WEBHOOK}", chat.Url);
            // Defaults: problems only, a 5 minute cooldown.
            Assert.Equal(new[] { "failure", "timeout" }, chat.On);
            Assert.Equal(TimeSpan.FromMinutes(5), chat.Cooldown);
            var pager = inventory.Notifications[2];
            Assert.Equal("/usr/local/bin/page --team ops", pager.Command);
            Assert.Equal(TimeSpan.Zero, pager.Cooldown);
            Assert.Equal(new[] { "web-01" }, inventory.Hosts.Select(h => h.Name));
        }

        [Theory]
        [InlineData("  - { name: a, type: webhook, url: 'http://x/', colour: red }", 3, "colour")]
        [InlineData("  - { name: a, type: email, url: 'http://x/' }", 3, "'type' must be webhook, slack or script")]
        [InlineData("  - { name: a, type: webhook }", 3, "no 'url:'")]
        [InlineData("  - { name: a, type: slack, url: 'http://x/' }", 3, "url")]
        [InlineData("  - { name: a, type: script, command: notify, url: 'http://x/' }", 3, "url")]
        [InlineData("  - { name: a, type: webhook, url: 'ftp://x/' }", 3, "http:// or https://")]
        [InlineData("  - { name: a, type: webhook, url: 'http://x/', on: [failure, explode] }", 3, "'explode' is not an event")]
        [InlineData("  - { name: a, type: webhook, url: 'http://x/', cooldown: soon }", 3, "cooldown")]
        [InlineData("  - { name: a, type: webhook, url: 'http://x/', method: GET }", 3, "POST, PUT or PATCH")]
        [InlineData("  - { name: a, type: webhook, url: 'http://x/', retries: 99 }", 3, "retries")]
        [InlineData("  - { name: a, type: webhook, url: 'http://x/', headers: { 'Bad Header': x } }", 3, "not an HTTP header name")]
        [InlineData("  - { type: webhook, url: 'http://x/' }", 3, "no 'name:'")]
        [InlineData("  - { name: a, type: webhook, url: 'http://x/' }\n  - { name: a, type: webhook, url: 'http://y/' }", 4, "already defined")]
        public void ABadEntryIsAnErrorWithItsFileLineAndColumn(string entry, int line, string says)
        {
            var e = LoadFails("# notifications\nnotifications:\n" + entry + "\n");
            Assert.EndsWith("inventory.yaml", e.File);
            Assert.Equal(line, e.Line);
            Assert.True(e.Column > 0);
            Assert.Contains($"inventory.yaml:{line}:{e.Column}", e.Message);
            Assert.Contains(says, e.Message);
        }

        [Fact]
        public void ABodyTemplateThatDoesNotParseIsReportedAtItsLineInTheFileWhenARunNamesIt()
        {
            var inventory = Load("notifications:\n  - name: hook\n    type: webhook\n    url: http://127.0.0.1:9/\n    body: |\n      {\"a\": \"{{ summary }}\",\n       \"b\": \"{{ summary | }}\"}\n");
            var e = Assert.Throws<InventoryException>(() => FleetNotifier.Find(inventory, "hook", new NotificationSecrets(_ => null)));
            Assert.Equal(7, e.Line);
            Assert.Contains("notification 'hook': body:", e.Message);
        }

        [Fact]
        public void AnUnsetVariableAndAnUnknownNameAreErrorsBeforeAnythingIsSent()
        {
            var inventory = Load("notifications:\n  - name: hook\n    type: webhook\n    url: http://127.0.0.1:9/${HOOK_PATH}\n");
            var unset = Assert.Throws<InventoryException>(() => FleetNotifier.Find(inventory, "hook", new NotificationSecrets(_ => null)));
            Assert.Contains("${HOOK_PATH} is not set", unset.Message);
            Assert.Equal(2, unset.Line);
            FleetNotifier.Find(inventory, "hook", new NotificationSecrets(n => n == "HOOK_PATH" ? "x" : null));
            var unknown = Assert.Throws<InventoryException>(() => FleetNotifier.Find(inventory, "hoook", new NotificationSecrets(_ => null)));
            Assert.Contains("no notification named 'hoook'", unknown.Message);
            Assert.Contains("it defines hook", unknown.Message);
        }
    }
}
