using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Text.Json;
using HerdPS.Display;

namespace HerdPS.Notify
{
    /// <summary>The events a notification can be sent on (the inventory's <c>on:</c>), and the sample of <c>herd notify test</c>.</summary>
    public enum NotificationEventKind
    {
        /// <summary>Hosts where the command failed (exited non-zero) or could not run (unreachable).</summary>
        Failure,
        /// <summary>Hosts whose output or status differs from their previous run (a watch's previous iteration; exec --diff-last's earlier run).</summary>
        Change,
        /// <summary>Hosts where the command ran longer than its timeout.</summary>
        Timeout,
        /// <summary>Hosts that were reported failing or timing out and now succeed.</summary>
        Resolve,
        /// <summary>A sample, sent by <c>herd notify test</c>.</summary>
        Test,
    }

    /// <summary>One host as a notification tells it.</summary>
    public sealed class NotifiedHost
    {
        public string Name { get; set; } = "";
        public FleetStatus Status { get; set; }
        public FleetStatus? PreviousStatus { get; set; }
        public int? ExitCode { get; set; }
        public FleetErrorKind ErrorKind { get; set; }
        public string? ErrorMessage { get; set; }
        /// <summary>The start of its stdout (at most <see cref="NotificationEvent.MaxOutputExcerpt"/> characters).</summary>
        public string Output { get; set; } = "";
        /// <summary>For a change: the start of the diff from its previous output.</summary>
        public string Diff { get; set; } = "";

        public static NotifiedHost From(FleetResult result, FleetStatus? previous = null, string? diff = null) => new NotifiedHost
        {
            Name = result.HostName,
            Status = result.Status,
            PreviousStatus = previous,
            ExitCode = result.ExitCode,
            ErrorKind = result.ErrorKind,
            ErrorMessage = result.ErrorMessage,
            Output = NotificationEvent.Excerpt(result.StdOut, NotificationEvent.MaxOutputExcerpt),
            Diff = NotificationEvent.Excerpt(diff ?? "", NotificationEvent.MaxDiffExcerpt),
        };

        /// <summary>"Failed (exit 1)", "Unreachable: ...", "TimedOut", "Succeeded (was Failed)".</summary>
        public string Describe()
        {
            var text = Status.ToString();
            if (ExitCode is int code && Status != FleetStatus.Succeeded) text += $" (exit {code})";
            if (PreviousStatus is FleetStatus before && before != Status) text += $" (was {before})";
            if (Status == FleetStatus.Unreachable && ErrorMessage != null) text += ": " + NotificationEvent.Excerpt(ErrorMessage, 200);
            return text;
        }
    }

    /// <summary>
    /// What one notification says: the event, the run it comes from (command, selection, exec or watch and the
    /// iteration), and the hosts concerned with what happened to each. Turned into the template model
    /// (<see cref="Model"/>), the default JSON body (<see cref="ToJson"/>), the default Slack text and a script's
    /// environment.
    /// </summary>
    public sealed class NotificationEvent
    {
        public const int MaxOutputExcerpt = 1000;
        public const int MaxDiffExcerpt = 2000;

        public NotificationEventKind Kind { get; set; }
        public string Command { get; set; } = "";
        public string Selection { get; set; } = "";
        /// <summary>exec, watch or test.</summary>
        public string RunKind { get; set; } = "exec";
        public int? Iteration { get; set; }
        public long? WatchId { get; set; }
        public long? RunId { get; set; }
        public DateTime TimeUtc { get; set; } = DateTime.UtcNow;
        /// <summary>The hosts the event is about, in a stable order.</summary>
        public List<NotifiedHost> Hosts { get; } = new List<NotifiedHost>();
        /// <summary>How many hosts the run had (its whole selection), for the summary.</summary>
        public int TotalHosts { get; set; }

        public string EventName => Name(Kind);

        public static string Name(NotificationEventKind kind) => kind.ToString().ToLowerInvariant();

