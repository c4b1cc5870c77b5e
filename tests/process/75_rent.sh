#!/usr/bin/env bash
# The rent plugin over real HTTP against the real database, with the auth
# plugin's tokens:
#   bad input (amounts, currency, due day, dates, someone else's lease);
#   the sandbox provider's webhooks (bad signature, old timestamp, replay);
#   payments (API, idempotency key, no double charge, recovery after the
#   process died between the provider's answer and the commit);
#   N leases (RENT_LEASES, default 100) over 13 months of host clock with good,
#   declining, insufficient-funds, flaky, asynchronous and manual payers:
#   every charge once, reminders once, late fees exactly where due, retries
#   on days 1, 3 and 5, no double charge, every ledger balanced.
. "$(dirname "$0")/../lib.sh"

NLEASES=${RENT_LEASES:-100}
head -c 48 /dev/urandom | base64 -w0 > "$T/secret"
PLUGINS="auth rent" rz_conf "$T/c" \
    "[auth]" "jwt_secret_file = $T/secret" \
    "[plugin.auth]" "jwt_secret_file = $T/secret" "opslimit = 1" "memlimit = 8KiB" "access_ttl = 24h" \
    "[ratelimit]" "auth = off" \
    "[jobs]" "poll_interval = 10ms" "backoff_base = 100ms" "backoff_max = 1s" \
    "[plugin.rent]" "sandbox_webhook_url = $BASE/v1/payments/webhooks/sandbox" \
    "run_cron = 0 0 * * *" "charge_lead_days = 7" "sandbox_confirm_delay = 1s" \
    "payment_recovery = 60s"
# The database outlives the test: jobs left by an earlier run (recovery and
# webhook jobs aimed at a daemon and port that are gone) would keep failing
# and retrying in this run.  The schedule itself needs no cleaning: the host
# resets a schedule whose next_run lies beyond the clock (jobs_sched.c).
psql "$PGURL" -XAtq -c "delete from rentezy.jobs where plugin = 'rent'" 2>/dev/null
# A configured secret shorter than 16 bytes stops the start.
cp -r "$T/c" "$T/short" && echo 'sandbox_webhook_secret = too-short' >> "$T/short/00-test.conf"
"$RZD" -c "$T/short" >"$T/short.log" 2>&1 & SP=$!
for _ in $(seq 1 100); do kill -0 $SP 2>/dev/null || break; sleep 0.1; done
kill -KILL $SP 2>/dev/null; wait $SP 2>/dev/null
expect_eq "a sandbox_webhook_secret under 16 bytes is refused" "$(grep -c 'sandbox_webhook_secret: expected at least 16 bytes' "$T/short.log")" 1
rz_start "$T/c" || exit 1

sql() { psql "$PGURL" -XAtq -c "$1"; }
# No secret configured (as shipped): one was generated once and kept.
for _ in $(seq 1 100); do
    WHSECRET=$(sql "select value from rent.settings where name = 'sandbox_webhook_secret'")
    [ -n "$WHSECRET" ] && break; sleep 0.05
done
expect_eq "the webhook secret was generated and stored (64 hex digits)" "$(printf %s "$WHSECRET" | grep -cE '^[0-9a-f]{64}$')" 1
U="r$$-$RANDOM"
PW="correct horse 1"
register() { curl -s -o /dev/null -d "{\"email\":\"$2-$U@example.com\",\"password\":\"$PW\",\"name\":\"$2\",\"role\":\"$1\"}" "$BASE/v1/auth/register"; }
token() { curl -s -d "{\"email\":\"$1-$U@example.com\",\"password\":\"$PW\"}" "$BASE/v1/auth/login" | jq -r .access_token; }
me() { curl -s -H "Authorization: Bearer $1" "$BASE/v1/me" | jq -r .id; }
A() { echo "Authorization: Bearer $1"; }
J='Content-Type: application/json'
call() { curl -s -o "$T/body" -w '%{http_code}' "$@"; }
host_now() { curl -s -H "$J" -d '{"advance_ms":0}' "$BASE/v1/_test/clock" | jq -r .now_ms; }
today() { date -u -d "@$(( $(host_now) / 1000 ))" +%F; }

