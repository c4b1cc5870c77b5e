#!/usr/bin/env bash
# A third-party payment provider: the testpay test plugin publishes
# payment.provider.testpay (rentezy/payment.h, ABI 1.2 iface_provide) and
# [plugin.rent] provider = testpay makes rent take new payments through it;
# each payment records its provider; a provider nobody provides stops the
# start with a clear line; webhooks go to the payment's provider by name.
. "$(dirname "$0")/../lib.sh"

head -c 48 /dev/urandom | base64 -w0 > "$T/secret"
conf() { # DIR PROVIDER [PLUGINS]
    PLUGINS="${3:-auth rent $TPLUGDIR/testpay.so}" rz_conf "$1" \
        "[auth]" "jwt_secret_file = $T/secret" \
        "[plugin.auth]" "jwt_secret_file = $T/secret" "opslimit = 1" "memlimit = 8KiB" \
        "[ratelimit]" "auth = off" \
        "[plugin.rent]" "provider = $2" "sandbox_webhook_url = $BASE/v1/payments/webhooks/sandbox"
}

conf "$T/missing" nosuch "auth rent"
"$RZD" -c "$T/missing" >"$T/missing.log" 2>&1 & MP=$!
for _ in $(seq 1 50); do grep -q 'provider nosuch' "$T/missing.log" && break; sleep 0.1; done
kill -KILL $MP 2>/dev/null; wait $MP 2>/dev/null
check "a provider no plugin provides is refused, naming it" \
    grep -q 'provider nosuch: no plugin provides payment.provider.nosuch' "$T/missing.log"

conf "$T/c" testpay
rz_start "$T/c" || exit 1
check "ready once the provider is recorded" wait_http "$BASE/readyz" 100
sql() { psql "$PGURL" -XAtq -c "$1"; }
expect_eq "rent.settings names the provider" "$(sql "select value from rent.settings where name = 'provider'")" testpay

U="tp$$-$RANDOM"
PW="correct horse 1"
register() { curl -s -o /dev/null -d "{\"email\":\"$2-$U@example.com\",\"password\":\"$PW\",\"name\":\"$2\",\"role\":\"$1\"}" "$BASE/v1/auth/register"; }
token() { curl -s -d "{\"email\":\"$1-$U@example.com\",\"password\":\"$PW\"}" "$BASE/v1/auth/login" | jq -r .access_token; }
me() { curl -s -H "Authorization: Bearer $1" "$BASE/v1/me" | jq -r .id; }
A() { echo "Authorization: Bearer $1"; }
J='Content-Type: application/json'
call() { curl -s -o "$T/body" -w '%{http_code}' "$@"; }
register landlord lou; register tenant tia
LL=$(token lou); TN=$(token tia); TIA=$(me "$TN")
PROP=$(cat /proc/sys/kernel/random/uuid)
trap 'sql "update rent.leases set status = '"'terminated'"' where property_id = '"'$PROP'"'" >/dev/null 2>&1; cleanup' EXIT
START=$(date -u +%Y-%m-%d)
expect_eq "a lease is proposed" "$(call -H "$(A "$LL")" -H "$J" -d "{\"tenant_id\":\"$TIA\",\"property_id\":\"$PROP\",
    \"monthly_rent\":{\"amount\":90000,\"currency\":\"EUR\"},\"start_date\":\"$START\",\"due_day\":1,
    \"time_zone\":\"UTC\"}" "$BASE/v1/leases")" 201
L=$(jq -r .id "$T/body")
expect_eq "...and accepted" "$(call -X POST -H "$(A "$TN")" "$BASE/v1/leases/$L/accept")" 200
C=$(sql "select id from rent.charges where lease_id = '$L' and kind = 'rent' limit 1")
check "...with a rent charge" test -n "$C"
pay() { call -H "$(A "$TN")" -H "$J" -d "{\"purpose\":\"rent\",\"charge_id\":\"$C\",\"payment_method\":\"$1\"}" "$BASE/v1/payments"; }
expect_eq "tp_decline -> 201 failed card_declined, through testpay" \
    "$(pay tp_decline) $(jq -r '.status + " " + .failure_code + " " + .provider' "$T/body")" "201 failed card_declined testpay"
expect_eq "tp_ok -> 201 succeeded, through testpay" \
    "$(pay tp_ok) $(jq -r '.status + " " + .provider' "$T/body")" "201 succeeded testpay"
P=$(jq -r .id "$T/body")
expect_eq "the payment records testpay's reference" "$(sql "select provider || ' ' || (provider_ref like 'tp_%') from rent.payments where id = '$P'")" "testpay true"
expect_eq "no sandbox charge was made" "$(sql "select count(*) from rent.sandbox_charges where grp = '$C'")" 0
expect_eq "the charge is paid" "$(sql "select status from rent.charges where id = '$C'")" paid
expect_eq "testpay's webhook refuses what it cannot verify" \
    "$(call -H "$J" -H "Testpay-Signature: x" -d '{"id":"e1"}' "$BASE/v1/payments/webhooks/testpay")" 400
expect_eq "a provider nobody provides has no webhook: 404" \
    "$(call -H "$J" -d '{}' "$BASE/v1/payments/webhooks/nosuch")" 404
expect_eq "a name that is not one: 404" \
    "$(call -H "$J" -d '{}' "$BASE/v1/payments/webhooks/..%2Fx")" 404
finish
