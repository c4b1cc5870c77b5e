/*
 * rest.c — the REST routes.  Only the two members of a conversation see it;
 * anyone else gets 404 (its existence must not leak).  Each route is one
 * statement; the JSON of conversations and messages is built by the
 * schema's functions (chat.conv_json, chat.msg_json), so REST and the
 * channel show the same shapes.
 */
#include "chat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct rq {
    rz_req_t *req;
    const char *p[5]; /* the send's parameters (request memory), for a retry */
    int tries;
    char id[UUID_LEN + 1];
    char a[24], b[24];
    int limit;
} rq_t;

static rq_t *rq_new(rz_req_t *req)
{
    rq_t *q = H->req_alloc(req, sizeof(*q));
    if (!q) {
        H->reply_error(req, 503, "unavailable", NULL, "out of memory");
        return NULL;
    }
    memset(q, 0, sizeof(*q));
    q->req = req;
    return q;
}

/* Answer a failed query; 1 when it failed. */
static int db_failed(rz_req_t *req, rz_dbres_t *res)
{
    int st = H->dbres_status(res);
    if (st == RZ_OK)
        return 0;
    if (st == RZ_EUNAVAIL) {
        H->resp_header(req, "Retry-After", "1");
        H->reply_error(req, 503, "unavailable", NULL, "the database is unavailable");
    } else {
        H->log(chat_g.self, RZ_LOG_ERROR, "%s %s: %s", H->req_method(req), H->req_path(req),
               H->dbres_message(res));
        H->reply_error(req, 500, "internal", NULL, "the request failed");
    }
    return 1;
}

static void query(rq_t *q, const char *sql, int n, const char *const *p, rz_db_cb cb)
{
    if (H->db_query(chat_g.self, 0, sql, n, p, cb, q) != RZ_OK) {
        H->resp_header(q->req, "Retry-After", "1");
        H->reply_error(q->req, 503, "unavailable", NULL, "the database is unavailable");
    }
}

/* Reply with a JSON text from the database. */
static void reply_text(rz_req_t *req, int status, const char *json)
{
    H->reply(req, status, "application/json", json, strlen(json));
}

/* limit: default 20, 1..100; -1 after answering 400. */
static int parse_limit(rz_req_t *req)
{
    const char *s = H->req_query(req, "limit");
    if (!s)
        return 20;
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end || v < 1 || v > 100) {
        H->reply_error(req, 400, "invalid", "limit", "limit must be 1 to 100");
        return -1;
    }
    return (int)v;
}

/* ---- POST /v1/chat/conversations ----------------------------------------------- */

static void opened(rz_dbres_t *res, void *u)
{
    rq_t *q = u;
    if (db_failed(q->req, res))
        return;
    const char *status = H->dbres_value(res, 0, 0);
    if (strcmp(status, "no_property") == 0) {
        H->reply_error(q->req, 404, "not_found", "property_id", "no published listing %s", q->id);
        return;
    }
    if (strcmp(status, "own_property") == 0) {
        H->reply_error(q->req, 409, "own_listing", "property_id",
                       "you cannot start a conversation about your own listing");
        return;
    }
    const char *conv = H->dbres_value(res, 0, 1);
    int created = strcmp(status, "created") == 0;
    if (created) {
        char loc[96];
        cJSON *j = cJSON_Parse(conv);
        cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
        if (cJSON_IsString(id)) {
            snprintf(loc, sizeof(loc), "/v1/chat/conversations/%s/messages", id->valuestring);
            H->resp_header(q->req, "Location", loc);
        }
        cJSON_Delete(j);
    }
    reply_text(q->req, created ? 201 : 200, conv);
}

void h_conv_open(rz_req_t *req, void *u)
{
    static const char sql[] = "SELECT status, conv::text FROM chat.open($1::uuid, $2)";
    cJSON *body = H->req_json(req);
    if (!body)
        return; /* answered */
    cJSON *pid = cJSON_GetObjectItemCaseSensitive(body, "property_id");
    if (!cJSON_IsObject(body) || !pid) {
        H->reply_error(req, 400, "missing", "property_id", "property_id is required");
        return;
    }
    if (!cJSON_IsString(pid) || !is_uuid(pid->valuestring)) {
        H->reply_error(req, 400, "invalid", "property_id", "property_id must be a listing id");
        return;
    }
    rq_t *q = rq_new(req);
    if (!q)
        return;
    memcpy(q->id, pid->valuestring, UUID_LEN + 1);
    const char *p[] = {q->id, H->req_user(req)};
    query(q, sql, 2, p, opened);
}

