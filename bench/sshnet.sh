#!/usr/bin/env bash
# SSH.NET (sshnet) against OpenSSH and pdsh, side by side in one run, on one loopback fleet with OpenSSH's default
# key exchange (FLEET_DEFAULT_KEX: sntrup761x25519-sha512) and checked host keys. As root:
#
#   bench/sshnet.sh                          # 100 and 1000 hosts, 200 x 5 MiB -> bench/results-sshnet.md
#   bench/sshnet.sh --sizes 100 --reps 1 --mem-hosts 0
#   bench/sshnet.sh --sizes 1000 --reps-large 3 --mem-hosts 0 --rows insession   # pdsh cold and the in-session rows only
#
# Rows (throttle 32, command `true`): pdsh cold (the baseline); herd exec cold over openssh (--no-multiplex) and
# over sshnet (a new herd process and no pool process running: herd starts one); herd exec warm over openssh
# (ControlMaster, a new process each time) and over sshnet (a new herd process, the pool process already
# holding the connections); and a warm in-session run over sshnet (bench/warm: one process, runs 2.. reuse the
# pool, as a PowerShell session, a job or herd watch does). Memory is the whole process tree's peak
# (bench/lib/measure.py; the pool process a cold run starts is in that tree). Client CPU of an sshnet herd run
# includes the pool process's CPU during the run (read from /proc before and after). Handshake CPU per host is
# (client CPU of a cold run - client CPU of a warm run of the same tool) / hosts. logins = "Accepted publickey"
# lines the run added to the sshd logs.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
SIZES="100 1000"; ROWS=all; REPS=3; REPS_LARGE=1; MEM_HOSTS=200; MEM_MIB=5; OUT=$HERE/results-sshnet.md; THROTTLE=32
while [ $# -gt 0 ]; do
  case $1 in
    --sizes) SIZES=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --rows) ROWS=$2; shift 2 ;;
    --reps-large) REPS_LARGE=$2; shift 2 ;;
    --mem-hosts) MEM_HOSTS=$2; shift 2 ;;
    --mem-mib) MEM_MIB=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
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
  [ -n "${HERD:-}" ] && [ -x "$HERD" ] && timeout 30 "$HERD" disconnect >/dev/null 2>&1
  find "$HERD_CONTROL_DIR" -maxdepth 1 -type s -print0 2>/dev/null | xargs -0 -r -n 1 -P 8 sh -c 'timeout 10 ssh -S "$0" -O exit x >/dev/null 2>&1'
  fleet_stop
  for p in $(grep -l -- "$BENCH_WORK" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3); do [ "$p" != $$ ] && kill "$p" 2>/dev/null; done
  rm -rf "$BENCH_WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== building herd and bench/warm (Release)"
"$HERE/lib/publish-herd.sh" "$BENCH_WORK/herd"
dotnet publish "$HERE/warm" -c Release -o "$BENCH_WORK/warm" -nologo -v q >/dev/null
HERD=$BENCH_WORK/herd/herd; WARM=$BENCH_WORK/warm/Warm
fleet_prepare
RAW=$BENCH_WORK/raw.tsv; : > "$RAW"

row() { # n tool rep json [extra cpu s] [logins]
  $PY - "$@" >> "$RAW" <<'PY'
import json, sys
n, tool, rep, j = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
extra = float(sys.argv[5]) if len(sys.argv) > 5 and sys.argv[5] else 0.0
logins = sys.argv[6] if len(sys.argv) > 6 else "-"
print("\t".join([n, tool, rep, "%.3f" % j["wall_s"], str(j.get("tree_peak_kib", 0)), "%.3f" % (j["cpu_s"] + extra), str(j.get("exit", 0)), logins]))
PY
}
measure() { $PY "$MEASURE" --stdout /dev/null -- "$@"; }
logins() { cat "$BENCH_WORK"/log/sshd-*.log 2>/dev/null | grep -c 'Accepted publickey' || true; }
# CPU seconds (user+system) the sshnet pool process has used so far (0 when none runs)
pool_cpu() {
  $PY - "$HERD_CONTROL_DIR" <<'PY'
import os, sys
hz = os.sysconf("SC_CLK_TCK"); total = 0
for d in os.listdir("/proc"):
    if not d.isdigit(): continue
    try:
        cmd = open("/proc/%s/cmdline" % d, "rb").read().split(b"\0")
        if b"pool-serve" not in cmd or sys.argv[1].encode() not in cmd: continue
        f = open("/proc/%s/stat" % d).read().rsplit(")", 1)[1].split()
        total += int(f[11]) + int(f[12])
    except OSError:
        pass
print("%.3f" % (total / hz))
PY
}
pool_stop() { # ends the pool process (herd disconnect) and waits until it is gone
  "$HERD" disconnect >/dev/null 2>&1 || true
  for ((i = 0; i < 300; i++)); do
    pgrep -f "pool-serve $HERD_CONTROL_DIR" >/dev/null || return 0
    sleep 0.1
  done
}
# measure an sshnet herd run: adds the pool process's CPU during it, and the logins it made
sshnet_row() { # n tool rep args...
  local n=$1 tool=$2 rep=$3; shift 3
  local c0 c1 l0 j
  c0=$(pool_cpu); l0=$(logins)
  j=$(measure "$HERD" "$@")
  c1=$(pool_cpu)
  row "$n" "$tool" "$rep" "$j" "$($PY -c "print(max(0.0, $c1 - $c0))")" "$(( $(logins) - l0 ))"
}
plain_row() { # n tool rep command...
  local n=$1 tool=$2 rep=$3; shift 3
  local l0 j
  l0=$(logins)
  j=$(measure "$@")
  row "$n" "$tool" "$rep" "$j" "" "$(( $(logins) - l0 ))"
}

