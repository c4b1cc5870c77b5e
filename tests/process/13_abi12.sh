#!/usr/bin/env bash
# ABI 1.2 over real HTTP with two workers: timers, plugin metrics in
# /metrics, readiness in /readyz, interfaces between two plugins, per-route
# body limits; and plugins built against the frozen 1.0 and 1.1 headers.
. "$(dirname "$0")/../lib.sh"
P=$TPLUGDIR

NO_DB=1 WORKERS=2 PLUGINS="$P/abi12probe.so $P/abi12provider.so $P/abi_v1_1.so $P/abi_v1_0.so" \
    rz_conf "$T/c" "[http]" "max_body_size = 64KiB" "[plugin.abi12provider]" "greeting = Kia ora"
rz_start "$T/c" || exit 1

# Every request below opens a new connection, so the two workers both answer.
jqok() { jq -e "$1" "$T/body" >/dev/null || { echo "body: $(cat "$T/body")"; return 1; }; }

# ---- what the services refuse -------------------------------------------------------
expect_eq "state answers" "$(status GET "$BASE/v1/abi12/state")" 200
check "timer_start in init is NULL" jqok '.checks.timer_in_init_null == 1'
check "gauge_set in init is RZ_ESTATE" jqok '.checks.gauge_in_init_rc == -8'
check "iface_lookup in init is NULL" jqok '.checks.lookup_in_init_null == 1'
check "a taken interface name is RZ_EEXIST" jqok '.checks.dup_provide_rc == -5'
check "a bad interface name is RZ_EINVAL" jqok '.checks.bad_iface_name_rc == -3'
check "iface_provide after init is RZ_ESTATE" jqok '.checks.provide_in_start_rc == -8'
check "an absent interface looks up as NULL" jqok '.checks.absent_lookup_null == 1'
check "a negative timer delay is NULL" jqok '.checks.bad_timer_null == 1'
check "a bad metric name is RZ_EINVAL" jqok '.checks.bad_gauge_name_rc == -3'
check "a negative counter delta is RZ_EINVAL" jqok '.checks.negative_counter_rc == -3'
check "a gauge name reused as a counter is RZ_EINVAL" jqok '.checks.type_clash_rc == -3 and .checks.answer_rc == 0'

# ---- interfaces across two plugins ---------------------------------------------------
expect_eq "iface_lookup finds the other plugin's vtable" \
    "$(curl -s "$BASE/v1/abi12/iface?name=Ana")" '{"greeting":"Kia ora, Ana!"}'

# ---- timers ---------------------------------------------------------------------------
# The repeating timer (every 50 ms) ticks while a request waits 600 ms on a one-shot timer.
expect_eq "a request answered from a one-shot timer" "$(status GET "$BASE/v1/abi12/state?wait_ms=600")" 200
check "a repeating timer fires repeatedly" jqok '.ticks - .ticks_before >= 3'
check "a one-shot timer fires exactly once" jqok '.oneshot == 1'
check "a timer stopped inside its own callback fired exactly 3 times" jqok '.selfstop == 3'
expect_eq "stopping the repeating timer" "$(status POST "$BASE/v1/abi12/tick/stop?wait_ms=400")" 200
check "a stopped timer does not fire again" jqok '.at_stop == .ticks and .tick_running == false'
stopped_pid=$(jq -r .pid "$T/body")
expect_eq "bad wait_ms is 400" "$(status GET "$BASE/v1/abi12/state?wait_ms=-1")" 400

