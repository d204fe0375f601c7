using System;
using System.CommandLine;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using HerdPS.Display;
using HerdPS.Execution;
using HerdPS.Tail;

namespace HerdPS.Cli
{
    /// <summary><c>herd tail</c>: follow log files (or journal units) on every selected host and print lines as they arrive.</summary>
    internal static class TailCommand
    {
        public static Command Create(CliOptions o)
        {
            var paths = new Argument<string[]>("path") { Description = "Files to follow on each host (at most 7; ~/ is the login user's home). A path that starts with '-' goes after --.", Arity = ArgumentArity.ZeroOrMore };
            var unit = new Option<string[]>("--journalctl") { Description = "Follow this systemd unit's journal (journalctl -f -u) instead of files (repeatable).", AllowMultipleArgumentsPerToken = false };
            var lines = new Option<int?>("--lines", "-n") { Description = "Lines of context shown first (default 10): the last lines of each file, or the last journal entries." };
            var grep = new Option<string?>("--grep") { Description = "Show only lines matching this extended regex (grep -E, run on each host: other lines never cross the network). For the journal, the entry's message." };
            var grepExclude = new Option<string?>("--grep-exclude") { Description = "Leave out lines matching this extended regex (grep -vE, on each host)." };
            var since = new Option<string?>("--since") { Description = "Journal only: start this far back on each host's clock, e.g. 5m, 2h (instead of --lines)." };
            var json = new Option<bool>("--json") { Description = "One NDJSON object per line (hostName, source, line, receivedUtc, ...); notices stay on stderr.", Arity = ArgumentArity.Zero };
            var noHostname = new Option<bool>("--no-hostname") { Description = "Print the lines without the [host] prefix.", Arity = ArgumentArity.Zero };
            var c = new Command("tail", "Follow log files (tail -F) or journal units (journalctl -f) on every selected host; Ctrl-C stops.");
            c.Arguments.Add(paths);
            c.Options.Add(unit);
            c.Options.Add(lines);
            c.Options.Add(grep);
            c.Options.Add(grepExclude);
            c.Options.Add(since);
            c.Options.Add(json);
            c.Options.Add(noHostname);
            o.AddSelection(c);
            o.AddLogin(c);
            // A follower's reconnects: attempts in a row before a host is given up (default: never), and the first delay.
            c.Options.Add(o.Retries);
            c.Options.Add(o.RetryDelay);
            c.SetAction((p, ct) => Cli.Guard(() =>
            {
                var options = new TailOptions { Lines = p.GetValue(lines) ?? TailOptions.DefaultLines, Grep = p.GetValue(grep), GrepExclude = p.GetValue(grepExclude) };
                options.Paths.AddRange(p.GetValue(paths) ?? Array.Empty<string>());
                options.Units.AddRange(p.GetValue(unit) ?? Array.Empty<string>());
                if (CliOptions.DurationOf(p.GetValue(since), "--since") is TimeSpan back)
                {
                    if (back <= TimeSpan.Zero) throw new UsageException("--since must be a positive duration, e.g. 5m");
                    options.Since = TailSince.Back(back);
                }
                options.Validate(TailOptionNames.Cli);
                return RunAsync(o.ToRequest(p), options, p.GetValue(json), !p.GetValue(noHostname), ct);
            }));
            return c;
        }

        private static async Task<int> RunAsync(FleetCommandRequest request, TailOptions options, bool json, bool showHostName, CancellationToken ct)
        {
            var target = Cli.Resolve(request);
            var tail = FleetTail.Create(target, request, options);
            var colour = !json && !Console.IsOutputRedirected && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NO_COLOR"));
            var view = new TailTextView(options, target.Hosts.Select(h => h.Name), showHostName, colour);
            // Straight to the stdout stream: the colour sequences are ours, and every piece of text in a line has been
            // escaped by the view (the console writer would escape our colours too).
            using var stdout = new StreamWriter(Cli.StandardOutput, new UTF8Encoding(false), 16 * 1024, leaveOpen: true);
            using var ndjson = json ? new System.Text.Json.Utf8JsonWriter(Cli.StandardOutput) : null;
            var failed = 0;
            await foreach (var e in tail.RunAsync(ct))
            {
                if (e.Line is FleetLogLine line)
                {
                    if (ndjson != null)
                    {
                        FleetLogLineJson.Write(ndjson, line);
                        ndjson.Flush();
                        ndjson.Reset();
                        Cli.StandardOutput.WriteByte((byte)'\n');
                        Cli.StandardOutput.Flush();
                    }
                    else
                    {
                        stdout.Write(view.Format(line));
                        stdout.Write('\n');
                        stdout.Flush();
                    }
                }
                else if (e.Notice is TailNotice notice)
                {
                    switch (notice.Severity)
                    {
                        case TailNoticeSeverity.Error:
                            failed++;
                            Cli.Error(notice.Message);
                            break;
                        case TailNoticeSeverity.Warning:
                            Cli.Warning(notice.Message);
                            break;
                        default:
                            // A pause only means the terminal or the pipe is slower than the logs; nothing is lost.
                            if (notice.Kind != TailNoticeKind.Paused) Cli.Error(notice.Message);
                            break;
                    }
                }
            }
            if (ct.IsCancellationRequested) return ExitCodes.Cancelled;
            // The tail ends by itself only when no host can be followed any more.
            Cli.Error($"no host is being followed any more ({failed} of {tail.Hosts.Count} could not be)");
            return ExitCodes.SomeFailed;
        }
    }
}
