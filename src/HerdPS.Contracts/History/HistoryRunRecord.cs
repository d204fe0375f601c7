using System;

namespace HerdPS.History
{
    /// <summary>One recorded run as listed: what ran, on which selection, when, and how it went. No results.</summary>
    public sealed class HistoryRunRecord
    {
        public long Id { get; set; }
        /// <summary>
        /// The run's identity everywhere it is copied: the same in a local spool, on the history server and after
        /// <c>herd history migrate</c>, where <see cref="Id"/> is only this database's number for it.
        /// </summary>
        public Guid Uuid { get; set; }
        /// <summary>What recorded it: <c>exec</c>, <c>watch</c>, <c>script</c>, ...</summary>
        public string Kind { get; set; } = "";
        public string Command { get; set; } = "";
        /// <summary>The selection as the recording front end wrote it (groups, tags, hosts), compared verbatim.</summary>
        public string Selection { get; set; } = "";
        public DateTime StartedUtc { get; set; }
        /// <summary>Null while the run is still recording, or when its process died before completing it.</summary>
        public DateTime? FinishedUtc { get; set; }
        public bool IsComplete => FinishedUtc.HasValue;
        /// <summary>Results recorded so far (all of them once complete).</summary>
        public int HostCount { get; set; }
        public int SucceededCount { get; set; }
        /// <summary>Results that did not succeed: failed, unreachable, timed out or cancelled.</summary>
        public int FailedCount { get; set; }
        /// <summary>For a watch iteration: the id of the watch's first iteration's run, shared by all of them.</summary>
        public long? WatchId { get; set; }
        /// <summary>For a watch iteration: its number, from 1.</summary>
        public int? Iteration { get; set; }
        /// <summary>The machine that ran it (its host name); empty for runs recorded before HerdPS kept it.</summary>
        public string ControllerMachine { get; set; } = "";
        /// <summary>The operating-system user that ran it; empty for runs recorded before HerdPS kept it.</summary>
        public string ControllerUser { get; set; } = "";
        /// <summary><c>user@machine</c>: where the run came from, for a history several machines record into.</summary>
        public string Controller => ControllerUser.Length == 0 && ControllerMachine.Length == 0 ? "" : ControllerUser + "@" + ControllerMachine;

        public override string ToString() => $"{Id} {Kind} {Command} [{Selection}] {StartedUtc:u}";
    }
}
