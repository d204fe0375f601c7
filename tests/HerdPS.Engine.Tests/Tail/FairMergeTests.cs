using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using HerdPS.Tail;

namespace HerdPS.Tests.Tail
{
    /// <summary>The merge that keeps a flooding host from starving the others, on its own.</summary>
    public sealed class FairMergeTests
    {
        [Fact]
        public async Task A_quiet_sources_items_wait_at_most_one_round_behind_a_flooding_one()
        {
            var merge = new FairMerge<string>();
            var flood = merge.Add(long.MaxValue);
            var quiet = merge.Add(long.MaxValue);
            var other = merge.Add(long.MaxValue);
            for (int i = 0; i < 10_000; i++) flood.Add("flood " + i, 1);
            quiet.Add("quiet 1", 1);
            quiet.Add("quiet 2", 1);
            other.Add("other 1", 1);
            flood.Complete();
            quiet.Complete();
            other.Complete();

            var order = new List<string>();
            await foreach (var item in merge.ReadAllAsync()) order.Add(item);

            Assert.Equal(10_003, order.Count);
            // One item per source per round: flood, quiet, other, flood, quiet, flood, flood, ...
            Assert.Equal(new[] { "flood 0", "quiet 1", "other 1", "flood 1", "quiet 2", "flood 2", "flood 3" }, order.Take(7));
            Assert.Equal(Enumerable.Range(0, 10_000).Select(i => "flood " + i), order.Where(o => o.StartsWith("flood", StringComparison.Ordinal)));
        }

        [Fact]
        public async Task A_source_past_its_bound_is_refused_and_told_when_the_reader_has_taken_half()
        {
            var merge = new FairMerge<int>();
            var source = merge.Add(100);
            int added = 0;
            while (source.TryAdd(added, 10)) added++;
            Assert.Equal(10, added);
            Assert.Equal(100, merge.QueuedBytes);
            var room = source.WaitForRoomAsync(CancellationToken.None);
            Assert.False(room.IsCompleted);

            using var reading = new CancellationTokenSource();
            var taken = new List<int>();
            var reader = Task.Run(async () => { await foreach (var i in merge.ReadAllAsync(reading.Token)) lock (taken) taken.Add(i); });
            await room.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.True(source.QueuedBytes <= 50);
            source.Complete();
            await reader.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(Enumerable.Range(0, 10), taken);
            Assert.Equal(100, merge.PeakQueuedBytes);
        }

        [Fact]
        public async Task Reading_ends_quietly_when_cancelled_and_when_every_source_is_done()
        {
            var merge = new FairMerge<int>();
            var source = merge.Add(100);
            using var cancel = new CancellationTokenSource();
            var reader = Task.Run(async () => { var n = 0; await foreach (var _ in merge.ReadAllAsync(cancel.Token)) n++; return n; });
            source.Add(1, 1);
            cancel.Cancel();
            var read = await reader.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.InRange(read, 0, 1);

            var done = new FairMerge<int>();
            var a = done.Add(10);
            a.Add(7, 1);
            a.Complete();
            var all = new List<int>();
            await foreach (var i in done.ReadAllAsync()) all.Add(i);
            Assert.Equal(new[] { 7 }, all);
        }
    }
}
