#!/usr/bin/env bash
# The visit plugin over real HTTP against the real database: landlords
# publish viewing slots for their listings, tenants ask for them, a slot
# never goes to two tenants (also with 40 asking at once), the landlord
# confirms or declines (with a reason), either side cancels (with a
# reason), both lists page with ?limit= and ?cursor=, and reminders 24 h
# and 1 h before are published as visit.reminder (host clock moved forward).
# As in 70_booking.sh, while the host has no bus the test delivers the
# property events through the SQL function the handler calls.
. "$(dirname "$0")/../lib.sh"

STORM="$TOP/$BUILD/tests/tools/book_storm"
[ -x "$STORM" ] || { echo "missing $STORM (make $BUILD/tests/tools/book_storm)"; exit 1; }
head -c 48 /dev/urandom | base64 -w0 > "$T/secret"
PLUGINS="auth property visit" rz_conf "$T/c" \
    "[auth]" "jwt_secret_file = $T/secret" \
    "[plugin.auth]" "jwt_secret_file = $T/secret" "opslimit = 1" "memlimit = 8KiB" "access_ttl = 24h" \
    "[ratelimit]" "auth = off" \
    "[jobs]" "poll_interval = 100ms" \
    "[plugin.property]" "media_dir = $T/media"
rz_start "$T/c" || exit 1

sql() { psql "$PGURL" -XAtq -c "$1"; }
NOBUS=0
grep -q "this host has no event bus" "$T/daemon.log" && NOBUS=1
wait_until() { # SECONDS CMD...
    local deadline=$(( $(date +%s%N) / 1000000 + $1 * 1000 )); shift
    while ! "$@" >/dev/null 2>&1; do
        [ "$(( $(date +%s%N) / 1000000 ))" -lt "$deadline" ] || return 1
        sleep 0.05
    done
}
sql_is() { [ "$(sql "$1")" = "$2" ]; }
U="v$$-$RANDOM"
PW="correct horse 1"
register() { curl -s -o /dev/null -d "{\"email\":\"$2-$U@example.com\",\"password\":\"$PW\",\"name\":\"$2\",\"role\":\"$1\"}" "$BASE/v1/auth/register"; }
token() { curl -s -d "{\"email\":\"$1-$U@example.com\",\"password\":\"$PW\"}" "$BASE/v1/auth/login" | jq -r .access_token; }
relogin() { LL=$(token lou); L2=$(token max); TN=$(token tia); T2=$(token tom); }
for who in "landlord lou" "landlord max" "tenant tia" "tenant tom"; do register $who; done
relogin
[ "${#LL}" -gt 20 ] && [ "${#TN}" -gt 20 ] || { echo "FAIL could not log in through the auth plugin"; exit 1; }
A() { echo "Authorization: Bearer $1"; }
J='Content-Type: application/json'
host_now() { curl -s -H "$J" -d '{"advance_ms":0}' "$BASE/v1/_test/clock" | jq -r .now_ms; }
advance() { curl -s -o /dev/null -H "$J" -d "{\"advance_ms\":$1}" "$BASE/v1/_test/clock"; relogin; }
at() { date -u -d "@$(( $(host_now) / 1000 / 60 * 60 + $1 ))" +%FT%TZ; } # host now + N s, whole minutes

P=$(curl -s -H "$(A "$LL")" -H "$J" "$BASE/v1/properties" -d '{"title":"Loft","property_type":"loft",
  "address":{"street":"Hauptstr. 1","city":"Berlin","country":"DE"},"location":{"lat":52.5,"lon":13.4},
  "bedrooms":1,"beds":1,"bathrooms":1,"max_guests":2,"monthly_rent":{"amount":120000,"currency":"EUR"}}' | jq -r .id)
curl -s -o /dev/null -X POST -H "$(A "$LL")" "$BASE/v1/properties/$P/publish"
V=$(sql "select max(version) from rentezy.outbox where topic = 'property-events' and subject = '$P'")
[ "$NOBUS" = 1 ] && sql "select visit.apply_listing(subject::uuid, version, data) from rentezy.outbox
    where topic = 'property-events' and subject = '$P' order by seq" >/dev/null
wait_until 10 sql_is "select version >= $V and status = 'published' from visit.listings where id = '$P'" t ||
    { echo "FAIL the listing did not reach visit's read model"; exit 1; }

