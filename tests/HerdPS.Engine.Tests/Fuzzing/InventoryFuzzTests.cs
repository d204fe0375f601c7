using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using HerdPS.Inventory;

namespace HerdPS.Tests.Fuzzing
{
    /// <summary>
    /// Generated and mutated inventories, YAML and host lists, through the engine's loader: every case ends, within a
    /// time bound and without crashing, either in a valid inventory or in an <see cref="InventoryException"/> that
    /// points at a line and column of the document. (The worst shapes also go through the real herd binary in
    /// InventoryLimitsCliTests.)
    /// </summary>
    public class InventoryFuzzTests
    {
        // Fixed for CI, so every run tries the same cases; HERD_FUZZ_SEED and HERD_FUZZ_CASES explore further by hand.
        private static readonly int Seed = int.TryParse(Environment.GetEnvironmentVariable("HERD_FUZZ_SEED"), out int seed) ? seed : 15_2026;
        private static readonly int Cases = int.TryParse(Environment.GetEnvironmentVariable("HERD_FUZZ_CASES"), out int cases) ? cases : 3000;
        private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);
        // A small host limit, so that the limit's own paths are reached often and no case builds a huge inventory.
        private static readonly InventoryLimits Limits = new InventoryLimits(maxHosts: 5_000);

        private static readonly string[] Corpus =
        {
            "defaults:\n  user: deploy\n  port: 22\n  throttle: 32\n  timeout: 30s\n  connect_timeout: 5s\n  history_retention: 30d\n  identity_file: ~/.ssh/fleet\n" +
            "groups:\n  web:\n    user: www\n    tags: [nginx]\n    hosts:\n      - web-01\n      - host: web-02\n        hostname: 10.0.0.12\n        port: 2222\n        tags: [prod, debian12]\n      - \"web[03-05]\"\n" +
            "  db:\n    hosts: [ \"db[01-03]\" ]\n  spare:\nhosts:\n  - bastion\n  - host: me\n    transport: local\n",
            "groups:\n  a: { hosts: [x, y], tags: [t1, T1, t2] }\n  b: { hosts: [y, \"z[1-3]\"], tags: [t3] }\n",
            "hosts:\n  - host: \"n[1-20]\"\n    tags: [rack1]\n  - host: \"::1\"\n    user: root\n",
            "---\ndefaults: &d { user: ops }\ngroups:\n  g: &g\n    tags: &t [a, b]\n    hosts: [h1]\n  h:\n    tags: *t\n    hosts: [h1, h2]\n",
            "# a host list\nweb-01\ndeploy@web-02\nweb-03:2222\nadmin@10.0.0.4:2200   # comment\nops@node[01-16]\n[::1]:22\nroot@[fe80::1%eth0]\n2001:db8::6\n",
            "a\nb\nc[1-3]\n",
        };

        private static readonly string[] Tokens =
        {
            "[", "]", "{", "}", ", ", ": ", "- ", "? ", "&a ", "*a", "<<: *a\n", "!!str ", "!!map ", "!custom ", "|\n", ">-\n", "\"", "'",
            "# c\n", "\n", "  ", "\t", "---\n", "...\n", "%YAML 1.2\n", "%TAG ! tag:x,2000:\n", "~", "null", "",
            "defaults:", "groups:", "hosts:", "tags:", "host:", "hostname:", "port:", "user:", "transport:", "identity_file:",
            "throttle:", "timeout:", "connect_timeout:", "history_retention:",
            "web[01-99]", "n[1-100000]", "n[1-9999999999]", "[1-3][1-3]", "x[0001-4000]", "[,]", "[5-1]",
            "65535", "65536", "0", "-1", "1e9", "0x1f", "99999999999999999999", "30s", "1h30m", "2d", "5 s",
            "root@", "@", ":22", "%eth0", "-oProxyCommand=x", "web-01", "WEB-01", "prod", "!prod",
        };

