using System;
using System.CommandLine;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using HerdPS.Execution;
using HerdPS.Grouping;
using HerdPS.History;

namespace HerdPS.Cli
{
    /// <summary><c>herd exec</c> and <c>herd ping</c>: run a command on the selection and report it.</summary>
    internal static class ExecCommand
    {
        public static Command Create(CliOptions o)
        {
            var command = new Argument<string[]>("command") { Description = "The command to run (several words are joined with spaces, as ssh does).", Arity = ArgumentArity.OneOrMore };
            var json = new Option<bool>("--json") { Description = "One NDJSON line per host as it finishes (FleetResult fields in camelCase); nothing else on stdout.", Arity = ArgumentArity.Zero };
            var errorsOnly = new Option<bool>("--errors-only") { Description = "Show only hosts that did not succeed.", Arity = ArgumentArity.Zero };
            var diffLast = new Option<bool>("--diff-last") { Description = "Compare with the latest finished run of the same command on the same selection: per host unchanged, changed (with a diff), new or gone. With --json, adds 'change', 'changed' and 'diff' to each line.", Arity = ArgumentArity.Zero };
            var c = new Command("exec", "Run a command on every selected host, in parallel.");
            c.Arguments.Add(command);
            o.AddSelection(c);
            o.AddConnection(c);
            o.AddHistory(c);
            o.AddNotify(c);
            c.Options.Add(json);
            c.Options.Add(errorsOnly);
            c.Options.Add(diffLast);
            c.SetAction((p, ct) => Cli.Guard(() => RunAsync(o.ToRequest(p), CommandText(p, command), p.GetValue(json), p.GetValue(errorsOnly), ct, p.GetValue(diffLast), record: true,
                notifier: (target, request) => o.Notifier(p, target, request, CommandText(p, command)))));
            return c;
        }

        /// <summary>
        /// The command words joined as ssh joins them. Words that start with '-' only get here after --
        /// (<see cref="UnknownOptions"/> refuses them before, where they are almost always a mistyped herd option).
        /// </summary>
        internal static string CommandText(ParseResult p, Argument<string[]> command) => string.Join(" ", p.GetValue(command)!);

        public static Command CreatePing(CliOptions o)
        {
            var json = new Option<bool>("--json") { Description = "NDJSON output.", Arity = ArgumentArity.Zero };
            var c = new Command("ping", "Log in to every selected host and run 'true' (a real SSH login, not a TCP probe).");
            o.AddSelection(c);
            o.AddConnection(c);
            c.Options.Add(json);
            // A ping is a reachability probe, not a run anyone compares later: it is not recorded.
            c.SetAction((p, ct) => Cli.Guard(() => RunAsync(o.ToRequest(p), "true", p.GetValue(json), false, ct, diffLast: false, record: false)));
            return c;
        }

        // The record only labels the comparison; a history that failed mid-run must not turn a finished run into an error.
        internal static async Task<int> RunAsync(FleetCommandRequest request, string commandText, bool json, bool errorsOnly, CancellationToken ct,
            bool diffLast = false, bool record = false, Func<FleetTarget, FleetCommandRequest, HerdPS.Notify.FleetNotifier?>? notifier = null)
        {
            if (commandText.Trim().Length == 0) throw new UsageException("the command is empty");
            if (!record) request.NoHistory = true;
            var target = Cli.Resolve(request);
            // Output past 256 KiB per host waits in a private temporary file, not in memory, until it is written
            // out and recorded; each result's file is freed as soon as the loop below is done with it. Settled
            // before the run is begun in the history: a $HERD_SPILL_DIR that is not private stops here (exit 2).
            var spill = Cli.OutputSpill();
            // The history is opened and the run begun before any host is touched: a history that can't be
            // written stops here with exit 2 (HistoryException), rather than running unrecorded.
            // Checked before the run is begun in the history: an unknown notification, a bad body template or an
            // unset ${VAR} is exit 2 with nothing run and nothing recorded.
            using var notify = notifier?.Invoke(target, request);
            using var recording = ExecRecording.Begin(request, target, commandText, diffLast);
            var progress = json ? null : ConsoleProgress.IfTerminal();
            var stdout = Console.Out;
            // NDJSON goes straight to the stdout stream as UTF-8. Serializing to a string first (MemoryStream ->
            // byte[] -> string -> Console's encoder) made four copies of every host's output, two of them UTF-16.
            using var ndjson = json ? new NdjsonWriter(Cli.StandardOutput) : null;
            var grouper = new OutputGrouper();
            using var run = FleetEngine.Start(target, commandText, request, progress == null ? null : progress.Report, ct,
                configure: options => options.Spill = spill);
            var anyFailed = false;
            await foreach (var result in run.ReadAllAsync(CancellationToken.None))
            {
                if (!result.Succeeded) anyFailed = true;
                var change = recording.Add(result);
                notify?.Observe(result, change);
                var keep = false;
                if (json)
                {
                    if (!errorsOnly || !result.Succeeded)
                        ndjson!.Write(result, recording.ComparesWithLast ? w => ChangeView.WriteJsonFields(w, change) : (Action<System.Text.Json.Utf8JsonWriter>?)null);
                }
                else keep = grouper.Add(result);
                if (!keep) result.ReleaseOutput();
            }
            progress?.Clear();
            var difference = recording.Complete(cancelled: ct.IsCancellationRequested);
            if (notify != null)
            {
                // Sent in the background while the output was written; herd waits for them here, within a limit.
                notify.CompleteExec(recording.RunId);
                await notify.FinishAsync(ct.IsCancellationRequested ? TimeSpan.FromSeconds(5) : notify.FinishWait);
            }
            if (recording.ComparesWithLast && difference == null)
            {
                if (json) Cli.Error(ChangeView.NoEarlierRun(commandText, recording.Selection));
                else stdout.WriteLine(" " + ChangeView.NoEarlierRun(commandText, recording.Selection) + "\n");
            }
            if (!json)
            {
                if (difference != null) ChangeView.RenderDiffLast(difference, grouper.Complete(), stdout, errorsOnly);
                else GroupedTextView.Render(grouper.Complete(), stdout, errorsOnly);
            }
            stdout.Flush();
            if (recording.FailureWarning is string warning) Cli.Warning(warning);
            if (ct.IsCancellationRequested) return ExitCodes.Cancelled;
            return anyFailed ? ExitCodes.SomeFailed : ExitCodes.AllSucceeded;
        }
    }

    /// <summary>One FleetResult per line, written as UTF-8 to a stream and flushed after each line.</summary>
    internal sealed class NdjsonWriter : IDisposable
    {
        private readonly Stream _stream;
        private readonly System.Text.Json.Utf8JsonWriter _writer;

        public NdjsonWriter(Stream stream)
        {
            _stream = stream;
            _writer = new System.Text.Json.Utf8JsonWriter(stream);
        }

        public void Write(FleetResult result, Action<System.Text.Json.Utf8JsonWriter>? extra = null)
        {
            _writer.WriteStartObject();
            FleetResultJson.WriteFields(_writer, result);
            extra?.Invoke(_writer);
            _writer.WriteEndObject();
            _writer.Flush();
            _writer.Reset();
            _stream.WriteByte((byte)'\n');
            _stream.Flush();
        }

        public void Dispose()
        {
            _writer.Dispose();
            _stream.Flush();
        }
    }
}
