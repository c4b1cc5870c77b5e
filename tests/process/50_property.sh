#!/usr/bin/env bash
# The property plugin over real HTTP against the real database: listings
# round trip, drafts and publishing, ETag / If-None-Match / If-Match,
# authorization (anonymous, tenant, another landlord), events in
# rentezy.outbox, photos (upload, serve, reorder, delete, fake and oversize
# images), blackout dates, pagination and bad input on every field.
# Tokens come from the auth plugin (register + login), never forged.
. "$(dirname "$0")/../lib.sh"

head -c 48 /dev/urandom | base64 -w0 > "$T/secret"
# photos are raw bodies: the upload route's limit is max_photo_size, above
# the default [http] max_body_size of 1MiB
PLUGINS="auth property" rz_conf "$T/c" \
    "[auth]" "jwt_secret_file = $T/secret" \
    "[plugin.auth]" "jwt_secret_file = $T/secret" "opslimit = 1" "memlimit = 8KiB" \
    "[ratelimit]" "auth = off" \
    "[plugin.property]" "media_dir = $T/media" "max_photo_size = 1536KiB" "max_photos = 3"
rz_start "$T/c" || exit 1

U="p$$-$RANDOM" # the database outlives the test: unique e-mails
PW="correct horse 1"
login() { # ROLE NAME -> "token user-id"
    curl -s -o /dev/null -d "{\"email\":\"$2-$U@example.com\",\"password\":\"$PW\",\"name\":\"$2\",\"role\":\"$1\"}" \
        "$BASE/v1/auth/register"
    local at
    at=$(curl -s -d "{\"email\":\"$2-$U@example.com\",\"password\":\"$PW\"}" "$BASE/v1/auth/login" | jq -r .access_token)
    echo "$at $(curl -s -H "Authorization: Bearer $at" "$BASE/v1/me" | jq -r .id)"
}
read -r LL LL_ID <<<"$(login landlord lou)"
read -r L2 _ <<<"$(login landlord max)"
read -r TN _ <<<"$(login tenant tia)"
[ "${#LL}" -gt 20 ] && [ "${#TN}" -gt 20 ] || { echo "FAIL could not log in through the auth plugin"; exit 1; }
A() { echo "Authorization: Bearer $1"; }
J='Content-Type: application/json'
hdr() { tr -d '\r' < "$T/h" | sed -n "s/^$1: //Ip"; } # a header of the last call_h
call_h() { curl -s -D "$T/h" -o "$T/body" -w '%{http_code}' "$@"; }
sql() { psql "$PGURL" -Atc "$1"; }

LISTING='{"title":"Sunny <b>loft</b> & terrace","description":"<script>alert(1)</script>\nNear the park.",
 "property_type":"loft","address":{"street":"Hauptstr. 1","city":"Berlin","region":"BE","postal_code":"10115","country":"DE"},
 "location":{"lat":52.52,"lon":13.405},"bedrooms":2,"beds":3,"bathrooms":1.5,"max_guests":4,"area_m2":80,
 "amenities":["wifi","washer","pets_allowed"],"nightly_price":{"amount":12050,"currency":"EUR"},
 "monthly_rent":{"amount":210000,"currency":"EUR"},"min_nights":2,"max_nights":90,"instant_book":true,
 "cancellation_policy":"strict","house_rules":"No parties."}'

# ---- create ----------------------------------------------------------------------
expect_eq "anonymous create is 401" "$(status POST "$BASE/v1/properties" -H "$J" -d "$LISTING")" 401
expect_eq "a tenant cannot create a listing: 403" \
    "$(status POST "$BASE/v1/properties" -H "$(A "$TN")" -H "$J" -d "$LISTING")" 403
expect_eq "a landlord creates a listing: 201" \
    "$(call_h -X POST "$BASE/v1/properties" -H "$(A "$LL")" -H "$J" -d "$LISTING")" 201
ID=$(jq -r .id "$T/body")
check "it is a draft at version 1, owned by the caller" \
    jq -e --arg o "$LL_ID" '.status == "draft" and .version == 1 and .owner_id == $o and (.id | test("^[0-9a-f-]{36}$"))' "$T/body"
