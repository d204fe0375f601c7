using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using HerdPS.Inventory;

namespace HerdPS.Transport.SshNet
{
    /// <summary>
    /// What a herd process and the shared pool process say to each other over the pool's Unix socket: frames of
    /// one type byte, a 4-byte big-endian length and that many bytes. One connection carries one attempt, so a
    /// client that goes away (Ctrl-C, a crash) closes exactly its own command, which the pool process then ends
    /// on the host as a stop.
    /// <code>
    /// client -> pool   R run request (JSON)   I stdin bytes   J end of stdin   S stop   Q close every connection and exit
    /// pool -> client   O stdout bytes   E stderr bytes (the wrapper's markers included)   N not served (auto: why)   D done (JSON)
    /// </code>
    /// No secret ever crosses it: a run with a password or a key passphrase connects in its own process.
    /// </summary>
    internal static class SharedPoolProtocol
    {
        public const byte Run = (byte)'R';
        public const byte Input = (byte)'I';
        public const byte InputEnd = (byte)'J';
        public const byte Stop = (byte)'S';
        public const byte Quit = (byte)'Q';
        public const byte StdOut = (byte)'O';
        public const byte StdErr = (byte)'E';
        public const byte NotServed = (byte)'N';
        public const byte Done = (byte)'D';

        /// <summary>The largest frame either side accepts: output moves in chunks of at most 32 KiB.</summary>
        public const int MaxFrame = 1024 * 1024;

        public const string SocketName = "sshnet.sock";
        public const string LockName = "sshnet.lock";

        public static void Write(Stream s, byte type, byte[] payload, int count) => Write(s, type, payload, 0, count);

        public static void Write(Stream s, byte type, byte[] payload, int offset, int count)
        {
            var header = new byte[5];
            header[0] = type;
            header[1] = (byte)(count >> 24);
            header[2] = (byte)(count >> 16);
            header[3] = (byte)(count >> 8);
            header[4] = (byte)count;
            s.Write(header, 0, 5);
            if (count > 0) s.Write(payload, offset, count);
            s.Flush();
        }

        public static void Write(Stream s, byte type) => Write(s, type, Array.Empty<byte>(), 0);

        /// <summary>
        /// A message as JSON, written by hand: the reflection-based serializer cost a short-lived herd process ~10% of
        /// its CPU (perf: System.Text.Json inspecting types and emitting accessors for each message type).
        /// </summary>
        public static byte[] Encode(Action<Utf8JsonWriter> write)
        {
            using var buffer = new MemoryStream();
            using (var w = new Utf8JsonWriter(buffer))
            {
                w.WriteStartObject();
                write(w);
                w.WriteEndObject();
            }
            return buffer.ToArray();
        }

        public static JsonElement Decode(byte[] payload)
        {
            using var doc = JsonDocument.Parse(payload);
            return doc.RootElement.Clone();
        }

        public static string? Text(this JsonElement e, string name) =>
            e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

        public static long Number(this JsonElement e, string name) =>
            e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt64() : 0;

        public static long? MaybeNumber(this JsonElement e, string name) =>
            e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt64() : (long?)null;

        public static bool Flag(this JsonElement e, string name) =>
            e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.True;

        public static void Maybe(this Utf8JsonWriter w, string name, string? value)
        {
            if (value != null) w.WriteString(name, value);
        }

        /// <summary>The next frame, or null at the end of the stream. A frame past <see cref="MaxFrame"/> is an IOException.</summary>
        public static async Task<(byte Type, byte[] Payload)?> ReadAsync(Stream s, CancellationToken cancellationToken)
        {
            // A reader for this one frame, its buffer sized to it: the payload is the caller's, no copy needed.
            var reader = new FrameReader(s, 0);
            var frame = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (frame == null) return null;
            var (type, length) = frame.Value;
            return (type, length == reader.Payload.Length ? reader.Payload : reader.Copy(length));
        }

