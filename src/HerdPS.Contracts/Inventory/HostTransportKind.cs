namespace HerdPS.Inventory
{
    /// <summary>How a command reaches a host.</summary>
    public enum HostTransportKind
    {
        /// <summary>The OpenSSH client, honouring the user's ssh_config.</summary>
        Ssh,
        /// <summary>This machine, without SSH (the embedded default, and <c>transport: local</c>).</summary>
        Local,
    }
}
