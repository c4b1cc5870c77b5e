/*
 * idempotency.c — Idempotency-Key (see idempotency.h).
 *
 * Each request that presents a key gets an entry in this worker's list:
 *   CLAIMING -> the claim statement is in flight (the handler has not run)
 *   RUNNING  -> the key is ours, the handler runs
 *   STORING  -> the response went out; its copy is being written
 *   WAITING  -> same (user, key) as a STORING entry: claim after the write
 * Entries are owned by the list; the request pointer is only used while
 * CLAIMING or RUNNING, when the request is guaranteed alive.
 */
#include "idempotency.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "clock.h"
#include "db.h"
#include "http.h"
#include "log.h"
#include "migrate.h"

#define MAX_STORED_BODY (1u << 20)
#define HOST_MIGRATION_VERSION 4

enum { CLAIMING, RUNNING, STORING, WAITING };

typedef struct idem {
    rz_req_t *req;                 /* CLAIMING/RUNNING only */
    const rz_route_entry_t *route;
    int state;
    char user[64];
    char key[256];
    char hash[65];
    struct idem *next;
} idem_t;

static idem_t *entries;
static int64_t ttl_ms = 24 * 3600 * 1000LL;
static unsigned claims;

static const char migration_sql[] =
    "CREATE TABLE rentezy.idempotency (\n"
    "    user_id text NOT NULL,\n"
    "    key text NOT NULL,\n"
    "    request_hash text NOT NULL,\n"
    "    status int,                 -- NULL while the first request runs\n"
    "    content_type text,\n"
    "    body bytea,\n"
    "    created_at timestamptz NOT NULL,\n"
    "    expires_at timestamptz NOT NULL,\n"
    "    PRIMARY KEY (user_id, key)\n"
    ");\n"
    "CREATE INDEX idempotency_expires ON rentezy.idempotency (expires_at);\n";

/* One round trip: claim the key (a new row, or one that expired or was
 * abandoned), else return the existing row.  A row inserted concurrently by
 * another transaction is invisible to the second SELECT (statement
 * snapshot), so zero rows means "someone else holds it right now". */
static const char claim_sql[] =
    "WITH now AS (SELECT to_timestamp($4::bigint / 1000.0) AS t),\n"
    "ins AS (\n"
    "  INSERT INTO rentezy.idempotency AS i (user_id, key, request_hash, created_at, expires_at)\n"
    "  SELECT $1, $2, $3, now.t, now.t + $5::bigint * interval '1 millisecond' FROM now\n"
    "  ON CONFLICT (user_id, key) DO UPDATE\n"
    "    SET request_hash = EXCLUDED.request_hash, status = NULL, content_type = NULL,\n"
    "        body = NULL, created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at\n"
    "    WHERE i.expires_at <= EXCLUDED.created_at\n"
    "       OR (i.status IS NULL AND i.created_at < EXCLUDED.created_at - interval '5 minutes')\n"
    "  RETURNING 1)\n"
    "SELECT 'new'::text, NULL::text, NULL::int, NULL::text, NULL::text FROM ins\n"
    "UNION ALL\n"
    "SELECT 'old', request_hash, status, content_type, encode(body, 'hex')\n"
    "  FROM rentezy.idempotency\n"
    " WHERE user_id = $1 AND key = $2 AND NOT EXISTS (SELECT 1 FROM ins)";

static const char store_sql[] =
    "UPDATE rentezy.idempotency SET status = $3::int, content_type = $4, body = decode($5, 'hex')\n"
    " WHERE user_id = $1 AND key = $2 AND status IS NULL";

static const char forget_sql[] =
    "DELETE FROM rentezy.idempotency WHERE user_id = $1 AND key = $2 AND status IS NULL";

static const char purge_sql[] =
    "DELETE FROM rentezy.idempotency WHERE expires_at < to_timestamp($1::bigint / 1000.0)";

static const char *const idem_keys[] = {"ttl", NULL};

int rz__idem_configure(const rz_config_t *cfg, char *err, size_t errlen)
{
    int64_t ttl;
    if (rz__config_check_keys(cfg, "idempotency", idem_keys, err, errlen) < 0 ||
        rz__config_duration_ms(cfg, "idempotency", "ttl", 24 * 3600 * 1000LL, &ttl, err,
                               errlen) < 0)
        return -1;
    if (ttl < 1000) {
        const char *where = NULL;
        rz__config_get(cfg, "idempotency", "ttl", &where);
        snprintf(err, errlen, "%s: [idempotency] ttl: at least 1s", where ? where : "?");
        return -1;
    }
    /* Registered again on SIGHUP: RZ_EEXIST then just means "already there". */
    int rc = rz__migrate_host(HOST_MIGRATION_VERSION, "idempotency", migration_sql);
    if (rc != RZ_OK && rc != RZ_EEXIST) {
        snprintf(err, errlen, "cannot register host migration %d (idempotency): %s",
                 HOST_MIGRATION_VERSION,
                 rc == RZ_EINVAL ? "the host migrations before it are missing" : "out of memory");
        return -1;
    }
    ttl_ms = ttl;
    return 0;
}