check "every field round-trips" jq -e '.title == "Sunny <b>loft</b> & terrace" and .property_type == "loft"
    and .address == {"street":"Hauptstr. 1","city":"Berlin","region":"BE","postal_code":"10115","country":"DE"}
    and .location == {"lat":52.52,"lon":13.405} and .bedrooms == 2 and .beds == 3 and .bathrooms == 1.5
    and .max_guests == 4 and .area_m2 == 80 and .amenities == ["wifi","washer","pets_allowed"]
    and .nightly_price == {"amount":12050,"currency":"EUR"} and .monthly_rent == {"amount":210000,"currency":"EUR"}
    and .min_nights == 2 and .max_nights == 90 and .instant_book == true and .cancellation_policy == "strict"
    and .house_rules == "No parties." and .photos == [] and .blocks == []' "$T/body"
check "HTML in text is stored as text" jq -e '.description == "<script>alert(1)</script>\nNear the park."' "$T/body"
check "timestamps are RFC 3339 UTC" jq -e '(.created_at | test("^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ$")) and .published_at == null' "$T/body"
expect_eq "Location names the listing" "$(hdr Location)" "/v1/properties/$ID"
expect_eq "the ETag is strong, from id and version" "$(hdr ETag)" "\"$ID.1\""
check "property.created is in the outbox with the snapshot" sh -c "
    psql '$PGURL' -Atc \"select type, version, source, data->>'status', data->>'title' from rentezy.outbox
        where topic = 'property-events' and subject = '$ID'\" | grep -qx 'property.created|1|property|draft|Sunny <b>loft</b> & terrace'"
MIN='{"title":"Room","property_type":"room","address":{"street":"a","city":"b","country":"FR"},
 "location":{"lat":0,"lon":0},"bedrooms":1,"beds":1,"bathrooms":0,"max_guests":1,"monthly_rent":{"amount":50000,"currency":"EUR"}}'
expect_eq "the smallest listing: defaults filled in" "$(status POST "$BASE/v1/properties" -H "$(A "$LL")" -H "$J" -d "$MIN")" 201
check "...defaults" jq -e '.description == "" and .amenities == [] and .min_nights == 1 and .max_nights == null and
    .instant_book == false and .cancellation_policy == "moderate" and .nightly_price == null and .area_m2 == null and
    .address.region == null' "$T/body"
MIN_ID=$(jq -r .id "$T/body")

# ---- drafts are private --------------------------------------------------------------
expect_eq "the owner reads the draft" "$(status GET "$BASE/v1/properties/$ID" -H "$(A "$LL")")" 200
expect_eq "anonymous cannot see a draft: 404" "$(status GET "$BASE/v1/properties/$ID")" 404
expect_eq "another landlord cannot see a draft: 404" "$(status GET "$BASE/v1/properties/$ID" -H "$(A "$L2")")" 404
expect_eq "another landlord cannot change a draft: 404" \
    "$(status PATCH "$BASE/v1/properties/$ID" -H "$(A "$L2")" -H "If-Match: \"$ID.1\"" -d '{"title":"x"}')" 404
expect_eq "another landlord cannot publish it: 404" "$(status POST "$BASE/v1/properties/$ID/publish" -H "$(A "$L2")")" 404
expect_eq "an unknown id is 404" "$(status GET "$BASE/v1/properties/00000000-0000-4000-8000-000000000000")" 404
expect_eq "a malformed id is 404" "$(status GET "$BASE/v1/properties/nope")" 404

# ---- publish ---------------------------------------------------------------------------
expect_eq "a tenant cannot publish: 403" "$(status POST "$BASE/v1/properties/$ID/publish" -H "$(A "$TN")")" 403
expect_eq "anonymous cannot publish: 401" "$(status POST "$BASE/v1/properties/$ID/publish")" 401
expect_eq "the owner publishes" "$(status POST "$BASE/v1/properties/$ID/publish" -H "$(A "$LL")")" 200
check "published at version 2" jq -e '.status == "published" and .version == 2 and (.published_at | test("Z$"))' "$T/body"
expect_eq "publishing again changes nothing" "$(status POST "$BASE/v1/properties/$ID/publish" -H "$(A "$LL")")" 200
check "...still version 2" jq -e '.version == 2' "$T/body"
expect_eq "...and publishes no second event" \
    "$(sql "select count(*) from rentezy.outbox where subject = '$ID' and type = 'property.published'")" 1
