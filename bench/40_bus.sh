#!/usr/bin/env bash
# Event bus, both backends side by side in one run (tests/tools/bus_bench):
#   events/s   sustained throughput: 50,000 events published in transactions
#              of 500 while the bus delivers them; publish/s is the
#              publisher's own rate in the same round (the ceiling)
#   drain/s    50,000 events already in the outbox, delivered: the bus's
#              own rate, whatever the publisher's
#   p50/p99    publish-to-handler latency at a steady 1,000 events/s
# kafka runs against librdkafka's mock cluster (tests/tools/kafka_mock),
# relay and consumer in one process.  Rounds alternate embedded and kafka
# (BUS_ROUNDS, default 3); the table shows each backend's median round and
# its ratio to the target.  The machine is shared: the load is recorded.
# Targets: embedded >= 10,000 events/s with p99 < 50 ms; kafka >= 20,000/s.
. "$(dirname "$0")/lib.sh"
TOOL="$TOP/$BUILD/tests/tools/bus_bench"
MOCK="$TOP/$BUILD/tests/tools/kafka_mock"
ROUNDS=${BUS_ROUNDS:-3}
[ -x "$TOOL" ] && [ -x "$MOCK" ] || { echo "build $TOOL and $MOCK first (make bench)"; exit 1; }

"$MOCK" "$T/brokers" 2>>"$T/bench.log" &
MOCK_PID=$!
for _ in $(seq 1 100); do [ -s "$T/brokers" ] && break; sleep 0.1; done
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
rc=0
for r in $(seq 1 "$ROUNDS"); do
    "$TOOL" "$PGURL" embedded >> "$T/embedded.jsonl" 2>>"$T/bench.log" || rc=1
    "$TOOL" "$PGURL" kafka "$(cat "$T/brokers")" >> "$T/kafka.jsonl" 2>>"$T/bench.log" || rc=1
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
kill "$MOCK_PID"; wait "$MOCK_PID" 2>/dev/null
[ $rc -eq 0 ] || { tail "$T/bench.log"; exit 1; }

# the median round by sustained events/s, per backend
median() { jq -s 'sort_by(.events_per_s) | .[(length / 2 | floor)]' "$1"; }
median "$T/embedded.jsonl" > "$T/embedded.json"
median "$T/kafka.jsonl" > "$T/kafka.json"
printf '%-9s %9s %9s %9s %8s %8s %7s  %s\n' backend events/s publish/s drain/s p50_ms p99_ms ratio target
for b in embedded kafka; do
    jq -r --arg b "$b" '(if $b == "embedded" then 10000 else 20000 end) as $t |
        [.backend, .events_per_s, .publish_per_s, .drain_per_s, .p50_ms, .p99_ms,
         ((.events_per_s / $t * 100 | round) / 100),
         (if $b == "embedded" then ">= 10000/s, p99 < 50 ms" else ">= 20000/s" end)] | @tsv' \
        "$T/$b.json" | awk -F'\t' '{printf "%-9s %9s %9s %9s %8s %8s %7s  %s\n", $1, $2, $3, $4, $5, $6, $7, $8}'
done
echo "rounds: $ROUNDS each, alternating; load average before: $LOAD_BEFORE, after: $LOAD_AFTER"
jq -n --slurpfile e "$T/embedded.json" --slurpfile k "$T/kafka.json" \
    --slurpfile er <(jq -s . "$T/embedded.jsonl") --slurpfile kr <(jq -s . "$T/kafka.jsonl") \
    --arg lb "$LOAD_BEFORE" --arg la "$LOAD_AFTER" --argjson cores "$(nproc)" \
    '{bus: [$e[0], $k[0]],
      ratio_to_target: {embedded: ($e[0].events_per_s / 10000), kafka: ($k[0].events_per_s / 20000)},
      kafka_over_embedded: ($k[0].events_per_s / $e[0].events_per_s),
      rounds: {embedded: $er[0], kafka: $kr[0]},
      machine: {cores: $cores, load_before: $lb, load_after: $la}}' > "$TOP/bench/results/bus.json"
echo "wrote bench/results/bus.json"
