#!/usr/bin/env bash
# Builds and runs every test: the xunit projects (engine, module contract, the module in PowerShell 7.6 with every
# documented example), then the Pester suite under the pwsh built from Microsoft.PowerShell.SDK (tools/pwsh).
# Ends with one line summing them all: "N passed, N failed, N skipped". Exits non-zero when anything failed.
# Extra arguments go to `dotnet test` (e.g. ./test.sh -c Release, ./test.sh --filter ...).
# Integration tests start real sshd servers on loopback; /usr/sbin/sshd must exist (installed here when root).
set -uo pipefail
cd "$(dirname "$0")"
# The integration tests start real OpenSSH servers; a fresh Debian machine has only the client.
if [ ! -x /usr/sbin/sshd ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server >/dev/null
  else
    echo "test.sh: /usr/sbin/sshd is missing; install openssh-server (the tests start their own sshd on loopback)" >&2
    exit 1
  fi
fi
# The history tests start a throwaway PostgreSQL server (initdb and pg_ctl) unless $HERD_TEST_POSTGRES names one.
if [ -z "${HERD_TEST_POSTGRES:-}" ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "test.sh: PostgreSQL is missing (no /usr/lib/postgresql/*/bin/initdb); install the postgresql package, or set HERD_TEST_POSTGRES" >&2
    exit 1
  fi
fi
# The native herd (below) is linked by the system's C toolchain: clang or gcc, and zlib's headers.
if { ! command -v clang >/dev/null && ! command -v gcc >/dev/null; } || [ ! -e /usr/include/zlib.h ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang zlib1g-dev >/dev/null
  else
    echo "test.sh: the native herd needs a C toolchain to link: install clang (or gcc) and zlib1g-dev" >&2
    exit 1
  fi
fi
configuration=Debug
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    -c|--configuration) configuration=${args[$((i + 1))]:-Debug} ;;
    --configuration=*) configuration=${args[$i]#*=} ;;
  esac
done
log=$(mktemp)
native=$(mktemp -d)
trap 'rm -rf "$log" "$native"' EXIT
# The herd the README builds for real use is the native one (Native AOT): every test that starts herd as a process
# runs that build ($HERD_TEST_HERD), so what trimming or ahead-of-time compilation breaks fails here. A given
# $HERD_TEST_HERD (another build to test) is used as it is.
status=0
if [ -z "${HERD_TEST_HERD:-}" ]; then
  if dotnet publish src/HerdPS.Cli -c Release -p:HerdNative=true --nologo -v q -o "$native" >"$log" 2>&1; then
    export HERD_TEST_HERD="$native/herd"
  else
    cat "$log"
    echo "test.sh: publishing the native herd failed (dotnet publish src/HerdPS.Cli -c Release -p:HerdNative=true)" >&2
    status=1
  fi
fi
dotnet test HerdPS.sln --nologo "$@" 2>&1 | tee "$log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

# Pester, under our own pwsh, against the module the test build packaged in out/.
# $HERD_PWSH picks another PowerShell (an installed 7.4, say); the default is the one tools/pwsh built.
pwsh=${HERD_PWSH:-tools/pwsh/bin/$configuration/net10.0/pwsh}
packages=$(dotnet nuget locals global-packages --list | sed -E 's/^global-packages: *//')
pester=${packages%/}/pester/5.7.1/tools/Pester.psd1
if command -v "$pwsh" >/dev/null && [ -f "$pester" ]; then
  "$pwsh" -NoProfile -NonInteractive -File tests/Pester/Invoke-PesterSuite.ps1 -PesterPath "$pester" 2>&1 | tee -a "$log"
  pester_status=${PIPESTATUS[0]}
  [ "$pester_status" -eq 0 ] || status=1
else
  echo "test.sh: Pester did not run: $pwsh or $pester is missing (the build failed?)" >&2
  status=1
fi

# dotnet test prints one "Passed!/Failed!  - Failed: N, Passed: N, Skipped: N, Total: N" line per test project;
# the Pester runner prints "Pester: N passed, N failed, N skipped".
read -r passed failed skipped < <(
  { grep -E '(Passed|Failed)! +- Failed: +[0-9]+, Passed: +[0-9]+, Skipped: +[0-9]+' "$log" |
      sed -E 's/.*Failed: +([0-9]+), Passed: +([0-9]+), Skipped: +([0-9]+).*/\2 \1 \3/'
    grep -E '^Pester: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped' "$log" |
      sed -E 's/^Pester: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped.*/\1 \2 \3/'
  } | awk '{p+=$1; f+=$2; s+=$3} END {printf "%d %d %d\n", p, f, s}')
# Every test project and Pester must report: a test host that died (killed, crashed) can leave dotnet test exiting 0
# with no summary, and that must never read as success.
expected=$(( $(grep -l 'Microsoft.NET.Test.Sdk' tests/*/*.csproj | wc -l) + 1 ))
reported=$(( $(grep -cE '(Passed|Failed)! +- Failed: +[0-9]+, Passed: +[0-9]+' "$log") + $(grep -cE '^Pester: [0-9]+ passed' "$log") ))
if [ "$reported" -lt "$expected" ]; then
  echo "test.sh: only $reported of $expected test suites reported results (a test host died?)" >&2
  [ "$status" -ne 0 ] || status=1
  failed=$(( ${failed:-0} > 0 ? failed : 1 ))
fi
if [ "$status" -ne 0 ] && [ "${failed:-0}" -eq 0 ]; then
  echo "test.sh: a step exited non-zero without a failed test (build error or crashed test host)" >&2
  failed=1
fi
echo "${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped"
exit "$status"