# ---- plugin metrics -----------------------------------------------------------------------
curl -s "$BASE/metrics" > "$T/m"
check "a gauge shows for each worker" sh -c "grep -qx 'rentezy_plugin_abi12probe_answer{worker=\"0\"} 42.5' '$T/m' && grep -qx 'rentezy_plugin_abi12probe_answer{worker=\"1\"} 42.5' '$T/m'"
check "help and type appear once" sh -c "test \$(grep -c '^# HELP rentezy_plugin_abi12probe_answer The answer, per worker.\$' '$T/m') = 1 && grep -qx '# TYPE rentezy_plugin_abi12probe_answer gauge' '$T/m'"
check "a counter from timer ticks" sh -c "grep -qx '# TYPE rentezy_plugin_abi12probe_ticks_total counter' '$T/m' && grep -qE '^rentezy_plugin_abi12probe_ticks_total\{worker=\"[01]\"\} [1-9][0-9]*\$' '$T/m'"
check "a refused metric is absent" sh -c "! grep -q 'abi12probe_neg_total\|abi12probe_early' '$T/m'"
metric() { status POST "$BASE/v1/abi12/metric" -H 'Content-Type: application/json' -d "$1"; }
expect_eq "gauge_set over HTTP" "$(metric '{"type":"gauge","name":"queue_depth","help":"Items \\ queued","value":7}')" 200
expect_eq "counter_add over HTTP" "$(metric '{"type":"counter","name":"uploads_total","value":2.5}')" 200
expect_eq "a metric name with a capital is refused" "$(metric '{"type":"gauge","name":"Queue","value":1}')" 400
expect_eq "a 49-character metric name is refused" "$(metric "{\"type\":\"gauge\",\"name\":\"a$(printf 'b%.0s' $(seq 48))\",\"value\":1}")" 400
expect_eq "a 48-character metric name is accepted" "$(metric "{\"type\":\"gauge\",\"name\":\"a$(printf 'b%.0s' $(seq 47))\",\"value\":1}")" 200
curl -s "$BASE/metrics" > "$T/m"
check "the set gauge appears with its value" grep -qE '^rentezy_plugin_abi12probe_queue_depth\{worker="[01]"\} 7$' "$T/m"
check "help text is escaped" grep -qxF '# HELP rentezy_plugin_abi12probe_queue_depth Items \\ queued' "$T/m"
check "a counter without help still renders" grep -qE '^rentezy_plugin_abi12probe_uploads_total\{worker="[01]"\} 2.5$' "$T/m"
# counters add up within a worker: keep-alive pins three requests to one worker
curl -s -o /dev/null -o /dev/null -o /dev/null -H 'Content-Type: application/json' \
    -d '{"type":"counter","name":"pinned_total","value":1}' "$BASE/v1/abi12/metric" "$BASE/v1/abi12/metric" "$BASE/v1/abi12/metric"
check "counter_add accumulates" sh -c "curl -s '$BASE/metrics' | grep -qE '^rentezy_plugin_abi12probe_pinned_total\{worker=\"[01]\"\} 3\$'"

# ---- readiness ---------------------------------------------------------------------------
expect_eq "ready at first" "$(status GET "$BASE/readyz")" 200
expect_eq "a plugin declares itself not ready" \
    "$(status POST "$BASE/v1/abi12/unready" -H 'Content-Type: application/json' -d '{"reason":"index catching up","for_ms":2500}')" 202
codes=""; for _ in 1 2 3 4 5 6; do codes="$codes $(status GET "$BASE/readyz")"; done
expect_eq "every worker's /readyz is 503 meanwhile" "$codes" " 503 503 503 503 503 503"
check "/readyz names the plugin and the reason" jqok '.status == "unready" and (.reason | test("plugin abi12probe not ready on worker [01]: index catching up")) and .plugins[0].plugin == "abi12probe" and .plugins[0].reason == "index catching up"'
ok=0
for _ in $(seq 1 100); do [ "$(status GET "$BASE/readyz")" = 200 ] && { ok=1; break; }; sleep 0.1; done
expect_eq "ready again once the plugin says so (from a timer)" "$ok" 1
codes=""; for _ in 1 2 3 4; do codes="$codes $(status GET "$BASE/readyz")"; done
expect_eq "...on every worker" "$codes" " 200 200 200 200"
# a worker that dies while not ready does not keep the daemon unready
curl -s -o "$T/body" -H 'Content-Type: application/json' -d '{"reason":"doomed","for_ms":60000}' "$BASE/v1/abi12/unready"
doomed=$(jq -r .pid "$T/body")
expect_eq "not ready for a minute" "$(status GET "$BASE/readyz")" 503
kill -9 "$doomed"
ok=0
for _ in $(seq 1 100); do [ "$(status GET "$BASE/readyz")" = 200 ] && { ok=1; break; }; sleep 0.1; done
expect_eq "a killed worker's readiness is forgotten; its replacement starts ready" "$ok" 1

