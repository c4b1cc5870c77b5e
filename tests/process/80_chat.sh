#!/usr/bin/env bash
# The chat plugin (issue 11): two rentezyd processes share the database; a
# tenant and a landlord (real tokens from the auth plugin) connected to
# different processes exchange messages (tests/ws/chat.js: acks, order,
# duplicates, a gap recovered by resume, receipts, typing, presence, a
# stranger, malformed, oversized, flooding), then REST: conversations,
# history, the fallback send, strangers, and chat.message_sent in the
# outbox.  No worker may die along the way.
. "$(dirname "$0")/../lib.sh"

head -c 48 /dev/urandom | base64 -w0 >"$T/secret"
export PLUGINS="auth property chat"
declare -a PORTS BASES DPIDS
for i in 1 2; do
    PORT=$(free_port); BASE="http://127.0.0.1:$PORT"
    PORTS[$i]=$PORT; BASES[$i]=$BASE
    rz_conf "$T/c$i" \
        "[auth]" "jwt_secret_file = $T/secret" \
        "[plugin.auth]" "jwt_secret_file = $T/secret" "opslimit = 1" "memlimit = 8KiB" "access_ttl = 1h" \
        "[ratelimit]" "auth = off" \
        "[plugin.property]" "media_dir = $T/media" \
        "[plugin.chat]" "max_message_size = 4KiB" "rate = 10" "burst = 20" "presence_ttl = 3s"
    rz_start "$T/c$i" || exit 1
    DPIDS[$i]=$RZ_PID
done
B1=${BASES[1]}; B2=${BASES[2]}
wpids() { for i in 1 2; do pgrep -P "$(pgrep -f "rentezyd -c $T/c$i" | head -n 1)"; done | sort | tr '\n' ' '; }
WPIDS=$(wpids)

U="c$$-$RANDOM" # the database outlives the test: unique e-mails
PW="correct horse 1"
login() { # ROLE NAME -> "token user-id"
    curl -s -o /dev/null -d "{\"email\":\"$2-$U@example.com\",\"password\":\"$PW\",\"name\":\"$2\",\"role\":\"$1\"}" \
        "$B1/v1/auth/register"
    local at
    at=$(curl -s -d "{\"email\":\"$2-$U@example.com\",\"password\":\"$PW\"}" "$B1/v1/auth/login" | jq -r .access_token)
    echo "$at $(curl -s -H "Authorization: Bearer $at" "$B1/v1/me" | jq -r .id)"
}
read -r LL LL_ID <<<"$(login landlord lou)"
read -r TN TN_ID <<<"$(login tenant tia)"
read -r ST ST_ID <<<"$(login tenant sam)"
[ "${#LL}" -gt 20 ] && [ "${#TN}" -gt 20 ] && [ "${#ST}" -gt 20 ] ||
    { echo "FAIL could not log in through the auth plugin"; exit 1; }
A() { echo "Authorization: Bearer $1"; }
J='Content-Type: application/json'
sql() { psql "$PGURL" -XAtq -c "$1"; }

# a published listing of lou's
status POST "$B1/v1/properties" -H "$(A "$LL")" -H "$J" -d '{"title":"Loft","property_type":"loft",
 "address":{"street":"Hauptstr. 1","city":"Berlin","postal_code":"10115","country":"DE"},
 "location":{"lat":52.52,"lon":13.405},"bedrooms":1,"beds":1,"bathrooms":1,"max_guests":2,
 "nightly_price":{"amount":9000,"currency":"EUR"}}' >/dev/null
PID=$(jq -r .id "$T/body")
expect_eq "the landlord publishes a listing" "$(status POST "$B1/v1/properties/$PID/publish" -H "$(A "$LL")")" 200

echo "# REST: conversations"
C=$B2/v1/chat/conversations
expect_eq "a landlord cannot start one: 403" \
    "$(status POST "$C" -H "$(A "$LL")" -H "$J" -d "{\"property_id\":\"$PID\"}")" 403
expect_eq "anonymous: 401" "$(status POST "$C" -H "$J" -d "{\"property_id\":\"$PID\"}")" 401
expect_eq "no property_id: 400" "$(status POST "$C" -H "$(A "$TN")" -H "$J" -d '{}')" 400
check "...naming the field" jq -e '.error.field == "property_id" and .error.code == "missing"' "$T/body"
expect_eq "an unknown listing: 404" \
    "$(status POST "$C" -H "$(A "$TN")" -H "$J" -d '{"property_id":"00000000-0000-4000-8000-000000000000"}')" 404
# the read model follows property-events asynchronously
for _ in $(seq 1 100); do
    s=$(status POST "$C" -H "$(A "$TN")" -H "$J" -d "{\"property_id\":\"$PID\"}")
    [ "$s" = 201 ] && break; sleep 0.1
done
expect_eq "the tenant starts a conversation with the listing's landlord (read model): 201" "$s" 201
CONV=$(jq -r .id "$T/body")
check "...between the tenant and the owner, nothing read yet" jq -e --arg t "$TN_ID" --arg l "$LL_ID" \
    '.tenant_id == $t and .landlord_id == $l and .last_seq == 0 and .unread == 0 and .last_message == null' "$T/body"
expect_eq "asking again answers the same one: 200" \
    "$(status POST "$C" -H "$(A "$TN")" -H "$J" -d "{\"property_id\":\"$PID\"}")" 200
expect_eq "...same id" "$(jq -r .id "$T/body")" "$CONV"

echo "# WebSocket: two processes"
timeout 50 node "$TOP/tests/ws/chat.js" "${PORTS[1]}" "${PORTS[2]}" "$TN" "$TN_ID" "$LL" "$LL_ID" \
    "$ST" "$CONV" >"$T/chat.out" 2>&1
