using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using HerdPS.Execution;
using HerdPS.Inventory;
using HerdPS.Transport;

namespace HerdPS.Tests.Execution
{
    /// <summary>The runner's contract, exercised on the local transport (real /bin/sh processes, no SSH).</summary>
    public class LocalRunnerTests
    {
        private static IReadOnlyList<FleetHost> LocalHosts(int n) =>
            Enumerable.Range(1, n).Select(i => new FleetHost($"l{i:000}") { Transport = HostTransportKind.Local, Tags = new[] { "t" }, Groups = new[] { "g" } }).ToList();

        /// <summary>A sleep length no other process uses, so the process table can tell whether ours survived.</summary>
        internal static string UniqueSleep() => "300." + Random.Shared.Next(10000, 99999).ToString() + Random.Shared.Next(10000, 99999).ToString();

        private static async Task<List<FleetResult>> RunAll(IReadOnlyList<FleetHost> hosts, string command, FleetRunOptions options, CancellationToken ct = default, Action<FleetProgress>? progress = null)
        {
            var runner = new FleetRunner(new LocalTransport());
            var run = runner.Start(hosts, command, options, progress, ct);
            var results = new List<FleetResult>();
            await foreach (var r in run.ReadAllAsync()) results.Add(r);
            return results;
        }

        [Fact]
        public async Task EveryHostYieldsExactlyOneResultWithItsOutput()
        {
            var results = await RunAll(LocalHosts(50), "echo out; echo err >&2; exit 3", new FleetRunOptions { Throttle = 8 });
            Assert.Equal(50, results.Count);
            Assert.Equal(50, results.Select(r => r.HostName).Distinct().Count());
            Assert.All(results, r =>
            {
                Assert.Equal(FleetStatus.Failed, r.Status);
                Assert.Equal(3, r.ExitCode);
                Assert.Equal("out\n", r.StdOut);
                Assert.Equal("err\n", r.StdErr);
                Assert.Equal(1, r.Attempts);
                Assert.Equal(new[] { "g" }, r.Groups);
                Assert.Equal(new[] { "t" }, r.Tags);
            });
            Assert.Single(results.Select(r => r.OutputHash).Distinct());
        }

        [Fact]
        public async Task ACommandThatStartsWithADashIsTheCommandNotAnOptionOfSh()
        {
            // "sh -c -x..." would take "-x ..." as sh's own options; LocalTransport runs "sh -c -- command".
            var results = await RunAll(LocalHosts(1), "-x 2>/dev/null; echo ran", new FleetRunOptions());
            var r = Assert.Single(results);
            Assert.True(r.Succeeded, r.StdErr);
            Assert.Equal("ran\n", r.StdOut);
            Assert.Equal("local", r.Transport);
        }

        [Fact]
        public async Task ThrottleBoundsHowManyRunAtOnce()
        {
            var dir = Directory.CreateTempSubdirectory("herd-throttle").FullName;
            try
            {
                // Each command records itself as running, looks at how many run, then leaves.
                var cmd = $"d={dir}; touch $d/$$; ls $d | wc -l >> $d/counts; sleep 0.2; rm $d/$$";
                var results = await RunAll(LocalHosts(12), cmd, new FleetRunOptions { Throttle = 3 });
                Assert.All(results, r => Assert.True(r.Succeeded, r.StdErr));
                var peaks = File.ReadAllLines(Path.Combine(dir, "counts")).Select(l => int.Parse(l.Trim()) - 1).ToList(); // minus the counts file
                Assert.Equal(12, peaks.Count);
                Assert.True(peaks.Max() <= 3, $"saw {peaks.Max()} at once");
            }
            finally { Directory.Delete(dir, true); }
        }

