/*
 * inbox.c — the in-app channel: list (newest first, cursor = sequence
 * number, ?unread=true), unread count, mark one or all read.  Every
 * statement is scoped to the caller: someone else's notification is 404.
 */
#include "notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* $1 user, $2 cursor or NULL, $3 unread only, $4 limit + 1.  One row: the
 * page as a JSON array (the first limit rows), the smallest sequence number
 * on it (the next cursor), and how many rows matched (limit + 1: there is a
 * next page). */
static const char list_sql[] =
    "SELECT coalesce(json_agg(notify.doc(x) ORDER BY x.seq DESC) FILTER (WHERE k.rn < $4::int), "
    "'[]')::text, (min(x.seq) FILTER (WHERE k.rn < $4::int))::text, count(*)::text "
    "FROM (SELECT seq, row_number() OVER (ORDER BY seq DESC) AS rn FROM notify.notifications "
    "WHERE user_id = $1::uuid AND ($2::bigint IS NULL OR seq < $2::bigint) "
    "AND (NOT $3::bool OR read_at IS NULL) ORDER BY seq DESC LIMIT $4::int) k "
    "JOIN notify.notifications x ON x.seq = k.seq";

typedef struct page {
    rz_req_t *req;
    long limit;
} page_t;

static void listed(rz_dbres_t *res, void *u)
{
    page_t *pg = u;
    rz_req_t *req = pg->req;
    if (nt_db_failed(req, res, "listing notifications"))
        return;
    cJSON *items = cJSON_Parse(H->dbres_value(res, 0, 0));
    cJSON *out = cJSON_CreateObject();
    long n = strtol(H->dbres_value(res, 0, 2), NULL, 10);
    if (!items || !out)
        goto fail;
    char cursor[24] = "";
    cJSON_AddItemToObject(out, "items", items);
    items = NULL;
    if (n > pg->limit) {
        /* the cursor is the smallest sequence number on this page: the next
         * page is everything below it */
        snprintf(cursor, sizeof(cursor), "%s", H->dbres_value(res, 0, 1));
    }
    if (!(*cursor ? cJSON_AddStringToObject(out, "next_cursor", cursor)
                  : cJSON_AddNullToObject(out, "next_cursor")))
        goto fail;
    H->reply_json(req, 200, out);
    return;
fail:
    cJSON_Delete(items);
    cJSON_Delete(out);
    nt_call_failed(req, RZ_ENOMEM, "memory");
}

void h_list(rz_req_t *req, void *u)
{
    char limit[8];
    const char *cursor, *unread = H->req_query(req, "unread");
    if (nt_page(req, limit, &cursor) < 0)
        return;
    if (unread && strcmp(unread, "true") != 0 && strcmp(unread, "false") != 0) {
        H->reply_error(req, 400, "invalid", "unread", "unread is true or false");
        return;
    }
    page_t *pg = H->req_alloc(req, sizeof(*pg));
    char *p3 = H->req_alloc(req, 24);
    if (!pg || !p3) {
        nt_call_failed(req, RZ_ENOMEM, "memory");
        return;
    }
    pg->req = req;
    pg->limit = strtol(limit, NULL, 10);
    snprintf(p3, 24, "%ld", pg->limit + 1);
    const char *p[] = {H->req_user(req), cursor, unread && strcmp(unread, "true") == 0 ? "t" : "f",
                       p3};
    if (!nt_is_uuid(p[0])) { /* another issuer's user has no notifications here */
        nt_reply_text(req, 200, "{\"items\":[],\"next_cursor\":null}");
        return;
    }
    int rc = H->db_query(nt_g.self, RZ_DB_READONLY, list_sql, 4, p, listed, pg);
    if (rc != RZ_OK)
        nt_call_failed(req, rc, "the database");
}

/* ---- unread count, read, read all ------------------------------------------------ */

static void counted(rz_dbres_t *res, void *u)
{
    rz_req_t *req = u;
    if (nt_db_failed(req, res, "counting notifications"))
        return;
    char out[64];
    snprintf(out, sizeof(out), "{\"unread\":%s}", H->dbres_value(res, 0, 0));
    nt_reply_text(req, 200, out);
}

void h_unread(rz_req_t *req, void *u)
{
    static const char sql[] = "SELECT count(*)::text FROM notify.notifications "
                              "WHERE user_id = $1::uuid AND read_at IS NULL";
    const char *p[] = {H->req_user(req)};
    if (!nt_is_uuid(p[0])) {
        nt_reply_text(req, 200, "{\"unread\":0}");
        return;
    }
    int rc = H->db_query(nt_g.self, RZ_DB_READONLY, sql, 1, p, counted, req);
    if (rc != RZ_OK)
        nt_call_failed(req, rc, "the database");
}

static void marked(rz_dbres_t *res, void *u)
{
    rz_req_t *req = u;
    if (nt_db_failed(req, res, "marking the notification read"))
        return;
    if (H->dbres_rows(res) != 1) {
        H->reply_error(req, 404, "not_found", NULL, "no such notification");
        return;
    }
    nt_reply_text(req, 200, H->dbres_value(res, 0, 0));
}

void h_read(rz_req_t *req, void *u)
{
    /* the first read time stays; marking again answers the same document */
    static const char sql[] =
        "UPDATE notify.notifications n SET read_at = coalesce(n.read_at, "
        "to_timestamp($3::bigint / 1000.0)) WHERE n.id = $1::uuid AND n.user_id = $2::uuid "
        "RETURNING notify.doc(n)::text";
    const char *id = H->req_param(req, "id"), *user = H->req_user(req);
    char *now = H->req_alloc(req, 24);
    if (!now) {
        nt_call_failed(req, RZ_ENOMEM, "memory");
        return;
    }
    if (!nt_is_uuid(id) || !nt_is_uuid(user)) {
        H->reply_error(req, 404, "not_found", NULL, "no such notification");
        return;
    }
    nt_ms_text(H->now_ms(), now);
    const char *p[] = {id, user, now};
    int rc = H->db_query(nt_g.self, 0, sql, 3, p, marked, req);
    if (rc != RZ_OK)
        nt_call_failed(req, rc, "the database");
}

static void marked_all(rz_dbres_t *res, void *u)
{
    rz_req_t *req = u;
    if (nt_db_failed(req, res, "marking notifications read"))
        return;
    char out[64];
    snprintf(out, sizeof(out), "{\"updated\":%lld}", (long long)H->dbres_affected(res));
    nt_reply_text(req, 200, out);
}

void h_read_all(rz_req_t *req, void *u)
{
    static const char sql[] =
        "UPDATE notify.notifications SET read_at = to_timestamp($2::bigint / 1000.0) "
        "WHERE user_id = $1::uuid AND read_at IS NULL";
    const char *user = H->req_user(req);
    char *now = H->req_alloc(req, 24);
    if (!now) {
        nt_call_failed(req, RZ_ENOMEM, "memory");
        return;
    }
    if (!nt_is_uuid(user)) {
        nt_reply_text(req, 200, "{\"updated\":0}");
        return;
    }
    nt_ms_text(H->now_ms(), now);
    const char *p[] = {user, now};
    int rc = H->db_query(nt_g.self, 0, sql, 2, p, marked_all, req);
    if (rc != RZ_OK)
        nt_call_failed(req, rc, "the database");
}
