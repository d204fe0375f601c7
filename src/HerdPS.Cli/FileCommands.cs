using System;
using System.CommandLine;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using HerdPS.Display;
using HerdPS.Execution;
using HerdPS.Files;
using HerdPS.History;

namespace HerdPS.Cli
{
    /// <summary><c>herd diff</c>, <c>herd push</c>, <c>herd pull</c> and <c>herd snapshot</c>: thin over HerdPS.Files.</summary>
    internal static class FileCommands
    {
        private static Option<bool> Json(string what) => new("--json") { Description = what, Arity = ArgumentArity.Zero };

        public static Command CreateDiff(CliOptions o)
        {
            var path = new Argument<string>("remote-path") { Description = "The file to compare on every host (one path, passed to the host as data, never as shell code)." };
            var maxSize = new Option<string?>("--max-size") { Description = "Files larger than this compare by SHA-256 only (default 16MiB)." };
            var save = new Option<string?>("--save") { Description = "Also keep every host's copy as <dir>/<host>/<file name>." };
            var failOnDrift = new Option<bool>("--fail-on-drift") { Description = "Exit 1 when any copy differs from the norm (by default only unreadable hosts do).", Arity = ArgumentArity.Zero };
            var json = Json("One NDJSON line per host (RemoteFileResult fields in camelCase) after all hosts are read.");
            var c = new Command("diff", "Compare a file across hosts: identical copies grouped, outliers diffed against the majority.");
            c.Arguments.Add(path);
            o.AddSelection(c);
            o.AddConnection(c);
            foreach (var opt in new Option[] { maxSize, save, failOnDrift, json }) c.Options.Add(opt);
            c.SetAction((p, ct) => Cli.Guard(async () =>
            {
                var request = o.ToRequest(p);
                var options = new FileDriftOptions { SaveDirectory = p.GetValue(save) };
                if (CliOptions.SizeOf(p.GetValue(maxSize), "--max-size") is long cap) options.MaxFileBytes = cap;
                var target = Cli.Resolve(request);
                var asJson = p.GetValue(json);
                var progress = asJson ? null : ConsoleProgress.IfTerminal();
                var report = await FileDrift.CompareAsync(target, request, p.GetValue(path)!, options, progress == null ? null : progress.Report, null, ct);
                progress?.Clear();
                if (asJson) foreach (var r in report.Results) Console.Out.WriteLine(FileResultJson.Serialize(r));
                else FileDriftTextView.Render(report, Console.Out);
                Console.Out.Flush();
                if (ct.IsCancellationRequested) return ExitCodes.Cancelled;
                return report.Unread > 0 || p.GetValue(failOnDrift) && report.HasDrift ? ExitCodes.SomeFailed : ExitCodes.AllSucceeded;
            }));
            return c;
        }

        public static Command CreatePush(CliOptions o)
        {
            var local = new Argument<string>("local-file") { Description = "The file to send." };
            var remote = new Argument<string>("remote-path") { Description = "Where to put it on every host (an existing directory or a trailing / means: into it, same name)." };
            var force = new Option<bool>("--force", "-f") { Description = "Replace the remote file if it exists (otherwise that host is skipped as Exists).", Arity = ArgumentArity.Zero };
            var mode = new Option<string?>("--mode") { Description = "Octal mode for the remote file, e.g. 0644 (default: keep an existing file's mode; new files get the umask's)." };
            var json = Json("One NDJSON line per host as it finishes.");
            var c = new Command("push", "Copy a local file to every selected host: checksum-verified, never half-written under the final name.");
            c.Arguments.Add(local);
            c.Arguments.Add(remote);
            o.AddSelection(c);
            o.AddConnection(c);
            foreach (var opt in new Option[] { force, mode, json }) c.Options.Add(opt);
            c.SetAction((p, ct) => Cli.Guard(async () =>
            {
                var request = o.ToRequest(p);
                var localPath = p.GetValue(local)!;
                if (!File.Exists(localPath)) throw new UsageException(Directory.Exists(localPath) ? $"{localPath} is a directory; push sends one file" : $"{localPath} does not exist");
                var options = new FilePushOptions { Force = p.GetValue(force), Mode = RemoteFileScripts.NormalizeMode(p.GetValue(mode)) };
                RemoteFileScripts.ValidateRemotePath(p.GetValue(remote)!);
                var target = Cli.Resolve(request);
                return await Report(FileTransfer.PushAsync(target, request, localPath, p.GetValue(remote)!, options, null, ct), p.GetValue(json), ct);
            }));
            return c;
        }

