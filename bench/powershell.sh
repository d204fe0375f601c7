#!/usr/bin/env bash
# The PowerShell module's numbers, next to herd's, measured alternately in one go on one loopback fleet:
#   - Import-Module HerdPS in a fresh pwsh (and pwsh's own start, for scale);
#   - in ONE PowerShell session, the first Invoke-FleetCommand on N hosts (cold: it opens the pooled connections)
#     and the repeated ones (warm);
#   - herd exec cold (no pooled connection) and warm (a new herd process each time, on the pooled connections).
# Ratios are against herd exec cold of the same round. As root (it starts sshd and adds the login user):
#
#   bench/powershell.sh                         # 100 hosts, 3 rounds -> a section of bench/results.md
#   bench/powershell.sh --hosts 20 --rounds 1 --out /tmp/ps.md
#
# It uses bench/lib/fleet.sh (one loopback address per host; see bench/README.md) and the pwsh built from
# tools/pwsh, so no PowerShell needs to be installed.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
HOSTS=100
ROUNDS=3
REPEATS=5
OUT=$HERE/results.md
THROTTLE=32
while [ $# -gt 0 ]; do
  case $1 in
    --hosts) HOSTS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --repeats) REPEATS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "powershell.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "powershell.sh: run as root (it adds the login user and starts sshd)" >&2; exit 2; }