slot() { # TOKEN START END
    status POST "$BASE/v1/properties/$P/slots" -H "$(A "$1")" -H "$J" -d "{\"starts_at\":\"$2\",\"ends_at\":\"$3\"}"
}
# ---- slots ----------------------------------------------------------------------------------
S0=$(at $((48 * 3600))); S1=$(at $((48 * 3600 + 1800)))
expect_eq "a tenant cannot publish slots: 403" "$(slot "$TN" "$S0" "$S1")" 403
expect_eq "another landlord's listing: 404" "$(slot "$L2" "$S0" "$S1")" 404
expect_eq "a malformed time is 400" "$(slot "$LL" "tomorrow" "$S1")" 400
check "...naming it" jq -e '.error.code == "invalid_time" and .error.field == "starts_at"' "$T/body"
expect_eq "ends before it starts: 400" "$(slot "$LL" "$S1" "$S0")" 400
expect_eq "in the past: 400" "$(slot "$LL" "$(at -7200)" "$(at -3600)")" 400
expect_eq "ten hours long: 400" "$(slot "$LL" "$S0" "$(at $((58 * 3600)))")" 400
expect_eq "the landlord publishes a slot 48 h ahead" "$(slot "$LL" "$S0" "$S1")" 201
SL=$(jq -r .id "$T/body")
check "...available" jq -e --arg s "$S0" '.starts_at == $s and .available == true' "$T/body"
expect_eq "an overlapping slot of the same landlord is 409" "$(slot "$LL" "$(at $((48 * 3600 + 600)))" "$(at $((48 * 3600 + 2400)))")" 409
check "...slot_overlap" jq -e '.error.code == "slot_overlap"' "$T/body"
expect_eq "a second slot right after it" "$(slot "$LL" "$S1" "$(at $((48 * 3600 + 3600)))")" 201
SL2=$(jq -r .id "$T/body")
expect_eq "anyone lists the slots" "$(status GET "$BASE/v1/properties/$P/slots")" 200
check "...both, in order" jq -e --arg a "$SL" --arg b "$SL2" '[.items[].id] == [$a, $b] and .next_cursor == null' "$T/body"
expect_eq "a third slot, the day after" "$(slot "$LL" "$(at $((72 * 3600)))" "$(at $((72 * 3600 + 1800)))")" 201
SL3=$(jq -r .id "$T/body")
# walk a list one item per page: prints the ids, fails on a bad page
walk() { # URL [TOKEN]
    local url=$1 sep="?" cursor="" n=0 auth=()
    case "$url" in *\?*) sep="&" ;; esac
    [ -z "${2:-}" ] || auth=(-H "$(A "$2")")
    while :; do
        status GET "$url${sep}limit=1${cursor:+&cursor=$cursor}" "${auth[@]}" >/dev/null
        jq -e '(.items | length) == 1' "$T/body" >/dev/null || return 1
        jq -r '.items[0].id' "$T/body"
        cursor=$(jq -r '.next_cursor // empty' "$T/body")
        [ -n "$cursor" ] || return 0
        n=$((n + 1)); [ "$n" -lt 50 ] || return 1
    done
}
expect_eq "the slots one per page, in order, then next_cursor null" \
    "$(walk "$BASE/v1/properties/$P/slots" | paste -sd,)" "$SL,$SL2,$SL3"
expect_eq "limit=2 gives two and a cursor" "$(status GET "$BASE/v1/properties/$P/slots?limit=2")" 200
check "...the first two" jq -e --arg a "$SL" --arg b "$SL2" '[.items[].id] == [$a, $b] and (.next_cursor | type) == "string"' "$T/body"
for q in "limit=0" "limit=101" "limit=x" "cursor=zz" "cursor=1.nope"; do
    expect_eq "slots with $q: 400" "$(status GET "$BASE/v1/properties/$P/slots?$q")" 400
    check "...naming ${q%%=*}" jq -e --arg f "${q%%=*}" '.error.code == "invalid" and .error.field == $f' "$T/body"
done