expect_eq "anyone reads a published listing" "$(call_h "$BASE/v1/properties/$ID")" 200
check "...the same snapshot" jq -e --arg id "$ID" '.id == $id and .status == "published"' "$T/body"
expect_eq "...with the ETag of version 2" "$(hdr ETag)" "\"$ID.2\""
expect_eq "If-None-Match with the current ETag: 304" \
    "$(status GET "$BASE/v1/properties/$ID" -H "If-None-Match: \"$ID.2\"")" 304
expect_eq "...a weak form of it matches too" \
    "$(status GET "$BASE/v1/properties/$ID" -H "If-None-Match: W/\"$ID.2\"")" 304
expect_eq "an old ETag gets the body: 200" "$(status GET "$BASE/v1/properties/$ID" -H "If-None-Match: \"$ID.1\"")" 200
expect_eq "another landlord cannot change a published listing: 403" \
    "$(status PATCH "$BASE/v1/properties/$ID" -H "$(A "$L2")" -H "If-Match: \"$ID.2\"" -d '{"title":"x"}')" 403
expect_eq "...nor delete it: 403" "$(status DELETE "$BASE/v1/properties/$ID" -H "$(A "$L2")")" 403
expect_eq "...nor unpublish it: 403" "$(status POST "$BASE/v1/properties/$ID/unpublish" -H "$(A "$L2")")" 403
expect_eq "a tenant cannot change it: 403" \
    "$(status PATCH "$BASE/v1/properties/$ID" -H "$(A "$TN")" -H "If-Match: \"$ID.2\"" -d '{"title":"x"}')" 403

# ---- PATCH with If-Match -------------------------------------------------------------------
expect_eq "PATCH without If-Match: 428" \
    "$(status PATCH "$BASE/v1/properties/$ID" -H "$(A "$LL")" -d '{"title":"New"}')" 428
expect_eq "PATCH with a stale If-Match: 412" \
    "$(status PATCH "$BASE/v1/properties/$ID" -H "$(A "$LL")" -H "If-Match: \"$ID.1\"" -d '{"title":"New"}')" 412
expect_eq "PATCH with If-Match of another listing: 412" \
    "$(status PATCH "$BASE/v1/properties/$ID" -H "$(A "$LL")" -H "If-Match: \"$MIN_ID.2\"" -d '{"title":"New"}')" 412
expect_eq "PATCH with a weak If-Match: 412 (strong comparison)" \
    "$(status PATCH "$BASE/v1/properties/$ID" -H "$(A "$LL")" -H "If-Match: W/\"$ID.2\"" -d '{"title":"New"}')" 412
expect_eq "PATCH with the current If-Match: 200" \
    "$(call_h -X PATCH "$BASE/v1/properties/$ID" -H "$(A "$LL")" -H "If-Match: \"$ID.2\"" \
        -d '{"title":"New title","address":{"street":"B 2","city":"Hamburg","country":"DE"},"nightly_price":null}')" 200
check "the fields changed, the others kept, the version grew" jq -e '.title == "New title" and .address.city == "Hamburg"
    and .address.region == null and .nightly_price == null and .monthly_rent.amount == 210000 and .bedrooms == 2
    and .version == 3 and .status == "published"' "$T/body"
expect_eq "...the new ETag" "$(hdr ETag)" "\"$ID.3\""
expect_eq "the same If-Match again is stale: 412" \
    "$(status PATCH "$BASE/v1/properties/$ID" -H "$(A "$LL")" -H "If-Match: \"$ID.2\"" -d '{"title":"Again"}')" 412
expect_eq "removing the last price: 400 naming nightly_price" \
    "$(status PATCH "$BASE/v1/properties/$ID" -H "$(A "$LL")" -H "If-Match: \"$ID.3\"" -d '{"monthly_rent":null}')" 400
check "...(the schema's rule)" jq -e '.error.field == "nightly_price"' "$T/body"
expect_eq "max_nights below the stored min_nights: 400" \
    "$(status PATCH "$BASE/v1/properties/$ID" -H "$(A "$LL")" -H "If-Match: \"$ID.3\"" -d '{"max_nights":1}')" 400
check "...naming max_nights" jq -e '.error.field == "max_nights"' "$T/body"
expect_eq "an empty patch: 400" "$(status PATCH "$BASE/v1/properties/$ID" -H "$(A "$LL")" -H "If-Match: \"$ID.3\"" -d '{}')" 400
expect_eq "a read-only field: 400" \
    "$(status PATCH "$BASE/v1/properties/$ID" -H "$(A "$LL")" -H "If-Match: \"$ID.3\"" -d '{"version":9}')" 400
