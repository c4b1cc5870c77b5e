#!/usr/bin/env bash
# The auth plugin against the real database: register, login (OAuth 2.0
# token response), /v1/me, refresh rotation and reuse detection, logout,
# password change revoking other sessions, and bad input on every endpoint.
. "$(dirname "$0")/../lib.sh"

head -c 48 /dev/urandom | base64 -w0 > "$T/secret"
PLUGINS="auth $TPLUGDIR/authz_probe.so" rz_conf "$T/c" \
    "[auth]" "jwt_secret_file = $T/secret" \
    "[plugin.auth]" "jwt_secret_file = $T/secret" "opslimit = 1" "memlimit = 8KiB" \
    "[ratelimit]" "auth = off"
rz_start "$T/c" || exit 1

U="u$$-$RANDOM"           # the database outlives the test: unique e-mails
EMAIL="$U@example.com"
PW="correct horse 1"
post() { status POST "$BASE$1" -H 'Content-Type: application/json' -d "$2" "${@:3}"; }
auth() { echo "Authorization: Bearer $1"; }

# ---- register ------------------------------------------------------------------
expect_eq "register answers 201" \
    "$(post /v1/auth/register "{\"email\":\"  ${U^^}@Example.COM \",\"password\":\"$PW\",\"name\":\" Ana \",\"role\":\"tenant\"}")" 201
check "the e-mail is trimmed and lower-cased, the name trimmed" \
    jq -e --arg e "$EMAIL" '.email == $e and .name == "Ana" and .role == "tenant" and (.id | test("^[0-9a-f-]{36}$"))' "$T/body"
check "no password hash in the answer" jq -e 'has("password_hash") | not' "$T/body"
UID1=$(jq -r .id "$T/body")
expect_eq "the same e-mail in another spelling is 409" \
    "$(post /v1/auth/register "{\"email\":\"$EMAIL\",\"password\":\"$PW\",\"name\":\"B\",\"role\":\"landlord\"}")" 409
check "409 names the field" jq -e '.error.code == "email_taken" and .error.field == "email"' "$T/body"
expect_eq "a landlord registers" \
    "$(post /v1/auth/register "{\"email\":\"l-$EMAIL\",\"password\":\"$PW\",\"name\":\"Lou\",\"role\":\"landlord\"}")" 201

# ---- login --------------------------------------------------------------------------
expect_eq "login answers 200" "$(post /v1/auth/login "{\"email\":\"$EMAIL\",\"password\":\"$PW\"}")" 200
check "an OAuth 2.0 token response" \
    jq -e '.token_type == "Bearer" and .expires_in == 900 and (.access_token | split(".") | length == 3) and (.refresh_token | length == 43)' "$T/body"
AT=$(jq -r .access_token "$T/body"); RT=$(jq -r .refresh_token "$T/body")
check "the access token carries sub, role, sid, iss, aud, exp" python3 - "$AT" "$UID1" <<'PY'
import base64, json, sys
p = sys.argv[1].split(".")[1]
c = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
assert c["sub"] == sys.argv[2] and c["role"] == "tenant", c
assert c["iss"] == "rentezy" and c["aud"] == "rentezy-api" and c["exp"] - c["iat"] == 900, c
assert len(c["sid"]) == 36 and len(c["jti"]) == 32, c
PY
check "token responses are not cached" sh -c "curl -si -d '{\"email\":\"$EMAIL\",\"password\":\"$PW\"}' '$BASE/v1/auth/login' | tr -d '\r' | grep -qx 'Cache-Control: no-store'"
expect_eq "login with the e-mail in capitals" "$(post /v1/auth/login "{\"email\":\"${EMAIL^^}\",\"password\":\"$PW\"}")" 200
expect_eq "a wrong password is 401" "$(post /v1/auth/login "{\"email\":\"$EMAIL\",\"password\":\"wrong horse 1\"}")" 401
cp "$T/body" "$T/wrong"
expect_eq "an unknown e-mail is 401" "$(post /v1/auth/login "{\"email\":\"nobody-$EMAIL\",\"password\":\"$PW\"}")" 401
check "...with exactly the same answer" cmp -s "$T/body" "$T/wrong"
check "registration publishes user.registered in the same transaction" sh -c \
    "psql '$PGURL' -Atc \"select count(*) from rentezy.outbox where topic = 'user-events' and type = 'user.registered' and data->>'email' = '$EMAIL' and data->>'role' = 'tenant'\" | grep -qx 1"
