using System;
using HerdPS.Grouping;

namespace HerdPS.Tests.Grouping
{
    /// <summary>Expected texts are what GNU <c>diff -u --label old --label new</c> prints for the same inputs.</summary>
    public class UnifiedDiffTests
    {
        private static string Diff(string oldText, string newText, int context = 3) => UnifiedDiff.Create(oldText, newText, "old", "new", context);

        private const string Header = "--- old\n+++ new\n";

        [Theory]
        [InlineData("", "")]
        [InlineData("a\nb\n", "a\nb\n")]
        [InlineData("no newline", "no newline")]
        public void IdenticalTextsGiveNothing(string oldText, string newText) => Assert.Equal("", Diff(oldText, newText));

        [Fact]
        public void FromEmpty() => Assert.Equal(Header + "@@ -0,0 +1,2 @@\n+a\n+b\n", Diff("", "a\nb\n"));

        [Fact]
        public void ToEmpty() => Assert.Equal(Header + "@@ -1,2 +0,0 @@\n-a\n-b\n", Diff("a\nb\n", ""));

        [Fact]
        public void OneChangedLineWithThreeLinesOfContext()
            => Assert.Equal(Header + "@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n",
                Diff(Lines(1, 10), Lines(1, 10).Replace("\n5\n", "\nfive\n")));

        [Fact]
        public void DistantChangesMakeSeparateHunks()
            => Assert.Equal(Header + "@@ -1,4 +1,4 @@\n-1\n+one\n 2\n 3\n 4\n@@ -17,4 +17,4 @@\n 17\n 18\n 19\n-20\n+twenty\n",
                Diff(Lines(1, 20), "one\n" + Lines(2, 19) + "twenty\n"));

        [Fact]
        public void ChangesWhoseContextTouchesShareOneHunk()
            => Assert.Equal(Header + "@@ -1,10 +1,10 @@\n 1\n-2\n+X\n 3\n 4\n 5\n 6\n 7\n 8\n-9\n+Y\n 10\n",
                Diff(Lines(1, 10), "1\nX\n" + Lines(3, 8) + "Y\n10\n"));

        [Fact]
        public void AppendedLineAtTheEnd()
            => Assert.Equal(Header + "@@ -6,3 +6,4 @@\n 6\n 7\n 8\n+9\n", Diff(Lines(1, 8), Lines(1, 9)));

        [Fact]
        public void ZeroContextNamesTheLineBeforeAnEmptyRange()
            => Assert.Equal(Header + "@@ -3 +2,0 @@\n-3\n@@ -5,0 +5 @@\n+6\n", Diff(Lines(1, 5), "1\n2\n4\n5\n6\n", context: 0));

        [Fact]
        public void AddedFinalNewlineIsAVisibleChange()
            => Assert.Equal(Header + "@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n", Diff("a\nb", "a\nb\n"));

        [Fact]
        public void BothSidesWithoutFinalNewline()
            => Assert.Equal(Header + "@@ -1 +1 @@\n-a\n\\ No newline at end of file\n+b\n\\ No newline at end of file\n", Diff("a", "b"));

        [Fact]
        public void CarriageReturnsAreNotPrinted()
            => Assert.Equal(Header + "@@ -1,2 +1,2 @@\n a\n-b\n+c\n", Diff("a\r\nb\r\n", "a\r\nc\r\n"));

        [Fact]
        public void UnicodeLinesSurvive()
            => Assert.Equal(Header + "@@ -1,2 +1,2 @@\n 日本語\n-🐑 1\n+🐑 2\n", Diff("日本語\n🐑 1\n", "日本語\n🐑 2\n"));

        [Fact]
        public void EveryOutputLineEndsWithANewline()
        {
            string diff = Diff("x\ny", "x\nz");
            Assert.EndsWith("\n", diff);
            Assert.DoesNotContain("\n\n", diff);
        }

        [Fact]
        public void NegativeContextIsRefused()
            => Assert.Throws<ArgumentOutOfRangeException>(() => Diff("a", "b", context: -1));

        private static string Lines(int from, int to)
        {
            var text = new System.Text.StringBuilder();
            for (int i = from; i <= to; i++) text.Append(i).Append('\n');
            return text.ToString();
        }
    }
}
