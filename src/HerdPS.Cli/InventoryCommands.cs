using System;
using System.CommandLine;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using HerdPS.Display;
using HerdPS.Execution;
using HerdPS.Selection;

namespace HerdPS.Cli
{
    /// <summary><c>herd hosts</c>, <c>herd tags</c>, <c>herd disconnect</c>: looking at the inventory and the pool.</summary>
    internal static class InventoryCommands
    {
        public static Command CreateHosts(CliOptions o)
        {
            var json = new Option<bool>("--json") { Description = "One JSON object per host.", Arity = ArgumentArity.Zero };
            var c = new Command("hosts", "List the selected hosts with their groups, tags and address.");
            o.AddSelection(c);
            c.Options.Add(json);
            c.SetAction((p, ct) => Cli.Guard(() =>
            {
                var target = Cli.Resolve(o.ToRequest(p));
                if (p.GetValue(json))
                {
                    foreach (var h in target.Hosts)
                        Console.Out.WriteLine(JsonSerializer.Serialize(
                            new HostLine(h.Name, h.Address, h.Port, h.User, h.Transport.ToString(), h.Groups, h.Tags), CliJson.Default.HostLine));
                }
                else
                {
                    var rows = target.Hosts.Select(h => new[]
                    {
                        h.Name, h.Address ?? "", h.Transport.ToString().ToLowerInvariant(), string.Join(",", h.Groups), string.Join(",", h.Tags),
                    });
                    TextTable.Write(Console.Out, new[] { "HOST", "ADDRESS", "TRANSPORT", "GROUPS", "TAGS" }, rows);
                }
                return Task.FromResult(ExitCodes.AllSucceeded);
            }));
            return c;
        }

        public static Command CreateTags(CliOptions o)
        {
            var json = new Option<bool>("--json") { Description = "One JSON object per tag.", Arity = ArgumentArity.Zero };
            var c = new Command("tags", "List every tag with the number of hosts carrying it.");
            o.AddSelection(c);
            c.Options.Add(json);
            c.SetAction((p, ct) => Cli.Guard(() =>
            {
                var target = Cli.Resolve(o.ToRequest(p));
                // Tags of the selected hosts only, so 'herd tags -g web' answers for the web group.
                var selected = new HerdPS.Inventory.FleetInventory(target.Hosts, target.Inventory.GroupNames, target.Inventory.Defaults, target.Inventory.SourcePath);
                var tags = InventoryQueries.Tags(selected);
                if (p.GetValue(json))
                    foreach (var t in tags) Console.Out.WriteLine(JsonSerializer.Serialize(new TagLine(t.Tag, t.HostCount, t.HostNames), CliJson.Default.TagLine));
                else
                    TextTable.Write(Console.Out, new[] { "TAG", "HOSTS", "NAMES" },
                        tags.Select(t => new[] { t.Tag, t.HostCount.ToString(), HostListText.Fold(t.HostNames) }));
                return Task.FromResult(ExitCodes.AllSucceeded);
            }));
            return c;
        }

        public static Command CreateDisconnect(CliOptions o)
        {
            var c = new Command("disconnect", "Close every pooled SSH connection (ControlMaster) of this user.");
            c.SetAction((p, ct) => Cli.Guard(async () =>
            {
                var closed = await FleetEngine.DisconnectAsync(new FleetCommandRequest(), ct);
                Cli.Error($"closed {closed} pooled connection{(closed == 1 ? "" : "s")}");
                return ExitCodes.AllSucceeded;
            }));
            return c;
        }
    }

    /// <summary>Left-aligned columns, as ls -l and kubectl print them; every cell escaped for the terminal.</summary>
    internal static class TextTable
    {
        public static void Write(System.IO.TextWriter w, string[] header, System.Collections.Generic.IEnumerable<string[]> rows)
        {
            var all = new[] { header }.Concat(rows.Select(r => r.Select(cell => TerminalText.Line(cell)).ToArray())).ToList();
            var widths = header.Select((_, i) => all.Max(r => r[i].Length)).ToArray();
            foreach (var r in all)
                w.WriteLine(string.Join("  ", r.Select((cell, i) => i == r.Length - 1 ? cell : cell.PadRight(widths[i]))).TrimEnd());
        }
    }
}
