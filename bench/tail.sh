#!/usr/bin/env bash
# herd tail under a flood: memory over time and throughput, with a fast reader (stdout to /dev/null) and a slow one
# (a shell `while read` loop, slower than the logs grow, so herd's per-host queues fill and hosts pause and resume).
# As root (it runs sshd and a login user, like run.sh):
#
#   bench/tail.sh                         # 20 hosts, 60 s per reader, the herd built from this tree
#   bench/tail.sh --hosts 50 --secs 120 --out bench/tail.md
#
# Every host of the loopback fleet shares this machine's file system, so every host follows the same file: a writer
# appends about 20,000 lines a second (2 MB/s, 97-byte lines) to it for the whole run, and each host sends all of them (N copies of the
# flood reach herd). Every 5 s the script samples herd's resident memory (VmRSS) and the lines herd has printed.
# What to look for: RSS flat after the first samples whatever the reader; a slow reader slows what is printed, not
# memory; after SIGINT, herd exits 130 and no follower is left on the hosts.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
HOSTS=20
SECS=60
HERD=
OUT=
while [ $# -gt 0 ]; do
  case $1 in
    --hosts) HOSTS=$2; shift 2 ;;
    --secs) SECS=$2; shift 2 ;;
    --herd) HERD=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "tail.sh: run as root (it starts sshd and logs in as a dedicated user)" >&2; exit 2; }

BENCH_WORK=$(mktemp -d /tmp/hb.XXXXXX)
export BENCH_WORK
# shellcheck source=lib/fleet.sh
. "$HERE/lib/fleet.sh"
export HERD_HISTORY=$BENCH_WORK/history.db
export HERD_CONTROL_DIR=$BENCH_WORK/cm
WRITER=
cleanup() {
  set +e
  [ -n "$WRITER" ] && kill "$WRITER" 2>/dev/null
  find "$HERD_CONTROL_DIR" -maxdepth 1 -type s -print0 2>/dev/null \
    | xargs -0 -r -n 1 -P 8 sh -c 'timeout 10 ssh -o BatchMode=yes -S "$0" -O exit herd-pool >/dev/null 2>&1 || rm -f "$0"'
  fleet_stop
  for p in $(grep -l -- "$BENCH_WORK" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3); do
    [ "$p" != $$ ] && kill "$p" 2>/dev/null
  done
  rm -rf "$BENCH_WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -z "$HERD" ]; then
  echo "== building herd (Release)" >&2
  "$HERE/lib/publish-herd.sh" "$BENCH_WORK/herd"
  HERD=$BENCH_WORK/herd/herd
fi
fleet_prepare
fleet_start "$HOSTS"
LOG=$BENCH_WORK/srv/flood.log
: > "$LOG"
chmod 644 "$LOG"
line=$(printf 'flood %090d' 0)

rows=()
run() { # label, reader command
  local label=$1 reader=$2 pid herdpid t samples="" rss lines before
  : > "$BENCH_WORK/printed"
  before=$(stat -c %s "$LOG")
  # herd's stdout goes through the reader, which counts lines into $BENCH_WORK/printed as it goes.
  ( "$HERD" tail "$LOG" -F "$FLEET_SSH_CONFIG" -i "$FLEET_HOSTS" --insecure -n 0 2> "$BENCH_WORK/err.txt" | sh -c "$reader" ) &
  pid=$!
  for ((t = 0; t < 100; t++)); do herdpid=$(pgrep -f "^$HERD tail $LOG" | head -1 || true); [ -n "$herdpid" ] && break; sleep 0.1; done
  # the flood, for the whole measurement
  ( set +e +o pipefail; while :; do yes "$line" | head -n 2000 >> "$LOG"; sleep 0.1; done ) &
  WRITER=$!
  for ((t = 5; t <= SECS; t += 5)); do
    sleep 5
    rss=$(awk '/VmRSS/ {print int($2/1024)}' "/proc/$herdpid/status" 2>/dev/null || echo '?')
    samples="$samples $rss"
  done
  kill "$WRITER"; wait "$WRITER" 2>/dev/null || true; WRITER=
  local written=$(( ($(stat -c %s "$LOG") - before) / 97 ))
  kill -INT "$herdpid"
  set +e; wait "$pid"; set -e
  sleep 1
  lines=$(cat "$BENCH_WORK/printed" 2>/dev/null || echo 0)
  local left
  left=$(pgrep -u "$BENCH_USER" -f "herd-tail" | wc -l || true)
  rows+=("| $label | $HOSTS | $SECS | $written | $lines | $((lines / SECS)) |$samples | $left |")
  echo "${rows[-1]}" >&2
  : > "$LOG"
}

run "fast reader (stdout to a counter)" 'awk "{n++} n % 10000 == 0 {print n > \"'"$BENCH_WORK"'/printed\"; close(\"'"$BENCH_WORK"'/printed\")} END {print n > \"'"$BENCH_WORK"'/printed\"}"'
run "slow reader (sh while read)" 'n=0; while IFS= read -r l; do n=$((n+1)); done; echo $n > '"$BENCH_WORK"'/printed'

table=$(printf '| reader | hosts | seconds | lines written | lines printed (all hosts) | printed/s | herd RSS MiB every 5 s | followers left |\n|---|---|---|---|---|---|---|---|\n'; printf '%s\n' "${rows[@]}")
echo "$table"
[ -z "$OUT" ] || { echo; echo "$table"; } >> "$OUT"
