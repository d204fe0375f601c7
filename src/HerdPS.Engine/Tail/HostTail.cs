using System;
using System.Collections.Generic;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;
using HerdPS.Display;
using HerdPS.Execution;
using HerdPS.Inventory;

namespace HerdPS.Tail
{
    /// <summary>
    /// Follows one host for as long as the tail runs: one follower session at a time through the runner (over the
    /// host's pooled connection), and when a session ends, another, from where the last one left off. A dropped
    /// connection is retried with exponential backoff and jitter (the delay resets once a session has started); a
    /// session whose queue filled up (the reader is behind) is ended on purpose and resumed, without a word to the
    /// user, once the reader has taken half of it. Refused keys and patterns are final: the host's tail ends with
    /// an error notice and the others go on.
    /// </summary>
    internal sealed class HostTail
    {
        private readonly FleetHost _host;
        private readonly FleetRunner _runner;
        private readonly FleetRunOptions _runOptions;
        private readonly TailOptions _options;
        private readonly FairMerge<TailEvent>.Source _queue;
        private readonly SemaphoreSlim _connecting;

        public HostTail(FleetHost host, FleetRunner runner, FleetRunOptions runOptions, TailOptions options, FairMerge<TailEvent>.Source queue, SemaphoreSlim connecting)
        {
            _host = host;
            _runner = runner;
            _runOptions = runOptions;
            _options = options;
            _queue = queue;
            _connecting = connecting;
        }

        /// <summary>Sessions started (for tests: a pause or a reconnect is a new session).</summary>
        public int Sessions { get; private set; }

        public string HostName => _host.Name;
        /// <summary>Events of this host waiting for the reader.</summary>
        public int Queued => _queue.Count;

        /// <summary>Waiting for the reader to take half its queue before following again.</summary>
        public bool Paused { get; private set; }

        private FollowerStream? _current;
        /// <summary>The current session's follower has taken its position in every file (lines written from now on will arrive).</summary>
        public bool Following => _current?.Following ?? false;

