using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using HerdPS.Inventory;
using Renci.SshNet;
using Renci.SshNet.Common;

namespace HerdPS.Transport.SshNet
{
    /// <summary>
    /// Runs commands in-process with SSH.NET over the process-wide <see cref="SshNetPool"/>: no process per host,
    /// connections that stay warm for the life of a PowerShell session, a watch or a job. A host's settings come
    /// from <c>ssh -G</c> (<see cref="SshConfigResolver"/>), host keys are checked against known_hosts as OpenSSH
    /// checks them (<see cref="KnownHosts"/>), and the command travels in the same remote wrapper as with OpenSSH,
    /// so a stop ends it on the host (TERM, then KILL) and leaves the connection usable. Nothing ever prompts.
    /// </summary>
    public sealed class SshNetTransport : IFleetTransport
    {
        private readonly SshOptions _options;
        private readonly SshNetPool _pool;
        private readonly SshConfigResolver _resolver;

        public SshNetTransport(SshOptions options, SshNetPool? pool = null, SshConfigResolver? resolver = null)
        {
            _options = options ?? throw new ArgumentNullException(nameof(options));
            _pool = pool ?? SshNetPool.Shared;
            _resolver = resolver ?? SshConfigResolver.Shared;
            _pool.IdleTimeout = options.ControlPersist;
            // Read once, here: a bad value stops the run before anything connects (herd: exit 2).
            _bouncyCastleSntrup = SntrupKeyExchange.BouncyCastleRequested();
        }

        private readonly bool _bouncyCastleSntrup;

        public string Kind => TransportKinds.SshNet;

        /// <summary>How long a host may take, past the grace period, to answer a stop before we end our side.</summary>
        internal static readonly TimeSpan StopAnswerTime = TimeSpan.FromSeconds(5);

        /// <summary>
        /// Why SSH.NET can't serve this host as <c>ssh host</c> would, or null when it can: options it can't honour
        /// (ProxyJump, ProxyCommand, SetEnv, SendEnv, forwarding, ...), or a login that needs ssh-agent (no key file
        /// it can use and no password, while an agent is there). <c>auto</c> sends such hosts to OpenSSH.
        /// </summary>
        public string? WhyNot(SshHostConfig config) => WhyNot(config, Environment.GetEnvironmentVariable("SSH_AUTH_SOCK"));

        /// <param name="agentSocket">$SSH_AUTH_SOCK of the process the run is for (the shared pool process serves many).</param>
        internal string? WhyNot(SshHostConfig config, string? agentSocket)
        {
            if (config.Unsupported.Count > 0) return "its ssh settings need " + string.Join(", ", config.Unsupported.Select(u => Display.TerminalText.Quote(u)));
            if (_options.Credential != null) return null;
            var usable = config.IdentityFiles.Any(f => File.Exists(f) && (_options.KeyPassphrase != null || !IsEncrypted(f)));
            if (usable) return null;
            var agent = config.IdentityAgent != null && config.IdentityAgent != "none"
                ? config.IdentityAgent : agentSocket;
            if (!string.IsNullOrEmpty(agent) && agent != "none")
                return "its login needs ssh-agent (no key file SSH.NET can use, and no password)";
            return null;
        }

        /// <summary>Resolves the host's settings (see <see cref="SshConfigResolver"/>).</summary>
        public Task<SshHostConfig> ResolveAsync(FleetHost host, CancellationToken stop) => _resolver.ResolveAsync(host, _options, stop);

        public Task<TransportOutcome> ExecuteAsync(FleetHost host, RemoteInvocation invocation, CancellationToken stop) =>
            ExecuteAsync(host, invocation, stop, null);

        /// <summary>
        /// <c>auto</c>'s question and the run in one: null and the outcome when SSH.NET can serve the host, else why not
        /// (nothing was run). <paramref name="agentSocket"/> is the caller's $SSH_AUTH_SOCK.
        /// </summary>
        internal async Task<(string? WhyNot, TransportOutcome? Outcome)> ExecuteIfServedAsync(FleetHost host, RemoteInvocation invocation, CancellationToken stop,
            string? agentSocket, Action<bool, byte[], int, int>? raw)
        {
            string? why;
            try
            {
                why = WhyNot(await ResolveAsync(host, stop).ConfigureAwait(false), agentSocket);
            }
            catch (OperationCanceledException)
            {
                return (null, TransportOutcome.NotStarted(FleetErrorKind.None, null));
            }
            catch (SshConfigException e)
            {
                // ssh itself can't read its configuration for this host: let it say so in its own words.
                why = e.Message;
            }
            if (why != null) return (why, null);
            return (null, await ExecuteAsync(host, invocation, stop, raw).ConfigureAwait(false));
        }

