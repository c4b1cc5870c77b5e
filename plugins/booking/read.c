/*
 * read.c — GET /v1/bookings/{id} (its tenant and its landlord only; 404 for
 * everyone else, so existence does not leak) and GET /v1/bookings (the
 * caller's: a tenant's own stays, a landlord's bookings of their listings;
 * ?property_id=, ?status=, ?limit=, ?cursor=).
 *
 * A hold read after its deadline shows as expired (booking.doc), whether
 * or not the expiry job has run yet.
 */
#include "booking.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct read {
    rz_req_t *req;
    rzu_sql_t q;
    char now[24];
    rzu_page_t page; /* the list */
} read_t;

/* ---- GET /v1/bookings/{id} ----------------------------------------------------------- */

static void got(rz_dbres_t *res, void *u)
{
    read_t *r = u;
    if (rzu_db_failed(r->req, res, "reading the booking"))
        return;
    if (H->dbres_rows(res) != 1) {
        H->reply_error(r->req, 404, "not_found", NULL, "no such booking");
        return;
    }
    rzu_reply_text(r->req, 200, H->dbres_value(res, 0, 0));
}

void h_get(rz_req_t *req, void *u)
{
    static const char sql[] =
        "SELECT booking.doc(b, $3::bigint)::text FROM booking.bookings b "
        "WHERE b.id = $1::uuid AND (b.tenant_id = $2::uuid OR b.landlord_id = $2::uuid)";
    const char *id = H->req_param(req, "id");
    const char *user = rzu_caller(req);
    read_t *r = user ? rzu_alloc(req, sizeof(*r)) : NULL;
    if (!r)
        return;
    if (!rzu_is_uuid(id)) {
        H->reply_error(req, 404, "not_found", NULL, "no such booking");
        return;
    }
    r->req = req;
    rzu_i64(H->now_ms(), r->now);
    r->q = (rzu_sql_t){.sql = sql, .n = 3, .p = {id, user, r->now}, .flags = RZ_DB_READONLY,
                      .cb = got, .udata = r};
    int rc = rzu_sql_run(&r->q);
    if (rc != RZ_OK)
        rzu_call_failed(req, rc, "the database");
}

/* ---- GET /v1/bookings ----------------------------------------------------------------- */

static void listed(rz_dbres_t *res, void *u)
{
    read_t *r = u;
    if (!rzu_db_failed(r->req, res, "listing bookings"))
        rzu_page_reply(r->req, res, &r->page);
}

void h_list(rz_req_t *req, void *u)
{
    /* $2 says whose side to list: a landlord's bookings or a tenant's */
    static const char sql[] =
        "SELECT booking.doc(b, $3::bigint)::text, "
        "((extract(epoch FROM b.created_at) * 1000000)::bigint)::text || '.' || b.id "
        "FROM booking.bookings b "
        "WHERE CASE WHEN $2 = 'landlord' THEN b.landlord_id = $1::uuid "
        "ELSE b.tenant_id = $1::uuid END "
        "AND ($4::uuid IS NULL OR b.property_id = $4::uuid) "
        "AND ($5::text IS NULL OR b.status = $5) "
        "AND ($6::bigint IS NULL OR (b.created_at, b.id) < "
        "(to_timestamp($6::bigint / 1000000.0), $7::uuid)) "
        "ORDER BY b.created_at DESC, b.id DESC LIMIT $8::int + 1";
    static const char *const statuses[] = {"requested", "pending_payment", "confirmed",
                                           "declined", "expired", "cancelled", "completed", NULL};
    const char *user = rzu_caller(req);
    read_t *r = user ? rzu_alloc(req, sizeof(*r)) : NULL;
    if (!r)
        return;
    r->req = req;
    const char *prop = H->req_query(req, "property_id");
    const char *status = H->req_query(req, "status");
    const char *role = H->req_role(req);
    if (prop && !rzu_is_uuid(prop)) {
        H->reply_error(req, 400, "invalid", "property_id", "property_id must be a listing id");
        return;
    }
    if (status) {
        const char *const *s = statuses;
        while (*s && strcmp(*s, status) != 0)
            s++;
        if (!*s) {
            H->reply_error(req, 400, "invalid", "status", "status is not a booking status");
            return;
        }
    }
    if (rzu_page_args(req, &r->page) < 0)
        return;
    rzu_i64(H->now_ms(), r->now);
    r->q = (rzu_sql_t){.sql = sql, .n = 8, .flags = RZ_DB_READONLY, .cb = listed, .udata = r,
                      .p = {user, role && strcmp(role, "landlord") == 0 ? "landlord" : "tenant",
                            r->now, prop, status, r->page.has_cursor ? r->page.cur_us : NULL,
                            r->page.has_cursor ? r->page.cur_id : NULL, r->page.limit}};
    int rc = rzu_sql_run(&r->q);
    if (rc != RZ_OK)
        rzu_call_failed(req, rc, "the database");
}
