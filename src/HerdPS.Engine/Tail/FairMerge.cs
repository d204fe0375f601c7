using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;

namespace HerdPS.Tail
{
    /// <summary>
    /// Merges many producers (one per host) into one reader, taking one item from each producer that has any in
    /// turn (round robin), so a host that floods lines can't hold back a quiet one: the quiet host's next line waits
    /// at most one round, however many lines the flooding host has queued. Each producer's queue is bounded in
    /// bytes: <see cref="Source.TryAdd"/> refuses past the bound (the producer then pauses) and
    /// <see cref="Source.WaitForRoomAsync"/> tells it when the reader has taken half of it. So memory is bounded by
    /// the sum of the bounds whatever the rates. One reader only.
    /// </summary>
    internal sealed class FairMerge<T>
    {
        private readonly ConcurrentQueue<Source> _ring = new ConcurrentQueue<Source>();
        private readonly SemaphoreSlim _ready = new SemaphoreSlim(0);
        private int _open;
        private long _queuedBytes;
        private long _peakQueuedBytes;
        private int _reading;

        /// <summary>A new producer whose queue holds at most <paramref name="capacityBytes"/>.</summary>
        public Source Add(long capacityBytes)
        {
            Interlocked.Increment(ref _open);
            return new Source(this, capacityBytes);
        }

        /// <summary>Bytes waiting across all producers now, and the most there ever were.</summary>
        public long QueuedBytes => Interlocked.Read(ref _queuedBytes);
        public long PeakQueuedBytes => Interlocked.Read(ref _peakQueuedBytes);

        /// <summary>Items as the round robin hands them out; ends when every producer has completed and been read to its end, or when cancelled.</summary>
        public async IAsyncEnumerable<T> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            if (Interlocked.Exchange(ref _reading, 1) != 0) throw new InvalidOperationException("a merge has one reader");
            while (true)
            {
                if (Volatile.Read(ref _open) == 0 && _ring.IsEmpty) yield break;
                var stopped = false;
                try { await _ready.WaitAsync(cancellationToken).ConfigureAwait(false); }
                catch (OperationCanceledException) { stopped = true; }
                if (stopped) yield break; // stopping is not an error: the reading just ends
                if (!_ring.TryDequeue(out var source)) continue; // a completion's wake-up, or a producer's last item already taken
                if (!source.TryTake(out var item)) continue;
                yield return item;
            }
        }

        private void Enlist(Source source)
        {
            _ring.Enqueue(source);
            _ready.Release();
        }

        private void Wake() => _ready.Release();

        private void Account(long bytes)
        {
            var now = Interlocked.Add(ref _queuedBytes, bytes);
            if (bytes <= 0) return;
            long peak;
            while (now > (peak = Interlocked.Read(ref _peakQueuedBytes)) && Interlocked.CompareExchange(ref _peakQueuedBytes, now, peak) != peak) { }
        }

        /// <summary>One producer's queue.</summary>
        public sealed class Source
        {
            private readonly FairMerge<T> _merge;
            private readonly ConcurrentQueue<(T Item, long Size)> _items = new ConcurrentQueue<(T, long)>();
            private readonly object _roomGate = new object();
            private TaskCompletionSource<bool>? _room;
            private long _bytes;
            private int _inRing;
            private int _completed;

            internal Source(FairMerge<T> merge, long capacityBytes)
            {
                _merge = merge;
                Capacity = capacityBytes;
            }

            public long Capacity { get; }
            /// <summary>Items waiting for the reader.</summary>
            public int Count => _items.Count;
            public long QueuedBytes => Interlocked.Read(ref _bytes);

            /// <summary>Adds an item unless the queue is past its bound; false means "pause".</summary>
            public bool TryAdd(T item, long size)
            {
                if (Interlocked.Read(ref _bytes) + size > Capacity && Interlocked.Read(ref _bytes) > 0) return false;
                Add(item, size);
                return true;
            }

            /// <summary>Adds an item whatever the bound (notices, which are few and must not be lost).</summary>
            public void Add(T item, long size)
            {
                if (Volatile.Read(ref _completed) != 0) throw new InvalidOperationException("this source has completed");
                _items.Enqueue((item, size));
                Interlocked.Add(ref _bytes, size);
                _merge.Account(size);
                if (Interlocked.CompareExchange(ref _inRing, 1, 0) == 0) _merge.Enlist(this);
            }

            /// <summary>Completes when the reader has taken the queue down to half its bound (at once if it is there already).</summary>
            public Task WaitForRoomAsync(CancellationToken cancellationToken)
            {
                TaskCompletionSource<bool> room;
                lock (_roomGate)
                {
                    if (HasRoom) return Task.CompletedTask;
                    room = _room ??= new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                }
                return WaitAsync(room.Task, cancellationToken);
            }

            private static async Task WaitAsync(Task task, CancellationToken cancellationToken)
            {
                var cancelled = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                using (cancellationToken.Register(() => cancelled.TrySetResult(true)))
                    await Task.WhenAny(task, cancelled.Task).ConfigureAwait(false);
                cancellationToken.ThrowIfCancellationRequested();
            }

            private bool HasRoom => Interlocked.Read(ref _bytes) <= Capacity / 2;

            /// <summary>No more items will come from this producer.</summary>
            public void Complete()
            {
                if (Interlocked.Exchange(ref _completed, 1) != 0) return;
                Interlocked.Decrement(ref _merge._open);
                _merge.Wake();
            }

            internal bool TryTake(out T item)
            {
                if (!_items.TryDequeue(out var entry))
                {
                    item = default!;
                    Volatile.Write(ref _inRing, 0);
                    return false;
                }
                item = entry.Item;
                Interlocked.Add(ref _bytes, -entry.Size);
                _merge.Account(-entry.Size);
                // Back to the end of the ring if more is waiting: one item per producer per round.
                if (!_items.IsEmpty) _merge.Enlist(this);
                else
                {
                    Volatile.Write(ref _inRing, 0);
                    if (!_items.IsEmpty && Interlocked.CompareExchange(ref _inRing, 1, 0) == 0) _merge.Enlist(this);
                }
                TaskCompletionSource<bool>? room = null;
                lock (_roomGate)
                {
                    if (_room != null && HasRoom)
                    {
                        room = _room;
                        _room = null;
                    }
                }
                room?.TrySetResult(true);
                return true;
            }
        }
    }
}
