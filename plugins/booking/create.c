/*
 * create.c — POST /v1/bookings {property_id, check_in, check_out, guests}.
 *
 * The shape of the input is checked here (a bad request never reaches the
 * database); the rules of the listing (guests, nights, advance notice,
 * blackouts, availability) and the price are the SQL function
 * booking.create's, in the same statement as the insert, the event and the
 * expiry job.  Overlaps are refused by the exclusion constraint.
 */
#include "booking.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct create {
    rz_req_t *req;
    rzu_sql_t q;
    char id[UUID_LEN + 1];
    char in[11], out[11];
    char guests[12], now[24], hold[24], request[24];
} create_t;

/* Answer a refused booking whose dates collide with others: 409 naming the
 * range in the way, {"error": {..., "conflict": {"check_in", "check_out"}}}. */
static void reply_clash(rz_req_t *req, const char *code, const char *detail, const char *what)
{
    char in[11] = "", out[11] = "", msg[160];
    if (detail && strlen(detail) == 21) {
        memcpy(in, detail, 10);
        memcpy(out, detail + 11, 10);
    }
    snprintf(msg, sizeof(msg), "%s %s to %s", what, in[0] ? in : "?", out[0] ? out : "?");
    cJSON *o = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(o, "error"), *c;
    if (!e || !cJSON_AddStringToObject(e, "code", code) ||
        !cJSON_AddStringToObject(e, "message", msg) ||
        !cJSON_AddStringToObject(e, "field", "check_in"))
        goto fail;
    if (in[0]) {
        if (!(c = cJSON_AddObjectToObject(e, "conflict")) ||
            !cJSON_AddStringToObject(c, "check_in", in) ||
            !cJSON_AddStringToObject(c, "check_out", out))
            goto fail;
    }
    H->reply_json(req, 409, o);
    return;
fail:
    cJSON_Delete(o);
    rzu_call_failed(req, RZ_ENOMEM, "memory");
}

static void created(rz_dbres_t *res, void *u)
{
    create_t *c = u;
    rz_req_t *req = c->req;
    if (rzu_db_failed(req, res, "creating the booking"))
        return;
    const char *outcome = H->dbres_value(res, 0, 0);
    const char *detail = H->dbres_isnull(res, 0, 1) ? "" : H->dbres_value(res, 0, 1);
    if (strcmp(outcome, "created") == 0) {
        char loc[64];
        snprintf(loc, sizeof(loc), "/v1/bookings/%s", c->id);
        H->resp_header(req, "Location", loc);
        rzu_reply_text(req, 201, H->dbres_value(res, 0, 2));
    } else if (strcmp(outcome, "dates_unavailable") == 0) {
        reply_clash(req, "dates_unavailable", detail, "the dates are taken by a stay from");
    } else if (strcmp(outcome, "blocked") == 0) {
        reply_clash(req, "dates_blocked", detail, "the landlord has blocked the nights from");
    } else if (strcmp(outcome, "not_found") == 0) {
        H->reply_error(req, 404, "not_found", "property_id",
                       "no listing with this id is open for booking");
    } else if (strcmp(outcome, "too_many_guests") == 0) {
        H->reply_error(req, 400, "too_many_guests", "guests",
                       "this listing takes at most %s guests", detail);
    } else if (strcmp(outcome, "min_nights") == 0) {
        H->reply_error(req, 400, "too_few_nights", "check_out",
                       "this listing is booked for at least %s nights", detail);
    } else if (strcmp(outcome, "max_nights") == 0) {
        H->reply_error(req, 400, "too_many_nights", "check_out",
                       "this listing is booked for at most %s nights", detail);
    } else if (strcmp(outcome, "advance_notice") == 0) {
        H->reply_error(req, 400, "advance_notice", "check_in",
                       "this listing needs check-in at least %s days from today", detail);
    } else if (strcmp(outcome, "own_listing") == 0) {
        H->reply_error(req, 409, "own_listing", "property_id", "you cannot book your own listing");
    } else if (strcmp(outcome, "not_bookable") == 0) {
        H->reply_error(req, 409, "not_bookable", "property_id",
                       "this listing has no nightly price: it is let by the month");
    } else {
        H->log(bk_g.self, RZ_LOG_ERROR, "booking.create: unexpected outcome %s", outcome);
        H->reply_error(req, 500, "internal", NULL, "creating the booking failed");
    }
}

