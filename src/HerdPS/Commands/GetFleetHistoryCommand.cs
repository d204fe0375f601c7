using System;
using System.Management.Automation;
using HerdPS.Execution;
using HerdPS.History;

namespace HerdPS.Commands
{
    /// <summary>
    /// Lists recorded runs, newest first, each with its hosts' results (HerdPS.FleetResult), as `herd history`
    /// lists them. Reads the history only: it never contacts a host and never prunes. Not a FleetCmdlet: it
    /// selects runs, not hosts (filter the results with Where-Object HostName).
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "FleetHistory", DefaultParameterSetName = ListSet)]
    [OutputType(typeof(RecordedRun))]
    public sealed class GetFleetHistoryCommand : PSCmdlet
    {
        private const string ListSet = "List";
        private const string IdSet = "Id";

        [Parameter(Mandatory = true, Position = 0, ParameterSetName = IdSet)]
        [ValidateRange(1, long.MaxValue)]
        public long[] Id { get; set; } = Array.Empty<long>();

        [Parameter(ParameterSetName = ListSet)]
        [ValidateRange(1, int.MaxValue)]
        public int Last { get; set; }

        [Parameter(ParameterSetName = ListSet)]
        [ValidateNotNullOrEmpty]
        [SupportsWildcards]
        public string? Command { get; set; }

        [Parameter(ParameterSetName = ListSet)]
        [SinceTransformation]
        public DateTime Since { get; set; }

        /// <summary>Only runs from this controller: a machine name, a user name, or user@machine (herd history --from).</summary>
        [Parameter(ParameterSetName = ListSet)]
        [ValidateNotNullOrEmpty]
        public string? Controller { get; set; }

        /// <summary>Only runs that have a result for this host, each with only that host's result (herd history --host).</summary>
        [Parameter(ParameterSetName = ListSet)]
        [ValidateNotNullOrEmpty]
        [Alias("ComputerName")]
        public string? HostName { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? HistoryPath { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? HistoryConnection { get; set; }

        [Parameter]
        [Credential]
        public PSCredential? HistoryCredential { get; set; }

        protected override void EndProcessing()
        {
            HistoryStore store;
            try
            {
                store = HistoryParameters.OpenForReading(this, HistoryPath, HistoryConnection, HistoryCredential);
            }
            catch (Exception e) when (e is HistoryException || e is ArgumentException)
            {
                ThrowTerminatingError(FleetCmdlet.ToErrorRecord(FleetErrorRecords.ForException(e)));
                return;
            }
            using (store)
            {
                if (ParameterSetName == IdSet)
                {
                    foreach (var id in Id)
                    {
                        // One unknown id is a non-terminating error, as Get-Item reports a missing path; the others still come.
                        try { WriteObject(PowerShellView.Of(FleetHistory.GetRun(store, id))); }
                        catch (HistoryRunNotFoundException e) { WriteError(FleetCmdlet.ToErrorRecord(FleetErrorRecords.ForException(e))); }
                    }
                    return;
                }
                var query = HistoryArguments.Query(null, Bound(nameof(Last)) ? Last : (int?)null, Command, Bound(nameof(Since)) ? Since : (DateTime?)null);
                query.Controller = Controller;
                query.HostName = HostName;
                foreach (var run in FleetHistory.GetRunsWithResults(store, query)) WriteObject(PowerShellView.Of(run));
            }
        }

        private bool Bound(string name) => MyInvocation.BoundParameters.ContainsKey(name);
    }
}