void rz__idem_request_hash(const char *method, const char *path, const void *body, size_t len,
                           char out[65])
{
    crypto_hash_sha256_state st;
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const unsigned char *)method, strlen(method));
    crypto_hash_sha256_update(&st, (const unsigned char *)"\n", 1);
    crypto_hash_sha256_update(&st, (const unsigned char *)path, strlen(path));
    crypto_hash_sha256_update(&st, (const unsigned char *)"\n", 1);
    if (len)
        crypto_hash_sha256_update(&st, body, len);
    crypto_hash_sha256_final(&st, h);
    sodium_bin2hex(out, 65, h, sizeof(h));
}

int rz__idem_key_ok(const char *key)
{
    size_t n = 0;
    if (!key)
        return 0;
    for (; key[n]; n++)
        if ((unsigned char)key[n] < 0x21 || (unsigned char)key[n] > 0x7e)
            return 0;
    return n >= 1 && n <= 255;
}

int rz__idem_pending(void)
{
    int n = 0;
    for (idem_t *e = entries; e; e = e->next)
        n++;
    return n;
}

static void unlink_entry(idem_t *e)
{
    for (idem_t **p = &entries; *p; p = &(*p)->next)
        if (*p == e) {
            *p = e->next;
            return;
        }
}

static idem_t *find_req(rz_req_t *req)
{
    for (idem_t *e = entries; e; e = e->next)
        if (e->req == req && (e->state == CLAIMING || e->state == RUNNING))
            return e;
    return NULL;
}

static idem_t *find_key(const char *user, const char *key)
{
    for (idem_t *e = entries; e; e = e->next)
        if (e->state != WAITING && strcmp(e->user, user) == 0 && strcmp(e->key, key) == 0)
            return e;
    return NULL;
}

static void on_logged(rz_dbres_t *res, void *u)
{
    if (rz__svc_dbres_status(res) != RZ_OK)
        rz__log(RZ_LOG_WARN, "idempotency", "%s: %s", (const char *)u,
                rz__svc_dbres_message(res));
}

static void fail_entry(idem_t *e, int status, const char *code, const char *msg)
{
    rz_req_t *req = e->req;
    unlink_entry(e);
    free(e);
    if (req)
        rz__svc_reply_error(req, status, code, "Idempotency-Key", "%s", msg);
}

static void on_claim(rz_dbres_t *res, void *u);

static void start_claim(idem_t *e)
{
    char now[24], ttl[24];
    snprintf(now, sizeof(now), "%lld", (long long)rz__now_ms());
    snprintf(ttl, sizeof(ttl), "%lld", (long long)ttl_ms);
    const char *p[] = {e->user, e->key, e->hash, now, ttl};
    e->state = CLAIMING;
    if (rz__svc_db_query(NULL, 0, claim_sql, 5, p, on_claim, e) != RZ_OK) {
        fail_entry(e, 503, "unavailable", "the idempotency store is unavailable; retry later");
        return;
    }
    if (++claims % 256 == 0) /* now and then, drop what expired */
        rz__svc_db_query(NULL, 0, purge_sql, 1, (const char *const[]){now}, on_logged,
                         (void *)"purging expired keys");
}

/* Replay a stored response: the status, type and body exactly as stored. */
static void replay(rz_req_t *req, rz_dbres_t *res)
{
    int status = atoi(rz__svc_dbres_value(res, 0, 2));
    const char *ct = rz__svc_dbres_isnull(res, 0, 3) ? NULL : rz__svc_dbres_value(res, 0, 3);
    const char *hex = rz__svc_dbres_isnull(res, 0, 4) ? "" : rz__svc_dbres_value(res, 0, 4);
    size_t hexlen = strlen(hex), len = 0;
    unsigned char *body = rz__svc_req_alloc(req, hexlen / 2 + 1);
    if (!body || sodium_hex2bin(body, hexlen / 2 + 1, hex, hexlen, NULL, &len, NULL) != 0) {
        rz__svc_reply_error(req, 500, "internal", NULL, "the stored response cannot be read");
        return;
    }
    rz__svc_resp_header(req, "Idempotent-Replayed", "true");
    rz__svc_reply(req, status, ct, len ? body : NULL, len);
}

