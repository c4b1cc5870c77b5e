/*
 * events.c — the index follows property-events and booking-events.
 *
 * Both subscriptions are broadcast: every worker keeps its own index, so
 * every worker must see every event.  Applying is idempotent: the index
 * keeps each listing's and booking's newest version and answers SX_STALE for
 * anything not newer, which is how redelivery (at least once) and replay are
 * harmless.  A snapshot that is not "published" removes the listing from
 * results; its version is still remembered.
 *
 * Snapshots are property.snapshot() (plugins/property/schema): the
 * neighbourhood of a listing is its address's region, and blocks[] are
 * blackout date ranges [start, end).  Booking data is booking.doc()
 * (plugins/booking/schema): the dates are taken while its status holds
 * them (requested, pending_payment, confirmed, completed).
 */
#include "search.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_AMENITIES 64
#define MAX_BLOCKS 256

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double num(const cJSON *o, const char *k, double def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (cJSON_IsNumber(v))
        return v->valuedouble;
    if (cJSON_IsString(v)) { /* numeric columns may arrive as JSON strings */
        char *end;
        double d = strtod(v->valuestring, &end);
        if (end != v->valuestring && !*end && isfinite(d))
            return d;
    }
    return def;
}

/* "2026-01-31T10:00:00Z" -> ms since the epoch; 0 if absent or odd. */
static int64_t rfc3339_ms(const char *s)
{
    int32_t days;
    char date[11];
    if (!s || strlen(s) < 19)
        return 0;
    memcpy(date, s, 10);
    date[10] = '\0';
    if (sx_parse_date(date, &days) < 0)
        return 0;
    int h = atoi(s + 11), m = atoi(s + 14), sec = atoi(s + 17);
    return ((int64_t)days * 86400 + h * 3600 + m * 60 + sec) * 1000;
}

int apply_property(const char *json, int64_t version)
{
    cJSON *d = cJSON_Parse(json);
    const char *amen[MAX_AMENITIES];
    sx_range_t blocks[MAX_BLOCKS];
    int rc = SX_EINVAL;
    if (!d || !cJSON_IsObject(d))
        goto done;
    const char *id = str(d, "id"), *status = str(d, "status");
    if (!id || !status)
        goto done;
    if (version <= 0)
        version = (int64_t)num(d, "version", 0);
    if (strcmp(status, "deleted") == 0) {
        rc = search_g.be->remove(search_g.b, id, version);
        goto done;
    }
    const cJSON *addr = cJSON_GetObjectItemCaseSensitive(d, "address");
    const cJSON *loc = cJSON_GetObjectItemCaseSensitive(d, "location");
    const cJSON *np = cJSON_GetObjectItemCaseSensitive(d, "nightly_price");
    const cJSON *mr = cJSON_GetObjectItemCaseSensitive(d, "monthly_rent");
    sx_listing_in_t in = {
        .id = id,
        .version = version,
        .published = strcmp(status, "published") == 0,
        .title = str(d, "title"),
        .description = str(d, "description"),
        .neighbourhood = addr ? str(addr, "region") : NULL,
        .city = addr ? str(addr, "city") : NULL,
        .country = addr ? str(addr, "country") : NULL,
        .type = str(d, "property_type"),
        .lat = loc ? num(loc, "lat", 0) : 0,
        .lon = loc ? num(loc, "lon", 0) : 0,
        .bedrooms = (int)num(d, "bedrooms", -1),
        .beds = (int)num(d, "beds", -1),
        .bathrooms_x2 = num(d, "bathrooms", -1) < 0 ? -1 : (int)lround(num(d, "bathrooms", 0) * 2),
        .max_guests = (int)num(d, "max_guests", -1),
        .nightly = np ? (int64_t)num(np, "amount", 0) : 0,
        .nightly_cur = np ? str(np, "currency") : NULL,
        .monthly = mr ? (int64_t)num(mr, "amount", 0) : 0,
        .monthly_cur = mr ? str(mr, "currency") : NULL,
        .instant_book = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "instant_book")),
        .listed_at = rfc3339_ms(str(d, "published_at")),
        .amenities = amen,
        .blocks = blocks,
    };
    if (!in.listed_at)
        in.listed_at = rfc3339_ms(str(d, "created_at"));
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(d, "amenities"))
        if (cJSON_IsString(it) && in.namenities < MAX_AMENITIES)
            amen[in.namenities++] = it->valuestring;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(d, "blocks")) {
        int32_t s, e;
        const char *bs = str(it, "start"), *be = str(it, "end");
        if (in.nblocks < MAX_BLOCKS && bs && be && sx_parse_date(bs, &s) == 0 &&
            sx_parse_date(be, &e) == 0 && e > s)
            blocks[in.nblocks++] = (sx_range_t){.start = s, .end = e, .src = SX_SRC_BLOCK};
    }
    rc = search_g.be->put(search_g.b, &in);
