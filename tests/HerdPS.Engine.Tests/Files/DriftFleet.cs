using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using HerdPS.Execution;
using HerdPS.Tests.Fleet;

namespace HerdPS.Tests.Files
{
    /// <summary>
    /// Five isolated sshd hosts (drift-a .. drift-e) whose <see cref="SshFleet.IsolatedMountPoint"/> really holds
    /// different files, started once per fleet and shared by the file tests. What each host has:
    /// app.conf: a, b, c identical; d differs in one line; e has none.
    /// empty.conf: a has an empty file; b has none.
    /// conf.d: a directory on a.  secret.conf: mode 000, root's, on a; readable on b.
    /// bin.dat: binary, a = b, c differs.  big.dat: 3 MiB, a = b, c differs in its last byte.
    /// Hostile names (on a only, literal): see <see cref="HostilePaths"/>.
    /// push/: a folder the login user may write (b has push/target.conf, mode 0640, "old\n"); ro/: root's, not writable.
    /// </summary>
    internal sealed class DriftFleet
    {
        private static readonly object Gate = new object();
        private static DriftFleet? _shared;

        public const string AppConf = "port=80\nmode=prod\nworkers=4\nlog=/var/log/app.log\n";
        public const string AppConfOutlier = "port=8080\nmode=prod\nworkers=4\nlog=/var/log/app.log\n";
        public static readonly byte[] Binary = { 0x7f, (byte)'E', (byte)'L', (byte)'F', 0, 1, 2, 3, 0xff, 0xfe };
        public static readonly byte[] BinaryOther = { 0x7f, (byte)'E', (byte)'L', (byte)'F', 0, 1, 2, 4, 0xff, 0xfe };

        public readonly string Marker = "/tmp/herd-pwned-" + Guid.NewGuid().ToString("N").Substring(0, 10);

        /// <summary>Paths relative to the mount point that would run something if they ever reached a shell unquoted.</summary>
        public IReadOnlyList<string> HostilePaths => new[]
        {
            $"$(touch {Marker}-1)",
            $"'; touch {Marker}-2; '",
            $"`touch {Marker}-3`",
            $"line1\nline2; touch {Marker}-4",
            $"sp ace \"dq\" $HOME & touch {Marker}-5 | cat",
            "-n --version",
        };

        public SshFleet Fleet { get; }
        public IReadOnlyList<ExtraSshHost> Hosts { get; }
        public string ConfigPath { get; }
        public string[] Names => Hosts.Select(h => h.Alias).ToArray();
        public ExtraSshHost this[char id] => Hosts.Single(h => h.Alias == "drift-" + id);

        private DriftFleet(SshFleet fleet)
        {
            Fleet = fleet;
            var hosts = new List<ExtraSshHost>();
            foreach (var id in "abcde")
            {
                hosts.Add(fleet.StartIsolatedHost("drift-" + id, dir => Populate(id, dir)));
            }
            Hosts = hosts;
            ConfigPath = fleet.WriteCombinedConfig("drift", hosts);
        }

        public static DriftFleet For(SshFleet fleet)
        {
            lock (Gate)
            {
                if (_shared == null || !ReferenceEquals(_shared.Fleet, fleet)) _shared = new DriftFleet(fleet);
                return _shared;
            }
        }

        private void Populate(char id, string dir)
        {
            if (id != 'e') File.WriteAllText(Path.Combine(dir, "app.conf"), id == 'd' ? AppConfOutlier : AppConf);
            if (id == 'a') File.WriteAllText(Path.Combine(dir, "empty.conf"), "");
            if (id == 'a') Directory.CreateDirectory(Path.Combine(dir, "conf.d"));
            if (id == 'a' || id == 'b')
            {
                var secret = Path.Combine(dir, "secret.conf");
                File.WriteAllText(secret, "token=x\n");
                if (id == 'a') File.SetUnixFileMode(secret, UnixFileMode.None);
            }
            if (id is 'a' or 'b' or 'c') File.WriteAllBytes(Path.Combine(dir, "bin.dat"), id == 'c' ? BinaryOther : Binary);
            if (id is 'a' or 'b' or 'c')
            {
                var big = BigFile();
                if (id == 'c') big[big.Length - 1] ^= 1;
                File.WriteAllBytes(Path.Combine(dir, "big.dat"), big);
            }
            if (id == 'a')
                foreach (var hostile in HostilePaths) Create(dir, hostile, "literal:" + hostile);
            var push = Path.Combine(dir, "push");
            Directory.CreateDirectory(push);
            if (id == 'b')
            {
                var target = Path.Combine(push, "target.conf");
                File.WriteAllText(target, "old\n");
                File.SetUnixFileMode(target, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
                Fleet.ChownToLoginUser(target);
            }
            Fleet.ChownToLoginUser(push);
            Directory.CreateDirectory(Path.Combine(dir, "ro"));
        }

        public static byte[] BigFile()
        {
            var big = new byte[3 * 1024 * 1024];
            for (var i = 0; i < big.Length; i++) big[i] = (byte)('a' + i % 26);
            return big;
        }

        /// <summary>Creates a file at a relative path (its "/"-separated parts become folders), as the literal name.</summary>
        public static string Create(string root, string relative, string content)
        {
            var full = Path.Combine(root, relative.Replace('/', Path.DirectorySeparatorChar));
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllText(full, content);
            return full;
        }

        public static string Remote(string relative) => SshFleet.IsolatedMountPoint + "/" + relative;

        /// <summary>A request that reaches the given drift hosts through their own config and a private socket folder.</summary>
        public FleetCommandRequest Request(params char[] ids)
        {
            var r = new FleetCommandRequest
            {
                SshConfigPath = ConfigPath,
                ControlDirectory = Path.Combine(Fleet.ControlDirectory, "f" + Interlocked.Increment(ref _sockets)),
                ConnectTimeout = TimeSpan.FromSeconds(10),
                Timeout = TimeSpan.FromSeconds(120),
            };
            foreach (var id in ids) r.Selection.Hosts.Add("drift-" + id);
            return r;
        }

        private static int _sockets;

        public static FleetTarget Target(FleetCommandRequest request) => FleetEngine.Resolve(request, _ => null);

        public static string Sha256(byte[] data)
        {
            using var sha = System.Security.Cryptography.SHA256.Create();
            return HerdPS.Transport.OutputCapture.ToHex(sha.ComputeHash(data));
        }

        public static string Sha256(string text) => Sha256(Encoding.UTF8.GetBytes(text));
    }
}
