using System;
using System.Collections.Generic;

namespace HerdPS.Grouping
{
    /// <summary>One change: <see cref="DeleteCount"/> lines of the old text at <see cref="DeleteStart"/> replaced by
    /// <see cref="InsertCount"/> lines of the new text at <see cref="InsertStart"/> (0-based line indexes).</summary>
    internal readonly struct LineChange
    {
        public LineChange(int deleteStart, int deleteCount, int insertStart, int insertCount)
        {
            DeleteStart = deleteStart;
            DeleteCount = deleteCount;
            InsertStart = insertStart;
            InsertCount = insertCount;
        }

        public int DeleteStart { get; }
        public int DeleteCount { get; }
        public int InsertStart { get; }
        public int InsertCount { get; }
    }

    /// <summary>How a diff was found: the search that finished within the budget, or none of them.</summary>
    internal enum DiffSearch
    {
        /// <summary>The texts are identical.</summary>
        None,
        /// <summary>Myers' search: a minimal diff.</summary>
        Minimal,
        /// <summary>The patience search, after the minimal one ran out of budget.</summary>
        Patience,
        /// <summary>Both ran out of budget: no diff.</summary>
        OverBudget,
    }

    /// <summary>
    /// Finds which lines changed between two sequences of line ids, with a bounded amount of work, so that no
    /// input (hostile, or just huge) can make a diff run for minutes. The steps, each there for a reason:
    /// <list type="number">
    /// <item>The common prefix and suffix are matched first: most outputs differ in a few places.</item>
    /// <item>A line that occurs nowhere in the other text can never match, so it is marked changed and left out
    /// of the search (as GNU diff and git do); this keeps the minimal diff and shrinks it to the lines that could
    /// match. Outputs that share few lines cost next to nothing.</item>
    /// <item>Myers' O(ND) algorithm in linear space (the divide-and-conquer form GNU diff uses) finds a minimal
    /// diff of what is left, counting its work. Its cost grows with the number of differences times the length.</item>
    /// <item>Past the budget, the patience approach: lines that occur exactly once on each side are anchors, the
    /// longest run of them in the same order is matched, and the gaps between anchors are diffed the same way
    /// (with Myers, still counted, where a gap has no unique lines). That handles reordered and moved lines,
    /// the usual cause of a large Myers cost, in about linear time, and is no longer always minimal.</item>
    /// <item>Past the budget again, no diff: the caller says so instead.</item>
    /// </list>
    /// Work is counted in steps (one step per line comparison or per diagonal tried), never in wall time, so the same
    /// inputs give the same result on a busy machine and an idle one.
    /// </summary>
    internal sealed class LineDiff
    {
        private readonly int[] _old;
        private readonly int[] _new;
        private readonly bool[] _deleted;
        private readonly bool[] _inserted;

        // The lines still searched after the unmatched ones are left out, and where each one is in the full text.
        private int[] _a = Array.Empty<int>();
        private int[] _b = Array.Empty<int>();
        private int[] _aIndex = Array.Empty<int>();
        private int[] _bIndex = Array.Empty<int>();

        // Myers' furthest-reaching x per diagonal (x - y), forward and backward, offset so diagonal -M-1 is index 0.
        private int[] _forward = Array.Empty<int>();
        private int[] _backward = Array.Empty<int>();
        private int _diagonalOffset;

        private long _work;
        private long _limit;
        /// <summary>Steps of a search that ran out of budget (its count stops at the limit), kept when the next search starts.</summary>
        private long _spent;

        private LineDiff(int[] oldLines, int[] newLines)
        {
            _old = oldLines;
            _new = newLines;
            _deleted = new bool[oldLines.Length];
            _inserted = new bool[newLines.Length];
        }