        /// <param name="raw">Sees every chunk of the channel's stdout (false) and stderr (true) as it arrives, wrapper
        /// markers included: the shared pool process forwards them to its client, which captures them itself.</param>
        internal async Task<TransportOutcome> ExecuteAsync(FleetHost host, RemoteInvocation invocation, CancellationToken stop, Action<bool, byte[], int, int>? raw)
        {
            string why;
            if (!NameRules.IsValidHostName(host.Name, out why) || host.Address != null && !NameRules.IsValidHostName(host.Address, out why))
                return TransportOutcome.NotStarted(FleetErrorKind.TransportError, $"refused to connect to the host '{host.Name}': {why}");
            var started = DateTime.UtcNow;
            var watch = System.Diagnostics.Stopwatch.StartNew();
            SshHostConfig config;
            try
            {
                config = await ResolveAsync(host, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return TransportOutcome.NotStarted(FleetErrorKind.None, null);
            }
            catch (SshConfigException e)
            {
                return TransportOutcome.NotStarted(FleetErrorKind.TransportError, e.Message);
            }
            var whyNot = WhyNot(config);
            if (whyNot != null)
                return TransportOutcome.NotStarted(FleetErrorKind.TransportError,
                    $"the sshnet transport can't serve {host.Name}: {whyNot}. Use --transport openssh (-Transport OpenSsh) or auto for this host.");

            var connectTimeout = config.ConnectTimeout is TimeSpan ct && ct < invocation.ConnectTimeout ? ct : invocation.ConnectTimeout;
            // --no-multiplex / -NoMultiplex: a connection of this command's own, closed when it ends.
            var fresh = _options.Multiplex == false;
            var key = PoolKey(config) + (fresh ? "\u0001fresh:" + Guid.NewGuid().ToString("N") : "");
            // A pooled connection found dead before the command starts is replaced once: either it says so
            // (IsConnected) or opening the session on it fails. A command that may have started is never sent again.
            for (var attempt = 0; ; attempt++)
            {
                PooledConnection connection;
                try
                {
                    connection = await _pool.AcquireAsync(key, () => ConnectAsync(config, connectTimeout), _options.MaxSessionsPerConnection, stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    return TransportOutcome.NotStarted(FleetErrorKind.None, null);
                }
                catch (Exception e)
                {
                    return ConnectFailure(e, host.Name, connectTimeout);
                }
                if (!await connection.EnterAsync(stop).ConfigureAwait(false)) return TransportOutcome.NotStarted(FleetErrorKind.None, null);
                var reused = connection.Uses > 1;
                if (!ServerAlive.IsUp(connection.Client))
                {
                    // Dead before the command started (the server restarted, the network dropped).
                    connection.Leave();
                    _pool.Discard(connection);
                    if (attempt == 0) continue;
                    return Retryable(TransportOutcome.NotStarted(FleetErrorKind.TransportError, $"the connection to {host.Name} dropped before the command could start, twice"));
                }
                try
                {
                    var state = new RunState();
                    var outcome = await RunAsync(connection, host.Name, invocation, stop, raw, state).ConfigureAwait(false);
                    if (fresh || outcome.End == AttemptEnd.ConnectionLost || outcome.End == AttemptEnd.NeverStarted && outcome.ErrorKind == FleetErrorKind.TransportError)
                        _pool.Discard(connection);
                    // No session could be opened on a connection that served earlier commands: it died unnoticed.
                    if (state.NoSession && reused && attempt == 0 && !stop.IsCancellationRequested) continue;
                    outcome.StartTime = started;
                    outcome.Duration = watch.Elapsed;
                    return outcome;
                }
                finally
                {
                    connection.Leave();
                }
            }
        }

        /// <summary>What RunAsync learned beyond the outcome.</summary>
        private sealed class RunState
        {
            /// <summary>No channel or no exec: nothing reached the host.</summary>
            public bool NoSession;
        }

        private static TransportOutcome Retryable(TransportOutcome o)
        {
            o.Retryable = true;
            return o;
        }

        /// <summary>Closes this host's pooled connections (every policy and identity); true when there was one.</summary>
        public async Task<bool> DisconnectAsync(FleetHost host, CancellationToken cancellationToken)
        {
            SshHostConfig config;
            try { config = await ResolveAsync(host, cancellationToken).ConfigureAwait(false); }
            catch (SshConfigException) { return false; }
            var prefix = config.User + "@" + config.HostName + ":" + config.Port + "\u0001";
            var field = "\u0001" + config.KnownHostsName + "\u0001";
            return _pool.Disconnect(k => k.StartsWith(prefix, StringComparison.Ordinal) && k.Contains(field)).Count > 0;
        }

        /// <summary>The pool key: who logs in where with what, and how the host key is checked.</summary>
        private string PoolKey(SshHostConfig c) => string.Join("\u0001",
            c.User + "@" + c.HostName + ":" + c.Port, string.Join(",", c.IdentityFiles), string.Join(",", c.CertificateFiles),
            c.KnownHostsName, _options.HostKeyPolicy.ToString(), string.Join(",", c.UserKnownHostsFiles),
            _options.Credential != null ? "password:" + _options.Credential.UserName + ":" + SecretTag(_options.Credential.SecurePassword) : "",
            _options.KeyPassphrase != null ? "passphrase:" + SecretTag(_options.KeyPassphrase) : "");

        // A connection logged in with one password must not serve a call that gives another (a wrong one would
        // "work"): the key tells secrets apart by an HMAC under a key that never leaves this process, so the secret
        // itself is neither kept nor recoverable from the pool's keys.
        private static readonly byte[] SecretTagKey = NewSecretTagKey();

        private static byte[] NewSecretTagKey()
        {
            var key = new byte[32];
            using (var rng = System.Security.Cryptography.RandomNumberGenerator.Create()) rng.GetBytes(key);
            return key;
        }

        private static string SecretTag(System.Security.SecureString? secret)
        {
            if (secret == null) return "";
            var bytes = Unprotect(secret);
            try
            {
                using (var hmac = new System.Security.Cryptography.HMACSHA256(SecretTagKey))
                    return BitConverter.ToString(hmac.ComputeHash(bytes), 0, 8).Replace("-", "");
            }
            finally
            {
                Array.Clear(bytes, 0, bytes.Length);
            }
        }

        private async Task<TransportOutcome> RunAsync(PooledConnection connection, string hostName, RemoteInvocation invocation, CancellationToken stop, Action<bool, byte[], int, int>? raw, RunState state)
        {
            var wrapped = !invocation.Raw;
            var text = wrapped ? RemoteCommand.Wrap(invocation.Command, invocation.StopGrace, invocation.CommandInputLine != null, connection.LoginShellIsSh) : invocation.Command;
            using var stdout = new OutputCapture(invocation.OutputLimit) { Spill = invocation.Spill, ExpectWrapperMarkers = false, OnChunk = invocation.OnStdOut };
            using var stderr = new OutputCapture(invocation.OutputLimit) { Spill = invocation.Spill, ExpectWrapperMarkers = wrapped };
            SshCommand command;
            Task execution;
            Stream input;
            (BoundedOutput.Sink StdOut, BoundedOutput.Sink StdErr)? sinks = null;
            try
            {
                command = connection.Client.CreateCommand(text);
                command.CommandTimeout = Timeout.InfiniteTimeSpan;
                // ExecuteAsync opens the channel and waits for the exec reply synchronously: on a thread of its own,
                // never the pool's (see ConnectAsync).
                execution = await BlockingThreads.Run(() =>
                {
                    var running = command.ExecuteAsync(CancellationToken.None);
                    // At once: output is handed over as it arrives from here on, and nothing piles up (see BoundedOutput).
                    sinks = BoundedOutput.Install(command,
                        (bytes, offset, count) => Deliver(stdout, raw, false, bytes, offset, count),
                        (bytes, offset, count) => Deliver(stderr, raw, true, bytes, offset, count));
                    return running;
                }).ConfigureAwait(false);
                try
                {
                    input = command.CreateInputStream();
                }
                catch (InvalidOperationException)
                {
                    // The exec was accepted and the command has ended already (SSH.NET takes input only while a command
                    // runs; its task may not say so yet): nothing to feed or stop. Whether it started is the wrapper's
                    // start marker's to say, below, never this exception's: a `true` can end this fast.
                    input = Stream.Null;
                }
            }
            catch (Exception e) when (!(e is OutOfMemoryException))
            {
                // No channel or no exec: nothing started. The pool drops this connection; a retry is safe.
                state.NoSession = true;
                return Retryable(TransportOutcome.NotStarted(FleetErrorKind.TransportError,
                    $"could not start a session on {hostName}: {Describe(e)}"));
            }
            using (command)
            {
                var pumps = sinks is { } installed
                    ? Task.WhenAll(installed.StdOut.Ended, installed.StdErr.Ended)
                    : Task.WhenAll(Pump(command.OutputStream, stdout, raw, false), Pump(command.ExtendedOutputStream, stderr, raw, true));
                var feed = FeedAsync(command, input, invocation, wrapped);
                var outcome = new TransportOutcome();
                var stoppedByUs = false;
                var localOnly = false;
                var done = Task.WhenAll(execution.ContinueWith(_ => { }, TaskScheduler.Default), pumps);
                var stopped = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                using (stop.Register(() => stopped.TrySetResult(true)))
                {
                    if (await Task.WhenAny(done, stopped.Task).ConfigureAwait(false) != done)
                    {
                        stoppedByUs = true;
                        if (wrapped)
                        {
                            // The stop is the end of stdin: the wrapper TERMs the command's group, KILLs it after the
                            // grace, reports how, and the channel closes by itself. Closing the channel instead would
                            // leave the command running on servers that keep a closed channel's process (Dropbear).
                            EndInput(command, input, wrapped);
                            var answer = Task.Delay(invocation.StopGrace + StopAnswerTime);
                            if (await Task.WhenAny(done, answer).ConfigureAwait(false) != done) localOnly = true;
                        }
                        else localOnly = true;
                        if (localOnly)
                        {
                            try { command.CancelAsync(forceKill: false, millisecondsTimeout: 500); }
                            catch (Exception) { /* the channel may be gone already */ }
                            await Task.WhenAny(done, Task.Delay(TimeSpan.FromSeconds(2))).ConfigureAwait(false);
                        }
                    }
                }
                // After the command ended nothing is written: a write on a closed channel waits for a window that never comes.
                if (!execution.IsCompleted) EndInput(command, input, wrapped);
                else CloseQuietly(input);
                await Task.WhenAny(feed, Task.Delay(TimeSpan.FromSeconds(1))).ConfigureAwait(false);
                stdout.Seal();
                stderr.Seal();
                Exception? failure = execution.IsFaulted ? execution.Exception!.GetBaseException() : null;
                if (wrapped && stderr.ReportedExitCode is int reported)
                {
                    connection.LoginShellIsSh = stderr.ReportedLoginShellIsSh;
                    outcome.ExitCode = reported;
                    if (stderr.ReportedStop != EndSignal.None)
                    {
                        outcome.End = AttemptEnd.EndedByUs;
                        outcome.EndedWith = stderr.ReportedStop;
                    }
                    else outcome.End = AttemptEnd.Exited;
                }
                else if (!wrapped && !stoppedByUs && execution.Status == TaskStatus.RanToCompletion && command.ExitStatus is int status)
                {
                    outcome.End = AttemptEnd.Exited;
                    outcome.ExitCode = status;
                }
                else if (stoppedByUs)
                {
                    var startedRemote = !wrapped || stderr.SawStartMarker;
                    outcome.End = startedRemote ? AttemptEnd.EndedByUs : AttemptEnd.NeverStarted;
                    outcome.EndedWith = startedRemote ? EndSignal.LocalSideOnly : EndSignal.None;
                }
                else if (wrapped && !stderr.SawStartMarker)
                {
                    outcome.End = AttemptEnd.NeverStarted;
                    outcome.ErrorKind = FleetErrorKind.TransportError;
                    outcome.ErrorMessage = $"the session on {hostName} ended before the remote wrapper started" + (failure != null ? $" ({Describe(failure)})" : "");
                    outcome.Retryable = true;
                }
                else
                {
                    outcome.End = AttemptEnd.ConnectionLost;
                    outcome.ErrorKind = FleetErrorKind.TransportError;
                    var verdict = ServerAlive.VerdictFor(connection.Client);
                    outcome.ErrorMessage = $"the connection to {hostName} was lost while the command ran" +
                        (verdict != null ? $": {verdict}" : failure != null ? $" ({Describe(failure)})" : "") + "; the command may have run in part";
                }
                Take(outcome, stdout, stderr);
                return outcome;
            }
        }

        private static void Take(TransportOutcome outcome, OutputCapture stdout, OutputCapture stderr) =>
            outcome.TakeOutput(stdout, stderr, DateTime.UtcNow, TimeSpan.Zero);

        /// <summary>A chunk of the channel's output, as it arrives: to the raw observer (the pool's client), then the capture.</summary>
        private static void Deliver(OutputCapture into, Action<bool, byte[], int, int>? raw, bool isStdErr, byte[] bytes, int offset, int count)
        {
            raw?.Invoke(isStdErr, bytes, offset, count);
            into.Append(bytes, offset, count);
        }

        /// <summary>
        /// Copies a channel stream into a capture on a thread of its own (SSH.NET's streams block on reads): only
        /// when SSH.NET's stream fields could not be swapped for sinks (<see cref="BoundedOutput.IsAvailable"/>).
        /// </summary>
        private static Task Pump(Stream source, OutputCapture into, Action<bool, byte[], int, int>? raw, bool isStdErr) => BlockingThreads.Run(() =>
        {
            var buffer = new byte[32 * 1024];
            try
            {
                int n;
                while ((n = source.Read(buffer, 0, buffer.Length)) > 0) Deliver(into, raw, isStdErr, buffer, 0, n);
            }
            catch (Exception e) when (e is IOException || e is ObjectDisposedException || e is SshException) { }
        });

        /// <summary>Stdin: the bytes or stream given (then end of input); with the wrapper and no input, held open until the stop.</summary>
        private static async Task FeedAsync(SshCommand command, Stream input, RemoteInvocation invocation, bool wrapped)
        {
            try
            {
                if (invocation.Stdin != null)
                {
                    await input.WriteAsync(invocation.Stdin, 0, invocation.Stdin.Length).ConfigureAwait(false);
                    EndInput(command, input, wrapped);
                }
                else if (invocation.StdinSource != null)
                {
                    using var source = invocation.StdinSource();
                    await source.CopyToAsync(input, 64 * 1024).ConfigureAwait(false);
                    EndInput(command, input, wrapped);
                }
                else if (wrapped && invocation.CommandInputLine != null)
                {
                    // The wrapper reads this line first; stdin then stays open for the stop.
                    await input.WriteAsync(invocation.CommandInputLine, 0, invocation.CommandInputLine.Length).ConfigureAwait(false);
                    await input.FlushAsync().ConfigureAwait(false);
                }
                else if (!wrapped) EndInput(command, input, wrapped);
            }
            catch (Exception e) when (e is IOException || e is ObjectDisposedException || e is SshException || e is InvalidOperationException)
            {
                EndInput(command, input, wrapped);
            }
        }

        /// <summary>
        /// Sends the end of stdin. SSH.NET's input stream sends EOF on close only after it carried data: with the
        /// wrapper, a newline goes first (its stdin watcher reads lines and ignores it); a raw command that was given
        /// no input gets EOF from the channel itself.
        /// </summary>
        private static void EndInput(SshCommand command, Stream input, bool wrapped)
        {
            if (input == Stream.Null) return;
            lock (input)
            {
                if (!Ended.Add(input)) return;
                try
                {
                    if (input.Position == 0)
                    {
                        if (wrapped) input.Write(Newline, 0, 1);
                        else if (SendChannelEof(command)) { input.Dispose(); return; }
                    }
                }
                catch (Exception) { /* the channel is gone: its end is the end of input */ }
                CloseQuietly(input);
            }
        }

        private static readonly byte[] Newline = { (byte)'\n' };
        // Input streams already ended (SSH.NET's stream still says CanWrite after it is closed).
        private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<Stream, object> EndedTable = new System.Runtime.CompilerServices.ConditionalWeakTable<Stream, object>();
        private static class Ended
        {
            public static bool Add(Stream s)
            {
                if (EndedTable.TryGetValue(s, out _)) return false;
                EndedTable.Add(s, Newline);
                return true;
            }
        }

        /// <summary>EOF on the command's channel without data first (SSH.NET 2026.0.0 keeps the channel in a private field).</summary>
        [System.Diagnostics.CodeAnalysis.DynamicDependency("SendEof", "Renci.SshNet.Channels.Channel", "Renci.SshNet")]
        [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "SendEof is declared on Channel, kept by the DynamicDependency above.")]
        private static bool SendChannelEof(SshCommand command)
        {
            try
            {
                var channel = typeof(SshCommand).GetField("_channel", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)?.GetValue(command);
                var send = channel?.GetType().GetMethod("SendEof", System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance, null, Type.EmptyTypes, null);
                if (send == null) return false;
                send.Invoke(channel, null);
                return true;
            }
            catch (Exception)
            {
                return false;
            }
        }

        private static void CloseQuietly(Stream s)
        {
            try { s.Dispose(); }
            catch (Exception) { /* the channel is gone: nothing to close */ }
        }

        // ----- connecting -----

        /// <summary>
        /// Connects on a blocking thread (<see cref="BlockingThreads"/>): SSH.NET's key exchange and login wait
        /// synchronously, and 32 of them at once on the thread pool starve it (measured: 100 hosts took 4x pdsh's time).
        /// </summary>
        private Task<SshClient> ConnectAsync(SshHostConfig config, TimeSpan connectTimeout) =>
            BlockingThreads.Run(() => Connect(config, connectTimeout));

        private SshClient Connect(SshHostConfig config, TimeSpan connectTimeout)
        {
            var failures = new List<string>();
            var methods = AuthenticationMethods(config, failures);
            if (methods.Count == 0)
                throw new SshAuthenticationException("no way to log in: " + (failures.Count > 0 ? string.Join("; ", failures) : "no key file found (" + string.Join(", ", config.IdentityFiles) + ") and no credential given"));
            var info = new ConnectionInfo(config.HostName, config.Port, config.User, methods.ToArray())
            {
                Timeout = connectTimeout,
                MaxSessions = Math.Max(1, _options.MaxSessionsPerConnection),
            };
            // OpenSSH's default key exchange over our own sntrup761: SSH.NET's (BouncyCastle's) cost ~45 ms of CPU per connect.
            SntrupKeyExchange.Install(info, _bouncyCastleSntrup);
            var client = new SshClient(info);
            var verdict = new HostKeyCheck(config, _options.HostKeyPolicy);
            client.HostKeyReceived += verdict.OnHostKey;
            var timedOut = 0;
            // The whole connect (TCP, banner, key exchange, login) within the timeout: SSH.NET's own Timeout is per step.
            using (new Timer(_ =>
            {
                Interlocked.Exchange(ref timedOut, 1);
                try { client.Dispose(); }
                catch (Exception) { }
            }, null, connectTimeout, Timeout.InfiniteTimeSpan))
            {
                try
                {
                    client.Connect();
                }
                catch (Exception e)
                {
                    try { client.Dispose(); }
                    catch (Exception) { }
                    if (verdict.Refusal != null) throw verdict.Refusal;
                    if (Volatile.Read(ref timedOut) != 0 || e is SshOperationTimeoutException)
                        throw new TimeoutException($"no SSH session within {connectTimeout.TotalSeconds:0.###}s", e);
                    if (failures.Count > 0 && e is SshAuthenticationException)
                        throw new SshAuthenticationException(e.Message + " (" + string.Join("; ", failures) + ")", e);
                    throw;
                }
            }
            if (Volatile.Read(ref timedOut) != 0)
            {
                client.Dispose();
                throw new TimeoutException($"no SSH session within {connectTimeout.TotalSeconds:0.###}s");
            }
            // ServerAliveInterval when set, else 15 s (as the OpenSSH pool does): NAT tables keep idle connections,
            // and a server that stops answering ServerAliveCountMax of them in a row is closed (ServerAlive).
            var interval = config.ServerAliveInterval > TimeSpan.Zero ? config.ServerAliveInterval : TimeSpan.FromSeconds(15);
            if (!ServerAlive.Start(client, interval, config.ServerAliveCountMax)) client.KeepAliveInterval = interval;
            return client;
        }

        private List<AuthenticationMethod> AuthenticationMethods(SshHostConfig config, List<string> failures)
        {
            var methods = new List<AuthenticationMethod>();
            var keys = new List<IPrivateKeySource>();
            var certificates = config.CertificateFiles.Where(File.Exists).ToList();
            foreach (var file in config.IdentityFiles.Distinct())
            {
                if (!File.Exists(file)) continue;
                var passphrase = _options.KeyPassphrase;
                if (passphrase == null && IsEncrypted(file))
                {
                    failures.Add($"the key {file} is encrypted and no passphrase was given (-KeyPassphrase, or $HERD_KEY_PASSPHRASE / --key-passphrase-file for herd)");
                    continue;
                }
                try
                {
                    var certificate = certificates.FirstOrDefault() ?? (File.Exists(file + "-cert.pub") ? file + "-cert.pub" : null);
                    keys.Add(LoadKey(file, passphrase, certificate));
                    // The same key without its certificate, as ssh offers both.
                    if (certificate != null) keys.Add(LoadKey(file, passphrase, null));
                }
                catch (Exception e) when (e is SshException || e is IOException || e is UnauthorizedAccessException || e is ArgumentException || e is NotSupportedException || e is FormatException)
                {
                    // A wrong passphrase shows as garbage after decryption ("random check bytes ... do not match").
                    failures.Add(passphrase != null && IsEncrypted(file) || e is SshPassPhraseNullOrEmptyException || e.Message.IndexOf("passphrase", StringComparison.OrdinalIgnoreCase) >= 0
                        ? $"the key {file} could not be unlocked with the passphrase given"
                        : $"the key {file} could not be read ({e.Message})");
                }
            }
            if (keys.Count > 0) methods.Add(new PrivateKeyAuthenticationMethod(config.User, keys.ToArray()));
            if (_options.Credential is System.Net.NetworkCredential credential)
            {
                var user = string.IsNullOrEmpty(credential.UserName) ? config.User : credential.UserName;
                methods.Add(new PasswordAuthenticationMethod(user, Unprotect(credential.SecurePassword)));
                var interactive = new KeyboardInteractiveAuthenticationMethod(user);
                interactive.AuthenticationPrompt += (_, e) =>
                {
                    foreach (var prompt in e.Prompts)
                        prompt.Response = prompt.Request.IndexOf("assword", StringComparison.OrdinalIgnoreCase) >= 0 ? Encoding.UTF8.GetString(Unprotect(credential.SecurePassword)) : "";
                };
                methods.Add(interactive);
            }
            return methods;
        }

        private static IPrivateKeySource LoadKey(string file, System.Security.SecureString? passphrase, string? certificate)
        {
            string? secret = passphrase != null ? Encoding.UTF8.GetString(Unprotect(passphrase)) : null;
            return certificate != null ? new PrivateKeyFile(file, secret, certificate) : new PrivateKeyFile(file, secret);
        }

        /// <summary>The secret's UTF-8 bytes, for the moment a login needs them; never logged or kept by us.</summary>
        private static byte[] Unprotect(System.Security.SecureString secret)
        {
            var ptr = Marshal.SecureStringToGlobalAllocUnicode(secret);
            try
            {
                var chars = new char[secret.Length];
                Marshal.Copy(ptr, chars, 0, chars.Length);
                var bytes = Encoding.UTF8.GetBytes(chars);
                Array.Clear(chars, 0, chars.Length);
                return bytes;
            }
            finally
            {
                Marshal.ZeroFreeGlobalAllocUnicode(ptr);
            }
        }

        /// <summary>An OpenSSH, PEM or PuTTY key file that needs a passphrase.</summary>
        internal static bool IsEncrypted(string file)
        {
            try
            {
                var text = File.ReadAllText(file);
                if (text.Contains("Proc-Type: 4,ENCRYPTED") || text.Contains("BEGIN ENCRYPTED PRIVATE KEY") || text.Contains("Encryption: aes")) return true;
                const string begin = "-----BEGIN OPENSSH PRIVATE KEY-----";
                var at = text.IndexOf(begin, StringComparison.Ordinal);
                if (at < 0) return false;
                var end = text.IndexOf("-----END", at + begin.Length, StringComparison.Ordinal);
                var body = Convert.FromBase64String(string.Concat(text.Substring(at + begin.Length, (end < 0 ? text.Length : end) - at - begin.Length).Where(c => !char.IsWhiteSpace(c))));
                // "openssh-key-v1\0", then the cipher name as an SSH string: "none" when unencrypted.
                const int magic = 15;
                if (body.Length < magic + 8) return false;
                var length = (body[magic] << 24) | (body[magic + 1] << 16) | (body[magic + 2] << 8) | body[magic + 3];
                return length > 0 && magic + 4 + length <= body.Length && Encoding.ASCII.GetString(body, magic + 4, length) != "none";
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is FormatException)
            {
                return false;
            }
        }

        /// <summary>A connect failure in the words and kinds the OpenSSH transport uses.</summary>
        private static TransportOutcome ConnectFailure(Exception e, string hostName, TimeSpan timeout)
        {
            if (e is AggregateException a && a.InnerExceptions.Count == 1) e = a.InnerExceptions[0];
            switch (e)
            {
                case HostKeyRefusedException refused:
                    return TransportOutcome.NotStarted(refused.Kind, refused.Message.Replace("{host}", hostName));
                case SshAuthenticationException auth:
                    return TransportOutcome.NotStarted(FleetErrorKind.AuthenticationFailed,
                        $"authentication to {hostName} failed: check the user name, the key (identity file), its passphrase or the credential. ({auth.Message})");
                case TimeoutException _:
                    return Retryable(TransportOutcome.NotStarted(FleetErrorKind.ConnectTimeout, $"connecting to {hostName} timed out. ({e.Message})"));
            }
            var socket = e as SocketException ?? e.InnerException as SocketException;
            if (socket != null)
            {
                switch (socket.SocketErrorCode)
                {
                    case SocketError.ConnectionRefused:
                        return Retryable(TransportOutcome.NotStarted(FleetErrorKind.ConnectionRefused, $"{hostName} refused the connection (nothing listening on the ssh port?). ({socket.Message})"));
                    case SocketError.HostNotFound:
                    case SocketError.NoData:
                    case SocketError.TryAgain:
                        return Retryable(TransportOutcome.NotStarted(FleetErrorKind.NameResolution, $"the name of {hostName} could not be resolved. ({socket.Message})"));
                    case SocketError.TimedOut:
                        return Retryable(TransportOutcome.NotStarted(FleetErrorKind.ConnectTimeout, $"connecting to {hostName} timed out. ({socket.Message})"));
                }
            }
            return Retryable(TransportOutcome.NotStarted(FleetErrorKind.TransportError, $"could not set up a session with {hostName}. ({Describe(e)})"));
        }

        private static string Describe(Exception e) => e.GetType().Name + ": " + e.Message;
    }