check "...naming it" jq -e '.error.field == "version" and .error.code == "read_only"' "$T/body"
check "property.updated carries the full snapshot at version 3" sh -c "
    psql '$PGURL' -Atc \"select data->>'title', (data->>'version')::int, data->'address'->>'city', data ? 'blocks', data ? 'photos'
        from rentezy.outbox where subject = '$ID' and type = 'property.updated' and version = 3\" | grep -qx 'New title|3|Hamburg|t|t'"

# ---- bad input on every field: 400 naming the field ----------------------------------------
bad() { # FIELD-EXPECTED JQ-EDIT
    local body code
    body=$(jq -c "$2" <<<"$LISTING")
    code=$(status POST "$BASE/v1/properties" -H "$(A "$LL")" -H "$J" -d "$body")
    if [ "$code" = 400 ] && jq -e --arg f "$1" '.error.field == $f' "$T/body" >/dev/null; then
        echo "ok   400 naming $1: $2"
    else
        echo "FAIL 400 naming $1: $2 -> $code $(cat "$T/body")"; FAILS=$((FAILS + 1))
    fi
}
bad title 'del(.title)'
bad title '.title = ""'
bad title '.title = "   "'
bad title '.title = 5'
bad title ".title = \"$(head -c 201 /dev/zero | tr '\0' x)\""
bad title '.title = "two\nlines"'
bad description '.description = 7'
bad description ".description = \"$(head -c 10001 /dev/zero | tr '\0' x)\""
bad property_type '.property_type = "castle"'
bad property_type 'del(.property_type)'
bad address 'del(.address)'
bad address '.address = "Berlin"'
bad address.street 'del(.address.street)'
bad address.city '.address.city = ""'
bad address.country '.address.country = "XX"'
bad address.country '.address.country = "de"'
bad address.postal_code ".address.postal_code = \"$(head -c 21 /dev/zero | tr '\0' 1)\""
bad address.floor '.address.floor = 3'
bad location 'del(.location)'
bad location.lat '.location.lat = 91'
bad location.lon '.location.lon = -180.5'
bad location.lat '.location.lat = "52"'
bad location.lon 'del(.location.lon)'
bad bedrooms '.bedrooms = -1'
bad bedrooms '.bedrooms = 1.5'
bad beds '.beds = "2"'
bad bathrooms '.bathrooms = 1.25'
bad bathrooms '.bathrooms = -0.5'
bad max_guests '.max_guests = 0'
bad area_m2 '.area_m2 = 0'
bad amenities '.amenities = "wifi"'
bad amenities '.amenities = ["wifi","teleporter"]'
bad amenities '.amenities = ["wifi","wifi"]'
bad nightly_price.amount '.nightly_price.amount = 12.5'
bad nightly_price.amount '.nightly_price.amount = -100'
bad nightly_price.amount '.nightly_price.amount = "100"'
bad nightly_price.currency '.nightly_price.currency = "EURO"'
bad nightly_price.currency '.nightly_price.currency = "XYZ"'
bad nightly_price.currency 'del(.nightly_price.currency)'
bad nightly_price '.nightly_price = 120'
bad monthly_rent.currency '.monthly_rent.currency = "eur"'
bad nightly_price 'del(.nightly_price) | del(.monthly_rent)'
bad min_nights '.min_nights = 0'
bad max_nights '.max_nights = 1'
bad instant_book '.instant_book = "yes"'
bad cancellation_policy '.cancellation_policy = "lenient"'
bad house_rules '.house_rules = ["a"]'
bad colour '.colour = "blue"'
bad id '.id = "00000000-0000-4000-8000-000000000000"'
code=$(status POST "$BASE/v1/properties" -H "$(A "$LL")" -H "$J" -d "$(jq -c '.amenities = ["jacuzzi"]' <<<"$LISTING")")
check "an unknown amenity lists the known ones" jq -e '.error.code == "unknown_amenity" and (.error.message | contains("wifi") and contains("pets_allowed"))' "$T/body"
expect_eq "malformed JSON: 400" "$(status POST "$BASE/v1/properties" -H "$(A "$LL")" -H "$J" -d '{"title":')" 400
expect_eq "a JSON array body: 400" "$(status POST "$BASE/v1/properties" -H "$(A "$LL")" -H "$J" -d '[]')" 400
expect_eq "invalid UTF-8 in a title: 400" \
    "$(status POST "$BASE/v1/properties" -H "$(A "$LL")" -H "$J" --data-binary "$(jq -c '.title = "AB"' <<<"$LISTING" | sed 's/AB/\xc3\x28/')")" 400