        public async Task RunAsync(CancellationToken stop)
        {
            var positions = (IReadOnlyList<FilePosition?>)new FilePosition?[_options.Paths.Count];
            var skip = (IReadOnlyList<int>)new int[_options.Paths.Count];
            string? cursor = null;
            bool everStarted = false, paused = false;
            int failedAttempts = 0;
            try
            {
                while (!stop.IsCancellationRequested)
                {
                    if (paused)
                    {
                        Paused = true;
                        try { await _queue.WaitForRoomAsync(stop).ConfigureAwait(false); }
                        finally { Paused = false; }
                    }
                    bool afterPause = paused, reconnecting = everStarted && !paused;
                    paused = false;
                    if (_options.IsJournal && reconnecting) Report(JournalResume(cursor));

                    using var session = CancellationTokenSource.CreateLinkedTokenSource(stop);
                    var stream = new FollowerStream(_host.Name, _options, positions, skip, cursor, record => Deliver(record, session, afterPause));
                    var command = _options.IsJournal
                        ? RemoteFollower.JournalCommand(_options, cursor, fresh: !everStarted)
                        : RemoteFollower.FileCommand(_options, positions);

                    await _connecting.WaitAsync(stop).ConfigureAwait(false);
                    int released = 0;
                    void Release()
                    {
                        if (Interlocked.Exchange(ref released, 1) == 0) _connecting.Release();
                    }
                    // Hosts connect at most Throttle at a time; once a follower runs it no longer counts.
                    stream.OnStarted = Release;
                    _current = stream;
                    FleetResult? result = null;
                    Sessions++;
                    try
                    {
                        using var run = _runner.Start(new[] { _host }, command, _runOptions, null, session.Token, raw: false,
                            prepare: (_, invocation) => invocation.OnStdOut = stream.Feed);
                        await foreach (var r in run.ReadAllAsync(CancellationToken.None).ConfigureAwait(false)) result = r;
                    }
                    finally
                    {
                        Release();
                    }
                    stream.Finish();
                    positions = stream.FilePositions;
                    skip = stream.SkipLines;
                    cursor = stream.Cursor;
                    if (stream.Started) everStarted = true;
                    if (stop.IsCancellationRequested) break;

                    if (stream.Refused)
                    {
                        paused = true;
                        failedAttempts = 0;
                        Report(new TailNotice(_host.Name, null, TailNoticeKind.Paused, TailNoticeSeverity.Info,
                            $"{_host.Name}: the reader is behind; pausing this host's follower until it catches up (it resumes where it stopped)"));
                        continue;
                    }
                    if (Final(result, stream) is string why)
                    {
                        Report(new TailNotice(_host.Name, null, TailNoticeKind.Failed, TailNoticeSeverity.Error, $"{_host.Name}: {why}; no longer following this host"));
                        break;
                    }
                    if (stream.Started) failedAttempts = 0;
                    failedAttempts++;
                    if (_options.ReconnectAttempts is int most && failedAttempts > most)
                    {
                        Report(new TailNotice(_host.Name, null, TailNoticeKind.Failed, TailNoticeSeverity.Error,
                            $"{_host.Name}: {Reason(result, stream)}; giving up after {most} reconnect attempt(s) in a row; no longer following this host"));
                        break;
                    }
                    var delay = Backoff.Delay(failedAttempts, _options.ReconnectDelay, _options.ReconnectMaxDelay);
                    Report(new TailNotice(_host.Name, null, TailNoticeKind.Reconnecting, TailNoticeSeverity.Warning,
                        $"{_host.Name}: {Reason(result, stream)}; reconnecting in {Seconds(delay)}"));
                    try
                    {
                        await Task.Delay(delay, stop).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        break;
                    }
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // stopped while waiting for room or for a connection slot
            }
            finally
            {
                _queue.Complete();
            }
        }

        /// <summary>Runs on the session's reading thread: a line goes to the queue or, when it is full, ends the session.</summary>
        private bool Deliver(FollowerRecord record, CancellationTokenSource session, bool afterPause)
        {
            if (record.Kind == FollowerRecordKind.Line)
            {
                var e = TailEvent.Of(record.Line!);
                if (_queue.TryAdd(e, e.Cost)) return true;
                session.Cancel();
                return false;
            }
            if (record.Kind == FollowerRecordKind.Notice)
            {
                // Going on after a pause is not news; everything else the follower says is.
                if (afterPause && record.Notice == FollowerNotice.Resumed) return true;
                Report(Describe(record));
            }
            return true;
        }

        private void Report(TailNotice? notice)
        {
            if (notice == null) return;
            var e = TailEvent.Of(notice);
            _queue.Add(e, e.Cost);
        }

        private TailNotice Describe(FollowerRecord record)
        {
            var path = _options.Paths[record.Source];
            var shown = TerminalText.Quote(path, 200);
            string host = _host.Name;
            switch (record.Notice)
            {
                case FollowerNotice.Resumed:
                    return Notice(path, TailNoticeKind.Resumed, TailNoticeSeverity.Info, $"{host}: reconnected; {shown} goes on from the last line received (same file, same byte)");
                case FollowerNotice.ResumedRotated:
                    return Notice(path, TailNoticeKind.Gap, TailNoticeSeverity.Warning,
                        $"{host}: reconnected; {shown} was rotated meanwhile: the rest of the old file ({TerminalText.Quote(record.Detail ?? "", 200)}) follows, then the new one. " +
                        "If it was rotated more than once while disconnected, the files in between are not shown");
                case FollowerNotice.GapRotated:
                    return Notice(path, TailNoticeKind.Gap, TailNoticeSeverity.Warning,
                        $"{host}: reconnected; {shown} was rotated meanwhile and the old file is gone from its folder (compressed or deleted): lines written to it after the connection dropped are missing; following the new file from its start");
                case FollowerNotice.GapTruncated:
                    return Notice(path, TailNoticeKind.Gap, TailNoticeSeverity.Warning,
                        $"{host}: reconnected; {shown} was truncated or replaced meanwhile (the bytes before the last position differ): lines written to it after the connection dropped may be missing; following it from its start");
                case FollowerNotice.Rotated:
                    return Notice(path, TailNoticeKind.Rotated, TailNoticeSeverity.Info, $"{host}: {shown} was replaced (rotated); the old file was read to its end, following the new file");
                case FollowerNotice.Truncated:
                    return Notice(path, TailNoticeKind.Truncated, TailNoticeSeverity.Warning, $"{host}: {shown} was truncated; following it from its start (lines written just before the truncation may be missing)");
                case FollowerNotice.Missing:
                    return Notice(path, TailNoticeKind.Missing, TailNoticeSeverity.Warning, $"{host}: {shown} does not exist; waiting for it to appear");
                case FollowerNotice.Appeared:
                    return Notice(path, TailNoticeKind.Appeared, TailNoticeSeverity.Info, $"{host}: {shown} has appeared; following it from its start");
                case FollowerNotice.NotAFile:
                    return Notice(path, TailNoticeKind.NotReadable, TailNoticeSeverity.Warning, $"{host}: {shown} is not a regular file; waiting for a file of that name");
                default:
                    return Notice(path, TailNoticeKind.NotReadable, TailNoticeSeverity.Warning, $"{host}: {shown} can't be read by {_host.User ?? "the login user"} (permission denied?); trying again");
            }
        }

        private TailNotice? JournalResume(string? cursor) => cursor != null
            ? Notice(null, TailNoticeKind.Resumed, TailNoticeSeverity.Info, $"{_host.Name}: reconnected; the journal goes on after the last entry received (its cursor)")
            : Notice(null, TailNoticeKind.Gap, TailNoticeSeverity.Warning,
                $"{_host.Name}: reconnected, but no entry had arrived before the connection dropped, so there is no cursor to resume from: entries written while disconnected are not shown");

        private TailNotice Notice(string? source, TailNoticeKind kind, TailNoticeSeverity severity, string message) =>
            new TailNotice(_host.Name, source, kind, severity, message);

        /// <summary>Why this host can't be followed at all (so retrying is pointless), or null.</summary>
        private static string? Final(FleetResult? result, FollowerStream stream)
        {
            if (stream.FatalError != null) return stream.FatalError;
            if (result == null) return null;
            switch (result.ErrorKind)
            {
                case FleetErrorKind.AuthenticationFailed:
                case FleetErrorKind.HostKeyUnknown:
                case FleetErrorKind.HostKeyMismatch:
                    return result.ErrorMessage ?? result.ErrorKind.ToString();
            }
            // The follower runs until stopped: one that ended by itself met something it can't get past.
            if (result.Status == FleetStatus.Succeeded || result.Status == FleetStatus.Failed)
            {
                var said = TerminalText.Line(result.StdErr.Trim(), 300);
                return $"the follower ended by itself (exit {result.ExitCode})" + (said.Length > 0 ? ": " + said : "");
            }
            return null;
        }

        private static string Reason(FleetResult? result, FollowerStream stream)
        {
            var message = result?.ErrorMessage;
            if (string.IsNullOrEmpty(message)) return stream.Started ? "the connection ended" : "could not start the follower";
            return stream.Started ? "the connection was lost (" + message + ")" : message!;
        }

        private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + "s";
    }
}
