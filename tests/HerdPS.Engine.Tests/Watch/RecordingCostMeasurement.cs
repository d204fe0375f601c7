using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using HerdPS.Execution;
using HerdPS.History;
using HerdPS.Tests.Fleet;
using HerdPS.Tests.Inventory;
using HerdPS.Tests.Transport;
using Xunit.Abstractions;

namespace HerdPS.Tests.Watch
{
    /// <summary>Runs only when HERD_MEASURE=1: a measurement, not a behaviour check (timings belong in reports, not asserts).</summary>
    public sealed class MeasurementFactAttribute : FactAttribute
    {
        public MeasurementFactAttribute()
        {
            if (Environment.GetEnvironmentVariable("HERD_MEASURE") != "1") Skip = "a measurement; set HERD_MEASURE=1 to run it";
        }
    }

    [Collection("ssh fleet")]
    public class RecordingCostMeasurement
    {
        private readonly SshFleet _fleet;
        private readonly ITestOutputHelper _output;

        public RecordingCostMeasurement(SshFleet fleet, ITestOutputHelper output)
        {
            _fleet = fleet;
            _output = output;
        }

        /// <summary>
        /// The cost of recording: a 200-host `true` run over warm pooled connections, with and without history,
        /// alternated so both see the same machine load; medians of the rounds. Reported, never asserted.
        /// </summary>
        [MeasurementFact]
        public async Task RecordingA200HostRunCostsLittle()
        {
            using var dir = new TempDirectory();
            using var test = new FleetTestRun(_fleet);
            var hosts = FleetTestRun.Hosts(_fleet.Hosts.Take(200).ToArray());
            var runner = new FleetRunner(test.Transport());
            var options = new FleetRunOptions { ConnectTimeout = TimeSpan.FromSeconds(10), Throttle = 32 };
            using var store = FleetHistory.OpenForRecording(Path.Combine(dir.Path, "history.db"), null);

            async Task<TimeSpan> Once(bool record)
            {
                var sw = Stopwatch.StartNew();
                var results = runner.Start(hosts, "true", options).ReadAllAsync();
                using var recorder = record ? HistoryRecorder.Begin(store, FleetHistory.ExecKind, "true", "all", DateTime.UtcNow) : null;
                if (recorder != null) results = recorder.RecordAsync(results);
                var n = 0;
                await foreach (var r in results) { Assert.True(r.Succeeded, r.ErrorMessage); n++; }
                Assert.Equal(200, n);
                return sw.Elapsed;
            }

            await Once(false); // opens the 200 pooled masters
            var plain = new List<double>();
            var recorded = new List<double>();
            for (var round = 0; round < 5; round++)
            {
                plain.Add((await Once(false)).TotalMilliseconds);
                recorded.Add((await Once(true)).TotalMilliseconds);
            }
            double Median(List<double> xs) => xs.OrderBy(x => x).ElementAt(xs.Count / 2);

            // The recording alone, without SSH: 200 results into the store.
            var sample = Enumerable.Range(0, 200).Select(i => HerdPS.Tests.History.HistoryTestData.Result($"h{i:000}")).ToList();
            var storeOnly = new List<double>();
            for (var round = 0; round < 5; round++)
            {
                var sw = Stopwatch.StartNew();
                using (var recorder = HistoryRecorder.Begin(store, "exec", "true", "all", DateTime.UtcNow))
                {
                    foreach (var r in sample) recorder.Add(r);
                    recorder.Complete(DateTime.UtcNow);
                }
                storeOnly.Add(sw.Elapsed.TotalMilliseconds);
            }
            _output.WriteLine($"200-host 'true' run, warm pool, median of 5: without history {Median(plain):F0} ms, with history {Median(recorded):F0} ms, ratio {Median(recorded) / Median(plain):F3}");
            _output.WriteLine($"plain: {string.Join(", ", plain.Select(x => x.ToString("F0")))}; recorded: {string.Join(", ", recorded.Select(x => x.ToString("F0")))}");
            _output.WriteLine($"recording 200 results alone (no SSH), median of 5: {Median(storeOnly):F1} ms");
        }
    }
}