insession_rows() { # n rep: one process, run 0 cold (opens the pool), runs 1..5 warm
  "$WARM" --hosts "$FLEET_HOSTS" --ssh-config "$FLEET_SSH_CONFIG" --transport sshnet --throttle $THROTTLE --repeats 6 > "$BENCH_WORK/warm.out"
  $PY - "$1" "$2" "$BENCH_WORK/warm.out" >> "$RAW" <<'PY'
import json, sys
n, r, f = sys.argv[1:4]
runs = [json.loads(l) for l in open(f) if l.startswith('{"run"')]
warm = runs[1:]
print("\t".join([n, "sshnet-insession-first", r, "%.3f" % runs[0]["wall_s"], str(runs[0].get("peak_kib", 0)), "%.3f" % runs[0]["cpu_s"], "0", "-"]))
print("\t".join([n, "sshnet-insession-warm", r, "%.3f" % (sum(x["wall_s"] for x in warm) / len(warm)), "0", "%.3f" % (sum(x["cpu_s"] for x in warm) / len(warm)), "0", "-"]))
PY
  grep '"kex"' "$BENCH_WORK/warm.out" > "$BENCH_WORK/kex-sshnet.txt" || true
}

for n in $SIZES; do
  echo "== fleet of $n"
  fleet_start "$n"
  cfg=$FLEET_SSH_CONFIG; hosts=$FLEET_HOSTS
  H="-H $(paste -sd, "$hosts")"
  reps=$REPS; [ "$n" -gt 200 ] && reps=$REPS_LARGE
  for ((r = 1; r <= reps; r++)); do
    if [ "$ROWS" = insession ]; then   # only the baseline and the in-session rows, alternated (--rows insession)
      plain_row "$n" pdsh "$r" env PDSH_SSH_ARGS="-F $cfg -a -x %h" pdsh -R ssh -f $THROTTLE -w "^$hosts" true
      insession_rows "$n" "$r"
      continue
    fi
    plain_row "$n" pdsh "$r" env PDSH_SSH_ARGS="-F $cfg -a -x %h" pdsh -R ssh -f $THROTTLE -w "^$hosts" true
    plain_row "$n" openssh-cold "$r" "$HERD" exec true -F "$cfg" $H -T $THROTTLE --transport openssh --no-multiplex --no-history --json
    pool_stop
    sshnet_row "$n" sshnet-cold "$r" exec true -F "$cfg" $H -T $THROTTLE --transport sshnet --no-history --json
    sshnet_row "$n" sshnet-warm "$r" exec true -F "$cfg" $H -T $THROTTLE --transport sshnet --no-history --json
    pool_stop
    measure "$HERD" exec true -F "$cfg" $H -T $THROTTLE --transport openssh --no-history --json >/dev/null   # opens the masters
    plain_row "$n" openssh-warm "$r" "$HERD" exec true -F "$cfg" $H -T $THROTTLE --transport openssh --no-history --json
    find "$HERD_CONTROL_DIR" -maxdepth 1 -type s -name '[0-9a-f]*' -print0 | xargs -0 -r -n 1 -P 8 sh -c 'timeout 10 ssh -S "$0" -O exit x >/dev/null 2>&1'
    insession_rows "$n" "$r"
  done
  ssh -v -F "$cfg" "$(fleet_name 0)" true 2>&1 | grep -m1 'kex: algorithm' > "$BENCH_WORK/kex-openssh.txt" || true
  fleet_stop
