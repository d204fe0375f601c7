using System;
using HerdPS.Inventory;

namespace HerdPS.Tests.Inventory
{
    public class DurationTests
    {
        [Theory]
        [InlineData("30s", 0, 0, 30, 0)]
        [InlineData("5m", 0, 5, 0, 0)]
        [InlineData("1h30m", 1, 30, 0, 0)]
        [InlineData("250ms", 0, 0, 0, 250)]
        [InlineData("1m30s500ms", 0, 1, 30, 500)]
        [InlineData("45", 0, 0, 45, 0)]
        [InlineData("0", 0, 0, 0, 0)]
        [InlineData("90s", 0, 1, 30, 0)]
        public void ParsesCompactForms(string text, int hours, int minutes, int seconds, int milliseconds)
        {
            Assert.Equal(new TimeSpan(0, hours, minutes, seconds, milliseconds), Duration.Parse(text));
        }

        [Fact]
        public void ParsesDays()
        {
            Assert.Equal(TimeSpan.FromDays(2), Duration.Parse("2d"));
            Assert.Equal(TimeSpan.FromDays(1) + TimeSpan.FromHours(12), Duration.Parse("1d12h"));
        }

        [Theory]
        [InlineData("")]
        [InlineData("-5s")]
        [InlineData("5x")]
        [InlineData("5 s")]
        [InlineData(" 5s")]
        [InlineData("1.5h")]
        [InlineData("5S")]
        [InlineData("s")]
        [InlineData("1h30")]
        [InlineData("30m1h")]
        [InlineData("1m1m")]
        [InlineData("5sec")]
        [InlineData("99999999999999999999s")]
        [InlineData("999999999d")]
        public void RejectsAnythingElse(string text)
        {
            Assert.False(Duration.TryParse(text, out _));
            var error = Assert.Throws<FormatException>(() => Duration.Parse(text));
            if (text.Length > 0) Assert.Contains("'" + text + "'", error.Message);
        }

        [Fact]
        public void UnknownUnitIsNamed()
        {
            var error = Assert.Throws<FormatException>(() => Duration.Parse("10y"));
            Assert.Contains("unknown unit 'y'", error.Message);
        }

        [Theory]
        [InlineData(0, "0s")]
        [InlineData(90_000, "1m30s")]
        [InlineData(250, "250ms")]
        [InlineData(5_400_000, "1h30m")]
        [InlineData(172_800_000, "2d")]
        [InlineData(90_061_001, "1d1h1m1s1ms")]
        public void FormatsCompactly(long milliseconds, string expected)
        {
            Assert.Equal(expected, Duration.Format(TimeSpan.FromMilliseconds(milliseconds)));
        }

        [Fact]
        public void FormatRoundTripsThroughParse()
        {
            var value = new TimeSpan(3, 4, 5, 6, 7);
            Assert.Equal(value, Duration.Parse(Duration.Format(value)));
        }

        [Fact]
        public void FormatRejectsNegative()
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => Duration.Format(TimeSpan.FromSeconds(-1)));
        }
    }
}