# ---- one tenant per slot ----------------------------------------------------------------------
ask() { status POST "$BASE/v1/slots/$2/visits" -H "$(A "$1")"; }
expect_eq "a landlord cannot ask for a visit: 403" "$(ask "$L2" "$SL")" 403
expect_eq "a tenant asks for the slot: 201" "$(ask "$TN" "$SL")" 201
VI=$(jq -r .id "$T/body")
check "...requested" jq -e '.status == "requested"' "$T/body"
check "visit.requested is published" sql_is "select count(*) from rentezy.outbox where topic = 'visit-events' and subject = '$VI' and type = 'visit.requested'" 1
expect_eq "another tenant asks for it: 409" "$(ask "$T2" "$SL")" 409
check "...slot_taken" jq -e '.error.code == "slot_taken"' "$T/body"
expect_eq "the slot shows as taken" "$(status GET "$BASE/v1/properties/$P/slots")" 200
check "...available false" jq -e --arg a "$SL" '.items[] | select(.id == $a) | .available == false' "$T/body"
for i in $(seq 1 40); do register tenant "c$i"; printf '%s\tPOST\t/v1/slots/%s/visits\t\n' "$(token "c$i")" "$SL2"; done > "$T/plan"
"$STORM" storm "$PORT" "$T/plan" > "$T/storm"
expect_eq "40 tenants ask for one slot at once: one gets it" "$(awk -F'\t' '$2 == 201' "$T/storm" | wc -l)" 1
expect_eq "...39 are told slot_taken" "$(awk -F'\t' '$2 == 409 && $4 ~ /slot_taken/' "$T/storm" | wc -l)" 39
check "SQL: no slot has two live visits" sql_is "select count(*) from (select slot_id from visit.visits
    where status in ('requested', 'confirmed') group by slot_id having count(*) > 1) x" 0

# ---- who sees and answers -------------------------------------------------------------------------
expect_eq "the tenant reads the visit" "$(status GET "$BASE/v1/visits/$VI" -H "$(A "$TN")")" 200
expect_eq "the landlord reads it" "$(status GET "$BASE/v1/visits/$VI" -H "$(A "$LL")")" 200
expect_eq "another tenant: 404" "$(status GET "$BASE/v1/visits/$VI" -H "$(A "$T2")")" 404
expect_eq "another tenant cannot cancel it: 404" "$(status POST "$BASE/v1/visits/$VI/cancel" -H "$(A "$T2")")" 404
expect_eq "the tenant lists their visits" "$(status GET "$BASE/v1/visits" -H "$(A "$TN")")" 200
check "...this one" jq -e --arg v "$VI" '[.items[].id] == [$v] and .next_cursor == null' "$T/body"
expect_eq "the landlord lists theirs" "$(status GET "$BASE/v1/visits" -H "$(A "$LL")")" 200
ALL=$(jq -r '[.items[].id] | join(",")' "$T/body")
check "...two, newest first" jq -e --arg v "$VI" '(.items | length) == 2 and .items[1].id == $v' "$T/body"
expect_eq "...the same one per page" "$(walk "$BASE/v1/visits" "$LL" | paste -sd,)" "$ALL"
expect_eq "visits with limit=500: 400" "$(status GET "$BASE/v1/visits?limit=500" -H "$(A "$LL")")" 400
expect_eq "visits with a bad cursor: 400" "$(status GET "$BASE/v1/visits?cursor=abc" -H "$(A "$LL")")" 400
expect_eq "a tenant cannot confirm: 403" "$(status POST "$BASE/v1/visits/$VI/confirm" -H "$(A "$TN")")" 403
expect_eq "another landlord cannot: 404" "$(status POST "$BASE/v1/visits/$VI/confirm" -H "$(A "$L2")")" 404
expect_eq "a confirmation takes no reason: 400" \
    "$(status POST "$BASE/v1/visits/$VI/confirm" -H "$(A "$LL")" -H "$J" -d '{"reason":"x"}')" 400
check "...unknown_field" jq -e '.error.code == "unknown_field" and .error.field == "reason"' "$T/body"
expect_eq "the landlord confirms" "$(status POST "$BASE/v1/visits/$VI/confirm" -H "$(A "$LL")")" 200
check "...confirmed" jq -e '.status == "confirmed"' "$T/body"
check "two reminders are scheduled: 24 h and 1 h before" \
    sql_is "select string_agg(payload->>'before', ',' order by run_at) from rentezy.jobs
            where plugin = 'visit' and payload->>'visit_id' = '$VI'" "24h,1h"