done

if [ "$MEM_HOSTS" -gt 0 ]; then
  echo "== memory: $MEM_HOSTS hosts x $MEM_MIB MiB"
  fleet_start "$MEM_HOSTS"
  cfg=$FLEET_SSH_CONFIG; hosts=$FLEET_HOSTS; H="-H $(paste -sd, "$hosts")"
  big="head -c $((MEM_MIB * 1024 * 1024)) /dev/zero | tr '\\0' x"
  pool_stop
  sshnet_row "mem$MEM_HOSTS" sshnet-5mib 1 exec "$big" -F "$cfg" $H -T $THROTTLE --transport sshnet --no-history --json
  pool_stop
  plain_row "mem$MEM_HOSTS" openssh-5mib 1 "$HERD" exec "$big" -F "$cfg" $H -T $THROTTLE --transport openssh --no-multiplex --no-history --json
  fleet_stop
fi

$PY - "$RAW" "$OUT" "$BENCH_WORK/kex-openssh.txt" "$BENCH_WORK/kex-sshnet.txt" "$(uptime)" "$MEM_MIB" <<'PY'
import sys, statistics, collections, datetime
raw, out, kex_o, kex_s, load, mem_mib = sys.argv[1:7]
rows = collections.defaultdict(list)
for line in open(raw):
    n, tool, rep, wall, peak, cpu, ex, logins = line.rstrip("\n").split("\t")
    rows[(n, tool)].append((float(wall), int(peak), float(cpu), int(ex), logins))
med = lambda xs: statistics.median(xs)
L = ["# SSH.NET transport benchmark (bench/sshnet.sh)", "",
     "Run %s on this machine (2 cores, shared with other builds: load at the end `%s`). Loopback fleet, OpenSSH's default key exchange, host keys checked, throttle 32, medians." % (datetime.date.today(), load.strip().split("load average:")[-1].strip()), ""]
for n in sorted({k[0] for k in rows if not k[0].startswith("mem")}, key=int):
    base = med([w for w, *_ in rows[(n, "pdsh")]])
    reps = len(rows[(n, "pdsh")])
    L += ["## %s hosts, `true` (%d run%s each)" % (n, reps, "" if reps == 1 else "s"), "",
          "| row | wall s | / pdsh cold | client CPU s | tree peak MiB | logins | exit |", "|---|---|---|---|---|---|---|"]
    for tool in ["pdsh", "openssh-cold", "sshnet-cold", "openssh-warm", "sshnet-warm", "sshnet-insession-first", "sshnet-insession-warm"]:
        xs = rows.get((n, tool))
        if not xs: continue
        w = med([x[0] for x in xs]); c = med([x[2] for x in xs]); p = max(x[1] for x in xs) / 1024
        L.append("| %s | %.2f | %.3f | %.2f | %s | %s | %s |" % (tool, w, w / base, c, ("%.0f" % p) if p else "-", xs[0][4], max(x[3] for x in xs)))
    def cpu(t): return med([x[2] for x in rows[(n, t)]])
    if all((n, t) in rows for t in ["sshnet-insession-first", "sshnet-cold", "openssh-cold"]):
        L += ["", "Handshake CPU per host (client side): sshnet %.1f ms (first in-session run - warm run), %.1f ms (herd cold - herd warm, pool process included); openssh %.1f ms (cold --no-multiplex - warm ControlMaster run, ssh processes included)." % (
            1000 * (cpu("sshnet-insession-first") - cpu("sshnet-insession-warm")) / int(n),
            1000 * (cpu("sshnet-cold") - cpu("sshnet-warm")) / int(n),
            1000 * (cpu("openssh-cold") - cpu("openssh-warm")) / int(n)), ""]
mem = [k for k in rows if k[0].startswith("mem")]
if mem:
    L += ["## Memory, %s hosts x %s MiB of output" % (mem[0][0][3:], mem_mib), "", "| row | wall s | tree peak MiB | client CPU s | exit |", "|---|---|---|---|---|"]
    for k in sorted(mem):
        x = rows[k][0]; L.append("| %s | %.2f | %.0f | %.2f | %d |" % (k[1], x[0], x[1] / 1024, x[2], x[3]))
L += ["", "Key exchange negotiated: openssh `%s`; sshnet `%s`." % (open(kex_o).read().strip(), open(kex_s).read().strip())]
open(out, "w").write("\n".join(L) + "\n")
print("\n".join(L))
PY