check "nothing invalid reached the table" \
    test "$(sql "select count(*) from property.properties where owner_id = '$LL_ID'")" = 2

# ---- blackout dates ------------------------------------------------------------------------
Y=$(( $(date -u +%Y) + 1 ))
expect_eq "the owner blocks dates: 201" \
    "$(call_h -X POST "$BASE/v1/properties/$ID/blocks" -H "$(A "$LL")" -d "{\"start\":\"$Y-03-01\",\"end\":\"$Y-03-08\",\"reason\":\"renovation\"}")" 201
BLOCK=$(jq -r .id "$T/body")
check "the block comes back" jq -e --arg s "$Y-03-01" '.start == $s and .reason == "renovation" and .version == 4' "$T/body"
expect_eq "an overlapping block: 409" \
    "$(status POST "$BASE/v1/properties/$ID/blocks" -H "$(A "$LL")" -d "{\"start\":\"$Y-03-07\",\"end\":\"$Y-03-10\"}")" 409
check "...blocks_overlap" jq -e '.error.code == "blocks_overlap"' "$T/body"
expect_eq "a block starting on the last one's end is fine" \
    "$(status POST "$BASE/v1/properties/$ID/blocks" -H "$(A "$LL")" -d "{\"start\":\"$Y-03-08\",\"end\":\"$Y-03-09\"}")" 201