        [Fact]
        public async Task TimeoutEndsTheCommandAndItsChildren()
        {
            var token = UniqueSleep();
            var results = await RunAll(LocalHosts(1), $"sh -c 'sleep {token}; echo never' & wait", new FleetRunOptions { CommandTimeout = TimeSpan.FromSeconds(1) });
            var r = Assert.Single(results);
            Assert.Equal(FleetStatus.TimedOut, r.Status);
            Assert.Equal(FleetErrorKind.CommandTimeout, r.ErrorKind);
            Assert.Null(r.ExitCode);
            Assert.True(r.Duration < TimeSpan.FromSeconds(60));
            Assert.Empty(Fleet.ProcessTable.WaitUntilGone(p => p.CommandLine.Contains(token), TimeSpan.FromSeconds(10)));
        }

        [Fact]
        public async Task ATimeoutSaysTheCommandWentOnSigterm()
        {
            var token = UniqueSleep();
            var r = Assert.Single(await RunAll(LocalHosts(1), $"sleep {token}", new FleetRunOptions { CommandTimeout = TimeSpan.FromSeconds(1) }));
            Assert.Equal(FleetStatus.TimedOut, r.Status);
            Assert.Equal("the command ran longer than 1s and was ended by SIGTERM", r.ErrorMessage);
            Assert.Equal("local", r.Transport);
        }

        [Fact]
        public async Task ACommandThatIgnoresSigtermIsKilledAfterTheGracePeriodAndTheResultSaysSo()
        {
            var token = UniqueSleep();
            var r = Assert.Single(await RunAll(LocalHosts(1), $"trap '' TERM HUP INT; sleep {token}",
                new FleetRunOptions { CommandTimeout = TimeSpan.FromSeconds(1), StopGrace = TimeSpan.FromSeconds(1) }));
            Assert.Equal(FleetStatus.TimedOut, r.Status);
            Assert.Contains("SIGKILL", r.ErrorMessage);
            Assert.Empty(Fleet.ProcessTable.WaitUntilGone(p => p.CommandLine.Contains(token), TimeSpan.FromSeconds(10)));
        }

        [Fact]
        public async Task AChildThatIgnoresSigtermGoesWithItsParentWhenTheParentEndsOnIt()
        {
            // The top process ends on TERM at once; a child of it ignores TERM and would outlive it.
            var token = UniqueSleep();
            var r = Assert.Single(await RunAll(LocalHosts(1), $"(trap '' TERM; sleep {token}) & wait",
                new FleetRunOptions { CommandTimeout = TimeSpan.FromSeconds(1), StopGrace = TimeSpan.FromSeconds(30) }));
            Assert.Equal(FleetStatus.TimedOut, r.Status);
            Assert.Empty(Fleet.ProcessTable.WaitUntilGone(p => p.CommandLine.Contains(token), TimeSpan.FromSeconds(10)));
        }

        [Fact]
        public async Task OutputIsCappedButHashedInFull()
        {
            var options = new FleetRunOptions { MaxOutputBytes = 1000 };
            var a = Assert.Single(await RunAll(LocalHosts(1), "head -c 100000 /dev/zero | tr '\\0' a", options));
            var b = Assert.Single(await RunAll(LocalHosts(1), "head -c 100000 /dev/zero | tr '\\0' a; printf b", options));
            Assert.True(a.Truncated);
            Assert.Equal(1000, a.StdOut.Length);
            Assert.Equal(a.StdOut, b.StdOut);
            Assert.NotEqual(a.OutputHash, b.OutputHash); // the difference lies past the cap, and still counts
        }

        [Fact]
        public async Task NonUtf8OutputHashesByItsBytes()
        {
            var a = Assert.Single(await RunAll(LocalHosts(1), "printf '\\377\\376'", new FleetRunOptions()));
            var b = Assert.Single(await RunAll(LocalHosts(1), "printf '\\377\\375'", new FleetRunOptions()));
            Assert.Equal(a.StdOut, b.StdOut); // both decode to replacement characters
            Assert.NotEqual(a.OutputHash, b.OutputHash);
        }

