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
        [InlineData("web[1", "has a '[' without a matching ']' at position 4")]
        [InlineData("web]1", "has a ']' without a matching '[' at position 4")]
        [InlineData("web[]", "has an empty set [] at position 4")]
        [InlineData("web[!]", "has an empty set [!] at position 4")]
        [InlineData("web[z-a]", "has the range z-a written high to low in [z-a]; write the low end first (a-z)")]
        [InlineData("n[0001-0003]", "has the range 1-0 written high to low")]
        [InlineData("", "a host pattern can't be empty")]
        public void RejectsMalformedPatternsInItsOwnWords(string pattern, string what)
        {
            var e = Assert.Throws<FormatException>(() => HostGlob.Parse(pattern));
            Assert.Contains(what, e.Message);
            if (pattern.Length > 0) Assert.StartsWith($"host pattern '{pattern}' ", e.Message);
            Assert.DoesNotContain("offset", e.Message);
            Assert.DoesNotContain("Invalid pattern", e.Message);
        }

        [Theory]
        [InlineData("*a*a*a*a*a*a*a*a*b", false)]
        [InlineData("*a*a*a*a*a*a*a*a*", true)]
        [InlineData("a*", true)]
        [InlineData("*", true)]
        [InlineData("**a", true)]
        public void StarsBacktrackCorrectly(string pattern, bool expected)
        {
            Assert.Equal(expected, HostGlob.Parse(pattern).Matches(new string('a', 200)));
        }

        [Theory]
        [InlineData("web-[a-c]?", "WEB-B1", true)]
        [InlineData("web-[A-C]?", "web-b1", true)]
        [InlineData("web-[-x]1", "web--1", true)]
        [InlineData("web-[x-]1", "web--1", true)]
        [InlineData("web-[!a-c]1", "WEB-B1", false)]
        public void SetsAreCaseInsensitiveAndTakeADashAtEitherEnd(string pattern, string name, bool expected)
        {
            Assert.Equal(expected, HostGlob.Parse(pattern).Matches(name));
        }
    }
}