BLOCK2=$(jq -r .id "$T/body")
for case in "end|{\"start\":\"$Y-03-20\",\"end\":\"$Y-03-20\"}" "end|{\"start\":\"$Y-03-20\",\"end\":\"$Y-03-19\"}" \
    "start|{\"start\":\"$Y-02-30\",\"end\":\"$Y-03-19\"}" "start|{\"start\":\"tomorrow\",\"end\":\"$Y-03-19\"}" \
    "end|{\"start\":\"$Y-03-20\"}" "end|{\"start\":\"2001-01-01\",\"end\":\"2001-01-05\"}" \
    "reason|{\"start\":\"$Y-04-01\",\"end\":\"$Y-04-02\",\"reason\":5}" "why|{\"start\":\"$Y-04-01\",\"end\":\"$Y-04-02\",\"why\":\"x\"}"; do
    f=${case%%|*}; b=${case#*|}
    code=$(status POST "$BASE/v1/properties/$ID/blocks" -H "$(A "$LL")" -d "$b")
    expect_eq "a bad block is 400 naming $f: $b" "$code $(jq -r .error.field "$T/body")" "400 $f"
done
expect_eq "another landlord cannot block a published listing: 403" \
    "$(status POST "$BASE/v1/properties/$ID/blocks" -H "$(A "$L2")" -d "{\"start\":\"$Y-05-01\",\"end\":\"$Y-05-02\"}")" 403
expect_eq "anyone lists the blocks of a published listing" "$(status GET "$BASE/v1/properties/$ID/blocks")" 200
check "...in date order" jq -e --arg a "$BLOCK" --arg b "$BLOCK2" '[.items[].id] == [$a, $b] and .next_cursor == null' "$T/body"
expect_eq "the blocks of someone's draft: 404" "$(status GET "$BASE/v1/properties/$MIN_ID/blocks" -H "$(A "$L2")")" 404
check "property.blocks_changed carries every block" sh -c "
    psql '$PGURL' -Atc \"select jsonb_array_length(data->'blocks') from rentezy.outbox
        where subject = '$ID' and type = 'property.blocks_changed' order by version desc limit 1\" | grep -qx 2"
expect_eq "the owner removes a block: 204" "$(status DELETE "$BASE/v1/properties/$ID/blocks/$BLOCK2" -H "$(A "$LL")")" 204
expect_eq "...twice: 404" "$(status DELETE "$BASE/v1/properties/$ID/blocks/$BLOCK2" -H "$(A "$LL")")" 404
check "...and the newest event has one block" sh -c "
    psql '$PGURL' -Atc \"select jsonb_array_length(data->'blocks') from rentezy.outbox
        where subject = '$ID' order by version desc limit 1\" | grep -qx 1"

# ---- photos ---------------------------------------------------------------------------------
printf '\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01photo-one' > "$T/a.jpg"
printf '\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDRphoto-two' > "$T/b.png"
# over the global 1MiB body limit, under the upload route's 1536KiB
{ printf 'RIFF\x20\x00\x00\x00WEBPVP8 photo-three'; head -c $((1200 * 1024)) /dev/zero; } > "$T/c.webp"
printf 'GIF89a not one of ours' > "$T/d.gif"
echo '<html>not an image</html>' > "$T/fake.jpg"
{ printf '\xff\xd8\xff\xe0'; head -c $((1600 * 1024)) /dev/zero; } > "$T/big.jpg"
up() { call_h -X POST "$BASE/v1/properties/$ID/photos" -H "$(A "$LL")" -H "Content-Type: ${2:-image/jpeg}" --data-binary @"$1"; }
expect_eq "a JPEG uploads: 201" "$(up "$T/a.jpg")" 201
P1=$(jq -r .id "$T/body"); H1=$(jq -r .hash "$T/body")
expect_eq "...stored by its SHA-256" "$H1" "$(sha256sum "$T/a.jpg" | cut -d' ' -f1)"
check "...as image/jpeg, url /media/<hash>" jq -e --arg h "$H1" '.content_type == "image/jpeg" and .url == "/media/" + $h' "$T/body"
check "...in media_dir, fanned out" test -f "$T/media/${H1:0:2}/$H1"
expect_eq "a PNG sent as image/jpeg is still a PNG" "$(up "$T/b.png")" 201
check "...by its magic bytes" jq -e '.content_type == "image/png"' "$T/body"
P2=$(jq -r .id "$T/body"); H2=$(jq -r .hash "$T/body")
expect_eq "a 1.2MiB WebP uploads: the route's own body limit" "$(up "$T/c.webp" image/webp)" 201
P3=$(jq -r .id "$T/body")
expect_eq "...while 1.2MiB elsewhere is over [http] max_body_size: 413" \
    "$(status POST "$BASE/v1/properties" -H "$(A "$LL")" -H "Content-Type: application/json" --data-binary @"$T/c.webp")" 413
expect_eq "a fourth photo is over max_photos: 409" "$(up "$T/a.jpg")" 409
expect_eq "a fake image: 415" "$(up "$T/fake.jpg")" 415
expect_eq "a GIF: 415" "$(up "$T/d.gif" image/gif)" 415
expect_eq "a JSON body on the photo route: 415" "$(up "$T/a.jpg" application/json)" 415
expect_eq "an image over max_photo_size: 413" "$(up "$T/big.jpg")" 413
expect_eq "another landlord cannot add photos: 403" \
    "$(status POST "$BASE/v1/properties/$ID/photos" -H "$(A "$L2")" -H "Content-Type: image/jpeg" --data-binary @"$T/a.jpg")" 403
expect_eq "the photo is served" "$(call_h "$BASE/media/$H1")" 200
check "...byte for byte" cmp -s "$T/body" "$T/a.jpg"
expect_eq "...as image/jpeg" "$(hdr Content-Type)" "image/jpeg"
expect_eq "...cached for a year, immutable" "$(hdr Cache-Control)" "public, max-age=31536000, immutable"
expect_eq "the PNG is served as image/png" "$(call_h "$BASE/media/$H2")" 200
expect_eq "...as image/png" "$(hdr Content-Type)" "image/png"
expect_eq "media revalidation: 304" "$(status GET "$BASE/media/$H1" -H "If-None-Match: \"$H1\"")" 304
expect_eq "an unknown hash: 404" "$(status GET "$BASE/media/$(printf '0%.0s' $(seq 64))")" 404
expect_eq "a path that is not a hash: 404" "$(status GET "$BASE/media/..%2Fetc%2Fpasswd")" 404
status GET "$BASE/v1/properties/$ID" >/dev/null
check "the listing shows the photos in upload order" \
    jq -e --arg a "$P1" --arg b "$P2" --arg c "$P3" '[.photos[].id] == [$a, $b, $c]' "$T/body"