rc=$?
cat "$T/chat.out"
FAILS=$((FAILS + $(grep -c '^FAIL' "$T/chat.out")))
expect_eq "chat.js finished" "$rc" 0

echo "# REST: history and the fallback"
M=$B1/v1/chat/conversations/$CONV/messages
expect_eq "a member reads the history" "$(status GET "$M?limit=5" -H "$(A "$LL")")" 200
LAST=$(sql "select last_seq from chat.conversations where id = '$CONV'")
check "newest first, five, with a cursor" jq -e --argjson n "$LAST" \
    '(.items | length) == 5 and .items[0].seq == $n and .items[4].seq == $n - 4 and .next_cursor == ($n - 4 | tostring)' "$T/body"
expect_eq "the next page" "$(status GET "$M?limit=5&before=$((LAST - 4))" -H "$(A "$LL")")" 200
check "...continues without a gap" jq -e --argjson n "$LAST" '.items[0].seq == $n - 5' "$T/body"
expect_eq "the first page of everything ends" "$(status GET "$M?limit=100" -H "$(A "$TN")")" 200
check "...with next_cursor null and seqs 1..n without gaps" jq -e --argjson n "$LAST" \
    '.next_cursor == null and ([.items[].seq] == [range($n; 0; -1)])' "$T/body"
expect_eq "seqs in the database have no gaps and no duplicates" \
    "$(sql "select count(*) = max(seq) and count(distinct client_msg_id) = count(*) from chat.messages where conversation_id = '$CONV'")" t
expect_eq "a stranger reads nothing: 404" "$(status GET "$M" -H "$(A "$ST")")" 404
expect_eq "a stranger cannot post: 404" \
    "$(status POST "$M" -H "$(A "$ST")" -H "$J" -d '{"body":"hi"}')" 404
expect_eq "a bad limit: 400" "$(status GET "$M?limit=0" -H "$(A "$TN")")" 400
expect_eq "a conversation id that is no UUID: 404" \
    "$(status GET "$B1/v1/chat/conversations/nope/messages" -H "$(A "$TN")")" 404
expect_eq "the fallback send: 201" \
    "$(status POST "$M" -H "$(A "$LL")" -H "$J" -d '{"body":"via REST","client_msg_id":"r1"}')" 201
check "...stored with the next seq" jq -e --argjson n "$LAST" '.seq == $n + 1 and .body == "via REST"' "$T/body"
expect_eq "...resent: 200, the same message" \
    "$(status POST "$M" -H "$(A "$LL")" -H "$J" -d '{"body":"via REST","client_msg_id":"r1"}')" 200
check "...same seq" jq -e --argjson n "$LAST" '.seq == $n + 1' "$T/body"
expect_eq "an oversized body: 413" \
    "$(status POST "$M" -H "$(A "$LL")" -H "$J" -d "{\"body\":\"$(head -c 5000 /dev/zero | tr '\0' x)\"}")" 413
expect_eq "the tenant lists conversations" "$(status GET "$C" -H "$(A "$TN")")" 200
check "...with the last message and the unread count" jq -e --arg id "$CONV" \
    '.items[0].id == $id and .items[0].last_message.body == "via REST" and .items[0].unread >= 1 and .next_cursor == null' "$T/body"
expect_eq "the stranger has none" "$(status GET "$C" -H "$(A "$ST")")" 200
check "...an empty list" jq -e '.items == [] and .next_cursor == null' "$T/body"
expect_eq "chat.message_sent is in the outbox for every stored message" \
    "$(sql "select count(*) from rentezy.outbox where topic = 'chat-events' and type = 'chat.message_sent' and subject = '$CONV'")" \
    "$((LAST + 1))"
ev() { sql "select data from rentezy.outbox where topic = 'chat-events' and subject = '$CONV' and version = $1"; }
check "...naming the recipient, without the body" jq -e --arg l "$LL_ID" \
    '.recipient_id == $l and (has("body") | not) and .preview == "hello 1" and .seq == 1' <<<"$(ev 1)"
check "...saying whether the recipient was online (the landlord's reply: yes)" \
    jq -e --arg t "$TN_ID" '.recipient_id == $t and .recipient_online == true' <<<"$(ev 11)"
check "...(a message while the landlord was away: no)" jq -e '.recipient_online == false' <<<"$(ev 12)"
check "openapi documents the routes" sh -c "curl -fsS '$B1/openapi.json' | jq -e '.paths[\"/v1/chat/conversations/{id}/messages\"].post'"
expect_eq "no worker died" "$(wpids)" "$WPIDS"

echo "# presence when a process dies (presence_ttl = 3s), the survivor's client silent"
node "$TOP/tests/ws/chat_presence.js" "${PORTS[1]}" "${PORTS[2]}" "$TN" "$LL" "$LL_ID" 10000 silent >"$T/pres.out" 2>&1 &
NP=$!
for _ in $(seq 1 100); do grep -q ready "$T/pres.out" && break; sleep 0.1; done
W2=$(pgrep -P "${DPIDS[2]}")
{ kill -KILL "${DPIDS[2]}" $W2; wait "${DPIDS[2]}"; } 2>/dev/null
wait $NP; rc=$?
grep -v '^ready' "$T/pres.out"
FAILS=$((FAILS + $(grep -c '^FAIL' "$T/pres.out")))
expect_eq "chat_presence.js finished" "$rc" 0
kill -TERM "${DPIDS[1]}"
wait "${DPIDS[1]}"; expect_eq "the surviving daemon stops cleanly" "$?" 0
check "no sanitizer report" sh -c "! grep -E 'Sanitizer|runtime error' '$T/daemon.log'"
finish
