#!/usr/bin/env bash
# HerdPS benchmark: `herd exec` side by side with pdsh, parallel-ssh, clush and `ansible -m raw` on a loopback
# fleet. One command on a fresh machine (as root: it creates a login user and runs sshd):
#
#   bench/run.sh                       # full run: N=100 and N=1000, results in bench/results.md
#   bench/run.sh --sizes 20 --reps 1   # quick trial
#
# Options (all optional):
#   --sizes "100 1000"    fleet sizes
#   --reps 5              repetitions per (size, command, tool) for sizes <= 200 ...
#   --reps-large 3        ... and for larger sizes
#   --ansible-reps-large 1  repetitions of ansible at sizes > 200 (it takes minutes per run there)
#   --mem-hosts 200 --mem-mib 5   the memory run (0 hosts = skip)
#   --out FILE            results file (default bench/results.md; the raw TSV goes beside it)
#   --herd PATH           use this herd binary instead of building one (dotnet publish -c Release)
#   --no-install          never call apt-get
# See bench/README.md for the method and its caveats.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
SIZES="100 1000"
REPS=5
REPS_LARGE=3
ANSIBLE_REPS_LARGE=1
MEM_HOSTS=200
MEM_MIB=5
OUT=$HERE/results.md
HERD=
INSTALL=1
THROTTLE=32
while [ $# -gt 0 ]; do
  case $1 in
    --sizes) SIZES=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --reps-large) REPS_LARGE=$2; shift 2 ;;
    --ansible-reps-large) ANSIBLE_REPS_LARGE=$2; shift 2 ;;
    --mem-hosts) MEM_HOSTS=$2; shift 2 ;;
    --mem-mib) MEM_MIB=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --herd) HERD=$2; shift 2 ;;
    --no-install) INSTALL=0; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "run.sh: run as root (it adds the login user '${BENCH_USER:-herdbench}' and starts sshd)" >&2; exit 2; }

# ---------------------------------------------------------------- tools
need_pkgs=()
[ -x /usr/sbin/sshd ] || need_pkgs+=(openssh-server)
command -v ssh >/dev/null || need_pkgs+=(openssh-client)
command -v pdsh >/dev/null || need_pkgs+=(pdsh)
command -v parallel-ssh >/dev/null || command -v pssh >/dev/null || need_pkgs+=(pssh)
command -v clush >/dev/null || need_pkgs+=(clustershell)
command -v ansible >/dev/null || need_pkgs+=(ansible-core)
[ -x /usr/bin/python3 ] || command -v python3 >/dev/null || need_pkgs+=(python3)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  [ $INSTALL = 1 ] || { echo "run.sh: missing ${need_pkgs[*]} (and --no-install)" >&2; exit 2; }
  echo "== installing ${need_pkgs[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi
PSSH=$(command -v parallel-ssh || command -v pssh)
PY=/usr/bin/python3; [ -x $PY ] || PY=$(command -v python3)

# ---------------------------------------------------------------- work dir, cleanup
# Short path on purpose: ControlPath sockets must fit in 104 bytes.
BENCH_WORK=$(mktemp -d /tmp/hb.XXXXXX)
export BENCH_WORK
# shellcheck source=lib/fleet.sh
. "$HERE/lib/fleet.sh"
# shellcheck source=lib/server_cpu.sh
. "$HERE/lib/server_cpu.sh"
MEASURE=$HERE/lib/measure.py
# herd records every exec in its history by default (where the engine has history); keep that cost in the
# numbers but write the records here, not into the user's own history.
export HERD_HISTORY=$BENCH_WORK/history.db
RAW=$BENCH_WORK/raw.tsv

