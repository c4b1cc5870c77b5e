#!/usr/bin/env bash
# HTTP core: rentezyd (workers = 1) against nginx (one worker) serving a small
# static JSON response, wrk -t1 -c64 on the same machine, in the same run.
. "$(dirname "$0")/lib.sh"

NGPORT=$(free_port)
mkdir -p "$T/ng"
cat > "$T/ng/nginx.conf" <<NG
worker_processes 1;
daemon off;
error_log $T/ng/error.log;
pid $T/ng/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$NGPORT;
        location / { default_type application/json; return 200 '{"status":"ok"}'; }
    }
}
NG
/usr/sbin/nginx -c "$T/ng/nginx.conf" -p "$T/ng" &
NGPID=$!
DAEMON_PIDS="$DAEMON_PIDS $NGPID"
NO_DB=1 WORKERS=1 LOG_LEVEL=warn rz_conf "$T/c"
rz_start "$T/c" || exit 1
WPID=$(pgrep -P "$RZ_PID" | head -1)
wait_http "http://127.0.0.1:$NGPORT/" || { echo "nginx did not start"; exit 1; }

# Three interleaved rounds; each figure is the median round (by req/s), so a
# burst of noise on this shared machine hits all targets alike.
ROUNDS=${BENCH_ROUNDS:-3}
: > "$T/ng.txt"; : > "$T/hz.txt"; : > "$T/he.txt"
for _ in $(seq 1 "$ROUNDS"); do
    wrk_run "http://127.0.0.1:$NGPORT/"; echo "$RPS $P50 $P99" >> "$T/ng.txt"
    wrk_run "$BASE/healthz"; echo "$RPS $P50 $P99" >> "$T/hz.txt"
    wrk_run "$BASE/v1/hello/bench"; echo "$RPS $P50 $P99" >> "$T/he.txt"
done
median() { sort -n "$1" | awk -v n="$ROUNDS" 'NR == int((n + 1) / 2)'; }
read -r NG_RPS NG_P50 NG_P99 < <(median "$T/ng.txt")
read -r HZ_RPS HZ_P50 HZ_P99 < <(median "$T/hz.txt")
read -r HE_RPS HE_P50 HE_P99 < <(median "$T/he.txt")
RSS=$(rss_kb "$WPID")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }
printf "%-28s %12s %9s %9s %8s\n" "target" "req/s" "p50 ms" "p99 ms" "vs nginx"
printf "%-28s %12s %9s %9s %8s\n" "nginx return 200 (1 worker)" "$NG_RPS" "$NG_P50" "$NG_P99" "1.00"
printf "%-28s %12s %9s %9s %8s\n" "rentezyd GET /healthz" "$HZ_RPS" "$HZ_P50" "$HZ_P99" "$(ratio "$HZ_RPS" "$NG_RPS")"
printf "%-28s %12s %9s %9s %8s\n" "rentezyd GET /v1/hello/{n}" "$HE_RPS" "$HE_P50" "$HE_P99" "$(ratio "$HE_RPS" "$NG_RPS")"
echo "median of $ROUNDS interleaved rounds; rentezyd worker RSS after the run: ${RSS} KiB (access log on, wrk -t1 -c64 -d${DURATION}s)"
cat > bench/results/http.json <<JSON
{"bench":"http","date":"$(date -u +%FT%TZ)","wrk":"-t1 -c64 -d${DURATION}s","workers":1,
 "nginx":{"rps":$NG_RPS,"p50_ms":$NG_P50,"p99_ms":$NG_P99},
 "healthz":{"rps":$HZ_RPS,"p50_ms":$HZ_P50,"p99_ms":$HZ_P99,"ratio_to_nginx":$(ratio "$HZ_RPS" "$NG_RPS")},
 "hello":{"rps":$HE_RPS,"p50_ms":$HE_P50,"p99_ms":$HE_P99,"ratio_to_nginx":$(ratio "$HE_RPS" "$NG_RPS")},
 "worker_rss_kib":$RSS}
JSON
