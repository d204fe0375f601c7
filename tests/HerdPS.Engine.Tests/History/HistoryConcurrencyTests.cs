using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using HerdPS.History;
using HerdPS.Tests.Inventory;
using Xunit.Abstractions;
using static HerdPS.Tests.History.HistoryTestData;

namespace HerdPS.Tests.History
{
    /// <summary>
    /// Several herd processes (a scheduled task, a watch, an interactive run) record into one database at once.
    /// These tests count every row afterwards: nothing may be lost and no busy error may reach the caller.
    /// </summary>
    public class HistoryConcurrencyTests : IDisposable
    {
        private const int Writers = 8, RunsPerWriter = 50, ResultsPerRun = 20, BatchSize = 8;

        private readonly TempDirectory _folder = new TempDirectory();
        private readonly ITestOutputHelper _output;

        public HistoryConcurrencyTests(ITestOutputHelper output) => _output = output;

        public void Dispose() => _folder.Dispose();

        private string DbPath => InFolder("history.db");

        private string InFolder(string name) => Path.Combine(_folder.Path, name);

        [Fact]
        public async Task EightWriterProcessesCreatingAndFillingOneDatabaseLoseNothing()
        {
            string writerDll = Path.Combine(AppContext.BaseDirectory, "HerdPS.HistoryWriter.dll");
            Assert.True(File.Exists(writerDll), $"{writerDll} was not built beside the tests");

            var writers = new List<Process>();
            var stopwatch = new Stopwatch();
            try
            {
                for (int w = 0; w < Writers; w++)
                {
                    var start = new ProcessStartInfo(DotnetHost())
                    {
                        RedirectStandardInput = true,
                        RedirectStandardOutput = true,
                        RedirectStandardError = true,
                        UseShellExecute = false,
                    };
                    foreach (var argument in new[] { "exec", writerDll, DbPath, $"w{w}", $"{RunsPerWriter}", $"{ResultsPerRun}", $"{BatchSize}" })
                        start.ArgumentList.Add(argument);
                    writers.Add(Process.Start(start)!);
                }
                // Every writer waits for this line before opening, so they also race to create and migrate the file.
                stopwatch.Start();
                foreach (var writer in writers) writer.StandardInput.WriteLine("go");

                // Both pipes of every writer are drained at once, so none blocks on a full pipe.
                var outputs = writers.Select(w => (Out: w.StandardOutput.ReadToEndAsync(), Err: w.StandardError.ReadToEndAsync())).ToList();
                for (int w = 0; w < writers.Count; w++)
                {
                    var writer = writers[w];
                    Assert.True(writer.WaitForExit(120_000), "a writer process hung");
                    string stdout = await outputs[w].Out, stderr = await outputs[w].Err;
                    Assert.True(writer.ExitCode == 0, $"writer exited {writer.ExitCode}: {stderr}");
                    Assert.Equal("", stderr);
                    Assert.Contains("wrote", stdout);
                }
                stopwatch.Stop();
            }
            finally
            {
                foreach (var writer in writers)
                {
                    if (!writer.HasExited) writer.Kill();
                    writer.Dispose();
                }
            }
            _output.WriteLine($"{Writers} processes x {RunsPerWriter} runs x {ResultsPerRun} results: {stopwatch.Elapsed.TotalSeconds:0.00} s");
            AssertEveryRowIsThere(expectedWriters: Writers);
        }

        [Fact]
        public void EightThreadsWithTheirOwnStoresLoseNothing()
        {
            Exception? failure = null;
            var start = new ManualResetEventSlim();
            var threads = Enumerable.Range(0, Writers).Select(w => new Thread(() =>
            {
                try
                {
                    start.Wait();
                    using (var store = HistoryStore.Open(DbPath, new HistoryStoreOptions { BatchSize = BatchSize }))
                    {
                        for (int r = 0; r < RunsPerWriter; r++)
                        {
                            var run = store.BeginRun("exec", $"echo w{w} {r}", $"writer=w{w}", DateTime.UtcNow);
                            for (int h = 0; h < ResultsPerRun; h++)
                                run.Add(Result($"host-{h:D3}", stdout: $"w{w} run {r} host {h}\n"));
                            run.Complete(DateTime.UtcNow);
                            store.ListRuns(new HistoryQuery { Last = 5 });
                        }
                    }
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref failure, e, null);
                }
            })).ToList();
            threads.ForEach(t => t.Start());
            start.Set();
            threads.ForEach(t => t.Join());

            Assert.Null(failure);
            AssertEveryRowIsThere(expectedWriters: Writers);
        }

        [Fact]
        public void OneStoreSharedByThreadsRecordsEveryResult()
        {
            using (var store = HistoryStore.Open(DbPath, new HistoryStoreOptions { BatchSize = 5 }))
            {
                var run = store.BeginRun("exec", "uptime", "all", Now);
                var threads = Enumerable.Range(0, 4).Select(t => new Thread(() =>
                {
                    for (int h = 0; h < 50; h++) run.Add(Result($"t{t}-host-{h:D2}"));
                })).ToList();
                threads.ForEach(t => t.Start());
                threads.ForEach(t => t.Join());
                run.Complete(Now);

                Assert.Equal(200, store.ReadResults(run.Id).Select(r => r.HostName).Distinct().Count());
                Assert.Equal(200, store.GetRun(run.Id)!.HostCount);
            }
        }

        private void AssertEveryRowIsThere(int expectedWriters)
        {
            Assert.Equal(expectedWriters * RunsPerWriter, Scalar(DbPath, "SELECT count(*) FROM runs"));
            Assert.Equal(expectedWriters * RunsPerWriter, Scalar(DbPath, "SELECT count(*) FROM runs WHERE finished_utc IS NOT NULL"));
            Assert.Equal(expectedWriters * RunsPerWriter * ResultsPerRun, Scalar(DbPath, "SELECT count(*) FROM results"));
            Assert.Equal(expectedWriters * RunsPerWriter, Scalar(DbPath, $"SELECT count(*) FROM runs WHERE host_count = {ResultsPerRun}"));
            // Each run holds exactly its own 20 hosts, none from another run.
            Assert.Equal(0, Scalar(DbPath,
                $"SELECT count(*) FROM (SELECT run_id FROM results GROUP BY run_id HAVING count(DISTINCT host) <> {ResultsPerRun})"));
            Assert.Equal(0, Scalar(DbPath,
                "SELECT count(*) FROM results x JOIN runs r ON r.id = x.run_id " +
                "WHERE substr(x.stdout, 1, instr(x.stdout, ' run ') - 1) <> substr(r.selection, 8)"));
        }

        private static string DotnetHost()
        {
            string? host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
            if (!string.IsNullOrEmpty(host) && File.Exists(host)) return host;
            string? current = Environment.ProcessPath;
            if (current != null && Path.GetFileNameWithoutExtension(current) == "dotnet") return current;
            return "dotnet";
        }
    }
}
