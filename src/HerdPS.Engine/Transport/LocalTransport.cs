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
    /// </summary>
    public sealed class LocalTransport : IFleetTransport
    {
        public async Task<TransportOutcome> ExecuteAsync(FleetHost host, RemoteInvocation invocation, CancellationToken cancellationToken)
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
                args = new[] { "-c", invocation.Command };
            }
            var settings = new ChildProcessSettings
            {
                OutputLimit = invocation.OutputLimit,
                Timeout = invocation.Timeout,
                StdinBytes = invocation.Stdin,
                StdinSource = invocation.StdinSource,
                OnStdOut = invocation.OnStdOut,
                Spill = invocation.Spill,
            };
            using var run = await ChildProcess.RunAsync(file, args, settings, cancellationToken).ConfigureAwait(false);
            return TransportOutcome.FromChildProcess(run, invocation.Timeout, "", null);
        }
    }
}
