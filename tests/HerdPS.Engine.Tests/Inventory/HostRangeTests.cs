using System;
using System.Linq;
using HerdPS.Inventory;

namespace HerdPS.Tests.Inventory
{
    public class HostRangeTests
    {
        [Fact]
        public void TextWithoutBracketsIsItself()
        {
            Assert.Equal(new[] { "web-01" }, HostRange.Expand("web-01"));
        }

        [Fact]
        public void KeepsZeroPadding()
        {
            var names = HostRange.Expand("web[01-20]");
            Assert.Equal(20, names.Count);
            Assert.Equal("web01", names[0]);
            Assert.Equal("web09", names[8]);
            Assert.Equal("web20", names[19]);
        }

        [Fact]
        public void UnpaddedLowBoundGivesUnpaddedNames()
        {
            Assert.Equal(new[] { "n8", "n9", "n10" }, HostRange.Expand("n[8-10]"));
        }

        [Fact]
        public void PaddingFollowsTheLowBoundsWidth()
        {
            Assert.Equal(new[] { "n098", "n099", "n100" }, HostRange.Expand("n[098-100]"));
        }

        [Fact]
        public void SeveralBracketsAreACartesianProductInWritingOrder()
        {
            Assert.Equal(
                new[] { "rack1-n1", "rack1-n2", "rack1-n3", "rack2-n1", "rack2-n2", "rack2-n3" },
                HostRange.Expand("rack[1-2]-n[1-3]"));
        }

        [Fact]
        public void ListsAndRangesMix()
        {
            Assert.Equal(new[] { "db1", "db3", "db5", "db6", "db7" }, HostRange.Expand("db[1,3,5-7]"));
        }

        [Fact]
        public void TextAfterTheBracketIsKept()
        {
            Assert.Equal(new[] { "web1.example.com", "web2.example.com" }, HostRange.Expand("web[1-2].example.com"));
        }

        [Theory]
        [InlineData("web[01-20", "without a matching ']'")]
        [InlineData("web01-20]", "without a matching '['")]
        [InlineData("web[]", "empty bracket")]
        [InlineData("web[1,,2]", "empty item")]
        [InlineData("web[a-c]", "brackets hold numbers")]
        [InlineData("web[1-]", "incomplete range")]
        [InlineData("web[[1-2]]", "can't nest")]
        [InlineData("web[20-01]", "reversed range")]
        [InlineData("[::1]", "IPv6")]
        public void MalformedPatternsAreErrors(string pattern, string expected)
        {
            var error = Assert.Throws<FormatException>(() => HostRange.Expand(pattern));
            Assert.Contains(expected, error.Message);
            Assert.Contains(pattern, error.Message);
        }

        [Fact]
        public void ExpansionIsCappedAtOneHundredThousandNames()
        {
            Assert.Equal(100_000, HostRange.Expand("n[1-100000]").Count);
            Assert.Throws<HostLimitException>(() => HostRange.Expand("n[1-100001]"));
            // The product is checked before anything is built.
            var error = Assert.Throws<HostLimitException>(() => HostRange.Expand("a[1-1000]b[1-1000]"));
            Assert.Contains("more than", error.Message);
            Assert.ThrowsAny<FormatException>(() => HostRange.Expand("n[1-999999999999999999]"));
        }

        [Fact]
        public void ExpandedNamesAreDistinctAndOrdered()
        {
            var names = HostRange.Expand("x[1-3]");
            Assert.Equal(names.OrderBy(n => n, StringComparer.Ordinal), names);
        }

        [Fact]
        public void CountSaysHowManyNamesWithoutBuildingThem()
        {
            Assert.Equal(1, HostRange.Count("web-01"));
            Assert.Equal(20, HostRange.Count("web[01-20]"));
            Assert.Equal(6, HostRange.Count("rack[1-2]-n[1,3,5]"));
            Assert.Equal(1_000_000_000_000_000_000L, HostRange.Count("a[1-1000]b[1-1000]c[1-1000]d[1-1000]e[1-1000]f[1-1000]"));
            Assert.Equal(long.MaxValue, HostRange.Count(string.Concat(Enumerable.Repeat("[1-1000000]", 10))));
            Assert.Throws<FormatException>(() => HostRange.Count("web[20-01]"));
        }

        [Fact]
        public void ACallersCapIsCheckedBeforeAnythingIsBuilt()
        {
            Assert.Equal(5, HostRange.Expand("n[1-5]", maxNames: 5).Count);
            var error = Assert.Throws<HostLimitException>(() => HostRange.Expand("n[1-6]", maxNames: 5));
            Assert.Equal("'n[1-6]' expands to more than 5 names", error.Message);
            Assert.Equal(250_000, HostRange.Expand("n[1-250000]", maxNames: 250_000).Count);
        }

        [Fact]
        public void ThousandsOfBracketsNeitherRecurseNorBuildOverlongNames()
        {
            // One name from 60 one-number brackets: built without a recursion per bracket.
            Assert.Equal(new[] { "n" + new string('7', 60) }, HostRange.Expand("n" + string.Concat(Enumerable.Repeat("[7]", 60))));
            // 30,000 brackets would make a 30,001-character name: refused before it is built.
            var error = Assert.Throws<FormatException>(() => HostRange.Expand("n" + string.Concat(Enumerable.Repeat("[1]", 30_000))));
            Assert.Contains("makes names of up to 30,001 characters; a host name has at most 253", error.Message);
            Assert.True(error.Message.Length < 300, error.Message);
            // 17 two-way brackets: 131,072 names, over the cap, counted first.
            Assert.Throws<HostLimitException>(() => HostRange.Expand(string.Concat(Enumerable.Repeat("[1-2]", 17))));
        }
    }
}
