using System;
using System.IO;
using System.Linq;
using System.Management.Automation.Language;

namespace HerdPS.PowerShell.Tests
{
    /// <summary>Every .ps1/.psm1/.psd1 in the repository parses with PowerShell's own parser (build.ps1, the manifest, the Pester suites, scripts).</summary>
    public sealed class SyntaxTests
    {
        [Fact]
        public void Every_PowerShell_file_in_the_repo_parses()
        {
            var skip = new[] { "/bin/", "/obj/", "/out/", "/node_modules/", "/.git/", "/bench/work/" };
            var files = Directory.EnumerateFiles(TestPaths.RepoRoot, "*.*", SearchOption.AllDirectories)
                .Where(f => f.EndsWith(".ps1", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".psm1", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".psd1", StringComparison.OrdinalIgnoreCase))
                .Where(f => !skip.Any(s => f.Replace('\\', '/').Contains(s, StringComparison.Ordinal)))
                .ToList();
            Assert.Contains(files, f => f.EndsWith("HerdPS.psd1", StringComparison.Ordinal));
            Assert.Contains(files, f => f.EndsWith("build.ps1", StringComparison.Ordinal));
            var problems = files.SelectMany(f =>
            {
                Parser.ParseFile(f, out _, out var errors);
                return errors.Select(e => $"{Path.GetRelativePath(TestPaths.RepoRoot, f)}:{e.Extent.StartLineNumber}:{e.Extent.StartColumnNumber}: {e.Message}");
            }).ToList();
            Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
        }
    }
}
