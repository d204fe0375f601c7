using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using HerdPS.Inventory;

namespace HerdPS.Transport
{
    /// <summary>
    /// Runs a command on this machine, without SSH, under the same result contract: <c>/bin/sh -c</c> on Unix,
    /// <c>cmd.exe /d /s /c</c> on Windows. It is the embedded default inventory and <c>transport: local</c>.
    /// A stop sends TERM to the command's process group and, after the grace period, KILL.
    /// </summary>
    public sealed class LocalTransport : IFleetTransport
    {
        public string Kind => TransportKinds.Local;

        public async Task<TransportOutcome> ExecuteAsync(FleetHost host, RemoteInvocation invocation, CancellationToken stop)
        {
            string file;
            IReadOnlyList<string> args;
            if (PrivateDirectory.IsWindows)
            {
                file = Environment.GetEnvironmentVariable("ComSpec") ?? "cmd.exe";
                args = new[] { "/d", "/s", "/c", invocation.Command };
            }
            else
            {
                file = "/bin/sh";
                // "--": a command that starts with "-" is the command, not options of sh.
                args = new[] { "-c", "--", invocation.Command };
            }
            var settings = new ChildProcessSettings
            {
                OutputLimit = invocation.OutputLimit,
                // No wrapper here: the line is the whole stdin, and a stop ends the process group itself.
                StdinBytes = invocation.Stdin ?? invocation.CommandInputLine,
                StdinSource = invocation.StdinSource,
                OnStdOut = invocation.OnStdOut,
                Spill = invocation.Spill,
                OnStop = ChildStop.Terminate,
                StopGrace = invocation.StopGrace,
            };
            using var run = await ChildProcess.RunAsync(file, args, settings, stop).ConfigureAwait(false);
            var outcome = new TransportOutcome();
            if (run.StoppedBeforeStart) outcome.End = AttemptEnd.NeverStarted;
            else if (run.StartError != null)
            {
                outcome.End = AttemptEnd.NeverStarted;
                outcome.ErrorKind = FleetErrorKind.TransportError;
                outcome.ErrorMessage = run.StartError;
            }
            else if (run.Stopped)
            {
                outcome.End = AttemptEnd.EndedByUs;
                outcome.EndedWith = run.KilledWith;
                outcome.ExitCode = run.ExitCode;
            }
            else
            {
                outcome.End = AttemptEnd.Exited;
                outcome.ExitCode = run.ExitCode;
            }
            outcome.TakeOutput(run);
            return outcome;
        }
    }
}