        /// <summary>
        /// Reads frames into buffers of its own, reused from frame to frame: the output of a command crosses the socket in
        /// thousands of frames, and a new array for each (and its header) was most of a herd process's allocations
        /// (1.1 GB for 200 hosts x 5 MiB), each pinned while the read waited. A frame's payload is valid until the
        /// next read.
        /// </summary>
        public sealed class FrameReader
        {
            private readonly Stream _stream;
            private readonly byte[] _header = new byte[5];
            private byte[] _payload;

            public FrameReader(Stream stream, int initialSize = 4 * 1024)
            {
                _stream = stream;
                _payload = new byte[initialSize];
            }

            /// <summary>The next frame's type and length (its bytes in <see cref="Payload"/>), or null at the end of the stream.</summary>
            public async Task<(byte Type, int Length)?> ReadAsync(CancellationToken cancellationToken)
            {
                if (!await ReadExactlyAsync(_stream, _header, 5, cancellationToken).ConfigureAwait(false)) return null;
                var length = _header[1] << 24 | _header[2] << 16 | _header[3] << 8 | _header[4];
                if (length < 0 || length > MaxFrame) throw new IOException($"a frame of {length} bytes from the shared pool's socket is not ours");
                if (length > _payload.Length) _payload = new byte[Math.Max(length, Math.Min(MaxFrame, _payload.Length * 2))];
                if (length > 0 && !await ReadExactlyAsync(_stream, _payload, length, cancellationToken).ConfigureAwait(false))
                    throw new IOException("the shared pool's socket closed in the middle of a frame");
                return (_header[0], length);
            }

            /// <summary>The last frame's bytes (its first Length bytes); overwritten by the next read.</summary>
            public byte[] Payload => _payload;

            /// <summary>The last frame's bytes in an array of their own (for the rare frame that is kept or decoded).</summary>
            public byte[] Copy(int length)
            {
                var copy = new byte[length];
                Buffer.BlockCopy(_payload, 0, copy, 0, length);
                return copy;
            }
        }

        private static async Task<bool> ReadExactlyAsync(Stream s, byte[] buffer, int count, CancellationToken cancellationToken)
        {
            var at = 0;
            while (at < count)
            {
                var n = await s.ReadAsync(buffer, at, count - at, cancellationToken).ConfigureAwait(false);
                if (n <= 0)
                {
                    if (at == 0) return false;
                    throw new IOException("the shared pool's socket closed in the middle of a frame");
                }
                at += n;
            }
            return true;
        }

    }

    /// <summary>A run as the pool process needs it: the host, the command and the settings that choose and check the connection.</summary>
    internal sealed class SharedPoolRunRequest
    {
        public string HostName { get; set; } = "";
        public string? Address { get; set; }
        public int? Port { get; set; }
        public string? User { get; set; }
        public string? IdentityFile { get; set; }
        public string Command { get; set; } = "";
        public bool Raw { get; set; }
        public long ConnectTimeoutMs { get; set; }
        public long StopGraceMs { get; set; }
        public bool HasStdin { get; set; }
        /// <summary>Under <c>auto</c>: answer N with the reason instead of an error when SSH.NET can't serve the host.</summary>
        public bool Auto { get; set; }
        /// <summary>The client's $SSH_AUTH_SOCK: whether its login would need the agent (auto then goes to OpenSSH).</summary>
        public string? AgentSocket { get; set; }
        public string SshPath { get; set; } = "ssh";
        public string? ConfigFile { get; set; }
        public string? OptionsUser { get; set; }
        public string? OptionsIdentityFile { get; set; }
        public HostKeyPolicy HostKeyPolicy { get; set; }
        public long ControlPersistMs { get; set; }
        public int MaxSessions { get; set; }
        public List<string> ExtraOptions { get; set; } = new List<string>();