        /// <summary>
        /// The changes from <paramref name="oldLines"/> to <paramref name="newLines"/> (line ids: equal ids are equal
        /// lines, ids run from 0 to <paramref name="distinctLines"/> - 1), in order; null when finding them would take
        /// more than <paramref name="budget"/> steps in the minimal search and again in the patience search.
        /// </summary>
        public static List<LineChange>? Compute(int[] oldLines, int[] newLines, int distinctLines, long budget, out DiffSearch search) =>
            Compute(oldLines, newLines, distinctLines, budget, out search, out _);

        /// <param name="spent">The steps the searches took (at most twice <paramref name="budget"/>), for a budget shared by many diffs.</param>
        public static List<LineChange>? Compute(int[] oldLines, int[] newLines, int distinctLines, long budget, out DiffSearch search, out long spent)
        {
            var diff = new LineDiff(oldLines, newLines);
            search = diff.Run(distinctLines, budget);
            spent = diff._spent + Math.Min(diff._work, budget);
            return search == DiffSearch.OverBudget ? null : diff.Changes();
        }

        private DiffSearch Run(int distinctLines, long budget)
        {
            int n = _old.Length, m = _new.Length;
            int start = 0;
            while (start < n && start < m && _old[start] == _new[start]) start++;
            int oldEnd = n, newEnd = m;
            while (oldEnd > start && newEnd > start && _old[oldEnd - 1] == _new[newEnd - 1]) { oldEnd--; newEnd--; }

            // Occurrences of each line in the other text's differing part: a line with none can only be a change.
            var inNew = new int[distinctLines];
            var inOld = new int[distinctLines];
            for (int j = start; j < newEnd; j++) inNew[_new[j]]++;
            for (int i = start; i < oldEnd; i++) inOld[_old[i]]++;
            int kept = 0;
            for (int i = start; i < oldEnd; i++)
                if (inNew[_old[i]] == 0) _deleted[i] = true; else kept++;
            _a = new int[kept];
            _aIndex = new int[kept];
            for (int i = start, k = 0; i < oldEnd; i++)
                if (!_deleted[i]) { _a[k] = _old[i]; _aIndex[k++] = i; }
            kept = 0;
            for (int j = start; j < newEnd; j++)
                if (inOld[_new[j]] == 0) _inserted[j] = true; else kept++;
            _b = new int[kept];
            _bIndex = new int[kept];
            for (int j = start, k = 0; j < newEnd; j++)
                if (!_inserted[j]) { _b[k] = _new[j]; _bIndex[k++] = j; }
            if (_a.Length == 0 && _b.Length == 0) return DiffSearch.Minimal;

            _diagonalOffset = _b.Length + 1;
            _forward = new int[_a.Length + _b.Length + 3];
            _backward = new int[_a.Length + _b.Length + 3];

            _work = 0;
            _limit = budget;
            if (CompareSequences(0, _a.Length, 0, _b.Length)) return DiffSearch.Minimal;

            // Over budget: forget the partial marks of the minimal search and anchor on unique lines instead.
            foreach (int i in _aIndex) _deleted[i] = false;
            foreach (int j in _bIndex) _inserted[j] = false;
            _spent = Math.Min(_work, _limit);
            _work = 0;
            return Patience(distinctLines) ? DiffSearch.Patience : DiffSearch.OverBudget;
        }

        private List<LineChange> Changes()
        {
            var changes = new List<LineChange>();
            int i = 0, j = 0, n = _old.Length, m = _new.Length;
            while (i < n || j < m)
            {
                if (i < n && j < m && !_deleted[i] && !_inserted[j]) { i++; j++; continue; }
                int oldStart = i, newStart = j;
                while (i < n && _deleted[i]) i++;
                while (j < m && _inserted[j]) j++;
                // Unchanged lines are as many on both sides, so a step always moves on; if not, the marks are wrong.
                if (i == oldStart && j == newStart) throw new InvalidOperationException("diff marks are inconsistent");
                changes.Add(new LineChange(oldStart, i - oldStart, newStart, j - newStart));
            }
            return changes;
        }

