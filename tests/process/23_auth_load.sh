#!/usr/bin/env bash
# While 50 logins hash passwords concurrently at the configured argon2id
# cost (libsodium INTERACTIVE: 2 passes, 64 MiB), GET /healthz still
# answers within 50 ms: hashing runs on the host's thread pool, never on
# the event loop.
. "$(dirname "$0")/../lib.sh"

head -c 48 /dev/urandom | base64 -w0 > "$T/secret"
PLUGINS="auth" rz_conf "$T/c" \
    "[auth]" "jwt_secret_file = $T/secret" \
    "[plugin.auth]" "jwt_secret_file = $T/secret" \
    "[ratelimit]" "auth = off"
rz_start "$T/c" || exit 1

EMAIL="load$$-$RANDOM@example.com"
PW="correct horse 1"
expect_eq "register" "$(status POST "$BASE/v1/auth/register" \
    -d "{\"email\":\"$EMAIL\",\"password\":\"$PW\",\"name\":\"L\",\"role\":\"tenant\"}")" 201

t0=$(date +%s.%N)
pids=""
for i in $(seq 1 50); do
    curl -s --max-time 60 -o /dev/null -w '%{http_code}\n' -X POST "$BASE/v1/auth/login" \
        -d "{\"email\":\"$EMAIL\",\"password\":\"$PW\"}" > "$T/login.$i" &
    pids="$pids $!"
done
# probe while the pool is busy: 20 health checks, 25 ms apart
sleep 0.2
worst=0
for _ in $(seq 1 20); do
    ms=$(curl -s --max-time 5 -o /dev/null -w '%{time_total}' "$BASE/healthz" | awk '{printf "%d", $1 * 1000}')
    [ "$ms" -gt "$worst" ] && worst=$ms
    sleep 0.025
done
wait $pids # (a bare wait would wait for the daemon too)
t1=$(date +%s.%N)
ok=$(cat "$T"/login.* | grep -c '^200$')
expect_eq "all 50 logins succeed" "$ok" 50
busy=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%d", (b - a) * 1000 }')
echo "     50 logins took ${busy} ms; slowest /healthz meanwhile: ${worst} ms"
check "the logins were still running while we probed (>= 500 ms of hashing)" test "$busy" -ge 500
check "/healthz answered within 50 ms throughout" test "$worst" -lt 50
finish
