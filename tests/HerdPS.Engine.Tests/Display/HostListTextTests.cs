using System;
using System.Collections.Generic;
using System.Linq;
using HerdPS.Display;
using HerdPS.Selection;

namespace HerdPS.Tests.Display
{
    public class HostListTextTests
    {
        private static IEnumerable<string> Names(string prefix, int from, int to, int width) =>
            Enumerable.Range(from, to - from + 1).Select(i => prefix + i.ToString().PadLeft(width, '0'));

        [Fact]
        public void AHundredPaddedNamesFoldIntoOneRange()
        {
            Assert.Equal("n[0001-0100]", HostListText.Fold(Names("n", 1, 100, 4)));
        }

        [Theory]
        [InlineData("db01,web-01,web-02,web-03", "db01,web-[01-03]")]
        [InlineData("web-01,web-02,web-03,web-07", "web-[01-03,07]")]
        [InlineData("n01,n02,n03,n04,n05,n06,n07,n08,n09,n10", "n[01-10]")]
        [InlineData("n8,n9,n10,n11", "n[8-11]")]
        [InlineData("n098,n099,n100", "n[098-100]")]
        [InlineData("n1,n01", "n1,n01")]
        [InlineData("localhost", "localhost")]
        [InlineData("rack1-n01,rack1-n02,rack2-n01", "rack1-n[01-02],rack2-n01")]
        [InlineData("web1.example.com,web2.example.com", "web[1-2].example.com")]
        [InlineData("10.0.0.1,10.0.0.2,10.0.0.3", "10.0.0.[1-3]")]
        [InlineData("h001,h001", "h001")]
        public void FoldsAsClushDoes(string names, string folded)
        {
            Assert.Equal(folded, HostListText.Fold(names.Split(',')));
        }

        [Fact]
        public void TheFoldedTextExpandsBackToTheSameNames()
        {
            var random = new Random(11);
            for (int round = 0; round < 200; round++)
            {
                var names = new HashSet<string>();
                int count = random.Next(1, 60);
                for (int i = 0; i < count; i++)
                {
                    var prefix = new[] { "web-", "db", "n", "rack1-n", "" }[random.Next(5)];
                    var number = random.Next(0, 130);
                    var width = random.Next(0, 4);
                    var suffix = random.Next(4) == 0 ? ".lan" : "";
                    names.Add(prefix + number.ToString().PadLeft(width, '0') + suffix);
                }
                var folded = HostListText.Fold(names.OrderBy(n => n, StringComparer.Ordinal));
                var expanded = HostPattern.SplitList(folded).SelectMany(p => HostPattern.Expand(p)).ToList();
                Assert.Equal(names.OrderBy(n => n), expanded.OrderBy(n => n));
                Assert.Equal(expanded.Count, expanded.Distinct().Count());
            }
        }

        [Fact]
        public void NamesAreEscapedForTheTerminal()
        {
            Assert.Equal(@"a\x1b]0;x\x07,b\u202e", HostListText.Fold(new[] { "a\u001b]0;x\u0007", "b\u202e" }));
        }
    }
}
