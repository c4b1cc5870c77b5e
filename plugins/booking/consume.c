/*
 * consume.c — the events booking reads.
 *
 * property-events (shared group "booking"): each event carries the whole
 * listing snapshot (plugins/property/events.c); booking.apply_listing keeps
 * the fields booking needs and ignores a version older than the one it has,
 * so redelivery and replays are harmless.
 *
 * payment-events (shared group "booking"): payment.succeeded
 * {"booking_id", "payment_id", "amount": {"amount", "currency"}} confirms a
 * booking that waits for it, or asks for a refund (booking.refund_requested)
 * when it comes too late.  booking.payments remembers every payment id, so
 * a redelivered event changes nothing.  Other payment types are not ours,
 * and neither are payments of rent charges, which the rent plugin publishes
 * on the same topic (no booking_id, "purpose": "rent"): both are
 * acknowledged and ignored.
 */
#include "booking.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct consume {
    rz_event_t *ev;
    rzu_sql_t q;
    char version[24], now[24], amount[24];
    char id[UUID_LEN + 1];
    char payment[129], currency[4];
} consume_t;

static void done(rz_dbres_t *res, void *u)
{
    consume_t *c = u;
    int st = H->dbres_status(res);
    if (st == RZ_OK) {
        const char *out = H->dbres_rows(res) ? H->dbres_value(res, 0, 0) : "";
        if (strcmp(out, "unknown") == 0)
            H->log(bk_g.self, RZ_LOG_WARN, "%s %s: no booking %s; recorded and ignored",
                   H->event_type(c->ev), H->event_id(c->ev), c->id);
        H->bus_done(c->ev, RZ_BUS_OK, NULL);
    } else if (st == RZ_EUNAVAIL) {
        H->bus_done(c->ev, RZ_BUS_RETRY, "the database is unavailable");
    } else {
        /* bad data in the event (a cast failed) or a bug: retrying helps
         * only a transient error; the bus gives up after max_attempts */
        H->log(bk_g.self, RZ_LOG_WARN, "%s %s: %s", H->event_type(c->ev), H->event_id(c->ev),
               H->dbres_message(res));
        H->bus_done(c->ev, RZ_BUS_FAIL, H->dbres_message(res));
    }
    free(c);
}

static void run(consume_t *c)
{
    int rc = rzu_sql_run(&c->q);
    if (rc != RZ_OK) {
        H->bus_done(c->ev, RZ_BUS_RETRY, "the database is unavailable");
        free(c);
    }
}

void on_property_event(rz_event_t *ev, void *u)
{
    static const char sql[] =
        "SELECT booking.apply_listing($1::uuid, $2::bigint, $3::jsonb)";
    const char *subject = H->event_subject(ev), *data = H->event_data(ev);
    if (!rzu_is_uuid(subject) || !data) {
        H->bus_done(ev, RZ_BUS_FAIL, "property event without a listing id or data");
        return;
    }
    consume_t *c = calloc(1, sizeof(*c));
    if (!c) {
        H->bus_done(ev, RZ_BUS_RETRY, "out of memory");
        return;
    }
    c->ev = ev;
    memcpy(c->id, subject, UUID_LEN + 1);
    rzu_i64(H->event_version(ev), c->version);
    c->q = (rzu_sql_t){.sql = sql, .n = 3, .p = {c->id, c->version, data}, .cb = done,
                      .udata = c};
    run(c);
}

/* Fill c from the payment.succeeded data: 0, 1 when the payment is not for
 * a booking (nothing to do), -1 with *why when malformed. */
static int parse_payment(consume_t *c, const char *data, const char **why)
{
    cJSON *j = cJSON_Parse(data);
    cJSON *bid = cJSON_GetObjectItemCaseSensitive(j, "booking_id");
    cJSON *pid = cJSON_GetObjectItemCaseSensitive(j, "payment_id");
    cJSON *purpose = cJSON_GetObjectItemCaseSensitive(j, "purpose");
    cJSON *money = cJSON_GetObjectItemCaseSensitive(j, "amount");
    cJSON *amount = cJSON_GetObjectItemCaseSensitive(money, "amount");
    cJSON *cur = cJSON_GetObjectItemCaseSensitive(money, "currency");
    int rc = -1;
    if (!j || !cJSON_IsObject(j)) {
        *why = "payment.succeeded whose data is not a JSON object";
        goto out;
    }
    if ((!bid || cJSON_IsNull(bid)) &&
        !(cJSON_IsString(purpose) && strcmp(purpose->valuestring, "booking") == 0)) {
        rc = 1; /* a rent payment */
        goto out;
    }
    if (!cJSON_IsString(bid) || !rzu_is_uuid(bid->valuestring)) {
        *why = "payment.succeeded without a booking_id";
        goto out;
    }
    if (!cJSON_IsNumber(amount) || amount->valuedouble != floor(amount->valuedouble) ||
        amount->valuedouble < 0 || amount->valuedouble > 9e15 || !cJSON_IsString(cur) ||
        strlen(cur->valuestring) != 3) {
        *why = "payment.succeeded without an amount {amount, currency}";
        goto out;
    }
    /* the payment id names the payment; without one, the event's id does */
    const char *p = cJSON_IsString(pid) && pid->valuestring[0] ? pid->valuestring
                                                                : H->event_id(c->ev);
    if (strlen(p) >= sizeof(c->payment)) {
        *why = "payment.succeeded with a payment_id longer than 128 bytes";
        goto out;
    }
    memcpy(c->id, bid->valuestring, UUID_LEN + 1);
    memcpy(c->payment, p, strlen(p) + 1);
    memcpy(c->currency, cur->valuestring, 4);
    rzu_i64((int64_t)amount->valuedouble, c->amount);
    rc = 0;
out:
    cJSON_Delete(j);
    return rc;
}

void on_payment_event(rz_event_t *ev, void *u)
{
    static const char sql[] =
        "SELECT booking.pay($1::uuid, $2, $3::bigint, $4, $5::bigint, NULL)";
    const char *why = NULL;
    if (strcmp(H->event_type(ev), "payment.succeeded") != 0) {
        H->bus_done(ev, RZ_BUS_OK, NULL);
        return;
    }
    consume_t *c = calloc(1, sizeof(*c));
    if (!c) {
        H->bus_done(ev, RZ_BUS_RETRY, "out of memory");
        return;
    }
    c->ev = ev;
    int parsed = parse_payment(c, H->event_data(ev), &why);
    if (parsed != 0) {
        if (parsed < 0)
            H->log(bk_g.self, RZ_LOG_WARN, "event %s: %s", H->event_id(ev), why);
        H->bus_done(ev, parsed < 0 ? RZ_BUS_FAIL : RZ_BUS_OK, parsed < 0 ? why : NULL);
        free(c);
        return;
    }
    rzu_i64(H->now_ms(), c->now);
    c->q = (rzu_sql_t){.sql = sql, .n = 5, .p = {c->id, c->payment, c->amount, c->currency, c->now},
                      .cb = done, .udata = c};
    run(c);
}
