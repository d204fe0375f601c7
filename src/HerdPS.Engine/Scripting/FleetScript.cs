using System;
using System.Collections.Generic;
using HerdPS.Templating;

namespace HerdPS.Scripting
{
    /// <summary>Where a script came from.</summary>
    public enum ScriptOrigin { File, BuiltIn, Recipe }

    /// <summary>
    /// A fleet script as read and checked (docs/scripts.md): parameters, targets, a strategy, steps and handlers.
    /// Everything a run needs is known here, before any host is touched; a script that reads is a script that
    /// can run (templates parse, references resolve, the step graph has no cycle).
    /// </summary>
    public sealed class FleetScript
    {
        public string Name { get; set; } = "";
        public string? Description { get; set; }
        /// <summary>The file, "builtin:name" or "inventory-path#recipes.name": what error messages name.</summary>
        public string Source { get; set; } = "";
        public ScriptOrigin Origin { get; set; }
        public List<ScriptParameter> Parameters { get; } = new List<ScriptParameter>();
        public ScriptTargets Targets { get; } = new ScriptTargets();
        public ScriptStrategy Strategy { get; } = new ScriptStrategy();
        public List<ScriptStep> Steps { get; } = new List<ScriptStep>();
        public List<ScriptStep> Handlers { get; } = new List<ScriptStep>();
        /// <summary>True when some step says depends_on: each step then waits only for what it names.</summary>
        public bool IsGraph { get; set; }

        public ScriptStep? FindStep(string id) => Steps.Find(s => s.Id == id);
    }

    public enum ScriptParameterType { String, Int, Bool, List }

    public sealed class ScriptParameter
    {
        public string Name { get; set; } = "";
        public ScriptParameterType Type { get; set; }
        /// <summary>The default, already of <see cref="Type"/>; null = none.</summary>
        public object? Default { get; set; }
        public bool Required { get; set; }
        public string? Description { get; set; }
    }

    /// <summary>The script's own selection; any selection given on the command line replaces it whole.</summary>
    public sealed class ScriptTargets
    {
        public List<string> Groups { get; } = new List<string>();
        public List<string> Tags { get; } = new List<string>();
        public List<string> Hosts { get; } = new List<string>();
        public List<string> Exclude { get; } = new List<string>();
        public bool IsEmpty => Groups.Count == 0 && Tags.Count == 0 && Hosts.Count == 0 && Exclude.Count == 0;
    }

