#!/usr/bin/env bash
# Event bus: publish-to-handler latency (p50/p99 at a steady 1,000 events/s)
# and sustained throughput (50,000 events published in transactions of 500)
# for both backends.  kafka runs against librdkafka's mock cluster
# (tests/tools/kafka_mock), relay and consumer in one process.
# Targets: embedded >= 10,000 events/s with p99 < 50 ms; kafka >= 20,000/s.
. "$(dirname "$0")/lib.sh"
TOOL="$TOP/$BUILD/tests/tools/bus_bench"
MOCK="$TOP/$BUILD/tests/tools/kafka_mock"
[ -x "$TOOL" ] && [ -x "$MOCK" ] || { echo "build $TOOL and $MOCK first (make bench)"; exit 1; }

"$TOOL" "$PGURL" embedded > "$T/embedded.json" 2>>"$T/bench.log" || { tail "$T/bench.log"; exit 1; }
"$MOCK" "$T/brokers" 2>>"$T/bench.log" &
MOCK_PID=$!
for _ in $(seq 1 100); do [ -s "$T/brokers" ] && break; sleep 0.1; done
"$TOOL" "$PGURL" kafka "$(cat "$T/brokers")" > "$T/kafka.json" 2>>"$T/bench.log"
rc=$?
kill "$MOCK_PID"; wait "$MOCK_PID" 2>/dev/null
[ $rc -eq 0 ] || { tail "$T/bench.log"; exit 1; }

printf '%-10s %12s %10s %10s %s\n' backend events/s p50_ms p99_ms target
for b in embedded kafka; do
    jq -r --arg b "$b" '[.backend, .events_per_s, .p50_ms, .p99_ms,
        (if $b == "embedded" then ">= 10000/s, p99 < 50 ms" else ">= 20000/s" end)] | @tsv' \
        "$T/$b.json" | awk -F'\t' '{printf "%-10s %12s %10s %10s %s\n", $1, $2, $3, $4, $5}'
done
jq -s '{bus: ., machine: {cores: '"$(nproc)"', load: "'"$(cut -d' ' -f1-3 /proc/loadavg)"'"}}' \
    "$T/embedded.json" "$T/kafka.json" > "$TOP/bench/results/bus.json"
echo "wrote bench/results/bus.json"
