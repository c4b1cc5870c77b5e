#!/bin/sh
# The private PostgreSQL 15 cluster for development and tests, inside the
# checkout (var/pg), on a unix socket in var/pg/sock and TCP 127.0.0.1:$PGPORT.
#   scripts/pg.sh start   initialise on first use, start unless running, create the db
#   scripts/pg.sh stop    stop it
#   scripts/pg.sh url     print the connection URL
#   scripts/pg.sh env     print PG* variables for psql
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
BIN=${PGBIN:-/usr/lib/postgresql/15/bin}
BASE=$TOP/var/pg
DATA=$BASE/data
SOCK=$BASE/sock
PORT=${PGPORT:-54329}
DB=${PGDATABASE:-rentezy}

# initdb and postgres refuse to run as root.
if [ "$(id -u)" -eq 0 ]; then AS="runuser -u postgres --"; else AS=""; fi

url() { echo "postgresql:///$DB?host=$SOCK&port=$PORT&user=postgres"; }

running() { [ -f "$DATA/postmaster.pid" ] && (cd / && $AS "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1); }

case "${1:-}" in
start)
    mkdir -p "$BASE" "$SOCK"
    if [ -n "$AS" ]; then chown postgres:postgres "$BASE" "$SOCK"; fi
    chmod 700 "$BASE"
    if [ ! -f "$DATA/PG_VERSION" ]; then
        (cd / && $AS "$BIN/initdb" -D "$DATA" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
            --no-sync >"$BASE/initdb.log" 2>&1) || { cat "$BASE/initdb.log" >&2; exit 1; }
    fi
    if ! running; then
        # fsync=off: development and tests only.
        (cd / && $AS "$BIN/pg_ctl" -D "$DATA" -l "$BASE/log" -w -t 30 -o \
            "-p $PORT -k $SOCK -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=400 -c shared_buffers=256MB" \
            start >/dev/null) || { tail -n 20 "$BASE/log" >&2; exit 1; }
    fi
    if ! "$BIN/psql" -h "$SOCK" -p "$PORT" -U postgres -d postgres -Atqc \
        "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
        "$BIN/createdb" -h "$SOCK" -p "$PORT" -U postgres "$DB"
    fi
    echo "postgres: $(url)"
    ;;
stop)
    if running; then (cd / && $AS "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null); fi
    ;;
url) url ;;
env) echo "PGHOST=$SOCK PGPORT=$PORT PGUSER=postgres PGDATABASE=$DB" ;;
*) echo "usage: $0 start|stop|url|env" >&2; exit 2 ;;
esac
