using System.Management.Automation;
using HerdPS.Execution;
using HerdPS.Files;
using HerdPS.History;

namespace HerdPS.Commands
{
    /// <summary>
    /// Compares two fleet snapshots host by host: one HerdPS.Files.HostSnapshotDiff per host with packages added,
    /// removed, upgraded and downgraded, services started/stopped/enabled/disabled, disk use change, kernel, reboot.
    /// </summary>
    [Cmdlet(VerbsData.Compare, "FleetSnapshot", DefaultParameterSetName = IdSet)]
    [OutputType(typeof(HostSnapshotDiff))]
    public sealed class CompareFleetSnapshotCommand : FleetCmdlet
    {
        private const string IdSet = "Id", SnapshotSet = "Snapshot";

        [Parameter(Mandatory = true, Position = 0, ParameterSetName = IdSet)]
        [ValidateRange(1L, long.MaxValue)]
        public long ReferenceId { get; set; }

        [Parameter(Mandatory = true, Position = 1, ParameterSetName = IdSet)]
        [ValidateRange(1L, long.MaxValue)]
        public long DifferenceId { get; set; }

        [Parameter(ParameterSetName = IdSet)]
        [ValidateNotNullOrEmpty]
        public string? HistoryPath { get; set; }

        [Parameter(ParameterSetName = IdSet)]
        [ValidateNotNullOrEmpty]
        public string? HistoryConnection { get; set; }

        [Parameter(ParameterSetName = IdSet)]
        [Credential]
        public PSCredential? HistoryCredential { get; set; }

        [Parameter(Mandatory = true, ParameterSetName = SnapshotSet)]
        [ValidateNotNull]
        public FleetSnapshot? ReferenceSnapshot { get; set; }

        [Parameter(Mandatory = true, ParameterSetName = SnapshotSet)]
        [ValidateNotNull]
        public FleetSnapshot? DifferenceSnapshot { get; set; }

        [Parameter]
        [ValidateRange(1, 100)]
        public int DiskThresholdPoints { get; set; } = SnapshotComparison.DefaultDiskThresholdPoints;

        protected override void Execute(FleetCommandRequest request)
        {
            var hosts = SnapshotHistory.SelectedHostNames(request);
            SnapshotDiff diff;
            if (ParameterSetName == SnapshotSet)
                diff = SnapshotComparison.Compare(ReferenceSnapshot!, DifferenceSnapshot!, DiskThresholdPoints);
            else
            {
                using var store = HistoryParameters.OpenForReading(this, HistoryPath, HistoryConnection, HistoryCredential, request.InventoryPath);
                diff = SnapshotHistory.Compare(store, ReferenceId, DifferenceId, DiskThresholdPoints);
            }
            foreach (var host in SnapshotHistory.Narrow(diff, hosts)) WriteObject(host);
        }
    }
}
