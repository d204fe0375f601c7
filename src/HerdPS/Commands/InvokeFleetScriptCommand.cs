using System.Collections;
using System.Collections.Generic;
using System.Management.Automation;
using System.Net;
using System.Security;
using HerdPS.Execution;
using HerdPS.Scripting;

namespace HerdPS.Commands
{
    /// <summary>
    /// Runs a fleet script (a file, a recipe of the inventory, or a built-in) on the selection and writes one
    /// HerdPS.FleetScriptStepResult per host per step as it finishes, then one HerdPS.FleetScriptSummary.
    /// -WhatIf writes the plan (HerdPS.FleetScriptPlanStep objects) and runs nothing. The engine does the work
    /// (Scripting/ScriptExecutor); this cmdlet only binds parameters and writes what the engine reports.
    /// </summary>
    [Cmdlet(VerbsLifecycle.Invoke, "FleetScript", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = "Path")]
    [OutputType(typeof(FleetScriptStepResult), typeof(FleetScriptSummary), typeof(FleetScriptPlanStep))]
    public sealed class InvokeFleetScriptCommand : FleetRecordingCmdlet
    {
        [Parameter(Mandatory = true, Position = 0, ParameterSetName = "Path")]
        [ValidateNotNullOrEmpty]
        public string Path { get; set; } = "";

        [Parameter(Mandatory = true, ParameterSetName = "Name")]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(ScriptNameCompleter))]
        public string Name { get; set; } = "";

        /// <summary>Values of the script's params, as a hashtable (@{ version = '1.2'; packages = 'a','b' }).</summary>
        [Parameter(Position = 1)]
        public Hashtable? Parameter { get; set; }

        /// <summary>The password for sudo: steps; without it sudo runs non-interactively (sudo -n).</summary>
        [Parameter]
        public PSCredential? SudoCredential { get; set; }

        [Parameter]
        public SwitchParameter DiffLast { get; set; }

        [Parameter]
        public SwitchParameter AsJob { get; set; }

        protected override void Execute(FleetCommandRequest request)
        {
            var given = new Dictionary<string, object?>();
            if (Parameter != null)
                foreach (DictionaryEntry entry in Parameter)
                    given[entry.Key.ToString()] = entry.Value is PSObject o ? o.BaseObject : entry.Value;
            var inventory = Inventory.InventoryLoader.LoadOrDefault(request.InventoryPath, System.Environment.GetEnvironmentVariable, out _);
            var script = ParameterSetName == "Path" ? ScriptCatalog.Resolve(GetUnresolvedProviderPathFromPSPath(Path), inventory) : ScriptCatalog.Resolve(Name, inventory);
            ScriptParameters.Bind(script, given);
            ScriptExecutor.ApplyTargets(script, request.Selection);
            var target = Resolve(request);
            if (!ShouldProcess(FleetQueries.Describe(target), $"Run script '{script.Name}' ({script.Steps.Count} step(s))"))
            {
                if (MyInvocation.BoundParameters.ContainsKey("WhatIf"))
                    foreach (var step in ScriptCatalog.Plan(script, target, given)) WriteObject(step);
                return;
            }
            var options = new ScriptRunOptions
            {
                Parameters = given,
                DiffLast = DiffLast.IsPresent,
                // Read once, here, into the engine's memory; never an argument, a log line or a history record.
                SudoPassword = SudoCredential?.GetNetworkCredential().Password,
            };
            if (AsJob)
            {
                var job = FleetScriptJob.Create(this, target, script, request, options);
                job.StartJob();
                WriteObject(job);
                return;
            }
            using var run = ScriptExecutor.Start(script, target, request, options, StopToken);
            using var events = run.Reader();
            while (true)
            {
                var read = events.Next(ProgressTick, out var e);
                if (read == ReadStep.End) break;
                if (read == ReadStep.Idle) continue;
                if (e.Progress != null)
                    WriteProgress(new ProgressRecord(1, "Invoke-FleetScript " + Display.TerminalText.Line(script.Name), Display.TerminalText.Line(e.Progress)) { PercentComplete = e.PercentComplete });
                else if (e.Result != null)
                {
                    WriteVerbose($"{e.Result.StepId} on {e.Result.HostName}: {e.Result.Status}" + (e.Result.ErrorMessage != null ? ": " + e.Result.ErrorMessage : ""));
                    WriteObject(ForPowerShell(e.Result));
                    if (FleetErrorRecords.ForStep(e.Result) is FleetErrorInfo error) WriteError(ToErrorRecord(error));
                }
                else if (e.Summary != null)
                {
                    WriteProgress(new ProgressRecord(1, "Invoke-FleetScript " + Display.TerminalText.Line(script.Name), "done") { RecordType = ProgressRecordType.Completed });
                    if (e.Summary.StoppedReason != null) WriteWarning("stopped: " + e.Summary.StoppedReason);
                    WriteObject(e.Summary);
                }
            }
        }

        /// <summary>
        /// A step's result as PowerShell gets it: its output without the final line break (as Invoke-FleetCommand's),
        /// and its parsed fields as properties, so Sort-Object UsePercent works.
        /// </summary>
        internal static object ForPowerShell(FleetScriptStepResult result)
        {
            var shown = PowerShellView.Of(result);
            return shown.Parsed.Count == 0 ? shown : (object)ParsedProperties.Add(shown, shown.Parsed, addParsedProperty: false);
        }
    }

    /// <summary>Completes -Name with the built-in scripts and the inventory's recipes.</summary>
    public sealed class ScriptNameCompleter : InventoryNameCompleter
    {
        private protected override IEnumerable<string> Names(string? inventoryPath, string wordToComplete)
        {
            var inventory = Inventory.InventoryLoader.LoadOrDefault(inventoryPath, System.Environment.GetEnvironmentVariable, out _);
            foreach (var name in ScriptCatalog.Names(inventory))
                if (name.StartsWith(wordToComplete ?? "", System.StringComparison.OrdinalIgnoreCase)) yield return name;
        }
    }
}
