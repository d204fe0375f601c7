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
    /// herd exec --parse and herd's own config.yaml as the inventory (defaults.output, concurrency, a group's user,
    /// parsers:), through the real herd binary against the real sshd fleet.
    /// </summary>
    [Collection("ssh fleet")]
    public sealed class ExecParseCliTests : IDisposable
    {
        private readonly SshFleet _fleet;
        private readonly TempDirectory _dir = new TempDirectory();
        private readonly Dictionary<string, string> _env;

        public ExecParseCliTests(SshFleet fleet)
        {
            _fleet = fleet;
            _env = new Dictionary<string, string>
            {
                ["HERD_CONTROL_DIR"] = Path.Combine(_fleet.ControlDirectory, "cli-parse"),
                ["HERD_HISTORY"] = Path.Combine(_dir.Path, "history", "history.db"),
            };
        }

        public void Dispose() => _dir.Dispose();

        private string[] Hosts => _fleet.Hosts.Skip(137).Take(3).ToArray();

        /// <summary>herd's config.yaml, unchanged in form: concurrency, output, timeout, a group's user, parsers.</summary>
        private string HerdConfig(string output) => _dir.Write("config.yaml", $@"
defaults:
  concurrency: 8
  output: {output}
  timeout: 60s
groups:
  web:
    user: {_fleet.User}
    timeout: 30s
    hosts: [{string.Join(", ", Hosts)}]
parsers:
  nginx:
    extract:
      - field: active
        pattern: 'Active connections: (\d+)'
      - field: first_word
        column: 1
");

        private static List<JsonElement> Lines(string stdout) =>
            stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();

        [Fact]
        public async Task Parse_adds_typed_fields_to_each_NDJSON_line_and_defaults_output_json_is_the_default()
        {
            var config = HerdConfig("json");
            // Each host prints a number of its own (the fleet tells each alias apart through $HERD_ALIAS = h138, ...).
            var run = await HerdProcess.RunAsync(new[] { "exec", "-i", config, "-F", _fleet.SshConfigPath, "-g", "web", "--parse", "nginx",
                "echo \"Active connections: ${HERD_ALIAS#h}\"" }, _env);
            Assert.True(run.ExitCode == 0, run.StdErr);
            var lines = Lines(run.StdOut); // no --json: the config's defaults.output made it NDJSON
            Assert.Equal(Hosts.OrderBy(h => h), lines.Select(l => l.GetProperty("hostName").GetString()).OrderBy(h => h));
            foreach (var line in lines)
            {
                var parsed = line.GetProperty("parsed");
                Assert.Equal(JsonValueKind.Number, parsed.GetProperty("active").ValueKind);
                Assert.Equal(long.Parse(line.GetProperty("hostName").GetString()!.TrimStart('h')), parsed.GetProperty("active").GetInt64());
                Assert.Equal("Active", parsed.GetProperty("first_word").GetString());
            }

            var grouped = await HerdProcess.RunAsync(new[] { "exec", "-i", config, "-F", _fleet.SshConfigPath, "-g", "web", "-o", "grouped", "--parse", "disk", "df -P /" }, _env);
            Assert.True(grouped.ExitCode == 0, grouped.StdErr);
            Assert.DoesNotContain("{\"", grouped.StdOut);
            Assert.Contains("parsed (disk):", grouped.StdOut);
            Assert.All(Hosts, h => Assert.Matches($@"(?m)^ {h}: Filesystem=\S+, Size=\d+, Used=\d+, Available=\d+, UsePercent=\d+, MountedOn=/$", grouped.StdOut));

            var builtIn = await HerdProcess.RunAsync(new[] { "exec", "-i", config, "-F", _fleet.SshConfigPath, "-H", Hosts[0], "--json", "--parse", "disk", "df -P /" }, _env);
            Assert.Equal(JsonValueKind.Number, Lines(builtIn.StdOut).Single().GetProperty("parsed").GetProperty("UsePercent").ValueKind);
        }

        [Fact]
        public async Task Grouped_output_from_the_config_and_an_unknown_parser_runs_nothing()
        {
            var config = HerdConfig("grouped");
            var text = await HerdProcess.RunAsync(new[] { "exec", "-i", config, "-F", _fleet.SshConfigPath, "-g", "web", "echo same" }, _env);
            Assert.True(text.ExitCode == 0, text.StdErr);
            Assert.Contains("3 hosts", text.StdOut);
            Assert.DoesNotContain("{\"", text.StdOut);
            var json = await HerdProcess.RunAsync(new[] { "exec", "-i", config, "-F", _fleet.SshConfigPath, "-g", "web", "--output", "json", "echo same" }, _env);
            Assert.Equal(3, Lines(json.StdOut).Count);

            var marker = Path.Combine(_dir.Path, "ran");
            _fleet.ChownToLoginUser(_dir.Path);
            var unknown = await HerdProcess.RunAsync(new[] { "exec", "-i", config, "-F", _fleet.SshConfigPath, "-g", "web", "--parse", "nginxx", "touch " + marker }, _env);
            Assert.Equal(2, unknown.ExitCode);
            Assert.Contains("--parse: no parser named 'nginxx' (parsers: disk, free, uptime, os-release, failed-units, package-list, nginx)", unknown.StdErr);
            Assert.Equal("", unknown.StdOut);
            Assert.False(File.Exists(marker));

            var both = await HerdProcess.RunAsync(new[] { "exec", "-i", config, "-F", _fleet.SshConfigPath, "-g", "web", "--json", "-o", "grouped", "touch " + marker }, _env);
            Assert.Equal(2, both.ExitCode);
            Assert.Contains("contradict", both.StdErr);
            var bad = await HerdProcess.RunAsync(new[] { "exec", "-i", config, "-F", _fleet.SshConfigPath, "-g", "web", "-o", "yaml", "touch " + marker }, _env);
            Assert.Equal(2, bad.ExitCode);
            Assert.False(File.Exists(marker));
        }
    }
}