/* ---- GET /v1/chat/conversations ---------------------------------------------------- */

static void listed(rz_dbres_t *res, void *u)
{
    rq_t *q = u;
    if (db_failed(q->req, res))
        return;
    int rows = H->dbres_rows(res);
    cJSON *out = cJSON_CreateObject(), *items = cJSON_AddArrayToObject(out, "items");
    if (!items)
        goto fail;
    for (int i = 0; i < rows; i++) {
        cJSON *c = cJSON_Parse(H->dbres_value(res, i, 0));
        if (!c)
            goto fail;
        cJSON_AddItemToArray(items, c);
    }
    if (rows == q->limit) {
        char cur[80];
        snprintf(cur, sizeof(cur), "%s_%s", H->dbres_value(res, rows - 1, 1),
                 H->dbres_value(res, rows - 1, 2));
        if (!cJSON_AddStringToObject(out, "next_cursor", cur))
            goto fail;
    } else if (!cJSON_AddNullToObject(out, "next_cursor")) {
        goto fail;
    }
    H->reply_json(q->req, 200, out);
    return;
fail:
    cJSON_Delete(out);
    H->reply_error(q->req, 503, "unavailable", NULL, "out of memory");
}

void h_conv_list(rz_req_t *req, void *u)
{
    static const char sql[] =
        "SELECT chat.conv_json(c, $1)::text, "
        "(extract(epoch FROM c.last_at) * 1000000)::bigint, c.id "
        "FROM chat.conversations c WHERE (c.tenant_id = $1 OR c.landlord_id = $1) "
        "AND ($2::bigint IS NULL OR (c.last_at, c.id) < "
        "(timestamptz 'epoch' + $2::bigint * interval '1 microsecond', $3::uuid)) "
        "ORDER BY c.last_at DESC, c.id DESC LIMIT $4::int";
    int limit = parse_limit(req);
    if (limit < 0)
        return;
    rq_t *q = rq_new(req);
    if (!q)
        return;
    q->limit = limit;
    i64_text(limit, q->b);
    const char *cur = H->req_query(req, "cursor");
    const char *at = NULL, *id = NULL;
    if (cur) {
        const char *us = strchr(cur, '_');
        char *end;
        long long v = us ? strtoll(cur, &end, 10) : 0;
        if (!us || end != us || us == cur || !is_uuid(us + 1) || v < 0) {
            H->reply_error(req, 400, "invalid", "cursor", "not a cursor of this list");
            return;
        }
        i64_text(v, q->a);
        memcpy(q->id, us + 1, UUID_LEN + 1);
        at = q->a;
        id = q->id;
    }
    const char *p[] = {H->req_user(req), at, id, q->b};
    query(q, sql, 4, p, listed);
}

/* ---- GET /v1/chat/conversations/{id}/messages ------------------------------------------ */

static void history(rz_dbres_t *res, void *u)
{
    rq_t *q = u;
    if (db_failed(q->req, res))
        return;
    int rows = H->dbres_rows(res);
    if (rows == 0) {
        H->reply_error(q->req, 404, "not_found", NULL, "no conversation %s", q->id);
        return;
    }
    cJSON *out = cJSON_CreateObject(), *items = cJSON_AddArrayToObject(out, "items");
    if (!items)
        goto fail;
    int n = 0;
    for (int i = 0; i < rows; i++) {
        if (H->dbres_isnull(res, i, 0))
            continue; /* the conversation exists but has nothing before the cursor */
        cJSON *m = cJSON_Parse(H->dbres_value(res, i, 0));
        if (!m)
            goto fail;
        cJSON_AddItemToArray(items, m);
        n++;
    }
    if (n == q->limit) {
        if (!cJSON_AddStringToObject(out, "next_cursor", H->dbres_value(res, rows - 1, 1)))
            goto fail;
    } else if (!cJSON_AddNullToObject(out, "next_cursor")) {
        goto fail;
    }
    H->reply_json(q->req, 200, out);
    return;
fail:
    cJSON_Delete(out);
    H->reply_error(q->req, 503, "unavailable", NULL, "out of memory");
}