        [Fact]
        public void GeneratedAndMutatedInventoriesEndInAnInventoryOrALocatedError()
        {
            var fuzzer = new TextFuzzer(Seed, Corpus, Tokens, GenerateDocument);
            var failures = new List<string>();
            int valid = 0, located = 0, limits = 0;
            for (int n = 0; n < Cases; n++)
            {
                string text = fuzzer.Next();
                // Mostly YAML by name; a .txt name is sniffed (YAML when it starts like an inventory, else a host list).
                string path = n % 3 == 2 ? "fuzz/hosts.txt" : "fuzz/inventory.yaml";
                FleetInventory? inventory = null;
                string? problem;
                try
                {
                    var error = TextFuzzer.RunBounded(() => inventory = InventoryLoader.Parse(path, text, Limits), Bound);
                    problem = error switch
                    {
                        null => CheckInventory(inventory!),
                        InventoryException e => CheckLocation(e, path, text),
                        _ => $"threw {error.GetType().FullName}: {error.Message}\n{error.StackTrace}",
                    };
                    if (error == null) valid++;
                    else if (problem == null) located++;
                    if (error is InventoryException ie && (ie.Reason.Contains("limit") || ie.Reason.Contains("nested more than"))) limits++;
                }
                catch (TimeoutException e)
                {
                    problem = e.Message;
                }
                if (problem != null) failures.Add($"seed {Seed} case {n} ({path}): {problem}\n    {TextFuzzer.Show(text)}");
                if (failures.Count >= 10) break;
            }

            Assert.True(failures.Count == 0, string.Join("\n", failures));
            // Cases reach both ends and the limits: a fuzzer that only made syntax errors would test little.
            Assert.True(valid >= Cases / 10, $"only {valid} of {Cases} cases were valid inventories");
            Assert.True(located >= Cases / 10, $"only {located} of {Cases} cases were errors");
            Assert.True(limits >= 10, $"only {limits} of {Cases} cases reached a limit");
        }

        /// <summary>An error points into the document: its file, a line that exists, a column, in the message too.</summary>
        private static string? CheckLocation(InventoryException e, string path, string text)
        {
            int lines = text.Split('\n').Length;
            if (e.File != path) return $"error names the file '{e.File}', not '{path}': {e.Message}";
            if (e.Line < 1 || e.Line > lines) return $"error has line {e.Line} of {lines}: {e.Message}";
            if (e.Column < 1) return $"error has no column: {e.Message}";
            if (!e.Message.StartsWith($"{path}:{e.Line}:{e.Column}: ", StringComparison.Ordinal)) return $"message doesn't start with its location: {e.Message}";
            if (e.Message.Length > 2_500) return $"message of {e.Message.Length:N0} characters: {e.Message.Substring(0, 300)}";
            return null;
        }

        /// <summary>What every loaded inventory promises, however odd the document it came from.</summary>
        private static string? CheckInventory(FleetInventory inventory)
        {
            if (inventory.Hosts.Count > Limits.MaxHosts) return $"{inventory.Hosts.Count} hosts, over the limit";
            var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            var groups = new HashSet<string>(inventory.GroupNames, StringComparer.OrdinalIgnoreCase);
            foreach (var host in inventory.Hosts)
            {
                if (!names.Add(host.Name)) return $"host '{host.Name}' twice";
                if (!NameRules.IsValidHostName(host.Name, out var reason)) return reason;
                if (host.Address != null && !NameRules.IsValidHostName(host.Address, out reason)) return reason;
                if (host.User != null && !NameRules.IsValidUserName(host.User, out reason)) return reason;
                if (host.Tags.Count > InventoryLimits.MaxTagsPerHost) return $"host '{host.Name}' has {host.Tags.Count} tags";
                if (host.Tags.Distinct(StringComparer.OrdinalIgnoreCase).Count() != host.Tags.Count) return $"host '{host.Name}' has a tag twice";
                foreach (var tag in host.Tags)
                    if (!NameRules.IsValidTagName(tag, out reason)) return reason;
                foreach (var group in host.Groups)
                    if (!groups.Contains(group)) return $"host '{host.Name}' is in group '{group}', which the inventory doesn't list";
            }
            return null;
        }

