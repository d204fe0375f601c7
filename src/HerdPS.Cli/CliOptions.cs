using System;
using System.CommandLine;
using HerdPS.Execution;
using HerdPS.Inventory;

namespace HerdPS.Cli
{
    /// <summary>
    /// The options shared by every command that selects hosts and connects to them, defined once so each
    /// subcommand spells them the same way, and mapped once onto a <see cref="FleetCommandRequest"/>.
    /// </summary>
    internal sealed class CliOptions
    {
        public readonly Option<string?> Inventory = new("--inventory", "-i") { Description = "Inventory file (YAML or a host list). Default: $HERD_INVENTORY, then the per-user config folder, then the local machine." };
        public readonly Option<string[]> Group = new("--group", "-g") { Description = "Select hosts of this group (repeatable: union).", AllowMultipleArgumentsPerToken = false };
        public readonly Option<string[]> Tag = new("--tag", "-t") { Description = "Select hosts by tags: 'prod,debian12' = AND, '!staging' = NOT; repeat for OR.", AllowMultipleArgumentsPerToken = false };
        public readonly Option<string[]> Host = new("--host", "-H") { Description = "Host names, globs or pdsh ranges such as n[0001-0100] (repeatable, or comma-separated). A name not in the inventory is used as given ([user@]host[:port]).", AllowMultipleArgumentsPerToken = false };
        public readonly Option<string[]> Exclude = new("--exclude", "-x") { Description = "Leave out hosts matching these names, globs or ranges, e.g. web[02-09] (repeatable, or comma-separated).", AllowMultipleArgumentsPerToken = false };
        public readonly Option<string?> SshConfig = new("--ssh-config", "-F") { Description = "ssh_config file to use instead of the user's (ssh -F)." };
        public readonly Option<string?> User = new("--user", "-u") { Description = "Remote user for every host (overrides inventory and ssh_config)." };
        public readonly Option<string?> Identity = new("--identity", "-k") { Description = "Private key file for every host (ssh -i)." };
        public readonly Option<int?> Throttle = new("--throttle", "-T") { Description = "Hosts run at once (default 32, or the inventory's)." };
        public readonly Option<string?> Timeout = new("--timeout") { Description = "Per-host limit for the whole attempt, e.g. 30s, 5m; the remote command is ended." };
        public readonly Option<string?> ConnectTimeout = new("--connect-timeout") { Description = "Limit for connecting (TCP, banner, key exchange). Default 10s." };
        public readonly Option<int?> Retries = new("--retries", "-r") { Description = "Extra attempts after a connection failure (exponential backoff with jitter)." };
        public readonly Option<string?> RetryDelay = new("--retry-delay") { Description = "First retry delay (default 1s), doubled each attempt." };
        public readonly Option<bool> RetryFailed = new("--retry-failed") { Description = "Also retry hosts where the command ran and exited non-zero.", Arity = ArgumentArity.Zero };
        public readonly Option<bool> FailFast = new("--fail-fast") { Description = "Start no new hosts after the first host that does not succeed.", Arity = ArgumentArity.Zero };
        public readonly Option<bool> AcceptNew = new("--accept-new-host-keys") { Description = "Learn host keys of hosts never seen (changed keys are still refused).", Arity = ArgumentArity.Zero };
        public readonly Option<bool> Insecure = new("--insecure") { Description = "Do not check host keys at all. Warned about on every run.", Arity = ArgumentArity.Zero };
        public readonly Option<string?> MaxOutput = new("--max-output") { Description = "Cap on kept stdout and stderr per host, e.g. 10MiB (default), 512KiB." };
        public readonly Option<bool> NoMultiplex = new("--no-multiplex") { Description = "Don't reuse pooled ControlMaster connections.", Arity = ArgumentArity.Zero };
        public readonly Option<string?> ControlPersist = new("--control-persist") { Description = "How long idle pooled connections stay up (default 10m)." };
        public readonly Option<string?> Transport = new("--transport") { Description = "How hosts are reached: openssh (default), auto (SSH.NET in-process where it can serve the host as ssh would, else OpenSSH), sshnet, local." };
        public readonly Option<string?> KeyPassphraseFile = new("--key-passphrase-file") { Description = "File whose first line unlocks encrypted key files (sshnet; default: $HERD_KEY_PASSPHRASE). Never on the command line." };
        public readonly Option<string?> PasswordFile = new("--password-file") { Description = "File whose first line is the login password (sshnet: password and keyboard-interactive; default: $HERD_PASSWORD). Never on the command line." };
        public readonly Option<bool> Raw = new("--raw") { Description = "Send the command verbatim, without the POSIX wrapper that ends it on timeout (for hosts without /bin/sh).", Arity = ArgumentArity.Zero };