    /// <summary>A host key refused by known_hosts, with the error kind and the advice the OpenSSH transport gives.</summary>
    internal sealed class HostKeyRefusedException : Exception
    {
        public HostKeyRefusedException(FleetErrorKind kind, string message) : base(message)
        {
            Kind = kind;
        }

        public FleetErrorKind Kind { get; }
    }

    /// <summary>Checks the key a host presents during the key exchange, and remembers why it refused one.</summary>
    internal sealed class HostKeyCheck
    {
        private readonly SshHostConfig _config;
        private readonly HostKeyPolicy _policy;

        public HostKeyCheck(SshHostConfig config, HostKeyPolicy policy)
        {
            _config = config;
            _policy = policy;
        }

        public HostKeyRefusedException? Refusal { get; private set; }

        public void OnHostKey(object? sender, HostKeyEventArgs e)
        {
            if (_policy == HostKeyPolicy.Insecure)
            {
                e.CanTrust = true;
                return;
            }
            var key = Presented(e);
            var name = _config.KnownHostsName;
            var files = _config.UserKnownHostsFiles.Concat(_config.GlobalKnownHostsFiles).ToList();
            var verdict = KnownHosts.Check(files, name, key, DateTimeOffset.UtcNow);
            var fingerprint = "SHA256:" + KnownHosts.Fingerprint(key.Blob);
            switch (verdict)
            {
                case HostKeyVerdict.Known:
                    e.CanTrust = true;
                    return;
                case HostKeyVerdict.Unknown when _policy == HostKeyPolicy.AcceptNew && _config.UserKnownHostsFiles.Count > 0:
                    try
                    {
                        KnownHosts.Append(_config.UserKnownHostsFiles[0], name, key);
                        e.CanTrust = true;
                    }
                    catch (Exception x) when (x is IOException || x is UnauthorizedAccessException)
                    {
                        e.CanTrust = false;
                        Refusal = new HostKeyRefusedException(FleetErrorKind.HostKeyUnknown,
                            $"the host key of {{host}} is not in known_hosts and could not be learned: {_config.UserKnownHostsFiles[0]}: {x.Message}");
                    }
                    return;
                case HostKeyVerdict.Unknown:
                    e.CanTrust = false;
                    Refusal = new HostKeyRefusedException(FleetErrorKind.HostKeyUnknown,
                        $"the host key of {{host}} is not in known_hosts, and host keys are checked. Verify the key and add it (connect once with ssh, or ssh-keyscan), " +
                        $"or run with --accept-new-host-keys (-AcceptNewHostKey) to learn keys of new hosts on first use. (No {key.Type} host key is known for {name}; it offered {fingerprint}.)");
                    return;
                case HostKeyVerdict.Revoked:
                    e.CanTrust = false;
                    Refusal = new HostKeyRefusedException(FleetErrorKind.HostKeyMismatch,
                        $"the host key of {{host}} is marked @revoked in known_hosts and is never accepted: someone may be impersonating the host. ({fingerprint})");
                    return;
                case HostKeyVerdict.BadCertificate:
                    e.CanTrust = false;
                    Refusal = new HostKeyRefusedException(FleetErrorKind.HostKeyMismatch,
                        $"the host certificate of {{host}} is signed by a trusted CA but is not valid for {name} now (wrong type, principals or validity period). ({fingerprint})");
                    return;
                default:
                    e.CanTrust = false;
                    Refusal = new HostKeyRefusedException(FleetErrorKind.HostKeyMismatch,
                        $"the host key of {{host}} does not match the one in known_hosts: either the host was reinstalled or someone is intercepting the connection. " +
                        $"Verify the new key out of band; if the change is expected, remove the old entry with 'ssh-keygen -R {name}' and connect again. (It offered {fingerprint}.)");
                    return;
            }
        }

