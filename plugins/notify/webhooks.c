/*
 * webhooks.c — a landlord's webhooks: POST/GET/DELETE /v1/webhooks and the
 * delivery log.  The secret is generated when absent and shown once, in the
 * answer to POST; it signs every delivery (http_post.c, nt_sign).
 */
#include "notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define HOOK_DOC                                                                           \
    "json_build_object('id', w.id, 'url', w.url, 'enabled', w.enabled, "                   \
    "'consecutive_failures', w.failures, 'created_at', notify.ts(w.created_at), "          \
    "'disabled_at', notify.ts(w.disabled_at))"

/* $1 owner, $2 url, $3 secret, $4 now ms, $5 per-owner limit.  No row when
 * the owner has reached the limit. */
static const char create_sql[] =
    "INSERT INTO notify.webhooks AS w (owner_id, url, secret, created_at) "
    "SELECT $1::uuid, $2, $3, to_timestamp($4::bigint / 1000.0) "
    "WHERE (SELECT count(*) FROM notify.webhooks x WHERE x.owner_id = $1::uuid AND NOT x.deleted) "
    "< $5::int RETURNING w.id::text, " HOOK_DOC "::text";

typedef struct create {
    rz_req_t *req;
    char secret[80];
    char now[24], limit[24];
    const char *p[5];
} create_t;

static void created(rz_dbres_t *res, void *u)
{
    create_t *c = u;
    rz_req_t *req = c->req;
    if (nt_db_failed(req, res, "creating the webhook"))
        return;
    if (H->dbres_rows(res) != 1) {
        H->reply_error(req, 409, "too_many_webhooks", NULL,
                       "at most %lld webhooks per account; delete one first",
                       (long long)nt_g.hook_max_per_owner);
        return;
    }
    cJSON *doc = cJSON_Parse(H->dbres_value(res, 0, 1));
    /* the secret is shown here and never again */
    if (!doc || !cJSON_AddStringToObject(doc, "secret", c->secret)) {
        cJSON_Delete(doc);
        nt_call_failed(req, RZ_ENOMEM, "memory");
        return;
    }
    char loc[64];
    snprintf(loc, sizeof(loc), "/v1/webhooks/%s", H->dbres_value(res, 0, 0));
    H->resp_header(req, "Location", loc);
    H->reply_json(req, 201, doc);
}

void h_hook_create(rz_req_t *req, void *u)
{
    cJSON *body = H->req_json(req);
    if (!body)
        return;
    const char *user = H->req_user(req), *why;
    if (!nt_is_uuid(user)) {
        H->reply_error(req, 403, "forbidden", NULL, "this account cannot own webhooks");
        return;
    }
    if (!cJSON_IsObject(body)) {
        H->reply_error(req, 400, "invalid", NULL, "expected {\"url\": ..., \"secret\": ...}");
        return;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, body) {
        if (strcmp(it->string, "url") != 0 && strcmp(it->string, "secret") != 0) {
            H->reply_error(req, 400, "invalid", it->string, "unknown field %s", it->string);
            return;
        }
    }
    const cJSON *url = cJSON_GetObjectItemCaseSensitive(body, "url");
    const cJSON *secret = cJSON_GetObjectItemCaseSensitive(body, "secret");
    nt_url_t parsed;
    if (!url) {
        H->reply_error(req, 400, "missing", "url", "url is required");
        return;
    }
    if (!cJSON_IsString(url) || nt_url_parse(url->valuestring, &parsed, &why) < 0) {
        H->reply_error(req, 400, "invalid", "url", "url: %s",
                       cJSON_IsString(url) ? why : "expected a string");
        return;
    }
    if (parsed.https) {
        H->reply_error(req, 400, "unsupported", "url",
                       "url: https delivery is not available in this build (no TLS client "
                       "yet); use http:// behind a TLS-terminating proxy");
        return;
    }
    if (!nt_g.allow_http) {
        H->reply_error(req, 400, "invalid", "url", "url: plain http is not allowed here");
        return;
    }
    create_t *c = H->req_alloc(req, sizeof(*c));
    if (!c) {
        nt_call_failed(req, RZ_ENOMEM, "memory");
        return;
    }
    memset(c, 0, sizeof(*c));
    c->req = req;
    if (secret && !cJSON_IsNull(secret)) {
        size_t n = cJSON_IsString(secret) ? strlen(secret->valuestring) : 0;
        int printable = n > 0;
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)secret->valuestring[i] < 0x21 ||
                (unsigned char)secret->valuestring[i] > 0x7e)
                printable = 0;
        if (n < 16 || n >= sizeof(c->secret) || !printable) {
            H->reply_error(req, 400, "invalid", "secret",
                           "secret: 16 to 79 printable ASCII characters without spaces");
            return;
        }
        memcpy(c->secret, secret->valuestring, n + 1);
    } else {
        unsigned char raw[32];
        randombytes_buf(raw, sizeof(raw));
        memcpy(c->secret, "whsec_", 6);
        sodium_bin2hex(c->secret + 6, sizeof(c->secret) - 6, raw, sizeof(raw));
        sodium_memzero(raw, sizeof(raw));
    }
    nt_ms_text(H->now_ms(), c->now);
    snprintf(c->limit, sizeof(c->limit), "%lld", (long long)nt_g.hook_max_per_owner);
    c->p[0] = user, c->p[1] = url->valuestring, c->p[2] = c->secret, c->p[3] = c->now;
    c->p[4] = c->limit;
    int rc = H->db_query(nt_g.self, 0, create_sql, 5, c->p, created, c);
    if (rc != RZ_OK)
        nt_call_failed(req, rc, "the database");
}

/* ---- read and delete ---------------------------------------------------------------- */