done:
    cJSON_Delete(d);
    return rc;
}

static int holds_dates(const char *status)
{
    static const char *const taken[] = {"requested", "pending_payment", "confirmed", "completed",
                                        "held"};
    for (size_t i = 0; i < sizeof(taken) / sizeof(taken[0]); i++)
        if (strcmp(status, taken[i]) == 0)
            return 1;
    return 0;
}

int apply_booking(const char *type, const char *json, int64_t version)
{
    cJSON *d = cJSON_Parse(json);
    int rc = SX_EINVAL;
    int32_t ci, co;
    if (!d)
        return rc;
    const char *id = str(d, "id"), *pid = str(d, "property_id");
    const char *status = str(d, "status"), *cis = str(d, "check_in"), *cos = str(d, "check_out");
    if (!id || !pid || !cis || !cos || sx_parse_date(cis, &ci) < 0 || sx_parse_date(cos, &co) < 0)
        goto done;
    if (version <= 0)
        version = (int64_t)num(d, "version", 0);
    /* the status in the data says whether the dates are taken; without one,
     * the event type does (booking.held -> "held") */
    if (!status && type && strncmp(type, "booking.", 8) == 0)
        status = type + 8;
    if (!status)
        goto done;
    rc = search_g.be->booking(search_g.b, id, pid, version, holds_dates(status), ci, co);
done:
    cJSON_Delete(d);
    return rc;
}

static void finish(rz_event_t *ev, int rc)
{
    search_t *g = &search_g;
    if (rc == SX_OK || rc == SX_STALE) {
        int64_t now = H->now_ms(), t = H->event_time_ms(ev);
        g->last_apply_ms = now;
        if (rc == SX_OK) {
            g->applied++;
            g->lag[g->nlag++ % FRESH_RING] = now > t ? now - t : 0;
        } else {
            g->stale++;
        }
        g->last_event_ms = t;
        H->bus_done(ev, RZ_BUS_OK, NULL);
    } else if (rc == SX_ENOMEM) {
        H->bus_done(ev, RZ_BUS_RETRY, "out of memory");
    } else {
        g->rejected++;
        H->log(g->self, RZ_LOG_WARN, "event %s (%s) has data the index cannot use; skipped",
               H->event_id(ev), H->event_type(ev));
        H->bus_done(ev, RZ_BUS_FAIL, "malformed data");
    }
}

void on_property_event(rz_event_t *ev, void *udata)
{
    (void)udata;
    if (!search_g.b) {
        H->bus_done(ev, RZ_BUS_RETRY, "index not loaded");
        return;
    }
    finish(ev, apply_property(H->event_data(ev), H->event_version(ev)));
}

void on_booking_event(rz_event_t *ev, void *udata)
{
    (void)udata;
    if (!search_g.b) {
        H->bus_done(ev, RZ_BUS_RETRY, "index not loaded");
        return;
    }
    const char *type = H->event_type(ev);
    if (type && (strcmp(type, "booking.refund_requested") == 0)) {
        H->bus_done(ev, RZ_BUS_OK, NULL); /* no dates change */
        return;
    }
    finish(ev, apply_booking(type, H->event_data(ev), H->event_version(ev)));
}
