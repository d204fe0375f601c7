using HerdPS.Inventory;

namespace HerdPS.Tests
{
    public class InventoryDefaultTests
    {
        [Fact]
        public void EmbeddedDefaultIsTheLocalMachineWithoutSsh()
        {
            var inv = FleetInventory.EmbeddedDefault();
            Assert.True(inv.IsEmbeddedDefault);
            var host = Assert.Single(inv.Hosts);
            Assert.Equal(HostTransportKind.Local, host.Transport);
        }
    }
}