check "a refused registration publishes nothing" sh -c \
    "psql '$PGURL' -Atc \"select count(*) from rentezy.outbox where topic = 'user-events' and data->>'email' = '$EMAIL'\" | grep -qx 1"
check "stored hashes are argon2id" sh -c "psql '$PGURL' -Atc \"select password_hash from auth.users where email='$EMAIL'\" | grep -q '^\\\$argon2id\\\$'"
check "refresh tokens are stored only as SHA-256" sh -c "
    n=\$(psql '$PGURL' -Atc \"select count(*) from auth.refresh_tokens where token_hash = sha256('$RT'::bytea)\")
    m=\$(psql '$PGURL' -Atc \"select count(*) from auth.refresh_tokens where encode(token_hash,'escape') like '%$RT%'\")
    [ \"\$n\" = 1 ] && [ \"\$m\" = 0 ]"

# ---- /v1/me --------------------------------------------------------------------------
expect_eq "GET /v1/me with the token" "$(status GET "$BASE/v1/me" -H "$(auth "$AT")")" 200
check "it is me" jq -e --arg id "$UID1" '.id == $id and .name == "Ana"' "$T/body"
expect_eq "GET /v1/me without a token is 401" "$(status GET "$BASE/v1/me")" 401
expect_eq "PATCH /v1/me changes the name" \
    "$(status PATCH "$BASE/v1/me" -H "$(auth "$AT")" -d '{"name":"Ana Maria"}')" 200
check "the new name is returned" jq -e '.name == "Ana Maria"' "$T/body"
expect_eq "PATCH /v1/me cannot change the role" \
    "$(status PATCH "$BASE/v1/me" -H "$(auth "$AT")" -d '{"name":"x","role":"admin"}')" 400
check "...naming the field" jq -e '.error.field == "role"' "$T/body"
expect_eq "the role comes from the token: tenant route ok" \
    "$(status GET "$BASE/v1/_probe/tenant" -H "$(auth "$AT")")" 200
expect_eq "...landlord route 403" "$(status GET "$BASE/v1/_probe/landlord" -H "$(auth "$AT")")" 403

# ---- refresh: rotation and reuse detection ---------------------------------------------
expect_eq "refresh rotates" "$(post /v1/auth/refresh "{\"refresh_token\":\"$RT\"}")" 200
RT2=$(jq -r .refresh_token "$T/body"); AT2=$(jq -r .access_token "$T/body")
check "a new refresh token" test "$RT2" != "$RT"
expect_eq "the new access token works" "$(status GET "$BASE/v1/me" -H "$(auth "$AT2")")" 200
expect_eq "the rotated token again is reuse: 401" "$(post /v1/auth/refresh "{\"refresh_token\":\"$RT\"}")" 401
check "...invalid_grant" jq -e '.error.code == "invalid_grant"' "$T/body"
expect_eq "reuse revoked the family: the newest token is dead too" \
    "$(post /v1/auth/refresh "{\"refresh_token\":\"$RT2\"}")" 401
expect_eq "an unknown refresh token is 401" \
    "$(post /v1/auth/refresh '{"refresh_token":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}')" 401
# expiry follows the host clock: 30 days later a fresh token is dead
post /v1/auth/login "{\"email\":\"$EMAIL\",\"password\":\"$PW\"}" >/dev/null
RT3=$(jq -r .refresh_token "$T/body")
curl -s -o /dev/null -X POST "$BASE/v1/_test/clock" -d "{\"advance_ms\": $((31 * 86400 * 1000))}"
expect_eq "a refresh token past refresh_ttl is 401" "$(post /v1/auth/refresh "{\"refresh_token\":\"$RT3\"}")" 401
check "...says it expired" jq -e '.error.message | test("expired")' "$T/body"

# (the clock moved 31 days: log in again for fresh tokens)
login() { post /v1/auth/login "{\"email\":\"$EMAIL\",\"password\":\"$1\"}" >/dev/null; cp "$T/body" "$T/$2"; }

# ---- logout -----------------------------------------------------------------------------
login "$PW" s1
A1=$(jq -r .access_token "$T/s1"); R1=$(jq -r .refresh_token "$T/s1")
expect_eq "logout is 204" "$(status POST "$BASE/v1/auth/logout" -H "$(auth "$A1")")" 204
expect_eq "the session's refresh token is revoked" "$(post /v1/auth/refresh "{\"refresh_token\":\"$R1\"}")" 401
expect_eq "logout without a token is 401" "$(status POST "$BASE/v1/auth/logout")" 401

# ---- password change: other sessions end, this one stays --------------------------------
login "$PW" keep
login "$PW" other
AK=$(jq -r .access_token "$T/keep"); RK=$(jq -r .refresh_token "$T/keep"); RO=$(jq -r .refresh_token "$T/other")
NEWPW="battery staple 2"
expect_eq "a wrong current password is 403" \
    "$(post /v1/auth/password "{\"current_password\":\"nope nope 1\",\"new_password\":\"$NEWPW\"}" -H "$(auth "$AK")")" 403
check "...naming current_password" jq -e '.error.field == "current_password"' "$T/body"
expect_eq "a weak new password is 400" \
    "$(post /v1/auth/password "{\"current_password\":\"$PW\",\"new_password\":\"aaaaaaaaaaaa\"}" -H "$(auth "$AK")")" 400
check "...stating the policy" jq -e '.error.field == "new_password" and (.error.message | test("10 to 128 characters"))' "$T/body"
expect_eq "password change is 204" \
    "$(post /v1/auth/password "{\"current_password\":\"$PW\",\"new_password\":\"$NEWPW\"}" -H "$(auth "$AK")")" 204
expect_eq "another session is revoked" "$(post /v1/auth/refresh "{\"refresh_token\":\"$RO\"}")" 401
expect_eq "this session continues" "$(post /v1/auth/refresh "{\"refresh_token\":\"$RK\"}")" 200
expect_eq "the old password no longer logs in" "$(post /v1/auth/login "{\"email\":\"$EMAIL\",\"password\":\"$PW\"}")" 401
expect_eq "the new one does" "$(post /v1/auth/login "{\"email\":\"$EMAIL\",\"password\":\"$NEWPW\"}")" 200
AT=$(jq -r .access_token "$T/body")

# ---- bad input on every endpoint: 400 JSON naming the field ------------------------------
bad() { # NAME METHOD PATH BODY FIELD [CODE]
    local st
    st=$(status "$2" "$BASE$3" -H "$(auth "$AT")" -H 'Content-Type: application/json' --data-binary "$4")
    expect_eq "$1 is 400" "$st" 400
    if [ -n "$5" ]; then
        check "$1 names $5" jq -e --arg f "$5" '.error.field == $f' "$T/body"
    else
        check "$1 is a JSON error" jq -e '.error.code == "invalid_json"' "$T/body"
    fi
    [ -z "${6:-}" ] || check "$1 code $6" jq -e --arg c "$6" '.error.code == $c' "$T/body"
}
LONG=$(head -c 2000 /dev/zero | tr '\0' a)
R='"role":"tenant"'; N='"name":"N"'; P="\"password\":\"$PW\""
bad "register: malformed JSON" POST /v1/auth/register '{"email":' ""
bad "register: not an object" POST /v1/auth/register '["x"]' ""
bad "register: empty body" POST /v1/auth/register '' ""
bad "register: missing email" POST /v1/auth/register "{$P,$N,$R}" email missing
bad "register: email a number" POST /v1/auth/register "{\"email\":5,$P,$N,$R}" email invalid_type
bad "register: invalid email" POST /v1/auth/register "{\"email\":\"no-at-sign\",$P,$N,$R}" email invalid_email
bad "register: email with two @" POST /v1/auth/register "{\"email\":\"a@b@c.de\",$P,$N,$R}" email invalid_email
bad "register: overlong email" POST /v1/auth/register "{\"email\":\"$LONG@x.io\",$P,$N,$R}" email too_long
bad "register: missing password" POST /v1/auth/register "{\"email\":\"x-$EMAIL\",$N,$R}" password missing
bad "register: short password" POST /v1/auth/register "{\"email\":\"x-$EMAIL\",\"password\":\"Ab1\",$N,$R}" password weak_password
bad "register: one-class password" POST /v1/auth/register "{\"email\":\"x-$EMAIL\",\"password\":\"abcdefghijkl\",$N,$R}" password weak_password
bad "register: overlong password" POST /v1/auth/register "{\"email\":\"x-$EMAIL\",\"password\":\"$LONG\",$N,$R}" password
bad "register: password an array" POST /v1/auth/register "{\"email\":\"x-$EMAIL\",\"password\":[1],$N,$R}" password invalid_type
bad "register: missing name" POST /v1/auth/register "{\"email\":\"x-$EMAIL\",$P,$R}" name missing
bad "register: blank name" POST /v1/auth/register "{\"email\":\"x-$EMAIL\",$P,\"name\":\"   \",$R}" name
bad "register: overlong name" POST /v1/auth/register "{\"email\":\"x-$EMAIL\",$P,\"name\":\"${LONG:0:300}\",$R}" name too_long
bad "register: control character in name" POST /v1/auth/register "{\"email\":\"x-$EMAIL\",$P,\"name\":\"a\\u0007b\",$R}" name
bad "register: role admin" POST /v1/auth/register "{\"email\":\"x-$EMAIL\",$P,$N,\"role\":\"admin\"}" role
bad "register: role missing" POST /v1/auth/register "{\"email\":\"x-$EMAIL\",$P,$N}" role missing
bad "register: role a bool" POST /v1/auth/register "{\"email\":\"x-$EMAIL\",$P,$N,\"role\":true}" role invalid_type
bad "register: unknown field" POST /v1/auth/register "{\"email\":\"x-$EMAIL\",$P,$N,$R,\"is_admin\":true}" is_admin unknown_field
bad "login: malformed JSON" POST /v1/auth/login '{' ""
bad "login: missing email" POST /v1/auth/login "{$P}" email missing
bad "login: invalid email" POST /v1/auth/login "{\"email\":\"@x\",$P}" email invalid_email
bad "login: missing password" POST /v1/auth/login "{\"email\":\"$EMAIL\"}" password missing
bad "login: password a number" POST /v1/auth/login "{\"email\":\"$EMAIL\",\"password\":1}" password invalid_type
bad "login: overlong password" POST /v1/auth/login "{\"email\":\"$EMAIL\",\"password\":\"$LONG\"}" password too_long
bad "refresh: malformed JSON" POST /v1/auth/refresh 'nope' ""
bad "refresh: missing token" POST /v1/auth/refresh '{}' refresh_token missing
bad "refresh: token a number" POST /v1/auth/refresh '{"refresh_token":7}' refresh_token invalid_type
bad "refresh: token of the wrong shape" POST /v1/auth/refresh '{"refresh_token":"short"}' refresh_token
bad "refresh: overlong token" POST /v1/auth/refresh "{\"refresh_token\":\"$LONG\"}" refresh_token too_long
bad "logout: malformed JSON" POST /v1/auth/logout '{"refresh_token"' ""
bad "logout: token a number" POST /v1/auth/logout '{"refresh_token":1}' refresh_token invalid_type
bad "password: malformed JSON" POST /v1/auth/password '[' ""
bad "password: missing current" POST /v1/auth/password "{\"new_password\":\"$NEWPW\"}" current_password missing
bad "password: missing new" POST /v1/auth/password "{\"current_password\":\"$NEWPW\"}" new_password missing
bad "password: new a number" POST /v1/auth/password "{\"current_password\":\"$NEWPW\",\"new_password\":5}" new_password invalid_type
bad "me: malformed JSON" PATCH /v1/me '{"name":' ""
bad "me: name a number" PATCH /v1/me '{"name":5}' name invalid_type
bad "me: missing name" PATCH /v1/me '{}' name missing
bad "me: overlong name" PATCH /v1/me "{\"name\":\"${LONG:0:300}\"}" name too_long
bad "me: e-mail is not changed here" PATCH /v1/me '{"email":"x@y.io"}' email unknown_field
bad "register: invalid UTF-8" POST /v1/auth/register "$(printf '{"email":"x-%s","password":"%s","name":"a\xffb","role":"tenant"}' "$EMAIL" "$PW")" name
check "the worker survived all of it" sh -c "curl -sf '$BASE/healthz' >/dev/null"
check "openapi.json documents every auth route" sh -c "curl -s '$BASE/openapi.json' | jq -e '.paths[\"/v1/auth/register\"].post and .paths[\"/v1/auth/login\"].post and .paths[\"/v1/auth/refresh\"].post and .paths[\"/v1/auth/logout\"].post and .paths[\"/v1/auth/password\"].post and .paths[\"/v1/me\"].get and .paths[\"/v1/me\"].patch' >/dev/null"
finish