static void one_row_text(rz_dbres_t *res, void *u)
{
    rz_req_t *req = u;
    if (nt_db_failed(req, res, "reading webhooks"))
        return;
    if (H->dbres_rows(res) != 1 || H->dbres_isnull(res, 0, 0)) {
        H->reply_error(req, 404, "not_found", NULL, "no such webhook");
        return;
    }
    nt_reply_text(req, 200, H->dbres_value(res, 0, 0));
}

void h_hook_list(rz_req_t *req, void *u)
{
    /* at most webhook_max_per_owner: one page */
    static const char sql[] =
        "SELECT json_build_object('items', coalesce(json_agg(" HOOK_DOC
        " ORDER BY w.created_at, w.id), '[]'), 'next_cursor', NULL)::text "
        "FROM notify.webhooks w WHERE w.owner_id = $1::uuid AND NOT w.deleted";
    const char *p[] = {H->req_user(req)};
    if (!nt_is_uuid(p[0])) {
        nt_reply_text(req, 200, "{\"items\":[],\"next_cursor\":null}");
        return;
    }
    int rc = H->db_query(nt_g.self, RZ_DB_READONLY, sql, 1, p, one_row_text, req);
    if (rc != RZ_OK)
        nt_call_failed(req, rc, "the database");
}

static int ids(rz_req_t *req, const char **p)
{
    p[0] = H->req_param(req, "id");
    p[1] = H->req_user(req);
    if (!nt_is_uuid(p[0]) || !nt_is_uuid(p[1])) {
        H->reply_error(req, 404, "not_found", NULL, "no such webhook");
        return -1;
    }
    return 0;
}

void h_hook_get(rz_req_t *req, void *u)
{
    static const char sql[] = "SELECT " HOOK_DOC "::text FROM notify.webhooks w "
                              "WHERE w.id = $1::uuid AND w.owner_id = $2::uuid AND NOT w.deleted";
    const char *p[2];
    if (ids(req, p) < 0)
        return;
    int rc = H->db_query(nt_g.self, RZ_DB_READONLY, sql, 2, p, one_row_text, req);
    if (rc != RZ_OK)
        nt_call_failed(req, rc, "the database");
}

static void deleted(rz_dbres_t *res, void *u)
{
    rz_req_t *req = u;
    if (nt_db_failed(req, res, "deleting the webhook"))
        return;
    if (H->dbres_affected(res) != 1) {
        H->reply_error(req, 404, "not_found", NULL, "no such webhook");
        return;
    }
    H->reply(req, 204, NULL, NULL, 0);
}

void h_hook_delete(rz_req_t *req, void *u)
{
    /* kept (deleted) for the delivery log's foreign key; pending deliveries
     * are skipped by their jobs */
    static const char sql[] =
        "UPDATE notify.webhooks SET deleted = true, enabled = false, secret = '' "
        "WHERE id = $1::uuid AND owner_id = $2::uuid AND NOT deleted";
    const char *p[2];
    if (ids(req, p) < 0)
        return;
    int rc = H->db_query(nt_g.self, 0, sql, 2, p, deleted, req);
    if (rc != RZ_OK)
        nt_call_failed(req, rc, "the database");
}

/* ---- the delivery log ------------------------------------------------------------------ */

void h_hook_deliveries(rz_req_t *req, void *u)
{
    /* NULL when the webhook is not the caller's: 404 */
    static const char sql[] =
        "SELECT CASE WHEN w.id IS NULL THEN NULL ELSE json_build_object('items', "
        "coalesce((SELECT json_agg(json_build_object('id', d.id, 'event_id', d.event_id, "
        "'type', d.type, 'state', d.state, 'attempts', d.attempts, 'last_status', d.last_status, "
        "'last_error', d.last_error, 'created_at', notify.ts(d.created_at), "
        "'updated_at', notify.ts(d.updated_at)) ORDER BY d.seq DESC) FILTER (WHERE d.rn < $4::int) "
        "FROM (SELECT x.*, row_number() OVER (ORDER BY x.seq DESC) AS rn FROM notify.deliveries x "
        "WHERE x.webhook_id = w.id AND ($3::bigint IS NULL OR x.seq < $3::bigint) "
        "ORDER BY x.seq DESC LIMIT $4::int) d), '[]'), "
        "'next_cursor', (SELECT CASE WHEN count(*) >= $4::int THEN "
        "(min(y.seq) FILTER (WHERE y.rn < $4::int))::text END FROM (SELECT x.seq, "
        "row_number() OVER (ORDER BY x.seq DESC) AS rn FROM notify.deliveries x "
        "WHERE x.webhook_id = w.id AND ($3::bigint IS NULL OR x.seq < $3::bigint) "
        "ORDER BY x.seq DESC LIMIT $4::int) y)) END::text "
        "FROM (SELECT NULL) one LEFT JOIN notify.webhooks w "
        "ON w.id = $1::uuid AND w.owner_id = $2::uuid AND NOT w.deleted";
    char limit[8];
    const char *cursor;
    const char **p = H->req_alloc(req, 4 * sizeof(*p));
    char *plus = H->req_alloc(req, 24);
    if (!p || !plus) {
        nt_call_failed(req, RZ_ENOMEM, "memory");
        return;
    }
    if (ids(req, p) < 0 || nt_page(req, limit, &cursor) < 0)
        return;
    snprintf(plus, 24, "%ld", strtol(limit, NULL, 10) + 1);
    p[2] = cursor;
    p[3] = plus;
    int rc = H->db_query(nt_g.self, RZ_DB_READONLY, sql, 4, p, one_row_text, req);
    if (rc != RZ_OK)
        nt_call_failed(req, rc, "the database");
}
