using System;
using System.CommandLine;
using System.Threading;
using System.Threading.Tasks;
using HerdPS.Execution;
using HerdPS.Notify;

namespace HerdPS.Cli
{
    /// <summary><c>herd notify test NAME</c>: send a sample event to a notification of the inventory, now.</summary>
    internal static class NotifyCommand
    {
        public static Command Create(CliOptions o)
        {
            var name = new Argument<string>("name") { Description = "The notification, as named in the inventory's notifications: list." };
            var show = new Option<bool>("--show") { Description = "Print the body that is sent (its secrets are in headers and URLs, never in it).", Arity = ArgumentArity.Zero };
            var test = new Command("test", "Send a sample failure event to a notification now, with its retries and timeout, and say how it went (exit 0 delivered, 1 not).");
            test.Arguments.Add(name);
            test.Options.Add(o.Inventory);
            test.Options.Add(show);
            test.SetAction((p, ct) => Cli.Guard(() => TestAsync(new FleetCommandRequest { InventoryPath = p.GetValue(o.Inventory) }, p.GetValue(name)!, p.GetValue(show), ct)));
            var c = new Command("notify", "Notifications of the inventory (docs/notifications.md).");
            c.Subcommands.Add(test);
            return c;
        }

        private static async Task<int> TestAsync(FleetCommandRequest request, string name, bool show, CancellationToken ct)
        {
            var inventory = HerdPS.Inventory.InventoryLoader.LoadOrDefault(request.InventoryPath, Environment.GetEnvironmentVariable, out _);
            var secrets = new NotificationSecrets();
            var target = FleetNotifier.Find(inventory, name, secrets);
            var sample = NotificationSamples.Test(name);
            if (show) Console.Out.WriteLine(target.RenderBody(sample));
            var options = new NotifyOptions { Secrets = secrets, Command = sample.Command, Selection = sample.Selection };
            Cli.Error($"sending a sample event to notification '{name}' ({target.Describe()}, {1 + target.Retries} attempt(s), {NotificationTarget.Seconds(target.Timeout)} each)");
            var outcome = await FleetNotifier.TestAsync(target, sample, options, ct);
            if (outcome.Delivered)
            {
                Cli.Error($"delivered ({outcome.Message})");
                return ExitCodes.AllSucceeded;
            }
            if (ct.IsCancellationRequested) return ExitCodes.Cancelled;
            Cli.Error($"not delivered: {outcome.Message}");
            return ExitCodes.SomeFailed;
        }
    }
}
