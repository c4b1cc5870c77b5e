# tests/lib.sh — helpers for the process tests (sourced by tests/process/*.sh).
#
# Every test gets its own scratch directory ($T), its own port and its own
# config directory; daemons it starts are stopped when it exits.
#   rz_conf DIR [extra lines...]   write DIR/00-test.conf for a daemon on $PORT
#   rz_start DIR [args...]         start build/rentezyd -c DIR, wait for /healthz
#   rz_stop [SIG]                  stop the last started daemon (default TERM), wait
#   check NAME CMD...              run CMD; print ok/FAIL NAME; count failures
#   expect_eq NAME GOT WANT
#   finish                          exit non-zero when anything failed
set -u
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-build}
RZD="$TOP/$BUILD/rentezyd"
PLUGDIR="$TOP/$BUILD/plugins"
TPLUGDIR="$TOP/$BUILD/tests/plugins"
PGURL=${RZ_TEST_PGURL:-$("$TOP/scripts/pg.sh" url)}
T=$(mktemp -d /tmp/rz-test.XXXXXX)
FAILS=0
DAEMON_PIDS=""

free_port() {
    python3 - <<'PY'
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}
PORT=$(free_port)
BASE="http://127.0.0.1:$PORT"

cleanup() {
    for p in $DAEMON_PIDS; do kill -TERM "$p" 2>/dev/null; done
    for p in $DAEMON_PIDS; do
        for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null
    done
    rm -rf "$T"
}
trap cleanup EXIT

rz_conf() {
    local dir=$1; shift
    mkdir -p "$dir"
    {
        echo "[host]"
        echo "listen = 127.0.0.1:$PORT"
        echo "workers = ${WORKERS:-1}"
        echo "plugin_dir = $PLUGDIR"
        echo "plugins = ${PLUGINS:-hello}"
        echo "shutdown_timeout = ${SHUTDOWN_TIMEOUT:-5s}"
        echo "restart_backoff_max = 2s"
        echo "test_clock = true"
        echo "log_level = ${LOG_LEVEL:-info}"
        [ -n "${NO_DB:-}" ] || { echo "[database]"; echo "url = $PGURL"; }
        for line in "$@"; do echo "$line"; done
    } > "$dir/00-test.conf"
}

wait_http() { # URL [tries]
    local url=$1 tries=${2:-100}
    for _ in $(seq 1 "$tries"); do
        curl -fsS -o /dev/null --max-time 1 "$url" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

rz_start() {
    local dir=$1; shift
    "$RZD" -c "$dir" "$@" >>"$T/daemon.log" 2>&1 &
    RZ_PID=$!
    DAEMON_PIDS="$DAEMON_PIDS $RZ_PID"
    if ! wait_http "$BASE/healthz" 150; then
        echo "daemon did not come up; log:" >&2
        tail -n 30 "$T/daemon.log" >&2
        return 1
    fi
}

rz_stop() {
    local sig=${1:-TERM}
    kill "-$sig" "$RZ_PID" 2>/dev/null
    wait "$RZ_PID" 2>/dev/null
    RZ_STATUS=$?
}

check() {
    local name=$1; shift
    if "$@" >"$T/check.out" 2>&1; then
        echo "ok   $name"
    else
        echo "FAIL $name"; sed 's/^/     /' "$T/check.out" | head -n 20
        FAILS=$((FAILS + 1))
    fi
}

expect_eq() {
    if [ "$2" = "$3" ]; then echo "ok   $1"; else
        echo "FAIL $1: got '$2', want '$3'"; FAILS=$((FAILS + 1)); fi
}

# status METHOD URL [curl args...] -> prints the HTTP status; body in $T/body
status() {
    local m=$1 u=$2; shift 2
    curl -s -o "$T/body" -w '%{http_code}' -X "$m" "$u" "$@"
}

finish() {
    if [ "$FAILS" -gt 0 ]; then
        echo "$FAILS check(s) failed; daemon log tail:"; tail -n 40 "$T/daemon.log" 2>/dev/null
        exit 1
    fi
    exit 0
}
