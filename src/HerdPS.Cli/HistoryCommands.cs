using System;
using System.CommandLine;
using System.Globalization;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using HerdPS.Display;
using HerdPS.Execution;
using HerdPS.Grouping;
using HerdPS.History;
using HerdPS.Inventory;

namespace HerdPS.Cli
{
    /// <summary><c>herd history</c>, <c>herd history show</c>, <c>herd history diff</c>: looking back at recorded runs.</summary>
    internal static class HistoryCommands
    {
        public static Command Create(CliOptions o)
        {
            var last = new Option<int?>("--last", "-n") { Description = "Show at most this many runs, the newest (default 20)." };
            var command = new Option<string?>("--command", "-c") { Description = "Only runs whose command matches this wildcard (*, ?, [a-z]; case-insensitive), e.g. 'df*'." };
            var since = new Option<string?>("--since") { Description = "Only runs started since: a duration back from now (2h, 7d) or a date/time (2026-02-27, 2026-02-27T14:30, local unless it ends in Z)." };
            var from = new Option<string?>("--from") { Description = "Only runs from this controller: a machine, a user, or user@machine (case-insensitive)." };
            var host = new Option<string?>("--host", "-H") { Description = "Only runs that have a result for this host (case-insensitive)." };
            var json = new Option<bool>("--json") { Description = "One JSON object per run.", Arity = ArgumentArity.Zero };
            var c = new Command("history", "List recorded runs, newest first. See also 'history show', 'history diff' and 'history migrate'.");
            c.Options.Add(last);
            c.Options.Add(command);
            c.Options.Add(since);
            c.Options.Add(from);
            c.Options.Add(host);
            c.Options.Add(json);
            c.Options.Add(o.History);
            c.SetAction((p, ct) => Cli.Guard(() =>
            {
                int count = p.GetValue(last) ?? 20;
                if (count < 1) throw new UsageException("--last must be at least 1");
                var query = new HistoryQuery
                {
                    Last = count, Command = p.GetValue(command), Since = SinceOf(p.GetValue(since), DateTime.UtcNow),
                    Controller = NonEmpty(p.GetValue(from), "--from"), HostName = NonEmpty(p.GetValue(host), "--host"),
                };
                using var store = OpenForReading(p, o);
                var runs = FleetHistory.GetRuns(store, query, includeResults: false);
                if (p.GetValue(json))
                    foreach (var r in runs) Console.Out.WriteLine(RunJson(r.Run));
                else if (runs.Count == 0)
                    Cli.Error($"no runs in the history {store.DatabasePath} match");
                else
                    TextTable.Write(Console.Out, new[] { "ID", "KIND", "COMMAND", "SELECTION", "HOSTS", "OK", "FAIL", "STARTED", "FROM" },
                        runs.Select(r => new[]
                        {
                            r.Id.ToString(CultureInfo.InvariantCulture), KindText(r.Run), Shorten(r.Command, 40), Shorten(r.Selection, 30),
                            r.HostCount.ToString(CultureInfo.InvariantCulture), r.SucceededCount.ToString(CultureInfo.InvariantCulture),
                            r.FailedCount.ToString(CultureInfo.InvariantCulture),
                            FleetHistory.LocalTime(r.StartedUtc) + (r.IsComplete ? "" : " (unfinished)"),
                            Shorten(r.Controller, 40),
                        }));
                return Task.FromResult(ExitCodes.AllSucceeded);
            }));
            c.Subcommands.Add(CreateShow(o));
            c.Subcommands.Add(CreateDiff(o));
            c.Subcommands.Add(CreateMigrate(o));
            return c;
        }

        /// <summary>
        /// The history a viewing command means: --history, else $HERD_HISTORY, else the history: section of the inventory
        /// herd finds by itself ($HERD_INVENTORY, the per-user one), else the per-user file.
        /// </summary>
        private static HistoryStore OpenForReading(ParseResult p, CliOptions o)
            => FleetHistory.OpenForReading(p.GetValue(o.History), null, null);

        private static string? NonEmpty(string? value, string option)
        {
            if (value == null) return null;
            if (value.Trim().Length == 0) throw new UsageException($"{option} is empty");
            return value.Trim();
        }

