using System;
using System.CommandLine;
using System.IO;
using System.Text;
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
            Console.OutputEncoding = new UTF8Encoding(false);
            // The engine says when it had to use another private folder than the usual one, or narrow a history
            // file's mode: the user should know (someone else may have made that folder).
            HerdPS.Transport.PrivateDirectory.Notice += message => Console.Error.WriteLine("herd: warning: " + message);
            var root = BuildRoot();
            var parse = root.Parse(args);
            if (parse.Errors.Count > 0 && parse.Action is not System.CommandLine.Help.HelpAction)
            {
                foreach (var e in parse.Errors) Console.Error.WriteLine("herd: " + e.Message);
                Console.Error.WriteLine("Try 'herd --help'.");
                return ExitCodes.Usage;
            }
            return await parse.InvokeAsync();
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
            var target = FleetEngine.Resolve(request);
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
            var spill = HerdPS.Transport.OutputSpill.ForEnvironment(Environment.GetEnvironmentVariable);
            spill.OnFailure = message =>
            {
                if (System.Threading.Interlocked.Exchange(ref warned, 1) == 0) Console.Error.WriteLine("herd: warning: " + message);
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
            catch (SelectionException e) { return Fail(e.Message); }
            catch (HerdPS.History.HistoryException e) { return Fail(e.Message); }
            catch (HerdPS.Transport.PrivateDirectoryException e) { return Fail(e.Message); }
            catch (ArgumentException e) { return Fail(e.Message); }
            catch (OperationCanceledException) { return ExitCodes.Cancelled; }
        }

        private static int Fail(string message)
        {
            Console.Error.WriteLine("herd: " + message);
            return ExitCodes.Usage;
        }
    }
}
