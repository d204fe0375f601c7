namespace HerdPS.Inventory
{
    /// <summary>
    /// How the inventory says a command reaches a host (<c>transport:</c> of a host or group). The names are the
    /// transport registry's kinds; <see cref="Ssh"/> is the older spelling for "the run's SSH transport".
    /// </summary>
    public enum HostTransportKind
    {
        /// <summary><c>ssh</c> (or nothing said): the run's SSH transport, <c>-Transport</c> / <c>--transport</c>, else the default (openssh).</summary>
        Ssh,
        /// <summary>This machine, without SSH (the embedded default, and <c>transport: local</c>).</summary>
        Local,
        /// <summary><c>auto</c>: SSH.NET where it can serve the host as ssh would, else the OpenSSH client.</summary>
        Auto,
        /// <summary><c>openssh</c>: the user's own OpenSSH client, honouring every ssh_config option and the agent.</summary>
        OpenSsh,
        /// <summary><c>sshnet</c>: SSH.NET in-process; a host it can't serve is an error, not a fallback.</summary>
        SshNet,
    }
}