        private static Command CreateMigrate(CliOptions o)
        {
            var to = new Option<string>("--to") { Description = "The PostgreSQL history to copy into: postgresql://user@host/database (or Host=...;Database=...). Use PGPASSWORD or ~/.pgpass for the password.", Required = true };
            var c = new Command("migrate", "Copy a SQLite history (--history, else the per-user file) into a PostgreSQL history. Runs keep their UUIDs: running it again copies nothing twice.");
            c.Options.Add(to);
            c.Options.Add(o.History);
            c.SetAction((p, ct) => Cli.Guard(() =>
            {
                var source = MigrationSource(p.GetValue(o.History));
                var destinationText = p.GetValue(to)!;
                if (!HistoryTarget.LooksLikeConnection(destinationText))
                    throw new UsageException($"--to takes a PostgreSQL URL (postgresql://user@host/database) or connection string, not {TerminalText.Quote(destinationText)}");
                var destination = HistoryTarget.Server(destinationText, parameterName: "--to");
                var done = FleetHistory.Migrate(source, destination);
                Console.Out.WriteLine($"{done.Source} -> {done.Destination}: {ChangeView.Plural(done.RunsAdded, "run")} copied, " +
                                      $"{done.RunsCompleted} completed, {done.RunsAlreadyThere} already there; " +
                                      $"{ChangeView.Plural(done.SnapshotsAdded, "snapshot")} copied, {done.SnapshotsAlreadyThere} already there");
                return Task.FromResult(ExitCodes.AllSucceeded);
            }));
            return c;
        }

        // The file to copy from: --history, else $HERD_HISTORY when it is a file (when it names the server, the runs made
        // before it did are in the per-user file), else the per-user file.
        private static HistoryTarget MigrationSource(string? explicitLocation)
        {
            if (explicitLocation != null)
            {
                if (HistoryTarget.LooksLikeConnection(explicitLocation)) throw new UsageException("migrate copies from a SQLite history file: --history must be a file");
                return HistoryLocation.ResolveTarget(explicitLocation, null, null, Environment.GetEnvironmentVariable);
            }
            var env = Environment.GetEnvironmentVariable(HistoryLocation.PathVariable);
            if (!string.IsNullOrWhiteSpace(env) && !HistoryTarget.LooksLikeConnection(env))
                return HistoryLocation.ResolveTarget(env, null, null, Environment.GetEnvironmentVariable);
            return HistoryTarget.File(HistoryLocation.DefaultPath(Environment.GetEnvironmentVariable));
        }

        private static Command CreateShow(CliOptions o)
        {
            var id = new Argument<long>("id") { Description = "The run's id, as 'herd history' lists it." };
            var json = new Option<bool>("--json") { Description = "The run's results as NDJSON, one FleetResult per host (as 'herd exec --json' printed them).", Arity = ArgumentArity.Zero };
            var errorsOnly = new Option<bool>("--errors-only") { Description = "Show only hosts that did not succeed.", Arity = ArgumentArity.Zero };
            var host = new Option<string?>("--host", "-H") { Description = "Show only this host's result (case-insensitive)." };
            var c = new Command("show", "Show a recorded run's grouped output again.");
            c.Arguments.Add(id);
            c.Options.Add(json);
            c.Options.Add(errorsOnly);
            c.Options.Add(host);
            c.Options.Add(o.History);
            c.SetAction((p, ct) => Cli.Guard(() =>
            {
                using var store = OpenForReading(p, o);
                var run = store.GetRun(p.GetValue(id)) ?? throw new HistoryRunNotFoundException(p.GetValue(id), store.DatabasePath);
                var hostName = NonEmpty(p.GetValue(host), "--host");
                System.Collections.Generic.IEnumerable<FleetResult> Results() => hostName == null ? store.ReadResults(run.Id) : store.ReadResults(run.Id, hostName);
                var stdout = Console.Out;
                if (p.GetValue(json))
                {
                    // Streamed from the database one result at a time: a run of any size replays in constant memory.
                    foreach (var r in Results())
                        if (!p.GetValue(errorsOnly) || !r.Succeeded) stdout.WriteLine(FleetResultJson.Serialize(r));
                }
                else
                {
                    stdout.WriteLine($" run {run.Id} ({KindText(run)}): {TerminalText.Line(run.Command, ChangeView.MaxCommandLength)}");
                    stdout.WriteLine($" selection {TerminalText.Line(run.Selection, ChangeView.MaxCommandLength)}; started {FleetHistory.LocalTime(run.StartedUtc)}" +
                                     (run.FinishedUtc is DateTime f ? $", finished {FleetHistory.LocalTime(f)}" : ", unfinished (cut short; shows what was recorded)") +
                                     (run.Controller.Length > 0 ? $"; from {TerminalText.Line(run.Controller)}" : ""));
                    stdout.WriteLine();
                    var grouper = new OutputGrouper();
                    foreach (var r in Results()) grouper.Add(r);
                    GroupedTextView.Render(grouper.Complete(), stdout, p.GetValue(errorsOnly));
                }
                return Task.FromResult(ExitCodes.AllSucceeded);
            }));
            return c;
        }

