using System;
using HerdPS.History;

namespace HerdPS.Tests.History
{
    public class LikePatternTests
    {
        [Theory]
        [InlineData("uname*", "uname -r", true)]
        [InlineData("uname*", "UNAME -a", true)]
        [InlineData("uname", "uname -r", false)]
        [InlineData("*nginx*", "systemctl is-active nginx", true)]
        [InlineData("d? -h", "df -h", true)]
        [InlineData("d? -h", "du  -h", false)]
        [InlineData("[a-d]f*", "df -h", true)]
        [InlineData("[a-d]f*", "ef -h", false)]
        [InlineData("[xyz]", "Y", true)]
        [InlineData("`[ -f x `]", "[ -f x ]", true)]
        [InlineData("a`*b", "a*b", true)]
        [InlineData("a`*b", "axb", false)]
        [InlineData("echo $HOME (x)+.", "echo $HOME (x)+.", true)]
        [InlineData("*", "", true)]
        [InlineData("line1*", "line1\nline2", true)]
        [InlineData("straße*", "STRASSE", false)]
        [InlineData("ÄÖÜ*", "äöü x", true)]
        public void MatchesLikePowerShellLike(string pattern, string text, bool expected)
            => Assert.Equal(expected, new LikePattern(pattern).IsMatch(text));

        [Theory]
        [InlineData("abc[")]
        [InlineData("[]")]
        public void MalformedSetsAreErrors(string pattern)
            => Assert.Throws<ArgumentException>(() => new LikePattern(pattern));
    }
}