        public static SharedPoolRunRequest From(FleetHost host, RemoteInvocation invocation, SshOptions options, bool auto) => new SharedPoolRunRequest
        {
            HostName = host.Name,
            Address = host.Address,
            Port = host.Port,
            User = host.User,
            IdentityFile = Absolute(host.IdentityFile),
            Command = invocation.Command,
            Raw = invocation.Raw,
            ConnectTimeoutMs = (long)invocation.ConnectTimeout.TotalMilliseconds,
            StopGraceMs = (long)invocation.StopGrace.TotalMilliseconds,
            HasStdin = invocation.Stdin != null || invocation.StdinSource != null,
            Auto = auto,
            AgentSocket = Environment.GetEnvironmentVariable("SSH_AUTH_SOCK"),
            SshPath = options.SshPath,
            // The pool process runs in another folder: relative paths are the client's.
            ConfigFile = Absolute(options.ConfigFile),
            OptionsUser = options.User,
            OptionsIdentityFile = Absolute(options.IdentityFile),
            HostKeyPolicy = options.HostKeyPolicy,
            ControlPersistMs = (long)options.ControlPersist.TotalMilliseconds,
            MaxSessions = options.MaxSessionsPerConnection,
            ExtraOptions = new List<string>(options.ExtraOptions),
        };

        public byte[] Encode() => SharedPoolProtocol.Encode(w =>
        {
            w.WriteString("host", HostName);
            w.Maybe("address", Address);
            if (Port is int port) w.WriteNumber("port", port);
            w.Maybe("user", User);
            w.Maybe("identityFile", IdentityFile);
            w.WriteString("command", Command);
            w.WriteBoolean("raw", Raw);
            w.WriteNumber("connectTimeoutMs", ConnectTimeoutMs);
            w.WriteNumber("stopGraceMs", StopGraceMs);
            w.WriteBoolean("hasStdin", HasStdin);
            w.WriteBoolean("auto", Auto);
            w.Maybe("agentSocket", AgentSocket);
            w.WriteString("sshPath", SshPath);
            w.Maybe("configFile", ConfigFile);
            w.Maybe("optionsUser", OptionsUser);
            w.Maybe("optionsIdentityFile", OptionsIdentityFile);
            w.WriteNumber("hostKeyPolicy", (int)HostKeyPolicy);
            w.WriteNumber("controlPersistMs", ControlPersistMs);
            w.WriteNumber("maxSessions", MaxSessions);
            w.WriteStartArray("extraOptions");
            foreach (var o in ExtraOptions) w.WriteStringValue(o);
            w.WriteEndArray();
        });

        public static SharedPoolRunRequest Decode(byte[] payload)
        {
            var e = SharedPoolProtocol.Decode(payload);
            var r = new SharedPoolRunRequest
            {
                HostName = e.Text("host") ?? throw new IOException("a run request without a host"),
                Address = e.Text("address"),
                Port = (int?)e.MaybeNumber("port"),
                User = e.Text("user"),
                IdentityFile = e.Text("identityFile"),
                Command = e.Text("command") ?? throw new IOException("a run request without a command"),
                Raw = e.Flag("raw"),
                ConnectTimeoutMs = e.Number("connectTimeoutMs"),
                StopGraceMs = e.Number("stopGraceMs"),
                HasStdin = e.Flag("hasStdin"),
                Auto = e.Flag("auto"),
                AgentSocket = e.Text("agentSocket"),
                SshPath = e.Text("sshPath") ?? "ssh",
                ConfigFile = e.Text("configFile"),
                OptionsUser = e.Text("optionsUser"),
                OptionsIdentityFile = e.Text("optionsIdentityFile"),
                HostKeyPolicy = (HostKeyPolicy)e.Number("hostKeyPolicy"),
                ControlPersistMs = e.Number("controlPersistMs"),
                MaxSessions = (int)e.Number("maxSessions"),
            };
            if (!Enum.IsDefined(typeof(HostKeyPolicy), r.HostKeyPolicy)) throw new IOException("a run request with an unknown host key policy");
            if (e.TryGetProperty("extraOptions", out var extra) && extra.ValueKind == JsonValueKind.Array)
                foreach (var o in extra.EnumerateArray())
                    if (o.ValueKind == JsonValueKind.String) r.ExtraOptions.Add(o.GetString()!);
            return r;
        }

