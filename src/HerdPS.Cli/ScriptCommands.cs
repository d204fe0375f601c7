using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using HerdPS.Display;
using HerdPS.Execution;
using HerdPS.Grouping;
using HerdPS.Inventory;
using HerdPS.Scripting;

namespace HerdPS.Cli
{
    /// <summary><c>herd run</c> (a fleet script, recipe or built-in) and <c>herd scripts</c> (list them, check a file).</summary>
    internal static class ScriptCommands
    {
        /// <summary>The environment variable a sudo password is read from (never an option: argv is visible to every user).</summary>
        public const string SudoPasswordVariable = "HERD_SUDO_PASSWORD";

        public static Command CreateRun(CliOptions o)
        {
            var script = new Argument<string>("script") { Description = "A script file (.yaml), a recipe of the inventory, or a built-in (see 'herd scripts')." };
            var set = new Option<string[]>("--set", "-s") { Description = "A parameter value, name=value (repeatable; a list parameter takes a,b,c).", AllowMultipleArgumentsPerToken = false };
            var dryRun = new Option<bool>("--dry-run", "-n") { Description = "Print the plan (each batch, step and host, templates rendered) and run nothing.", Arity = ArgumentArity.Zero };
            var json = new Option<bool>("--json") { Description = "One NDJSON object per host per step as it finishes, then a summary object (\"type\":\"summary\"). Same as --output json.", Arity = ArgumentArity.Zero };
            var output = new Option<string?>("--output", "-o") { Description = "grouped (each step's hosts grouped by output, the default) or json (as --json). Default: the inventory's defaults.output, else grouped." };
            output.AcceptOnlyFromAmong(ExecCommand.OutputGrouped, ExecCommand.OutputJson);
            var diffLast = new Option<bool>("--diff-last") { Description = "Compare each step with that step's latest finished run: change and diff per host.", Arity = ArgumentArity.Zero };
            var sudoEnv = new Option<bool>("--sudo-password-from-env") { Description = $"Read the sudo password for sudo: steps from ${SudoPasswordVariable} (sent on the command's stdin only). Without it sudo runs with -n.", Arity = ArgumentArity.Zero };
            var c = new Command("run", "Run a fleet script: parameters, steps, conditions, loops, retries, a DAG, rolling batches, handlers (docs/scripts.md).");
            c.Arguments.Add(script);
            o.AddSelection(c);
            o.AddConnection(c);
            o.AddHistory(c);
            c.Options.Add(set);
            c.Options.Add(dryRun);
            c.Options.Add(json);
            c.Options.Add(output);
            c.Options.Add(diffLast);
            c.Options.Add(sudoEnv);
            c.SetAction((p, ct) => Cli.Guard(() => RunAsync(o.ToRequest(p), p.GetValue(script)!, p.GetValue(set), p.GetValue(dryRun), ExecCommand.JsonChoice(p.GetValue(json), p.GetValue(output)), p.GetValue(diffLast), p.GetValue(sudoEnv), ct)));
            return c;
        }

