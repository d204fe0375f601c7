using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using HerdPS.Display;
using HerdPS.Execution;
using HerdPS.Grouping;
using HerdPS.History;
using HerdPS.Watch;

namespace HerdPS.Cli
{
    /// <summary><c>herd watch</c>: run a command every interval and show what changed since the previous iteration.</summary>
    internal static class WatchCommand
    {
        public static Command Create(CliOptions o)
        {
            var command = new Argument<string[]>("command") { Description = "The command to run (several words are joined with spaces, as ssh does).", Arity = ArgumentArity.OneOrMore };
            var interval = new Option<string?>("--interval") { Description = "From the start of one iteration to the next, e.g. 10s, 5m (default 30s, minimum 1s). An iteration that takes longer is followed at once; iterations never overlap." };
            var count = new Option<int?>("--count") { Description = "Stop after this many iterations (default: until Ctrl-C). The exit code is then the last iteration's (0 all succeeded, 1 not)." };
            var changesOnly = new Option<bool>("--changes-only") { Description = "Print only hosts whose output changed since the previous iteration.", Arity = ArgumentArity.Zero };
            var json = new Option<bool>("--json") { Description = "One NDJSON line per host per iteration: FleetResult fields plus iteration, changed, diff, previousOutputHash.", Arity = ArgumentArity.Zero };
            var c = new Command("watch", "Run a command on the selection every interval and mark hosts whose output changed.");
            c.Arguments.Add(command);
            o.AddSelection(c);
            o.AddConnection(c);
            o.AddHistory(c);
            o.AddNotify(c);
            c.Options.Add(interval);
            c.Options.Add(count);
            c.Options.Add(changesOnly);
            c.Options.Add(json);
            c.SetAction((p, ct) => Cli.Guard(() =>
            {
                var options = new FleetWatchOptions
                {
                    Interval = CliOptions.DurationOf(p.GetValue(interval), "--interval") ?? FleetWatchOptions.DefaultInterval,
                    Count = p.GetValue(count),
                };
                if (options.Interval < FleetWatchOptions.MinimumInterval) throw new UsageException("--interval must be at least 1s");
                if (options.Count is int n && n < 1) throw new UsageException("--count must be at least 1");
                var commandText = ExecCommand.CommandText(p, command);
                return RunAsync(o.ToRequest(p), commandText, options, p.GetValue(changesOnly), p.GetValue(json), ct,
                    (target, request) => o.Notifier(p, target, request, commandText));
            }));
            return c;
        }

        private static async Task<int> RunAsync(FleetCommandRequest request, string commandText, FleetWatchOptions options, bool changesOnly, bool json, CancellationToken ct,
            Func<FleetTarget, FleetCommandRequest, HerdPS.Notify.FleetNotifier?> notifier)
        {
            if (commandText.Trim().Length == 0) throw new UsageException("the command is empty");
            var target = Cli.Resolve(request);
            using var history = FleetHistory.OpenForRun(request, target); // exit 2 before anything runs if it can't be used
            using var notify = notifier(target, request); // so is an unknown notification or an unset ${VAR}
            var progress = json ? null : ConsoleProgress.IfTerminal();
            var stdout = Console.Out;
            void OnEvent(WatchEvent e)
            {
                if (e.Kind == WatchEventKind.IterationOverran) Cli.Error(e.Message);
                else if (e.Kind == WatchEventKind.HistoryFailed) Cli.Warning(e.Message);
            }
            var watcher = FleetWatcher.Create(target, commandText, request, options, history, OnEvent, progress == null ? null : progress.Report);
            if (changesOnly && !json)
                Cli.Error($"watching {ChangeView.Plural(watcher.Hosts.Count, "host")} every {CliDuration(options.Interval)}; printing only hosts that change");

            var grouper = new OutputGrouper();
            var changed = new List<WatchResult>();
            await foreach (var r in watcher.RunAsync(ct))
            {
                // Never waits on a delivery: the notifier queues and sends in the background.
                notify?.Observe(r);
                if (json)
                {
                    if (!changesOnly || r.Changed)
                    {
                        stdout.WriteLine(FleetResultJson.Serialize(r.Result, w =>
                        {
                            w.WriteNumber("iteration", r.Iteration);
                            w.WriteBoolean("changed", r.Changed);
                            w.WriteString("diff", r.Diff);
                            if (r.PreviousHash != null) w.WriteString("previousOutputHash", r.PreviousHash); else w.WriteNull("previousOutputHash");
                        }));
                        stdout.Flush();
                    }
                    continue;
                }
                grouper.Add(r.Result);
                if (r.Changed) changed.Add(r);
                if (!r.IsLastOfIteration) continue;
                progress?.Clear();
                RenderIteration(r, grouper.Complete(), changed, changesOnly, stdout);
                stdout.Flush();
                grouper = new OutputGrouper();
                changed.Clear();
            }
            progress?.Clear();
            // Held-back and in-flight notifications go out now; after Ctrl-C herd waits a few seconds at most.
            if (notify != null) await notify.FinishAsync(ct.IsCancellationRequested ? TimeSpan.FromSeconds(5) : notify.FinishWait);
            if (ct.IsCancellationRequested) return ExitCodes.Cancelled;
            return watcher.LastCompletedIteration is WatchEvent lastIteration && lastIteration.NotSucceeded == 0
                ? ExitCodes.AllSucceeded
                : ExitCodes.SomeFailed;
        }

        private static void RenderIteration(WatchResult last, GroupedResults grouped, List<WatchResult> changed, bool changesOnly, System.IO.TextWriter w)
        {
            if (changesOnly && changed.Count == 0) return;
            var header = $"=== {FleetHistory.LocalTime(last.IterationStartedUtc)}  iteration {last.Iteration}";
            if (last.HistoryRunId is long id) header += id > 0 ? $"  (run {id})" : "  (kept in the local spool)";
            w.WriteLine(header + " ===");
            if (!changesOnly) GroupedTextView.Render(grouped, w);
            if (changed.Count > 0)
            {
                if (!changesOnly) w.WriteLine();
                w.WriteLine($" {ChangeView.Plural(changed.Count, "host")} changed since iteration {last.Iteration - 1}:");
                foreach (var r in changed.OrderBy(x => x.HostName, StringComparer.Ordinal))
                {
                    var status = r.PreviousStatus != r.Status ? $" ({r.PreviousStatus} -> {r.Status})" : "";
                    w.WriteLine($"   [changed] {TerminalText.Line(r.HostName)}{status}");
                    ChangeView.WriteIndented(w, r.Diff.Length > 0 ? r.Diff : "(same stdout; stderr, exit code or status differ)", "     ");
                }
            }
            w.WriteLine();
        }

        private static string CliDuration(TimeSpan t) => t.TotalSeconds >= 1 && t.Milliseconds == 0 ? $"{(long)t.TotalSeconds}s" : $"{(long)t.TotalMilliseconds}ms";
    }
}
