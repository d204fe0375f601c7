using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using HerdPS.Inventory;
using HerdPS.Parsing;
using HerdPS.Scripting;
using HerdPS.Templating;
using HerdPS.Tests.Fuzzing;
using HerdPS.Tests.Inventory;

namespace HerdPS.Tests.Scripting
{
    /// <summary>The script format's reader: every error before anything runs, with file:line:column; templates; parameters.</summary>
    public class ScriptReaderTests
    {
        private static FleetScript Read(string yaml) => FleetScriptReader.Read(yaml, "s.yaml", ScriptOrigin.File);

        private static ScriptException Error(string yaml) => Assert.Throws<ScriptException>(() => Read(yaml));

        [Theory]
        [InlineData("steps:\n  - run: echo\n    retires: 3\n", 3, 5, "unknown key 'retires' in a step", "did you mean 'retries'")]
        [InlineData("steps:\n  - id: a\n    run: echo\n    depends_on: b\n  - id: b\n    run: echo\n    depends_on: a\n", 2, 5, "depends_on makes a cycle: a -> b -> a", null)]
        [InlineData("steps:\n  - run: echo {{ params.nope }}\n", 2, 18, "params.nope is not a parameter", null)]
        [InlineData("steps:\n  - id: a\n    run: echo {{ steps.b.stdout }}\n  - id: b\n    run: echo\n", 3, 18, "steps.b has no results yet", null)]
        [InlineData("steps:\n  - run: echo {{ x \n", 2, 19, "template syntax", null)]
        [InlineData("steps:\n  - run: echo\n    upload: ./a\n", 3, 5, "has both 'run' and 'upload'", null)]
        [InlineData("steps:\n  - on: '@failed'\n    run: echo\n", 2, 9, "has none; name a step", null)]
        [InlineData("steps:\n  - run: echo\n    notify: restart\n", 3, 13, "not a handler id", null)]
        [InlineData("params:\n  n: { type: int, default: ten }\nsteps: [echo]\n", 2, 28, "not a whole number", null)]
        [InlineData("strategy:\n  serial: [1, \"150%\"]\nsteps: [echo]\n", 2, 15, "a batch size is", null)]
        [InlineData("steps:\n  - run: echo {% echo params %}\n", 2, 15, "the 'echo' tag writes values without quoting", null)]
        [InlineData("steps: [\n", 2, 1, "", null)]
        [InlineData("steps:\n  - run: echo\n    retries: '{{ params.n }}'\n", 3, 14, "'retries' names parameter 'n', which the script does not declare", null)]
        [InlineData("params:\n  n: { default: '3' }\nsteps:\n  - run: echo\n    retries: '{{ params.n }}'\n", 5, 14, "'retries' takes a parameter of type int", "'n' is string")]
        [InlineData("params:\n  d: { type: int, default: 3 }\nsteps:\n  - run: echo\n    timeout: '{{ params.d }}'\n", 5, 14, "'timeout' takes a parameter of type string (a duration", null)]
        public void ErrorsNameTheLineColumnAndWhatWasExpected(string yaml, int line, int column, string message, string? hint)
        {
            var e = Error(yaml);
            Assert.Equal(line, e.Line);
            Assert.Equal(column, e.Column);
            Assert.StartsWith($"s.yaml:{line}:{column}: ", e.Message);
            Assert.Contains(message, e.Message);
            if (hint != null) Assert.Contains(hint, e.Message);
        }

        [Fact]
        public void RetriesRetryDelayAndTimeoutMayBeParametersWhoseValuesAreCheckedBeforeAnythingRuns()
        {
            var script = Read("params:\n  attempts: { type: int, default: 2 }\n  delay: { default: 250ms }\n  limit: { default: 1m }\n" +
                "steps:\n  - id: poll\n    run: echo\n    until: result.ok\n    retries: '{{ params.attempts }}'\n    retry_delay: '{{ params.delay }}'\n    timeout: '{{ params.limit }}'\n");
            var step = script.Steps.Single();
            var defaults = ScriptParameters.Bind(script, null);
            StepSettings.Check(script, defaults);
            Assert.Equal((2, TimeSpan.FromMilliseconds(250), (TimeSpan?)TimeSpan.FromMinutes(1)),
                (StepSettings.Retries(step, defaults), StepSettings.RetryDelay(step, defaults), StepSettings.Timeout(step, defaults)));
            var given = ScriptParameters.Bind(script, new Dictionary<string, object?> { ["attempts"] = "7", ["delay"] = "3s" });
            Assert.Equal((7, TimeSpan.FromSeconds(3)), (StepSettings.Retries(step, given), StepSettings.RetryDelay(step, given)));

            var badDelay = Assert.Throws<ScriptException>(() => StepSettings.Check(script, ScriptParameters.Bind(script, new Dictionary<string, object?> { ["delay"] = "soon" })));
            Assert.StartsWith("s.yaml:6:5: step 'poll': retry_delay: parameter 'delay' is 'soon', not a duration", badDelay.Message);
            var tooMany = Assert.Throws<ScriptException>(() => StepSettings.Check(script, ScriptParameters.Bind(script, new Dictionary<string, object?> { ["attempts"] = "100000" })));
            Assert.Contains("retries: parameter 'attempts' is '100000', not a whole number from 0 to 1000", tooMany.Message);
        }

