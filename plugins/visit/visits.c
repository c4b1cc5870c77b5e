/*
 * visits.c — POST /v1/slots/{id}/visits (a tenant asks for a slot),
 * POST /v1/visits/{id}/confirm, /decline (its landlord), /cancel (either
 * party), GET /v1/visits/{id} (its parties; 404 for anyone else),
 * GET /v1/visits (the caller's, newest first, in pages: ?limit=, ?cursor=).
 * Decline and cancel take an optional body {"reason"}; the others, when
 * they have a body, an empty object.
 */
#include "visit.h"

#include <stdio.h>
#include <string.h>

typedef struct call {
    rz_req_t *req;
    rzu_sql_t q;
    char id[UUID_LEN + 1], now[24];
    const char *what;
    rzu_page_t page;
} call_t;

static void answered(rz_dbres_t *res, void *u)
{
    call_t *c = u;
    rz_req_t *req = c->req;
    if (rzu_db_failed(req, res, "changing the visit"))
        return;
    const char *o = H->dbres_value(res, 0, 0);
    const char *detail = H->dbres_isnull(res, 0, 1) ? "" : H->dbres_value(res, 0, 1);
    if (strcmp(o, "created") == 0) {
        char loc[64];
        snprintf(loc, sizeof(loc), "/v1/visits/%s", c->id);
        H->resp_header(req, "Location", loc);
        rzu_reply_text(req, 201, H->dbres_value(res, 0, 2));
    } else if (strcmp(o, "ok") == 0) {
        rzu_reply_text(req, 200, H->dbres_value(res, 0, 2));
    } else if (strcmp(o, "not_found") == 0) {
        H->reply_error(req, 404, "not_found", NULL, "no such %s", c->what);
    } else if (strcmp(o, "not_owner") == 0) {
        H->reply_error(req, 403, "forbidden", NULL, "only the landlord answers a visit request");
    } else if (strcmp(o, "own") == 0) {
        H->reply_error(req, 409, "own_slot", NULL, "this is your own slot");
    } else if (strcmp(o, "taken") == 0) {
        H->reply_error(req, 409, "slot_taken", NULL, "another tenant has this slot");
    } else if (strcmp(o, "started") == 0) {
        H->reply_error(req, 409, "visit_started", NULL, "the slot has already begun");
    } else if (strcmp(o, "state") == 0) {
        H->reply_error(req, 409, "invalid_state", NULL, "the visit is %s", detail);
    } else {
        H->log(vs_g.self, RZ_LOG_ERROR, "visit: unexpected outcome %s", o);
        H->reply_error(req, 500, "internal", NULL, "changing the visit failed");
    }
}

enum { NO_REASON, NULL_REASON, REASON }; /* no parameter; NULL; the body's */

/* Run sql with ($1 path id, $2 caller, then extra..., now, traceparent,
 * then the reason unless NO_REASON). */
static void run(rz_req_t *req, const char *what, const char *sql, const char *extra,
                int reason_arg)
{
    static const char *const none[] = {NULL};
    static const char *const reason[] = {"reason", NULL};
    const char *id = H->req_param(req, "id"), *user = rzu_caller(req), *why = NULL;
    call_t *c = user ? rzu_alloc(req, sizeof(*c)) : NULL;
    if (!c)
        return;
    size_t blen = 0;
    H->req_body(req, &blen);
    if (blen) {
        cJSON *body = rzu_body(req, reason_arg == REASON ? reason : none);
        if (!body || (reason_arg == REASON && rzu_reason(req, body, VS_MAX_REASON, &why) < 0))
            return;
    }
    if (!rzu_is_uuid(id)) {
        H->reply_error(req, 404, "not_found", NULL, "no such %s", what);
        return;
    }
    c->req = req;
    c->what = what;
    rzu_i64(H->now_ms(), c->now);
    c->q = (rzu_sql_t){.sql = sql, .cb = answered, .udata = c};
    int n = 0;
    if (strcmp(what, "slot") == 0) { /* a new visit: its id first */
        rzu_uuid(c->id);
        c->q.p[n++] = c->id;
    }
    c->q.p[n++] = id;
    c->q.p[n++] = user;
    if (extra)
        c->q.p[n++] = extra;
    c->q.p[n++] = c->now;
    c->q.p[n++] = rzu_traceparent(req);
    if (reason_arg != NO_REASON)
        c->q.p[n++] = why;
    c->q.n = n;
    int rc = rzu_sql_run(&c->q);
    if (rc != RZ_OK)
        rzu_call_failed(req, rc, "the database");
}

