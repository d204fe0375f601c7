using System;
using HerdPS.Selection;

namespace HerdPS.Tests.Selection
{
    public class HostGlobTests
    {
        [Theory]
        [InlineData("web-*", "web-01", true)]
        [InlineData("web-*", "db-01", false)]
        [InlineData("web-0?", "web-01", true)]
        [InlineData("web-0?", "web-010", false)]
        [InlineData("web-0[13]", "web-03", true)]
        [InlineData("web-0[13]", "web-02", false)]
        [InlineData("web-0[1-3]", "web-02", true)]
        [InlineData("web-0[!1-3]", "web-02", false)]
        [InlineData("web-0[!1-3]", "web-05", true)]
        [InlineData("WEB-*", "web-01", true)]
        [InlineData("*.example.com", "a.example.com", true)]
        [InlineData("*.example.com", "aXexample.com", false)]
        [InlineData("web-01", "web-01", true)]
        [InlineData("web-01", "web-011", false)]
        public void Matches(string pattern, string name, bool expected)
        {
            Assert.Equal(expected, HostGlob.Parse(pattern).Matches(name));
        }

        [Theory]
        [InlineData("web[1")]
        [InlineData("web[]")]
        [InlineData("web[!]")]
        [InlineData("")]
        public void RejectsMalformedPatterns(string pattern)
        {
            Assert.Throws<FormatException>(() => HostGlob.Parse(pattern));
        }
    }
}
