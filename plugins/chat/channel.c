/*
 * channel.c — the WebSocket channel "chat" (docs/decisions/0011-chat.md).
 *
 * Client -> server: send, resume, read, typing, ping.
 * Server -> client: ack, message, message_ref, resumed, read, typing,
 * presence, pong, error.  Every malformed or refused message is answered
 * with {type:"error", code, message} (and the client_msg_id or
 * conversation_id it concerned), never dropped in silence.
 *
 * A query in flight holds a reference on the connection's chat_conn_t; its
 * callback answers only while conn->ws is set (the connection may have
 * closed meanwhile) and then drops the reference.
 */
#include "chat.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RESUME_MAX_CONVS 50
#define RESUME_PER_CONV 200

static void conn_unref(chat_conn_t *c)
{
    if (--c->refs == 0)
        free(c);
}

op_t *op_new(chat_conn_t *c)
{
    op_t *o = calloc(1, sizeof(*o));
    if (!o)
        return NULL;
    o->c = c;
    c->refs++;
    return o;
}

void op_free(op_t *o)
{
    conn_unref(o->c);
    free(o->ids);
    free(o->seqs);
    free(o->body);
    free(o);
}

void send_error(rz_ws_t *ws, const char *code, const char *client, const char *conv,
                const char *fmt, ...)
{
    char text[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    cJSON *m = cJSON_CreateObject();
    if (!m || !cJSON_AddStringToObject(m, "type", "error") ||
        !cJSON_AddStringToObject(m, "code", code) || !cJSON_AddStringToObject(m, "message", text) ||
        (client && !cJSON_AddStringToObject(m, "client_msg_id", client)) ||
        (conv && !cJSON_AddStringToObject(m, "conversation_id", conv))) {
        cJSON_Delete(m);
        return;
    }
    H->ws_send(ws, "chat", m);
}

/* An error of the database, told to the client when it is still there. */
static int op_failed(op_t *o, rz_dbres_t *res)
{
    int st = H->dbres_status(res);
    if (st == RZ_OK)
        return 0;
    if (st != RZ_EUNAVAIL)
        H->log(chat_g.self, RZ_LOG_ERROR, "chat query failed: %s", H->dbres_message(res));
    if (o->c->ws)
        send_error(o->c->ws, st == RZ_EUNAVAIL ? "unavailable" : "internal",
                   o->client[0] ? o->client : NULL, o->conv[0] ? o->conv : NULL,
                   "the message could not be processed; retry");
    return 1;
}

static int run(op_t *o, const char *sql, int n, const char *const *p, rz_db_cb cb)
{
    if (H->db_query(chat_g.self, 0, sql, n, p, cb, o) == RZ_OK)
        return 0;
    send_error(o->c->ws, "unavailable", o->client[0] ? o->client : NULL,
               o->conv[0] ? o->conv : NULL, "the database is unavailable; retry");
    op_free(o);
    return -1;
}

/* The conversation_id of msg, or NULL after answering the error. */
static const char *want_conv(rz_ws_t *ws, cJSON *msg, const char *client)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(msg, "conversation_id");
    if (!v) {
        send_error(ws, "missing", client, NULL, "conversation_id is required");
        return NULL;
    }
    if (!cJSON_IsString(v) || !is_uuid(v->valuestring)) {
        send_error(ws, "invalid", client, NULL, "conversation_id must be a conversation id");
        return NULL;
    }
    return v->valuestring;
}

/* ---- send ------------------------------------------------------------------------ */

void send_ack(op_t *o, cJSON *m, int dup)
{
    cJSON *id = cJSON_GetObjectItemCaseSensitive(m, "id");
    cJSON *seq = cJSON_GetObjectItemCaseSensitive(m, "seq");
    if (!o->c->ws || !cJSON_IsString(id) || !cJSON_IsNumber(seq))
        return;
    cJSON *ack = cJSON_CreateObject();
    if (ack && cJSON_AddStringToObject(ack, "type", "ack") &&
        cJSON_AddStringToObject(ack, "client_msg_id", o->client) &&
        cJSON_AddStringToObject(ack, "conversation_id", o->conv) &&
        cJSON_AddStringToObject(ack, "id", id->valuestring) &&
        cJSON_AddNumberToObject(ack, "seq", seq->valuedouble) &&
        cJSON_AddBoolToObject(ack, "duplicate", dup))
        H->ws_send(o->c->ws, "chat", ack);
    else
        cJSON_Delete(ack);
}