PEOPLE="lou max tia tom ted tim tam tor"
for who in "landlord lou" "landlord max" "tenant tia" "tenant tom" "tenant ted" "tenant tim" "tenant tam" "tenant tor"; do register $who; done
declare -A TOK ID
relogin() { for n in $PEOPLE; do TOK[$n]=$(token $n); done; }
relogin
for n in $PEOPLE; do ID[$n]=$(me "${TOK[$n]}"); done
[ "${#TOK[lou]}" -gt 20 ] && [ "${#TOK[tia]}" -gt 20 ] || { echo "FAIL could not log in"; exit 1; }
PROP=$(cat /proc/sys/kernel/random/uuid)   # every lease of this run: the tag to end them by
# The database outlives the test: its leases must not stay active for the
# daily runs of later tests and benchmarks.
trap 'psql "$PGURL" -XAtq -c "update rent.leases set status = '"'terminated'"' where property_id = '"'$PROP'"'" >/dev/null 2>&1; cleanup' EXIT

lease_json() { # TENANT-ID AMOUNT CURRENCY START DUE [extra json]
    echo "{\"tenant_id\":\"$1\",\"property_id\":\"$PROP\",\"monthly_rent\":{\"amount\":$2,\"currency\":\"$3\"},
      \"start_date\":\"$4\",\"due_day\":$5,\"grace_days\":3,\"reminder_days\":3,
      \"late_fee\":{\"type\":\"fixed\",\"amount\":2500},\"time_zone\":\"Europe/Berlin\"${6:-}}"
}
new_lease() { # LANDLORD BODY -> status; body in $T/body
    call -H "$(A "${TOK[$1]}")" -H "$J" -d "$2" "$BASE/v1/leases"
}

# ---- bad input --------------------------------------------------------------------------
START=$(date -u -d "$(today) +1 month" +%Y-%m-01)
bad_input() { # NAME WANT-STATUS WANT-FIELD BODY
    local s f; s=$(new_lease lou "$4"); f=$(jq -r '.error.field // ""' "$T/body")
    expect_eq "$1 -> $2 $3" "$s $f" "$2 $3"
}
bad_input "negative rent" 400 monthly_rent.amount "$(lease_json "${ID[tia]}" -100 EUR "$START" 1)"
bad_input "zero rent" 400 monthly_rent.amount "$(lease_json "${ID[tia]}" 0 EUR "$START" 1)"
bad_input "fractional rent" 400 monthly_rent.amount "$(lease_json "${ID[tia]}" 10.5 EUR "$START" 1)"
bad_input "unknown currency" 400 monthly_rent.currency "$(lease_json "${ID[tia]}" 100000 XXX "$START" 1)"
bad_input "due day 31" 400 due_day "$(lease_json "${ID[tia]}" 100000 EUR "$START" 31)"
bad_input "due day 0" 400 due_day "$(lease_json "${ID[tia]}" 100000 EUR "$START" 0)"
bad_input "end before start" 400 end_date "$(lease_json "${ID[tia]}" 100000 EUR "$START" 1 ",\"end_date\":\"2020-01-01\"")"
bad_input "31 February" 400 start_date "$(lease_json "${ID[tia]}" 100000 EUR "2027-02-31" 1)"
bad_input "unknown time zone" 400 time_zone "$(lease_json "${ID[tia]}" 100000 EUR "$START" 1 | sed 's#Europe/Berlin#Mars/Olympus#')"
bad_input "negative late fee" 400 late_fee.amount "$(lease_json "${ID[tia]}" 100000 EUR "$START" 1 | sed 's/"amount":2500/"amount":-5/')"
bad_input "unknown field" 400 color "$(lease_json "${ID[tia]}" 100000 EUR "$START" 1 ",\"color\":1")"
expect_eq "a tenant cannot propose a lease" "$(call -H "$(A "${TOK[tia]}")" -H "$J" -d "$(lease_json "${ID[tom]}" 100 EUR "$START" 1)" "$BASE/v1/leases")" 403
expect_eq "a lease needs a token" "$(call -H "$J" -d "$(lease_json "${ID[tom]}" 100 EUR "$START" 1)" "$BASE/v1/leases")" 401

