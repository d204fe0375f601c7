#!/usr/bin/env bash
# What the run history costs, on SQLite and on PostgreSQL: bytes stored per run of 200 hosts (identical 5 MiB outputs,
# different package lists, short outputs), 8 writer processes x 2 threads recording runs of 200 hosts at once, and
# `herd history --last 20` and a per-host query at 100k runs and 10M host results. Prints a markdown section for
# bench/results.md.
#
#   bench/history.sh                          # everything (the 10M-result load takes several minutes)
#   bench/history.sh storage                  # one part: storage, writers, scale or connect
#   bench/history.sh scale --runs 10000       # a smaller scale trial
#
# Needs the .NET SDK and PostgreSQL's binaries (/usr/lib/postgresql/*/bin; it starts its own server as the tests do,
# with fsync on, in a temporary folder, and stops it), or $HERD_TEST_POSTGRES naming a server.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
BIN=$(mktemp -d /tmp/historybench.XXXXXX)
trap 'rm -rf "$BIN"' EXIT
dotnet build "$HERE/history/HistoryBench.csproj" -c Release -v q --nologo -o "$BIN/bench" >/dev/null
dotnet build "$REPO/tests/HerdPS.HistoryWriter/HerdPS.HistoryWriter.csproj" -c Release -v q --nologo -o "$BIN/writer" >/dev/null
# herd as the README says to publish it (the native herd; HERD_BENCH_BUILD=fdd for the framework-dependent one): only
# the parts that start herd processes need it.
HERD_ARGS=()
case "${1:-all}" in
  all|scale|connect)
    "$HERE/lib/publish-herd.sh" "$BIN/herd"
    HERD_ARGS=(--herd "$BIN/herd/herd") ;;
esac
# The scale part also times Get-FleetHistory in one PowerShell session: the module as published, pwsh from tools/pwsh.
case "${1:-all}" in
  all|scale)
    dotnet publish "$REPO/src/HerdPS" -c Release -nologo -v q >/dev/null
    dotnet build "$REPO/tools/pwsh" -c Release -o "$BIN/pwsh" -nologo -v q >/dev/null
    HERD_ARGS+=(--pwsh "$BIN/pwsh/pwsh" --module "$(ls "$REPO"/out/HerdPS/*/HerdPS.psd1 | head -1)") ;;
esac
echo "## Run history: storage, writers, queries (bench/history.sh, $(date -u +%Y-%m-%d), commit $(git -C "$REPO" rev-parse --short HEAD), herd build ${HERD_BENCH_BUILD:-native})"
echo
"$BIN/bench/HistoryBench" "${@:-all}" "${HERD_ARGS[@]}" --writer "$BIN/writer/HerdPS.HistoryWriter.dll"
