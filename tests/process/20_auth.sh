#!/usr/bin/env bash
# The host's bearer token check over real sockets: every forged or stale
# token is refused with 401 + WWW-Authenticate, roles give 403, and a valid
# token names the caller.  HS256 first, then RS256 (the key-confusion
# forgery), then the start-up refusals (empty or short secrets).
# Needs no database: the probe plugin echoes the caller.
. "$(dirname "$0")/../lib.sh"

MKJWT="$TOP/$BUILD/tests/tools/mkjwt"
PROBE="$TPLUGDIR/authz_probe.so"
head -c 48 /dev/urandom | base64 -w0 > "$T/secret"
printf 'a-different-secret-of-enough-length-0123456789\n' > "$T/other"

hdr() { # URL TOKEN -> the WWW-Authenticate header of the reply
    curl -s -D - -o /dev/null -H "Authorization: Bearer $2" "$1" | tr -d '\r' |
        sed -n 's/^[Ww][Ww][Ww]-[Aa]uthenticate: //p'
}
get() { status GET "$BASE/v1/_probe/$1" -H "Authorization: Bearer $2"; }

NO_DB=1 PLUGINS="$PROBE" rz_conf "$T/hs" \
    "[auth]" "algorithm = HS256" "jwt_secret_file = $T/secret" "leeway = 30s"
rz_start "$T/hs" || exit 1

good=$("$MKJWT" -k "$T/secret" -s u-7 -r tenant)
expect_eq "a valid token reaches a user route" "$(get user "$good")" 200
check "the handler sees the caller's id and role" jq -e '.user == "u-7" and .role == "tenant"' "$T/body"
expect_eq "no token on a user route is 401" "$(status GET "$BASE/v1/_probe/user")" 401
check "401 without a token says Bearer realm only" \
    sh -c "curl -si '$BASE/v1/_probe/user' | tr -d '\r' | grep -qx 'WWW-Authenticate: Bearer realm=\"rentezy\"'"
expect_eq "a public route needs no token" "$(status GET "$BASE/v1/_probe/public")" 200
check "a public route with no token has no caller" jq -e '.user == null' "$T/body"
expect_eq "a public route with a valid token knows the caller" "$(get public "$good")" 200
check "...as u-7" jq -e '.user == "u-7"' "$T/body"
expect_eq "a public route ignores a stale token" \
    "$(get public "$("$MKJWT" -k "$T/secret" -e -3600)")" 200
expect_eq "Basic credentials are 401" \
    "$(status GET "$BASE/v1/_probe/user" -H 'Authorization: Basic dTpw')" 401

# forged and stale tokens: each 401 with invalid_token and a reason
forged() { # NAME TOKEN REASON-SUBSTRING
    expect_eq "$1 is 401" "$(get user "$2")" 401
    check "$1: JSON error invalid_token" jq -e '.error.code == "invalid_token"' "$T/body"
    check "$1: WWW-Authenticate names the reason" \
        sh -c "curl -s -D - -o /dev/null -H 'Authorization: Bearer $2' '$BASE/v1/_probe/user' | tr -d '\r' | grep -i '^WWW-Authenticate: Bearer realm=\"rentezy\", error=\"invalid_token\", error_description=\"[^\"]*$3'"
}
forged "alg none" "$("$MKJWT" -a none -r admin)" "malformed"
forged "alg none with a fake signature" "$("$MKJWT" -a none -r admin | sed 's/\.$/.c2ln/')" "invalid"
forged "a token signed with another secret" "$("$MKJWT" -k "$T/other")" "signature"
tampered=$(python3 - "$good" <<'PY'
import base64, json, sys
h, p, s = sys.argv[1].split(".")
claims = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
claims["role"] = "admin"
p2 = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
print(".".join([h, p2, s]))
PY
)
forged "a tampered payload (role admin)" "$tampered" "signature"
forged "an expired token" "$("$MKJWT" -k "$T/secret" -e -60)" "expired"
expect_eq "expired within the leeway still passes" "$(get user "$("$MKJWT" -k "$T/secret" -e -10)")" 200
forged "a token without exp" "$("$MKJWT" -k "$T/secret" -X)" "exp"
forged "nbf in the future" "$("$MKJWT" -k "$T/secret" -n 300)" "not yet valid"
forged "a wrong audience" "$("$MKJWT" -k "$T/secret" -A other-api)" "audience"
forged "a wrong issuer" "$("$MKJWT" -k "$T/secret" -i evil)" "issuer"
forged "an unknown role" "$("$MKJWT" -k "$T/secret" -r root)" "role"
forged "garbage" "not.a.jwt" "signature"