# ---- someone else's lease ------------------------------------------------------------------
s=$(new_lease lou "$(lease_json "${ID[tia]}" 120000 EUR "$START" 1)")
expect_eq "a landlord proposes a lease -> 201" "$s" 201
L0=$(jq -r .id "$T/body")
expect_eq "the landlord reads it" "$(call -H "$(A "${TOK[lou]}")" "$BASE/v1/leases/$L0")" 200
expect_eq "rent.lease_offered was published once, naming the tenant" \
    "$(sql "select count(*) from rentezy.outbox where topic = 'rent-events' and subject = '$L0' and type = 'rent.lease_offered' and version = 1 and data->>'tenant_id' = '${ID[tia]}'")" 1
expect_eq "the tenant finds it in GET /v1/leases" \
    "$(call -H "$(A "${TOK[tia]}")" "$BASE/v1/leases?status=proposed&limit=100") $(jq -r --arg l "$L0" '[.items[].id] | index($l) != null' "$T/body")" "200 true"
expect_eq "...and so does its landlord" \
    "$(call -H "$(A "${TOK[lou]}")" "$BASE/v1/leases?limit=1") $(jq -r '.items[0].id' "$T/body")" "200 $L0"
expect_eq "another landlord does not" \
    "$(call -H "$(A "${TOK[max]}")" "$BASE/v1/leases?limit=100") $(jq -r --arg l "$L0" '[.items[].id] | index($l) == null' "$T/body")" "200 true"
expect_eq "a bad status -> 400 status" "$(call -H "$(A "${TOK[tia]}")" "$BASE/v1/leases?status=maybe") $(jq -r .error.field "$T/body")" "400 status"
expect_eq "a bad limit -> 400 limit" "$(call -H "$(A "${TOK[tia]}")" "$BASE/v1/leases?limit=0") $(jq -r .error.field "$T/body")" "400 limit"
expect_eq "a forged cursor -> 400 cursor" "$(call -H "$(A "${TOK[tia]}")" "$BASE/v1/leases?cursor=x.y") $(jq -r .error.field "$T/body")" "400 cursor"
expect_eq "another landlord cannot read it -> 404" "$(call -H "$(A "${TOK[max]}")" "$BASE/v1/leases/$L0")" 404
expect_eq "another tenant cannot read its ledger -> 404" "$(call -H "$(A "${TOK[tom]}")" "$BASE/v1/leases/$L0/ledger")" 404
expect_eq "another tenant cannot accept it -> 404" "$(call -X POST -H "$(A "${TOK[tom]}")" "$BASE/v1/leases/$L0/accept")" 404
expect_eq "the landlord cannot accept it -> 409" "$(call -X POST -H "$(A "${TOK[lou]}")" "$BASE/v1/leases/$L0/accept")" 409
expect_eq "another landlord cannot terminate it -> 404" "$(call -H "$(A "${TOK[max]}")" -H "$J" -d "{\"end_date\":\"$START\"}" "$BASE/v1/leases/$L0/terminate")" 404
expect_eq "the tenant accepts -> 200" "$(call -X POST -H "$(A "${TOK[tia]}")" -H "$J" -d '{"autopay_payment_method":"tok_ok"}' "$BASE/v1/leases/$L0/accept")" 200
expect_eq "accepting twice -> 409" "$(call -X POST -H "$(A "${TOK[tia]}")" "$BASE/v1/leases/$L0/accept")" 409
expect_eq "a terminated-before-today date -> 400" "$(call -H "$(A "${TOK[lou]}")" -H "$J" -d '{"end_date":"2020-01-01"}' "$BASE/v1/leases/$L0/terminate")" 400

