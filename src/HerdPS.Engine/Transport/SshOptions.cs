using System;
using System.Collections.Generic;

namespace HerdPS.Transport
{
    /// <summary>How host keys are checked. The default checks them; turning checks off is explicit and warned about.</summary>
    public enum HostKeyPolicy
    {
        /// <summary>StrictHostKeyChecking=yes: an unknown or changed key refuses the host.</summary>
        Strict,
        /// <summary>StrictHostKeyChecking=accept-new: unknown keys are learned, changed keys still refuse the host.</summary>
        AcceptNew,
        /// <summary>StrictHostKeyChecking=no. Only with an explicit insecure switch; every run warns.</summary>
        Insecure,
    }

    /// <summary>Settings of the OpenSSH client transport. User and identity here override the inventory.</summary>
    public sealed class SshOptions
    {
        /// <summary>The ssh executable: a path, or a name looked up on PATH.</summary>
        public string SshPath { get; set; } = "ssh";
        /// <summary>An ssh_config to use instead of the user's (ssh -F).</summary>
        public string? ConfigFile { get; set; }
        public HostKeyPolicy HostKeyPolicy { get; set; } = HostKeyPolicy.Strict;
        /// <summary>Overrides the inventory and ssh_config user.</summary>
        public string? User { get; set; }
        /// <summary>Overrides the inventory identity file.</summary>
        public string? IdentityFile { get; set; }
        /// <summary>Reuse connections through ControlMaster sockets (null = where the platform has it).</summary>
        public bool? Multiplex { get; set; }
        /// <summary>Private (0700) folder for the control sockets; null = the per-user default.</summary>
        public string? ControlDirectory { get; set; }
        /// <summary>How long an idle master connection stays up.</summary>
        public TimeSpan ControlPersist { get; set; } = TimeSpan.FromMinutes(10);
        /// <summary>
        /// A user name and password for password and keyboard-interactive logins (SSH.NET only: OpenSSH never prompts
        /// in batch mode). The password stays a SecureString until the moment a login needs it.
        /// </summary>
        public System.Net.NetworkCredential? Credential { get; set; }
        /// <summary>Unlocks encrypted private key files (SSH.NET only; OpenSSH gets keys from the agent instead).</summary>
        public System.Security.SecureString? KeyPassphrase { get; set; }
        /// <summary>How many commands at once one pooled SSH.NET connection carries (sshd's MaxSessions defaults to 10).</summary>
        public int MaxSessionsPerConnection { get; set; } = 10;
        /// <summary>Further ssh options as "Key=Value", passed with -o before the defaults HerdPS sets.</summary>
        public IList<string> ExtraOptions { get; } = new List<string>();
    }
}
