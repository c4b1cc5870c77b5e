/*
 * events.c — every change to a listing goes through here: the route's write
 * statements, then one that stores the new snapshot, then one that
 * publishes the event on property-events and reads the snapshot back, in
 * one transaction (one round trip).  The event exists if and only if the change committed, and
 * it carries the snapshot of exactly the version that committed.
 *
 * How the publishing statement knows whether the write changed anything:
 * each write sets the listing's changed_tx to txid_current(); the publish
 * runs only when changed_tx is this transaction.  A write that matched
 * nothing (not the owner, stale If-Match, photo limit, ...) therefore
 * publishes nothing, and the row read back tells the callback why.
 */
#include "prop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define MAX_STMTS 8

/* $1 listing id.  Computes the snapshot of the version this transaction
 * made, once, and stores it for every later read. */
static const char snapshot_sql[] =
    "UPDATE property.properties p SET snapshot = property.snapshot(p) "
    "WHERE p.id = $1::uuid AND p.changed_tx = txid_current()";

/* $1 listing id, $2 event type, $3 traceparent (or NULL).  Columns: owner,
 * status, version, changed, snapshot.  CASE evaluates the volatile publish
 * only when the listing changed in this transaction. */
static const char publish_sql[] =
    "SELECT p.owner_id::text, p.status, p.version::text, "
    "(p.changed_tx = txid_current())::int::text, "
    "coalesce(p.snapshot, property.snapshot(p))::text, "
    "CASE WHEN p.changed_tx = txid_current() THEN "
    "rentezy.publish('property-events', $2, 'property', p.id::text, p.version, "
    "p.snapshot::jsonb, $3) END "
    "FROM property.properties p WHERE p.id = $1::uuid";

enum { C_OWNER, C_STATUS, C_VERSION, C_CHANGED, C_SNAP };

int db_failed(rz_req_t *req, rz_dbres_t *res, const char *what)
{
    int st = H->dbres_status(res);
    if (st == RZ_OK)
        return 0;
    if (st == RZ_EUNAVAIL) {
        H->resp_header(req, "Retry-After", "1");
        H->reply_error(req, 503, "unavailable", NULL, "the database is unavailable; retry later");
        return 1;
    }
    H->log(prop_g.self, RZ_LOG_ERROR, "%s failed: %s (%s)", what, H->dbres_message(res),
           H->dbres_sqlstate(res) ? H->dbres_sqlstate(res) : "?");
    H->reply_error(req, 500, "internal", NULL, "%s failed", what);
    return 1;
}

void call_failed(rz_req_t *req, int rc, const char *what)
{
    if (rc == RZ_EUNAVAIL || rc == RZ_ESTATE || rc == RZ_ENOMEM) {
        H->resp_header(req, "Retry-After", "1");
        H->reply_error(req, 503, "unavailable", NULL, "%s is unavailable; retry later", what);
    } else {
        H->reply_error(req, 500, "internal", NULL, "%s failed (error %d)", what, rc);
    }
}

void prop_uuid(char *out)
{
    unsigned char b[16];
    randombytes_buf(b, sizeof(b));
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    static const char hex[] = "0123456789abcdef";
    char *o = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *o++ = '-';
        *o++ = hex[b[i] >> 4];
        *o++ = hex[b[i] & 15];
    }
    *o = '\0';
}

void reply_text(rz_req_t *req, int status, const char *json)
{
    H->reply(req, status, "application/json", json, strlen(json));
}

const char *prop_traceparent(rz_req_t *req)
{
    /* 00-<32 hex>-<16 hex>-<2 hex>: anything else is dropped, not stored */
    const char *t = H->req_header(req, "traceparent");
    if (!t || strlen(t) != 55 || t[2] != '-' || t[35] != '-' || t[52] != '-')
        return NULL;
    for (int i = 0; i < 55; i++)
        if (i != 2 && i != 35 && i != 52 && !strchr("0123456789abcdef", t[i]))
            return NULL;
    return t;
}

/* If-Match: "<id>.<version>" as GET's ETag.  Weak tags never match (RFC 9110
 * strong comparison); "*" is refused: it would skip the very check If-Match
 * is required for.  0 with *version, or -1 after answering. */
static int parse_if_match(rz_req_t *req, const char *id, const char *v, int64_t *version)
{
    size_t idlen = strlen(id);
    while (*v == ' ')
        v++;
    if (v[0] != '"' || strncmp(v + 1, id, idlen) != 0 || v[1 + idlen] != '.')
        goto stale;
    const char *num = v + 2 + idlen;
    char *end;
    long long n = strtoll(num, &end, 10);
    if (end == num || *end != '"' || n < 1 || num[0] == '+' || num[0] == '-')
        goto stale;
    for (end++; *end == ' '; end++)
        ;
    if (*end != '\0')
        goto stale; /* lists of tags: none of ours would be current twice */
    *version = n;
    return 0;
stale:
    H->reply_error(req, 412, "precondition_failed", NULL,
                   "If-Match does not name a current version of this listing; GET it again");
    return -1;
}

