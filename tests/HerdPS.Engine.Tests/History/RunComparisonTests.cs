using System;
using System.Linq;
using HerdPS.History;
using static HerdPS.Tests.History.HistoryTestData;

namespace HerdPS.Tests.History
{
    public class RunComparisonTests
    {
        [Fact]
        public void SameOutputAndStatusIsUnchanged()
        {
            var change = RunComparison.Compare(new[] { Result("web-01", "1.25\n") }, new[] { Result("web-01", "1.25\n") }).Single();
            Assert.Equal(HostChangeKind.Unchanged, change.Change);
            Assert.Equal("", change.Diff);
            Assert.Equal(change.ReferenceHash, change.DifferenceHash);
        }

        [Fact]
        public void ChangedOutputCarriesAUnifiedDiff()
        {
            var before = Result("web-03", "bash-5.2\nnginx-1.25.3\nzlib-1.3\n");
            var after = Result("web-03", "bash-5.2\nnginx-1.26.0\nzlib-1.3\n");

            var change = RunComparison.Compare(new[] { before }, new[] { after }, "2026-02-27 14:30", "2026-02-28 09:15").Single();

            Assert.Equal(HostChangeKind.Changed, change.Change);
            Assert.Equal(FleetStatus.Succeeded, change.ReferenceStatus);
            Assert.Equal(FleetStatus.Succeeded, change.DifferenceStatus);
            Assert.NotEqual(change.ReferenceHash, change.DifferenceHash);
            Assert.Equal(
                "--- 2026-02-27 14:30\n+++ 2026-02-28 09:15\n@@ -1,3 +1,3 @@\n bash-5.2\n-nginx-1.25.3\n+nginx-1.26.0\n zlib-1.3\n",
                change.Diff);
            Assert.Same(before, change.Reference);
            Assert.Same(after, change.Difference);
        }

        [Fact]
        public void StatusChangeAloneIsAChange()
        {
            var before = Result("db-01", "", FleetStatus.Succeeded, 0);
            var after = Result("db-01", "", FleetStatus.TimedOut, null);
            after.OutputHash = before.OutputHash; // same output, e.g. both empty

            var change = RunComparison.Compare(new[] { before }, new[] { after }).Single();

            Assert.Equal(HostChangeKind.Changed, change.Change);
            Assert.Equal(FleetStatus.Succeeded, change.ReferenceStatus);
            Assert.Equal(FleetStatus.TimedOut, change.DifferenceStatus);
            Assert.Equal("", change.Diff);
        }

        [Fact]
        public void HostsOnlyInOneRunAreAddedOrRemoved()
        {
            var changes = RunComparison.Compare(
                new[] { Result("web-02", "a\n"), Result("web-01", "x\n") },
                new[] { Result("WEB-01", "x\n"), Result("web-03", "new\n") });

            Assert.Equal(new[] { "WEB-01", "web-02", "web-03" }, changes.Select(c => c.HostName));
            Assert.Equal(new[] { HostChangeKind.Unchanged, HostChangeKind.Removed, HostChangeKind.Added }, changes.Select(c => c.Change));

            var removed = changes[1];
            Assert.Equal(FleetStatus.Succeeded, removed.ReferenceStatus);
            Assert.Null(removed.DifferenceStatus);
            Assert.Null(removed.DifferenceHash);
            Assert.Contains("-a\n", removed.Diff);

            var added = changes[2];
            Assert.Null(added.ReferenceStatus);
            Assert.Null(added.Reference);
            Assert.Contains("+new\n", added.Diff);
        }

        [Fact]
        public void HostTwiceInOneRunIsAnError()
            => Assert.Throws<ArgumentException>(() =>
                RunComparison.Compare(new[] { Result("a"), Result("A") }, Array.Empty<FleetResult>()));

        [Fact]
        public void EmptyRunsCompareToNothing()
            => Assert.Empty(RunComparison.Compare(Array.Empty<FleetResult>(), Array.Empty<FleetResult>()));
    }
}