        private static Command CreateDiff(CliOptions o)
        {
            var reference = new Argument<long>("id1") { Description = "The run to compare against (usually the older)." };
            var difference = new Argument<long>("id2") { Description = "The run to compare (usually the newer)." };
            var json = new Option<bool>("--json") { Description = "One JSON object per host: hostName, change (Unchanged, Changed, Added = only in id2, Removed = only in id1), statuses, hashes, diff.", Arity = ArgumentArity.Zero };
            var c = new Command("diff", "Compare two recorded runs host by host. Exit code 0 when no host differs, 1 when any does, 2 for an unknown id.");
            c.Arguments.Add(reference);
            c.Arguments.Add(difference);
            c.Options.Add(json);
            c.Options.Add(o.History);
            c.SetAction((p, ct) => Cli.Guard(() =>
            {
                using var store = OpenForReading(p, o);
                var d = FleetHistory.CompareRuns(store, p.GetValue(reference), p.GetValue(difference));
                if (p.GetValue(json))
                    foreach (var change in d.Changes) Console.Out.WriteLine(ChangeView.ToJson(change));
                else
                    ChangeView.RenderRunDiff(d, Console.Out);
                return Task.FromResult(d.HasChanges ? ExitCodes.SomeFailed : ExitCodes.AllSucceeded);
            }));
            return c;
        }

        /// <summary>--since: a duration back from now, or a date/time (local unless it says otherwise).</summary>
        internal static DateTime? SinceOf(string? text, DateTime nowUtc)
        {
            if (text == null) return null;
            if (HistoryArguments.TryParseSinceText(text, nowUtc, out var since)) return since;
            throw new UsageException("--since: " + HistoryArguments.SinceTextError(text));
        }

        private static string KindText(HistoryRunRecord r) => r.Iteration is int i ? $"{r.Kind} {r.WatchId}#{i}" : r.Kind;

        /// <summary>A table cell: one line (a newline reads as a space), cut to <paramref name="max"/> characters; TextTable escapes it.</summary>
        private static string Shorten(string text, int max)
        {
            var oneLine = text.Replace("\r\n", " ").Replace('\n', ' ');
            return oneLine.Length <= max ? oneLine : oneLine.Substring(0, max - 3) + "...";
        }

        private static string RunJson(HistoryRunRecord r)
        {
            return JsonText.Object(w =>
            {
                w.WriteNumber("id", r.Id);
                w.WriteString("uuid", r.Uuid.ToString("D", CultureInfo.InvariantCulture));
                w.WriteString("kind", r.Kind);
                w.WriteString("command", r.Command);
                w.WriteString("selection", r.Selection);
                w.WriteString("startedUtc", r.StartedUtc.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
                if (r.FinishedUtc is DateTime f) w.WriteString("finishedUtc", f.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
                else w.WriteNull("finishedUtc");
                w.WriteNumber("hostCount", r.HostCount);
                w.WriteNumber("succeededCount", r.SucceededCount);
                w.WriteNumber("failedCount", r.FailedCount);
                if (r.WatchId is long wid) w.WriteNumber("watchId", wid); else w.WriteNull("watchId");
                if (r.Iteration is int it) w.WriteNumber("iteration", it); else w.WriteNull("iteration");
                w.WriteString("controller", r.Controller);
                w.WriteString("controllerMachine", r.ControllerMachine);
                w.WriteString("controllerUser", r.ControllerUser);
            });
        }
    }
}