        /// <summary>A random inventory, mostly well formed, in block or flow style, sometimes a host list instead.</summary>
        private static string GenerateDocument(Random random)
        {
            var text = new StringBuilder();
            if (random.Next(6) == 0)
            {
                for (int i = random.Next(1, 30); i > 0; i--) text.Append(HostSpec(random)).Append(random.Next(5) == 0 ? "  # note\n" : "\n");
                return text.ToString();
            }
            if (random.Next(3) == 0)
            {
                text.Append("defaults:\n");
                if (random.Next(2) == 0) text.Append("  user: ").Append(Pick(random, "deploy", "ops", "-x", "a b")).Append('\n');
                if (random.Next(2) == 0) text.Append("  port: ").Append(Pick(random, "22", "2222", "0", "70000")).Append('\n');
                if (random.Next(2) == 0) text.Append("  timeout: ").Append(Pick(random, "30s", "5m", "1h30m", "soon")).Append('\n');
                if (random.Next(3) == 0) text.Append("  throttle: ").Append(Pick(random, "32", "1", "0")).Append('\n');
            }
            text.Append("groups:\n");
            for (int g = random.Next(0, 6); g > 0; g--)
            {
                text.Append("  ").Append(Pick(random, "web", "db", "cache", "Web", "g" + random.Next(100), "!bad")).Append(":\n");
                if (random.Next(3) == 0) text.Append("    tags: [").Append(string.Join(", ", Enumerable.Range(0, random.Next(0, 6)).Select(_ => Tag(random)))).Append("]\n");
                if (random.Next(4) == 0) text.Append("    user: ").Append(Pick(random, "www", "root")).Append('\n');
                text.Append("    hosts:\n");
                for (int h = random.Next(0, 6); h > 0; h--)
                {
                    if (random.Next(3) == 0)
                    {
                        text.Append("      - host: \"").Append(HostName(random)).Append("\"\n");
                        if (random.Next(3) == 0) text.Append("        tags: [").Append(Tag(random)).Append(", ").Append(Tag(random)).Append("]\n");
                        if (random.Next(4) == 0) text.Append("        port: ").Append(random.Next(0, 70000)).Append('\n');
                        if (random.Next(6) == 0) text.Append("        transport: ").Append(Pick(random, "local", "ssh", "telnet")).Append('\n');
                    }
                    else
                    {
                        text.Append("      - \"").Append(HostName(random)).Append("\"\n");
                    }
                }
            }
            if (random.Next(3) == 0) text.Append("hosts: [").Append(HostName(random)).Append(", ").Append(HostName(random)).Append("]\n");
            return text.ToString();
        }

        private static string HostName(Random random) => random.Next(5) switch
        {
            0 => "n[" + random.Next(1, 5) + "-" + random.Next(5, 3000) + "]",
            1 => "r[1-" + random.Next(1, 80) + "]-n[01-" + random.Next(10, 99) + "]",
            2 => Pick(random, "web-01", "WEB-01", "db1", "10.0.0.1", "::1", "fe80::1%eth0", "bad name", "-oX", "x@y", "h:22"),
            _ => "h" + random.Next(0, 200),
        };

        private static string HostSpec(Random random) =>
            (random.Next(4) == 0 ? Pick(random, "root@", "deploy@", "-o@") : "") + HostName(random).Replace("\"", "") + (random.Next(4) == 0 ? ":" + random.Next(0, 70000) : "");

        private static string Tag(Random random) => Pick(random, "prod", "Prod", "staging", "debian12", "t" + random.Next(300), "!x", "a b");

        private static string Pick(Random random, params string[] values) => values[random.Next(values.Length)];
    }
}
