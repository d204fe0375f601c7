using System.Collections.Generic;
using System.IO;
using System.Threading.Tasks;
using Fluid;
using HerdPS.Templating;
using HerdPS.Tests.Cli;
using HerdPS.Tests.Inventory;

namespace HerdPS.Tests.Scripting
{
    /// <summary>
    /// Liquid's <c>json</c> filter is ours (Fluid's serializes by reflection, which the native herd lacks): it writes what
    /// Fluid's wrote, and it works in the herd under test.
    /// </summary>
    public sealed class LiquidJsonTests
    {
        private static readonly Dictionary<string, object?> Model = new Dictionary<string, object?>
        {
            ["params"] = new Dictionary<string, object?>
            {
                ["packages"] = new List<object?> { "nginx", "a\"b", "<tag>&'", "é ü 日本", "tab\there\nnew" },
                ["n"] = 3,
                ["big"] = 12345678901L,
                ["ratio"] = 0.25,
                ["on"] = true,
                ["off"] = false,
                ["none"] = null,
                ["empty"] = new List<object?>(),
                ["nested"] = new Dictionary<string, object?> { ["a"] = new List<object?> { 1, new Dictionary<string, object?> { ["b"] = "c" } } },
            },
        };

        [Theory]
        [InlineData("{{ params | json }}")]
        [InlineData("{{ params | json: true }}")]
        [InlineData("{{ params.packages | json }}")]
        [InlineData("{{ params.n | json }}{{ params.big | json }}{{ params.ratio | json }}{{ params.on | json }}{{ params.off | json }}")]
        [InlineData("{{ params.packages | join: ',' | json }}{{ params.packages | first | upcase | json }}{{ params.packages | size | json }}")]
        [InlineData("{{ params.nested.a | json }}{{ params.empty | json }}")]
        public void OursWritesWhatFluidsOwnWrote(string source)
        {
            var ours = LiquidTemplate.Parse(source, TemplateQuoting.None).Render(Model);

            // Fluid's own filter, in this JIT-compiled process where its reflection works, over the same values.
            var fluidOptions = new TemplateOptions();
            Assert.True(new FluidParser().TryParse(source, out var template, out var error), error);
            var context = new TemplateContext(fluidOptions);
            foreach (var pair in Model) context.SetValue(pair.Key, LiquidTemplate.ToFluid(pair.Value, fluidOptions));
            var fluids = template.Render(context);

            Assert.Equal(fluids, ours);
            // One line, as Fluid 2.41 wrote it, even with `json: true` (it takes no argument; a newline in a string is \n).
            Assert.DoesNotContain("\n", ours);
        }

        [Fact]
        public async Task TheHerdUnderTestRendersJsonInAScriptStep()
        {
            using var dir = new TempDirectory();
            var script = Path.Combine(dir.Path, "json.yaml");
            File.WriteAllText(script,
                "params:\n" +
                "  packages: { type: list, default: [nginx, 'a\"b'] }\n" +
                "  n: { type: int, default: 3 }\n" +
                "steps:\n" +
                "  - local: \"printf '%s|' {{ params.packages | json }} {{ params | json }} {{ params.n | json }}\"\n");
            var o = await HerdProcess.RunAsync(new[] { "run", script, "--json" });
            Assert.True(o.ExitCode == 0, o.StdOut + o.StdErr);
            var step = System.Text.Json.JsonDocument.Parse(o.StdOut.Split('\n')[0]).RootElement;
            Assert.Equal("[\"nginx\",\"a\\u0022b\"]|{\"packages\":[\"nginx\",\"a\\u0022b\"],\"n\":3}|3|", step.GetProperty("stdOut").GetString());
        }
    }
}
