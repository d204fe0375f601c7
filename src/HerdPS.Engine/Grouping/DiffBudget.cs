using System;

namespace HerdPS.Grouping
{
    /// <summary>
    /// The work all the diffs of one run, one comparison or one drift report may take together. Each diff is bounded
    /// (<see cref="UnifiedDiff.DefaultBudget"/> steps per search), but a run whose every host printed something
    /// different could still pay that once per host: 1,000 hostile outputs, minutes of CPU. A shared budget keeps
    /// the whole run's diffing bounded; once it is spent, the remaining diffs are summaries (sizes, hashes, the
    /// first differing line), which cost one pass over the texts. Steps, not seconds, so the result doesn't depend on
    /// how busy the machine is. Safe from several threads.
    /// </summary>
    public sealed class DiffBudget
    {
        /// <summary>What a run gets: room for a few worst-case diffs, and for very many ordinary ones.</summary>
        public const long DefaultTotal = 5 * UnifiedDiff.DefaultBudget;

        private readonly object _gate = new object();
        private long _remaining;

        public DiffBudget(long total = DefaultTotal, long perDiff = UnifiedDiff.DefaultBudget)
        {
            if (total < 0) throw new ArgumentOutOfRangeException(nameof(total), "the budget can't be negative");
            if (perDiff < 0) throw new ArgumentOutOfRangeException(nameof(perDiff), "the budget can't be negative");
            Total = total;
            PerDiff = perDiff;
            _remaining = total;
        }

        public long Total { get; }
        public long PerDiff { get; }

        public long Remaining
        {
            get { lock (_gate) return _remaining; }
        }

        /// <summary>The budget of the next diff: the per-diff budget, or what is left if that is less.</summary>
        internal long Take()
        {
            lock (_gate) return Math.Min(PerDiff, _remaining);
        }

        internal void Spend(long steps)
        {
            lock (_gate) _remaining = Math.Max(0, _remaining - Math.Max(0, steps));
        }
    }
}