close_masters() { # $1 = control socket folder: ends the pooled masters it holds (ssh -O exit), bounded
  local dir=$1
  [ -d "$dir" ] || return 0
  find "$dir" -maxdepth 1 -type s -print0 2>/dev/null \
    | xargs -0 -r -n 1 -P 8 sh -c 'timeout 10 ssh -o BatchMode=yes -S "$0" -O exit herd-pool >/dev/null 2>&1 || rm -f "$0"'
}
cleanup() {
  set +e
  for d in "$BENCH_WORK"/cm-*; do close_masters "$d"; done
  fleet_stop
  # anything still running from our work dir (a master whose socket vanished): by pid, never by name
  for p in $(grep -l -- "$BENCH_WORK" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3); do
    [ "$p" != $$ ] && kill "$p" 2>/dev/null
  done
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$BENCH_WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- herd
if [ -z "$HERD" ]; then
  echo "== building herd (Release)"
  "$HERE/lib/publish-herd.sh" "$BENCH_WORK/herd"
  HERD=$BENCH_WORK/herd/herd
fi

fleet_prepare
: > "$RAW"
printf 'n\tcmd\ttool\trep\twall_s\ttree_peak_kib\town_peak_kib\tcpu_s\tserver_cpu_s\tlogins\texit\thosts_ok\n' > "$RAW"

# ---------------------------------------------------------------- commands
# 64 KiB: 1024 lines of 64 bytes, the same on every host (the usual case: a config file, a package list).
CMD_TRUE='true'
CMD_64K='yes 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde | head -c 65536'
export ANSIBLE_CONFIG=$BENCH_WORK/ansible.cfg ANSIBLE_HOME=$BENCH_WORK/ansible-home ANSIBLE_HOST_KEY_CHECKING=False \
  ANSIBLE_LOCAL_TEMP=$BENCH_WORK/ansible-tmp ANSIBLE_NOCOLOR=1 ANSIBLE_DEPRECATION_WARNINGS=False
: > "$ANSIBLE_CONFIG"

# tool_argv TOOL CMD OUTFILE -> runs the tool under measure.py (prints its JSON)
run_tool() {
  local tool=$1 cmd=$2 out=$3 cfg=$FLEET_SSH_CONFIG hosts=$FLEET_HOSTS
  case $tool in
    herd-cold|herd-warm)
      HERD_CONTROL_DIR=$BENCH_WORK/cm-herd $PY "$MEASURE" --stdout "$out" -- \
        "$HERD" exec -F "$cfg" -i "$hosts" --insecure -T $THROTTLE -- "$cmd" ;;
    herd-warm-raw)
      HERD_CONTROL_DIR=$BENCH_WORK/cm-herd $PY "$MEASURE" --stdout "$out" -- \
        "$HERD" exec -F "$cfg" -i "$hosts" --insecure --raw -T $THROTTLE -- "$cmd" ;;
    herd-warm-nohist) # every other herd row records its run in the history; this one shows what that costs
      HERD_CONTROL_DIR=$BENCH_WORK/cm-herd $PY "$MEASURE" --stdout "$out" -- \
        "$HERD" exec -F "$cfg" -i "$hosts" --insecure --no-history -T $THROTTLE -- "$cmd" ;;
    herd-nomux)
      $PY "$MEASURE" --stdout "$out" -- "$HERD" exec -F "$cfg" -i "$hosts" --insecure --no-multiplex -T $THROTTLE -- "$cmd" ;;
    pdsh)
      PDSH_SSH_ARGS="-F $cfg -a -x %h" $PY "$MEASURE" --stdout "$out" -- pdsh -R ssh -f $THROTTLE -w "^$hosts" "$cmd" ;;
    pdsh-cm-cold|pdsh-warm)
      PDSH_SSH_ARGS="-F $cfg -a -x -o ControlMaster=auto -o ControlPath=$BENCH_WORK/cm-pdsh/%C -o ControlPersist=600 %h" \
        $PY "$MEASURE" --stdout "$out" -- pdsh -R ssh -f $THROTTLE -w "^$hosts" "$cmd" ;;
    pssh)
      $PY "$MEASURE" --stdout "$out" -- "$PSSH" -h "$hosts" -p $THROTTLE -t 0 -x "-F $cfg" -i "$cmd" ;;
    clush)
      $PY "$MEASURE" --stdout "$out" -- clush -f $THROTTLE --hostfile "$hosts" -o "-F $cfg" "$cmd" ;;
    ansible)
      ANSIBLE_SSH_ARGS="-F $cfg" $PY "$MEASURE" --stdout "$out" -- \
        ansible all -i "$BENCH_WORK/ansible_hosts" -m raw -a "$cmd" -f $THROTTLE ;;
  esac
}

# hosts that delivered a complete result, by each tool's own output format
hosts_ok() {
  local tool=$1 cmdname=$2 out=$3 n=$4
  $PY - "$tool" "$cmdname" "$out" "$n" <<'PY'
import re, sys, collections
tool, cmd, out, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
text = open(out, errors="replace").read()
if cmd == "true":
    if tool.startswith("herd"):
        m = re.search(r"(\d+) hosts: (\d+) succeeded", text); print(m.group(2) if m else 0)
    elif tool == "pssh":
        print(len(re.findall(r"\[SUCCESS\] h\d+", text)))
    elif tool == "ansible":
        print(len(re.findall(r"^h\d+ \| (?:CHANGED|SUCCESS)", text, re.M)))
    else:  # pdsh, clush print nothing for `true`; their exit code says it
        print("-")
    sys.exit()
lines = collections.Counter()
if tool.startswith("herd"):
    m = re.search(r"(\d+) hosts: (\d+) succeeded", text); print(m.group(2) if m else 0); sys.exit()
if tool.startswith("pdsh") or tool == "clush":
    for l in text.splitlines():
        h, _, rest = l.partition(": ")
        if rest.startswith("0123456789abcdef"):
            lines[h] += 1
elif tool in ("pssh", "ansible"):
    cur = None
    for l in text.splitlines():
        m = re.match(r"^\[\d+\] \S+ \[SUCCESS\] (h\d+)", l) or re.match(r"^(h\d+) \| (?:CHANGED|SUCCESS)", l)
        if m:
            cur = m.group(1); continue
        if cur and l.startswith("0123456789abcdef"):
            lines[cur] += 1
print(sum(1 for h, c in lines.items() if c >= 1024))
PY
}

