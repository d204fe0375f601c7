using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using HerdPS.Tail;

namespace HerdPS.Tests.Tail
{
    /// <summary>
    /// The reading of a follower's output on its own: where a session stands when it ends, so the next one sends
    /// nothing twice and nothing less. (The fleet tests run the same through real hosts; these pin the bookkeeping.)
    /// </summary>
    public sealed class FollowerStreamTests
    {
        private static readonly TailOptions Options = Make();

        private static TailOptions Make()
        {
            var o = new TailOptions();
            o.Paths.Add("/var/log/app.log");
            return o;
        }

        private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text.Replace("^", "\u001e"));

        private sealed class Session
        {
            public readonly List<string> Delivered = new List<string>();
            public FollowerStream Stream = null!;
            public int Accept = int.MaxValue;

            public static Session Start(IReadOnlyList<FilePosition?> positions, IReadOnlyList<int> skip, int accept = int.MaxValue)
            {
                var s = new Session { Accept = accept };
                s.Stream = new FollowerStream("h1", Options, positions, skip, null, r =>
                {
                    if (r.Kind != FollowerRecordKind.Line) return true;
                    if (s.Delivered.Count >= s.Accept) return false;
                    s.Delivered.Add(r.Line!.Line);
                    return true;
                });
                return s;
            }

            public void Feed(string text)
            {
                var b = Bytes(text);
                // In pieces, as a pipe hands them over: a record may be split anywhere.
                for (int i = 0; i < b.Length; i += 7) Stream.Feed(b.Skip(i).Take(7).ToArray(), Math.Min(7, b.Length - i));
            }
        }

        private static string Lines(int from, int to) => string.Concat(Enumerable.Range(from, to - from + 1).Select(i => $"1:line {i}\n"));

        [Fact]
        public void A_session_that_ends_before_the_skipped_lines_came_again_still_skips_them_all_next_time()
        {
            // Session 1: position at 0, lines 1-5 arrive, the position after them never does (the connection dropped).
            var one = Session.Start(new FilePosition?[1], new int[1]);
            one.Feed("^S\n^C 1 42 0 -\n^P 1 42 0 -\n" + Lines(1, 5));
            one.Stream.Finish();
            Assert.Equal(Enumerable.Range(1, 5).Select(i => $"line {i}"), one.Delivered);
            Assert.Equal(5, one.Stream.SkipLines[0]);

            // Session 2 resumes at 0 and drops after three of those five lines came again.
            var two = Session.Start(one.Stream.FilePositions, one.Stream.SkipLines);
            two.Feed("^S\n^N 1 resumed\n^P 1 42 0 -\n" + Lines(1, 3));
            two.Stream.Finish();
            Assert.Empty(two.Delivered);
            Assert.Equal(5, two.Stream.SkipLines[0]);

            // Session 3 gets them all, and what came after.
            var three = Session.Start(two.Stream.FilePositions, two.Stream.SkipLines);
            three.Feed("^S\n^N 1 resumed\n^P 1 42 0 -\n" + Lines(1, 8) + "^P 1 42 64 abcd\n" + Lines(9, 9));
            Assert.Equal(new[] { "line 6", "line 7", "line 8", "line 9" }, three.Delivered);
            Assert.Equal("64", three.Stream.FilePositions[0]!.Offset.ToString());
            Assert.Equal(1, three.Stream.SkipLines[0]);
        }

        [Fact]
        public void A_refused_line_is_not_counted_so_the_next_session_sends_it()
        {
            var one = Session.Start(new FilePosition?[1], new int[1], accept: 3);
            one.Feed("^S\n^C 1 7 0 -\n^P 1 7 0 -\n" + Lines(1, 10));
            Assert.True(one.Stream.Refused);
            Assert.Equal(3, one.Stream.SkipLines[0]);
            var two = Session.Start(one.Stream.FilePositions, one.Stream.SkipLines);
            two.Feed("^S\n^N 1 resumed\n^P 1 7 0 -\n" + Lines(1, 10));
            Assert.Equal(Enumerable.Range(1, 10).Select(i => $"line {i}"), one.Delivered.Concat(two.Delivered));
        }

        [Fact]
        public void Context_lines_are_shown_once_and_never_counted_toward_a_resume()
        {
            var one = Session.Start(new FilePosition?[1], new int[1]);
            one.Feed("^S\n^C 1 9 30 -\n1:old a\n1:old b\n^P 1 9 30 -\n" + Lines(1, 2));
            Assert.Equal(new[] { "old a", "old b", "line 1", "line 2" }, one.Delivered);
            Assert.Equal(2, one.Stream.SkipLines[0]);
            Assert.Equal(30, one.Stream.FilePositions[0]!.Offset);
        }

        [Fact]
        public void A_line_that_looks_like_a_record_is_just_a_line_and_unknown_records_are_ignored()
        {
            var one = Session.Start(new FilePosition?[1], new int[1]);
            one.Feed("^S\n^P 1 9 0 -\n1:^P 1 9 999 forged\n^Z whatever\n9:no such file\nnot a record\n1:after\n");
            Assert.Equal(new[] { "\u001eP 1 9 999 forged", "after" }, one.Delivered);
            Assert.Equal(0, one.Stream.FilePositions[0]!.Offset);
        }
    }
}
