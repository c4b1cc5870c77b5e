#!/usr/bin/env bash
# The gateway duties over real sockets: rate limits (429 + Retry-After, per
# address and per user, X-Forwarded-For from trusted proxies, recovery as the
# clock moves), CORS (allow-list, preflight), security headers on every
# response, and Idempotency-Key (replay, body mismatch, concurrent duplicate,
# expiry).
. "$(dirname "$0")/../lib.sh"

MKJWT="$TOP/$BUILD/tests/tools/mkjwt"
head -c 48 /dev/urandom | base64 -w0 > "$T/secret"
PLUGINS="$TPLUGDIR/authz_probe.so" rz_conf "$T/c" \
    "[auth]" "jwt_secret_file = $T/secret" \
    "[http]" "cors_origins = https://app.example.com, http://localhost:5173" "cors_max_age = 5m" \
    "[ratelimit]" "tight = 3/m burst 3" "routes = GET /v1/_probe/public=tight" \
    "trusted_proxies = 127.0.0.1/32"
rz_start "$T/c" || exit 1
hdrs() { curl -s -D - -o /dev/null "$@" | tr -d '\r'; }

# ---- rate limits --------------------------------------------------------------------
pub() { status GET "$BASE/v1/_probe/public" "$@"; }
codes=""
for _ in 1 2 3 4; do codes="$codes $(pub -H 'X-Forwarded-For: 198.51.100.1')"; done
expect_eq "a burst of 3, then 429" "$codes" " 200 200 200 429"
check "429 is a JSON error" jq -e '.error.code == "rate_limited"' "$T/body"
expect_eq "Retry-After says when a token is back (60s/3)" \
    "$(hdrs -H 'X-Forwarded-For: 198.51.100.1' "$BASE/v1/_probe/public" | sed -n 's/^Retry-After: //p')" 20
expect_eq "another client behind the trusted proxy has its own bucket" \
    "$(pub -H 'X-Forwarded-For: 198.51.100.2')" 200
expect_eq "a spoofed left-most address does not help" \
    "$(pub -H 'X-Forwarded-For: 1.1.1.1, 198.51.100.1')" 429
expect_eq "unlimited routes are not affected" "$(status GET "$BASE/healthz")" 200
curl -s -o /dev/null -X POST "$BASE/v1/_test/clock" -d '{"advance_ms": 20000}'
expect_eq "recovered after Retry-After" "$(pub -H 'X-Forwarded-For: 198.51.100.1')" 200
expect_eq "...one token only" "$(pub -H 'X-Forwarded-For: 198.51.100.1')" 429
tok=$("$MKJWT" -k "$T/secret" -s rl-user -t $(( $(date +%s) + 20 )))
codes=""
for i in 11 12 13 14; do
    codes="$codes $(pub -H "X-Forwarded-For: 198.51.100.$i" -H "Authorization: Bearer $tok")"
done
expect_eq "a user's bucket follows the user across addresses" "$codes" " 200 200 200 429"
check "...and says so" jq -e '.error.message | test("user")' "$T/body"

# ---- security headers and CORS ----------------------------------------------------------------
for u in /healthz /v1/nope /v1/_probe/user; do
    check "security headers on $u" sh -c "curl -s -D - -o /dev/null '$BASE$u' | tr -d '\r' > '$T/h'
        grep -qx 'X-Frame-Options: DENY' '$T/h' && grep -qx 'X-Content-Type-Options: nosniff' '$T/h' &&
        grep -qx 'Referrer-Policy: no-referrer' '$T/h' && grep -q '^Content-Security-Policy: default-src .none.' '$T/h'"
done
hdrs -H 'Origin: https://app.example.com' "$BASE/healthz" > "$T/h"
check "an allowed origin is echoed" grep -qx 'Access-Control-Allow-Origin: https://app.example.com' "$T/h"
check "Vary: Origin" grep -qx 'Vary: Origin' "$T/h"
check "Retry-After and X-Request-Id are exposed" grep -q '^Access-Control-Expose-Headers: Retry-After, X-Request-Id' "$T/h"
hdrs -H 'Origin: https://evil.example.com' "$BASE/healthz" > "$T/h"
check "another origin gets no Allow-Origin" sh -c "! grep -qi '^Access-Control-Allow-Origin' '$T/h'"
check "...but still Vary: Origin" grep -qx 'Vary: Origin' "$T/h"
hdrs -H 'Origin: https://app.example.com' "$BASE/v1/_probe/user" > "$T/h"
check "a 401 is readable cross-origin too" grep -qx 'Access-Control-Allow-Origin: https://app.example.com' "$T/h"
pre() { status OPTIONS "$BASE$1" -H "Origin: $2" -H "Access-Control-Request-Method: $3" \
        -H 'Access-Control-Request-Headers: authorization, idempotency-key' -D "$T/h"; }
expect_eq "a preflight is 204" "$(pre /v1/_probe/orders http://localhost:5173 POST)" 204
tr -d '\r' < "$T/h" > "$T/h2"
check "preflight allows the method" grep -qx 'Access-Control-Allow-Methods: POST' "$T/h2"
check "preflight allows Authorization and Idempotency-Key" \
    grep -qx 'Access-Control-Allow-Headers: Authorization, Content-Type, Idempotency-Key, X-Request-Id' "$T/h2"