        public static Command CreatePull(CliOptions o)
        {
            var remote = new Argument<string>("remote-path") { Description = "The file to fetch from every host." };
            var local = new Argument<string>("local-dir") { Description = "Each host's copy goes to <local-dir>/<host>/<file name>." };
            var force = new Option<bool>("--force", "-f") { Description = "Replace local copies that exist (otherwise that host is skipped as Exists).", Arity = ArgumentArity.Zero };
            var json = Json("One NDJSON line per host as it finishes.");
            var c = new Command("pull", "Copy a file from every selected host into one folder per host, checksum-verified.");
            c.Arguments.Add(remote);
            c.Arguments.Add(local);
            o.AddSelection(c);
            o.AddConnection(c);
            foreach (var opt in new Option[] { force, json }) c.Options.Add(opt);
            c.SetAction((p, ct) => Cli.Guard(async () =>
            {
                var request = o.ToRequest(p);
                RemoteFileScripts.ValidateRemotePath(p.GetValue(remote)!);
                var target = Cli.Resolve(request);
                return await Report(FileTransfer.PullAsync(target, request, p.GetValue(remote)!, p.GetValue(local)!, new FilePullOptions { Force = p.GetValue(force) }, null, ct), p.GetValue(json), ct);
            }));
            return c;
        }


        private static async Task<int> Report(System.Collections.Generic.IAsyncEnumerable<FileTransferResult> results, bool json, CancellationToken ct)
        {
            int ok = 0, total = 0;
            await foreach (var r in results)
            {
                total++;
                if (r.Succeeded) ok++;
                if (json) Console.Out.WriteLine(FileResultJson.Serialize(r));
                else if (r.Succeeded)
                    Console.Out.WriteLine($" {TerminalText.Line(r.HostName)}: {r.Status}, {r.Bytes} bytes{(r.Verified ? ", sha256 verified" : "")}{(r.Direction == FileTransferDirection.Pull ? " -> " + TerminalText.Line(r.LocalPath) : "")}{(r.ErrorMessage != null ? " (" + TerminalText.Line(r.ErrorMessage) + ")" : "")}");
                else Console.Out.WriteLine($" {TerminalText.Line(r.HostName)}: {r.Status}: {TerminalText.Line(r.ErrorMessage)}");
                Console.Out.Flush();
            }
            if (!json) Console.Out.WriteLine(ok == total ? $"{total} of {total} hosts transferred" : $"{total - ok} of {total} hosts not transferred");
            if (ct.IsCancellationRequested) return ExitCodes.Cancelled;
            return ok == total ? ExitCodes.AllSucceeded : ExitCodes.SomeFailed;
        }

