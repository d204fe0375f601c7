namespace HerdPS
{
    /// <summary>
    /// The transport a run uses for its SSH hosts (<c>-Transport</c>; <c>herd --transport</c>). The names are the
    /// transport registry's kinds, and <see cref="FleetResult.Transport"/> says which one ran each host.
    /// </summary>
    public enum FleetTransport
    {
        /// <summary>SSH.NET in-process where it can serve the host as <c>ssh host</c> would, else the OpenSSH client.</summary>
        Auto,
        /// <summary>The user's own OpenSSH client (ssh_config, agent, ProxyJump; ControlMaster pooling): the default.</summary>
        OpenSsh,
        /// <summary>SSH.NET in-process over the process-wide pool; a host it can't serve is an error.</summary>
        SshNet,
        /// <summary>Every host runs on this machine, without SSH.</summary>
        Local,
    }
}