void h_visit_request(rz_req_t *req, void *u)
{
    run(req, "slot", "SELECT o_outcome, o_detail, o_body FROM visit.request($1::uuid, $2::uuid, "
                     "$3::uuid, $4::bigint, $5)", NULL, NO_REASON);
}

static const char answer_sql[] = "SELECT o_outcome, o_detail, o_body FROM visit.answer($1::uuid, "
                                 "$2::uuid, $3::boolean, $4::bigint, $5, $6)";
void h_visit_confirm(rz_req_t *req, void *u) { run(req, "visit", answer_sql, "true", NULL_REASON); }
void h_visit_decline(rz_req_t *req, void *u) { run(req, "visit", answer_sql, "false", REASON); }

void h_visit_cancel(rz_req_t *req, void *u)
{
    run(req, "visit", "SELECT o_outcome, o_detail, o_body FROM visit.cancel($1::uuid, $2::uuid, "
                      "$3::bigint, $4, $5)", NULL, REASON);
}

static void got(rz_dbres_t *res, void *u)
{
    call_t *c = u;
    if (rzu_db_failed(c->req, res, "reading visits"))
        return;
    if (H->dbres_rows(res) != 1 || H->dbres_isnull(res, 0, 0)) {
        H->reply_error(c->req, 404, "not_found", NULL, "no such visit");
        return;
    }
    rzu_reply_text(c->req, 200, H->dbres_value(res, 0, 0));
}

void h_visit_get(rz_req_t *req, void *u)
{
    static const char sql[] = "SELECT visit.doc(v)::text FROM visit.visits v WHERE v.id = "
                              "$2::uuid AND (v.tenant_id = $1::uuid OR v.landlord_id = $1::uuid)";
    const char *id = H->req_param(req, "id"), *user = rzu_caller(req);
    call_t *c = user ? rzu_alloc(req, sizeof(*c)) : NULL;
    if (!c)
        return;
    if (!rzu_is_uuid(id)) {
        H->reply_error(req, 404, "not_found", NULL, "no such visit");
        return;
    }
    c->req = req;
    c->q = (rzu_sql_t){.sql = sql, .n = 2, .p = {user, id}, .flags = RZ_DB_READONLY, .cb = got,
                      .udata = c};
    int rc = rzu_sql_run(&c->q);
    if (rc != RZ_OK)
        rzu_call_failed(req, rc, "the database");
}

static void listed(rz_dbres_t *res, void *u)
{
    call_t *c = u;
    if (!rzu_db_failed(c->req, res, "listing visits"))
        rzu_page_reply(c->req, res, &c->page);
}

void h_visit_list(rz_req_t *req, void *u)
{
    /* a user is a tenant or a landlord: one of the two indexes answers */
    static const char sql[] =
        "SELECT visit.doc(v)::text, "
        "((extract(epoch FROM v.created_at) * 1000000)::bigint)::text || '.' || v.id "
        "FROM visit.visits v WHERE (v.tenant_id = $1::uuid OR v.landlord_id = $1::uuid) "
        "AND ($2::bigint IS NULL OR (v.created_at, v.id) < "
        "(to_timestamp($2::bigint / 1000000.0), $3::uuid)) "
        "ORDER BY v.created_at DESC, v.id DESC LIMIT $4::int + 1";
    const char *user = rzu_caller(req);
    call_t *c = user ? rzu_alloc(req, sizeof(*c)) : NULL;
    if (!c || rzu_page_args(req, &c->page) < 0)
        return;
    c->req = req;
    c->q = (rzu_sql_t){.sql = sql, .n = 4, .flags = RZ_DB_READONLY, .cb = listed, .udata = c,
                      .p = {user, c->page.has_cursor ? c->page.cur_us : NULL,
                            c->page.has_cursor ? c->page.cur_id : NULL, c->page.limit}};
    int rc = rzu_sql_run(&c->q);
    if (rc != RZ_OK)
        rzu_call_failed(req, rc, "the database");
}
