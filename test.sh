#!/usr/bin/env bash
# Builds and runs every test project, then prints one line summing them all: "N passed, N failed, N skipped".
# Integration tests start real sshd servers on loopback; /usr/sbin/sshd must exist (.ci/run installs it).
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
# The .ps1/.psd1 syntax check (an xunit test) parses with tree-sitter-powershell from npm.
if [ ! -d tests/ps-syntax/node_modules ]; then
  command -v npm >/dev/null || { echo "test.sh: npm is missing (needed for the PowerShell syntax check); install nodejs and npm" >&2; exit 1; }
  (cd tests/ps-syntax && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) || exit 1
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
dotnet test HerdPS.sln --nologo "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
# dotnet test prints one "Passed!/Failed!  - Failed: N, Passed: N, Skipped: N, Total: N" line per test project.
read -r passed failed skipped < <(grep -E '(Passed|Failed)! +- Failed: +[0-9]+, Passed: +[0-9]+, Skipped: +[0-9]+' "$log" |
  sed -E 's/.*Failed: +([0-9]+), Passed: +([0-9]+), Skipped: +([0-9]+).*/\2 \1 \3/' |
  awk '{p+=$1; f+=$2; s+=$3} END {printf "%d %d %d\n", p, f, s}')
# Every test project must report: a test host that died (killed, crashed) can leave dotnet test exiting 0 with
# no summary, and that must never read as success.
expected=$(grep -l 'Microsoft.NET.Test.Sdk' tests/*/*.csproj | wc -l)
reported=$(grep -cE '(Passed|Failed)! +- Failed: +[0-9]+, Passed: +[0-9]+' "$log")
if [ "$reported" -lt "$expected" ]; then
  echo "test.sh: only $reported of $expected test projects reported results (a test host died?)" >&2
  [ "$status" -ne 0 ] || status=1
  failed=$(( ${failed:-0} > 0 ? failed : 1 ))
fi
if [ "$status" -ne 0 ] && [ "${failed:-0}" -eq 0 ]; then
  echo "dotnet test exited $status without a failed test (build error or crashed test host)" >&2
  failed=1
fi
echo "${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped"
exit "$status"