    /// <summary>A rolling batch size: a number of hosts or a percentage of the selection.</summary>
    public readonly struct BatchSize
    {
        public BatchSize(double value, bool isPercent) { Value = value; IsPercent = isPercent; }
        public double Value { get; }
        public bool IsPercent { get; }
        /// <summary>Hosts in a batch of a selection of <paramref name="total"/> hosts: at least 1.</summary>
        public int For(int total) => Math.Max(1, IsPercent ? (int)Math.Floor(total * Value / 100.0) : (int)Value);
        public override string ToString() => IsPercent ? Value.ToString(System.Globalization.CultureInfo.InvariantCulture) + "%" : ((int)Value).ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    public sealed class ScriptStrategy
    {
        public int? Throttle { get; set; }
        /// <summary>Batch sizes in order; the last repeats until every host had its batch. Empty: one batch of all.</summary>
        public List<BatchSize> Serial { get; } = new List<BatchSize>();
        /// <summary>Stop before the next batch when more than this percentage of a batch's hosts failed.</summary>
        public double? MaxFailPercentage { get; set; }
        /// <summary>on_failure: stop: the first failed host stops the run (no new step or batch starts).</summary>
        public bool StopOnFailure { get; set; }

        /// <summary>The hosts split into batches as <see cref="Serial"/> says.</summary>
        public List<List<T>> Batches<T>(IReadOnlyList<T> hosts)
        {
            var batches = new List<List<T>>();
            if (Serial.Count == 0) { batches.Add(new List<T>(hosts)); return batches; }
            int next = 0, i = 0;
            while (next < hosts.Count)
            {
                var size = Serial[Math.Min(i++, Serial.Count - 1)].For(hosts.Count);
                var batch = new List<T>();
                for (int k = 0; k < size && next < hosts.Count; k++) batch.Add(hosts[next++]);
                batches.Add(batch);
            }
            return batches;
        }
    }

    public enum StepAction { Run, Script, Upload, Download, Local }

    /// <summary>Which earlier results an <c>on:</c> selector reads.</summary>
    public enum SelectorKind { All, Ok, Failed, Differs, Changed, Host, Tag }

    /// <summary>An <c>on:</c> selector: <c>@failed</c>, <c>@ok:build</c>, <c>@host:web-*</c>, <c>@tag:db</c>.</summary>
    public sealed class StepSelector
    {
        public SelectorKind Kind { get; set; }
        /// <summary>The step whose results it reads (for ok/failed/differs/changed); the previous step when not named.</summary>
        public string? StepId { get; set; }
        /// <summary>The host glob or tag.</summary>
        public string? Argument { get; set; }
        public string Text { get; set; } = "";

        public bool ReadsResults => Kind == SelectorKind.Ok || Kind == SelectorKind.Failed || Kind == SelectorKind.Differs || Kind == SelectorKind.Changed;

        public override string ToString() => Text;
    }

    public sealed class ScriptStep
    {
        public string Id { get; set; } = "";
        public string? Name { get; set; }
        public StepAction Action { get; set; }
        /// <summary>The command (run, local) or the arguments (script), shell-quoting its values.</summary>
        public LiquidTemplate? Command { get; set; }
        /// <summary>script: the local file; upload: the local file; download: the remote path.</summary>
        public LiquidTemplate? Source { get; set; }
        /// <summary>upload: the remote path; download: the local folder.</summary>
        public LiquidTemplate? Destination { get; set; }
        public string? Mode { get; set; }
        public bool Force { get; set; }
        public StepSelector? On { get; set; }
        public LiquidTemplate? When { get; set; }
        /// <summary>Literal loop items (each a template), or null.</summary>
        public List<LiquidTemplate>? LoopItems { get; set; }
        /// <summary>A variable path naming a list (<c>params.packages</c>), or null.</summary>
        public string? LoopVariable { get; set; }
        public bool HasLoop => LoopItems != null || LoopVariable != null;
        public string? Register { get; set; }
        public int Retries { get; set; }
        public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);
        /// <summary>The parameter whose value is <see cref="Retries"/> (<c>retries: "{{ params.x }}"</c>); see <see cref="StepSettings"/>.</summary>
        public string? RetriesParameter { get; set; }
        /// <summary>The parameter whose value is <see cref="RetryDelay"/>.</summary>
        public string? RetryDelayParameter { get; set; }
        /// <summary>The parameter whose value is <see cref="Timeout"/>.</summary>
        public string? TimeoutParameter { get; set; }
        public LiquidTemplate? Until { get; set; }
        public TimeSpan? Timeout { get; set; }
        public int[] AllowedExitCodes { get; set; } = { 0 };
        public bool IgnoreError { get; set; }
        public bool Sudo { get; set; }
        public string? SudoUser { get; set; }
        public bool RunOnce { get; set; }
        public LiquidTemplate? DelegateTo { get; set; }
        public List<string> DependsOn { get; } = new List<string>();
        public List<string> Notify { get; } = new List<string>();
        public string? Parse { get; set; }
        public bool Raw { get; set; }
        public int Line { get; set; }
        public int Column { get; set; }

        /// <summary>How a plan shows what the step does.</summary>
        public string Describe()
        {
            switch (Action)
            {
                case StepAction.Upload: return $"upload {Source?.Source} -> {Destination?.Source}";
                case StepAction.Download: return $"download {Source?.Source} -> {Destination?.Source}";
                case StepAction.Script: return $"script {Source?.Source} {Command?.Source}".TrimEnd();
                case StepAction.Local: return "local: " + Command?.Source;
                default: return Command?.Source ?? "";
            }
        }
    }

    /// <summary>
    /// A script that can't be used as written: the message names the file (or built-in / recipe), line and column,
    /// and what was expected. Nothing runs after one of these (herd exits 2).
    /// </summary>
    public sealed class ScriptException : Exception, Execution.IFleetErrorSource
    {
        public ScriptException(string message, string? source = null, int line = 0, int column = 0, Exception? inner = null)
            : base(Format(message, source, line, column), inner)
        {
            ScriptSource = source;
            Line = line;
            Column = column;
            Reason = message;
        }

        public Execution.FleetErrorInfo ToErrorInfo() =>
            new Execution.FleetErrorInfo(Execution.FleetErrorRecords.ScriptInvalid, "InvalidData", this, ScriptSource)
            { RecommendedAction = "Fix the script at the file, line and column named in the message (Get-FleetScript -Path checks a file without running it)." };

        /// <summary>The file or script name the error is in.</summary>
        public string? ScriptSource { get; }
        public int Line { get; }
        public int Column { get; }
        public string Reason { get; }

        private static string Format(string message, string? source, int line, int column)
        {
            if (message.Length > 2000) message = message.Substring(0, 1000) + " ... " + message.Substring(message.Length - 500);
            if (source == null) return message;
            if (line <= 0) return $"{source}: {message}";
            return column > 0 ? $"{source}:{line}:{column}: {message}" : $"{source}:{line}: {message}";
        }
    }
}
