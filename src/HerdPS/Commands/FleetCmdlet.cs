using System;
using System.Management.Automation;
using System.Threading;
using HerdPS.Execution;

namespace HerdPS.Commands
{
    /// <summary>
    /// The selection parameters every Fleet cmdlet shares, spelled once: -HostName (from the pipeline by value or
    /// by property name, aliases ComputerName and Host), -Group, -Tag, -Exclude (and -InventoryPath from
    /// <see cref="FleetInventoryCmdlet"/>). Pipeline input is
    /// collected in ProcessRecord and acted on once in EndProcessing, so a piped list runs as one parallel batch.
    /// </summary>
    public abstract class FleetCmdlet : FleetInventoryCmdlet
    {
        private readonly CancellationTokenSource _cancel = new CancellationTokenSource();
        private FleetParameters? _parameters;

        [Parameter(ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("ComputerName", "Host")]
        [ValidateNotNullOrEmpty]
        [SupportsWildcards]
        [ArgumentCompleter(typeof(HostNameCompleter))]
        public string[]? HostName { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(GroupCompleter))]
        public string[]? Group { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(TagCompleter))]
        public string[]? Tag { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        [SupportsWildcards]
        public string[]? Exclude { get; set; }

        /// <summary>Cancelled by Ctrl-C (StopProcessing) and when the cmdlet is disposed.</summary>
        protected CancellationToken StopToken => _cancel.Token;

        /// <summary>The parameters collected so far; derived cmdlets add theirs in <see cref="FillParameters"/>.</summary>
        protected FleetParameters Parameters => _parameters ??= new FleetParameters();

        protected override void ProcessRecord()
        {
            Guard(() => Parameters.AddHostNames(HostName));
        }

        protected override void EndProcessing()
        {
            Guard(() =>
            {
                var p = Parameters;
                p.ExpectingPipelineInput = MyInvocation.ExpectingInput;
                if (p.NothingToDo) return;
                p.Group = Group;
                p.Tag = Tag;
                p.Exclude = Exclude;
                p.InventoryPath = ResolvedInventoryPath;
                FillParameters(p);
                Execute(p.ToRequest());
            });
        }

        protected override void StopProcessing() => _cancel.Cancel();

        /// <summary>Adds the derived cmdlet's parameters before the request is built.</summary>
        protected virtual void FillParameters(FleetParameters parameters) { }

        /// <summary>Does the cmdlet's work on the whole collected selection; called once, on the pipeline thread.</summary>
        protected abstract void Execute(FleetCommandRequest request);

        /// <summary>Resolves the selection, reporting the engine's notice (e.g. "no inventory found") as a warning.</summary>
        protected FleetTarget Resolve(FleetCommandRequest request)
        {
            var target = EngineNotices.WarnAbout(this, () => FleetEngine.Resolve(request));
            if (target.Notice != null) WriteWarning(target.Notice);
            if (request.Insecure) WriteWarning(FleetCommandRequest.InsecureWarning);
            WriteVerbose($"Inventory: {target.Inventory.SourcePath ?? "(built-in: this machine)"}; selection '{request.Selection}' matched {target.Hosts.Count} host(s).");
            return target;
        }

        /// <summary>A request that can't run (bad inventory, empty selection, bad parameter) ends the cmdlet, with the engine's id and category.</summary>
        protected void Guard(Action action)
        {
            try
            {
                action();
            }
            catch (Exception e) when (!(e is PipelineStoppedException) && !(e is ActionPreferenceStopException))
            {
                ThrowTerminatingError(ToErrorRecord(FleetErrorRecords.ForException(e)));
            }
        }

        internal static ErrorRecord ToErrorRecord(FleetErrorInfo info)
        {
            var category = (ErrorCategory)Enum.Parse(typeof(ErrorCategory), info.CategoryName);
            var record = new ErrorRecord(info.Exception, info.ErrorId, category, info.Target);
            if (info.RecommendedAction != null) record.ErrorDetails = new ErrorDetails(info.Exception.Message) { RecommendedAction = info.RecommendedAction };
            return record;
        }
    }
}