        public static Command CreateSnapshot(CliOptions o)
        {
            var history = new Option<string?>("--history") { Description = "History: a SQLite file, or a PostgreSQL server (postgresql://user@host/db or Host=...;Database=...). Default: $HERD_HISTORY, then the inventory's history:, then the per-user data folder." };
            var json = Json("Print the snapshot as JSON.");
            var c = new Command("snapshot", "Capture OS, kernel, packages, services, disk, memory and uptime of every selected host into the history.");
            o.AddSelection(c);
            o.AddConnection(c);
            c.Options.Add(history);
            c.Options.Add(json);
            c.SetAction((p, ct) => Cli.Guard(async () =>
            {
                var request = o.ToRequest(p);
                var target = Cli.Resolve(request);
                var asJson = p.GetValue(json);
                var progress = asJson ? null : ConsoleProgress.IfTerminal();
                var snapshot = await FleetSnapshots.CaptureAsync(target, request, progress == null ? null : progress.Report, null, ct);
                progress?.Clear();
                if (ct.IsCancellationRequested) return ExitCodes.Cancelled;
                using (var store = FleetHistory.OpenForRecording(FleetHistory.Resolve(p.GetValue(history), null, target.Inventory.Defaults), target.Inventory.Defaults))
                    store.SaveSnapshot(snapshot);
                if (asJson) Console.Out.WriteLine(System.Text.Json.JsonSerializer.Serialize(snapshot, CliJson.Default.FleetSnapshot));
                else
                {
                    foreach (var h in snapshot.Hosts.Where(h => h.Status != SnapshotHostStatus.Captured)) Console.Out.WriteLine($" {TerminalText.Line(h.HostName)}: {h.Status}: {TerminalText.Line(h.ErrorMessage)}");
                    var unavailable = snapshot.Hosts.SelectMany(h => h.Unavailable.Select(u => $"{u.Key}: {u.Value}")).Distinct().ToList();
                    foreach (var u in unavailable) Console.Out.WriteLine($" unavailable on some hosts: {TerminalText.Line(u)}");
                    Console.Out.WriteLine($"Snapshot #{snapshot.Id} saved ({snapshot.Hosts.Count} hosts, {snapshot.CapturedCount} captured, {snapshot.TakenUtc:yyyy-MM-dd HH:mm} UTC)");
                }
                return snapshot.CapturedCount == snapshot.Hosts.Count ? ExitCodes.AllSucceeded : ExitCodes.SomeFailed;
            }));

            var last = new Option<int?>("--last") { Description = "Only the newest N snapshots." };
            var list = new Command("list", "List stored snapshots, newest first.");
            list.Options.Add(history);
            list.Options.Add(last);
            list.SetAction(p => Cli.Guard(() =>
            {
                using var store = OpenHistory(p.GetValue(history));
                SnapshotTextView.RenderList(store.ListSnapshots(p.GetValue(last)), Console.Out);
                return Task.FromResult(ExitCodes.AllSucceeded);
            }).GetAwaiter().GetResult());

            var id = new Argument<long>("id") { Description = "Snapshot id (see herd snapshot list)." };
            var show = new Command("show", "Show a stored snapshot.");
            show.Arguments.Add(id);
            show.Options.Add(history);
            var showJson = Json("Print it as JSON.");
            show.Options.Add(showJson);
            show.SetAction(p => Cli.Guard(() =>
            {
                using var store = OpenHistory(p.GetValue(history));
                var s = Load(store, p.GetValue(id));
                if (p.GetValue(showJson)) Console.Out.WriteLine(System.Text.Json.JsonSerializer.Serialize(s, CliJson.Default.FleetSnapshot));
                else SnapshotTextView.RenderShow(s, Console.Out);
                return Task.FromResult(ExitCodes.AllSucceeded);
            }).GetAwaiter().GetResult());

            var a = new Argument<long>("before") { Description = "The earlier snapshot's id." };
            var b = new Argument<long>("after") { Description = "The later snapshot's id." };
            var threshold = new Option<int?>("--disk-threshold") { Description = "Report disk use changes of at least this many percentage points (default 1)." };
            var diffJson = Json("Print the per-host changes as JSON.");
            var diff = new Command("diff", "What changed per host between two snapshots: packages, services, disk use, kernel.");
            diff.Arguments.Add(a);
            diff.Arguments.Add(b);
            diff.Options.Add(history);
            diff.Options.Add(threshold);
            diff.Options.Add(diffJson);
            diff.SetAction(p => Cli.Guard(() =>
            {
                using var store = OpenHistory(p.GetValue(history));
                var result = SnapshotComparison.Compare(Load(store, p.GetValue(a)), Load(store, p.GetValue(b)), p.GetValue(threshold) ?? SnapshotComparison.DefaultDiskThresholdPoints);
                if (p.GetValue(diffJson)) Console.Out.WriteLine(System.Text.Json.JsonSerializer.Serialize(result, CliJson.Default.SnapshotDiff));
                else SnapshotTextView.RenderDiff(result, Console.Out);
                return Task.FromResult(ExitCodes.AllSucceeded);
            }).GetAwaiter().GetResult());

            c.Subcommands.Add(list);
            c.Subcommands.Add(show);
            c.Subcommands.Add(diff);
            return c;
        }

        private static HistoryStore OpenHistory(string? location)
        {
            try { return FleetHistory.OpenForReading(location); }
            catch (HistoryException e) { throw new UsageException(e.Message); }
        }

        private static FleetSnapshot Load(HistoryStore store, long id) =>
            store.GetSnapshot(id) ?? throw new UsageException($"there is no snapshot #{id} (see herd snapshot list)");
    }
}