# ---- payments through the API ----------------------------------------------------------------
C0=$(sql "select id from rent.charges where lease_id = '$L0' and kind = 'rent'")
pay() { # WHO CHARGE METHOD [curl args] -> status
    local w=$1 c=$2 m=$3; shift 3
    call -H "$(A "${TOK[$w]}")" -H "$J" "$@" -d "{\"purpose\":\"rent\",\"charge_id\":\"$c\",\"payment_method\":\"$m\"}" "$BASE/v1/payments"
}
expect_eq "a payment names a charge -> 400" "$(call -H "$(A "${TOK[tia]}")" -H "$J" -d '{"purpose":"rent","payment_method":"tok_ok"}' "$BASE/v1/payments")" 400
expect_eq "an unknown purpose -> 400" "$(call -H "$(A "${TOK[tia]}")" -H "$J" -d "{\"purpose\":\"gift\",\"charge_id\":\"$C0\",\"payment_method\":\"tok_ok\"}" "$BASE/v1/payments")" 400
expect_eq "someone else's charge -> 404" "$(pay tom "$C0" tok_ok)" 404
expect_eq "a declined card -> 201 failed" "$(pay tia "$C0" tok_decline) $(jq -r '.status + " " + .failure_code' "$T/body")" "201 failed card_declined"
expect_eq "insufficient funds is retryable" "$(pay tia "$C0" tok_insufficient) $(jq -r '.retryable' "$T/body")" "201 true"
IK="ik-$U"
expect_eq "tok_ok pays the charge -> 201 succeeded" "$(pay tia "$C0" tok_ok -H "Idempotency-Key: $IK") $(jq -r .status "$T/body")" "201 succeeded"
P0=$(jq -r .id "$T/body")
expect_eq "the same Idempotency-Key answers the same payment" "$(pay tia "$C0" tok_ok -H "Idempotency-Key: $IK" >/dev/null; jq -r .id "$T/body")" "$P0"
expect_eq "paying a paid charge again -> 409" "$(pay tia "$C0" tok_ok)" 409
expect_eq "the payer reads the payment" "$(call -H "$(A "${TOK[tia]}")" "$BASE/v1/payments/$P0")" 200
expect_eq "the payee reads the payment" "$(call -H "$(A "${TOK[lou]}")" "$BASE/v1/payments/$P0")" 200
expect_eq "someone else cannot -> 404" "$(call -H "$(A "${TOK[max]}")" "$BASE/v1/payments/$P0")" 404
expect_eq "payment.succeeded was published once" "$(sql "select count(*) from rentezy.outbox where topic = 'payment-events' and subject = '$P0' and type = 'payment.succeeded'")" 1
expect_eq "one successful sandbox charge for the charge" "$(sql "select count(*) from rent.sandbox_charges where grp = '$C0' and status = 'succeeded'")" 1

# asynchronous confirmation through the signed webhook
new_lease max "$(lease_json "${ID[tor]}" 90000 EUR "$START" 5)" >/dev/null; LA=$(jq -r .id "$T/body")
call -X POST -H "$(A "${TOK[tor]}")" "$BASE/v1/leases/$LA/accept" >/dev/null
CA=$(sql "select id from rent.charges where lease_id = '$LA' and kind = 'rent'")
expect_eq "tok_async_ok -> 201 pending" "$(pay tor "$CA" tok_async_ok) $(jq -r .status "$T/body")" "201 pending"
PA=$(jq -r .id "$T/body")
expect_eq "a second payment while one is pending -> 409" "$(pay tor "$CA" tok_ok)" 409
curl -s -o /dev/null -H "$J" -d '{"advance_ms":1500}' "$BASE/v1/_test/clock"
for _ in $(seq 1 100); do [ "$(sql "select status from rent.payments where id = '$PA'")" = succeeded ] && break; sleep 0.05; done
expect_eq "the webhook confirmed it" "$(sql "select status from rent.payments where id = '$PA'")" succeeded