        public static Command CreateScripts(CliOptions o)
        {
            var check = new Argument<string[]>("file") { Description = "Script files to check (nothing runs); without any, list the built-ins and the inventory's recipes.", Arity = ArgumentArity.ZeroOrMore };
            var json = new Option<bool>("--json") { Description = "One JSON object per script.", Arity = ArgumentArity.Zero };
            var c = new Command("scripts", "List the built-in scripts and the inventory's recipes, or check script files.");
            c.Arguments.Add(check);
            c.Options.Add(o.Inventory);
            c.Options.Add(json);
            c.SetAction((p, ct) => Cli.Guard(() =>
            {
                var files = p.GetValue(check) ?? Array.Empty<string>();
                List<FleetScriptInfo> infos;
                if (files.Length > 0)
                {
                    // With --inventory, files are also checked against it (the parsers their steps name).
                    var against = p.GetValue(o.Inventory) is string given ? InventoryLoader.LoadOrDefault(given, Environment.GetEnvironmentVariable, out _) : null;
                    infos = files.Select(f => ScriptCatalog.Check(f, against)).ToList();
                }
                else
                {
                    var inventory = InventoryLoader.LoadOrDefault(p.GetValue(o.Inventory), Environment.GetEnvironmentVariable, out _);
                    infos = ScriptCatalog.List(inventory);
                }
                if (p.GetValue(json))
                    foreach (var i in infos)
                        Console.Out.WriteLine(JsonSerializer.Serialize(
                            new ScriptLine(i.Name, i.Source, i.Description, i.Path, i.Parameters.ToArray(), i.Steps.ToArray(), i.IsValid, i.Error), CliJson.Default.ScriptLine));
                else
                {
                    foreach (var i in infos.Where(i => i.IsValid))
                        Console.Out.WriteLine($"{TerminalText.Line(i.Name),-18} {i.Source,-8} {TerminalText.Line(i.Description ?? "")}" + (i.Parameters.Count > 0 ? $" [params: {TerminalText.Line(string.Join(", ", i.Parameters))}]" : ""));
                    foreach (var i in infos.Where(i => !i.IsValid)) Cli.Error(i.Error!);
                }
                return Task.FromResult(infos.All(i => i.IsValid) ? ExitCodes.AllSucceeded : ExitCodes.Usage);
            }));
            return c;
        }

        /// <param name="jsonChoice">NDJSON (true), grouped text (false), or the inventory's defaults.output (null).</param>
        internal static async Task<int> RunAsync(FleetCommandRequest request, string name, string[]? set, bool dryRun, bool? jsonChoice, bool diffLast, bool sudoFromEnv, CancellationToken ct)
        {
            var given = ScriptParameters.FromAssignments(set);
            // The inventory first (recipes live there), without the selection: the script's targets may be the selection.
            var inventory = InventoryLoader.LoadOrDefault(request.InventoryPath, Environment.GetEnvironmentVariable, out _);
            var json = jsonChoice ?? inventory.Defaults.Output == ExecCommand.OutputJson;
            var script = ScriptCatalog.Resolve(name, inventory);
            ScriptParameters.Bind(script, given); // a missing or unknown parameter stops here, before hosts are resolved
            ScriptExecutor.ApplyTargets(script, request.Selection);
            var target = Cli.Resolve(request);
            if (dryRun) return Plan(script, target, given, json);
            string? password = null;
            if (sudoFromEnv)
            {
                password = Environment.GetEnvironmentVariable(SudoPasswordVariable);
                if (string.IsNullOrEmpty(password)) throw new UsageException($"--sudo-password-from-env: ${SudoPasswordVariable} is not set");
            }
            var stdout = Console.Out;
            using var ndjson = json ? new Utf8Lines(Cli.StandardOutput) : null;
            using var run = ScriptExecutor.Start(script, target, request, new ScriptRunOptions { Parameters = given, SudoPassword = password, DiffLast = diffLast }, ct);
            FleetScriptSummary? summary = null;
            await foreach (var e in run.ReadAllAsync())
            {
                if (e.Result != null && json) ndjson!.Write(w => WriteResult(w, e.Result));
                else if (e.StepResults != null && !json) RenderStep(e.StepResults, stdout, diffLast);
                else if (e.Summary != null) summary = e.Summary;
            }
            if (summary == null) return ExitCodes.Cancelled;
            if (json) ndjson!.Write(w => WriteSummary(w, summary));
            else RenderSummary(summary, stdout);
            stdout.Flush();
            if (summary.Cancelled || ct.IsCancellationRequested) return ExitCodes.Cancelled;
            return summary.Succeeded ? ExitCodes.AllSucceeded : ExitCodes.SomeFailed;
        }