static void do_send(chat_conn_t *c, cJSON *msg)
{
    rz_ws_t *ws = c->ws;
    cJSON *cid = cJSON_GetObjectItemCaseSensitive(msg, "client_msg_id");
    cJSON *body = cJSON_GetObjectItemCaseSensitive(msg, "body");
    if (!cJSON_IsString(cid) || !client_id_ok(cid->valuestring)) {
        send_error(ws, cid ? "invalid" : "missing", NULL, NULL,
                   "client_msg_id must be 1 to 64 printable ASCII characters");
        return;
    }
    const char *client = cid->valuestring, *conv, *why;
    if (!(conv = want_conv(ws, msg, client)))
        return;
    if (!cJSON_IsString(body)) {
        send_error(ws, body ? "invalid" : "missing", client, conv, "body must be a string");
        return;
    }
    if ((why = body_problem(body->valuestring))) {
        send_error(ws, strstr(why, "max_message_size") ? "too_large" : "invalid", client, conv,
                   "%s (%llu bytes at most)", why, (unsigned long long)chat_g.max_message_size);
        return;
    }
    op_t *o = op_new(c);
    if (!o || !(o->body = strdup(body->valuestring))) {
        if (o)
            op_free(o);
        send_error(ws, "unavailable", client, conv, "out of memory; retry");
        return;
    }
    memcpy(o->conv, conv, UUID_LEN + 1);
    memcpy(o->client, client, strlen(client) + 1);
    send_enqueue(o);
}

/* ---- resume ------------------------------------------------------------------------- */

static void on_resume(rz_dbres_t *res, void *u)
{
    op_t *o = u;
    if (op_failed(o, res) || !o->c->ws)
        goto done;
    rz_ws_t *ws = o->c->ws;
    int rows = H->dbres_rows(res), count = 0;
    cJSON *sum = cJSON_CreateObject();
    cJSON *pos = cJSON_AddObjectToObject(sum, "positions");
    cJSON *more = cJSON_AddArrayToObject(sum, "more");
    cJSON *nf = cJSON_AddArrayToObject(sum, "not_found");
    if (!nf || !cJSON_AddStringToObject(sum, "type", "resumed"))
        goto oom;
    for (int i = 0; i < rows; i++) {
        const char *cid = H->dbres_value(res, i, 0);
        int last = i + 1 == rows || strcmp(cid, H->dbres_value(res, i + 1, 0)) != 0;
        if (strcmp(H->dbres_value(res, i, 3), "f") == 0) {
            if (!cJSON_AddItemToArray(nf, cJSON_CreateString(cid)))
                goto oom;
            continue;
        }
        if (!H->dbres_isnull(res, i, 1)) {
            cJSON *m = cJSON_Parse(H->dbres_value(res, i, 1));
            if (!m || !cJSON_AddStringToObject(m, "type", "message")) {
                cJSON_Delete(m);
                goto oom;
            }
            if (H->ws_send(ws, "chat", m) != RZ_OK)
                goto out; /* closed for back-pressure: it resumes again */
            count++;
        } else {
            count = 0;
        }
        if (last) {
            const char *seq = H->dbres_isnull(res, i, 2) ? H->dbres_value(res, i, 4)
                                                         : H->dbres_value(res, i, 2);
            if (!cJSON_AddNumberToObject(pos, cid, strtod(seq, NULL)))
                goto oom;
            if (count >= RESUME_PER_CONV && !cJSON_AddItemToArray(more, cJSON_CreateString(cid)))
                goto oom;
            count = 0;
        }
    }
    H->ws_send(ws, "chat", sum);
    goto done;
oom:
    send_error(ws, "unavailable", NULL, NULL, "out of memory; resume again");
out:
    cJSON_Delete(sum);
done:
    op_free(o);
}

/* "{a,b,c}" from the positions object: ids and seqs as array literals. */
static int positions_arrays(cJSON *pos, char **ids, char **seqs, const char **why)
{
    int n = cJSON_GetArraySize(pos);
    *ids = *seqs = NULL;
    if (n == 0 || n > RESUME_MAX_CONVS) {
        *why = "positions must name 1 to 50 conversations";
        return -1;
    }
    size_t icap = (size_t)n * (UUID_LEN + 1) + 3, scap = (size_t)n * 21 + 3, il = 1, sl = 1;
    char *a = malloc(icap), *b = malloc(scap);
    if (!a || !b) {
        *why = "out of memory";
        goto fail;
    }
    a[0] = b[0] = '{';
    cJSON *e;
    cJSON_ArrayForEach(e, pos)
    {
        double v = e->valuedouble;
        if (!is_uuid(e->string) || !cJSON_IsNumber(e) || v < 0 || v > 9e15 || v != (double)(int64_t)v) {
            *why = "positions maps conversation ids to the last seq received (0 for none)";
            goto fail;
        }
        il += (size_t)snprintf(a + il, icap - il, "%s%s", il > 1 ? "," : "", e->string);
        sl += (size_t)snprintf(b + sl, scap - sl, "%s%lld", sl > 1 ? "," : "", (long long)v);
    }
    memcpy(a + il, "}", 2);
    memcpy(b + sl, "}", 2);
    *ids = a;
    *seqs = b;
    return 0;
fail:
    free(a);
    free(b);
    return -1;
}