# webhooks: signature, tolerance, replay
hook() { # BODY SIGNATURE -> status
    call -H "$J" -H "Rentezy-Signature: $2" --data-binary "$1" "$BASE/v1/payments/webhooks/sandbox"
}
sign() { # BODY T
    printf 't=%s,v1=%s' "$2" "$(printf '%s.%s' "$2" "$1" | openssl dgst -sha256 -hmac "$WHSECRET" -r | cut -d' ' -f1)"
}
NOW_S=$(( $(host_now) / 1000 ))
WB="{\"id\":\"evt_test_$U\",\"type\":\"charge.succeeded\",\"data\":{\"idempotency_key\":\"nobody-$U\"}}"
expect_eq "a webhook without a signature -> 400" "$(hook "$WB" "")" 400
expect_eq "a webhook with a bad signature -> 400 bad_signature" "$(hook "$WB" "t=$NOW_S,v1=$(printf '0%.0s' $(seq 64))") $(jq -r .error.code "$T/body")" "400 bad_signature"
expect_eq "a webhook signed for another body -> 400" "$(hook "$WB " "$(sign "$WB" "$NOW_S")")" 400
expect_eq "a webhook signed 400 s ago -> 400 stale_signature" "$(hook "$WB" "$(sign "$WB" $((NOW_S - 400)))") $(jq -r .error.code "$T/body")" "400 stale_signature"
expect_eq "a webhook signed 400 s ahead -> 400" "$(hook "$WB" "$(sign "$WB" $((NOW_S + 400)))")" 400
expect_eq "a good webhook -> 200" "$(hook "$WB" "$(sign "$WB" "$NOW_S")")" 200
expect_eq "the same webhook replayed -> 409" "$(hook "$WB" "$(sign "$WB" "$NOW_S")")" 409
expect_eq "replayed with a fresh timestamp -> 409" "$(hook "$WB" "$(sign "$WB" $((NOW_S + 1)))")" 409

# ---- the process dies between the provider's answer and the commit --------------------------
new_lease max "$(lease_json "${ID[tor]}" 70000 EUR "$START" 9)" >/dev/null; LK=$(jq -r .id "$T/body")
call -X POST -H "$(A "${TOK[tor]}")" "$BASE/v1/leases/$LK/accept" >/dev/null
CK=$(sql "select id from rent.charges where lease_id = '$LK' and kind = 'rent'")
NOW=$(host_now)
# exactly what the handler does, stopped after the provider answered
PK=$(sql "select (o_body::json)->>'id' from rent.pay_begin(gen_random_uuid(), 'rent', '$CK', '${ID[tor]}', 'tok_ok', $NOW, 60000)")
sql "select o_status from rent.sandbox_charge('$PK', 'charge', 'tok_ok', '$CK', 70000, 'EUR', 'succeeded', NULL, false, $NOW, 1000)" >/dev/null
rz_stop KILL
rz_start "$T/c" || exit 1
relogin
expect_eq "after the crash the payment is still pending" "$(sql "select status from rent.payments where id = '$PK'")" pending
curl -s -o /dev/null -H "$J" -d '{"advance_ms":61000}' "$BASE/v1/_test/clock"
for _ in $(seq 1 100); do [ "$(sql "select status from rent.payments where id = '$PK'")" = succeeded ] && break; sleep 0.05; done
expect_eq "the recovery job finished it with the provider's first answer" "$(sql "select p.status = 'succeeded' and p.provider_ref = s.ref::text from rent.payments p join rent.sandbox_charges s on s.idem_key = p.idem_key where p.id = '$PK'")" t
expect_eq "the provider charged once" "$(sql "select count(*) from rent.sandbox_charges where grp = '$CK'")" 1
expect_eq "the charge is paid" "$(sql "select status from rent.charges where id = '$CK'")" paid

