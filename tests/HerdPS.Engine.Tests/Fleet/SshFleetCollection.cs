namespace HerdPS.Tests.Fleet
{
    /// <summary>
    /// One <see cref="SshFleet"/> per test run: integration test classes say <c>[Collection("ssh fleet")]</c>
    /// and take <c>SshFleet fleet</c> in their constructor. Classes in one collection run one after another,
    /// so their timings and sshd log counts don't disturb each other.
    /// </summary>
    [CollectionDefinition(Name)]
    public sealed class SshFleetCollection : ICollectionFixture<SshFleet>
    {
        public const string Name = "ssh fleet";
    }
}
