/*
 * consume.c — booking-events (shared group "rent").
 *
 * Every booking event carries the booking's document (booking.doc; the
 * refund_requested event nests it under "booking"): rent.apply_booking keeps
 * what a booking payment needs (payer, payee, total, status), ignoring an
 * older version.  booking.cancelled with a refund amount, and
 * booking.refund_requested (a payment that came after its hold expired),
 * record a refund under the key "refund:<event id>" — so a redelivered
 * event records nothing new — and its job sends it.
 */
#include "rent.h"

#include <stdlib.h>
#include <string.h>

typedef struct consume {
    rz_event_t *ev;
    rzu_sql_t q;
    char now[24], version[24];
} consume_t;

static void applied(rz_dbres_t *res, void *u)
{
    consume_t *c = u;
    int st = H->dbres_status(res);
    if (st == RZ_OK) {
        H->bus_done(c->ev, RZ_BUS_OK, NULL);
    } else if (st == RZ_EUNAVAIL) {
        H->bus_done(c->ev, RZ_BUS_RETRY, "the database is unavailable");
    } else {
        H->log(rt_g.self, RZ_LOG_WARN, "%s %s: %s", H->event_type(c->ev), H->event_id(c->ev),
               H->dbres_message(res));
        H->bus_done(c->ev, RZ_BUS_FAIL, H->dbres_message(res));
    }
    free(c);
}

void on_booking_event(rz_event_t *ev, void *u)
{
    static const char sql[] =
        "SELECT rent.apply_booking($1, $2, $3::bigint, $4::jsonb, $5::bigint)";
    const char *data = H->event_data(ev);
    consume_t *c;
    if (!data) {
        H->bus_done(ev, RZ_BUS_FAIL, "booking event without data");
        return;
    }
    if (!(c = calloc(1, sizeof(*c)))) {
        H->bus_done(ev, RZ_BUS_RETRY, "out of memory");
        return;
    }
    c->ev = ev;
    rzu_i64(H->now_ms(), c->now);
    rzu_i64(H->event_version(ev), c->version);
    c->q = (rzu_sql_t){.sql = sql, .n = 5,
                      .p = {H->event_type(ev), H->event_id(ev), c->version, data, c->now},
                      .cb = applied, .udata = c};
    if (rzu_sql_run(&c->q) != RZ_OK) {
        H->bus_done(ev, RZ_BUS_RETRY, "the database is unavailable");
        free(c);
    }
}
