// Usage: Warm --hosts FILE --ssh-config CFG [--transport sshnet] [--throttle 32] [--repeats 5] [--command true]
// Prints one JSON line per run: {"run":i,"wall_s":..,"cpu_s":..,"ok":..,"hosts":..}, then the key exchanges.
using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using HerdPS.Execution;
using HerdPS.Transport.SshNet;

var a = args.ToList();
string Arg(string name, string dflt) { var i = a.IndexOf(name); return i >= 0 ? a[i + 1] : dflt; }
var hosts = File.ReadAllLines(Arg("--hosts", "hosts.txt")).Where(l => l.Length > 0).ToList();
var request = new FleetCommandRequest
{
    SshConfigPath = Arg("--ssh-config", ""),
    Transport = Arg("--transport", "sshnet"),
    Throttle = int.Parse(Arg("--throttle", "32")),
    NoHistory = true,
    Raw = a.Contains("--raw"),   // without the remote wrapper: what the wrapper costs
};
request.Selection.Hosts.AddRange(hosts);
var repeats = int.Parse(Arg("--repeats", "5"));
var command = Arg("--command", "true");
var target = FleetEngine.Resolve(request);
var runner = FleetEngine.CreateRunner(request);
var proc = Process.GetCurrentProcess();
if (a.Contains("--resolve-first"))
{
    // How long reading every host's settings (ssh -G) takes on its own.
    var transport = new SshNetTransport(request.ToSshOptions());
    var sw0 = Stopwatch.StartNew();
    await Task.WhenAll(target.Hosts.Select(h => transport.ResolveAsync(h, default)));
    Console.WriteLine($"{{\"resolve_s\":{sw0.Elapsed.TotalSeconds:0.000}}}");
}
for (var i = 0; i < repeats; i++)
{
    proc.Refresh();
    var cpu0 = proc.TotalProcessorTime;
    var sw = Stopwatch.StartNew();
    var run = runner.Start(target.Hosts, command, request.ToRunOptions(target.Inventory.Defaults));
    int ok = 0, total = 0;
    string? firstError = null;
    await foreach (var r in run.ReadAllAsync()) { total++; if (r.Succeeded) ok++; else firstError ??= r.HostName + ": " + r.ErrorMessage; }
    sw.Stop();
    proc.Refresh();
    Console.WriteLine($"{{\"run\":{i},\"wall_s\":{sw.Elapsed.TotalSeconds:0.000},\"cpu_s\":{(proc.TotalProcessorTime - cpu0).TotalSeconds:0.000},\"ok\":{ok},\"hosts\":{total}}}");
    if (firstError != null) Console.Error.WriteLine(firstError);
}
Console.WriteLine("{\"kex\":{" + string.Join(",", SshNetPool.Shared.KeyExchanges().Select(k => $"\"{k.Key}\":{k.Value}")) + "}}");
SshNetPool.Shared.DisconnectAll();
