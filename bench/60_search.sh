#!/usr/bin/env bash
# Search: the in-memory index (plugins/search core) on listings generated
# from the real data (bench/search/gen.c) at 10k, 100k and 1M listings —
# build rate, memory per listing, query p50/p99 at one client, throughput
# with one thread per core — and the same queries against PostgreSQL done
# by hand (pg_trgm, earthdistance, NOT EXISTS, grouped facets) on 100k.
# Data from Inside Airbnb (insideairbnb.com), licensed CC BY 4.0; scaled
# and varied (new ids, positions and words) for RentEzy.
#   SEARCH_SIZES=10000,100000,1000000 SEARCH_QUERIES=1000 SEARCH_PG=1
#   SEARCH_BEFORE=<git revision>: first the same run with that revision's
#     core (before/after side by side; bench/results/search-before.json)
#   searchbench's own switches (environment): SB_CPU=1 times with the
#     thread's CPU clock (a shared machine), SB_SLOW=1 prints the slowest
#     queries, SB_DIGEST=1 a digest of every answer (two cores must agree),
#     SB_ONE='q=...' repeats one query (for perf).
. "$(dirname "$0")/lib.sh"
cd "$TOP" || exit 1
DATA=${RZ_DATA_DIR:-$TOP/tests/data}
SB="$T/searchbench"
# the core: every file of plugins/search that does not include the plugin layer
CORE=$(grep -L -e '"search.h"' -e 'rentezy/plugin.h' plugins/search/*.c)
gcc -std=gnu11 -O2 -g -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -D_GNU_SOURCE \
    -Iplugins/search $(pkg-config --cflags libpq) -o "$SB" $CORE bench/search/*.c \
    $(pkg-config --libs libpq) -lm -lpthread || { echo "searchbench did not build"; exit 1; }
if [ -n "${SEARCH_BEFORE:-}" ]; then
    mkdir -p "$T/before"
    git archive "$SEARCH_BEFORE" plugins/search | tar -x -C "$T/before" || { echo "no $SEARCH_BEFORE"; exit 1; }
    BCORE=$(cd "$T/before" && grep -L -e '"search.h"' -e 'rentezy/plugin.h' plugins/search/*.c | sed "s|^|$T/before/|")
    gcc -std=gnu11 -O2 -g -D_GNU_SOURCE -I"$T/before/plugins/search" $(pkg-config --cflags libpq) \
        -o "$T/searchbench-before" $BCORE bench/search/*.c $(pkg-config --libs libpq) -lm -lpthread ||
        { echo "searchbench at $SEARCH_BEFORE did not build"; exit 1; }
    echo "before: the core at $SEARCH_BEFORE"
    "$T/searchbench-before" bench "$DATA" bench/results/search-before.json --sizes "${SEARCH_SIZES:-10000,100000,1000000}" \
        --queries "${SEARCH_QUERIES:-1000}" --big-queries "${SEARCH_BIG_QUERIES:-1000}" \
        --threads "$(nproc)" --seconds "${SEARCH_SECONDS:-2}"
    echo "after: this tree's core"
fi
PGARGS=()
if [ "${SEARCH_PG:-1}" = 1 ]; then
    # a scratch database on the private cluster, dropped at the end
    psql "$PGURL" -qAtc "DROP DATABASE IF EXISTS rz_searchbench" -c "CREATE DATABASE rz_searchbench" >/dev/null
    PGARGS=(--pg "${PGURL/\/rentezy?//rz_searchbench?}" --pg-size 100000 --pg-queries "${SEARCH_PG_QUERIES:-100}")
fi
"$SB" bench "$DATA" bench/results/search.json --sizes "${SEARCH_SIZES:-10000,100000,1000000}" \
    --queries "${SEARCH_QUERIES:-1000}" --big-queries "${SEARCH_BIG_QUERIES:-1000}" \
    --threads "$(nproc)" --seconds "${SEARCH_SECONDS:-2}" "${PGARGS[@]}"
rc=$?
[ "${SEARCH_PG:-1}" = 1 ] && psql "$PGURL" -qAtc "DROP DATABASE IF EXISTS rz_searchbench" >/dev/null
echo "targets: p99 < 5 ms at 1,000,000 listings; build >= 100,000 listings/s (one thread)"
exit $rc