        [Fact]
        public void AFullScriptReadsWithEveryKey()
        {
            var script = Read(@"
name: deploy
description: d
params:
  version: { required: true, description: the version }
  packages: { type: list, default: [a, b] }
  force: { type: bool, default: 'false' }
targets: { group: web, exclude: web-03 }
strategy: { throttle: 4, serial: [1, ""50%""], max_fail_percentage: 25, on_failure: continue }
handlers:
  - id: restart
    run: systemctl restart app
steps:
  - id: build
    local: echo build {{ params.version }}
    run_once: true
  - id: push
    upload: ./app.tar
    dest: /tmp/app.tar
    mode: '0644'
    depends_on: build
  - id: install
    depends_on: [push]
    loop: params.packages
    run: echo {{ item }}
    register: installed
    retries: 2
    retry_delay: 1s
    until: result.ok
    timeout: 30s
    allowed_exit_codes: [0, 3]
    ignore_error: true
    sudo: true
    notify: restart
    when: params.force or host.tags contains 'web'
  - id: check
    depends_on: install
    on: '@failed'
    delegate_to: localhost
    run: echo {{ installed.stdout }} {{ steps.install.failed_hosts }}
");
            Assert.Equal("deploy", script.Name);
            Assert.True(script.IsGraph);
            Assert.Equal(new[] { "build", "push", "install", "check" }, script.Steps.Select(s => s.Id));
            Assert.Equal("install", script.Steps[3].On!.StepId);
            Assert.Equal(new[] { 1, 2, 2 }, script.Strategy.Batches(new[] { 1, 2, 3, 4, 5 }).Select(b => b.Count));
            Assert.Equal(StepAction.Upload, script.Steps[1].Action);
            Assert.Equal(new[] { 0, 3 }, script.Steps[2].AllowedExitCodes);
        }

        [Fact]
        public void HerdRecipeStepsWithSelectorsAndGoPlaceholdersRead()
        {
            var dir = new TempDirectory();
            var path = Path.Combine(dir.Path, "config.yaml");
            File.WriteAllText(path, @"defaults:
  user: deploy
  concurrency: 20
  timeout: 30s
  output: grouped
groups:
  web:
    user: www
    timeout: 10s
    hosts: [web-01, web-02]
recipes:
  restart-nginx:
    description: Restart nginx where it is down
    params:
      service: { default: nginx }
    steps:
      - systemctl is-active {{.service}}
      - '@failed systemctl restart {{.service}}'
      - '@differs echo differs'
parsers:
  nginx:
    extract:
      - field: active
        pattern: 'Active connections: (\d+)'
      - field: first
        column: 1
");
            var inventory = InventoryLoader.Load(path);
            Assert.Equal(20, inventory.Defaults.Throttle);
            Assert.Equal("grouped", inventory.Defaults.Output);
            Assert.All(inventory.Hosts, h => Assert.Equal(TimeSpan.FromSeconds(10), h.Timeout));
            var script = ScriptCatalog.Resolve("restart-nginx", inventory);
            Assert.Equal(ScriptOrigin.Recipe, script.Origin);
            Assert.Equal(SelectorKind.Failed, script.Steps[1].On!.Kind);
            Assert.Equal("step1", script.Steps[1].On!.StepId);
            Assert.Equal("systemctl restart 'nginx'", script.Steps[1].Command!.Render(new Dictionary<string, object?> { ["params"] = new Dictionary<string, object?> { ["service"] = "nginx" } }));
            var parsed = OutputParser.Find("nginx", inventory.Parsers).Parse("Active connections: 42\nserver accepts\n");
            Assert.Equal(42L, parsed["active"]);
            Assert.Equal("Active", parsed["first"]);
            dir.Dispose();
        }

        [Fact]
        public void BsshConfigReadsWithClustersAsGroupsAndVariablesExpanded()
        {
            var dir = new TempDirectory();
            var path = Path.Combine(dir.Path, "bssh.yaml");
            Environment.SetEnvironmentVariable("HERD_TEST_BSSH_USER", "admin");
            File.WriteAllText(path, @"defaults:
  user: ${HERD_TEST_BSSH_USER}
  port: 22
  ssh_key: ~/.ssh/id_ed25519
  parallel: 10
clusters:
  production:
    nodes:
      - web1.example.com
      - ops@web2.example.com:2222
      - host: db1.example.com
        port: 5432
  staging:
    nodes: [stage1]
    user: stager
");
            var inventory = InventoryLoader.Load(path);
            Assert.Equal(10, inventory.Defaults.Throttle);
            var web1 = inventory.Hosts.Single(h => h.Name == "web1.example.com");
            Assert.Equal("admin", web1.User);
            Assert.Equal(new[] { "production" }, web1.Groups);
            var web2 = inventory.Hosts.Single(h => h.Name == "web2.example.com");
            Assert.Equal(("ops", 2222), (web2.User, web2.Port));
            Assert.Equal(5432, inventory.Hosts.Single(h => h.Name == "db1.example.com").Port);
            Assert.Equal("stager", inventory.Hosts.Single(h => h.Name == "stage1").User);
            File.WriteAllText(path, "clusters:\n  c:\n    nodes: [\"${HERD_TEST_UNSET_VARIABLE_X}\"]\n");
            var e = Assert.Throws<InventoryException>(() => InventoryLoader.Load(path));
            Assert.Contains("HERD_TEST_UNSET_VARIABLE_X} is not set", e.Message);
            Assert.Equal(3, e.Line);
            dir.Dispose();
        }

        [Theory]
        [InlineData("'; touch $HOME/x'")]
        [InlineData("$(id)")]
        [InlineData("`id`; rm -rf /")]
        [InlineData("")]
        [InlineData("a\nb")]
        public void ValuesBecomeOneShellWordUnlessRaw(string value)
        {
            var template = LiquidTemplate.Parse("printf %s {{ params.v }}", TemplateQuoting.Shell);
            var model = new Dictionary<string, object?> { ["params"] = new Dictionary<string, object?> { ["v"] = value } };
            Assert.Equal("printf %s " + HerdPS.Transport.ShellQuote.Single(value), template.Render(model));
            Assert.Equal("printf %s " + value, LiquidTemplate.Parse("printf %s {{ params.v | raw }}", TemplateQuoting.Shell).Render(model));
        }

        public static IEnumerable<object[]> JsonHostileValues() => new[]
        {
            new object[] { "say \"hi\"\\ \n{\"x\":1}" },
            new object[] { "<b>&amp; 'q' +`" },
            new object[] { "l\u00FCbeck \U0001F600 \u2028\u0001\t\u007F" },
            new object[] { "lone \uD800 surrogate \uDC00" },
            new object[] { "" },
        };

        [Theory]
        [MemberData(nameof(JsonHostileValues))]
        public void ValuesBecomeJsonStringContentsEscapedAsTheSerializerEscapesThem(string value)
        {
            var template = LiquidTemplate.Parse("{\"v\": \"{{ params.v }}\"}", TemplateQuoting.Json);
            var model = new Dictionary<string, object?> { ["params"] = new Dictionary<string, object?> { ["v"] = value } };
            // Webhook bodies have always escaped as JsonSerializer does (its default encoder); the native herd writes
            // them without it, and this process still has it to compare with.
            Assert.Equal("{\"v\": " + System.Text.Json.JsonSerializer.Serialize(value) + "}", template.Render(model));
        }

        [Fact]
        public void TemplatesAreSandboxed()
        {
            var model = new Dictionary<string, object?> { ["params"] = new Dictionary<string, object?>() };
            Assert.Throws<TemplateException>(() => LiquidTemplate.Parse("{{ nothing.here }}", TemplateQuoting.None).Render(model));
            Assert.Throws<TemplateException>(() => LiquidTemplate.Parse("{% include 'etc/passwd' %}", TemplateQuoting.None).Render(model));
            Assert.Throws<TemplateException>(() => LiquidTemplate.Parse("{% for i in (1..100000000) %}{{ i }}{% endfor %}", TemplateQuoting.None).Render(model));
        }

        [Fact]
        public void ParametersAreTypedCheckedAndRequired()
        {
            var script = Read("params:\n  n: { type: int, default: 3 }\n  who: { required: true }\n  l: { type: list }\nsteps: [echo]\n");
            var bound = ScriptParameters.Bind(script, new Dictionary<string, object?> { ["who"] = "me", ["l"] = "a,b" });
            Assert.Equal(3L, bound["n"]);
            Assert.Equal(new[] { "a", "b" }, (List<string>)bound["l"]!);
            Assert.Contains("required", Assert.Throws<ScriptException>(() => ScriptParameters.Bind(script, null)).Message);
            Assert.Contains("not a parameter", Assert.Throws<ScriptException>(() => ScriptParameters.Bind(script, new Dictionary<string, object?> { ["who"] = "x", ["typo"] = "1" })).Message);
            Assert.Contains("not a whole number", Assert.Throws<ScriptException>(() => ScriptParameters.Bind(script, new Dictionary<string, object?> { ["who"] = "x", ["n"] = "ten" })).Message);
        }

        [Fact]
        public void EveryBuiltInReads()
        {
            Assert.Equal(new[] { "disk", "failed-services", "memory", "os-update", "os-version", "reboot-wait", "sudo-check", "uptime" }, ScriptCatalog.BuiltInNames);
            Assert.All(ScriptCatalog.List(null), i => Assert.True(i.IsValid, i.Error));
        }

        [Fact]
        public void BuiltInParsersGiveTypedFields()
        {
            var disk = OutputParser.Find("disk", null).Parse("Filesystem     1024-blocks     Used Available Capacity Mounted on\n/dev/sda1        40000000 20000000  18000000      53% /\n");
            Assert.Equal(53L, disk["UsePercent"]);
            var free = OutputParser.Find("free", null).Parse("               total        used        free      shared  buff/cache   available\nMem:            2000         500        1000          10         500        1400\nSwap:              0           0           0\n");
            Assert.Equal(25L, free["UsePercent"]);
            var up = OutputParser.Find("uptime", null).Parse(" 10:01:02 up 3 days,  2:03,  2 users,  load average: 0.50, 0.25, 0.10\n");
            Assert.Equal(0.5, up["Load1"]);
            Assert.Equal(2L, up["Users"]);
        }

        private static readonly string[] Corpus =
        {
            "name: a\nparams:\n  v: { default: x }\nstrategy: { serial: [1, \"50%\"], max_fail_percentage: 10 }\nsteps:\n  - id: one\n    run: echo {{ params.v }}\n    register: r\n  - '@failed echo {{ r.stdout }}'\n",
            "steps:\n  - id: a\n    run: echo\n  - id: b\n    depends_on: a\n    loop: [x, y]\n    run: echo {{ item }}\n    until: result.ok\nhandlers:\n  - id: h\n    run: echo h\n",
            "steps: [uptime, '@ok df -h', { run: id, sudo: true, timeout: 5s }]\n",
        };

        private static readonly string[] Tokens =
        {
            "steps:", "params:", "handlers:", "strategy:", "targets:", "run:", "id:", "depends_on:", "on:", "when:", "loop:", "until:",
            "register:", "retries:", "notify:", "{{", "}}", "{%", "%}", "{{ params.v }}", "{{ steps.a.stdout }}", "| raw", "@failed", "@ok:a",
            "[", "]", "{", "}", "- ", ": ", "\n", "  ", "\"", "'", "&a ", "*a", "99999999999", "-1", "50%", "a -> b", "{% for i in (1..9) %}",
        };

        [Fact]
        public void GeneratedAndMutatedScriptsEndInAScriptOrALocatedError()
        {
            var fuzzer = new TextFuzzer(13_2026, Corpus, Tokens);
            var failures = new List<string>();
            int valid = 0, located = 0;
            for (int n = 0; n < 2000 && failures.Count < 10; n++)
            {
                var text = fuzzer.Next();
                try
                {
                    var error = TextFuzzer.RunBounded(() => FleetScriptReader.Read(text, "f.yaml", ScriptOrigin.File), TimeSpan.FromSeconds(10));
                    if (error == null) valid++;
                    else if (error is ScriptException e && (e.Line >= 1 || e.Message.StartsWith("f.yaml:", StringComparison.Ordinal)) && e.Message.StartsWith("f.yaml", StringComparison.Ordinal)) located++;
                    else failures.Add($"case {n}: {error.GetType().Name}: {error.Message}\n{error.StackTrace}\n    {TextFuzzer.Show(text)}");
                }
                catch (TimeoutException e) { failures.Add($"case {n}: {e.Message}"); }
            }
            Assert.True(failures.Count == 0, string.Join("\n", failures));
            Assert.True(valid >= 20, $"only {valid} valid scripts");
            Assert.True(located >= 200, $"only {located} located errors");
        }
    }
}
