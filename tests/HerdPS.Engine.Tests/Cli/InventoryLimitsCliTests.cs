using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using HerdPS.Tests.Inventory;

namespace HerdPS.Tests.Cli
{
    /// <summary>
    /// The worst inventories of issue 11 through the real herd binary: each ends promptly in exit 2 with
    /// file:line:column on stderr, where it once crashed the process (exit 134), ran for minutes or took gigabytes.
    /// Nothing here connects anywhere: <c>herd hosts</c> only loads and selects.
    /// </summary>
    public class InventoryLimitsCliTests : IDisposable
    {
        private readonly TempDirectory temp = new TempDirectory();

        public void Dispose() => temp.Dispose();

        private static readonly TimeSpan Guard = TimeSpan.FromMinutes(2);

        private async Task<HerdProcess.Outcome> Hosts(string file, Dictionary<string, string>? env = null) =>
            await HerdProcess.RunAsync(new[] { "hosts", "-i", file }, env, Guard);

        public static IEnumerable<object[]> WorstInventories() => new[]
        {
            // name, content, expected location (line:column), words of the reason
            new object[] { "flow-nesting.yaml", "hosts: " + new string('[', 20_000) + new string(']', 20_000) + "\n", "1:71", "nested more than 64 levels" },
            new object[] { "block-nesting.yaml", "groups:\n  web:\n    hosts:\n    " + string.Concat(Enumerable.Repeat("- ", 20_000)) + "x\n", "4:127", "nested more than 64 levels" },
            new object[] { "range-bomb.yaml", "hosts:\n" + string.Concat(Enumerable.Range(0, 30).Select(i => $"  - \"r{i}-n[000001-100000]\"\n")), "3:5", "past the inventory's limit" },
            new object[] { "product-bomb.txt", "# one line, a trillion hosts\nn[1-1000]-[1-1000]-[1-1000]-[1-1000]\n", "2:1", "expands to 1,000,000,000,000 hosts" },
            new object[] { "tags.yaml", "hosts:\n  - host: h1\n    tags: [" + string.Join(", ", Enumerable.Range(0, 100_000).Select(i => "t" + i)) + "]\n", "3:", "a host can have at most 256" },
        };

        [Theory]
        [MemberData(nameof(WorstInventories))]
        public async Task TheWorstInventoriesEndInExitTwoWithTheirLocation(string name, string content, string location, string reason)
        {
            string file = temp.Write(name, content);

            var o = await Hosts(file);

            Assert.Equal(2, o.ExitCode);
            Assert.Equal("", o.StdOut);
            Assert.StartsWith($"herd: {file}:{location}", o.StdErr);
            Assert.Contains(reason, o.StdErr);
            Assert.Single(o.StdErr.TrimEnd('\n').Split('\n'));
        }

        [Fact]
        public async Task HerdMaxHostsRaisesTheLimitAndABadValueIsExitTwo()
        {
            string file = temp.Write("big.yaml", "groups:\n  rack:\n    hosts: [\"n[1-120000]\"]\n");

            var refused = await Hosts(file);
            Assert.Equal(2, refused.ExitCode);
            Assert.StartsWith($"herd: {file}:3:13: 'n[1-120000]' expands to 120,000 hosts", refused.StdErr);
            Assert.Contains("set $HERD_MAX_HOSTS to raise it", refused.StdErr);

            var raised = await Hosts(file, new Dictionary<string, string> { ["HERD_MAX_HOSTS"] = "150000" });
            Assert.True(raised.ExitCode == 0, raised.StdErr);
            Assert.Equal(120_001, raised.StdOut.TrimEnd('\n').Split('\n').Length); // a header, then one line per host

            var bad = await Hosts(file, new Dictionary<string, string> { ["HERD_MAX_HOSTS"] = "a lot" });
            Assert.Equal(2, bad.ExitCode);
            Assert.Equal("herd: $HERD_MAX_HOSTS is 'a lot'; it must be a whole number of hosts from 1 to 2,147,483,647 (the default is 100,000)\n", bad.StdErr);
        }

        [Theory]
        // Found by InventoryFuzzTests. YamlDotNet 18.1 itself throws on these: an ArgumentException from its node
        // builder ("The current event is of an unsupported type") and an InvalidOperationException from its scanner.
        [InlineData("---\ndefaults: &d { user: ops }\ngroups:\n  g: &g\n    tags: &t [a, b]\n    hosts: [h1] *t\n    \ud83d\ude00hosts: [h1, h2]\n\n ")]
        [InlineData("groups:\n  a: { hosts: [x, y], t\nags: z[1\u0000-3]\"], tags: [t3] }\n")]
        public async Task FuzzCasesThatCrashedTheYamlReaderAreLocatedSyntaxErrors(string content)
        {
            string file = temp.Write("odd.yaml", content);
            var o = await Hosts(file);
            Assert.Equal(2, o.ExitCode);
            Assert.Matches($"^herd: {System.Text.RegularExpressions.Regex.Escape(file)}:[0-9]+:[0-9]+: this YAML can't be read past here", o.StdErr);
        }
    }
}