        private static PresentedHostKey Presented(HostKeyEventArgs e)
        {
            if (e.Certificate is Renci.SshNet.Security.Certificate cert)
            {
                var plain = cert.Key.ToString();
                var blob = PlainKeyBlob(cert) ?? e.HostKey;
                return new PresentedHostKey(KnownHosts.BlobType(blob) ?? plain, blob)
                {
                    CertificateAuthorityFingerprint = cert.CertificateAuthorityKeyFingerPrint,
                    IsHostCertificate = cert.Type == Renci.SshNet.Security.Certificate.CertificateType.Host,
                    Principals = cert.ValidPrincipals.ToArray(),
                    ValidAfter = cert.ValidAfter,
                    ValidBefore = cert.ValidBefore,
                };
            }
            return new PresentedHostKey(KnownHosts.BlobType(e.HostKey) ?? e.HostKeyName, e.HostKey);
        }

        /// <summary>The plain public key inside a certificate, as known_hosts would list it.</summary>
        private static byte[]? PlainKeyBlob(Renci.SshNet.Security.Certificate cert)
        {
            try
            {
                var name = cert.Name.Replace("-cert-v01@openssh.com", "");
                return new Renci.SshNet.Security.KeyHostAlgorithm(name, cert.Key).Data;
            }
            catch (Exception)
            {
                return null;
            }
        }
    }
}
