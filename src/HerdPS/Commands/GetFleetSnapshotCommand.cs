using System.Collections.Concurrent;
using System.Management.Automation;
using HerdPS.Execution;
using HerdPS.Files;
using HerdPS.History;

namespace HerdPS.Commands
{
    /// <summary>
    /// Captures the state of every selected host (OS, kernel, packages, services, disk, memory, uptime) and stores it
    /// in the history (parameter set Capture); or reads stored snapshots back (-Id) or lists them (-List).
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "FleetSnapshot", DefaultParameterSetName = CaptureSet)]
    [OutputType(typeof(FleetSnapshot), ParameterSetName = new[] { CaptureSet, IdSet })]
    [OutputType(typeof(SnapshotRecord), ParameterSetName = new[] { ListSet })]
    public sealed class GetFleetSnapshotCommand : FleetConnectionCmdlet
    {
        private const string CaptureSet = "Capture", IdSet = "Id", ListSet = "List";

        [Parameter(Mandatory = true, ParameterSetName = IdSet)]
        [ValidateRange(1L, long.MaxValue)]
        public long[] Id { get; set; } = new long[0];

        [Parameter(Mandatory = true, ParameterSetName = ListSet)]
        public SwitchParameter List { get; set; }

        [Parameter(ParameterSetName = ListSet)]
        [ValidateRange(1, int.MaxValue)]
        public int Last { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? HistoryPath { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? HistoryConnection { get; set; }

        [Parameter]
        [Credential]
        public PSCredential? HistoryCredential { get; set; }

        [Parameter(ParameterSetName = CaptureSet)]
        public SwitchParameter NoHistory { get; set; }


        protected override void Execute(FleetCommandRequest request)
        {
            switch (ParameterSetName)
            {
                case ListSet: ListStored(request); break;
                case IdSet: GetStored(request); break;
                default: Capture(request); break;
            }
        }

        private void Capture(FleetCommandRequest request)
        {
            request.HistoryPath = HistoryParameters.Location(this, HistoryPath, HistoryConnection);
            request.HistoryCredential = HistoryParameters.Network(HistoryCredential);
            request.NoHistory = NoHistory.IsPresent;
            var target = Resolve(request);
            // Opened before anything runs: a history that can't be written stops the capture, never loses it afterwards.
            using var store = EngineNotices.WarnAbout(this, () => FleetHistory.OpenForRun(request, target));
            var captured = new ConcurrentQueue<HostSnapshot>();
            var wait = new PipelineWait(this, "Capturing a fleet snapshot", () =>
            {
                while (captured.TryDequeue(out var h)) WriteVerbose($"{h.HostName}: {h.Status}" + (h.ErrorMessage != null ? ": " + h.ErrorMessage : ""));
            });
            var snapshot = wait.Wait(FleetSnapshots.CaptureAsync(target, request, wait.Progress.Enqueue, captured.Enqueue, StopToken));
            if (SnapshotHistory.Store(store, snapshot, StopToken)) WriteVerbose($"Snapshot {snapshot.Id} saved in {store!.DatabasePath}.");
            WriteObject(snapshot);
            foreach (var host in snapshot.Hosts)
                if (FleetErrorRecords.ForSnapshotHost(host) is FleetErrorInfo error) WriteError(ToErrorRecord(error));
        }

        private void GetStored(FleetCommandRequest request)
        {
            var hosts = SnapshotHistory.SelectedHostNames(request);
            using var store = HistoryParameters.OpenForReading(this, HistoryPath, HistoryConnection, HistoryCredential, request.InventoryPath);
            foreach (var id in Id)
            {
                // One unknown id among several is reported and the others still come back, as Get-Process -Id does.
                try { WriteObject(SnapshotHistory.Narrow(SnapshotHistory.Get(store, id), hosts)); }
                catch (SnapshotNotFoundException e) { WriteError(ToErrorRecord(FleetErrorRecords.ForException(e))); }
            }
        }

        private void ListStored(FleetCommandRequest request)
        {
            SnapshotHistory.RefuseSelectionForList(request);
            using var store = HistoryParameters.OpenForReading(this, HistoryPath, HistoryConnection, HistoryCredential, request.InventoryPath);
            foreach (var record in store.ListSnapshots(MyInvocation.BoundParameters.ContainsKey(nameof(Last)) ? Last : (int?)null))
                WriteObject(record);
        }
    }
}
