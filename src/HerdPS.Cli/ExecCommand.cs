using System;
using System.Collections.Generic;
using System.CommandLine;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using HerdPS.Execution;
using HerdPS.Grouping;
using HerdPS.History;
using HerdPS.Parsing;

namespace HerdPS.Cli
{
    /// <summary><c>herd exec</c> and <c>herd ping</c>: run a command on the selection and report it.</summary>
    internal static class ExecCommand
    {
        public static Command Create(CliOptions o)
        {
            var command = new Argument<string[]>("command") { Description = "The command to run (several words are joined with spaces, as ssh does).", Arity = ArgumentArity.OneOrMore };
            var json = new Option<bool>("--json") { Description = "One NDJSON line per host as it finishes (FleetResult fields in camelCase); nothing else on stdout. Same as --output json.", Arity = ArgumentArity.Zero };
            var output = new Option<string?>("--output", "-o") { Description = "grouped (identical outputs together, the default) or json (as --json). Default: the inventory's defaults.output, else grouped." };
            output.AcceptOnlyFromAmong(OutputGrouped, OutputJson);
            var errorsOnly = new Option<bool>("--errors-only") { Description = "Show only hosts that did not succeed.", Arity = ArgumentArity.Zero };
            var diffLast = new Option<bool>("--diff-last") { Description = "Compare with the latest finished run of the same command on the same selection: per host unchanged, changed (with a diff), new or gone. With --json, adds 'change', 'changed' and 'diff' to each line.", Arity = ArgumentArity.Zero };
            var parse = new Option<string?>("--parse") { Description = "Turn each host's output into fields with a parser (disk, free, uptime, os-release, failed-units, package-list, or one of the inventory's parsers:): a 'parsed' object on each NDJSON line, a line of fields per host otherwise." };
            var c = new Command("exec", "Run a command on every selected host, in parallel.");
            c.Arguments.Add(command);
            o.AddSelection(c);
            o.AddConnection(c);
            o.AddHistory(c);
            o.AddNotify(c);
            c.Options.Add(json);
            c.Options.Add(output);
            c.Options.Add(errorsOnly);
            c.Options.Add(diffLast);
            c.Options.Add(parse);
            c.SetAction((p, ct) => Cli.Guard(() => RunAsync(o.ToRequest(p), CommandText(p, command), JsonChoice(p.GetValue(json), p.GetValue(output)), p.GetValue(errorsOnly), ct,
                p.GetValue(diffLast), record: true, parse: p.GetValue(parse),
                notifier: (target, request) => o.Notifier(p, target, request, CommandText(p, command)))));
            return c;
        }

        public const string OutputGrouped = "grouped";
        public const string OutputJson = "json";

        /// <summary>
        /// --json and --output as one choice: true or false when the command line says, null to leave it to the
        /// inventory's defaults.output (herd's config.yaml). Saying both ways at once is a usage error.
        /// </summary>
        internal static bool? JsonChoice(bool json, string? output)
        {
            if (json && output == OutputGrouped) throw new UsageException("--json and --output grouped contradict each other; choose one");
            if (json || output == OutputJson) return true;
            return output == OutputGrouped ? false : (bool?)null;
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
        /// <param name="jsonChoice">NDJSON (true), grouped text (false), or the inventory's defaults.output (null).</param>
        /// <param name="parse">A parser's name (--parse): its fields join each host's result.</param>
        internal static async Task<int> RunAsync(FleetCommandRequest request, string commandText, bool? jsonChoice, bool errorsOnly, CancellationToken ct,
            bool diffLast = false, bool record = false, string? parse = null, Func<FleetTarget, FleetCommandRequest, HerdPS.Notify.FleetNotifier?>? notifier = null)
        {
            if (commandText.Trim().Length == 0) throw new UsageException("the command is empty");
            if (!record) request.NoHistory = true;
            var target = Cli.Resolve(request);
            var json = jsonChoice ?? target.Inventory.Defaults.Output == OutputJson;
            // Found before anything runs or is recorded: an unknown parser is exit 2, never a run without its fields.
            var parser = parse == null ? null : OutputParser.ForRun(parse, target.Inventory.Parsers, "--parse");
            var parsedLines = new List<(string Host, Dictionary<string, object?> Fields)>();
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
                var shown = !errorsOnly || !result.Succeeded;
                var parsed = parser != null && shown ? parser.Parse(result.StdOut) : null;
                if (json)
                {
                    if (shown)
                        ndjson!.Write(result, recording.ComparesWithLast || parsed != null ? w =>
                        {
                            if (recording.ComparesWithLast) ChangeView.WriteJsonFields(w, change);
                            if (parsed != null) { w.WritePropertyName("parsed"); ParsedJson.Write(w, parsed); }
                        } : (Action<System.Text.Json.Utf8JsonWriter>?)null);
                }
                else
                {
                    keep = grouper.Add(result);
                    if (parsed != null) parsedLines.Add((result.HostName, parsed));
                }
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
                if (parser != null) ParsedText.Render(parser.Name, parsedLines, stdout);
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
