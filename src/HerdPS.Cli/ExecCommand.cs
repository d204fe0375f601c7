using System;
using System.CommandLine;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using HerdPS.Execution;
using HerdPS.Grouping;

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
            var c = new Command("exec", "Run a command on every selected host, in parallel.");
            c.Arguments.Add(command);
            o.AddSelection(c);
            o.AddConnection(c);
            c.Options.Add(json);
            c.Options.Add(errorsOnly);
            c.SetAction((p, ct) => Cli.Guard(() => RunAsync(o.ToRequest(p), CommandText(p, command), p.GetValue(json), p.GetValue(errorsOnly), ct)));
            return c;
        }

        /// <summary>
        /// The command words joined as ssh joins them. A first word that looks like an option is almost always a
        /// mistyped herd flag, so it is refused unless the user marked the command's start with --.
        /// </summary>
        internal static string CommandText(ParseResult p, Argument<string[]> command)
        {
            var words = p.GetValue(command)!;
            var doubleDash = p.Tokens.Any(t => t.Type == System.CommandLine.Parsing.TokenType.DoubleDash);
            if (words.Length > 0 && words[0].StartsWith("-", StringComparison.Ordinal) && !doubleDash)
                throw new UsageException($"unknown option '{words[0]}' (if the command itself starts with '-', put it after --)");
            return string.Join(" ", words);
        }

        public static Command CreatePing(CliOptions o)
        {
            var json = new Option<bool>("--json") { Description = "NDJSON output.", Arity = ArgumentArity.Zero };
            var c = new Command("ping", "Log in to every selected host and run 'true' (a real SSH login, not a TCP probe).");
            o.AddSelection(c);
            o.AddConnection(c);
            c.Options.Add(json);
            c.SetAction((p, ct) => Cli.Guard(() => RunAsync(o.ToRequest(p), "true", p.GetValue(json), false, ct)));
            return c;
        }

        internal static async Task<int> RunAsync(FleetCommandRequest request, string commandText, bool json, bool errorsOnly, CancellationToken ct)
        {
            if (commandText.Trim().Length == 0) throw new UsageException("the command is empty");
            var target = FleetEngine.Resolve(request);
            if (target.Notice != null) Console.Error.WriteLine("herd: " + target.Notice);
            if (request.Insecure) Console.Error.WriteLine("herd: " + FleetCommandRequest.InsecureWarning);
            var progress = json ? null : ConsoleProgress.IfTerminal();
            var stdout = Console.Out;
            var grouper = new OutputGrouper();
            using var run = FleetEngine.Start(target, commandText, request, progress == null ? null : progress.Report, ct);
            var anyFailed = false;
            await foreach (var result in run.ReadAllAsync(CancellationToken.None))
            {
                if (!result.Succeeded) anyFailed = true;
                if (json)
                {
                    if (errorsOnly && result.Succeeded) continue;
                    stdout.WriteLine(FleetResultJson.Serialize(result));
                    stdout.Flush();
                }
                else grouper.Add(result);
            }
            progress?.Clear();
            if (!json) GroupedTextView.Render(grouper.Complete(), stdout, errorsOnly);
            stdout.Flush();
            if (ct.IsCancellationRequested) return ExitCodes.Cancelled;
            return anyFailed ? ExitCodes.SomeFailed : ExitCodes.AllSucceeded;
        }
    }
}
