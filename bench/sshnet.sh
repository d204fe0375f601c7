#!/usr/bin/env bash
# SSH.NET (sshnet) against OpenSSH and pdsh, side by side in one run, on one loopback fleet with OpenSSH's default
# key exchange (FLEET_DEFAULT_KEX: sntrup761x25519-sha512) and checked host keys. As root:
#
#   bench/sshnet.sh                          # 100 and 1000 hosts, 200 x 5 MiB -> bench/results-sshnet.md
#   bench/sshnet.sh --sizes 100 --reps 1 --mem-hosts 0
#
# Rows (throttle 32, command `true`): pdsh cold (the baseline), herd exec cold over openssh (--no-multiplex) and
# over sshnet (a new process), herd exec warm over openssh (ControlMaster, a new process each time), and a warm
# in-session run over sshnet (bench/warm: one process, runs 2.. reuse the pool, as a PowerShell session, a job or
# herd watch does). Memory is the whole process tree's peak (bench/lib/measure.py). Handshake CPU per host is
# (client CPU of a cold run - client CPU of a warm run of the same tool) / hosts.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
SIZES="100 1000"; REPS=3; MEM_HOSTS=200; MEM_MIB=5; OUT=$HERE/results-sshnet.md; THROTTLE=32
while [ $# -gt 0 ]; do
  case $1 in
    --sizes) SIZES=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --mem-hosts) MEM_HOSTS=$2; shift 2 ;;
    --mem-mib) MEM_MIB=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "sshnet.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "sshnet.sh: run as root" >&2; exit 2; }
