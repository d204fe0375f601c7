using System;
using System.Diagnostics;
using HerdPS.Execution;

namespace HerdPS.Cli
{
    /// <summary>
    /// A one-line progress display on stderr, shown only when stderr is a terminal (never in pipes, logs or
    /// scheduled tasks), redrawn at most ten times a second.
    /// </summary>
    internal sealed class ConsoleProgress
    {
        private readonly object _gate = new object();
        private readonly Stopwatch _sinceDraw = Stopwatch.StartNew();
        private bool _drawn;

        public static ConsoleProgress? IfTerminal() => Console.IsErrorRedirected ? null : new ConsoleProgress();

        public void Report(FleetProgress p)
        {
            lock (_gate)
            {
                if (p.Completed < p.Total && _sinceDraw.ElapsedMilliseconds < 100) return;
                _sinceDraw.Restart();
                Cli.RawError.Write($"\r[{p.Completed}/{p.Total}] running {p.Running}, not succeeded {p.NotSucceeded}   ");
                _drawn = true;
            }
        }

        public void Clear()
        {
            lock (_gate)
            {
                if (_drawn) Cli.RawError.Write("\r" + new string(' ', 60) + "\r");
                _drawn = false;
            }
        }
    }
}
