using System;
using HerdPS.Inventory;

namespace HerdPS.Tests.Inventory
{
    public class NameRulesTests
    {
        [Theory]
        [InlineData("web-01")]
        [InlineData("web_01.example.com")]
        [InlineData("10.0.0.12")]
        [InlineData("::1")]
        [InlineData("2001:db8::42")]
        [InlineData("fe80::1%eth0")]
        [InlineData("xn--bcher-kva.example")]
        public void AcceptsHostNames(string name)
        {
            Assert.True(NameRules.IsValidHostName(name, out var reason), reason);
        }

        [Theory]
        [InlineData("-oProxyCommand=touch /tmp/x", "starts with '-'")]
        [InlineData("-p", "starts with '-'")]
        [InlineData("web 01", "whitespace")]
        [InlineData("web\t01", "whitespace")]
        [InlineData("web\n01", "whitespace")]
        [InlineData("web\u000101", "control character")]
        [InlineData("web;rm", "';'")]
        [InlineData("web&", "'&'")]
        [InlineData("web|x", "'|'")]
        [InlineData("web$HOME", "'$'")]
        [InlineData("web`id`", "'`'")]
        [InlineData("web'x", "'''")]
        [InlineData("web\"x", "'\"'")]
        [InlineData("web<x", "'<'")]
        [InlineData("web>x", "'>'")]
        [InlineData("web(x)", "'('")]
        [InlineData("web\\x", "'\\'")]
        [InlineData("web*", "'*'")]
        [InlineData("web?", "'?'")]
        [InlineData("web{1,2}", "'{'")]
        [InlineData("web!", "'!'")]
        [InlineData("web[01]", "range")]
        [InlineData("root@web", "'@'")]
        [InlineData("web/01", "'/'")]
        [InlineData("wéb", "ASCII")]
        [InlineData("web%1", "IPv6")]
        [InlineData("fe80::1%", "zone")]
        [InlineData("", "empty")]
        public void RejectsHostNamesThatCouldBecomeOptionsOrShellWords(string name, string expected)
        {
            Assert.False(NameRules.IsValidHostName(name, out var reason));
            Assert.Contains(expected, reason);
        }

        [Fact]
        public void RejectsOverlongHostNames()
        {
            Assert.False(NameRules.IsValidHostName(new string('a', 254), out var reason));
            Assert.Contains("longer than", reason);
        }

        [Fact]
        public void ReasonsNeverCarryRawControlCharacters()
        {
            Assert.False(NameRules.IsValidHostName("a\u001b[31mb", out var reason));
            Assert.DoesNotContain("\u001b", reason, StringComparison.Ordinal);
            Assert.Contains("a\\x1b[31mb", reason);
        }

        [Theory]
        [InlineData("prod")]
        [InlineData("debian12")]
        [InlineData("us-east:1a")]
        [InlineData("team/payments")]
        [InlineData("role.web_front")]
        public void AcceptsTagsAndGroups(string name)
        {
            Assert.True(NameRules.IsValidTagName(name, out var reason), reason);
            Assert.True(NameRules.IsValidGroupName(name, out reason), reason);
        }

        [Theory]
        [InlineData("!staging", "'!'")]
        [InlineData("-prod", "'-'")]
        [InlineData("a,b", "','")]
        [InlineData("a b", "whitespace")]
        [InlineData("a*", "'*'")]
        [InlineData("", "empty")]
        public void RejectsBadTagsAndGroups(string name, string expected)
        {
            Assert.False(NameRules.IsValidTagName(name, out var reason));
            Assert.Contains(expected, reason);
            Assert.False(NameRules.IsValidGroupName(name, out reason));
            Assert.Contains(expected, reason);
        }

        [Theory]
        [InlineData("deploy", true)]
        [InlineData("svc.backup_1", true)]
        [InlineData("-l", false)]
        [InlineData("a b", false)]
        [InlineData("a;b", false)]
        [InlineData("a:b", false)]
        [InlineData("", false)]
        public void ChecksUserNames(string name, bool valid)
        {
            Assert.Equal(valid, NameRules.IsValidUserName(name, out _));
        }
    }
}