# ---- N leases over 13 months of host clock ---------------------------------------------------
# class i % 6: good, declining, insufficient funds, flaky, asynchronous, manual (no autopay)
CLASSES=(good decline insufficient flaky async manual)
WHO=(tia tom ted tim tam tor)
METHOD=(tok_ok tok_decline tok_insufficient tok_flaky tok_async_ok "")
ZONES=(Europe/Berlin America/New_York Asia/Tokyo UTC)
FEES=('{"type":"fixed","amount":2500}' '{"type":"percent","percent":5}' '{"type":"daily","amount":300,"cap":1000}')
LEASES=()
declare -A CLASS
for i in $(seq 0 $((NLEASES - 1))); do
    c=$((i % 6)); w=${WHO[$c]}; due=$(( (i * 5) % 28 + 1 ))
    start=$(date -u -d "$START +$((i % 10)) days" +%F)
    body="{\"tenant_id\":\"${ID[$w]}\",\"property_id\":\"$PROP\",\"monthly_rent\":{\"amount\":$((100000 + i * 1234)),\"currency\":\"EUR\"},
      \"start_date\":\"$start\",\"due_day\":$due,\"grace_days\":3,\"reminder_days\":3,
      \"late_fee\":${FEES[$((i % 3))]},\"time_zone\":\"${ZONES[$((i % 4))]}\"}"
    [ $((i % 2)) = 0 ] && ll=lou || ll=max
    s=$(new_lease $ll "$body")
    [ "$s" = 201 ] || { echo "FAIL lease $i: $s $(cat "$T/body")"; FAILS=$((FAILS + 1)); continue; }
    id=$(jq -r .id "$T/body")
    if [ -n "${METHOD[$c]}" ]; then ab="{\"autopay_payment_method\":\"${METHOD[$c]}\"}"; else ab='{}'; fi
    s=$(call -H "$(A "${TOK[$w]}")" -H "$J" -d "$ab" "$BASE/v1/leases/$id/accept")
    [ "$s" = 200 ] || { echo "FAIL accept $i: $s $(cat "$T/body")"; FAILS=$((FAILS + 1)); continue; }
    LEASES+=("$id"); CLASS[$id]=${CLASSES[$c]}
done
expect_eq "$NLEASES leases proposed and accepted" "${#LEASES[@]}" "$NLEASES"
ids_of() { # CLASS... -> SQL array literal of the leases of those classes
    local out="" id c
    for id in "${LEASES[@]}"; do for c in "$@"; do [ "${CLASS[$id]}" = "$c" ] && out="$out,$id"; done; done
    echo "'{${out#,}}'::uuid[]"
}
ALL=$(ids_of "${CLASSES[@]}")

