using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace HerdPS.Execution
{
    /// <summary>What <see cref="BlockingReader{T}.Next"/> found.</summary>
    public enum ReadStep
    {
        /// <summary>An item arrived.</summary>
        Item,
        /// <summary>Nothing yet: the wait ran out (the caller writes progress and asks again).</summary>
        Idle,
        /// <summary>The stream is over; a fault of the source has been thrown instead.</summary>
        End,
    }

    /// <summary>
    /// Reads an asynchronous stream of results on one thread that must not leave it: PowerShell's pipeline thread,
    /// the only one allowed to call WriteObject. It waits for the next item at most a given time, so the caller can
    /// write progress between results.
    /// Why it exists: the module's cmdlet assembly lives in PowerShell's default load context and must not reference
    /// System.Threading.Channels or Microsoft.Bcl.AsyncInterfaces (PowerShell 7.4 ships older copies than ours);
    /// this type's surface names only netstandard types, and the async machinery stays inside the engine.
    /// </summary>
    public sealed class BlockingReader<T> : IDisposable
    {
        private readonly IAsyncEnumerator<T> _items;
        private readonly Func<Task>? _afterLast;
        private Task<bool>? _pending;
        private bool _ended;
        private int _disposed;

        /// <param name="afterLast">Awaited once the items are over (e.g. a run's completion); its fault is thrown by <see cref="Next"/>.</param>
        internal BlockingReader(IAsyncEnumerable<T> items, Func<Task>? afterLast = null, CancellationToken cancellationToken = default)
        {
            _items = (items ?? throw new ArgumentNullException(nameof(items))).GetAsyncEnumerator(cancellationToken);
            _afterLast = afterLast;
        }

        /// <summary>
        /// Waits at most <paramref name="wait"/> for the next item. <see cref="ReadStep.End"/> once the source is
        /// done (then, and on every later call); a source that failed throws its exception here, unwrapped.
        /// </summary>
        public ReadStep Next(TimeSpan wait, out T item)
        {
            item = default!;
            if (_ended) return ReadStep.End;
            _pending ??= _items.MoveNextAsync().AsTask();
            // The wait handle rather than Task.Wait: GetResult below rethrows the source's exception as it is.
            if (!_pending.IsCompleted && !((IAsyncResult)_pending).AsyncWaitHandle.WaitOne(wait)) return ReadStep.Idle;
            var more = _pending.GetAwaiter().GetResult();
            _pending = null;
            if (more)
            {
                item = _items.Current;
                return ReadStep.Item;
            }
            _ended = true;
            _afterLast?.Invoke().GetAwaiter().GetResult();
            return ReadStep.End;
        }

        /// <summary>Every remaining item, blocking between them (a background job's loop; nobody to write progress for).</summary>
        public IEnumerable<T> ReadToEnd()
        {
            while (Next(Timeout.InfiniteTimeSpan, out var item) == ReadStep.Item) yield return item;
        }

        /// <summary>Ends the source's enumeration (a watch or transfer stops; its finally blocks run). Waits for a read in flight first.</summary>
        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            try { _pending?.GetAwaiter().GetResult(); }
            catch (Exception) { /* the source's failure was or will be reported by Next; disposing must not throw it again */ }
            _items.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    /// <summary>Factories for <see cref="BlockingReader{T}"/> over the engine's streams.</summary>
    public static class BlockingReader
    {
        /// <summary>The results of a run, as hosts finish; <see cref="BlockingReader{T}.Next"/> throws if the run faulted.</summary>
        public static BlockingReader<FleetResult> Of(FleetRun run)
        {
            if (run == null) throw new ArgumentNullException(nameof(run));
            return new BlockingReader<FleetResult>(ReadChannel(run), () => run.Completion);
        }

        internal static BlockingReader<T> Of<T>(IAsyncEnumerable<T> items, CancellationToken cancellationToken = default) =>
            new BlockingReader<T>(items, null, cancellationToken);

        private static async IAsyncEnumerable<FleetResult> ReadChannel(FleetRun run)
        {
            while (await run.Results.WaitToReadAsync().ConfigureAwait(false))
                while (run.Results.TryRead(out var result))
                    yield return result;
        }
    }
}
