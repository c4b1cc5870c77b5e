#!/usr/bin/env bash
# Booking payments through the rent plugin, end to end over the bus:
#   a booking's total is charged (rent's read model of booking-events), the
#   booking confirms from payment.succeeded, a second payment is refused;
#   a cancellation's refund amount is refunded (payment.refunded); a payment
#   confirmed (signed webhook) after its hold expired is refunded in full.
. "$(dirname "$0")/../lib.sh"

head -c 48 /dev/urandom | base64 -w0 > "$T/secret"
WHSECRET="whsec_$(head -c 18 /dev/urandom | base64 -w0 | tr -d '/+=')"
PLUGINS="auth property booking rent" rz_conf "$T/c" \
    "[auth]" "jwt_secret_file = $T/secret" \
    "[plugin.auth]" "jwt_secret_file = $T/secret" "opslimit = 1" "memlimit = 8KiB" "access_ttl = 24h" \
    "[ratelimit]" "auth = off" \
    "[jobs]" "poll_interval = 50ms" \
    "[plugin.property]" "media_dir = $T/media" \
    "[plugin.booking]" "hold_minutes = 15" \
    "[plugin.rent]" "sandbox_webhook_secret = $WHSECRET" \
    "# a configured secret overrides the generated one" \
    "sandbox_webhook_url = $BASE/v1/payments/webhooks/sandbox" "sandbox_confirm_delay = 20m"
# Jobs of an earlier run aim at a daemon that is gone: they would only retry.
psql "$PGURL" -XAtq -c "delete from rentezy.jobs where plugin = 'rent'" 2>/dev/null
rz_start "$T/c" || exit 1
sql() { psql "$PGURL" -XAtq -c "$1"; }
wait_until() { # SECONDS CMD...
    local deadline=$(( $(date +%s%N) / 1000000 + $1 * 1000 )); shift
    while ! "$@" >/dev/null 2>&1; do
        [ "$(( $(date +%s%N) / 1000000 ))" -lt "$deadline" ] || return 1
        sleep 0.05
    done
}
sql_is() { [ "$(sql "$1")" = "$2" ]; }
U="rb$$-$RANDOM"
PW="correct horse 1"
register() { curl -s -o /dev/null -d "{\"email\":\"$2-$U@example.com\",\"password\":\"$PW\",\"name\":\"$2\",\"role\":\"$1\"}" "$BASE/v1/auth/register"; }
token() { curl -s -d "{\"email\":\"$1-$U@example.com\",\"password\":\"$PW\"}" "$BASE/v1/auth/login" | jq -r .access_token; }
register landlord lou; register tenant tia; register tenant tom
LL=$(token lou); TN=$(token tia); T2=$(token tom)
A() { echo "Authorization: Bearer $1"; }
J='Content-Type: application/json'
call() { curl -s -o "$T/body" -w '%{http_code}' "$@"; }
host_now() { curl -s -H "$J" -d '{"advance_ms":0}' "$BASE/v1/_test/clock" | jq -r .now_ms; }
advance() { curl -s -o /dev/null -H "$J" -d "{\"advance_ms\":$1}" "$BASE/v1/_test/clock"; }
day() { date -u -d "@$(( $(host_now) / 1000 + $1 * 86400 ))" +%F; }

body="{\"title\":\"Flat $U\",\"property_type\":\"apartment\",
  \"address\":{\"street\":\"Hauptstr. 1\",\"city\":\"Berlin\",\"country\":\"DE\"},
  \"location\":{\"lat\":52.52,\"lon\":13.405},\"bedrooms\":1,\"beds\":2,\"bathrooms\":1,
  \"max_guests\":4,\"nightly_price\":{\"amount\":10000,\"currency\":\"EUR\"},
  \"min_nights\":1,\"max_nights\":30,\"instant_book\":true,\"cancellation_policy\":\"flexible\"}"
P=$(curl -s -H "$(A "$LL")" -H "$J" -d "$body" "$BASE/v1/properties" | jq -r .id)
curl -s -o /dev/null -X POST -H "$(A "$LL")" "$BASE/v1/properties/$P/publish"
check "booking sees the listing" wait_until 20 sql_is "select status from booking.listings where id = '$P'" published

book() { # CHECK-IN-DAY NIGHTS -> booking id
    call -H "$(A "$TN")" -H "$J" -d "{\"property_id\":\"$P\",\"check_in\":\"$(day "$1")\",\"check_out\":\"$(day $(($1 + $2)))\",\"guests\":2}" "$BASE/v1/bookings" >/dev/null
    jq -r .id "$T/body"
}
pay() { # TOKEN BOOKING METHOD -> status
    call -H "$(A "$1")" -H "$J" -d "{\"purpose\":\"booking\",\"booking_id\":\"$2\",\"payment_method\":\"$3\"}" "$BASE/v1/payments"
}

# ---- pay, confirm, cancel with a refund ----------------------------------------------------
B1=$(book 30 3)
check "rent sees the booking waiting for payment" wait_until 20 sql_is "select status from rent.bookings where id = '$B1'" pending_payment
expect_eq "someone else cannot pay it -> 404" "$(pay "$T2" "$B1" tok_ok)" 404
expect_eq "a declined card -> 201 failed" "$(pay "$TN" "$B1" tok_decline) $(jq -r .status "$T/body")" "201 failed"
expect_eq "tok_ok pays the total -> 201 succeeded" "$(pay "$TN" "$B1" tok_ok) $(jq -r '.status + " " + (.amount.amount|tostring)' "$T/body")" "201 succeeded 30000"
PB1=$(jq -r .id "$T/body")
expect_eq "the landlord is the payee" "$(call -H "$(A "$LL")" "$BASE/v1/payments/$PB1")" 200
check "booking confirms from payment.succeeded" wait_until 20 sql_is "select status from booking.bookings where id = '$B1'" confirmed
expect_eq "paying it again -> 409" "$(pay "$TN" "$B1" tok_ok)" 409
expect_eq "the tenant cancels (flexible, early: full refund)" "$(call -X POST -H "$(A "$TN")" "$BASE/v1/bookings/$B1/cancel") $(jq -r .refund.amount "$T/body")" "200 30000"
check "the payment is refunded" wait_until 20 sql_is "select status || ' ' || refunded from rent.payments where id = '$PB1'" "refunded 30000"
expect_eq "payment.refunded published once" "$(sql "select count(*) from rentezy.outbox where topic = 'payment-events' and subject = '$PB1' and type = 'payment.refunded'")" 1
expect_eq "one sandbox refund" "$(sql "select count(*) from rent.sandbox_charges where kind = 'refund' and grp = (select provider_ref from rent.payments where id = '$PB1')")" 1

# ---- a payment confirmed after its hold expired is refunded ---------------------------------
B2=$(book 40 2)
check "rent sees the second booking" wait_until 20 sql_is "select status from rent.bookings where id = '$B2'" pending_payment
expect_eq "tok_async_ok -> 201 pending" "$(pay "$TN" "$B2" tok_async_ok) $(jq -r .status "$T/body")" "201 pending"
PB2=$(jq -r .id "$T/body")
advance $((16 * 60 * 1000))
check "the hold expires" wait_until 20 sql_is "select status from booking.bookings where id = '$B2'" expired
advance $((5 * 60 * 1000))
check "the webhook confirms the payment, booking asks for a refund, rent refunds it" \
    wait_until 30 sql_is "select status || ' ' || refunded from rent.payments where id = '$PB2'" "refunded 20000"
expect_eq "the booking stays expired" "$(sql "select status from booking.bookings where id = '$B2'")" expired
finish
