#!/usr/bin/env bash
# The search plugin over HTTP: bad input is a 400 naming the parameter, the
# routes are documented, and — when the host's bus is wired — a listing
# created and published through the property plugin becomes searchable by a
# word with a typo, by place and by filters, and leaves the results when
# deleted.  Without a bus (bus_subscribe NULL in the host table) the event
# part is reported as skipped, not passed.
. "$(dirname "$0")/../lib.sh"

head -c 48 /dev/urandom | base64 -w0 > "$T/secret"
PLUGINS="auth property search" rz_conf "$T/c" \
    "[auth]" "jwt_secret_file = $T/secret" \
    "[plugin.auth]" "jwt_secret_file = $T/secret" "opslimit = 1" "memlimit = 8KiB" \
    "[ratelimit]" "auth = off" \
    "[plugin.property]" "media_dir = $T/media" \
    "[plugin.search]" "ready_quiet_ms = 5000"
rz_start "$T/c" || exit 1

# ---- readiness: not ready until the index has caught up (ABI 1.2) -------------------
# A new worker replays the history first; with ready_quiet_ms = 5000 a quiet
# bus counts as caught up only after five seconds, so the start is visible.
expect_eq "/readyz is 503 while the index replays" "$(status GET "$BASE/readyz")" 503
check "/readyz names the search index and why" \
    jq -e '[.plugins[] | select(.plugin == "search" and (.reason | test("replaying")))] | length > 0' "$T/body"
ready=0; for _ in $(seq 1 200); do [ "$(status GET "$BASE/readyz")" = 200 ] && { ready=1; break; }; sleep 0.1; done
expect_eq "/readyz is 200 once caught up" "$ready" 1

S="$BASE/v1/search"
field_is() { # NAME QUERY FIELD: 400 with error.field == FIELD
    local code; code=$(status GET "$S?$2")
    if [ "$code" = 400 ] && jq -e --arg f "$3" '.error.field == $f' "$T/body" >/dev/null; then
        echo "ok   $1"
    else
        echo "FAIL $1: got $code $(head -c 200 "$T/body")"; FAILS=$((FAILS + 1))
    fi
}

# ---- the routes answer and are documented ----------------------------------------
expect_eq "GET /v1/search answers 200" "$(status GET "$S")" 200
check "a list page with took_ms" jq -e '(.items | type == "array") and (.took_ms | type == "number")' "$T/body"
expect_eq "a query matching nothing answers 200" "$(status GET "$S?q=qqzzxxnothingq")" 200
check "an empty result is an empty page" \
    jq -e '.items == [] and .next_cursor == null and .total == 0 and (.took_ms | type == "number")' "$T/body"
expect_eq "facets come back when asked" "$(status GET "$S?q=loft&facets=type,bedrooms,amenities,price")" 200
check "facets object present" jq -e '.facets | has("type") and has("bedrooms") and has("amenities") and has("price")' "$T/body"
expect_eq "suggest answers 200" "$(status GET "$S/suggest?q=ber")" 200
expect_eq "stats answers 200" "$(status GET "$S/stats")" 200
check "stats name the backend and the memory" jq -e '.backend == "memory" and .memory_bytes > 0 and (.listings_indexed | type == "number")' "$T/body"
check "the three routes are in /openapi.json" bash -c "curl -s '$BASE/openapi.json' | jq -e '.paths | has(\"/v1/search\") and has(\"/v1/search/suggest\") and has(\"/v1/search/stats\")'"

# ---- /metrics: listings indexed, memory and freshness per worker (ABI 1.2) -----------
curl -s "$BASE/metrics" > "$T/m"
check "/metrics shows the listings indexed" grep -qE '^rentezy_plugin_search_listings_indexed\{worker="[0-9]+"\} [0-9]+$' "$T/m"
check "/metrics shows the index memory" grep -qE '^rentezy_plugin_search_memory_bytes\{worker="[0-9]+"\} [1-9][0-9]*$' "$T/m"
check "/metrics shows the freshness lag" grep -qE '^rentezy_plugin_search_freshness_lag_p99_ms\{worker="[0-9]+"\} [0-9]' "$T/m"
check "gauges are typed" grep -qx '# TYPE rentezy_plugin_search_listings_indexed gauge' "$T/m"

