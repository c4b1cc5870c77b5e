#!/usr/bin/env bash
# make bench: run every bench/*.sh (or those matching $1); each prints a
# table and writes bench/results/<name>.json.
set -u
cd "$(dirname "$0")/.."
export BUILD=${BUILD:-build}
mkdir -p bench/results
rc=0
for b in bench/[0-9]*.sh; do
    case "$b" in *"${1:-}"*) ;; *) continue ;; esac
    echo "=== $(basename "$b" .sh)"
    bash "$b" || { echo "bench $b failed"; rc=1; }
    echo
done
exit $rc
