using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Reflection;

namespace HerdPS.PowerShell.Tests
{
    /// <summary>Where the repository, the packaged module and the built tools are.</summary>
    public static class TestPaths
    {
        private static string Meta(string key) =>
            typeof(TestPaths).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;

        public static string RepoRoot => Meta("RepoRoot");
        public static string Version => Meta("HerdVersion");
        public static string Configuration => Meta("Configuration");
        public static string NuGetPackageRoot => Meta("NuGetPackageRoot");
        /// <summary>out/ : what users put on PSModulePath (it holds HerdPS/&lt;version&gt;/).</summary>
        public static string ModuleRoot => Path.Combine(RepoRoot, "out");
        public static string ModuleDir => Path.Combine(ModuleRoot, "HerdPS", Version);
        public static string Manifest => Path.Combine(ModuleDir, "HerdPS.psd1");
        public static string Pwsh => Path.Combine(RepoRoot, "tools", "pwsh", "bin", Configuration, "net10.0", "pwsh");
        /// <summary>The herd under test: <c>$HERD_TEST_HERD</c> (test.sh's native herd) when set, else the one the build made.</summary>
        public static string Herd => Environment.GetEnvironmentVariable("HERD_TEST_HERD") is { Length: > 0 } given
            ? (File.Exists(given) ? Path.GetFullPath(given) : throw new FileNotFoundException($"HERD_TEST_HERD names {given}, which does not exist", given))
            : Path.Combine(RepoRoot, "src", "HerdPS.Cli", "bin", Configuration, "net10.0", "herd");
        public static string Repo(string relative) => Path.Combine(RepoRoot, relative);
    }

    /// <summary>What one script run produced, stream by stream.</summary>
    public sealed class PowerShellRun
    {
        public List<PSObject> Output { get; } = new List<PSObject>();
        public List<ErrorRecord> Errors { get; } = new List<ErrorRecord>();
        public List<WarningRecord> Warnings { get; } = new List<WarningRecord>();
        public List<VerboseRecord> Verbose { get; } = new List<VerboseRecord>();
        /// <summary>The terminating error that ended the script, if one did.</summary>
        public Exception? Terminating { get; set; }

        public IEnumerable<T> Objects<T>() => Output.Select(o => o.BaseObject).OfType<T>();

        /// <summary>Everything worth showing when an assertion fails.</summary>
        public string Describe() =>
            string.Join(Environment.NewLine, new[]
            {
                Terminating != null ? "terminating: " + Terminating : null,
                Errors.Count > 0 ? "errors:" + Environment.NewLine + string.Join(Environment.NewLine, Errors.Select(e => $"  {e.FullyQualifiedErrorId}: {e}")) : null,
                Warnings.Count > 0 ? "warnings:" + Environment.NewLine + string.Join(Environment.NewLine, Warnings.Select(w => "  " + w.Message)) : null,
                "output: " + string.Join(" | ", Output.Take(20).Select(o => o?.ToString())),
            }.Where(l => l != null));

        /// <summary>Fails the test with the whole story when anything went wrong.</summary>
        public PowerShellRun AssertClean()
        {
            Assert.True(Terminating == null && Errors.Count == 0, Describe());
            return this;
        }
    }

    /// <summary>
    /// A fresh runspace (InitialSessionState.CreateDefault2, as pwsh starts) in this process, optionally with the
    /// packaged module imported by path, the way users import it. Scripts run on the runspace's own pipeline thread;
    /// a run that outlives its guard is stopped (StopProcessing) and reported as a timeout.
    /// </summary>
    public sealed class PowerShellSession : IDisposable
    {
        public static readonly TimeSpan DefaultGuard = TimeSpan.FromMinutes(2);

        private PowerShellSession(Runspace runspace) { Runspace = runspace; }

        public Runspace Runspace { get; }

        public static PowerShellSession Start(bool importModule = true, string? location = null)
        {
            var runspace = RunspaceFactory.CreateRunspace(InitialSessionState.CreateDefault2());
            runspace.Open();
            var session = new PowerShellSession(runspace);
            if (location != null) session.Run($"Set-Location -LiteralPath '{location.Replace("'", "''")}'").AssertClean();
            if (importModule) session.Run($"Import-Module -Name '{TestPaths.Manifest}' -ErrorAction Stop").AssertClean();
            return session;
        }

        /// <summary>Runs <paramref name="script"/> to its end (or until the guard) and collects every stream.</summary>
        public PowerShellRun Run(string script, TimeSpan? guard = null, IDictionary<string, object?>? variables = null)
        {
            var run = new PowerShellRun();
            using var ps = System.Management.Automation.PowerShell.Create();
            ps.Runspace = Runspace;
            if (variables != null)
                foreach (var v in variables) Runspace.SessionStateProxy.SetVariable(v.Key, v.Value);
            ps.AddScript(script);
            var output = new PSDataCollection<PSObject>();
            output.DataAdded += (_, e) => { lock (run) run.Output.Add(output[e.Index]); };
            ps.Streams.Error.DataAdded += (_, e) => { lock (run) run.Errors.Add(ps.Streams.Error[e.Index]); };
            ps.Streams.Warning.DataAdded += (_, e) => { lock (run) run.Warnings.Add(ps.Streams.Warning[e.Index]); };
            ps.Streams.Verbose.DataAdded += (_, e) => { lock (run) run.Verbose.Add(ps.Streams.Verbose[e.Index]); };
            var pending = ps.BeginInvoke<PSObject, PSObject>(null, output);
            if (!pending.AsyncWaitHandle.WaitOne(guard ?? DefaultGuard))
            {
                ps.Stop();
                throw new TimeoutException($"the script did not finish within {guard ?? DefaultGuard}: {script}");
            }
            try { ps.EndInvoke(pending); }
            catch (RuntimeException e) { run.Terminating = e; }
            return run;
        }

        /// <summary>Starts <paramref name="script"/> and returns at once, so a test can stop it mid-run.</summary>
        public (System.Management.Automation.PowerShell Shell, IAsyncResult Pending, PSDataCollection<PSObject> Output) Begin(string script)
        {
            var ps = System.Management.Automation.PowerShell.Create();
            ps.Runspace = Runspace;
            ps.AddScript(script);
            var output = new PSDataCollection<PSObject>();
            return (ps, ps.BeginInvoke<PSObject, PSObject>(null, output), output);
        }

        public void Dispose() => Runspace.Dispose();
    }
}
