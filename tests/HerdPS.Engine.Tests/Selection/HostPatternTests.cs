using System;
using System.Linq;
using HerdPS.Selection;

namespace HerdPS.Tests.Selection
{
    public class HostPatternTests
    {
        [Theory]
        [InlineData("n[0001-0003]", "n0001 n0002 n0003")]
        [InlineData("web[02-04]", "web02 web03 web04")]
        [InlineData("n[01-03,07]", "n01 n02 n03 n07")]
        [InlineData("n[8-10]", "n8 n9 n10")]
        [InlineData("rack[1-2]-n[1-2]", "rack1-n1 rack1-n2 rack2-n1 rack2-n2")]
        [InlineData("web[1-2]*", "web1* web2*")]
        [InlineData("rack[1-2]-n[ab]", "rack1-n[ab] rack2-n[ab]")]
        [InlineData("deploy@web[1-2]:2222", "deploy@web1:2222 deploy@web2:2222")]
        [InlineData("web-0[13]", "web-013")]
        public void BracketsOfDigitsCommasAndDashesAreRanges(string pattern, string expected)
        {
            Assert.Equal(expected.Split(' '), HostPattern.Expand(pattern));
        }

        [Theory]
        [InlineData("web-*")]
        [InlineData("web-[abc]")]
        [InlineData("web-0[!1-3]")]
        [InlineData("[::1]:22")]
        [InlineData("root@[fe80::1%eth0]")]
        [InlineData("web[1")]
        [InlineData("plain")]
        public void EverythingElseIsLeftForTheGlob(string pattern)
        {
            Assert.Equal(new[] { pattern }, HostPattern.Expand(pattern));
        }

        [Theory]
        [InlineData("web[3-1]", "reversed range 3-1")]
        [InlineData("web[1-]", "incomplete range")]
        [InlineData("web[1,,2]", "empty item")]
        [InlineData("a[1-1000]b[1-1000]", "expands to more than 100,000 names")]
        public void RangeErrorsNameThePattern(string pattern, string what)
        {
            var e = Assert.Throws<FormatException>(() => HostPattern.Expand(pattern));
            Assert.StartsWith($"host pattern '{pattern}'", e.Message);
            Assert.Contains(what, e.Message);
        }

        [Fact]
        public void AnOverlongPatternIsRefusedAndNotEchoedWhole()
        {
            var pattern = string.Concat(Enumerable.Repeat("[1]", 100_000));
            var e = Assert.Throws<FormatException>(() => HostPattern.Expand(pattern));
            Assert.Contains("(300000 characters) is longer than 1012 characters", e.Message);
            Assert.True(e.Message.Length < 300, e.Message);
        }

        [Theory]
        [InlineData("web[01-03,07],db1", "web[01-03,07]|db1")]
        [InlineData("a,b", "a|b")]
        [InlineData("a,,b", "a||b")]
        [InlineData("[::1]:22,web", "[::1]:22|web")]
        public void ListsSplitAtCommasOutsideBrackets(string text, string expected)
        {
            Assert.Equal(expected.Split('|'), HostPattern.SplitList(text));
        }
    }
}
