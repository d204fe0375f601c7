using System;
using System.Collections.Generic;
using System.IO;
using HerdPS.Execution;

namespace HerdPS.Tests.Execution
{
    /// <summary>Which ssh_config a run hands to ssh: -F / -SshConfigPath, else $HERD_SSH_CONFIG, else the user's own.</summary>
    public sealed class SshConfigSelectionTests : IDisposable
    {
        private readonly string _dir = Directory.CreateTempSubdirectory("herd-sshconfig-").FullName;

        public void Dispose() => Directory.Delete(_dir, recursive: true);

        private string File(string name)
        {
            var path = Path.Combine(_dir, name);
            System.IO.File.WriteAllText(path, "Host *\n  LogLevel ERROR\n");
            return path;
        }

        private static Func<string, string?> Env(string? value) =>
            name => name == FleetCommandRequest.SshConfigVariable ? value : null;

        [Fact]
        public void The_explicit_file_wins_over_the_environment()
        {
            var given = File("given");
            var fromEnv = File("env");
            Assert.Equal(given, new FleetCommandRequest { SshConfigPath = given }.SshConfigFile(Env(fromEnv)));
        }

        [Fact]
        public void The_environment_names_the_file_when_none_is_given()
        {
            var fromEnv = File("env");
            Assert.Equal(fromEnv, new FleetCommandRequest().SshConfigFile(Env(fromEnv)));
            Assert.Null(new FleetCommandRequest().SshConfigFile(Env(null)));
            Assert.Null(new FleetCommandRequest().SshConfigFile(Env("  ")));
        }

        [Fact]
        public void A_missing_file_stops_the_run_and_says_where_the_name_came_from()
        {
            var missing = Path.Combine(_dir, "nope");
            var fromEnv = Assert.Throws<ArgumentException>(() => new FleetCommandRequest().SshConfigFile(Env(missing)));
            Assert.Contains("$HERD_SSH_CONFIG", fromEnv.Message);
            Assert.Contains(missing, fromEnv.Message);
            var given = Assert.Throws<ArgumentException>(() => new FleetCommandRequest { SshConfigPath = missing }.SshConfigFile(Env(null)));
            Assert.DoesNotContain("HERD_SSH_CONFIG", given.Message);
            Assert.Contains(missing, given.Message);
        }
    }
}