one_run() { # size cmdname tool rep
  local n=$1 cmdname=$2 tool=$3 rep=$4 cmd out js s0 s1 l0 l1
  cmd=$CMD_TRUE; [ "$cmdname" = 64k ] && cmd=$CMD_64K
  out=$BENCH_WORK/out.$tool
  l0=$(fleet_logins); s0=$(server_cpu)
  js=$(run_tool "$tool" "$cmd" "$out" 2>>"$BENCH_WORK/stderr.$tool")
  # let the server side of closed sessions finish before reading its CPU
  sleep 0.3
  s1=$(server_cpu); l1=$(fleet_logins)
  $PY - "$js" "$n" "$cmdname" "$tool" "$rep" "$(awk -v a="$s0" -v b="$s1" 'BEGIN{printf "%.2f", b-a}')" "$((l1 - l0))" \
        "$(hosts_ok "$tool" "$cmdname" "$out" "$n")" >> "$RAW" <<'PY'
import json, sys
j = json.loads(sys.argv[1]); n, cmd, tool, rep, scpu, logins, ok = sys.argv[2:9]
print("\t".join(map(str, [n, cmd, tool, rep, j["wall_s"], j["tree_peak_kib"], j["own_peak_kib"], j["cpu_s"], scpu, logins, j["exit"], ok])))
PY
  tail -1 "$RAW" | awk -F'\t' '{ printf "   %-13s %-4s rep %s: %7.2f s  tree %6.0f MiB  own %5.0f MiB  cpu %6.2f s  sshd %6.2f s  logins %5s  exit %s  ok %s\n", $3, $2, $4, $5, $6/1024, $7/1024, $8, $9, $10, $11, $12 }'
}

# A unit is what runs back to back inside one rotation slot: a warm run right after the cold run that
# pooled its connections, then the pool is closed so every later cold run is really cold.
run_unit() { # size cmdname unit rep
  local n=$1 c=$2 u=$3 r=$4
  case $u in
    herd)
      close_masters "$BENCH_WORK/cm-herd"; rm -rf "$BENCH_WORK/cm-herd"
      one_run "$n" "$c" herd-cold "$r"; one_run "$n" "$c" herd-warm "$r"; one_run "$n" "$c" herd-warm-nohist "$r"
      one_run "$n" "$c" herd-warm-raw "$r"
      close_masters "$BENCH_WORK/cm-herd" ;;
    pdsh-cm)
      mkdir -p "$BENCH_WORK/cm-pdsh"; chmod 700 "$BENCH_WORK/cm-pdsh"; close_masters "$BENCH_WORK/cm-pdsh"
      one_run "$n" "$c" pdsh-cm-cold "$r"; one_run "$n" "$c" pdsh-warm "$r"
      close_masters "$BENCH_WORK/cm-pdsh" ;;
    *) one_run "$n" "$c" "$u" "$r" ;;
  esac
}

# ---------------------------------------------------------------- correctness at the largest size
check_attribution() { # n: every host exactly once, its own output, complete
  local n=$1 out=$BENCH_WORK/attrib.ndjson
  # Each host prints the loopback address it was reached at ($SSH_CONNECTION) and 64 KiB; the address is
  # unique per alias, so a result carrying another host's output is caught.
  "$HERD" exec -F "$FLEET_SSH_CONFIG" -i "$FLEET_HOSTS" --insecure --no-multiplex -T $THROTTLE --json -- \
    'set -- $SSH_CONNECTION; echo "$3"; '"$CMD_64K" > "$out" 2>/dev/null || true
  $PY - "$out" "$FLEET_SSH_CONFIG" "$n" <<'PY'
import json, re, sys
out, cfg, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
addr = dict(re.findall(r"^Host (h\d+)\n  HostName (\S+)", open(cfg).read(), re.M))
seen, bad, lost = {}, 0, 0
for line in open(out):
    r = json.loads(line)
    seen[r["hostName"]] = seen.get(r["hostName"], 0) + 1
    first, _, rest = r["stdOut"].partition("\n")
    if r["status"] != "Succeeded" or first != addr.get(r["hostName"]) or len(rest) != 65536:
        bad += 1
lost = sum(1 for h in addr if h not in seen)
dup = sum(c - 1 for c in seen.values())
print(f"{n} hosts: {len(seen)} results, {lost} lost, {dup} duplicated, {bad} misattributed or incomplete")
PY
}

