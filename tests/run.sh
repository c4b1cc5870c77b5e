#!/usr/bin/env bash
# Runs every test: unit (Check) binaries, then the process tests.
#   tests/run.sh [unit|process] [NAME-FILTER]
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD
export RZ_TEST_PGURL=${RZ_TEST_PGURL:-$(scripts/pg.sh url)}
if [ "${SAN:-0}" = 1 ]; then
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=0}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
    export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp}
fi
what=${1:-all}
filter=${2:-}
failed=()
t0=$(date +%s)

run_one() { # NAME CMD...
    local name=$1; shift
    local s; s=$(date +%s)
    echo "=== $name"
    if "$@"; then echo "--- pass $name ($(( $(date +%s) - s ))s)"; else
        echo "--- FAIL $name"; failed+=("$name"); fi
}

if [ "$what" = all ] || [ "$what" = unit ]; then
    for t in "$BUILD"/tests/test_*; do
        [ -x "$t" ] || continue
        case "$t" in *"$filter"*) ;; *) continue ;; esac
        run_one "unit/$(basename "$t")" env CK_FORK=yes "$t"
    done
fi
if [ "$what" = all ] || [ "$what" = process ]; then
    for t in tests/process/*.sh; do
        [ -f "$t" ] || continue
        case "$t" in *"$filter"*) ;; *) continue ;; esac
        run_one "process/$(basename "$t" .sh)" bash "$t"
    done
fi
echo
echo "tests took $(( $(date +%s) - t0 ))s"
if [ ${#failed[@]} -gt 0 ]; then
    echo "FAILED: ${failed[*]}"
    exit 1
fi
echo "all tests passed"