void h_msg_list(rz_req_t *req, void *u)
{
    static const char sql[] =
        "SELECT m.msg::text, m.seq FROM (SELECT id FROM chat.conversations "
        "WHERE id = $1::uuid AND $2 IN (tenant_id, landlord_id)) c "
        "LEFT JOIN LATERAL (SELECT chat.msg_json(m) AS msg, m.seq FROM chat.messages m "
        "WHERE m.conversation_id = c.id AND m.seq < $3::bigint "
        "ORDER BY m.seq DESC LIMIT $4::int) m ON true ORDER BY m.seq DESC";
    const char *id = H->req_param(req, "id");
    if (!is_uuid(id)) {
        H->reply_error(req, 404, "not_found", NULL, "no such conversation");
        return;
    }
    int limit = parse_limit(req);
    if (limit < 0)
        return;
    const char *before = H->req_query(req, "before");
    if (!before)
        before = H->req_query(req, "cursor");
    long long b = INT64_MAX;
    if (before) {
        char *end;
        b = strtoll(before, &end, 10);
        if (*before == '\0' || *end || b < 1) {
            H->reply_error(req, 400, "invalid", "before", "before must be a message seq");
            return;
        }
    }
    rq_t *q = rq_new(req);
    if (!q)
        return;
    memcpy(q->id, id, UUID_LEN + 1);
    q->limit = limit;
    i64_text(b, q->a);
    i64_text(limit, q->b);
    const char *p[] = {q->id, H->req_user(req), q->a, q->b};
    query(q, sql, 4, p, history);
}

/* ---- POST /v1/chat/conversations/{id}/messages ----------------------------------------- */

static const char send_sql[] =
    "SELECT status, recipient, msg::text FROM "
    "chat.send($1::uuid, $2, coalesce($3, gen_random_uuid()::text), $4, $5)";

static void sent(rz_dbres_t *res, void *u)
{
    rq_t *q = u;
    const char *state = H->dbres_sqlstate(res);
    if (H->dbres_status(res) == RZ_ERR && state && strcmp(state, "40001") == 0 && ++q->tries < 8) {
        query(q, send_sql, 5, q->p, sent); /* see batch.c: a new transaction succeeds */
        return;
    }
    if (db_failed(q->req, res))
        return;
    const char *status = H->dbres_value(res, 0, 0);
    if (strcmp(status, "not_found") == 0) {
        H->reply_error(q->req, 404, "not_found", NULL, "no conversation %s", q->id);
        return;
    }
    const char *msg = H->dbres_value(res, 0, 2);
    if (strcmp(status, "sent") == 0) {
        cJSON_Delete(deliver_sent(H->req_user(q->req), H->dbres_value(res, 0, 1), msg));
        char loc[96];
        snprintf(loc, sizeof(loc), "/v1/chat/conversations/%s/messages", q->id);
        H->resp_header(q->req, "Location", loc);
    }
    reply_text(q->req, strcmp(status, "sent") == 0 ? 201 : 200, msg);
}

void h_msg_post(rz_req_t *req, void *u)
{
    const char *id = H->req_param(req, "id");
    if (!is_uuid(id)) {
        H->reply_error(req, 404, "not_found", NULL, "no such conversation");
        return;
    }
    cJSON *body = H->req_json(req);
    if (!body)
        return;
    cJSON *text = cJSON_GetObjectItemCaseSensitive(body, "body");
    cJSON *cid = cJSON_GetObjectItemCaseSensitive(body, "client_msg_id");
    const char *why;
    if (!cJSON_IsString(text)) {
        H->reply_error(req, 400, "missing", "body", "body must be a string");
        return;
    }
    if ((why = body_problem(text->valuestring))) {
        H->reply_error(req, strstr(why, "max_message_size") ? 413 : 400,
                       strstr(why, "max_message_size") ? "too_large" : "invalid", "body", "%s",
                       why);
        return;
    }
    if (cid && !(cJSON_IsString(cid) && client_id_ok(cid->valuestring))) {
        H->reply_error(req, 400, "invalid", "client_msg_id",
                       "client_msg_id must be 1 to 64 printable ASCII characters");
        return;
    }
    rq_t *q = rq_new(req);
    if (!q)
        return;
    memcpy(q->id, id, UUID_LEN + 1);
    q->p[0] = q->id;
    q->p[1] = H->req_user(req);
    q->p[2] = cid ? cid->valuestring : NULL;
    q->p[3] = text->valuestring;
    q->p[4] = traceparent_of(req);
    query(q, send_sql, 5, q->p, sent);
}