        public static bool TryParse(string name, out NotificationEventKind kind)
        {
            foreach (NotificationEventKind k in Enum.GetValues(typeof(NotificationEventKind)))
                if (Name(k) == name) { kind = k; return true; }
            kind = default;
            return false;
        }

        /// <summary>One line for people: "failure on 2 of 10 hosts (web-[01-02]) running 'uptime' (watch, iteration 3)".</summary>
        public string Summary
        {
            get
            {
                var what = Kind switch
                {
                    NotificationEventKind.Failure => "failure",
                    NotificationEventKind.Change => "change",
                    NotificationEventKind.Timeout => "timeout",
                    NotificationEventKind.Resolve => "resolved",
                    _ => "test",
                };
                var of = TotalHosts > 0 ? $" of {TotalHosts}" : "";
                var where = RunKind == "watch" && Iteration is int i ? $" (watch, iteration {i})" : RunKind == "test" ? " (a sample from herd notify test)" : "";
                return $"{what} on {Hosts.Count}{of} host{(Hosts.Count == 1 ? "" : "s")} ({HostListText.Fold(Hosts.Select(h => h.Name))}) running '{Excerpt(Command, 200)}'{where}";
            }
        }

        public IEnumerable<string> NamesWhere(Func<NotifiedHost, bool> predicate) => Hosts.Where(predicate).Select(h => h.Name);

        private static bool IsFailure(NotifiedHost h) => h.Status == FleetStatus.Failed || h.Status == FleetStatus.Unreachable;

        /// <summary>The template model: plain dictionaries, lists, strings and numbers (docs/notifications.md lists them).</summary>
        public IReadOnlyDictionary<string, object?> Model(string notification)
        {
            var hosts = Hosts.Select(h => (IReadOnlyDictionary<string, object?>)new Dictionary<string, object?>
            {
                ["name"] = h.Name,
                ["status"] = h.Status.ToString(),
                ["previous_status"] = h.PreviousStatus?.ToString(),
                ["exit_code"] = h.ExitCode,
                ["error_kind"] = h.ErrorKind.ToString(),
                ["error"] = h.ErrorMessage,
                ["output"] = h.Output,
                ["diff"] = h.Diff,
                ["description"] = h.Describe(),
            }).ToList();
            return new Dictionary<string, object?>
            {
                ["notification"] = notification,
                ["event"] = EventName,
                ["summary"] = Summary,
                ["command"] = Command,
                ["selection"] = Selection,
                ["run_kind"] = RunKind,
                ["iteration"] = Iteration,
                ["watch_id"] = WatchId,
                ["run_id"] = RunId,
                ["time"] = TimeUtc.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
                ["hosts"] = hosts,
                ["host_names"] = Hosts.Select(h => h.Name).ToList(),
                ["host_list"] = HostListText.Fold(Hosts.Select(h => h.Name)),
                ["failed_hosts"] = NamesWhere(IsFailure).ToList(),
                ["timed_out_hosts"] = NamesWhere(h => h.Status == FleetStatus.TimedOut).ToList(),
                ["changed_hosts"] = Kind == NotificationEventKind.Change ? Hosts.Select(h => h.Name).ToList() : new List<string>(),
                ["resolved_hosts"] = Kind == NotificationEventKind.Resolve ? Hosts.Select(h => h.Name).ToList() : new List<string>(),
                ["total_hosts"] = TotalHosts,
            };
        }

