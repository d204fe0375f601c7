using System;
using System.Collections.Concurrent;
using System.Management.Automation;
using System.Net;
using HerdPS.History;

namespace HerdPS.Commands
{
    /// <summary>
    /// The history parameters every cmdlet that records or reads the history spells the same way: -HistoryPath (a SQLite
    /// file, resolved against the PowerShell location), -HistoryConnection (a PostgreSQL server: a postgresql:// URL or
    /// Host=...;Database=...) and -HistoryCredential (its user and password, kept out of the connection text and so out of
    /// the command line and transcripts). What they mean is decided in the engine (<see cref="HerdPS.Inventory.HistoryLocationText.Location"/>).
    /// </summary>
    internal static class HistoryParameters
    {
        /// <summary>The history the parameters name (null: $HERD_HISTORY, the inventory's history:, the per-user file).</summary>
        public static string? Location(PSCmdlet cmdlet, string? historyPath, string? historyConnection)
            => HerdPS.Inventory.HistoryLocationText.Location(FilePath(cmdlet, historyPath), historyConnection);

        /// <summary>
        /// -HistoryPath resolved against the PowerShell location. A URL or connection string is left as it is, for the
        /// engine to refuse with the right advice (PowerShell would take 'postgresql:' for a drive).
        /// </summary>
        public static string? FilePath(PSCmdlet cmdlet, string? historyPath)
            => historyPath == null ? null : HistoryTarget.LooksLikeConnection(historyPath) ? historyPath : cmdlet.GetUnresolvedProviderPathFromPSPath(historyPath);

        public static NetworkCredential? Network(PSCredential? credential)
            => credential == null || credential == PSCredential.Empty ? null : credential.GetNetworkCredential();

        /// <summary>The history opened to look at it, with notices (a spool uploaded, a file's mode narrowed) as the cmdlet's warnings.</summary>
        public static HistoryStore OpenForReading(PSCmdlet cmdlet, string? historyPath, string? historyConnection, PSCredential? credential, string? inventoryPath = null)
        {
            var location = Location(cmdlet, historyPath, historyConnection);
            var inventory = inventoryPath is string i ? cmdlet.GetUnresolvedProviderPathFromPSPath(i) : null;
            return EngineNotices.WarnAbout(cmdlet, () => FleetHistory.OpenForReading(location, Network(credential), inventory));
        }
    }

    /// <summary>
    /// Notices a server history gives while a run records (it could not be reached; the run is kept in the local spool),
    /// from whatever thread records, written as warnings by the pipeline thread when it next can.
    /// </summary>
    internal sealed class HistoryNotices
    {
        private readonly ConcurrentQueue<string> _queue = new ConcurrentQueue<string>();

        public Action<string> Collect => _queue.Enqueue;

        public void WriteTo(Cmdlet cmdlet)
        {
            while (_queue.TryDequeue(out var message)) cmdlet.WriteWarning(message);
        }

        public void WriteTo(Job job)
        {
            while (_queue.TryDequeue(out var message)) job.Warning.Add(new WarningRecord(message));
        }
    }
}
