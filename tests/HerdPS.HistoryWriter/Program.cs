using System;
using System.Globalization;
using HerdPS.History;

namespace HerdPS.HistoryWriter
{
    /// <summary>
    /// Usage: HerdPS.HistoryWriter DB_PATH WRITER_NAME RUNS RESULTS_PER_RUN BATCH_SIZE
    /// Waits for a line on stdin, so the test can release all writers at the same moment (opening, and so
    /// creating and migrating, the database included); then records RUNS runs of RESULTS_PER_RUN results each,
    /// listing recent runs between them so readers and writers overlap too. Exit 0 when all is written.
    /// </summary>
    internal static class Program
    {
        private static int Main(string[] args)
        {
            if (args.Length != 5)
            {
                Console.Error.WriteLine("usage: HerdPS.HistoryWriter DB_PATH WRITER_NAME RUNS RESULTS_PER_RUN BATCH_SIZE");
                return 2;
            }
            string path = args[0], writer = args[1];
            int runs = int.Parse(args[2], CultureInfo.InvariantCulture);
            int resultsPerRun = int.Parse(args[3], CultureInfo.InvariantCulture);
            int batchSize = int.Parse(args[4], CultureInfo.InvariantCulture);

            Console.In.ReadLine();
            try
            {
                using (var store = HistoryStore.Open(path, new HistoryStoreOptions { BatchSize = batchSize }))
                {
                    for (int r = 0; r < runs; r++)
                    {
                        var run = store.BeginRun("exec", $"echo {writer} {r}", $"writer={writer}", DateTime.UtcNow);
                        for (int h = 0; h < resultsPerRun; h++)
                        {
                            run.Add(new FleetResult
                            {
                                HostName = $"host-{h:D3}",
                                Command = $"echo {writer} {r}",
                                Status = h % 7 == 0 ? FleetStatus.Failed : FleetStatus.Succeeded,
                                ExitCode = h % 7 == 0 ? 1 : 0,
                                StdOut = $"{writer} run {r} host {h}\n",
                                StartTime = DateTime.UtcNow,
                                Duration = TimeSpan.FromMilliseconds(h),
                                Attempts = 1,
                                OutputHash = $"{writer}-{r}-{h}",
                            });
                        }
                        run.Complete(DateTime.UtcNow);
                        store.ListRuns(new HistoryQuery { Last = 5 });
                    }
                }
                Console.WriteLine($"{writer} wrote {runs} runs");
                return 0;
            }
            catch (Exception e)
            {
                Console.Error.WriteLine(e);
                return 1;
            }
        }
    }
}
