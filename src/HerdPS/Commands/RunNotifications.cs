using System;
using System.Collections;
using System.Collections.Concurrent;
using System.Management.Automation;
using System.Security;
using HerdPS.Execution;
using HerdPS.Notify;

namespace HerdPS.Commands
{
    /// <summary>
    /// -Notify for Invoke-FleetCommand and Watch-Fleet: the engine's notifier for the run, with -NotifySecret's
    /// SecureStrings (a PSCredential gives its password), and its reports queued until the pipeline thread writes
    /// them: a failed or dropped delivery as a warning, the rest with -Verbose. Every message is scrubbed of secrets
    /// by the engine before it gets here.
    /// </summary>
    internal sealed class RunNotifications : IDisposable
    {
        private readonly ConcurrentQueue<NotifyReport> _reports;

        private RunNotifications(FleetNotifier notifier, ConcurrentQueue<NotifyReport> reports)
        {
            Notifier = notifier;
            _reports = reports;
        }

        public FleetNotifier Notifier { get; }

        /// <summary>Null without -Notify; an unknown name, a bad template or an unset ${VAR} throws before any host runs.</summary>
        public static RunNotifications? Start(FleetTarget target, FleetCommandRequest request, string command,
            string[]? names, bool onResolve, Hashtable? secrets)
        {
            var given = NotificationSecrets.FromParameter(Unwrap(secrets));
            // Reports come from the notifier's threads: they wait in this queue for the pipeline thread.
            var queue = new ConcurrentQueue<NotifyReport>();
            var notifier = FleetNotifier.ForRun(target, request, names, onResolve, command, new NotificationSecrets(null, given), queue.Enqueue);
            return notifier == null ? null : new RunNotifications(notifier, queue);
        }

        /// <summary>Writes what happened so far, on the pipeline thread.</summary>
        public void WriteReports(Cmdlet cmdlet) => Drain(cmdlet.WriteWarning, cmdlet.WriteVerbose);

        /// <summary>Hands each report so far to <paramref name="warning"/> (failed, dropped) or <paramref name="verbose"/> (sent, held).</summary>
        public void Drain(Action<string> warning, Action<string> verbose)
        {
            while (_reports.TryDequeue(out var report))
            {
                if (report.IsProblem) warning(report.Message);
                else verbose(report.Message);
            }
        }

        /// <summary>The run is over: what cooldowns held goes out, and what is on its way is waited for (a few seconds after Ctrl-C).</summary>
        public void Finish(bool stopped)
        {
            var wait = stopped ? TimeSpan.FromSeconds(5) : Notifier.FinishWait;
            Notifier.FinishAsync(wait).GetAwaiter().GetResult();
        }

        public void Dispose() => Notifier.Dispose();

        /// <summary>-NotifySecret's values as the engine takes them: SecureStrings, a PSCredential's password, nothing else.</summary>
        private static IDictionary? Unwrap(Hashtable? secrets)
        {
            if (secrets == null) return null;
            var unwrapped = new Hashtable();
            foreach (DictionaryEntry entry in secrets)
            {
                var value = entry.Value is PSObject ps ? ps.BaseObject : entry.Value;
                unwrapped[entry.Key is PSObject k ? k.BaseObject : entry.Key] = value is PSCredential credential ? credential.Password : value as SecureString ?? value;
            }
            return unwrapped;
        }
    }
}