        private void Delete(int x) => _deleted[_aIndex[x]] = true;
        private void Insert(int y) => _inserted[_bIndex[y]] = true;

        /// <summary>Myers' divide and conquer (GNU diff's compareseq): a minimal diff of a[xoff, xlim) and b[yoff, ylim).</summary>
        private bool CompareSequences(int xoff, int xlim, int yoff, int ylim)
        {
            int before = xoff;
            while (xoff < xlim && yoff < ylim && _a[xoff] == _b[yoff]) { xoff++; yoff++; }
            int end = xlim;
            while (xoff < xlim && yoff < ylim && _a[xlim - 1] == _b[ylim - 1]) { xlim--; ylim--; }
            _work += 1 + (xoff - before) + (end - xlim);

            if (xoff == xlim)
            {
                for (; yoff < ylim; yoff++) Insert(yoff);
            }
            else if (yoff == ylim)
            {
                for (; xoff < xlim; xoff++) Delete(xoff);
            }
            else
            {
                if (!MiddleSnake(xoff, xlim, yoff, ylim, out int xmid, out int ymid)) return false;
                // Each half holds about half the differences, so the recursion is only log(D) deep.
                if (!CompareSequences(xoff, xmid, yoff, ymid)) return false;
                if (!CompareSequences(xmid, xlim, ymid, ylim)) return false;
            }
            return _work <= _limit;
        }

        /// <summary>
        /// GNU diff's diag without its heuristics: searches from both corners at once, one more difference per round,
        /// until the paths meet; the meeting point lies on a minimal path. False when the budget runs out first.
        /// </summary>
        private bool MiddleSnake(int xoff, int xlim, int yoff, int ylim, out int xmid, out int ymid)
        {
            int[] fd = _forward, bd = _backward;
            int o = _diagonalOffset;
            int dmin = xoff - ylim, dmax = xlim - yoff;
            int fmid = xoff - yoff, bmid = xlim - ylim;
            int fmin = fmid, fmax = fmid, bmin = bmid, bmax = bmid;
            bool odd = ((fmid - bmid) & 1) != 0;
            fd[o + fmid] = xoff;
            bd[o + bmid] = xlim;

            while (true)
            {
                if (_work > _limit)
                {
                    xmid = ymid = 0;
                    return false;
                }

                if (fmin > dmin) fd[o + --fmin - 1] = -1; else ++fmin;
                if (fmax < dmax) fd[o + ++fmax + 1] = -1; else --fmax;
                for (int d = fmax; d >= fmin; d -= 2)
                {
                    int tlo = fd[o + d - 1], thi = fd[o + d + 1];
                    int x0 = tlo < thi ? thi : tlo + 1;
                    int x = x0, y = x0 - d;
                    while (x < xlim && y < ylim && _a[x] == _b[y]) { x++; y++; }
                    _work += 1 + (x - x0);
                    fd[o + d] = x;
                    if (odd && bmin <= d && d <= bmax && bd[o + d] <= x)
                    {
                        xmid = x;
                        ymid = y;
                        return true;
                    }
                }

                if (bmin > dmin) bd[o + --bmin - 1] = int.MaxValue; else ++bmin;
                if (bmax < dmax) bd[o + ++bmax + 1] = int.MaxValue; else --bmax;
                for (int d = bmax; d >= bmin; d -= 2)
                {
                    int tlo = bd[o + d - 1], thi = bd[o + d + 1];
                    int x0 = tlo < thi ? tlo : thi - 1;
                    int x = x0, y = x0 - d;
                    while (xoff < x && yoff < y && _a[x - 1] == _b[y - 1]) { x--; y--; }
                    _work += 1 + (x0 - x);
                    bd[o + d] = x;
                    if (!odd && fmin <= d && d <= fmax && x <= fd[o + d])
                    {
                        xmid = x;
                        ymid = y;
                        return true;
                    }
                }
            }
        }

