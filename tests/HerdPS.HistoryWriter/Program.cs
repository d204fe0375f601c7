using System;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Threading;
using HerdPS.History;

namespace HerdPS.HistoryWriter
{
    /// <summary>
    /// Usage: HerdPS.HistoryWriter LOCATION WRITER_NAME RUNS RESULTS_PER_RUN BATCH_SIZE [THREADS]
    /// LOCATION is a history file or a PostgreSQL URL (the password from PGPASSWORD). Waits for a line on stdin, so the
    /// test can release all writers at the same moment (opening, and so creating and migrating, the database included);
    /// then records RUNS runs of RESULTS_PER_RUN results each on each of THREADS threads (one store per thread), listing
    /// recent runs between them so readers and writers overlap too. Prints what it wrote and how long its slowest batch
    /// took, of all and after each thread's first run (which also opens, migrates and compiles: bench/ reports both;
    /// tests assert only the rows), and then on a line of its own every such write's wait after the first run (bench/
    /// reports their percentiles). Exit 0 when all is written.
    /// <para>
    /// Or: HerdPS.HistoryWriter --hold-write-lock DATABASE. Takes the SQLite history's write lock (the turn every writer
    /// waits for), prints "held", and holds it until a line arrives on stdin (then prints "released"): the tests kill it
    /// while it holds the lock, or make writers wait past their timeout.
    /// </para>
    /// </summary>
    internal static class Program
    {
        private static int Main(string[] args)
        {
            if (args.Length == 2 && args[0] == "--hold-write-lock")
            {
                var writeLock = new HistoryWriteLock(System.IO.Path.GetFullPath(args[1]), TimeSpan.FromMinutes(5));
                writeLock.Run(() =>
                {
                    Console.WriteLine("held");
                    Console.Out.Flush();
                    return Console.In.ReadLine();
                });
                Console.WriteLine("released");
                return 0;
            }
            if (args.Length < 5 || args.Length > 6)
            {
                Console.Error.WriteLine("usage: HerdPS.HistoryWriter LOCATION WRITER_NAME RUNS RESULTS_PER_RUN BATCH_SIZE [THREADS]");
                return 2;
            }
            string location = args[0], writer = args[1];
            int runs = int.Parse(args[2], CultureInfo.InvariantCulture);
            int resultsPerRun = int.Parse(args[3], CultureInfo.InvariantCulture);
            int batchSize = int.Parse(args[4], CultureInfo.InvariantCulture);
            int threads = args.Length > 5 ? int.Parse(args[5], CultureInfo.InvariantCulture) : 1;

            Console.In.ReadLine();
            Exception? failure = null;
            long slowestTicks = 0, slowestWarmTicks = 0;
            var warmWrites = new System.Collections.Concurrent.ConcurrentBag<long>(); // ticks of each call that wrote, after the first run
            var total = Stopwatch.StartNew();
            var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
            {
                try
                {
                    var name = threads == 1 ? writer : $"{writer}t{t}";
                    using (var store = HistoryStore.Open(location, new HistoryStoreOptions { BatchSize = batchSize, SpoolWhenUnreachable = false }))
                    {
                        for (int r = 0; r < runs; r++)
                        {
                            var run = store.BeginRun("exec", $"echo {name} {r}", $"writer={name}", DateTime.UtcNow);
                            for (int h = 0; h < resultsPerRun; h++)
                            {
                                var started = Stopwatch.GetTimestamp();
                                run.Add(new FleetResult
                                {
                                    HostName = $"host-{h:D3}",
                                    Command = $"echo {name} {r}",
                                    Status = h % 7 == 0 ? FleetStatus.Failed : FleetStatus.Succeeded,
                                    ExitCode = h % 7 == 0 ? 1 : 0,
                                    StdOut = $"{name} run {r} host {h}\n",
                                    StartTime = DateTime.UtcNow,
                                    Duration = TimeSpan.FromMilliseconds(h),
                                    Attempts = 1,
                                    OutputHash = $"{name}-{r}-{h}",
                                });
                                Max(ref slowestTicks, Stopwatch.GetTimestamp() - started);
                                if (r > 0) Max(ref slowestWarmTicks, Stopwatch.GetTimestamp() - started);
                                if (r > 0 && (h + 1) % batchSize == 0) warmWrites.Add(Stopwatch.GetTimestamp() - started);
                            }
                            var completing = Stopwatch.GetTimestamp();
                            run.Complete(DateTime.UtcNow);
                            Max(ref slowestTicks, Stopwatch.GetTimestamp() - completing);
                            if (r > 0) Max(ref slowestWarmTicks, Stopwatch.GetTimestamp() - completing);
                            if (r > 0) warmWrites.Add(Stopwatch.GetTimestamp() - completing);
                            store.ListRuns(new HistoryQuery { Last = 5 });
                        }
                    }
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref failure, e, null);
                }
            })).ToList();
            workers.ForEach(w => w.Start());
            workers.ForEach(w => w.Join());
            if (failure != null)
            {
                Console.Error.WriteLine(failure);
                return 1;
            }
            Console.WriteLine(FormattableString.Invariant(
                $"{writer} wrote {runs * threads} runs in {total.Elapsed.TotalMilliseconds:0} ms; slowest batch {slowestTicks * 1000.0 / Stopwatch.Frequency:0.0} ms; after the first run {slowestWarmTicks * 1000.0 / Stopwatch.Frequency:0.0} ms"));
            // Every call that wrote a batch (or completed a run) after each thread's first run, in ms, for bench/ to merge into percentiles.
            Console.WriteLine("write waits ms: " + string.Join(" ", warmWrites.Select(t => (t * 1000.0 / Stopwatch.Frequency).ToString("0.0", CultureInfo.InvariantCulture))));
            return 0;
        }

        private static void Max(ref long slowest, long ticks)
        {
            long seen;
            while (ticks > (seen = Interlocked.Read(ref slowest)) && Interlocked.CompareExchange(ref slowest, ticks, seen) != seen) { }
        }
    }
}