        public readonly Option<string?> History = new("--history") { Description = "History: a SQLite file, or a PostgreSQL server (postgresql://user@host/db?sslmode=verify-full, or Host=...;Database=...). Default: $HERD_HISTORY, then the inventory's history:, then the per-user data folder (see docs/history.md)." };
        public readonly Option<bool> NoHistory = new("--no-history") { Description = "Don't record this run in the history.", Arity = ArgumentArity.Zero };

        public readonly Option<string[]> Notify = new("--notify") { Description = "Send this run's events (failures, timeouts, changes, recoveries, as its on: says) to this notification of the inventory (repeatable, or comma-separated). See docs/notifications.md.", AllowMultipleArgumentsPerToken = false };
        public readonly Option<bool> NotifyOnResolve = new("--notify-on-resolve") { Description = "Also tell the notifications when a host they were told failed recovers (a resolve event).", Arity = ArgumentArity.Zero };

        /// <summary>--notify and --notify-on-resolve, for commands whose runs can be told about (exec, watch).</summary>
        public void AddNotify(Command c)
        {
            c.Options.Add(Notify);
            c.Options.Add(NotifyOnResolve);
        }

        /// <summary>
        /// The run's notifier (null without --notify), reporting on stderr: a delivery that failed or was dropped as a
        /// warning, one held by a cooldown or sent as a note. A bad name or template, or an unset ${VAR}, is exit 2 here.
        /// </summary>
        public HerdPS.Notify.FleetNotifier? Notifier(ParseResult p, FleetTarget target, FleetCommandRequest request, string command) =>
            HerdPS.Notify.FleetNotifier.ForRun(target, request, p.GetValue(Notify), p.GetValue(NotifyOnResolve), command, null, report =>
            {
                if (report.IsProblem) Cli.Warning(report.Message);
                else Cli.Error(report.Message);
            });

        /// <summary>--history and --no-history, for commands that record runs.</summary>
        public void AddHistory(Command c)
        {
            c.Options.Add(History);
            c.Options.Add(NoHistory);
        }

        public void AddSelection(Command c)
        {
            c.Options.Add(Inventory);
            c.Options.Add(Group);
            c.Options.Add(Tag);
            c.Options.Add(Host);
            c.Options.Add(Exclude);
        }

        public void AddConnection(Command c)
        {
            foreach (var o in new Option[] { SshConfig, User, Identity, Transport, KeyPassphraseFile, PasswordFile, Throttle, Timeout, ConnectTimeout, Retries, RetryDelay, RetryFailed, FailFast, AcceptNew, Insecure, MaxOutput, NoMultiplex, ControlPersist, Raw })
                c.Options.Add(o);
        }

        /// <summary>
        /// The options of a command that logs in and stays (herd tail): how to reach hosts, without the ones about
        /// one command's run (timeout, retries, fail-fast, output cap, raw), which mean nothing to a follower.
        /// </summary>
        public void AddLogin(Command c)
        {
            foreach (var o in new Option[] { SshConfig, User, Identity, Throttle, ConnectTimeout, AcceptNew, Insecure, NoMultiplex, ControlPersist })
                c.Options.Add(o);
        }