/* A date field into *days and its canonical text; -1 after answering. */
static int date_field(rz_req_t *req, cJSON *body, const char *field, int64_t *days, char *text)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(body, field);
    if (!v || cJSON_IsNull(v)) {
        H->reply_error(req, 400, "missing", field, "%s is required", field);
        return -1;
    }
    if (!cJSON_IsString(v) || rzu_date(v->valuestring, days) < 0) {
        H->reply_error(req, 400, "invalid_date", field,
                       "%s must be a calendar date written YYYY-MM-DD", field);
        return -1;
    }
    rzu_date_str(*days, text);
    return 0;
}

void h_create(rz_req_t *req, void *u)
{
    static const char sql[] =
        "SELECT o_outcome, o_detail, o_body FROM booking.create($1::uuid, $2::uuid, $3::uuid, "
        "$4::date, $5::date, $6::int, $7::bigint, $8::bigint, $9::bigint, $10)";
    static const char *const allowed[] = {"property_id", "check_in", "check_out", "guests", NULL};
    const char *user = rzu_caller(req);
    cJSON *body = user ? rzu_body(req, allowed) : NULL;
    create_t *c = body ? rzu_alloc(req, sizeof(*c)) : NULL;
    if (!c)
        return;
    c->req = req;
    cJSON *prop = cJSON_GetObjectItemCaseSensitive(body, "property_id");
    cJSON *guests = cJSON_GetObjectItemCaseSensitive(body, "guests");
    int64_t in, out, now = H->now_ms();
    int64_t today = now >= 0 ? now / 86400000 : (now - 86399999) / 86400000;
    if (!prop || cJSON_IsNull(prop)) {
        H->reply_error(req, 400, "missing", "property_id", "property_id is required");
        return;
    }
    if (!cJSON_IsString(prop) || !rzu_is_uuid(prop->valuestring)) {
        H->reply_error(req, 400, "invalid", "property_id", "property_id must be a listing id");
        return;
    }
    if (date_field(req, body, "check_in", &in, c->in) < 0 ||
        date_field(req, body, "check_out", &out, c->out) < 0)
        return;
    if (out == in) {
        H->reply_error(req, 400, "zero_nights", "check_out",
                       "check_out is the day of check_in: a stay is at least one night");
        return;
    }
    if (out < in) {
        H->reply_error(req, 400, "invalid_range", "check_out", "check_out is before check_in");
        return;
    }
    if (in < today) {
        H->reply_error(req, 400, "past_date", "check_in", "check_in is in the past");
        return;
    }
    if (in - today > BK_MAX_AHEAD_DAYS) {
        H->reply_error(req, 400, "too_far_ahead", "check_in",
                       "check_in is more than %d days ahead", BK_MAX_AHEAD_DAYS);
        return;
    }
    if (out - in > BK_MAX_NIGHTS) {
        H->reply_error(req, 400, "too_many_nights", "check_out", "a stay is at most %d nights",
                       BK_MAX_NIGHTS);
        return;
    }
    if (!guests || cJSON_IsNull(guests)) {
        H->reply_error(req, 400, "missing", "guests", "guests is required");
        return;
    }
    if (!cJSON_IsNumber(guests) || guests->valuedouble != floor(guests->valuedouble) ||
        guests->valuedouble < 1 || guests->valuedouble > BK_MAX_GUESTS) {
        H->reply_error(req, 400, "invalid", "guests", "guests must be a whole number from 1 to %d",
                       BK_MAX_GUESTS);
        return;
    }
    rzu_uuid(c->id);
    snprintf(c->guests, sizeof(c->guests), "%d", (int)guests->valuedouble);
    rzu_i64(now, c->now);
    rzu_i64(bk_g.hold_ms, c->hold);
    rzu_i64(bk_g.request_ms, c->request);
    c->q = (rzu_sql_t){.sql = sql, .n = 10, .cb = created, .udata = c,
                      .p = {c->id, user, prop->valuestring, c->in, c->out, c->guests, c->now,
                            c->hold, c->request, rzu_traceparent(req)}};
    int rc = rzu_sql_run(&c->q);
    if (rc != RZ_OK)
        rzu_call_failed(req, rc, "the database");
}
