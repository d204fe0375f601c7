using System;
using System.Linq;
using System.Text;
using HerdPS.Display;

namespace HerdPS.Tests.Display
{
    public class TerminalTextTests
    {
        /// <summary>What a hostile host prints: a window title, cursor-up + erase-line, a clipboard write, a C1 CSI, an RLO.</summary>
        public const string Hostile = "\u001b]0;pwned\u0007 \u001b[1A\u001b[2K \u001b]52;c;cHduZWQ=\u0007 \u009b31m \u202eevil\u202c";

        /// <summary>True for a character no human view may write as it is (newline and tab aside).</summary>
        public static bool IsForbidden(char c) =>
            c < 0x20 && c != '\n' && c != '\t' || c == 0x7f || c >= 0x80 && c <= 0x9f ||
            c == '\u061c' || c == '\u200e' || c == '\u200f' || c >= '\u202a' && c <= '\u202e' || c >= '\u2066' && c <= '\u2069' ||
            c == '\u200b' || c == '\ufeff' || c == '\u2028' || c == '\u2029';

        [Fact]
        public void LineEscapesEveryControlAndBidiCharacterVisibly()
        {
            var line = TerminalText.Line(Hostile + "\n\t\r\u007f\u0085\u2066x\u2069\u200b\ufeff\u2028");
            Assert.DoesNotContain(line, IsForbidden);
            Assert.DoesNotContain('\n', line);
            Assert.DoesNotContain('\t', line);
            Assert.Equal(@"\x1b]0;pwned\x07 \x1b[1A\x1b[2K \x1b]52;c;cHduZWQ=\x07 \u009b31m \u202eevil\u202c\n\t\r\x7f\u0085\u2066x\u2069\u200b\ufeff\u2028", line);
        }

        [Fact]
        public void BlockKeepsNewlinesAndTabsAsLayoutAndReadsCrlfAsANewline()
        {
            Assert.Equal("a\tb\nc\nd\\re", TerminalText.Block("a\tb\r\nc\nd\re"));
            Assert.Equal("a\tb\\n", TerminalText.OutputLine("a\tb\n"));
        }

        [Fact]
        public void OrdinaryTextIsUntouched()
        {
            foreach (var text in new[] { "plain ascii ~!@#$%^&*()", "café naïve", "日本語", "emoji 👩‍👩‍👧 (zero-width joiners stay)", "back\\slash" })
            {
                Assert.Same(text, TerminalText.Line(text));
                Assert.Same(text, TerminalText.Block(text));
            }
        }

        [Fact]
        public void UnpairedSurrogatesAreEscaped()
        {
            Assert.Equal(@"a\ud800b\udc00", TerminalText.Line("a\ud800b\udc00"));
        }

        [Fact]
        public void NoCharacterOfTheBasicPlaneSurvivesUnescapedIfATerminalCouldActOnIt()
        {
            var all = new StringBuilder();
            for (int c = 0; c <= 0xffff; c++) all.Append((char)c);
            var line = TerminalText.Line(all.ToString());
            Assert.DoesNotContain(line, IsForbidden);
            foreach (var ch in line) Assert.False(TerminalText.IsUnsafe(ch) && !char.IsSurrogate(ch), $"U+{(int)ch:X4} passed");
            var block = TerminalText.Block(all.ToString());
            Assert.DoesNotContain(block, IsForbidden);
        }

        [Fact]
        public void QuoteCutsAHugeValueAndSaysHowLongItWas()
        {
            var huge = new string('a', 10 * 1024 * 1024);
            var quoted = TerminalText.Quote(huge);
            Assert.True(quoted.Length < 120, quoted);
            Assert.Equal("'" + new string('a', TerminalText.DefaultQuoteLength) + "...' (10485760 characters)", quoted);
            Assert.Equal("'web-01'", TerminalText.Quote("web-01"));
            Assert.Equal(@"'a\x1bb'", TerminalText.Quote("a\u001bb"));
        }

        [Fact]
        public void CuttingNeverSplitsASurrogatePair()
        {
            var text = new string('a', 79) + "😀" + new string('b', 100);
            Assert.DoesNotContain(@"\ud83d", TerminalText.Quote(text));
            Assert.DoesNotContain(@"\ud83d", TerminalText.Line(text, 80));
            Assert.EndsWith("... (181 characters)", TerminalText.Line(text, 80));
        }
    }
}