prop_write_t *prop_write_new(rz_req_t *req, const char *type, int need_if_match)
{
    const char *id = H->req_param(req, "id");
    const char *user = H->req_user(req);
    if (!is_uuid(user)) {
        /* the auth plugin's subjects are UUIDs: another issuer's user owns
         * nothing here */
        H->reply_error(req, 403, "forbidden", NULL, "this account cannot own listings");
        return NULL;
    }
    prop_write_t *w = H->req_alloc(req, sizeof(*w));
    if (!w) {
        call_failed(req, RZ_ENOMEM, "memory");
        return NULL;
    }
    memset(w, 0, sizeof(*w));
    w->req = req;
    w->type = type;
    w->status = 200;
    w->if_match = -1;
    if (!id) { /* a create: the id is new */
        prop_uuid(w->id);
        return w;
    }
    if (!is_uuid(id)) {
        H->reply_error(req, 404, "not_found", NULL, "no such listing");
        return NULL;
    }
    memcpy(w->id, id, UUID_LEN + 1);
    const char *im = H->req_header(req, "If-Match");
    if (!im && need_if_match) {
        H->reply_error(req, 428, "precondition_required", NULL,
                       "send If-Match with the ETag of the version you changed");
        return NULL;
    }
    if (im) {
        if (parse_if_match(req, w->id, im, &w->if_match) < 0)
            return NULL;
        snprintf(w->if_match_text, sizeof(w->if_match_text), "%lld", (long long)w->if_match);
        w->if_match_param = w->if_match_text;
    }
    return w;
}

static void set_etag(rz_req_t *req, const char *id, const char *version)
{
    char tag[UUID_LEN + 32];
    prop_etag(tag, sizeof(tag), id, version);
    H->resp_header(req, "ETag", tag);
}

static void write_done(rz_dbres_t *res, void *u)
{
    prop_write_t *w = u;
    rz_req_t *req = w->req;
    if (H->dbres_status(res) == RZ_ERR) {
        const char *st = H->dbres_sqlstate(res);
        if (v_constraint(req, res))
            return;
        if (st && strcmp(st, "23P01") == 0) { /* blocks_no_overlap */
            H->reply_error(req, 409, "blocks_overlap", "start",
                           "these dates overlap a blackout the listing has already");
            return;
        }
    }
    if (db_failed(req, res, w->type))
        return;
    if (H->dbres_rows(res) != 1) {
        H->reply_error(req, 404, "not_found", NULL, "no such listing");
        return;
    }
    const char *owner = H->dbres_value(res, 0, C_OWNER);
    const char *status = H->dbres_value(res, 0, C_STATUS);
    const char *version = H->dbres_value(res, 0, C_VERSION);
    const char *snap = H->dbres_value(res, 0, C_SNAP);
    int changed = strcmp(H->dbres_value(res, 0, C_CHANGED), "1") == 0;
    if (strcmp(owner, H->req_user(req)) != 0) {
        if (strcmp(status, "published") == 0)
            H->reply_error(req, 403, "forbidden", NULL, "only the owner changes a listing");
        else
            H->reply_error(req, 404, "not_found", NULL, "no such listing");
        return;
    }
    if (changed && w->done) {
        w->done(w, snap, strtoll(version, NULL, 10)); /* another resource: its own headers */
        return;
    }
    if (changed) {
        set_etag(req, w->id, version);
        reply_text(req, w->status, snap);
        return;
    }
    if (strcmp(status, "deleted") == 0) {
        H->reply_error(req, 404, "not_found", NULL, "no such listing");
        return;
    }
    if (w->if_match >= 0 && w->if_match != strtoll(version, NULL, 10)) {
        H->reply_error(req, 412, "precondition_failed", NULL,
                       "the listing changed since (now version %s); GET it again", version);
        return;
    }
    if (w->unchanged) {
        w->unchanged(w, snap);
    } else {
        set_etag(req, w->id, version);
        reply_text(req, 200, snap); /* asked for what already is: nothing to publish */
    }
}

void prop_write_run(prop_write_t *w, const rz_stmt_t *stmts, int n)
{
    rz_stmt_t all[MAX_STMTS + 2];
    if (n < 1 || n > MAX_STMTS) {
        H->reply_error(w->req, 500, "internal", NULL, "bad write");
        return;
    }
    memcpy(all, stmts, (size_t)n * sizeof(*stmts));
    const char **p = H->req_alloc(w->req, 3 * sizeof(*p));
    if (!p) {
        call_failed(w->req, RZ_ENOMEM, "memory");
        return;
    }
    p[0] = w->id;
    p[1] = w->type;
    p[2] = prop_traceparent(w->req);
    all[n] = (rz_stmt_t){.sql = snapshot_sql, .nparams = 1, .params = p};
    all[n + 1] = (rz_stmt_t){.sql = publish_sql, .nparams = 3, .params = p};
    int rc = H->db_tx(prop_g.self, all, n + 2, write_done, w);
    if (rc != RZ_OK)
        call_failed(w->req, rc, "the database");
}
