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
    char now[24], limit[8], cur_us[24], cur_id[UUID_LEN + 1];
    int lim;
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
    if (rzu_db_failed(r->req, res, "listing bookings"))
        return;
    int rows = H->dbres_rows(res), n = rows > r->lim ? r->lim : rows;
    size_t len = 64;
    for (int i = 0; i < n; i++)
        len += strlen(H->dbres_value(res, i, 0)) + 1;
    char *out = H->req_alloc(r->req, len), *w = out;
    if (!out) {
        rzu_call_failed(r->req, RZ_ENOMEM, "memory");
        return;
    }
    /* the documents are JSON already: splice them, no re-parsing */
    w += sprintf(w, "{\"items\":[");
    for (int i = 0; i < n; i++)
        w += sprintf(w, "%s%s", i ? "," : "", H->dbres_value(res, i, 0));
    if (rows > r->lim)
        sprintf(w, "],\"next_cursor\":\"%s\"}", H->dbres_value(res, n - 1, 1));
    else
        sprintf(w, "],\"next_cursor\":null}");
    rzu_reply_text(r->req, 200, out);
}

/* "<microseconds>.<uuid>", as the list's second column writes it. */
static int parse_cursor(read_t *r, const char *c)
{
    const char *dot = strchr(c, '.');
    size_t n = dot ? (size_t)(dot - c) : 0;
    if (!dot || n == 0 || n > 19 || !rzu_is_uuid(dot + 1))
        return -1;
    for (size_t i = 0; i < n; i++)
        if (c[i] < '0' || c[i] > '9')
            return -1;
    memcpy(r->cur_us, c, n);
    memcpy(r->cur_id, dot + 1, UUID_LEN + 1);
    return 0;
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
    const char *limit = H->req_query(req, "limit");
    const char *cursor = H->req_query(req, "cursor");
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
    r->lim = 20;
    if (limit) {
        char *end;
        long l = strtol(limit, &end, 10);
        if (end == limit || *end || l < 1 || l > 100) {
            H->reply_error(req, 400, "invalid", "limit", "limit must be from 1 to 100");
            return;
        }
        r->lim = (int)l;
    }
    if (cursor && parse_cursor(r, cursor) < 0) {
        H->reply_error(req, 400, "invalid", "cursor", "cursor is not one this API gave out");
        return;
    }
    snprintf(r->limit, sizeof(r->limit), "%d", r->lim);
    rzu_i64(H->now_ms(), r->now);
    r->q = (rzu_sql_t){.sql = sql, .n = 8, .flags = RZ_DB_READONLY, .cb = listed, .udata = r,
                      .p = {user, role && strcmp(role, "landlord") == 0 ? "landlord" : "tenant",
                            r->now, prop, status, cursor ? r->cur_us : NULL,
                            cursor ? r->cur_id : NULL, r->limit}};
    int rc = rzu_sql_run(&r->q);
    if (rc != RZ_OK)
        rzu_call_failed(req, rc, "the database");
}