        [Fact]
        public async Task FailFastStopsStartingHostsAndReportsTheRestCancelled()
        {
            var results = await RunAll(LocalHosts(20), "exit 1", new FleetRunOptions { Throttle = 1, FailFast = true });
            Assert.Equal(20, results.Count);
            Assert.Equal(FleetStatus.Failed, results[0].Status);
            Assert.All(results.Skip(1), r =>
            {
                Assert.Equal(FleetStatus.Cancelled, r.Status);
                Assert.Contains("fail-fast", r.ErrorMessage);
            });
        }

        [Fact]
        public async Task CancellationEndsRunningChildrenAndCancelsTheRest()
        {
            var token = UniqueSleep();
            using var cts = new CancellationTokenSource();
            var runner = new FleetRunner(new LocalTransport());
            var run = runner.Start(LocalHosts(10), $"sleep {token}; echo never", new FleetRunOptions { Throttle = 4 }, null, cts.Token);
            // Cancel once the four children really run.
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (Fleet.ProcessTable.FindByCommandLine(token).Count(p => p.Name == "sleep") < 4 && DateTime.UtcNow < deadline) await Task.Delay(20);
            cts.Cancel();
            var results = new List<FleetResult>();
            await foreach (var r in run.ReadAllAsync()) results.Add(r);
            Assert.Equal(10, results.Count);
            Assert.All(results, r => Assert.Equal(FleetStatus.Cancelled, r.Status));
            Assert.Empty(Fleet.ProcessTable.WaitUntilGone(p => p.CommandLine.Contains(token), TimeSpan.FromSeconds(10)));
        }

        [Fact]
        public void BackoffDoublesWithJitterAndIsCapped()
        {
            for (var attempt = 1; attempt <= 8; attempt++)
            {
                var nominal = Math.Min(30_000, 100 * Math.Pow(2, attempt - 1));
                var delays = Enumerable.Range(0, 50).Select(_ => Backoff.Delay(attempt, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(30)).TotalMilliseconds).ToList();
                Assert.All(delays, d => Assert.InRange(d, nominal * 0.5, nominal));
                Assert.True(delays.Distinct().Count() > 1, "jitter spreads retries of many hosts apart");
            }
        }

        [Fact]
        public async Task ProgressCountsEveryHost()
        {
            var seen = new List<FleetProgress>();
            await RunAll(LocalHosts(5), "exit $(( $$ % 2 ))", new FleetRunOptions { Throttle = 2 }, progress: p => { lock (seen) seen.Add(p); });
            var last = seen.OrderBy(p => p.Completed).Last();
            Assert.Equal(5, last.Total);
            Assert.Equal(5, last.Completed);
        }

        [Fact]
        public async Task ResultsStreamBeforeTheSlowestHostFinishes()
        {
            var dir = Directory.CreateTempSubdirectory("herd-stream").FullName;
            try
            {
                // Whichever host takes the lock first finishes at once; the other waits for a release file
                // that the test creates only after it has received the first result.
                var cmd = $"mkdir {dir}/lock 2>/dev/null && exit 0; while [ ! -e {dir}/release ]; do sleep 0.05; done";
                var run = new FleetRunner(new LocalTransport()).Start(LocalHosts(2), cmd, new FleetRunOptions { CommandTimeout = TimeSpan.FromSeconds(60) });
                using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                var first = await run.Results.ReadAsync(wait.Token);
                Assert.Equal(FleetStatus.Succeeded, first.Status);
                Assert.False(run.Completion.IsCompleted);
                File.WriteAllText(Path.Combine(dir, "release"), "");
                var second = await run.Results.ReadAsync(wait.Token);
                Assert.Equal(FleetStatus.Succeeded, second.Status);
                Assert.NotEqual(first.HostName, second.HostName);
                await run.Completion;
            }
            finally { Directory.Delete(dir, true); }
        }
    }
}
