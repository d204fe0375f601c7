#!/usr/bin/env bash
# CPU of warm in-session runs (bench/warm) of two builds, alternated on one loopback fleet: client CPU (the Warm
# process) and server CPU (every sshd of the fleet and what they start, read from a cpuacct cgroup they run in).
# On a machine shared with other work, wall times are noise; CPU per 1000 commands compares builds. As root:
#
#   dotnet publish bench/warm -c Release -o /tmp/warm-a     # at one commit
#   dotnet publish bench/warm -c Release -o /tmp/warm-b     # at another
#   FLEET_PORT=2312 bench/warm-cpu.sh --hosts 1000 --pairs 2 /tmp/warm-a/Warm /tmp/warm-b/Warm
#
# Each Warm process runs 6 times (run 0 opens the connections and is left out); prints one line per build and
# process, then the means. Needs cgroup v1's cpuacct at /sys/fs/cgroup/cpuacct.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
N=1000; PAIRS=2
while [ $# -gt 0 ]; do
  case $1 in
    --hosts) N=$2; shift 2 ;;
    --pairs) PAIRS=$2; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) break ;;
  esac
done
[ $# -eq 2 ] || { echo "warm-cpu.sh: give two Warm binaries" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "warm-cpu.sh: run as root" >&2; exit 2; }
CG=/sys/fs/cgroup/cpuacct/herd-warm-cpu.$$
[ -d /sys/fs/cgroup/cpuacct ] || { echo "warm-cpu.sh: no cpuacct cgroup" >&2; exit 2; }
BENCH_WORK=$(mktemp -d /tmp/hwc.XXXXXX); export BENCH_WORK FLEET_DEFAULT_KEX=1
. "$HERE/lib/fleet.sh"
cleanup() { set +e; fleet_stop; sleep 0.5; rmdir "$CG" 2>/dev/null; rm -rf "$BENCH_WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$CG"
fleet_prepare
# The sshds start inside the cgroup (a subshell moved there), so their sessions' CPU is counted there.
( echo $BASHPID > "$CG/cgroup.procs"; fleet_start "$N" >/dev/null )
FLEET_SSH_CONFIG=$BENCH_WORK/ssh_config; FLEET_HOSTS=$BENCH_WORK/hosts.txt
RAW=$BENCH_WORK/raw.tsv; : > "$RAW"
for ((p = 1; p <= PAIRS; p++)); do
  for bin in "$1" "$2"; do
    prev=$(cat "$CG/cpuacct.usage")
    "$bin" --hosts "$FLEET_HOSTS" --ssh-config "$FLEET_SSH_CONFIG" --transport sshnet --throttle 32 --repeats 6 2>/dev/null |
      while IFS= read -r line; do
        now=$(cat "$CG/cpuacct.usage")
        case $line in '{"run"'*) printf '%s\t%s\t%s\n' "$bin" "$line" "$(( now - prev ))" >> "$RAW" ;; esac
        prev=$now
      done
  done
done
python3 - "$RAW" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'PY'
import json, sys, collections
rows = collections.defaultdict(list)
for l in open(sys.argv[1]):
    b, j, ns = l.rstrip("\n").split("\t"); j = json.loads(j)
    if j["run"] > 0: rows[b].append((j["wall_s"], j["cpu_s"], int(ns) / 1e9, j["ok"], j["hosts"]))
print("load at the end:", sys.argv[2])
for b, xs in rows.items():
    m = lambda i: sum(x[i] for x in xs) / len(xs)
    print("%s: %d warm runs, %d/%d ok; mean wall %.3f s, client CPU %.3f s, server CPU %.3f s" % (b, len(xs), min(x[3] for x in xs), xs[0][4], m(0), m(1), m(2)))
PY
