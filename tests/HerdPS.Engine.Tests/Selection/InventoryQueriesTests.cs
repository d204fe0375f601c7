using System;
using System.Linq;
using HerdPS.Inventory;
using HerdPS.Selection;
using HerdPS.Tests.Inventory;

namespace HerdPS.Tests.Selection
{
    public class InventoryQueriesTests : IDisposable
    {
        private readonly TempDirectory temp = new TempDirectory();

        public void Dispose() => temp.Dispose();

        [Fact]
        public void TagsAndGroupsAreSummarizedSortedByName()
        {
            var inventory = InventoryLoader.Load(temp.Write("fleet.yaml", @"
groups:
  web:
    tags: [nginx]
    hosts:
      - host: web-01
        tags: [prod]
      - host: web-02
        tags: [Staging]
  Backup:
    hosts:
      - host: db-01
        tags: [prod]
  empty:
"));
            var tags = InventoryQueries.Tags(inventory);
            Assert.Equal(new[] { "nginx", "prod", "Staging" }, tags.Select(t => t.Tag));
            var prod = tags[1];
            Assert.Equal(2, prod.HostCount);
            Assert.Equal(new[] { "web-01", "db-01" }, prod.HostNames);

            var groups = InventoryQueries.Groups(inventory);
            Assert.Equal(new[] { "Backup", "empty", "web" }, groups.Select(g => g.Group));
            Assert.Equal(new[] { 1, 0, 2 }, groups.Select(g => g.HostCount));
            Assert.Equal(new[] { "web-01", "web-02" }, groups[2].HostNames);
        }
    }
}
