using System;
using System.Collections.Generic;
using System.Management.Automation;
using HerdPS.Transport;

namespace HerdPS.Commands
{
    /// <summary>
    /// What the engine tells the user on the side while it sets up (it used a fresh private folder because the usual
    /// one was not safe, it narrowed a history file's mode), turned into warnings of the cmdlet that caused it. The
    /// engine's event is process-wide; only notices raised on the calling thread, while <paramref name="action"/>
    /// runs, are this cmdlet's (another runspace may be setting up at the same time).
    /// </summary>
    internal static class EngineNotices
    {
        public static T WarnAbout<T>(Cmdlet cmdlet, Func<T> action)
        {
            var thread = Environment.CurrentManagedThreadId;
            var notices = new List<string>();
            Action<string> collect = message =>
            {
                if (Environment.CurrentManagedThreadId != thread) return;
                lock (notices) notices.Add(message);
            };
            PrivateDirectory.Notice += collect;
            try { return action(); }
            finally
            {
                PrivateDirectory.Notice -= collect;
                foreach (var notice in notices) cmdlet.WriteWarning(notice);
            }
        }
    }
}
