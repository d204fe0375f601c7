#!/usr/bin/env bash
# Publishes herd the way the README says for real use, into the folder $1 (herd is then $1/herd):
#   HERD_BENCH_BUILD=native (the default)  the native herd: -p:HerdNative=true (Native AOT)
#   HERD_BENCH_BUILD=fdd                   framework-dependent, ReadyToRun (the README's alternative)
# Every bench measures the same build this way, and its header can say which (publish_herd_describe).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
case "${HERD_BENCH_BUILD:-native}" in
  native) dotnet publish "$REPO/src/HerdPS.Cli" -c Release -p:HerdNative=true -o "$1" -nologo -v q >/dev/null ;;
  fdd) dotnet publish "$REPO/src/HerdPS.Cli" -c Release -o "$1" -nologo -v q >/dev/null ;;
  *) echo "publish-herd.sh: HERD_BENCH_BUILD is native or fdd, not '${HERD_BENCH_BUILD}'" >&2; exit 2 ;;
esac
