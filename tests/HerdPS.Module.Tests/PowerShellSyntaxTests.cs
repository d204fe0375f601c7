using System.Diagnostics;
using System.IO;

namespace HerdPS.Module.Tests
{
    /// <summary>
    /// Every .ps1/.psd1/.psm1 in the repo parses (tree-sitter-powershell through node): PowerShell can't run here,
    /// so this is what catches a broken build.ps1, manifest or Pester suite. Never skipped: a missing node_modules fails.
    /// </summary>
    public class PowerShellSyntaxTests
    {
        [Fact]
        public void Every_PowerShell_file_in_the_repo_parses()
        {
            var dir = ModuleFiles.Repo("tests/ps-syntax");
            Assert.True(Directory.Exists(Path.Combine(dir, "node_modules", "web-tree-sitter")),
                "tests/ps-syntax/node_modules is missing: run (cd tests/ps-syntax && npm ci --ignore-scripts)");
            var start = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = dir };
            start.ArgumentList.Add(Path.Combine(dir, "check.mjs"));
            start.ArgumentList.Add(ModuleFiles.RepoRoot);
            using var node = Process.Start(start)!;
            var stdout = node.StandardOutput.ReadToEndAsync();
            var stderr = node.StandardError.ReadToEnd();
            Assert.True(node.WaitForExit(120_000), "node check.mjs did not finish in 2 minutes");
            Assert.True(node.ExitCode == 0, $"ps-syntax failed (exit {node.ExitCode}):\n{stderr}\n{stdout.Result}");
            Assert.Contains("0 error(s)", stdout.Result);
        }
    }
}