# ---------------------------------------------------------------- the runs
UNITS=(herd pdsh pdsh-cm pssh clush ansible herd-nomux)
START_LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
START_DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
ATTRIB=""
for n in $SIZES; do
  echo "== fleet of $n hosts"
  fleet_start "$n"
  reps=$REPS; [ "$n" -gt 200 ] && reps=$REPS_LARGE
  for c in true 64k; do
    for ((r = 1; r <= reps; r++)); do
      echo " -- N=$n '$c' rep $r/$reps (load $(cut -d' ' -f1 /proc/loadavg))"
      k=${#UNITS[@]}
      for ((j = 0; j < k; j++)); do
        u=${UNITS[$(( (j + r - 1) % k ))]}   # rotate the order every repetition
        if [ "$u" = ansible ] && [ "$n" -gt 200 ] && [ "$r" -gt "$ANSIBLE_REPS_LARGE" ]; then continue; fi
        run_unit "$n" "$c" "$u" "$r"
      done
    done
  done
  ATTRIB="$ATTRIB$(check_attribution "$n")"$'\n'
  echo "   attribution: $(echo "$ATTRIB" | tail -2 | head -1)"
done

MEM_LINE=""
if [ "$MEM_HOSTS" -gt 0 ]; then
  echo "== memory run: $MEM_HOSTS hosts x $MEM_MIB MiB, herd exec --json > file"
  [ "${FLEET_N:-0}" -ge "$MEM_HOSTS" ] || fleet_start "$MEM_HOSTS"
  head -n "$MEM_HOSTS" "$FLEET_HOSTS" > "$BENCH_WORK/mem_hosts.txt"
  mcmd="yes 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde | head -c $((MEM_MIB * 1048576))"
  MEM_JSON=$($PY "$MEASURE" --stdout "$BENCH_WORK/mem.ndjson" -- "$HERD" exec -F "$FLEET_SSH_CONFIG" -i "$BENCH_WORK/mem_hosts.txt" \
    --insecure --no-multiplex -T $THROTTLE --json -- "$mcmd" 2>/dev/null)
  MEM_OK=$($PY -c 'import json,sys; print(sum(1 for l in open(sys.argv[1]) if len(json.loads(l)["stdOut"]) == int(sys.argv[2])))' \
    "$BENCH_WORK/mem.ndjson" $((MEM_MIB * 1048576)))
  rm -f "$BENCH_WORK/mem.ndjson"
  MEM_LINE="$MEM_JSON complete=$MEM_OK"
  echo "   $MEM_LINE"
fi
END_LOAD=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- report
mkdir -p "$(dirname "$OUT")"
cp "$RAW" "${OUT%.md}.tsv"
VERSIONS=$(
  echo "- herd: $("$HERD" --version 2>/dev/null) (commit $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?'), Release, .NET $(dotnet --version 2>/dev/null || echo '?'))"
  echo "- OpenSSH: $(ssh -V 2>&1)"
  echo "- pdsh: $(pdsh -V 2>&1 | head -1)"
  echo "- parallel-ssh: $(dpkg-query -W -f '${Version}' pssh 2>/dev/null || "$PSSH" --version 2>&1)"
  echo "- clush: $(clush --version 2>&1 | head -1)"
  echo "- ansible: $(ansible --version 2>/dev/null | head -1)"
)
$PY "$HERE/lib/report.py" "$RAW" "$OUT" \
  --date "$START_DATE" \
  --machine "$(uname -srm); $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')); $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); $(. /etc/os-release; echo "$PRETTY_NAME")" \
  --load "at start $START_LOAD, at end $END_LOAD (1/5/15 min)" \
  --versions "$VERSIONS" \
  --attribution "$ATTRIB" \
  --memory "$MEM_LINE" --mem-hosts "$MEM_HOSTS" --mem-mib "$MEM_MIB" \
  --command "bench/run.sh --sizes \"$SIZES\" --reps $REPS --reps-large $REPS_LARGE --ansible-reps-large $ANSIBLE_REPS_LARGE"
echo "== wrote $OUT (raw: ${OUT%.md}.tsv)"
