#!/usr/bin/env bash
# CPU cost of output diffs (UnifiedDiff: exec grouping, --diff-last, history diff, herd diff), the bounded diff
# against the DiffPlex-based one it replaced, as ratios against SHA-256 of the same two outputs measured in the
# same process (what grouping pays anyway). Prints a markdown section for bench/results.md.
#
#   bench/diff.sh                          # 5 cases x 1, 2, 10 MiB; the old diff stopped after 120 s of wall time
#   bench/diff.sh --sizes "1 2" --old-timeout 600
#
# Needs only the .NET SDK. Each measurement runs in a process of its own, so a stopped one costs nothing else.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SIZES="1 2 10"
CASES="unrelated scattered reordered repetitive numbers"
OLD_TIMEOUT=120
while [ $# -gt 0 ]; do
  case $1 in
    --sizes) SIZES=$2; shift 2 ;;
    --cases) CASES=$2; shift 2 ;;
    --old-timeout) OLD_TIMEOUT=$2; shift 2 ;;
    *) echo "diff.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
BIN=$(mktemp -d /tmp/diffbench.XXXXXX)
trap 'rm -rf "$BIN"' EXIT
dotnet build "$HERE/diff/DiffBench.csproj" -c Release -v q --nologo -o "$BIN" >/dev/null
BENCH="$BIN/DiffBench"

echo "## Output diffs: bounded diff vs DiffPlex (bench/diff.sh, $(date -u +%Y-%m-%d), $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg))"
echo
echo "CPU seconds of one diff between two outputs of the size given (lines of ~64 bytes; ~4 for numbers), and that"
echo "time as a multiple of SHA-256 over the same two outputs in the same process. old = DiffPlex (before), new = bounded."
echo "The old diff is stopped after ${OLD_TIMEOUT} s of wall time (its CPU time then is not known, so no ratio is shown)."
echo
echo "| case | MiB | lines | SHA-256 s | old s | old ratio | new s | new ratio | new result |"
echo "|---|---|---|---|---|---|---|---|---|"
for c in $CASES; do
  for s in $SIZES; do
    IFS=$'\t' read -r _ _ _ lines base newS newR result < <("$BENCH" time new "$c" "$s")
    start=$(date +%s)
    if old=$(timeout "$OLD_TIMEOUT" "$BENCH" time old "$c" "$s"); then
      IFS=$'\t' read -r _ _ _ _ obase oldS oldR _ <<<"$old"
      # Each ratio against its own process's baseline.
      oldCell="$oldS | $oldR"
    else
      # Stopped on wall time, whose CPU share under load is unknown: no ratio is claimed.
      oldCell="stopped after $(( $(date +%s) - start )) s wall | -"
    fi
    echo "| $c | $s | $lines | $base | $oldCell | $newS | $newR | $result |"
  done
done
echo
"$BENCH" agree 1000 1 | sed 's/^/Same text: /'