V=$(jq -r .version "$T/body")
expect_eq "reorder: 200" "$(status PUT "$BASE/v1/properties/$ID/photos/order" -H "$(A "$LL")" -d "{\"ids\":[\"$P3\",\"$P1\",\"$P2\"]}")" 200
check "...the new order, a new version" \
    jq -e --arg a "$P1" --arg b "$P2" --arg c "$P3" --argjson v "$V" '[.photos[].id] == [$c, $a, $b] and .version == $v + 1' "$T/body"
expect_eq "reorder missing a photo: 400" "$(status PUT "$BASE/v1/properties/$ID/photos/order" -H "$(A "$LL")" -d "{\"ids\":[\"$P3\",\"$P1\"]}")" 400
check "...naming ids" jq -e '.error.field == "ids"' "$T/body"
expect_eq "reorder with a duplicate: 400" "$(status PUT "$BASE/v1/properties/$ID/photos/order" -H "$(A "$LL")" -d "{\"ids\":[\"$P3\",\"$P1\",\"$P1\"]}")" 400
expect_eq "reorder with a bad id: 400" "$(status PUT "$BASE/v1/properties/$ID/photos/order" -H "$(A "$LL")" -d '{"ids":["x"]}')" 400
expect_eq "delete a photo: 204" "$(status DELETE "$BASE/v1/properties/$ID/photos/$P1" -H "$(A "$LL")")" 204
expect_eq "...twice: 404" "$(status DELETE "$BASE/v1/properties/$ID/photos/$P1" -H "$(A "$LL")")" 404
status GET "$BASE/v1/properties/$ID" >/dev/null
check "...gone from the listing" jq -e --arg b "$P2" --arg c "$P3" '[.photos[].id] == [$c, $b]' "$T/body"
expect_eq "room for one more now" "$(up "$T/a.jpg")" 201
check "property.updated events carry the photos" sh -c "
    psql '$PGURL' -Atc \"select jsonb_array_length(data->'photos') from rentezy.outbox
        where subject = '$ID' order by version desc limit 1\" | grep -qx 3"

# ---- events: one per change, versions strictly increasing ----------------------------------------
# (the bus may prune older events of a compacted topic: compare what is left)
check "one event per version, in commit order" sh -c "
    psql '$PGURL' -Atc \"select count(distinct version) = count(*) and
        bool_and(version > coalesce(prev, 0)) from (select version, lag(version) over (order by xid, seq) prev
        from rentezy.outbox where subject = '$ID' and topic = 'property-events') e\" | grep -qx t"
