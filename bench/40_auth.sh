#!/usr/bin/env bash
# Auth: the cost of the bearer token check per request, and login
# throughput at the configured argon2id cost.
#   1. tests/tools/bench_jwt: ns per check, HS256/RS256/ES256, full and cached
#   2. wrk, same daemon, interleaved rounds: an anonymous GET against the same
#      route shape with a valid HS256 bearer token (the authz probe plugin
#      answers both without touching the database)
#   3. wrk POST /v1/auth/login with the daemon's [plugin.auth] argon2id
#      limits (libsodium INTERACTIVE unless BENCH_OPSLIMIT/BENCH_MEMLIMIT)
# Table on stdout, JSON in bench/results/auth.json.
. "$(dirname "$0")/lib.sh"

"$TOP/$BUILD/tests/tools/bench_jwt" -n 50000 > "$T/jwt.txt" || exit 1
"$TOP/$BUILD/tests/tools/bench_jwt" -n 50000 -j > "$T/jwt.json" || exit 1

head -c 48 /dev/urandom | base64 -w0 > "$T/secret"
extra=()
[ -z "${BENCH_OPSLIMIT:-}" ] || extra+=("opslimit = $BENCH_OPSLIMIT")
[ -z "${BENCH_MEMLIMIT:-}" ] || extra+=("memlimit = $BENCH_MEMLIMIT")
WORKERS=1 LOG_LEVEL=warn PLUGINS="auth $TPLUGDIR/authz_probe.so" rz_conf "$T/c" \
    "[host]" "access_log = false" \
    "[auth]" "jwt_secret_file = $T/secret" \
    "[plugin.auth]" "jwt_secret_file = $T/secret" "${extra[@]}" \
    "[ratelimit]" "auth = off"
rz_start "$T/c" || exit 1

EMAIL="bench$$-$RANDOM@example.com"
PW="correct horse 1"
curl -s -o /dev/null -X POST "$BASE/v1/auth/register" \
    -d "{\"email\":\"$EMAIL\",\"password\":\"$PW\",\"name\":\"B\",\"role\":\"tenant\"}"
curl -s -X POST "$BASE/v1/auth/login" -d "{\"email\":\"$EMAIL\",\"password\":\"$PW\"}" > "$T/tok"
AT=$(jq -r .access_token "$T/tok")
[ -n "$AT" ] && [ "$AT" != null ] || { echo "login failed: $(cat "$T/tok")"; exit 1; }

ROUNDS=${BENCH_ROUNDS:-3}
: > "$T/anon.txt"; : > "$T/authd.txt"
for _ in $(seq 1 "$ROUNDS"); do
    wrk_run "$BASE/v1/_probe/public"; echo "$RPS $P50 $P99" >> "$T/anon.txt"
    wrk_run "$BASE/v1/_probe/user" -H "Authorization: Bearer $AT"; echo "$RPS $P50 $P99 ${NON2XX:-0}" >> "$T/authd.txt"
done
median() { sort -n "$1" | awk -v n="$ROUNDS" 'NR == int((n + 1) / 2)'; }
read -r AN_RPS AN_P50 AN_P99 < <(median "$T/anon.txt")
read -r AU_RPS AU_P50 AU_P99 AU_BAD < <(median "$T/authd.txt")
[ "${AU_BAD:-0}" = 0 ] || echo "warning: $AU_BAD non-2xx answers on the authenticated route"

cat > "$T/login.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"email":"$EMAIL","password":"$PW"}'
wrk.headers["Content-Type"] = "application/json"
LUA
wrk -t1 -c8 -d"${DURATION}s" --latency -s "$T/login.lua" "$BASE/v1/auth/login" > "$T/wrk.out" 2>&1
LG_RPS=$(awk '/^Requests\/sec:/ {print $2}' "$T/wrk.out")
LG_P50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$T/wrk.out")")
LG_P99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$T/wrk.out")")
LG_BAD=$(awk '/Non-2xx/ {print $5}' "$T/wrk.out")
HASH=$(psql "$PGURL" -Atc "select password_hash from auth.users where email = '$EMAIL'" 2>/dev/null |
       sed -E 's/^\$argon2id\$v=19\$(m=[0-9]+,t=[0-9]+,p=[0-9]+)\$.*/\1/')

# per-request cost of the check: the difference in service time per request
cost_us=$(awk -v a="$AN_RPS" -v b="$AU_RPS" 'BEGIN {printf "%.2f", (a > 0 && b > 0 ? (1e6 / b - 1e6 / a) : 0)}')
ratio=$(awk -v a="$AU_RPS" -v b="$AN_RPS" 'BEGIN {printf "%.3f", (b > 0 ? a / b : 0)}')

echo "token check, in process (tests/tools/bench_jwt):"
sed 's/^/  /' "$T/jwt.txt"
echo
printf "%-38s %10s %9s %9s\n" "HTTP, 1 worker, wrk -t1 -c64" "req/s" "p50 ms" "p99 ms"
printf "%-38s %10s %9s %9s\n" "GET anonymous (/v1/_probe/public)" "$AN_RPS" "$AN_P50" "$AN_P99"
printf "%-38s %10s %9s %9s\n" "GET with HS256 bearer (/v1/_probe/user)" "$AU_RPS" "$AU_P50" "$AU_P99"
echo "authenticated/anonymous = $ratio; the check adds ${cost_us} us per request (cached token)"
echo
printf "%-38s %10s %9s %9s\n" "POST /v1/auth/login (argon2id $HASH)" "$LG_RPS" "$LG_P50" "$LG_P99"
[ -z "$LG_BAD" ] || echo "warning: $LG_BAD non-2xx logins"
echo "(logins/s with 1 worker and its 2 pool threads, wrk -c8 -d${DURATION}s)"

mkdir -p "$TOP/bench/results"
cat > "$TOP/bench/results/auth.json" <<JSON
{"bench":"auth","date":"$(date -u +%FT%TZ)","workers":1,
 "jwt_check_ns":$(cat "$T/jwt.json"),
 "http":{"anonymous":{"rps":$AN_RPS,"p50_ms":$AN_P50,"p99_ms":$AN_P99},
         "authenticated_hs256":{"rps":$AU_RPS,"p50_ms":$AU_P50,"p99_ms":$AU_P99},
         "ratio":$ratio,"check_cost_us":$cost_us},
 "login":{"rps":${LG_RPS:-0},"p50_ms":${LG_P50:-0},"p99_ms":${LG_P99:-0},"argon2id":"$HASH","connections":8}}
JSON