static void do_resume(chat_conn_t *c, cJSON *msg)
{
    static const char sql[] =
        "SELECT p.cid::text, m.msg::text, m.seq, c.id IS NOT NULL, p.after "
        "FROM unnest($2::uuid[], $3::bigint[]) AS p(cid, after) "
        "LEFT JOIN chat.conversations c ON c.id = p.cid AND $1 IN (c.tenant_id, c.landlord_id) "
        "LEFT JOIN LATERAL (SELECT chat.msg_json(m) AS msg, m.seq FROM chat.messages m "
        "WHERE m.conversation_id = c.id AND m.seq > p.after ORDER BY m.seq LIMIT 200) m ON true "
        "ORDER BY p.cid, m.seq";
    cJSON *pos = cJSON_GetObjectItemCaseSensitive(msg, "positions");
    const char *why = NULL;
    if (!cJSON_IsObject(pos)) {
        send_error(c->ws, pos ? "invalid" : "missing", NULL, NULL,
                   "positions must be an object {conversation_id: last_seq}");
        return;
    }
    op_t *o = op_new(c);
    if (!o) {
        send_error(c->ws, "unavailable", NULL, NULL, "out of memory; retry");
        return;
    }
    if (positions_arrays(pos, &o->ids, &o->seqs, &why) < 0) {
        send_error(c->ws, "invalid", NULL, NULL, "%s", why);
        op_free(o);
        return;
    }
    const char *p[] = {c->uid, o->ids, o->seqs};
    run(o, sql, 3, p, on_resume);
}

/* ---- read receipts and typing ---------------------------------------------------------- */

static void on_read(rz_dbres_t *res, void *u)
{
    op_t *o = u;
    if (op_failed(o, res))
        goto done;
    if (H->dbres_rows(res) == 0) {
        if (o->c->ws)
            send_error(o->c->ws, "not_found", NULL, o->conv, "no conversation %s", o->conv);
        goto done;
    }
    const char *other = H->dbres_value(res, 0, 0);
    for (int who = 0; who < 2; who++) {
        cJSON *m = cJSON_CreateObject();
        if (!m || !cJSON_AddStringToObject(m, "type", "read") ||
            !cJSON_AddStringToObject(m, "conversation_id", o->conv) ||
            !cJSON_AddStringToObject(m, "user_id", o->c->uid) ||
            !cJSON_AddNumberToObject(m, "seq", strtod(H->dbres_value(res, 0, 1), NULL))) {
            cJSON_Delete(m);
            break;
        }
        push_user(who == 0 ? other : o->c->uid, m); /* the reader's other devices too */
    }
done:
    op_free(o);
}

static void do_read(chat_conn_t *c, cJSON *msg)
{
    static const char sql[] =
        "UPDATE chat.conversations SET "
        "tenant_read = CASE WHEN $2 = tenant_id THEN greatest(tenant_read, least($3::bigint, last_seq)) "
        "ELSE tenant_read END, "
        "landlord_read = CASE WHEN $2 = landlord_id THEN greatest(landlord_read, least($3::bigint, last_seq)) "
        "ELSE landlord_read END "
        "WHERE id = $1::uuid AND $2 IN (tenant_id, landlord_id) "
        "RETURNING CASE WHEN $2 = tenant_id THEN landlord_id ELSE tenant_id END, "
        "CASE WHEN $2 = tenant_id THEN tenant_read ELSE landlord_read END";
    const char *conv = want_conv(c->ws, msg, NULL);
    if (!conv)
        return;
    cJSON *seq = cJSON_GetObjectItemCaseSensitive(msg, "seq");
    if (!cJSON_IsNumber(seq) || seq->valuedouble < 0 || seq->valuedouble > 9e15 ||
        seq->valuedouble != (double)(int64_t)seq->valuedouble) {
        send_error(c->ws, seq ? "invalid" : "missing", NULL, conv,
                   "seq must be the last message seq read");
        return;
    }
    op_t *o = op_new(c);
    if (!o) {
        send_error(c->ws, "unavailable", NULL, conv, "out of memory; retry");
        return;
    }
    memcpy(o->conv, conv, UUID_LEN + 1);
    i64_text((int64_t)seq->valuedouble, o->num);
    const char *p[] = {o->conv, c->uid, o->num};
    run(o, sql, 3, p, on_read);
}

