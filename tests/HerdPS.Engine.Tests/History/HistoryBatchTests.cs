using System;
using System.IO;
using System.Linq;
using HerdPS.History;
using HerdPS.Tests.Inventory;

namespace HerdPS.Tests.History
{
    public class HistoryBatchTests
    {
        [Fact]
        public void LargeOutputsAreWrittenBeforeTheBatchIsFull()
        {
            using var dir = new TempDirectory();
            var path = Path.Combine(dir.Path, "history.db");
            using var store = HistoryStore.Open(path, new HistoryStoreOptions { BatchSize = 32 });
            using var run = store.BeginRun("exec", "cat big", "all", DateTime.UtcNow);
            var big = new string('x', (int)HistoryRun.MaxPendingChars);
            run.Add(HistoryTestData.Result("h001", big));
            run.Add(HistoryTestData.Result("h002", "small\n"));
            // One result past the size bound was written at once; the small one still waits for its batch.
            using (var reader = HistoryStore.Open(path))
                Assert.Equal(new[] { "h001" }, reader.ReadResults(run.Id).Select(r => r.HostName).ToArray());
            run.Complete(DateTime.UtcNow);
            using (var reader = HistoryStore.Open(path))
                Assert.Equal(new[] { "h001", "h002" }, reader.ReadResults(run.Id).Select(r => r.HostName).ToArray());
        }
    }
}
