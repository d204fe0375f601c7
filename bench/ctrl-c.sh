#!/usr/bin/env bash
# How long herd takes to exit after a terminal's Ctrl-C (SIGINT to its whole process group) with N hosts in
# flight, each running `sleep 60` (issue 11: 5-10 s at 50 hosts, target under 1 s). As root (it runs sshd and a
# login user, like run.sh):
#
#   bench/ctrl-c.sh                                   # 50 hosts, 5 repetitions, the herd built from this tree
#   bench/ctrl-c.sh --herd /path/to/other/herd --label "main"   # the same for another build, to compare
#
# Options: --hosts 50  --reps 5  --herd PATH  --label TEXT  --out FILE (appends a table; default: stdout only)
#          --to group|herd   SIGINT to herd's whole process group (a terminal's Ctrl-C, the default) or to herd
#                            alone (kill -INT PID: then herd itself must end every ssh child)
# Each repetition: herd exec (pooled: one master per host, opened by a warm-up run) as the leader of its own
# process group, wait until all N remote sleeps run, SIGINT to the group, time until herd has exited, then
# check what it left: its exit code, how many hosts NDJSON reported Cancelled, ssh clients and remote sleeps
# still alive one second later.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
HOSTS=50
REPS=5
HERD=
LABEL="this tree"
OUT=
TO=group
while [ $# -gt 0 ]; do
  case $1 in
    --hosts) HOSTS=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --herd) HERD=$2; shift 2 ;;
    --label) LABEL=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --to) TO=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "ctrl-c.sh: run as root (it starts sshd and logs in as a dedicated user)" >&2; exit 2; }

BENCH_WORK=$(mktemp -d /tmp/hb.XXXXXX)
export BENCH_WORK
# shellcheck source=lib/fleet.sh
. "$HERE/lib/fleet.sh"
export HERD_HISTORY=$BENCH_WORK/history.db
export HERD_CONTROL_DIR=$BENCH_WORK/cm
cleanup() {
  set +e
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
now() { date +%s.%N; }
herd_exec() { "$HERD" exec -F "$FLEET_SSH_CONFIG" -i "$FLEET_HOSTS" --insecure -T "$HOSTS" "$@"; }
herd_exec --json true > /dev/null 2>&1 || true   # opens one pooled master per host

rows=()
for ((rep = 1; rep <= REPS; rep++)); do
  marker="6$RANDOM.$RANDOM"   # a sleep length nobody else uses: 6xxxx seconds
  setsid env --default-signal=INT "$HERD" exec -F "$FLEET_SSH_CONFIG" -i "$FLEET_HOSTS" --insecure -T "$HOSTS" --json \
    -- "sleep $marker" > "$BENCH_WORK/out.json" 2> "$BENCH_WORK/err.txt" &
  pid=$!
  for ((i = 0; i < 600; i++)); do
    [ "$(pgrep -u "$BENCH_USER" -f "^sleep $marker" | wc -l)" -ge "$HOSTS" ] && break
    sleep 0.1
  done
  t0=$(now)
  if [ "$TO" = group ]; then kill -INT -- "-$pid"; else kill -INT "$pid"; fi
  set +e; wait "$pid"; code=$?; set -e
  t1=$(now)
  sleep 1
  cancelled=$(grep -c '"status":"Cancelled"' "$BENCH_WORK/out.json" || true)
  ssh_left=$(pgrep -f "ssh .*sleep $marker" | wc -l || true)
  sleep_left=$(pgrep -f "^sleep $marker" | wc -l || true)
  secs=$(echo "$t1 - $t0" | bc)
  rows+=("| $LABEL | $TO | $HOSTS | $rep | $(printf '%.2f' "$secs") | $code | $cancelled | $ssh_left | $sleep_left |")
  echo "${rows[-1]}" >&2
  pkill -u "$BENCH_USER" -f "^sleep $marker" 2>/dev/null || true   # what an old build left behind
done

table=$(printf '| build | SIGINT to | hosts | rep | exit after SIGINT (s) | exit code | Cancelled in NDJSON | ssh left | remote sleep left |\n|---|---|---|---|---|---|---|---|---|\n'; printf '%s\n' "${rows[@]}")
echo "$table"
[ -z "$OUT" ] || { echo; echo "$table"; } >> "$OUT"
