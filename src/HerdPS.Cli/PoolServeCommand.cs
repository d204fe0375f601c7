using System;
using System.CommandLine;
using System.IO;
using System.Threading.Tasks;
using HerdPS.Transport;
using HerdPS.Transport.SshNet;

namespace HerdPS.Cli
{
    /// <summary>
    /// <c>herd pool-serve DIR IDLE-SECONDS</c> (hidden): the user's shared SSH.NET pool process, which herd starts by
    /// itself the first time a run uses sshnet and which ends after IDLE-SECONDS without a command (or on
    /// <c>herd disconnect</c>). See <see cref="SharedPoolServer"/> and README, "Choosing a transport".
    /// </summary>
    internal static class PoolServeCommand
    {
        public const string Name = "pool-serve";

        public static Command Create()
        {
            var directory = new Argument<string>("dir") { Description = "The private control folder whose sshnet.sock to serve." };
            var idle = new Argument<int>("idle-seconds") { Description = "Exit after this long without a command." };
            var c = new Command(Name, "Serve the shared SSH.NET pool (started by herd itself).") { Hidden = true };
            c.Arguments.Add(directory);
            c.Arguments.Add(idle);
            c.SetAction(async (p, ct) =>
            {
                // No terminal and no pipe of the herd run that started it: nothing here may prompt or hold a caller's output open.
                SharedPoolServer.DetachStandardStreams();
                Directory.SetCurrentDirectory("/");
                try
                {
                    return await SharedPoolServer.ServeAsync(p.GetValue(directory)!, TimeSpan.FromSeconds(Math.Max(1, p.GetValue(idle))), ct);
                }
                catch (Exception e) when (e is PrivateDirectoryException || e is IOException || e is System.Net.Sockets.SocketException || e is PlatformNotSupportedException)
                {
                    return ExitCodes.Usage;
                }
            });
            return c;
        }

        /// <summary>How the engine starts this command: this very executable (or dotnet and our dll).</summary>
        public static SharedPoolLauncher? Launcher()
        {
            if (OperatingSystem.IsWindows()) return null;
            var self = Environment.ProcessPath;
            if (string.IsNullOrEmpty(self)) return null;
            if (Path.GetFileNameWithoutExtension(self) == "dotnet")
            {
                // `dotnet herd.dll`: the dll beside us (the native herd is never started this way).
                var dll = Path.Combine(AppContext.BaseDirectory, typeof(PoolServeCommand).Assembly.GetName().Name + ".dll");
                return File.Exists(dll) ? new SharedPoolLauncher(self, new[] { dll, Name }) : null;
            }
            return new SharedPoolLauncher(self, new[] { Name });
        }
    }
}