# the clock moves: a token good now is refused after its exp + leeway
short=$("$MKJWT" -k "$T/secret" -e 60)
expect_eq "a token valid now (cached)" "$(get user "$short")" 200
curl -s -o /dev/null -X POST "$BASE/v1/_test/clock" -d '{"advance_ms": 95000}'
forged "a cached token after its expiry" "$short" "expired"

# roles
landlord=$("$MKJWT" -k "$T/secret" -s u-8 -r landlord)
admin=$("$MKJWT" -k "$T/secret" -s u-9 -r admin)
now=$(( $(date +%s) + 95 ))
good=$("$MKJWT" -k "$T/secret" -s u-7 -r tenant -t "$now")
landlord=$("$MKJWT" -k "$T/secret" -s u-8 -r landlord -t "$now")
admin=$("$MKJWT" -k "$T/secret" -s u-9 -r admin -t "$now")
expect_eq "a tenant on a landlord route is 403" "$(get landlord "$good")" 403
check "403 is a JSON error" jq -e '.error.code == "forbidden"' "$T/body"
expect_eq "a landlord on a landlord route is 200" "$(get landlord "$landlord")" 200
expect_eq "a landlord on a tenant route is 403" "$(get tenant "$landlord")" 403
expect_eq "a tenant on an admin route is 403" "$(get admin "$good")" 403
expect_eq "an admin on the admin route is 200" "$(get admin "$admin")" 200
expect_eq "an admin is not silently a landlord" "$(get landlord "$admin")" 403
expect_eq "a forged admin token on an admin route is 401, not 403" \
    "$(get admin "$("$MKJWT" -a none -r admin)")" 401
rz_stop

# ---- RS256: only the public key on the host ---------------------------------
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/rsa.key" 2>/dev/null
openssl pkey -in "$T/rsa.key" -pubout -out "$T/rsa.pub" 2>/dev/null
NO_DB=1 PLUGINS="$PROBE" rz_conf "$T/rs" \
    "[auth]" "algorithm = RS256" "public_key_file = $T/rsa.pub"
rz_start "$T/rs" || exit 1
rs=$("$MKJWT" -a RS256 -k "$T/rsa.key" -s u-5 -r landlord)
expect_eq "RS256: a genuine token passes" "$(get landlord "$rs")" 200
expect_eq "RS256: again, from the cache" "$(get landlord "$rs")" 200
forged "RS256: HS256 signed with the public key PEM as secret" \
    "$("$MKJWT" -a HS256 -k "$T/rsa.pub" -s u-5 -r landlord)" "algorithm"
forged "RS256: an HS256 token with the old secret" "$("$MKJWT" -k "$T/secret")" "invalid"
forged "RS256: alg none" "$("$MKJWT" -a none)" "malformed"
rz_stop

# ---- start-up refusals: the empty-key trap never reaches libjwt -----------------
refuses() { # NAME PATTERN CONFIG-LINES...
    local name=$1 pat=$2; shift 2
    NO_DB=1 PLUGINS="$PROBE" rz_conf "$T/bad" "$@"
    "$RZD" -c "$T/bad" --check-config >"$T/bad.out" 2>&1
    local rc=$?
    expect_eq "$name: refuses to start" "$([ $rc -ne 0 ] && echo refused || echo started)" refused
    check "$name: says why" grep -q "$pat" "$T/bad.out"
}
: > "$T/empty"
printf 'short-secret\n' > "$T/short"
refuses "an empty secret file" "no key" "[auth]" "algorithm = HS256" "jwt_secret_file = $T/empty"
refuses "a short secret" "too short" "[auth]" "algorithm = HS256" "jwt_secret_file = $T/short"
refuses "alg none" "HS256, RS256 or ES256" "[auth]" "algorithm = none" "jwt_secret_file = $T/secret"
refuses "RS256 without a key" "public_key" "[auth]" "algorithm = RS256"
refuses "RS256 given the private key" "public key" "[auth]" "algorithm = RS256" "public_key_file = $T/rsa.key"
finish