check "preflight max age" grep -qx 'Access-Control-Max-Age: 300' "$T/h2"
check "preflight echoes the origin" grep -qx 'Access-Control-Allow-Origin: http://localhost:5173' "$T/h2"
expect_eq "a preflight for a method the path lacks lists the allowed ones" \
    "$(pre /v1/_probe/orders http://localhost:5173 DELETE)" 204
check "...POST only" sh -c "tr -d '\r' < '$T/h' | grep -qx 'Access-Control-Allow-Methods: POST'"
expect_eq "a preflight from another origin is 403" "$(pre /v1/_probe/orders https://evil.example.com POST)" 403
expect_eq "a preflight for an unknown path is 404" "$(pre /v1/nope http://localhost:5173 GET)" 404
expect_eq "OPTIONS without preflight headers is routed as usual (405)" \
    "$(status OPTIONS "$BASE/v1/_probe/orders")" 405

# ---- Idempotency-Key --------------------------------------------------------------------------
now=$(( $(date +%s) + 20 ))
A=$("$MKJWT" -k "$T/secret" -s "idem-a-$$-$RANDOM" -t "$now")
B=$("$MKJWT" -k "$T/secret" -s "idem-b-$$-$RANDOM" -t "$now")
order() { # TOKEN KEY BODY [QUERY] -> status; body in $T/body, headers in $T/h
    local k=()
    [ -z "$2" ] || k=(-H "Idempotency-Key: $2")
    curl -s -D "$T/h" -o "$T/body" -w '%{http_code}' -X POST "$BASE/v1/_probe/orders${4:-}" \
        -H "Authorization: Bearer $1" "${k[@]}" -H 'Content-Type: application/json' --data-binary "$3"
}
expect_eq "the first request runs (201)" "$(order "$A" k1 '{"item":1}')" 201
cp "$T/body" "$T/first"
expect_eq "a replay answers the stored status" "$(order "$A" k1 '{"item":1}')" 201
check "...with the stored body, unchanged" cmp -s "$T/body" "$T/first"
check "...marked Idempotent-Replayed" sh -c "tr -d '\r' < '$T/h' | grep -qx 'Idempotent-Replayed: true'"
check "...and the stored Content-Type" sh -c "tr -d '\r' < '$T/h' | grep -qx 'Content-Type: application/json'"
expect_eq "the same key with another body is 422" "$(order "$A" k1 '{"item":2}')" 422
check "...idempotency_key_reused" jq -e '.error.code == "idempotency_key_reused" and .error.field == "Idempotency-Key"' "$T/body"
expect_eq "the same key for another user is independent" "$(order "$B" k1 '{"item":2}')" 201
expect_eq "without a key every request runs" "$(order "$A" "" '{"item":1}')" 201
n1=$(jq .n "$T/body")
order "$A" "" '{"item":1}' >/dev/null
expect_eq "...twice" "$(jq .n "$T/body")" $((n1 + 1))
expect_eq "an invalid key is 400" "$(order "$A" 'bad key' '{}')" 400
check "...naming the header" jq -e '.error.field == "Idempotency-Key"' "$T/body"
# a duplicate while the first still runs
curl -s -o "$T/slow" -w '%{http_code}' -X POST "$BASE/v1/_probe/orders?delay_ms=1500" \
    -H "Authorization: Bearer $A" -H 'Idempotency-Key: k2' --data-binary '{"item":3}' > "$T/slow.code" &
slow=$!
sleep 0.5
expect_eq "a concurrent duplicate is 409" "$(order "$A" k2 '{"item":3}')" 409
check "...idempotency_in_progress" jq -e '.error.code == "idempotency_in_progress"' "$T/body"
wait "$slow"
expect_eq "the first one finishes normally" "$(cat "$T/slow.code")" 201
expect_eq "afterwards the key replays" "$(order "$A" k2 '{"item":3}')" 201
check "...the first one's response" cmp -s "$T/body" "$T/slow"
# a duplicate from a second connection at the same moment, across the database
for i in 1 2 3 4 5; do
    order "$A" "race-$i" '{"r":1}' > "$T/race$i.a" &
    p1=$!
    order "$A" "race-$i" '{"r":1}' > "$T/race$i.b" 2>/dev/null &
    p2=$!
    wait "$p1" "$p2"
    pair=$(printf '%s\n%s\n' "$(cat "$T/race$i.a")" "$(cat "$T/race$i.b")" | sort | tr '\n' ' ')
    case "$pair" in "201 201 "|"201 409 ") r=ok ;; *) r="$pair" ;; esac
    expect_eq "simultaneous duplicates ($i): one runs, the other waits or replays" "$r" ok
done
# after the retention period the key is free again
curl -s -o /dev/null -X POST "$BASE/v1/_test/clock" -d "{\"advance_ms\": $((25 * 3600 * 1000))}"
now=$(( $(date +%s) + 25 * 3600 + 60 ))
A=$("$MKJWT" -k "$T/secret" -s "$(python3 -c "import sys,json,base64;p=sys.argv[1].split('.')[1];print(json.loads(base64.urlsafe_b64decode(p+'='*(-len(p)%4)))['sub'])" "$A")" -t "$now")
expect_eq "after 24 hours the key runs anew" "$(order "$A" k1 '{"item":9}')" 201
finish
