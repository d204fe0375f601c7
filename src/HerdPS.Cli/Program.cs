using System;
using System.CommandLine;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using HerdPS.Display;
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
            Cli.UseTerminalSafeConsole();
            // The engine says when it had to use another private folder than the usual one, or narrow a history
            // file's mode: the user should know (someone else may have made that folder).
            HerdPS.Transport.PrivateDirectory.Notice += Cli.Warning;
            // herd links the PostgreSQL backend: the engine takes its factory from here instead of loading it by name
            // (the native herd has no assembly to load; Npgsql itself still loads only when a server is asked for).
            HerdPS.History.ServerHistory.UseLinkedFactory(static () => new HerdPS.History.PostgreSql.PostgresHistoryFactory());
            var root = BuildRoot();
            // No response files: "@name" is an ordinary word here (a user, a mail alias in a command), never a file
            // whose contents become options.
            var parse = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
            if (parse.Action is not System.CommandLine.Help.HelpAction)
            {
                // A word that looks like an option and is none of this command's says more than any other error: it
                // is usually a typo, and the errors that follow from it (a missing argument) only confuse.
                var errors = UnknownOptions.Find(parse);
                if (errors.Count == 0) errors = parse.Errors.Select(e => e.Message).ToList();
                if (errors.Count > 0)
                {
                    foreach (var e in errors) Cli.Error(e);
                    Console.Error.WriteLine($"Try '{CommandPath(parse.CommandResult)} --help'.");
                    return ExitCodes.Usage;
                }
            }
            // System.CommandLine's own handling would register only once an action's synchronous part has
            // returned, and then force an exit after a timeout whatever the action was doing; ours is already in
            // place, and every action gets its token.
            var exit = await parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null }, Interrupts.Token);
            return exit == ExitCodes.Cancelled ? Interrupts.ExitCode : exit;
        }

        private static string CommandPath(System.CommandLine.Parsing.CommandResult command)
        {
            var names = new System.Collections.Generic.List<string>();
            for (System.CommandLine.Parsing.SymbolResult? r = command; r != null; r = r.Parent)
                if (r is System.CommandLine.Parsing.CommandResult c && c.Parent != null) names.Insert(0, c.Command.Name);
            names.Insert(0, "herd");
            return string.Join(" ", names);
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
            root.Subcommands.Add(TailCommand.Create(o));
            root.Subcommands.Add(NotifyCommand.Create(o));
            root.Subcommands.Add(HistoryCommands.Create(o));
            root.Subcommands.Add(FileCommands.CreateDiff(o));
            root.Subcommands.Add(FileCommands.CreatePush(o));
            root.Subcommands.Add(FileCommands.CreatePull(o));
            root.Subcommands.Add(FileCommands.CreateSnapshot(o));
            root.Subcommands.Add(ScriptCommands.CreateRun(o));
            root.Subcommands.Add(ScriptCommands.CreateScripts(o));
            root.Subcommands.Add(PoolServeCommand.Create());
            return root;
        }
    }

    /// <summary>Turns the engine's "you asked for something wrong" exceptions into exit code 2 with a clear message.</summary>
    internal static class Cli
    {
        /// <summary>A message longer than this (a hostile name or value echoed back) is cut, with its length said.</summary>
        public const int MaxMessageLength = 2000;

        /// <summary>stderr without the escaping writer: only the progress line writes to it (its '\r' is layout).</summary>
        public static TextWriter RawError { get; private set; } = Console.Error;

        /// <summary>The stdout byte stream, for NDJSON written as UTF-8 without a TextWriter in between.</summary>
        public static Stream StandardOutput { get; private set; } = Stream.Null;

        /// <summary>
        /// Puts <see cref="TerminalSafeWriter"/> in front of stdout and stderr, once, before anything is written.
        /// On Unix the writers sit on file descriptors 1 and 2 directly, not on .NET's console streams: their first
        /// write initializes the terminal, and .NET then sends it keypad_xmit (ESC [ ? 1 h ESC =, application cursor
        /// keys) and never undoes it (dotnet/runtime#25735, dotnet/corefx#32805). herd reads no keys, so it has no
        /// reason to switch a user's terminal into another mode.
        /// </summary>
        public static void UseTerminalSafeConsole()
        {
            StandardOutput = Standard(1, Console.OpenStandardOutput);
            var stdout = new StreamWriter(StandardOutput, new UTF8Encoding(false), 4096, leaveOpen: true) { AutoFlush = true };
            var stderr = new StreamWriter(Standard(2, Console.OpenStandardError), new UTF8Encoding(false), 1024, leaveOpen: true) { AutoFlush = true };
            RawError = TextWriter.Synchronized(stderr);
            Console.SetOut(new TerminalSafeWriter(stdout));
            Console.SetError(new TerminalSafeWriter(RawError));
        }

        private static Stream Standard(int descriptor, Func<Stream> console)
        {
            if (OperatingSystem.IsWindows()) return console();
            try
            {
                return new DescriptorStream(descriptor);
            }
            catch (Exception e) when (e is IOException || e is ArgumentException || e is UnauthorizedAccessException || e is NotSupportedException)
            {
                return console(); // a closed or odd descriptor: the console stream copes (and drops writes) as before
            }
        }

        /// <summary>"herd: message" on stderr, on one line, escaped for the terminal and cut if huge.</summary>
        public static void Error(string message) => Console.Error.WriteLine("herd: " + TerminalText.Line(message, MaxMessageLength));

        /// <summary>"herd: warning: message" on stderr.</summary>
        public static void Warning(string message) => Error("warning: " + message);

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
            if (target.Notice != null) Error(target.Notice);
            if (request.Insecure) Error(FleetCommandRequest.InsecureWarning);
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
            var spill = HerdPS.Transport.OutputSpill.ForEnvironment(Environment.GetEnvironmentVariable);
            spill.OnFailure = message =>
            {
                if (System.Threading.Interlocked.Exchange(ref warned, 1) == 0) Warning(message);
            };
            return spill;
        }

        public static async Task<int> Guard(Func<Task<int>> action)
        {
            try
            {
                return await action();
            }
            catch (UsageException e) { return Fail(e.Message); }
            catch (InventoryException e) { return Fail(e.Message); }
            catch (HerdPS.Scripting.ScriptException e) { return Fail(e.Message); }
            catch (SelectionException e) { return Fail(e.Message); }
            catch (HerdPS.History.HistoryException e) { return Fail(e.Message); }
            catch (HerdPS.Transport.PrivateDirectoryException e) { return Fail(e.Message); }
            catch (ArgumentException e) { return Fail(e.Message); }
            catch (OperationCanceledException) { return ExitCodes.Cancelled; }
        }

        private static int Fail(string message)
        {
            Error(message);
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