        /// <summary>The default webhook body, and a script's stdin: the same facts as the model, as one JSON object.</summary>
        public string ToJson(string notification)
        {
            return JsonText.Object(w =>
            {
                w.WriteString("notification", notification);
                w.WriteString("event", EventName);
                w.WriteString("summary", Summary);
                w.WriteString("command", Command);
                w.WriteString("selection", Selection);
                w.WriteString("runKind", RunKind);
                if (Iteration is int i) w.WriteNumber("iteration", i); else w.WriteNull("iteration");
                if (WatchId is long watch) w.WriteNumber("watchId", watch); else w.WriteNull("watchId");
                if (RunId is long run) w.WriteNumber("runId", run); else w.WriteNull("runId");
                w.WriteString("time", TimeUtc.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
                w.WriteNumber("totalHosts", TotalHosts);
                w.WriteStartArray("hosts");
                foreach (var h in Hosts)
                {
                    w.WriteStartObject();
                    w.WriteString("name", h.Name);
                    w.WriteString("status", h.Status.ToString());
                    if (h.PreviousStatus is FleetStatus before) w.WriteString("previousStatus", before.ToString()); else w.WriteNull("previousStatus");
                    if (h.ExitCode is int code) w.WriteNumber("exitCode", code); else w.WriteNull("exitCode");
                    w.WriteString("errorKind", h.ErrorKind.ToString());
                    if (h.ErrorMessage != null) w.WriteString("error", h.ErrorMessage); else w.WriteNull("error");
                    w.WriteString("output", h.Output);
                    w.WriteString("diff", h.Diff);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            });
        }

        /// <summary>The default Slack text: the summary, then a line per host (at most 20).</summary>
        public string SlackText()
        {
            var text = new StringBuilder("*herd*: ").Append(Summary);
            foreach (var h in Hosts.Take(20)) text.Append("\n• ").Append(h.Name).Append(": ").Append(h.Describe());
            if (Hosts.Count > 20) text.Append("\n… and ").Append(Hosts.Count - 20).Append(" more");
            return text.ToString();
        }

        /// <summary>A script's environment: HERD_EVENT, HERD_SUMMARY, HERD_HOSTS (names, space-separated), ...</summary>
        public IReadOnlyDictionary<string, string> Environment(string notification) => new Dictionary<string, string>
        {
            ["HERD_NOTIFICATION"] = notification,
            ["HERD_EVENT"] = EventName,
            ["HERD_SUMMARY"] = Summary,
            ["HERD_COMMAND"] = Command,
            ["HERD_SELECTION"] = Selection,
            ["HERD_RUN_KIND"] = RunKind,
            ["HERD_ITERATION"] = Iteration?.ToString(CultureInfo.InvariantCulture) ?? "",
            ["HERD_HOSTS"] = string.Join(" ", Hosts.Select(h => h.Name)),
            ["HERD_FAILED_HOSTS"] = string.Join(" ", NamesWhere(IsFailure)),
            ["HERD_TIMED_OUT_HOSTS"] = string.Join(" ", NamesWhere(h => h.Status == FleetStatus.TimedOut)),
            ["HERD_TIME"] = TimeUtc.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
        };

        /// <summary>The first <paramref name="max"/> characters, with "..." when cut (a notification carries a taste of the output, not all of it).</summary>
        internal static string Excerpt(string? text, int max)
        {
            if (string.IsNullOrEmpty(text)) return "";
            return text!.Length <= max ? text : text.Substring(0, max) + "...";
        }
    }
}

namespace HerdPS.Notify
{
    /// <summary>The sample event <c>herd notify test</c> sends: two hosts of a made-up run, one failed, one unreachable.</summary>
    public static class NotificationSamples
    {
        public static NotificationEvent Test(string notification)
        {
            var e = new NotificationEvent
            {
                Kind = NotificationEventKind.Test,
                Command = "systemctl is-active nginx",
                Selection = "group=web",
                RunKind = "test",
                TotalHosts = 3,
            };
            e.Hosts.Add(new NotifiedHost { Name = "web-01", Status = FleetStatus.Failed, PreviousStatus = FleetStatus.Succeeded, ExitCode = 3, Output = "inactive" });
            e.Hosts.Add(new NotifiedHost { Name = "web-02", Status = FleetStatus.Unreachable, ErrorKind = FleetErrorKind.ConnectionRefused, ErrorMessage = "connect to host web-02 port 22: Connection refused" });
            return e;
        }
    }
}