        /// <summary>Reads the flags into a request; a malformed value throws <see cref="UsageException"/>.</summary>
        public FleetCommandRequest ToRequest(ParseResult p)
        {
            var request = new FleetCommandRequest
            {
                InventoryPath = p.GetValue(Inventory),
                SshConfigPath = p.GetValue(SshConfig),
                User = p.GetValue(User),
                IdentityFile = p.GetValue(Identity),
                Throttle = p.GetValue(Throttle),
                Timeout = DurationOf(p.GetValue(Timeout), "--timeout"),
                ConnectTimeout = DurationOf(p.GetValue(ConnectTimeout), "--connect-timeout"),
                Retries = p.GetValue(Retries),
                RetryDelay = DurationOf(p.GetValue(RetryDelay), "--retry-delay"),
                RetryOnFailure = p.GetValue(RetryFailed),
                FailFast = p.GetValue(FailFast),
                AcceptNewHostKeys = p.GetValue(AcceptNew),
                Insecure = p.GetValue(Insecure),
                MaxOutputBytes = SizeOf(p.GetValue(MaxOutput), "--max-output"),
                NoMultiplex = p.GetValue(NoMultiplex),
                ControlPersist = DurationOf(p.GetValue(ControlPersist), "--control-persist"),
                Raw = p.GetValue(Raw),
                HistoryPath = p.GetValue(History),
                NoHistory = p.GetValue(NoHistory),
            };
            request.Transport = TransportOf(p.GetValue(Transport));
            request.SharedPool = PoolServeCommand.Launcher();
            Func<string, string?> secrets = Environment.GetEnvironmentVariable;
            request.KeyPassphrase = CliSecrets.Read(p.GetValue(KeyPassphraseFile), "--key-passphrase-file", CliSecrets.KeyPassphraseVariable, secrets);
            if (CliSecrets.Read(p.GetValue(PasswordFile), "--password-file", CliSecrets.PasswordVariable, secrets) is System.Security.SecureString password)
                request.Credential = new System.Net.NetworkCredential(request.User ?? "", password);
            if (request.Throttle is int t && t < 1) throw new UsageException("--throttle must be at least 1");
            if (request.Retries is int r && r < 0) throw new UsageException("--retries can't be negative");
            if (request.AcceptNewHostKeys && request.Insecure) throw new UsageException("--accept-new-host-keys and --insecure contradict each other; choose one");
            request.Validate("--user");
            AddSplit(request.Selection.Groups, p.GetValue(Group));
            request.Selection.Tags.AddRange(p.GetValue(Tag) ?? Array.Empty<string>()); // commas inside a tag clause mean AND
            AddSplit(request.Selection.Hosts, p.GetValue(Host));
            AddSplit(request.Selection.Excludes, p.GetValue(Exclude));
            return request;
        }

        /// <summary>
        /// Comma-separated values, each trimmed. Commas inside brackets belong to a pdsh range (<c>web[01-03,07]</c>)
        /// and don't split.
        /// </summary>
        private static void AddSplit(System.Collections.Generic.List<string> into, string[]? values)
        {
            if (values == null) return;
            foreach (var v in values)
                foreach (var part in HerdPS.Selection.HostPattern.SplitList(v))
                    if (part.Trim().Length > 0) into.Add(part.Trim());
                    else throw new UsageException($"empty name in {HerdPS.Display.TerminalText.Quote(v)}");
        }

        internal static string? TransportOf(string? text)
        {
            if (text == null) return null;
            switch (text.Trim().ToLowerInvariant())
            {
                case "auto": return "auto";
                case "openssh": return "openssh";
                case "sshnet": return "sshnet";
                case "local": return "local";
                case "ssh": return null;
                default: throw new UsageException($"--transport: {HerdPS.Display.TerminalText.Quote(text)} is not a transport; choose auto, openssh, sshnet or local");
            }
        }

        internal static TimeSpan? DurationOf(string? text, string flag)
        {
            if (text == null) return null;
            try { return Duration.Parse(text); }
            catch (FormatException e) { throw new UsageException($"{flag}: {e.Message}"); }
        }

        internal static long? SizeOf(string? text, string flag)
        {
            if (text == null) return null;
            var s = text.Trim();
            long unit = 1;
            foreach (var (suffix, mult) in new (string, long)[] { ("KiB", 1024), ("MiB", 1024 * 1024), ("GiB", 1024L * 1024 * 1024), ("K", 1024), ("M", 1024 * 1024), ("G", 1024L * 1024 * 1024), ("B", 1) })
            {
                if (s.EndsWith(suffix, StringComparison.OrdinalIgnoreCase)) { unit = mult; s = s.Substring(0, s.Length - suffix.Length); break; }
            }
            if (!long.TryParse(s, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n))
                throw new UsageException($"{flag}: {HerdPS.Display.TerminalText.Quote(text)} is not a size (e.g. 512KiB, 10MiB)");
            return n * unit;
        }
    }

    /// <summary>A problem with how herd was called: exit code 2, nothing ran.</summary>
    internal sealed class UsageException : Exception
    {
        public UsageException(string message) : base(message) { }
    }
}
