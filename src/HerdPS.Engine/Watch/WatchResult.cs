using System;

namespace HerdPS.Watch
{
    /// <summary>How a watch runs. The defaults are the CLI's.</summary>
    public sealed class FleetWatchOptions
    {
        /// <summary>The interval when none is given: 30 seconds.</summary>
        public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(30);

        /// <summary>
        /// The smallest interval the front ends accept: 1 second. The engine itself takes any interval from
        /// zero (tests watch every few hundred milliseconds); a front end that lets people type an interval
        /// holds them to this, since a shorter one mostly measures SSH.
        /// </summary>
        public static readonly TimeSpan MinimumInterval = TimeSpan.FromSeconds(1);

        /// <summary>
        /// From the start of one iteration to the start of the next. Iterations never overlap: when one takes
        /// longer than this, the next starts as soon as it ends (and a <see cref="WatchEventKind.IterationOverran"/>
        /// event says so).
        /// </summary>
        public TimeSpan Interval { get; set; } = DefaultInterval;

        /// <summary>How many iterations to run; null runs until cancelled.</summary>
        public int? Count { get; set; }

        public void Validate()
        {
            if (Interval < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(Interval), Interval, "the watch interval can't be negative");
            if (Count is int c && c < 1) throw new ArgumentOutOfRangeException(nameof(Count), c, "the watch count must be at least 1");
        }
    }

    public enum WatchEventKind
    {
        /// <summary>An iteration is starting.</summary>
        IterationStarted,
        /// <summary>Every host of an iteration has reported.</summary>
        IterationCompleted,
        /// <summary>An iteration took longer than the interval; the next one starts right away.</summary>
        IterationOverran,
        /// <summary>Recording into the history failed; the watch goes on without recording.</summary>
        HistoryFailed,
    }

    /// <summary>Something a watch reports besides results, through the callback the front end passes (the engine never writes to the console).</summary>
    public sealed class WatchEvent
    {
        internal WatchEvent(WatchEventKind kind, int iteration, DateTime timeUtc, string message)
        {
            Kind = kind;
            Iteration = iteration;
            TimeUtc = timeUtc;
            Message = message;
        }

        public WatchEventKind Kind { get; }
        public int Iteration { get; }
        public DateTime TimeUtc { get; }
        /// <summary>A sentence for people ("iteration 3 took 42s, longer than the 30s interval; ...").</summary>
        public string Message { get; }
        /// <summary>For IterationCompleted: hosts that succeeded, did not succeed, and changed.</summary>
        public int Succeeded { get; internal set; }
        public int NotSucceeded { get; internal set; }
        public int ChangedCount { get; internal set; }
        /// <summary>For HistoryFailed: the failure.</summary>
        public Exception? Error { get; internal set; }

        public override string ToString() => Message;
    }
}
