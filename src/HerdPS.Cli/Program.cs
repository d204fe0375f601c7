using System;
using System.CommandLine;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using HerdPS.Execution;
using HerdPS.Inventory;
using HerdPS.Selection;

namespace HerdPS.Cli
{
    public static class Program
    {
        public static async Task<int> Main(string[] args)
        {
            // Signals first, before anything slow (the inventory can take a while to load): from here on a
            // Ctrl-C or SIGTERM is always heard.
            using var signals = Interrupts.Install();
            Console.OutputEncoding = new UTF8Encoding(false);
            var root = BuildRoot();
            var parse = root.Parse(args);
            if (parse.Errors.Count > 0 && parse.Action is not System.CommandLine.Help.HelpAction)
            {
                foreach (var e in parse.Errors) Console.Error.WriteLine("herd: " + e.Message);
                Console.Error.WriteLine("Try 'herd --help'.");
                return ExitCodes.Usage;
            }
            // System.CommandLine's own handling would register only once an action's synchronous part has
            // returned, and then force an exit after a timeout whatever the action was doing; ours is already in
            // place, and every action gets its token.
            var exit = await parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null }, Interrupts.Token);
            return exit == ExitCodes.Cancelled ? Interrupts.ExitCode : exit;
        }

        internal static RootCommand BuildRoot()
        {
            var o = new CliOptions();
            var root = new RootCommand("herd: run commands over SSH across fleets of hosts, with grouped output, history and drift detection.");
            root.Subcommands.Add(ExecCommand.Create(o));
            root.Subcommands.Add(ExecCommand.CreatePing(o));
            root.Subcommands.Add(InventoryCommands.CreateHosts(o));
            root.Subcommands.Add(InventoryCommands.CreateTags(o));
            root.Subcommands.Add(InventoryCommands.CreateDisconnect(o));
            root.Subcommands.Add(WatchCommand.Create(o));
            root.Subcommands.Add(HistoryCommands.Create(o));
            root.Subcommands.Add(FileCommands.CreateDiff(o));
            root.Subcommands.Add(FileCommands.CreatePush(o));
            root.Subcommands.Add(FileCommands.CreatePull(o));
            root.Subcommands.Add(FileCommands.CreateSnapshot(o));
            return root;
        }
    }

    /// <summary>Turns the engine's "you asked for something wrong" exceptions into exit code 2 with a clear message.</summary>
    internal static class Cli
    {
        /// <summary>
        /// Loads the inventory and selects hosts, then tells the user on stderr what they must know before
        /// anything runs: that the local machine stands in for a missing inventory, and, on every run that turns
        /// host key checking off, that it is off. Every command resolves its hosts through here.
        /// </summary>
        public static FleetTarget Resolve(FleetCommandRequest request)
        {
            // Loading runs beside the wait, so a Ctrl-C during a long load ends herd at once (nothing ran yet).
            var load = Task.Run(() => FleetEngine.Resolve(request));
            try
            {
                load.Wait(Interrupts.Token);
            }
            catch (AggregateException e) when (e.InnerException != null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            }
            var target = load.Result;
            if (target.Notice != null) Console.Error.WriteLine("herd: " + target.Notice);
            if (request.Insecure) Console.Error.WriteLine("herd: " + FleetCommandRequest.InsecureWarning);
            return target;
        }

        /// <summary>
        /// Where this process keeps large outputs (see <see cref="HerdPS.Transport.OutputSpill"/>): $HERD_SPILL_DIR,
        /// else herd-&lt;user&gt; in $TMPDIR. If a spill file can't be made, the output stays in memory and stderr
        /// says so, once per process.
        /// </summary>
        public static HerdPS.Transport.OutputSpill OutputSpill()
        {
            var warned = 0;
            return new HerdPS.Transport.OutputSpill(HerdPS.Transport.OutputSpill.DefaultDirectory(Environment.GetEnvironmentVariable))
            {
                OnFailure = message =>
                {
                    if (System.Threading.Interlocked.Exchange(ref warned, 1) == 0) Console.Error.WriteLine("herd: warning: " + message);
                },
            };
        }

        public static async Task<int> Guard(Func<Task<int>> action)
        {
            try
            {
                return await action();
            }
            catch (UsageException e) { return Fail(e.Message); }
            catch (InventoryException e) { return Fail(e.Message); }
            catch (SelectionException e) { return Fail(e.Message); }
            catch (HerdPS.History.HistoryException e) { return Fail(e.Message); }
            catch (ArgumentException e) { return Fail(e.Message); }
            catch (OperationCanceledException) { return ExitCodes.Cancelled; }
        }

        private static int Fail(string message)
        {
            Console.Error.WriteLine("herd: " + message);
            return ExitCodes.Usage;
        }
    }

    /// <summary>
    /// SIGINT (Ctrl-C) and SIGTERM for the whole process, installed before anything else runs. The first one
    /// cancels <see cref="Token"/>: a run ends its commands (each ssh child is in a process group of its own, so a
    /// terminal's Ctrl-C reaches herd alone and herd ends them through their sessions), reports the hosts it stopped
    /// as Cancelled and exits 130 (143 for SIGTERM). A second one exits at once.
    /// </summary>
    internal static class Interrupts
    {
        private static readonly CancellationTokenSource Source = new CancellationTokenSource();
        private static int _signal;

        public static CancellationToken Token => Source.Token;

        /// <summary>The exit code of an interrupted run: 130 after SIGINT, 143 after SIGTERM (128 + the signal).</summary>
        public static int ExitCode => Volatile.Read(ref _signal) == 15 ? 143 : ExitCodes.Cancelled;

        public static IDisposable Install()
        {
            var handlers = new System.Collections.Generic.List<IDisposable>();
            foreach (var (signal, number) in new[] { (PosixSignal.SIGINT, 2), (PosixSignal.SIGTERM, 15) })
            {
                handlers.Add(PosixSignalRegistration.Create(signal, context =>
                {
                    context.Cancel = true; // herd decides how it ends
                    if (Interlocked.CompareExchange(ref _signal, number, 0) != 0)
                    {
                        Console.Error.WriteLine("herd: interrupted again; exiting without waiting for the hosts");
                        Environment.Exit(128 + number);
                    }
                    Source.Cancel();
                }));
            }
            return new Registrations(handlers);
        }

        private sealed class Registrations : IDisposable
        {
            private readonly System.Collections.Generic.List<IDisposable> _handlers;
            public Registrations(System.Collections.Generic.List<IDisposable> handlers) { _handlers = handlers; }
            public void Dispose() { foreach (var h in _handlers) h.Dispose(); }
        }
    }
}