# One simulated day: move the clock, then wait until the day's run and
# every rent job it started (payments, webhooks) has finished — including
# one backing off after a failed attempt (a busy database).  A job due
# within seconds of host time (the sandbox's asynchronous confirmation) is
# brought forward by moving the clock a second more rather than waiting for
# it.  One psql session answers all the polls (a process per poll cost more
# than the day).
coproc PSQL { psql "$PGURL" -XAtq 2>&1; }
q1() { REPLY=; echo "$1;" >&"${PSQL[1]}" && read -r -t 10 REPLY <&"${PSQL[0]}"; } # -> $REPLY
NOWMS=$(host_now)
day_state() { # -> $REPLY: busy, soon or quiet
    q1 "select case when exists (select 1 from rentezy.jobs where plugin = 'rent' and (state = 'running'
          or (state = 'due' and (attempts > 0 or run_at <= rent.ts($NOWMS + 200)))))
          or (select next_run <= rent.ts($NOWMS) from rentezy.schedules
               where plugin = 'rent' and name = 'daily') then 'busy'
        when exists (select 1 from rentezy.jobs where plugin = 'rent' and state = 'due'
          and run_at <= rent.ts($NOWMS + 5000)) then 'soon' else 'quiet' end"
}
advance() { # MS: move the host clock, NOWMS follows
    local r; r=$(curl -s -H "$J" -d "{\"advance_ms\":$1}" "$BASE/v1/_test/clock")
    r=${r#*\"now_ms\":}; NOWMS=${r%%[,\}]*}
}
DAYS=$(( ( $(date -u -d "$START +13 months" +%s) - NOWMS / 1000 ) / 86400 + 1 ))
t0=$(date +%s)
for d in $(seq 1 "$DAYS"); do
    advance 86400000
    w=0
    while day_state; [ "$REPLY" != quiet ]; do
        w=$((w + 1))
        [ "$w" -lt 3000 ] || { echo "FAIL day $d did not settle ($REPLY)"; FAILS=$((FAILS + 1)); break 2; }
        if [ "$REPLY" = soon ]; then advance 1000; else sleep 0.01; fi
    done
done
echo "     simulated $DAYS days in $(( $(date +%s) - t0 )) s"
relogin

# local today of each lease at the end
TODAY="(rent.ts($NOWMS) at time zone l.time_zone)::date"
# every rent period once: period starts are the start date, then every due
# date after it; each is charged charge_lead_days (7) ahead
expect_eq "every rent period charged exactly once" "$(sql "
    select count(*) from rent.leases l where l.id = any($ALL) and
      (select count(*) from rent.charges c where c.lease_id = l.id and c.kind = 'rent') <>
      (select count(*) from (select l.start_date as p union all
         select (rent.next_due(l.start_date, l.due_day) + k * interval '1 month')::date
           from generate_series(0, 20) k) ps where ps.p - 7 <= $TODAY)")" 0
expect_eq "first months prorated by days, others in full" "$(sql "
    select count(*) from rent.charges c join rent.leases l on l.id = c.lease_id
     where l.id = any($ALL) and c.kind = 'rent' and c.amount <> case
       when c.period_start = l.start_date and extract(day from l.start_date) <> l.due_day
       then l.amount * (c.period_end - c.period_start + 1) /
            (rent.next_due(l.start_date, l.due_day) - (rent.next_due(l.start_date, l.due_day) - interval '1 month')::date)
       else l.amount end")" 0
# events of these leases, counted in one pass over the outbox (a correlated
# subquery per charge scans the outbox, which grows with every run, per charge)
EV="(select o.type, o.data->>'when' as w, o.data->'charge'->>'id' as cid, count(*) as n
       from rentezy.outbox o where o.topic = 'rent-events' and o.subject = any($ALL::text[])
      group by 1, 2, 3)"
expect_eq "rent.charge_created once per charge" "$(sql "
    select count(*) from rent.charges c left join $EV e on e.type = 'rent.charge_created' and e.cid = c.id::text
     where c.lease_id = any($ALL) and c.kind = 'rent' and coalesce(e.n, 0) <> 1")" 0
reminders() { # WHEN CONDITION -> rent charges whose reminder count is wrong
    sql "select count(*) from rent.charges c join rent.leases l on l.id = c.lease_id
          left join $EV e on e.type = 'rent.reminder_due' and e.w = '$1' and e.cid = c.id::text
          where l.id = any($ALL) and c.kind = 'rent' and coalesce(e.n, 0) <> case when $2 then 1 else 0 end"
}
expect_eq "one reminder 3 days before each due date" "$(reminders before "c.due_date - 3 <= $TODAY")" 0
expect_eq "one reminder on each due date" "$(reminders due "c.due_date <= $TODAY")" 0
fees() { # CLASSES... -> rent charges whose late fee presence is wrong for payers that never pay
    sql "select count(*) from rent.charges c join rent.leases l on l.id = c.lease_id
          where l.id = any($(ids_of "$@")) and c.kind = 'rent' and
          (select count(*) from rent.charges f where f.parent_id = c.id) <>
          case when c.due_date + 3 < $TODAY then 1 else 0 end"
}
expect_eq "a late fee for every unpaid charge past grace (declining, insufficient, manual)" "$(fees decline insufficient manual)" 0
expect_eq "no late fee for good, flaky and asynchronous payers" "$(sql "
    select count(*) from rent.charges where kind = 'late_fee' and lease_id = any($(ids_of good flaky async))")" 0
expect_eq "late fee amounts follow the rule (fixed, 5 %, daily capped)" "$(sql "
    select count(*) from rent.charges f join rent.charges c on c.id = f.parent_id join rent.leases l on l.id = f.lease_id
     where l.id = any($ALL) and f.amount <> case l.fee_type when 'fixed' then 2500
       when 'percent' then c.amount * 5 / 100 else 1000 end")" 0