# ---- bad input: 400 naming the parameter -------------------------------------------
field_is "malformed lat" "lat=abc&lon=1" lat
field_is "lat out of range" "lat=91&lon=1" lat
field_is "lon without lat" "lon=1" lat
field_is "radius without a centre" "radius_km=5" radius_km
field_is "a negative radius" "lat=1&lon=1&radius_km=-2" radius_km
field_is "bbox out of range" "bbox=-95,0,10,10" bbox
field_is "bbox with three numbers" "bbox=1,2,3" bbox
field_is "bbox upside down" "bbox=10,0,5,10" bbox
field_is "polygon of two points" "polygon=1,1;2,2" polygon
field_is "dates reversed" "check_in=2026-05-10&check_out=2026-05-01" check_out
field_is "not a date" "check_in=2026-02-30&check_out=2026-03-02" check_in
field_is "check_in alone" "check_in=2026-05-01" check_out
field_is "price with a decimal point" "price_min=10.5" price_min
field_is "price_max below price_min" "price_min=100&price_max=50" price_max
field_is "bedrooms_min not a number" "bedrooms_min=two" bedrooms_min
field_is "bathrooms_min off the half steps" "bathrooms_min=1.3" bathrooms_min
field_is "guests zero" "guests=0" guests
field_is "unknown type" "type=castle" type
field_is "unknown amenity" "amenities=wifi,moat" amenities
field_is "instant_book yes" "instant_book=yes" instant_book
field_is "limit above 100" "limit=101" limit
field_is "unknown sort" "sort=cheapest" sort
field_is "sort by distance without a centre" "sort=distance" sort
field_is "unknown facet" "facets=colour" facets
field_is "a forged cursor" "cursor=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" cursor
LONGQ=$(printf 'a%.0s' $(seq 1 300))
field_is "an over-long query" "q=$LONGQ" q
check "over-long q is too_long" jq -e '.error.code == "too_long"' "$T/body"
field_is "seventeen words" "q=$(printf 'w%d+' $(seq 1 17))" q
expect_eq "suggest without q is 400" "$(status GET "$S/suggest")" 400
field_is "an unknown parameter" "q=flat&colour=red" colour
check "unknown parameters have their own code" jq -e '.error.code == "unknown_parameter"' "$T/body"

# ---- events: property plugin -> bus -> index ------------------------------------------
if ! jq -e '.events.subscribed' >/dev/null < <(curl -s "$S/stats"); then
    echo "skip indexing through events: this host's table has no bus_subscribe yet"
    finish
fi
U="s$$-$RANDOM"
PW="correct horse 1"
curl -s -o /dev/null -d "{\"email\":\"ll-$U@example.com\",\"password\":\"$PW\",\"name\":\"Lou\",\"role\":\"landlord\"}" "$BASE/v1/auth/register"
TOK=$(curl -s -d "{\"email\":\"ll-$U@example.com\",\"password\":\"$PW\"}" "$BASE/v1/auth/login" | jq -r .access_token)
WORD="zanzibarq$RANDOM" # a word no other listing in the shared database has
LISTING="{\"title\":\"Café $WORD loft by the canal\",\"description\":\"Bright loft with a balcony.\",
 \"property_type\":\"loft\",\"address\":{\"street\":\"Hauptstr. 1\",\"city\":\"Berlin\",\"region\":\"Mitte\",\"postal_code\":\"10115\",\"country\":\"DE\"},
 \"location\":{\"lat\":52.52,\"lon\":13.405},\"bedrooms\":2,\"beds\":3,\"bathrooms\":1.5,\"max_guests\":4,
 \"amenities\":[\"wifi\",\"balcony\"],\"nightly_price\":{\"amount\":12050,\"currency\":\"EUR\"},\"instant_book\":true}"
ID=$(curl -s -H "Authorization: Bearer $TOK" -H 'Content-Type: application/json' -d "$LISTING" "$BASE/v1/properties" | jq -r .id)
curl -s -o /dev/null -X POST -H "Authorization: Bearer $TOK" "$BASE/v1/properties/$ID/publish"
found() { curl -s "$S?$1" | jq -e --arg id "$ID" '[.items[].id] | index($id) != null' >/dev/null; }
for _ in $(seq 1 50); do found "q=$WORD" && break; sleep 0.1; done
check "a published listing is found by its word" found "q=$WORD"
check "with a typo in the word" found "q=$(echo "$WORD" | sed 's/zanz/znaz/')"
check "without the accent: cafe finds Café" found "q=cafe+$WORD"
check "by the prefix being typed" found "q=${WORD:0:7}"
check "inside a radius" found "q=$WORD&lat=52.52&lon=13.40&radius_km=2"
check "filters that hold" found "q=$WORD&type=loft,house&bedrooms_min=2&guests=4&amenities=wifi,balcony&instant_book=true&price_max=20000"
check "not outside its viewport" bash -c "! curl -s '$S?q=$WORD&bbox=40,0,41,1' | jq -e '.items | length > 0'"
check "suggest offers the city" bash -c "curl -s '$S/suggest?q=berl' | jq -e '[.items[].text] | index(\"Berlin\") != null'"
curl -s -o /dev/null -X DELETE -H "Authorization: Bearer $TOK" "$BASE/v1/properties/$ID"
for _ in $(seq 1 50); do found "q=$WORD" || break; sleep 0.1; done
check "a deleted listing leaves the results" bash -c "! curl -s '$S?q=$WORD' | jq -e '.total > 0'"
check "stats count the events applied" bash -c "curl -s '$S/stats' | jq -e '.events.applied >= 3 and .listings_indexed >= 0'"
echo "info freshness (event time -> searchable): $(curl -s "$S/stats" | jq -c .events.freshness_ms)"
sleep 0.6 # a health tick
check "/metrics counts the events applied" sh -c "curl -s '$BASE/metrics' | grep -qE '^rentezy_plugin_search_events_applied_total\{worker=\"[0-9]+\"\} [1-9]'"
finish