static void on_typing(rz_dbres_t *res, void *u)
{
    op_t *o = u;
    if (op_failed(o, res))
        goto done;
    if (H->dbres_rows(res) == 0) {
        if (o->c->ws)
            send_error(o->c->ws, "not_found", NULL, o->conv, "no conversation %s", o->conv);
        goto done;
    }
    cJSON *m = cJSON_CreateObject();
    if (!m || !cJSON_AddStringToObject(m, "type", "typing") ||
        !cJSON_AddStringToObject(m, "conversation_id", o->conv) ||
        !cJSON_AddStringToObject(m, "user_id", o->c->uid) ||
        !cJSON_AddBoolToObject(m, "typing", o->num[0] == '1')) {
        cJSON_Delete(m);
        goto done;
    }
    push_user(H->dbres_value(res, 0, 0), m);
done:
    op_free(o);
}

static void do_typing(chat_conn_t *c, cJSON *msg)
{
    static const char sql[] =
        "SELECT CASE WHEN $2 = tenant_id THEN landlord_id ELSE tenant_id END "
        "FROM chat.conversations WHERE id = $1::uuid AND $2 IN (tenant_id, landlord_id)";
    const char *conv = want_conv(c->ws, msg, NULL);
    if (!conv)
        return;
    cJSON *t = cJSON_GetObjectItemCaseSensitive(msg, "typing");
    if (t && !cJSON_IsBool(t)) {
        send_error(c->ws, "invalid", NULL, conv, "typing must be true or false");
        return;
    }
    op_t *o = op_new(c);
    if (!o) {
        send_error(c->ws, "unavailable", NULL, conv, "out of memory; retry");
        return;
    }
    memcpy(o->conv, conv, UUID_LEN + 1);
    o->num[0] = !t || cJSON_IsTrue(t) ? '1' : '0';
    const char *p[] = {o->conv, c->uid};
    run(o, sql, 2, p, on_typing);
}

/* ---- the channel ------------------------------------------------------------------------ */

void ch_open(rz_ws_t *ws, void *u)
{
    chat_conn_t *c = calloc(1, sizeof(*c));
    if (!c || !(c->user = user_attach(H->ws_user(ws)))) {
        free(c);
        H->log(chat_g.self, RZ_LOG_ERROR, "out of memory: chat is off for a connection");
        return;
    }
    c->ws = ws;
    c->refs = 1;
    snprintf(c->uid, sizeof(c->uid), "%s", c->user->id);
    H->ws_set_data(ws, chat_g.self, c);
    presence_tick();
}

void ch_close(rz_ws_t *ws, void *u)
{
    chat_conn_t *c = H->ws_get_data(ws, chat_g.self);
    if (!c)
        return;
    H->ws_set_data(ws, chat_g.self, NULL);
    c->ws = NULL;
    send_drop(c);
    user_detach(c->user);
    c->user = NULL;
    presence_tick();
    conn_unref(c);
}

void ch_message(rz_ws_t *ws, cJSON *msg, void *u)
{
    chat_conn_t *c = H->ws_get_data(ws, chat_g.self);
    if (!c) {
        send_error(ws, "unavailable", NULL, NULL, "chat is unavailable on this connection");
        return;
    }
    presence_tick();
    cJSON *type = cJSON_GetObjectItemCaseSensitive(msg, "type");
    if (!cJSON_IsString(type)) {
        send_error(ws, "invalid_message", NULL, NULL, "a chat message needs \"type\"");
        return;
    }
    const char *t = type->valuestring;
    if (strcmp(t, "ping") == 0) {
        cJSON *m = cJSON_CreateObject();
        if (m && cJSON_AddStringToObject(m, "type", "pong"))
            H->ws_send(ws, "chat", m);
        else
            cJSON_Delete(m);
        return;
    }
    if (!user_allow(c->user)) {
        cJSON *cid = cJSON_GetObjectItemCaseSensitive(msg, "client_msg_id");
        send_error(ws, "rate_limited", cJSON_IsString(cid) ? cid->valuestring : NULL, NULL,
                   "over %lld messages per second; slow down and resend",
                   (long long)chat_g.rate);
        return;
    }
    if (strcmp(t, "send") == 0)
        do_send(c, msg);
    else if (strcmp(t, "resume") == 0)
        do_resume(c, msg);
    else if (strcmp(t, "read") == 0)
        do_read(c, msg);
    else if (strcmp(t, "typing") == 0)
        do_typing(c, msg);
    else
        send_error(ws, "unknown_type", NULL, NULL, "unknown type \"%.32s\"", t);
}
