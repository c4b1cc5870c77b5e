/*
 * change.c — POST /v1/bookings/{id}/accept and /decline (the landlord
 * answers a request) and /cancel (tenant or landlord; the refund follows
 * the listing's policy, see booking.refund in the schema).
 *
 * Each is one call of a SQL function that locks the booking, checks who
 * asks and in which state it is, writes, publishes and schedules.
 *
 * Decline and cancel take an optional body {"reason": "..."} (1 to
 * BK_MAX_REASON characters of UTF-8 text): it is stored, returned in reads
 * and carried by booking.declined / booking.cancelled.
 */
#include "booking.h"

#include <stdint.h>
#include <string.h>

typedef struct change {
    rz_req_t *req;
    rzu_sql_t q;
    char now[24], hold[24];
    const char *what; /* "accept", "decline", "cancel" */
} change_t;

static void changed(rz_dbres_t *res, void *u)
{
    change_t *c = u;
    rz_req_t *req = c->req;
    if (rzu_db_failed(req, res, "changing the booking"))
        return;
    const char *outcome = H->dbres_value(res, 0, 0);
    const char *detail = H->dbres_isnull(res, 0, 1) ? "" : H->dbres_value(res, 0, 1);
    if (strcmp(outcome, "ok") == 0)
        rzu_reply_text(req, 200, H->dbres_value(res, 0, 2));
    else if (strcmp(outcome, "not_found") == 0)
        H->reply_error(req, 404, "not_found", NULL, "no such booking");
    else if (strcmp(outcome, "not_owner") == 0)
        H->reply_error(req, 403, "forbidden", NULL, "only the landlord can %s a request",
                       c->what);
    else if (strcmp(outcome, "expired") == 0)
        H->reply_error(req, 409, "booking_expired", NULL,
                       "the booking expired: its deadline has passed");
    else if (strcmp(outcome, "started") == 0)
        H->reply_error(req, 409, "stay_started", NULL,
                       "the stay has begun: it can no longer be cancelled");
    else if (strcmp(outcome, "state") == 0)
        H->reply_error(req, 409, "invalid_state", NULL, "a booking that is %s cannot be %s",
                       detail, strcmp(c->what, "accept") == 0    ? "accepted"
                               : strcmp(c->what, "decline") == 0 ? "declined"
                                                                 : "cancelled");
    else {
        H->log(bk_g.self, RZ_LOG_ERROR, "booking %s: unexpected outcome %s", c->what, outcome);
        H->reply_error(req, 500, "internal", NULL, "changing the booking failed");
    }
}

static void run(rz_req_t *req, const char *what, const char *sql, int accept)
{
    static const char *const none[] = {NULL};
    static const char *const reason[] = {"reason", NULL};
    const char *id = H->req_param(req, "id");
    const char *user = rzu_caller(req);
    const char *why = NULL;
    change_t *c = user ? rzu_alloc(req, sizeof(*c)) : NULL;
    if (!c)
        return;
    /* an empty body is fine; a body, when sent, must be an object */
    size_t blen = 0;
    H->req_body(req, &blen);
    if (blen) {
        cJSON *body = rzu_body(req, strcmp(what, "accept") == 0 ? none : reason);
        if (!body || rzu_reason(req, body, BK_MAX_REASON, &why) < 0)
            return;
    }
    if (!rzu_is_uuid(id)) {
        H->reply_error(req, 404, "not_found", NULL, "no such booking");
        return;
    }
    c->req = req;
    c->what = what;
    rzu_i64(H->now_ms(), c->now);
    rzu_i64(bk_g.hold_ms, c->hold);
    c->q = (rzu_sql_t){.sql = sql, .cb = changed, .udata = c};
    if (accept >= 0) {
        c->q.n = 7;
        c->q.p[0] = id, c->q.p[1] = user, c->q.p[2] = accept ? "true" : "false";
        c->q.p[3] = c->now, c->q.p[4] = c->hold, c->q.p[5] = rzu_traceparent(req);
        c->q.p[6] = why;
    } else {
        c->q.n = 5;
        c->q.p[0] = id, c->q.p[1] = user, c->q.p[2] = c->now, c->q.p[3] = rzu_traceparent(req);
        c->q.p[4] = why;
    }
    int rc = rzu_sql_run(&c->q);
    if (rc != RZ_OK)
        rzu_call_failed(req, rc, "the database");
}

static const char answer_sql[] =
    "SELECT o_outcome, o_detail, o_body FROM booking.answer($1::uuid, $2::uuid, $3::boolean, "
    "$4::bigint, $5::bigint, $6, $7)";

void h_accept(rz_req_t *req, void *u) { run(req, "accept", answer_sql, 1); }
void h_decline(rz_req_t *req, void *u) { run(req, "decline", answer_sql, 0); }

void h_cancel(rz_req_t *req, void *u)
{
    static const char sql[] = "SELECT o_outcome, o_detail, o_body FROM booking.cancel($1::uuid, "
                              "$2::uuid, $3::bigint, $4, $5)";
    run(req, "cancel", sql, -1);
}
