# bench/lib.sh — shared by bench/*.sh: wrk runs parsed into numbers.
. "$(dirname "${BASH_SOURCE[0]}")/../tests/lib.sh"
DURATION=${BENCH_SECONDS:-5}
mkdir -p "$TOP/bench/results"

# wrk_run URL [extra wrk args] -> sets RPS P50 P99 (ms)
wrk_run() {
    local url=$1; shift
    wrk -t1 -c64 -d"${DURATION}s" --latency "$@" "$url" > "$T/wrk.out" 2>&1
    RPS=$(awk '/^Requests\/sec:/ {print $2}' "$T/wrk.out")
    P50=$(awk '$1 == "50%" {print $2}' "$T/wrk.out")
    P99=$(awk '$1 == "99%" {print $2}' "$T/wrk.out")
    NON2XX=$(awk '/Non-2xx/ {print $5}' "$T/wrk.out")
    P50=$(to_ms "$P50"); P99=$(to_ms "$P99")
}
to_ms() { # wrk prints 512.00us, 1.20ms, 2.00s
    case "$1" in
    *us) echo "$1" | sed 's/us$//' | awk '{printf "%.3f", $1/1000}' ;;
    *ms) echo "$1" | sed 's/ms$//' | awk '{printf "%.3f", $1}' ;;
    *s) echo "$1" | sed 's/s$//' | awk '{printf "%.3f", $1*1000}' ;;
    *) echo 0 ;;
    esac
}
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