        private static int Plan(FleetScript script, FleetTarget target, Dictionary<string, object?> given, bool json)
        {
            var plan = ScriptCatalog.Plan(script, target, given);
            if (json)
            {
                using var ndjson = new Utf8Lines(Cli.StandardOutput);
                foreach (var s in plan)
                    ndjson.Write(w =>
                    {
                        w.WriteString("type", "plan");
                        w.WriteString("script", s.Script);
                        w.WriteNumber("batch", s.Batch);
                        w.WriteString("stepId", s.StepId);
                        w.WriteString("hostName", s.HostName);
                        w.WriteString("action", s.Action);
                        w.WriteString("condition", s.Condition);
                        w.WriteString("runsOn", s.RunsOn);
                    });
                return ExitCodes.AllSucceeded;
            }
            var o = Console.Out;
            o.WriteLine($"Plan of {TerminalText.Line(script.Name)} on {target.Hosts.Count} host(s); nothing runs (--dry-run).");
            foreach (var batch in plan.GroupBy(s => s.Batch))
            {
                if (plan.Select(s => s.Batch).Distinct().Count() > 1) o.WriteLine($"batch {batch.Key}:");
                foreach (var step in batch.GroupBy(s => s.StepId))
                {
                    o.WriteLine($"  {TerminalText.Line(step.Key)}" + (step.First().Condition is string c ? $"  ({TerminalText.Line(c)})" : ""));
                    foreach (var same in step.GroupBy(s => (s.Action, s.RunsOn)))
                        o.WriteLine($"    {HostListText.Fold(same.Select(s => s.HostName))}: {TerminalText.Line(same.Key.Action)}" + (same.Key.RunsOn != null ? $"  (runs on {TerminalText.Line(same.Key.RunsOn)})" : ""));
                }
            }
            return ExitCodes.AllSucceeded;
        }

        private static void RenderStep(IReadOnlyList<FleetScriptStepResult> results, TextWriter o, bool diffLast)
        {
            if (results.Count == 0) return;
            var first = results[0];
            o.WriteLine($"== {(first.IsHandler ? "handler" : "step")} {TerminalText.Line(first.StepId)}" + (first.Batch > 1 ? $" (batch {first.Batch})" : "") + $": {TerminalText.Line(first.Command)}");
            var grouper = new OutputGrouper();
            foreach (var r in results.Where(r => r.Status != FleetScriptStepStatus.Skipped && r.Status != FleetScriptStepStatus.NotRun))
                grouper.Add(new FleetResult
                {
                    HostName = r.HostName + (r.Item != null ? $" [{r.Item}]" : ""),
                    Command = r.Command,
                    Status = r.Status switch
                    {
                        FleetScriptStepStatus.Succeeded => FleetStatus.Succeeded,
                        FleetScriptStepStatus.Unreachable => FleetStatus.Unreachable,
                        FleetScriptStepStatus.TimedOut => FleetStatus.TimedOut,
                        FleetScriptStepStatus.Cancelled => FleetStatus.Cancelled,
                        _ => FleetStatus.Failed,
                    },
                    ExitCode = r.ExitCode,
                    StdOut = r.StdOut,
                    StdErr = r.StdErr,
                    ErrorKind = r.ErrorKind,
                    ErrorMessage = r.ErrorMessage,
                    OutputHash = r.OutputHash.Length > 0 ? r.OutputHash : r.StdOut + "\0" + r.ExitCode,
                    Attempts = r.Attempts,
                    Duration = r.Duration,
                });
            if (results.Any(r => r.Status != FleetScriptStepStatus.Skipped && r.Status != FleetScriptStepStatus.NotRun)) GroupedTextView.Render(grouper.Complete(), o);
            foreach (var g in results.Where(r => r.Status == FleetScriptStepStatus.Skipped || r.Status == FleetScriptStepStatus.NotRun).GroupBy(r => (r.Status, r.ErrorMessage)))
                o.WriteLine($" {(g.Key.Status == FleetScriptStepStatus.Skipped ? "skipped" : "not run")} on {HostListText.Fold(g.Select(r => r.HostName))}: {TerminalText.Line(g.Key.ErrorMessage)}");
            foreach (var r in results.Where(r => r.Ignored)) o.WriteLine($" {TerminalText.Line(r.HostName)}: failed, ignored (ignore_error)");
            foreach (var r in results.Where(r => r.Parsed.Count > 0))
                o.WriteLine($" {TerminalText.Line(r.HostName)}: " + ParsedText.Fields(r.Parsed));
            if (diffLast)
                foreach (var r in results.Where(r => r.Change == "Changed"))
                    o.WriteLine($" {TerminalText.Line(r.HostName)} changed since the last run:\n{TerminalText.Block(r.Diff)}");
            o.WriteLine();
        }

