#!/usr/bin/env bash
# notify: (1) notifications produced per second from a burst of booking
# events (each names a tenant and a landlord: 2 in-app notifications, 2
# e-mails queued, per event); (2) event-to-WebSocket-push latency p50/p99 at
# a steady 200 events/s: the publishing transaction stamps the event with
# clock_timestamp(), a WebSocket client stamps the push on arrival.
# Targets: >= 2,000 notifications/s; push p99 < 100 ms.
. "$(dirname "$0")/lib.sh"
BURST=${NOTIFY_BURST:-5000}
STEADY=${NOTIFY_STEADY:-1000}

# A database of its own, so other work on the machine's cluster is not measured
DB="rz_notify_bench_$$"
psql "$PGURL" -qAtc "CREATE DATABASE $DB" || exit 1
PGURL_MAIN=$PGURL
PGURL=${PGURL/\/rentezy?//$DB?}
python3 "$TOP/tests/tools/smtp_sink.py" "$T/smtp.port" "$T/mail" & SINK=$!
trap 'kill $SINK 2>/dev/null; cleanup; psql "$PGURL_MAIN" -qAtc "DROP DATABASE IF EXISTS $DB WITH (FORCE)"' EXIT
for _ in $(seq 1 50); do [ -s "$T/smtp.port" ] && break; sleep 0.1; done
head -c 48 /dev/urandom | base64 -w0 > "$T/secret"
PLUGINS="auth notify" rz_conf "$T/c" \
    "[auth]" "jwt_secret_file = $T/secret" \
    "[plugin.auth]" "jwt_secret_file = $T/secret" "opslimit = 1" "memlimit = 8KiB" \
    "[ratelimit]" "auth = off" \
    "[plugin.notify]" "smtp_url = smtp://127.0.0.1:$(cat "$T/smtp.port")"
rz_start "$T/c" || exit 1
U="b$$-$RANDOM"
login() {
    curl -s -o /dev/null -d "{\"email\":\"$2-$U@example.com\",\"password\":\"pw pw pw pw\",\"name\":\"$2\",\"role\":\"$1\"}" "$BASE/v1/auth/register"
    local at; at=$(curl -s -d "{\"email\":\"$2-$U@example.com\",\"password\":\"pw pw pw pw\"}" "$BASE/v1/auth/login" | jq -r .access_token)
    echo "$at $(curl -s -H "Authorization: Bearer $at" "$BASE/v1/me" | jq -r .id)"
}
read -r LL LL_ID <<<"$(login landlord lou)"
read -r TN TN_ID <<<"$(login tenant tia)"
sql() { psql "$PGURL" -qAtc "$1"; }
# E-mail is its own queue (measured by its jobs, not here): off, so the
# burst measures the consumer and the push path only.
for t in "$LL" "$TN"; do
    curl -s -o /dev/null -X PUT -H "Authorization: Bearer $t" -H 'Content-Type: application/json' \
        -d '{"booking":{"email":false}}' "$BASE/v1/notifications/preferences"
done
doc="jsonb_build_object('tenant_id', '$TN_ID', 'landlord_id', '$LL_ID', 'check_in', '2027-05-01',
     'check_out', '2027-05-04', 'nights', 3, 'guests', 2, 'status', 'confirmed',
     'total', jsonb_build_object('amount', 36000, 'currency', 'EUR'),
     'sent_ms', (extract(epoch FROM clock_timestamp()) * 1000)::bigint)"

# ---- (1) throughput: BURST events in one transaction --------------------------------------
mine() { sql "select count(*) from notify.notifications where user_id in ('$TN_ID', '$LL_ID')"; }
t0=$(date +%s%N)
sql "SELECT count(rentezy.publish('booking-events', 'booking.confirmed', 'bench', gen_random_uuid()::text, 1, $doc))
     FROM generate_series(1, $BURST)" >/dev/null
want=$((2 * BURST))
while [ "$(mine)" -lt "$want" ]; do
    sleep 0.1
    [ $(( ($(date +%s%N) - t0) / 1000000000 )) -lt 300 ] || { echo "timed out at $(mine)/$want"; exit 1; }