expect_eq "confirming twice is 409" "$(status POST "$BASE/v1/visits/$VI/confirm" -H "$(A "$LL")")" 409

# ---- reminders ----------------------------------------------------------------------------------------
reminders() { sql "select string_agg(data->>'before', ',' order by seq) from rentezy.outbox where subject = '$VI' and type = 'visit.reminder'"; }
advance $((24 * 3600 * 1000 + 60000))
check "24 h before: visit.reminder (before 24h)" wait_until 10 sh -c "[ \"\$(psql '$PGURL' -XAtq -c \"select string_agg(data->>'before', ',' order by seq) from rentezy.outbox where subject = '$VI' and type = 'visit.reminder'\")\" = 24h ]"
advance $((23 * 3600 * 1000))
check "1 h before: visit.reminder (before 1h)" wait_until 10 sh -c "[ \"\$(psql '$PGURL' -XAtq -c \"select string_agg(data->>'before', ',' order by seq) from rentezy.outbox where subject = '$VI' and type = 'visit.reminder'\")\" = 24h,1h ]"
check "the reminder carries the parties and the time" \
    sql_is "select data->>'tenant_id' is not null and data->>'starts_at' = '$S0' from rentezy.outbox where subject = '$VI' and type = 'visit.reminder' limit 1" t

# ---- cancel, decline -----------------------------------------------------------------------------------
WINNER=$(awk -F'\t' '$2 == 201 {print $4}' "$T/storm" | jq -r .id)
expect_eq "the landlord declines the other slot's request with a reason" \
    "$(status POST "$BASE/v1/visits/$WINNER/decline" -H "$(A "$LL")" -H "$J" -d '{"reason":"The flat is let"}')" 200
check "...declined with the reason" jq -e '.status == "declined" and .reason == "The flat is let"' "$T/body"
check "...visit.declined published with it" sql_is "select data->>'reason' from rentezy.outbox where subject = '$WINNER' and type = 'visit.declined'" "The flat is let"
expect_eq "the slot is free again: another tenant gets it" "$(ask "$T2" "$SL2")" 201
V2=$(jq -r .id "$T/body")
expect_eq "a reason of 501 characters: 400" \
    "$(status POST "$BASE/v1/visits/$V2/cancel" -H "$(A "$T2")" -H "$J" -d "{\"reason\":\"$(printf 'ß%.0s' $(seq 1 501))\"}")" 400
check "...naming reason" jq -e '.error.code == "invalid" and .error.field == "reason"' "$T/body"
expect_eq "a reason that is not text: 400" "$(status POST "$BASE/v1/visits/$V2/cancel" -H "$(A "$T2")" -H "$J" -d '{"reason":["x"]}')" 400
expect_eq "an unknown field: 400" "$(status POST "$BASE/v1/visits/$V2/cancel" -H "$(A "$T2")" -H "$J" -d '{"why":"x"}')" 400
expect_eq "the tenant cancels with a reason of 500 characters" \
    "$(status POST "$BASE/v1/visits/$V2/cancel" -H "$(A "$T2")" -H "$J" -d "{\"reason\":\"$(printf 'ß%.0s' $(seq 1 500))\"}")" 200
check "...cancelled by the tenant, the reason returned" \
    jq -e '.status == "cancelled" and .cancelled_by == "tenant" and (.reason | length) == 500' "$T/body"
expect_eq "...and read back" "$(status GET "$BASE/v1/visits/$V2" -H "$(A "$LL")")" 200
check "...by the landlord" jq -e '(.reason | length) == 500' "$T/body"
check "...visit.cancelled carries it" \
    sql_is "select char_length(data->>'reason') from rentezy.outbox where subject = '$V2' and type = 'visit.cancelled'" 500
expect_eq "the landlord cancels the confirmed visit" "$(status POST "$BASE/v1/visits/$VI/cancel" -H "$(A "$LL")")" 200
check "...cancelled by the landlord, visit.cancelled published (no reason given: null)" \
    sql_is "select (data->>'cancelled_by') || ' ' || (data->'reason' = 'null'::jsonb) from rentezy.outbox where subject = '$VI' and type = 'visit.cancelled'" "landlord true"
expect_eq "cancelling twice is 409" "$(status POST "$BASE/v1/visits/$VI/cancel" -H "$(A "$LL")")" 409
finish