check "the newest event equals what GET answers" sh -c "
    a=\$(psql '$PGURL' -Atc \"select data from rentezy.outbox where subject = '$ID' order by version desc limit 1\" | jq -S .)
    b=\$(curl -s '$BASE/v1/properties/$ID' | jq -S .)
    [ \"\$a\" = \"\$b\" ]"
expect_eq "a traceparent is carried into the event" \
    "$(status POST "$BASE/v1/properties/$ID/unpublish" -H "$(A "$LL")" -H 'traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01')" 200
expect_eq "...property.unpublished" \
    "$(sql "select type || ' ' || coalesce(traceparent, '-') from rentezy.outbox where subject = '$ID' order by version desc limit 1")" \
    "property.unpublished 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
expect_eq "unpublished: anonymous gets 404 again" "$(status GET "$BASE/v1/properties/$ID")" 404

# ---- the owner's list, paginated ---------------------------------------------------------------
for i in 1 2 3 4; do status POST "$BASE/v1/properties" -H "$(A "$LL")" -d "$(jq -c ".title = \"page $i\"" <<<"$MIN")" >/dev/null; done
expect_eq "GET /v1/properties?owner=me" "$(status GET "$BASE/v1/properties?owner=me&limit=4" -H "$(A "$LL")")" 200
check "a page of 4, newest first, with a cursor" \
    jq -e '(.items | length) == 4 and .items[0].title == "page 4" and (.next_cursor | type) == "string"' "$T/body"
C=$(jq -r .next_cursor "$T/body")
expect_eq "the next page" "$(status GET "$BASE/v1/properties?owner=me&limit=4&cursor=$C" -H "$(A "$LL")")" 200
check "...holds the last 2 and ends" jq -e --arg a "$MIN_ID" --arg b "$ID" '[.items[].id] == [$a, $b] and .next_cursor == null' "$T/body"
expect_eq "status=draft filters" "$(status GET "$BASE/v1/properties?owner=me&status=draft&limit=100" -H "$(A "$LL")")" 200
check "...all 6 are drafts now" jq -e '(.items | length) == 6 and all(.items[]; .status == "draft")' "$T/body"
expect_eq "another landlord sees only theirs" "$(status GET "$BASE/v1/properties?owner=me" -H "$(A "$L2")")" 200
check "...none" jq -e '.items == [] and .next_cursor == null' "$T/body"
expect_eq "owner is required: 400" "$(status GET "$BASE/v1/properties" -H "$(A "$LL")")" 400
check "...naming owner" jq -e '.error.field == "owner"' "$T/body"
expect_eq "limit 0: 400" "$(status GET "$BASE/v1/properties?owner=me&limit=0" -H "$(A "$LL")")" 400
expect_eq "limit 101: 400" "$(status GET "$BASE/v1/properties?owner=me&limit=101" -H "$(A "$LL")")" 400
expect_eq "a forged cursor: 400" "$(status GET "$BASE/v1/properties?owner=me&cursor=AAAA" -H "$(A "$LL")")" 400
check "...naming cursor" jq -e '.error.field == "cursor"' "$T/body"
expect_eq "anonymous list: 401" "$(status GET "$BASE/v1/properties?owner=me")" 401
expect_eq "a tenant's list: 403" "$(status GET "$BASE/v1/properties?owner=me" -H "$(A "$TN")")" 403

# ---- delete ------------------------------------------------------------------------------------
status POST "$BASE/v1/properties/$ID/publish" -H "$(A "$LL")" >/dev/null
expect_eq "DELETE with a stale If-Match: 412" "$(status DELETE "$BASE/v1/properties/$ID" -H "$(A "$LL")" -H "If-Match: \"$ID.1\"")" 412
expect_eq "the owner deletes: 204" "$(status DELETE "$BASE/v1/properties/$ID" -H "$(A "$LL")")" 204
expect_eq "a deleted published listing is gone: 410" "$(status GET "$BASE/v1/properties/$ID")" 410
expect_eq "...for the owner too" "$(status GET "$BASE/v1/properties/$ID" -H "$(A "$LL")")" 410
expect_eq "deleting again: 404" "$(status DELETE "$BASE/v1/properties/$ID" -H "$(A "$LL")")" 404
expect_eq "it cannot be published again: 404" "$(status POST "$BASE/v1/properties/$ID/publish" -H "$(A "$LL")")" 404
expect_eq "...nor patched: 404" "$(status PATCH "$BASE/v1/properties/$ID" -H "$(A "$LL")" -H "If-Match: \"$ID.99\"" -d '{"title":"x"}')" 404
expect_eq "a deleted draft is 404, not 410" \
    "$(status DELETE "$BASE/v1/properties/$MIN_ID" -H "$(A "$LL")")/$(status GET "$BASE/v1/properties/$MIN_ID" -H "$(A "$LL")")" "204/404"
check "property.deleted is the newest event, with status deleted" sh -c "
    psql '$PGURL' -Atc \"select type, data->>'status', data->>'deleted_at' is not null from rentezy.outbox
        where subject = '$ID' order by version desc limit 1\" | grep -qx 'property.deleted|deleted|t'"
check "deleted listings leave the owner's list" sh -c "
    curl -s -H 'Authorization: Bearer $LL' '$BASE/v1/properties?owner=me&limit=100' | jq -e '(.items | length) == 4'"

check "openapi.json documents every property route" sh -c "curl -s '$BASE/openapi.json' | jq -e '
    .paths[\"/v1/properties\"].post and .paths[\"/v1/properties\"].get and .paths[\"/v1/properties/{id}\"].patch
    and .paths[\"/v1/properties/{id}/photos/order\"].put and .paths[\"/media/{hash}\"].get
    and .paths[\"/v1/properties\"].post.requestBody.content[\"application/json\"].schema.properties.amenities'"
rz_stop TERM
expect_eq "the daemon exits 0 after SIGTERM" "$RZ_STATUS" 0
check "no worker crashed or leaked" sh -c "! grep -qE 'killed by signal|Sanitizer|runtime error' '$T/daemon.log'"
finish