expect_eq "late fees published once each" "$(sql "
    select count(*) from rent.charges f left join $EV e on e.type = 'rent.late_fee_applied' and e.cid = f.id::text
     where f.kind = 'late_fee' and f.lease_id = any($ALL) and coalesce(e.n, 0) <> 1")" 0
attempt_days() { # CLASS -> distinct attempt-day patterns of rent charges past due + 5
    sql "select distinct string_agg(((p.created_at at time zone l.time_zone)::date - c.due_date)::text, ',' order by p.created_at)
           from rent.charges c join rent.leases l on l.id = c.lease_id join rent.payments p on p.charge_id = c.id
          where l.id = any($(ids_of "$1")) and c.kind = 'rent' and c.due_date + 5 < $TODAY group by c.id"
}
expect_eq "insufficient funds: attempts on the due date, then days 1, 3, 5" "$(attempt_days insufficient)" "0,1,3,5"
expect_eq "declined: one attempt only" "$(attempt_days decline)" "0"
expect_eq "flaky: failed, then paid the next day" "$(attempt_days flaky)" "0,1"
expect_eq "good: paid on the due date" "$(attempt_days good)" "0"
expect_eq "every good, flaky and async rent charge due is paid" "$(sql "
    select count(*) from rent.charges c join rent.leases l on l.id = c.lease_id
     where l.id = any($(ids_of good flaky async)) and c.due_date < $TODAY and c.status <> 'paid'")" 0
expect_eq "no double charge: at most one successful payment and sandbox charge per charge" "$(sql "
    select count(*) from rent.charges c where c.lease_id = any($ALL) and (c.paid > c.amount or
      (select count(*) from rent.payments p where p.charge_id = c.id and p.status = 'succeeded') > 1 or
      (select count(*) from rent.sandbox_charges s where s.grp = c.id::text and s.status = 'succeeded') > 1)")" 0
expect_eq "payment events match payments" "$(sql "
    select count(*) from rent.payments p left join (select subject, type, count(*) as n from rentezy.outbox
        where topic = 'payment-events' and subject in (select id::text from rent.payments where lease_id = any($ALL))
        group by 1, 2) e on e.subject = p.id::text and e.type = 'payment.' || p.status
     where p.lease_id = any($ALL) and p.status in ('succeeded', 'failed') and coalesce(e.n, 0) <> 1")" 0
unbalanced=0
declare -A NAME
for n in $PEOPLE; do NAME[${ID[$n]}]=$n; done
while read -r id tenant want; do
    call -H "$(A "${TOK[${NAME[$tenant]}]}")" "$BASE/v1/leases/$id/ledger" >/dev/null
    ok=$(jq --argjson want "$want" '(.currencies | length) == 1 and .currencies[0].balance == $want and
        .currencies[0].balance == .currencies[0].charged - .currencies[0].paid + .currencies[0].refunded and
        ([.entries[].amount.amount] | add) == $want' "$T/body")
    [ "$ok" = true ] || { unbalanced=$((unbalanced + 1)); echo "     unbalanced $id (${CLASS[$id]}): want $want: $(head -c 300 "$T/body")"; }
done < <(sql "select l.id, l.tenant_id, coalesce(sum(c.amount - c.paid) filter (where c.status <> 'void'), 0)
                from rent.leases l left join rent.charges c on c.lease_id = l.id
               where l.id = any($ALL) group by l.id, l.tenant_id" | tr '|' ' ')
[ "$unbalanced$(sql "select count(*) from rent.leases where id = any($ALL)")" = "0$NLEASES" ] || unbalanced="$unbalanced (or leases missing)"
expect_eq "every ledger adds up" "$unbalanced" 0
echo "     $(sql "select count(*) filter (where kind = 'rent') || ' rent charges, ' || count(*) filter (where kind = 'late_fee') || ' late fees' from rent.charges where lease_id = any($ALL)"), $(sql "select count(*) from rent.payments where lease_id = any($ALL)") payment attempts"
finish