command -v pdsh >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pdsh >/dev/null; }
PY=$(command -v python3)
BENCH_WORK=$(mktemp -d /tmp/hs.XXXXXX); export BENCH_WORK
export FLEET_DEFAULT_KEX=1
. "$HERE/lib/fleet.sh"
MEASURE=$HERE/lib/measure.py
export HERD_HISTORY=$BENCH_WORK/history.db HERD_CONTROL_DIR=$BENCH_WORK/cm
mkdir -p "$HERD_CONTROL_DIR"; chmod 700 "$HERD_CONTROL_DIR"
cleanup() {
  set +e
  find "$HERD_CONTROL_DIR" -maxdepth 1 -type s -print0 2>/dev/null | xargs -0 -r -n 1 -P 8 sh -c 'timeout 10 ssh -S "$0" -O exit x >/dev/null 2>&1'
  fleet_stop
  for p in $(grep -l -- "$BENCH_WORK" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3); do [ "$p" != $$ ] && kill "$p" 2>/dev/null; done
  rm -rf "$BENCH_WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== building herd and bench/warm (Release)"
dotnet publish "$REPO/src/HerdPS.Cli" -c Release -o "$BENCH_WORK/herd" -nologo -v q >/dev/null
dotnet publish "$HERE/warm" -c Release -o "$BENCH_WORK/warm" -nologo -v q >/dev/null
HERD=$BENCH_WORK/herd/herd; WARM=$BENCH_WORK/warm/Warm
fleet_prepare
RAW=$BENCH_WORK/raw.tsv; : > "$RAW"

row() { # n tool rep json
  $PY - "$@" >> "$RAW" <<'PY'
import json, sys
n, tool, rep, j = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
print("\t".join([n, tool, rep, "%.3f" % j["wall_s"], str(j.get("tree_peak_kib", 0)), "%.3f" % j["cpu_s"], str(j.get("exit", 0))]))
PY
}
measure() { $PY "$MEASURE" --stdout /dev/null -- "$@"; }

for n in $SIZES; do
  echo "== fleet of $n"
  fleet_start "$n"
  cfg=$FLEET_SSH_CONFIG; hosts=$FLEET_HOSTS
  H="-H $(paste -sd, "$hosts")"
  for ((r = 1; r <= REPS; r++)); do
    row "$n" pdsh "$r" "$(PDSH_SSH_ARGS="-F $cfg -a -x %h" measure pdsh -R ssh -f $THROTTLE -w "^$hosts" true)"
    row "$n" openssh-cold "$r" "$(measure "$HERD" exec true -F "$cfg" $H -T $THROTTLE --transport openssh --no-multiplex --no-history --json)"
    row "$n" sshnet-cold "$r" "$(measure "$HERD" exec true -F "$cfg" $H -T $THROTTLE --transport sshnet --no-history --json)"
    measure "$HERD" exec true -F "$cfg" $H -T $THROTTLE --transport openssh --no-history --json >/dev/null   # opens the masters
    row "$n" openssh-warm "$r" "$(measure "$HERD" exec true -F "$cfg" $H -T $THROTTLE --transport openssh --no-history --json)"
    find "$HERD_CONTROL_DIR" -maxdepth 1 -type s -print0 | xargs -0 -r -n 1 -P 8 sh -c 'timeout 10 ssh -S "$0" -O exit x >/dev/null 2>&1'
    # in-session: run 0 is cold (opens the pool), runs 1..5 warm
    "$WARM" --hosts "$hosts" --ssh-config "$cfg" --transport sshnet --throttle $THROTTLE --repeats 6 > "$BENCH_WORK/warm.out"
    $PY - "$n" "$r" "$BENCH_WORK/warm.out" >> "$RAW" <<'PY'
import json, sys
n, r, f = sys.argv[1:4]
runs = [json.loads(l) for l in open(f) if l.startswith('{"run"')]
warm = runs[1:]
print("\t".join([n, "sshnet-insession-first", r, "%.3f" % runs[0]["wall_s"], "0", "%.3f" % runs[0]["cpu_s"], "0"]))
print("\t".join([n, "sshnet-insession-warm", r, "%.3f" % (sum(x["wall_s"] for x in warm) / len(warm)), "0", "%.3f" % (sum(x["cpu_s"] for x in warm) / len(warm)), "0"]))
PY
    grep '"kex"' "$BENCH_WORK/warm.out" > "$BENCH_WORK/kex-sshnet.txt" || true
  done
  ssh -v -F "$cfg" "$(fleet_name 0)" true 2>&1 | grep -m1 'kex: algorithm' > "$BENCH_WORK/kex-openssh.txt" || true
  fleet_stop
done

if [ "$MEM_HOSTS" -gt 0 ]; then
  echo "== memory: $MEM_HOSTS hosts x $MEM_MIB MiB"
  fleet_start "$MEM_HOSTS"
  cfg=$FLEET_SSH_CONFIG; hosts=$FLEET_HOSTS; H="-H $(paste -sd, "$hosts")"
  big="head -c $((MEM_MIB * 1024 * 1024)) /dev/zero | tr '\\0' x"
  row "mem$MEM_HOSTS" sshnet-5mib 1 "$(measure "$HERD" exec "$big" -F "$cfg" $H -T $THROTTLE --transport sshnet --no-history --json)"
  row "mem$MEM_HOSTS" openssh-5mib 1 "$(measure "$HERD" exec "$big" -F "$cfg" $H -T $THROTTLE --transport openssh --no-multiplex --no-history --json)"
  fleet_stop
fi

$PY - "$RAW" "$OUT" "$BENCH_WORK/kex-openssh.txt" "$BENCH_WORK/kex-sshnet.txt" <<'PY'
import sys, statistics, collections, datetime
raw, out, kex_o, kex_s = sys.argv[1:5]
rows = collections.defaultdict(list)
for line in open(raw):
    n, tool, rep, wall, peak, cpu, ex = line.rstrip("\n").split("\t")
    rows[(n, tool)].append((float(wall), int(peak), float(cpu), int(ex)))
med = lambda xs: statistics.median(xs)
L = ["# SSH.NET transport benchmark (bench/sshnet.sh)", "",
     "Run %s on this machine (2 cores). Loopback fleet, OpenSSH's default key exchange, host keys checked, throttle 32, medians." % datetime.date.today(), ""]
for n in sorted({k[0] for k in rows if not k[0].startswith("mem")}, key=int):
    base = med([w for w, *_ in rows[(n, "pdsh")]])
    L += ["## %s hosts, `true`" % n, "", "| row | wall s | / pdsh cold | client CPU s | tree peak MiB | exit |", "|---|---|---|---|---|---|"]
    for tool in ["pdsh", "openssh-cold", "sshnet-cold", "openssh-warm", "sshnet-insession-first", "sshnet-insession-warm"]:
        xs = rows.get((n, tool))
        if not xs: continue
        w = med([x[0] for x in xs]); c = med([x[2] for x in xs]); p = max(x[1] for x in xs) / 1024
        L.append("| %s | %.2f | %.3f | %.2f | %s | %s |" % (tool, w, w / base, c, ("%.0f" % p) if p else "-", max(x[3] for x in xs)))
    def cpu(t): return med([x[2] for x in rows[(n, t)]])
    if (n, "sshnet-insession-first") in rows:
        L += ["", "Handshake CPU per host (client side): sshnet %.1f ms (first in-session run - warm run), openssh %.1f ms (cold --no-multiplex - warm ControlMaster run, ssh processes included)." % (
            1000 * (cpu("sshnet-insession-first") - cpu("sshnet-insession-warm")) / int(n), 1000 * (cpu("openssh-cold") - cpu("openssh-warm")) / int(n)), ""]
mem = [k for k in rows if k[0].startswith("mem")]
if mem:
    L += ["## Memory, %s hosts x 5 MiB of output" % mem[0][0][3:], "", "| row | wall s | tree peak MiB | exit |", "|---|---|---|---|"]
    for k in sorted(mem):
        x = rows[k][0]; L.append("| %s | %.2f | %.0f | %d |" % (k[1], x[0], x[1] / 1024, x[3]))
L += ["", "Key exchange negotiated: openssh `%s`; sshnet `%s`." % (open(kex_o).read().strip(), open(kex_s).read().strip())]
open(out, "w").write("\n".join(L) + "\n")
print("\n".join(L))
PY