        /// <summary>
        /// Patience diff over the searched lines, with an explicit stack of ranges (a hostile input can't make it
        /// recurse deeply). Marks are by position, so the order in which ranges are done doesn't matter.
        /// </summary>
        private bool Patience(int distinctLines)
        {
            var countA = new int[distinctLines];
            var countB = new int[distinctLines];
            var positionB = new int[distinctLines];
            var ranges = new Stack<(int xoff, int xlim, int yoff, int ylim)>();
            ranges.Push((0, _a.Length, 0, _b.Length));
            var anchorsA = new List<int>();
            var anchorsB = new List<int>();

            for (bool first = true; ranges.Count > 0; first = false)
            {
                var (xoff, xlim, yoff, ylim) = ranges.Pop();
                int before = xoff, end = xlim;
                while (xoff < xlim && yoff < ylim && _a[xoff] == _b[yoff]) { xoff++; yoff++; }
                while (xoff < xlim && yoff < ylim && _a[xlim - 1] == _b[ylim - 1]) { xlim--; ylim--; }
                _work += 1 + (xoff - before) + (end - xlim);
                if (xoff == xlim || yoff == ylim)
                {
                    for (int y = yoff; y < ylim; y++) Insert(y);
                    for (int x = xoff; x < xlim; x++) Delete(x);
                    continue;
                }

                // Lines that occur once in this range of each side are the candidate anchors.
                for (int x = xoff; x < xlim; x++) countA[_a[x]]++;
                for (int y = yoff; y < ylim; y++) { countB[_b[y]]++; positionB[_b[y]] = y; }
                anchorsA.Clear();
                anchorsB.Clear();
                for (int x = xoff; x < xlim; x++)
                {
                    int id = _a[x];
                    if (countA[id] == 1 && countB[id] == 1) { anchorsA.Add(x); anchorsB.Add(positionB[id]); }
                }
                for (int x = xoff; x < xlim; x++) countA[_a[x]] = 0;
                for (int y = yoff; y < ylim; y++) countB[_b[y]] = 0;
                _work += 3L * (xlim - xoff) + 2L * (ylim - yoff);

                if (anchorsA.Count == 0)
                {
                    // Nothing unique to anchor on the whole way: the minimal search already failed on this very range.
                    if (first) return false;
                    // Nothing unique to anchor on in this gap (repeated lines only): a minimal diff of it, still counted.
                    if (!CompareSequences(xoff, xlim, yoff, ylim)) return false;
                    continue;
                }

                // The longest run of anchors in the same order on both sides; the gaps around them are ranges of their own.
                var chain = LongestIncreasingRun(anchorsB);
                _work += anchorsA.Count;
                int nextX = xoff, nextY = yoff;
                foreach (int k in chain)
                {
                    ranges.Push((nextX, anchorsA[k], nextY, anchorsB[k]));
                    nextX = anchorsA[k] + 1;
                    nextY = anchorsB[k] + 1;
                }
                ranges.Push((nextX, xlim, nextY, ylim));
                if (_work > _limit) return false;
            }
            return true;
        }

        /// <summary>Indexes of the longest strictly increasing subsequence of <paramref name="values"/> (patience sorting, n log n).</summary>
        private static List<int> LongestIncreasingRun(List<int> values)
        {
            var tails = new List<int>();        // tails[len - 1]: index of the smallest last value of a run of length len
            var previous = new int[values.Count];
            for (int i = 0; i < values.Count; i++)
            {
                int low = 0, high = tails.Count;
                while (low < high)
                {
                    int mid = (low + high) / 2;
                    if (values[tails[mid]] < values[i]) low = mid + 1; else high = mid;
                }
                previous[i] = low > 0 ? tails[low - 1] : -1;
                if (low == tails.Count) tails.Add(i); else tails[low] = i;
            }
            var run = new List<int>(tails.Count);
            for (int i = tails.Count == 0 ? -1 : tails[tails.Count - 1]; i >= 0; i = previous[i]) run.Add(i);
            run.Reverse();
            return run;
        }
    }
}
