#!/usr/bin/env bash
# The notify plugin end to end: events (published through rentezy.publish,
# as the producing plugins do) become in-app notifications for both parties,
# a WebSocket push, e-mails at a real SMTP server on loopback and signed
# webhook deliveries; redelivery creates no duplicates; e-mail off means no
# e-mail; a failing webhook is retried, then disabled; bad input is 4xx.
. "$(dirname "$0")/../lib.sh"

WSC="$TOP/$BUILD/tests/tools/wsclient"
PY="$TOP/tests/tools"
# A database of its own: events other tests publish meanwhile must not reach
# this daemon, nor its e-mail and webhook jobs anyone else's.
DB="rz_notify_$$"
psql "$PGURL" -qAtc "CREATE DATABASE $DB" || exit 1
PGURL_MAIN=$PGURL
PGURL=${PGURL/\/rentezy?//$DB?}
[ "$PGURL" != "$PGURL_MAIN" ] || { echo "cannot derive a database URL from $PGURL"; exit 1; }
python3 "$PY/smtp_sink.py" "$T/smtp.port" "$T/mail" & SINKS="$!"
python3 "$PY/webhook_sink.py" "$T/ok.port" "$T/hooks" "s3cret-s3cret-s3cret" & SINKS="$SINKS $!"
python3 "$PY/webhook_sink.py" "$T/bad.port" "$T/bad" "whatever-whatever" 1 & SINKS="$SINKS $!"
bye() {
    kill $SINKS 2>/dev/null
    [ -z "${NOTIFY_KEEP:-}" ] || { rz_stop; cp -r "$T" "$NOTIFY_KEEP"; }
    cleanup
    psql "$PGURL_MAIN" -qAtc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
}
trap bye EXIT
for f in smtp ok bad; do for _ in $(seq 1 50); do [ -s "$T/$f.port" ] && break; sleep 0.1; done; done

head -c 48 /dev/urandom | base64 -w0 > "$T/secret"
PLUGINS="auth property notify" rz_conf "$T/c" \
    "[auth]" "jwt_secret_file = $T/secret" \
    "[plugin.auth]" "jwt_secret_file = $T/secret" "opslimit = 1" "memlimit = 8KiB" \
    "[ratelimit]" "auth = off" \
    "[jobs]" "poll_interval = 100ms" "backoff_base = 100ms" "backoff_max = 400ms" "max_attempts = 8" \
    "[plugin.notify]" "smtp_url = smtp://127.0.0.1:$(cat "$T/smtp.port")" \
    "from = RentEzy <no-reply@rentezy.test>" "webhook_max_failures = 3" "webhook_allow_private = true"
rz_start "$T/c" || exit 1

U="n$$-$RANDOM"
PW="correct horse 1"
login() { # ROLE NAME -> "token user-id"
    curl -s -o /dev/null -d "{\"email\":\"$2-$U@example.com\",\"password\":\"$PW\",\"name\":\"$2\",\"role\":\"$1\"}" \
        "$BASE/v1/auth/register"
    local at
    at=$(curl -s -d "{\"email\":\"$2-$U@example.com\",\"password\":\"$PW\"}" "$BASE/v1/auth/login" | jq -r .access_token)
    echo "$at $(curl -s -H "Authorization: Bearer $at" "$BASE/v1/me" | jq -r .id)"
}
read -r LL LL_ID <<<"$(login landlord lou)"
read -r L2 L2_ID <<<"$(login landlord max)"
read -r TN TN_ID <<<"$(login tenant tia)"
[ "${#LL}" -gt 20 ] && [ "${#TN}" -gt 20 ] || { echo "FAIL could not log in"; exit 1; }
A() { echo "Authorization: Bearer $1"; }
J='Content-Type: application/json'
sql() { psql "$PGURL" -Atc "$1"; }
until_true() { # TRIES CMD... : poll until CMD succeeds (events and jobs are asynchronous)
    local n=$1; shift
    for _ in $(seq 1 "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
    "$@"
}
until_eq() { # TRIES WANT CMD... : poll until CMD prints WANT
    local n=$1 want=$2; shift 2
    for _ in $(seq 1 "$n"); do [ "$("$@" 2>/dev/null)" = "$want" ] && return 0; sleep 0.1; done
    echo "got '$("$@" 2>&1)', want '$want'"; return 1
}
# publish TYPE SUBJECT DATA -> event id
publish() {
    sql "SELECT rentezy.publish('booking-events', '$1', 'booking', '$2', ${4:-1}, '$3'::jsonb)"
}
BID=$(sql "select gen_random_uuid()"); PID=$(sql "select gen_random_uuid()")
booking_doc() { # STATUS [EXTRA]
    echo "{\"id\":\"$BID\",\"property_id\":\"$PID\",\"tenant_id\":\"$TN_ID\",\"landlord_id\":\"$LL_ID\",
      \"check_in\":\"2027-03-01\",\"check_out\":\"2027-03-05\",\"nights\":4,\"guests\":2,\"status\":\"$1\",
      \"total\":{\"amount\":48200,\"currency\":\"EUR\"}${2:-}}"
}

# ---- webhooks: bad input, then one good one per landlord ---------------------------
for bad in '"ftp://x.example/h"' '"http://user:pw@x.example/h"' '"http://"' '"x.example/h"' \
           '"http://x.example:99999/"' '"http://x.example/a b"' '"http://x.example/#frag"' '42'; do
    expect_eq "webhook url $bad is 400" "$(status POST "$BASE/v1/webhooks" -H "$(A "$LL")" -H "$J" -d "{\"url\":$bad}")" 400
done
expect_eq "a too short secret is 400" \
    "$(status POST "$BASE/v1/webhooks" -H "$(A "$LL")" -H "$J" -d '{"url":"http://x.example/","secret":"short"}')" 400
expect_eq "a tenant cannot register a webhook: 403" \
    "$(status POST "$BASE/v1/webhooks" -H "$(A "$TN")" -H "$J" -d '{"url":"http://x.example/"}')" 403
expect_eq "a generated secret is returned once: 201" \
    "$(status POST "$BASE/v1/webhooks" -H "$(A "$L2")" -H "$J" -d "{\"url\":\"http://127.0.0.1:$(cat "$T/bad.port")/hook\"}")" 201
check "...whsec_ and 64 hex" jq -e '.secret | test("^whsec_[0-9a-f]{64}$")' "$T/body"
BAD_HOOK=$(jq -r .id "$T/body")
check "...and never shown again" sh -c "curl -s -H '$(A "$L2")' $BASE/v1/webhooks/$BAD_HOOK | jq -e 'has(\"secret\") | not'"
expect_eq "landlord registers a webhook with a secret: 201" \
    "$(status POST "$BASE/v1/webhooks" -H "$(A "$LL")" -H "$J" -d "{\"url\":\"http://127.0.0.1:$(cat "$T/ok.port")/hook\",\"secret\":\"s3cret-s3cret-s3cret\"}")" 201
HOOK=$(jq -r .id "$T/body")
expect_eq "another landlord's webhook is 404" "$(status GET "$BASE/v1/webhooks/$HOOK" -H "$(A "$L2")")" 404
expect_eq "another landlord's delivery log is 404" "$(status GET "$BASE/v1/webhooks/$HOOK/deliveries" -H "$(A "$L2")")" 404

# ---- a booking is confirmed: both parties, every channel -----------------------------
"$WSC" -T 15000 -t "$TN" "127.0.0.1:$PORT" 'expect:"type":"notification"' >"$T/ws.out" 2>&1 & WSPID=$!
"$WSC" -T 15000 -t "$LL" "127.0.0.1:$PORT" 'expect:"type":"notification"' >"$T/ws2.out" 2>&1 & WSPID2=$!
sleep 0.5 # the connections are open before the event
EV=$(publish booking.confirmed "$BID" "$(booking_doc confirmed)")
check "the tenant gets the WebSocket push" wait "$WSPID"
check "...on channel notify" grep -q '"ch":"notify","type":"notification"' "$T/ws.out"
check "the landlord gets his" wait "$WSPID2"
cnt() { # TOKEN TYPE -> count of that type in the caller's notifications
    curl -s -H "$(A "$1")" "$BASE/v1/notifications?limit=100" | jq --arg t "$2" '[.items[] | select(.type == $t)] | length'
}
check "the tenant has the in-app notification" until_eq 50 1 cnt "$TN" booking.confirmed
check "the landlord has his own" until_eq 50 1 cnt "$LL" booking.confirmed
check "...rendered from the event" sh -c "curl -s -H '$(A "$LL")' '$BASE/v1/notifications' | jq -e '.items[0] |
    .category == \"booking\" and .read == false and (.body | contains(\"2027-03-01 to 2027-03-05\")) and (.body | contains(\"482.00 EUR\"))'"
mails_to() { grep -l "^X-Rcpt: $1" "$T"/mail/*.eml 2>/dev/null | wc -l; }
check "the e-mail reaches the tenant through SMTP" until_eq 80 1 mails_to "tia-$U@example.com"
check "...and the landlord" until_eq 80 1 mails_to "lou-$U@example.com"
check "...with subject and body" grep -q '^Subject: Booking confirmed' $(grep -l "^X-Rcpt: tia-$U" "$T"/mail/*.eml)
check "the webhook receiver gets a delivery" until_true 80 test -s "$T/hooks/1.json"
check "...and verifies its signature" jq -e --arg e "$EV" '.valid and .event == "booking.confirmed" and .body.event_id == $e' "$T/hooks/1.json"
check "the delivery log says delivered" until_true 30 sh -c "curl -s -H '$(A "$LL")' $BASE/v1/webhooks/$HOOK/deliveries | jq -e '.items[0].state == \"delivered\" and .items[0].attempts == 1'"

# ---- redelivery: the same event id again creates nothing -------------------------------
sql "INSERT INTO rentezy.outbox (id, topic, type, source, subject, version, data)
     SELECT id, topic, type, source, subject, version, data FROM rentezy.outbox WHERE id = '$EV';
     SELECT pg_notify('rentezy_bus', 'booking-events')" >/dev/null
MARK=$(publish booking.completed "$BID" "$(booking_doc completed)" 9) # after it, unknown to notify
check "the redelivered event and the next one were consumed" until_true 50 sh -c \
    "test \"\$(psql '$PGURL' -Atc \"select count(*) from rentezy.bus_positions where grp = 'notify' and topic = 'booking-events' and pos_seq >= (select max(seq) from rentezy.outbox where id = '$MARK')\")\" -ge 1"
expect_eq "no duplicate in-app notification" "$(cnt "$TN" booking.confirmed)" 1
expect_eq "no duplicate e-mail" "$(sql "select count(*) from notify.emails where event_id = '$EV'")" 2
expect_eq "no duplicate webhook delivery" "$(sql "select count(*) from notify.deliveries where event_id = '$EV'")" 1
expect_eq "an unknown type (booking.completed) is acknowledged and ignored" \
    "$(sql "select count(*) from notify.notifications where event_id = '$MARK'")" 0

# ---- preferences: e-mail off means none ---------------------------------------------------
expect_eq "unknown categories are 400" \
    "$(status PUT "$BASE/v1/notifications/preferences" -H "$(A "$TN")" -H "$J" -d '{"bookings":{"email":false},"spam":{}}')" 400
check "...naming them" jq -e '.error.code == "unknown_category" and (.error.message | contains("\"bookings\"") and contains("\"spam\""))' "$T/body"
expect_eq "an unknown channel is 400" \
    "$(status PUT "$BASE/v1/notifications/preferences" -H "$(A "$TN")" -H "$J" -d '{"booking":{"sms":true}}')" 400
expect_eq "a non-boolean is 400" \
    "$(status PUT "$BASE/v1/notifications/preferences" -H "$(A "$TN")" -H "$J" -d '{"booking":{"email":"no"}}')" 400
expect_eq "the tenant turns booking e-mails off" \
    "$(status PUT "$BASE/v1/notifications/preferences" -H "$(A "$TN")" -H "$J" -d '{"booking":{"email":false}}')" 200
check "...the answer has every category, the rest unchanged" jq -e '.booking == {"in_app":true,"email":false,"webhook":true}
    and .payment.email == true and (keys | length) == 6' "$T/body"
EV2=$(publish booking.cancelled "$BID" "$(booking_doc cancelled ',"cancelled_by":"tenant","refund":{"amount":24100,"currency":"EUR"}')" 10)
check "the tenant still gets it in the app" until_eq 50 1 cnt "$TN" booking.cancelled
check "...with the refund" sh -c "curl -s -H '$(A "$TN")' '$BASE/v1/notifications?limit=1' | jq -e '.items[0].body | contains(\"Refund: 241.00 EUR\")'"
check "the landlord's e-mail arrives" until_eq 100 2 mails_to "lou-$U@example.com"
expect_eq "but the tenant got no e-mail" "$(mails_to "tia-$U@example.com")" 1
expect_eq "...none was even queued" "$(sql "select count(*) from notify.emails where event_id = '$EV2' and user_id = '$TN_ID'")" 0

# ---- inbox: someone else's, read, unread, cursor -------------------------------------------
NID=$(curl -s -H "$(A "$TN")" "$BASE/v1/notifications?limit=1" | jq -r '.items[0].id')
expect_eq "someone else's notification is 404" "$(status POST "$BASE/v1/notifications/$NID/read" -H "$(A "$LL")")" 404
expect_eq "a malformed id is 404" "$(status POST "$BASE/v1/notifications/nope/read" -H "$(A "$TN")")" 404
expect_eq "unread count is 2" "$(curl -s -H "$(A "$TN")" "$BASE/v1/notifications/unread_count" | jq .unread)" 2
expect_eq "mark one read" "$(status POST "$BASE/v1/notifications/$NID/read" -H "$(A "$TN")")" 200
check "...read with a time" jq -e '.read == true and (.read_at | test("Z$"))' "$T/body"
expect_eq "?unread=true leaves it out" "$(curl -s -H "$(A "$TN")" "$BASE/v1/notifications?unread=true" | jq '.items | length')" 1
P1=$(curl -s -H "$(A "$TN")" "$BASE/v1/notifications?limit=1")
P2=$(curl -s -H "$(A "$TN")" "$BASE/v1/notifications?limit=1&cursor=$(jq -r .next_cursor <<<"$P1")")
check "the cursor pages without overlap" test "$(jq -r '.items[0].id' <<<"$P1")" != "$(jq -r '.items[0].id' <<<"$P2")"
expect_eq "...and the last page has next_cursor null" "$(jq -r '.next_cursor' <<<"$P2")" null
expect_eq "bad limit is 400" "$(status GET "$BASE/v1/notifications?limit=0" -H "$(A "$TN")")" 400
expect_eq "bad cursor is 400" "$(status GET "$BASE/v1/notifications?cursor=abc" -H "$(A "$TN")")" 400
expect_eq "anonymous is 401" "$(status GET "$BASE/v1/notifications")" 401
expect_eq "read_all" "$(curl -s -X POST -H "$(A "$TN")" "$BASE/v1/notifications/read_all" | jq .updated)" 1
expect_eq "unread count is 0" "$(curl -s -H "$(A "$TN")" "$BASE/v1/notifications/unread_count" | jq .unread)" 0

# ---- a failing webhook is retried, then disabled ---------------------------------------------
B2=$(sql "select gen_random_uuid()")
publish booking.requested "$B2" "{\"id\":\"$B2\",\"property_id\":\"$PID\",\"tenant_id\":\"$TN_ID\",\"landlord_id\":\"$L2_ID\",
  \"check_in\":\"2027-04-01\",\"check_out\":\"2027-04-03\",\"nights\":2,\"guests\":1,\"status\":\"requested\"}" >/dev/null
check "the failing receiver is tried 3 times, then the webhook is disabled" until_true 150 sh -c \
    "curl -s -H '$(A "$L2")' $BASE/v1/webhooks/$BAD_HOOK | jq -e '.enabled == false and .consecutive_failures == 3 and .disabled_at != null'"
expect_eq "...the receiver saw 3 attempts" "$(ls "$T/bad" | wc -l)" 3
check "...the delivery log says failed after 3 attempts with the status" sh -c \
    "curl -s -H '$(A "$L2")' $BASE/v1/webhooks/$BAD_HOOK/deliveries | jq -e '.items[0] | .state == \"failed\" and .attempts == 3 and .last_status == 500'"

# ---- other topics: payments, chat (offline only), listing unpublished with a future stay -------
publish_on() { sql "SELECT rentezy.publish('$1', '$2', 'test', '$3', 1, '$4'::jsonb)" >/dev/null; }
publish_on payment-events payment.succeeded "$(sql "select gen_random_uuid()")" \
    "{\"payer_id\":\"$TN_ID\",\"payee_id\":\"$LL_ID\",\"amount\":{\"amount\":150000,\"currency\":\"EUR\"},\"purpose\":\"rent\"}"
check "payment.succeeded reaches the payer" until_eq 50 1 cnt "$TN" payment.succeeded
check "...with the amount" sh -c "curl -s -H '$(A "$TN")' '$BASE/v1/notifications?limit=1' | jq -e '.items[0] | .category == \"payment\" and (.body | contains(\"1500.00 EUR\"))'"
CONV=$(sql "select gen_random_uuid()")
publish_on chat-events chat.message_sent "$CONV" "{\"sender_id\":\"$TN_ID\",\"recipient_id\":\"$LL_ID\",\"preview\":\"online hello\",\"recipient_online\":true}"
publish_on chat-events chat.message_sent "$CONV" "{\"sender_id\":\"$TN_ID\",\"recipient_id\":\"$LL_ID\",\"preview\":\"is it free?\",\"recipient_online\":false}"
check "a chat message to an offline member is a notification" until_eq 50 1 cnt "$LL" chat.message_sent
check "...the one sent while offline, not the one while online" sh -c "curl -s -H '$(A "$LL")' '$BASE/v1/notifications?limit=1' | jq -e '.items[0].body == \"is it free?\"'"
publish_on property-events property.unpublished "$PID" "{\"id\":\"$PID\",\"owner_id\":\"$L2_ID\",\"title\":\"Sunny loft\",\"status\":\"draft\"}"
check "unpublishing tells the tenant holding a future stay" until_eq 50 1 cnt "$TN" property.unpublished
check "...with the listing's title" sh -c "curl -s -H '$(A "$TN")' '$BASE/v1/notifications?limit=1' | jq -e '.items[0] | .category == \"listing\" and .title == \"Sunny loft was unpublished\"'"
expect_eq "...and nobody else" "$(sql "select count(*) from notify.notifications n join rentezy.outbox o on o.id = n.event_id where o.subject = '$PID' and o.type = 'property.unpublished'")" 1

expect_eq "delete the webhook: 204" "$(status DELETE "$BASE/v1/webhooks/$BAD_HOOK" -H "$(A "$L2")")" 204
expect_eq "...then it is 404" "$(status GET "$BASE/v1/webhooks/$BAD_HOOK" -H "$(A "$L2")")" 404
finish