done
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
NPS=$(awk -v n="$want" -v ms="$ms" 'BEGIN {printf "%.0f", n * 1000 / ms}')

# ---- (2) latency: a WebSocket client and a steady stream -------------------------------------
cat > "$T/ws.py" <<'PY'
import base64, json, os, socket, struct, sys, time
port, token, n, out = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
s = socket.create_connection(("127.0.0.1", port))
key = base64.b64encode(os.urandom(16)).decode()
s.sendall(("GET /v1/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\n"
           "Sec-WebSocket-Protocol: bearer, bearer.%s\r\n\r\n" % (key, token)).encode())
buf = b""
while b"\r\n\r\n" not in buf:
    buf += s.recv(4096)
head, buf = buf.split(b"\r\n\r\n", 1)
assert b" 101 " in head.split(b"\r\n")[0], head
open(out + ".ready", "w").close()
def need(k):
    global buf
    while len(buf) < k:
        d = s.recv(65536)
        if not d: sys.exit("closed")
        buf += d
lat = []
other = 0
s.settimeout(20)
while len(lat) < n:
    try:
        need(2)
    except socket.timeout:
        sys.exit("timed out after %d of %d pushes (%d others)" % (len(lat), n, other))
    b0, b1 = buf[0], buf[1]; ln = b1 & 127; off = 2
    if ln == 126: need(4); ln = struct.unpack(">H", buf[2:4])[0]; off = 4
    elif ln == 127: need(10); ln = struct.unpack(">Q", buf[2:10])[0]; off = 10
    need(off + ln); payload = buf[off:off + ln]; buf = buf[off + ln:]
    op = b0 & 15
    if op == 9:  # ping -> masked pong
        m = os.urandom(4)
        s.sendall(bytes([0x8A, 0x80 | len(payload)]) + m + bytes(c ^ m[i % 4] for i, c in enumerate(payload)))
    elif op == 1:
        now = time.time() * 1000
        msg = json.loads(payload)
        if msg.get("type") == "notification":
            sent = msg["notification"].get("data", {}).get("sent_ms")
            if sent and msg["notification"]["data"].get("phase") == "steady":
                lat.append(now - sent)
            else:
                other += 1
    elif op == 8:
        break
lat.sort()
json.dump({"n": len(lat), "p50_ms": round(lat[len(lat) // 2], 2),
           "p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))], 2)}, open(out, "w"))
PY
python3 "$T/ws.py" "$PORT" "$TN" "$STEADY" "$T/lat.json" & WS=$!
for _ in $(seq 1 50); do [ -e "$T/lat.json.ready" ] && break; sleep 0.1; done
psql "$PGURL" -qAt >/dev/null <<SQL
DO \$\$ BEGIN
  FOR i IN 1..$STEADY LOOP
    PERFORM rentezy.publish('booking-events', 'booking.confirmed', 'bench', gen_random_uuid()::text, 1,
        $doc || jsonb_build_object('phase', 'steady'));
    COMMIT;
    PERFORM pg_sleep(0.005);
  END LOOP;
END \$\$;
SQL
wait "$WS" || { echo "the WebSocket client failed"; exit 1; }
P50=$(jq .p50_ms "$T/lat.json"); P99=$(jq .p99_ms "$T/lat.json")

printf '%-34s %12s %s\n' measure value target
printf '%-34s %12s %s\n' "notifications/s (burst of $BURST events)" "$NPS" ">= 2000"
printf '%-34s %12s %s\n' "event -> WS push p50 ms" "$P50" ""
printf '%-34s %12s %s\n' "event -> WS push p99 ms (200 ev/s)" "$P99" "< 100"
jq -n --argjson nps "$NPS" --argjson p50 "$P50" --argjson p99 "$P99" --argjson burst "$BURST" \
    '{notify: {burst_events: $burst, notifications_per_s: $nps, push_p50_ms: $p50, push_p99_ms: $p99},
      machine: {cores: '"$(nproc)"', load: "'"$(cut -d' ' -f1-3 /proc/loadavg)"'"}}' \
    > "$TOP/bench/results/notify.json"
echo "wrote bench/results/notify.json"