        private static void RenderSummary(FleetScriptSummary s, TextWriter o)
        {
            o.WriteLine($"{TerminalText.Line(s.Script)}: {s.SucceededCount} of {s.HostCount} host(s) succeeded, {s.FailedCount} failed, {s.NotRunCount} not run; {s.StepCount} step(s), {s.BatchCount} batch(es), {s.Duration.TotalSeconds:0.0}s"
                + (s.Cancelled ? "; cancelled" : ""));
            if (s.FailedHosts.Count > 0) o.WriteLine($"failed: {HostListText.Fold(s.FailedHosts)}");
            if (s.StoppedReason != null) o.WriteLine("stopped: " + TerminalText.Line(s.StoppedReason));
        }

        internal static void WriteResult(Utf8JsonWriter w, FleetScriptStepResult r)
        {
            w.WriteString("type", "step");
            w.WriteString("script", r.Script);
            w.WriteString("stepId", r.StepId);
            w.WriteString("hostName", r.HostName);
            w.WriteString("status", r.Status.ToString());
            w.WriteBoolean("succeeded", r.Succeeded);
            w.WriteBoolean("ignored", r.Ignored);
            if (r.ExitCode is int code) w.WriteNumber("exitCode", code); else w.WriteNull("exitCode");
            w.WriteString("command", r.Command);
            w.WriteString("stdOut", r.StdOut);
            w.WriteString("stdErr", r.StdErr);
            w.WriteNumber("attempts", r.Attempts);
            w.WriteString("startTime", r.StartTime);
            w.WriteNumber("durationMs", (long)r.Duration.TotalMilliseconds);
            w.WriteString("item", r.Item);
            w.WriteNumber("batch", r.Batch);
            w.WriteString("ranOn", r.RanOn);
            w.WriteString("transport", r.Transport);
            w.WriteString("errorKind", r.ErrorKind.ToString());
            w.WriteString("errorMessage", r.ErrorMessage);
            w.WriteBoolean("isHandler", r.IsHandler);
            w.WriteString("outputHash", r.OutputHash);
            if (r.Change != null) { w.WriteString("change", r.Change); w.WriteString("diff", r.Diff); }
            if (r.Parsed.Count > 0) { w.WritePropertyName("parsed"); ParsedJson.Write(w, r.Parsed); }
        }

        private static void WriteSummary(Utf8JsonWriter w, FleetScriptSummary s)
        {
            w.WriteString("type", "summary");
            w.WriteString("script", s.Script);
            w.WriteNumber("hostCount", s.HostCount);
            w.WriteNumber("succeededCount", s.SucceededCount);
            w.WriteNumber("failedCount", s.FailedCount);
            w.WriteNumber("notRunCount", s.NotRunCount);
            w.WriteNumber("stepCount", s.StepCount);
            w.WriteNumber("batchCount", s.BatchCount);
            w.WriteBoolean("succeeded", s.Succeeded);
            w.WriteBoolean("cancelled", s.Cancelled);
            w.WriteString("stoppedReason", s.StoppedReason);
            w.WriteStartArray("failedHosts");
            foreach (var h in s.FailedHosts) w.WriteStringValue(h);
            w.WriteEndArray();
            w.WriteStartArray("historyRunIds");
            foreach (var id in s.HistoryRunIds) w.WriteNumberValue(id);
            w.WriteEndArray();
            w.WriteNumber("durationMs", (long)s.Duration.TotalMilliseconds);
        }
    }

    /// <summary>One JSON object per line, UTF-8, flushed after each.</summary>
    internal sealed class Utf8Lines : IDisposable
    {
        private readonly Stream _stream;
        private readonly Utf8JsonWriter _writer;

        public Utf8Lines(Stream stream)
        {
            _stream = stream;
            _writer = new Utf8JsonWriter(stream);
        }

        public void Write(Action<Utf8JsonWriter> fields)
        {
            _writer.WriteStartObject();
            fields(_writer);
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