        private static string? Absolute(string? path) => string.IsNullOrEmpty(path) || path!.StartsWith("~", StringComparison.Ordinal) ? path : Path.GetFullPath(path);

        public FleetHost Host() => new FleetHost(HostName) { Address = Address, Port = Port, User = User, IdentityFile = IdentityFile };

        public SshOptions Options()
        {
            var o = new SshOptions
            {
                SshPath = SshPath,
                ConfigFile = ConfigFile,
                User = OptionsUser,
                IdentityFile = OptionsIdentityFile,
                HostKeyPolicy = HostKeyPolicy,
                ControlPersist = TimeSpan.FromMilliseconds(Math.Max(0, ControlPersistMs)),
                MaxSessionsPerConnection = MaxSessions > 0 ? MaxSessions : 10,
            };
            foreach (var e in ExtraOptions) o.ExtraOptions.Add(e);
            return o;
        }
    }

    /// <summary>How an attempt ended, as the pool process saw it; the client adds the output it captured itself.</summary>
    internal sealed class SharedPoolRunEnd
    {
        public AttemptEnd End { get; set; }
        public int? ExitCode { get; set; }
        public EndSignal EndedWith { get; set; }
        public FleetErrorKind ErrorKind { get; set; }
        public string? ErrorMessage { get; set; }
        public bool Retryable { get; set; }
        public long StartTimeTicks { get; set; }
        public long DurationTicks { get; set; }
        public int Closed { get; set; }

        public static SharedPoolRunEnd From(TransportOutcome o) => new SharedPoolRunEnd
        {
            End = o.End,
            ExitCode = o.ExitCode,
            EndedWith = o.EndedWith,
            ErrorKind = o.ErrorKind,
            ErrorMessage = o.ErrorMessage,
            Retryable = o.Retryable,
            StartTimeTicks = o.StartTime.Ticks,
            DurationTicks = o.Duration.Ticks,
        };

        public byte[] Encode() => SharedPoolProtocol.Encode(w =>
        {
            w.WriteNumber("end", (int)End);
            if (ExitCode is int code) w.WriteNumber("exitCode", code);
            w.WriteNumber("endedWith", (int)EndedWith);
            w.WriteNumber("errorKind", (int)ErrorKind);
            w.Maybe("errorMessage", ErrorMessage);
            w.WriteBoolean("retryable", Retryable);
            w.WriteNumber("startTimeTicks", StartTimeTicks);
            w.WriteNumber("durationTicks", DurationTicks);
            w.WriteNumber("closed", Closed);
        });

        public static SharedPoolRunEnd Decode(byte[] payload)
        {
            var e = SharedPoolProtocol.Decode(payload);
            return new SharedPoolRunEnd
            {
                End = (AttemptEnd)e.Number("end"),
                ExitCode = (int?)e.MaybeNumber("exitCode"),
                EndedWith = (EndSignal)e.Number("endedWith"),
                ErrorKind = (FleetErrorKind)e.Number("errorKind"),
                ErrorMessage = e.Text("errorMessage"),
                Retryable = e.Flag("retryable"),
                StartTimeTicks = e.Number("startTimeTicks"),
                DurationTicks = e.Number("durationTicks"),
                Closed = (int)e.Number("closed"),
            };
        }
    }

    /// <summary>The answer to "can you serve this host" under auto, when the answer is no.</summary>
    internal sealed class SharedPoolNotServed
    {
        public string Why { get; set; } = "";

        public byte[] Encode() => SharedPoolProtocol.Encode(w => w.WriteString("why", Why));

        public static SharedPoolNotServed Decode(byte[] payload) => new SharedPoolNotServed { Why = SharedPoolProtocol.Decode(payload).Text("why") ?? "" };
    }
}