static void on_claim(rz_dbres_t *res, void *u)
{
    idem_t *e = u;
    rz_req_t *req = e->req;
    if (!req) { /* the request was answered meanwhile: give the key back */
        const char *p[] = {e->user, e->key};
        if (rz__svc_dbres_status(res) == RZ_OK && rz__svc_dbres_rows(res) == 1 &&
            strcmp(rz__svc_dbres_value(res, 0, 0), "new") == 0)
            rz__svc_db_query(NULL, 0, forget_sql, 2, p, on_logged, (void *)"releasing a key");
        unlink_entry(e);
        free(e);
        return;
    }
    if (rz__svc_dbres_status(res) != RZ_OK) {
        rz__log(RZ_LOG_WARN, "idempotency", "claim failed: %s", rz__svc_dbres_message(res));
        fail_entry(e, 503, "unavailable", "the idempotency store is unavailable; retry later");
        return;
    }
    if (rz__svc_dbres_rows(res) != 1) {
        fail_entry(e, 409, "idempotency_in_progress",
                   "a request with this Idempotency-Key is still being processed");
        return;
    }
    if (strcmp(rz__svc_dbres_value(res, 0, 0), "new") == 0) {
        e->state = RUNNING;
        e->route->handler(req, e->route->udata);
        return;
    }
    if (strcmp(rz__svc_dbres_value(res, 0, 1), e->hash) != 0) {
        fail_entry(e, 422, "idempotency_key_reused",
                   "this Idempotency-Key was used for a different request");
        return;
    }
    if (rz__svc_dbres_isnull(res, 0, 2)) {
        fail_entry(e, 409, "idempotency_in_progress",
                   "a request with this Idempotency-Key is still being processed");
        return;
    }
    unlink_entry(e);
    free(e);
    replay(req, res);
}

int rz__idem_before(rz_req_t *req, const rz_route_entry_t *route)
{
    const char *m = rz__svc_req_method(req);
    if (strcmp(m, "POST") != 0 && strcmp(m, "PATCH") != 0)
        return 0;
    const char *key = rz__svc_req_header(req, "Idempotency-Key");
    const char *user = rz__svc_req_user(req);
    if (!key || !user || !rz__db_configured())
        return 0;
    if (!rz__idem_key_ok(key)) {
        rz__svc_reply_error(req, 400, "invalid", "Idempotency-Key",
                            "Idempotency-Key must be 1 to 255 printable ASCII characters");
        return -1;
    }
    idem_t *e = calloc(1, sizeof(*e));
    if (!e) {
        rz__svc_reply_error(req, 503, "unavailable", NULL, "out of memory");
        return -1;
    }
    e->req = req;
    e->route = route;
    snprintf(e->user, sizeof(e->user), "%s", user);
    snprintf(e->key, sizeof(e->key), "%s", key);
    size_t blen;
    const void *body = rz__svc_req_body(req, &blen);
    rz__idem_request_hash(m, rz__svc_req_path(req), body, blen, e->hash);
    idem_t *other = find_key(e->user, e->key);
    e->next = entries;
    entries = e;
    if (other && other->state != STORING) {
        /* Same worker, still running: no need to ask the database. */
        fail_entry(e, strcmp(other->hash, e->hash) == 0 ? 409 : 422,
                   strcmp(other->hash, e->hash) == 0 ? "idempotency_in_progress"
                                                     : "idempotency_key_reused",
                   strcmp(other->hash, e->hash) == 0
                       ? "a request with this Idempotency-Key is still being processed"
                       : "this Idempotency-Key was used for a different request");
        return -1;
    }
    if (other) {
        e->state = WAITING; /* claimed when the stored copy is written */
        return -1;
    }
    start_claim(e);
    return -1;
}

/* The write of e is over (done or failed): free it and let the requests
 * that waited for it claim the key. */
static void store_finished(idem_t *e)
{
    unlink_entry(e);
    /* Requests that arrived while we wrote now see the stored response. */
    for (idem_t *w = entries, *next; w; w = next) {
        next = w->next;
        if (w->state == WAITING && strcmp(w->user, e->user) == 0 && strcmp(w->key, e->key) == 0)
            start_claim(w);
    }
    free(e);
}

static void on_stored(rz_dbres_t *res, void *u)
{
    if (rz__svc_dbres_status(res) != RZ_OK)
        rz__log(RZ_LOG_WARN, "idempotency", "storing a response failed: %s",
                rz__svc_dbres_message(res));
    store_finished(u);
}

void rz__idem_after(rz_req_t *req, int status, const char *content_type, const void *body,
                    size_t len)
{
    if (!entries)
        return;
    idem_t *e = find_req(req);
    if (!e)
        return;
    if (e->state == CLAIMING) { /* answered before the claim came back */
        e->req = NULL;
        return;
    }
    e->req = NULL;
    e->state = STORING;
    const char *p[5] = {e->user, e->key};
    int rc;
    if (status >= 500 || len > MAX_STORED_BODY) {
        /* A failure is not an answer worth repeating: let a retry run. */
        rc = rz__svc_db_query(NULL, 0, forget_sql, 2, p, on_stored, e);
    } else {
        char st[8];
        char *hex = malloc(len * 2 + 1);
        snprintf(st, sizeof(st), "%d", status & 0x3ff);
        if (!hex) {
            rc = rz__svc_db_query(NULL, 0, forget_sql, 2, p, on_stored, e);
        } else {
            sodium_bin2hex(hex, len * 2 + 1, body ? body : (const void *)"", len);
            p[2] = st;
            p[3] = content_type;
            p[4] = hex;
            rc = rz__svc_db_query(NULL, 0, store_sql, 5, p, on_stored, e);
            free(hex); /* the service copied the parameters */
        }
    }
    if (rc != RZ_OK) {
        rz__log(RZ_LOG_WARN, "idempotency", "cannot store the response for a key: error %d", rc);
        store_finished(e);
    }
}
