using System;
using HerdPS.Execution;

namespace HerdPS.History
{
    /// <summary>
    /// The history database can't be used as it is: damaged, not a HerdPS history, written by a newer HerdPS,
    /// or held busy by another process for too long. The message names the file and says what to do, because
    /// the person reading it is usually looking at a scheduled task's log, not at this code.
    /// </summary>
    public class HistoryException : Exception, IFleetErrorSource
    {
        public HistoryException(string path, string message, Exception? inner = null)
            : base($"{path}: {message}", inner)
        {
            DatabasePath = path;
            Reason = message;
        }

        /// <summary>The history database the problem is about.</summary>
        public string DatabasePath { get; }

        /// <summary>The message without the file name prefix.</summary>
        public string Reason { get; }

        public FleetErrorInfo ToErrorInfo() =>
            new FleetErrorInfo(FleetErrorRecords.HistoryUnusable, "ResourceUnavailable", this, DatabasePath)
            { RecommendedAction = "See 'When the history can't be used' in docs/history.md; use -NoHistory to run without recording, or -HistoryPath for another file." };
    }

    /// <summary>
    /// A history server that can't be reached now (refused or timed-out connection, name not found, the server shutting
    /// down or out of connections), as opposed to one that refuses us (login, permissions, not a HerdPS database). A
    /// recording run keeps its record in the local spool instead; looking at the history fails.
    /// </summary>
    public sealed class HistoryServerUnreachableException : HistoryException
    {
        public HistoryServerUnreachableException(string location, string message, Exception? inner = null)
            : base(location, message, inner) { }
    }
}