BENCH_WORK=$(mktemp -d /tmp/hp.XXXXXX)   # short: ControlPath sockets must fit in 104 bytes
export BENCH_WORK
# shellcheck source=lib/fleet.sh
. "$HERE/lib/fleet.sh"
export HERD_HISTORY=$BENCH_WORK/history.db   # every run records, as a user's does, but not into the user's history
cleanup() {
  set +e
  for d in "$BENCH_WORK"/cm-*; do
    [ -d "$d" ] && find "$d" -maxdepth 1 -type s -print0 | xargs -0 -r -n 1 sh -c 'timeout 10 ssh -S "$0" -O exit x >/dev/null 2>&1'
  done
  fleet_stop
  for p in $(grep -l -- "$BENCH_WORK" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3); do [ "$p" != $$ ] && kill "$p" 2>/dev/null; done
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$BENCH_WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== building herd, the module and pwsh (Release)"
"$HERE/lib/publish-herd.sh" "$BENCH_WORK/herd"
dotnet publish "$REPO/src/HerdPS" -c Release -nologo -v q >/dev/null
dotnet build "$REPO/tools/pwsh" -c Release -o "$BENCH_WORK/pwsh" -nologo -v q >/dev/null
HERD=$BENCH_WORK/herd/herd
PWSH=$BENCH_WORK/pwsh/pwsh
MANIFEST=$(ls "$REPO"/out/HerdPS/*/HerdPS.psd1 | head -1)

fleet_prepare
fleet_start "$HOSTS"
RAW=$BENCH_WORK/raw.tsv
printf 'round\twhat\tms\tok\n' > "$RAW"
now_ms() { date +%s%3N; }

for ((round = 1; round <= ROUNDS; round++)); do
  echo "== round $round of $ROUNDS"
  # pwsh's own start, then the same with Import-Module, each in a fresh process
  t0=$(now_ms); "$PWSH" -NoProfile -NonInteractive -Command '$null' ; t1=$(now_ms)
  printf '%s\tpwsh start\t%s\t\n' "$round" $((t1 - t0)) >> "$RAW"
  ms=$("$PWSH" -NoProfile -NonInteractive -Command "(Measure-Command { Import-Module '$MANIFEST' }).TotalMilliseconds")
  printf '%s\tImport-Module\t%.0f\t\n' "$round" "$ms" >> "$RAW"

  # herd exec cold then warm, each a new process (measured by wall clock around it)
  rm -rf "$BENCH_WORK/cm-herd"
  for what in "herd exec cold" $(for ((r = 1; r <= REPEATS; r++)); do echo "herd-exec-warm"; done); do
    t0=$(now_ms)
    ok=$(HERD_CONTROL_DIR=$BENCH_WORK/cm-herd "$HERD" exec -F "$FLEET_SSH_CONFIG" -i "$FLEET_HOSTS" --insecure -T $THROTTLE --json -- true 2>/dev/null | grep -c '"status":"Succeeded"' || true)
    t1=$(now_ms)
    printf '%s\t%s\t%s\t%s\n' "$round" "${what//-/ }" $((t1 - t0)) "$ok" >> "$RAW"
  done

  # one PowerShell session: the first run opens the pooled connections, the repeated ones reuse them
  rm -rf "$BENCH_WORK/cm-ps"
  HERD_CONTROL_DIR=$BENCH_WORK/cm-ps "$PWSH" -NoProfile -NonInteractive -Command "
    Import-Module '$MANIFEST'
    \$p = @{ InventoryPath = '$FLEET_HOSTS'; SshConfigPath = '$FLEET_SSH_CONFIG'; Insecure = \$true; ThrottleLimit = $THROTTLE; Command = 'true'; WarningAction = 'SilentlyContinue' }
    foreach (\$i in 0..$REPEATS) {
        \$ok = 0
        \$t = Measure-Command { \$ok = @(Invoke-FleetCommand @p | Where-Object Succeeded).Count }
        (@($round, \$(if (\$i -eq 0) { 'Invoke-FleetCommand first' } else { 'Invoke-FleetCommand repeated' }), [math]::Round(\$t.TotalMilliseconds), \$ok) -join [char]9)
    }" >> "$RAW"
done

# ---------------------------------------------------------------- report
SECTION=$BENCH_WORK/section.md
python3 - "$RAW" "$HOSTS" "$ROUNDS" "$REPEATS" "$(cd "$REPO" && git rev-parse --short HEAD)" > "$SECTION" <<'PY'
import csv, statistics, sys
raw, hosts, rounds, repeats, commit = sys.argv[1:6]
rows = list(csv.DictReader(open(raw), delimiter='\t'))
by = {}
for r in rows: by.setdefault(r['what'], []).append(float(r['ms']))
med = {k: statistics.median(v) for k, v in by.items()}
base = med['herd exec cold']
bad = [r for r in rows if r['ok'] not in ('', hosts)]
order = ['pwsh start', 'Import-Module', 'herd exec cold', 'herd exec warm', 'Invoke-FleetCommand first', 'Invoke-FleetCommand repeated']
print(f"## The PowerShell module next to herd exec ({hosts} hosts, `true`, throttle 32)\n")
print(f"bench/powershell.sh at {commit}: {rounds} rounds, {repeats} repeated runs each, alternating; medians in ms; "
      f"ratio = against herd exec cold. Import-Module is measured inside a fresh pwsh (Measure-Command), "
      f"\"pwsh start\" is that pwsh's whole process without the module; the Invoke-FleetCommand rows run in one "
      f"PowerShell session, its first run opening the pooled connections, as herd exec cold does.\n")
print("| what | median ms | ratio | samples |\n| --- | ---: | ---: | ---: |")
for k in order:
    if k in med:
        ratio = '' if k in ('pwsh start', 'Import-Module') else f"{med[k] / base:.2f}"
        print(f"| {k} | {med[k]:.0f} | {ratio} | {len(by[k])} |")
print()
print("Every run reported all hosts succeeded." if not bad else f"**{len(bad)} runs did not report all {hosts} hosts succeeded.**")
PY
cat "$SECTION"
if [ -f "$OUT" ] && grep -q '^## The PowerShell module next to herd exec' "$OUT"; then
  python3 - "$OUT" "$SECTION" <<'PY'
import re, sys
out, section = sys.argv[1], open(sys.argv[2]).read()
text = open(out).read()
text = re.sub(r'## The PowerShell module next to herd exec.*?(?=\n## |\Z)', section.rstrip('\n') + '\n', text, flags=re.S)
open(out, 'w').write(text)
PY
else
  { echo; cat "$SECTION"; } >> "$OUT"
fi
echo "== written to $OUT"
