# shellcheck shell=bash
# CPU seconds (user+system) that the fleet's sshd listeners and their reaped session children have used so
# far: fields 14-17 of /proc/<pid>/stat (utime stime cutime cstime) summed over every listener this script
# started. The difference around a run is the server side's cost of that run (sessions still open, such as
# pooled masters' server ends, are counted when they end).
server_cpu() {
  local f pid tot=0 hz
  hz=$(getconf CLK_TCK)
  for f in "$BENCH_WORK"/run/sshd-*.pid; do
    [ -e "$f" ] || continue
    pid=$(cat "$f")
    tot=$(( tot + $(awk '{ s = substr($0, index($0, ") ") + 2); split(s, a, " "); print a[12] + a[13] + a[14] + a[15] }' "/proc/$pid/stat" 2>/dev/null || echo 0) ))
  done
  awk -v t="$tot" -v hz="$hz" 'BEGIN { printf "%.2f\n", t / hz }'
}
