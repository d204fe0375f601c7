using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using HerdPS.Execution;
using HerdPS.Inventory;

namespace HerdPS.Tail
{
    /// <summary>
    /// Follows logs on every selected host at once (<c>herd tail</c>, <c>Watch-FleetLog</c>) and hands the lines to
    /// one reader as they arrive, a host at a time in turn (<see cref="FairMerge{T}"/>), with notices about
    /// reconnects, rotations and gaps in between. Each host is a <see cref="HostTail"/>: a follower run through the
    /// runner over the host's pooled connection, resumed after a dropped connection from its last line.
    /// <para>
    /// Every host runs at once (a tail has no end to wait for), but at most the request's throttle are connecting at
    /// a time. Memory is bounded: each host's queue holds its share of <see cref="TailOptions.QueueBytes"/>; a host
    /// past it pauses until the reader catches up. Stopping the enumeration (its token, Ctrl-C, or a reader that
    /// stops reading, as <c>Select-Object -First 1</c> does) ends every remote follower before it returns.
    /// </para>
    /// </summary>
    public sealed class FleetTail
    {
        private readonly FleetRunner _runner;
        private readonly FleetRunOptions _runOptions;
        private readonly TailOptions _options;
        private readonly int _connecting;
        private int _started;
        private FairMerge<TailEvent>? _merge;
        private List<HostTail>? _tails;

        public FleetTail(FleetRunner runner, IReadOnlyList<FleetHost> hosts, FleetRunOptions runOptions, TailOptions options)
        {
            _runner = runner ?? throw new ArgumentNullException(nameof(runner));
            Hosts = hosts ?? throw new ArgumentNullException(nameof(hosts));
            if (hosts.Count == 0) throw new ArgumentException("a tail needs at least one host", nameof(hosts));
            _options = options ?? throw new ArgumentNullException(nameof(options));
            options.Validate();
            if (runOptions == null) throw new ArgumentNullException(nameof(runOptions));
            runOptions.Validate();
            _connecting = runOptions.Throttle;
            // A follower runs until stopped: no timeout, no retry by the runner (HostTail reconnects, and knows from
            // where), and a small cap on what the runner keeps, since every line has been handed on as it came.
            _runOptions = new FleetRunOptions
            {
                Throttle = 1,
                CommandTimeout = null,
                ConnectTimeout = runOptions.ConnectTimeout,
                StopGrace = runOptions.StopGrace,
                Retries = 0,
                MaxOutputBytes = 16 * 1024,
            };
        }

        /// <summary>
        /// The front ends' way in: the request's hosts and SSH settings, as <c>exec</c> uses them. Its retries and retry
        /// delay are the reconnects' (failed attempts in a row before a host is given up; the first delay); a timeout is
        /// refused, since a tail runs until it is stopped.
        /// </summary>
        public static FleetTail Create(FleetTarget target, FleetCommandRequest request, TailOptions options)
        {
            if (target == null) throw new ArgumentNullException(nameof(target));
            if (request == null) throw new ArgumentNullException(nameof(request));
            if (options == null) throw new ArgumentNullException(nameof(options));
            if (request.Timeout != null)
                throw new ArgumentException("a timeout does not apply to following logs, which runs until stopped (Ctrl-C, or Select-Object -First in PowerShell)", "TimeoutSec");
            if (request.RetryDelay is TimeSpan delay)
            {
                options.ReconnectDelay = delay;
                if (options.ReconnectMaxDelay < delay) options.ReconnectMaxDelay = delay;
            }
            if (request.Retries is int retries) options.ReconnectAttempts = retries;
            return new FleetTail(FleetEngine.CreateRunner(request), target.Hosts, request.ToRunOptions(target.Inventory.Defaults), options);
        }

        public IReadOnlyList<FleetHost> Hosts { get; }
        public TailOptions Options => _options;

        /// <summary>The most bytes of lines ever waiting for the reader at once (tests check the bound).</summary>
        public long PeakQueuedBytes => _merge?.PeakQueuedBytes ?? 0;
        /// <summary>Follower sessions started across hosts so far (first connections, reconnects and resumes after a pause).</summary>
        public int Sessions => _tails?.Sum(t => t.Sessions) ?? 0;
        /// <summary>Hosts whose follower is in place now: a line written from now on will arrive (tests wait for this before writing).</summary>
        public int Following => _tails?.Count(t => t.Following) ?? 0;
        /// <summary>Events of one host waiting for the reader now (tests: a line has arrived and waits in its queue).</summary>
        public int QueuedItems(string hostName) => _tails?.Where(t => string.Equals(t.HostName, hostName, StringComparison.OrdinalIgnoreCase)).Sum(t => t.Queued) ?? 0;
        /// <summary>Hosts paused now because the reader is behind.</summary>
        public int PausedHosts => _tails?.Count(t => t.Paused) ?? 0;

        /// <summary><see cref="RunAsync"/> for a reader on one thread (the cmdlet); see <see cref="BlockingReader{T}"/>.</summary>
        public BlockingReader<TailEvent> Start(CancellationToken cancellationToken) => BlockingReader.Of(RunAsync(cancellationToken), cancellationToken);

        /// <summary>
        /// Lines and notices until cancelled (the enumeration then ends without throwing) or until every host's tail
        /// has ended for good. Can be enumerated once.
        /// </summary>
        public async IAsyncEnumerable<TailEvent> RunAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            if (Interlocked.Exchange(ref _started, 1) != 0) throw new InvalidOperationException("a tail runs once; create another FleetTail");
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var merge = _merge = new FairMerge<TailEvent>();
            using var connecting = new SemaphoreSlim(_connecting);
            var share = _options.HostQueueBytes(Hosts.Count);
            var tails = _tails = Hosts.Select(h => new HostTail(h, _runner, _runOptions, _options, merge.Add(share), connecting)).ToList();
            var running = tails.Select(t => Task.Run(() => t.RunAsync(stop.Token))).ToArray();
            try
            {
                await foreach (var e in merge.ReadAllAsync(stop.Token).ConfigureAwait(false)) yield return e;
            }
            finally
            {
                // Also when the reader stopped early: every follower is ended (through its session) before this returns.
                stop.Cancel();
                try { await Task.WhenAll(running).ConfigureAwait(false); }
                catch (Exception) { /* a host's failure was reported as a notice; stopping must not throw */ }
            }
        }
    }
}