# ---- per-route body limits ([http] max_body_size = 64KiB) --------------------------------------
head -c $((1024 * 1024)) /dev/zero | tr '\0' a > "$T/1m"
head -c $((9 * 1024 * 1024)) /dev/zero | tr '\0' a > "$T/9m"
expect_eq "a route with max_body 8MiB accepts 1MiB" "$(status POST "$BASE/v1/abi12/upload" --data-binary @"$T/1m")" 200
check "...all of it" jqok '.bytes == 1048576 and .route == "upload"'
head -c $((8 * 1024 * 1024)) /dev/zero | tr '\0' a > "$T/8m"
expect_eq "...and exactly 8MiB" "$(status POST "$BASE/v1/abi12/upload" --data-binary @"$T/8m")" 200
check "...all 8MiB" jqok '.bytes == 8388608'
expect_eq "...and refuses 9MiB" "$(status POST "$BASE/v1/abi12/upload" --data-binary @"$T/9m")" 413
check "...with a JSON error" jqok '.error.code == "body_too_large"'
expect_eq "a chunked 1MiB body to the large route" "$(status POST "$BASE/v1/abi12/upload" -H 'Transfer-Encoding: chunked' --data-binary @"$T/1m")" 200
check "...decoded whole" jqok '.bytes == 1048576'
expect_eq "the other routes keep max_body_size: 1MiB is 413" "$(status POST "$BASE/v1/abi12/small" --data-binary @"$T/1m")" 413
check "...with a JSON error" jqok '.error.code == "body_too_large"'
expect_eq "...chunked too" "$(status POST "$BASE/v1/abi12/small" -H 'Transfer-Encoding: chunked' --data-binary @"$T/1m")" 413
expect_eq "...and under it they accept" "$(status POST "$BASE/v1/abi12/small" -d 'hello')" 200
expect_eq "a route may also lower its limit: 16 bytes pass" "$(status POST "$BASE/v1/abi12/tiny" -d '0123456789abcdef')" 200
expect_eq "...17 bytes are 413" "$(status POST "$BASE/v1/abi12/tiny" -d '0123456789abcdefg')" 413
# refused from the head: the 413 arrives although the client never sends the body
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
printf 'POST /v1/abi12/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 9437184\r\n\r\n' >&3
expect_eq "a too-large Content-Length is refused before the body" "$(timeout 3 head -1 <&3 | tr -d '\r')" "HTTP/1.1 413 Content Too Large"
exec 3<&-
check "the host's metrics count the 413s" sh -c "curl -s '$BASE/metrics' | grep -q 'status=\"413\"'"

# ---- plugins built against older headers ---------------------------------------------------
expect_eq "a 1.1 plugin serves in a 1.2 host" "$(curl -s -X POST "$BASE/v1/abi-old11?x=1" -d 'abc')" '{"built_for":"1.1","query":"x=1","bytes":3}'
expect_eq "its route (no max_body field) keeps max_body_size" "$(status POST "$BASE/v1/abi-old11" --data-binary @"$T/1m")" 413
expect_eq "a 1.0 plugin serves in a 1.2 host" "$(curl -s "$BASE/v1/abi-old/7")" '{"built_for":"1.0","id":"7"}'
check "--list-plugins shows each plugin's ABI" sh -c "'$RZD' -c '$T/c' --list-plugins | grep -qE '^abi_v1_1 +1\.1\.0 +1\.1 ' && '$RZD' -c '$T/c' --list-plugins | grep -qE '^abi12probe +1\.0\.0 +1\.2 '"

# ---- the metric table fills up -----------------------------------------------------------------
# 256 metrics across all plugins; the probe already has some.  Keep-alive
# pins every request to one worker.
for i in $(seq 1 260); do
    [ "$i" = 1 ] || echo next
    printf 'url = "%s/v1/abi12/metric"\nheader = "Content-Type: application/json"\n' "$BASE"
    printf 'data = "{\\"type\\":\\"gauge\\",\\"name\\":\\"fill_%d\\",\\"value\\":1}"\n' "$i"
    printf 'output = "/dev/null"\nwrite-out = "%%{http_code}\\n"\n'
done > "$T/fill.cfg"
before=$(curl -s "$BASE/metrics" | grep -c '^# TYPE rentezy_plugin_')
curl -s -K "$T/fill.cfg" > "$T/fill.codes"
expect_eq "the table takes exactly 256 metrics" "$(grep -c 200 "$T/fill.codes")" "$((256 - before))"
expect_eq "...then refuses new names (RZ_ENOMEM)" "$(grep -c 507 "$T/fill.codes")" "$((before + 4))"
expect_eq "...while a known name still updates" "$(metric '{"type":"gauge","name":"fill_1","value":3}')" 200
check "...and keeps serving /metrics" sh -c "curl -s '$BASE/metrics' | grep -q 'rentezy_plugin_abi12probe_fill_1{'"

# ---- drain: live timers and waiting requests are cleaned up ----------------------------------
curl -s -o "$T/wait.out" -w '%{http_code}' "$BASE/v1/abi12/state?wait_ms=5000" > "$T/wait.code" &
cpid=$!
sleep 0.5
rz_stop TERM
wait "$cpid"
expect_eq "a request waiting on a timer is answered when the plugin stops" "$(cat "$T/wait.code")" 503
expect_eq "the daemon exits 0 with live plugin timers" "$RZ_STATUS" 0

# ---- refusals at start ------------------------------------------------------------------------
NO_DB=1 PLUGINS="$P/abi12probe.so $P/abi12provider.so" rz_conf "$T/big" "[plugin.abi12probe]" "upload_max = 3GiB"
check "a route max_body over 2GiB stops the start" sh -c "! '$RZD' -c '$T/big' --check-config >'$T/big.out' 2>&1 && grep -q 'max_body 3221225472 is over the 2GiB limit' '$T/big.out'"
finish
