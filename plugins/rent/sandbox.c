/*
 * sandbox.c — the built-in `sandbox` payment provider: a card processor in
 * test mode, with no outside service.
 *
 * Test tokens (the payment method):
 *   tok_ok            succeeds
 *   tok_decline       fails for good: card_declined
 *   tok_insufficient  fails, retryable: insufficient_funds
 *   tok_transient     fails, retryable: processing_error
 *   tok_flaky         fails once per paid thing (processing_error, retryable),
 *                     then succeeds: the first attempt of each charge fails
 *   tok_async_ok      pending; confirmed later (sandbox_confirm_delay) by a
 *                     signed webhook posted to sandbox_webhook_url
 *   anything else     fails for good: invalid_payment_method
 *
 * Idempotency: every charge and refund is recorded under its key in
 * rent.sandbox_charges; the same key returns the first record and never
 * charges twice (rent.sandbox_charge).
 *
 * Webhooks carry `Rentezy-Signature: t=<unix>,v1=<hex HMAC-SHA256 of
 * "<t>.<body>">` with the shared secret; verify checks it in constant time
 * with a 300-second tolerance on the host clock.  Replays are caught by the
 * caller, which remembers event ids (rent.webhooks_seen).
 */
#include "rent.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <sodium.h>

#define TOLERANCE_S 300

typedef struct token {
    const char *name, *outcome, *code;
    int retryable;
} token_t;

static const token_t tokens[] = {
    {"tok_ok", "succeeded", NULL, 0},
    {"tok_decline", "failed", "card_declined", 0},
    {"tok_insufficient", "failed", "insufficient_funds", 1},
    {"tok_transient", "failed", "processing_error", 1},
    {"tok_flaky", "flaky", "processing_error", 1},
    {"tok_async_ok", "pending", NULL, 0},
};
static const token_t unknown_token = {"", "failed", "invalid_payment_method", 0};

static const token_t *token_of(const char *m)
{
    for (size_t i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++)
        if (m && strcmp(tokens[i].name, m) == 0)
            return &tokens[i];
    return &unknown_token;
}

/* ---- charge and refund ---------------------------------------------------------- */

typedef struct call {
    rzu_sql_t q;
    rz_pay_cb cb;
    void *udata;
    char amount[24], now[24], confirm[24], nums[3 * 24];
    char retry[6];
} call_t;

static int status_of(const char *s)
{
    return strcmp(s, "succeeded") == 0 ? RZ_PAY_SUCCEEDED
           : strcmp(s, "pending") == 0 ? RZ_PAY_PENDING
                                       : RZ_PAY_FAILED;
}

static void call_done(rz_dbres_t *res, void *u)
{
    call_t *c = u;
    if (H->dbres_status(res) != RZ_OK || H->dbres_rows(res) != 1) {
        if (H->dbres_status(res) == RZ_ERR)
            H->log(rt_g.self, RZ_LOG_ERROR, "sandbox: %s", H->dbres_message(res));
        c->cb(NULL, c->udata);
    } else {
        rz_pay_result_t r = {.status = status_of(H->dbres_value(res, 0, 0)),
                         .code = H->dbres_isnull(res, 0, 1) ? NULL : H->dbres_value(res, 0, 1),
                         .retryable = strcmp(H->dbres_value(res, 0, 2), "t") == 0,
                         .ref = H->dbres_value(res, 0, 3)};
        c->cb(&r, c->udata);
    }
    free(c);
}

static int call(const char *key, const char *kind, const char *token, const char *grp,
                int64_t amount, const char *currency, const token_t *t, rz_pay_cb cb, void *udata)
{
    static const char sql[] =
        "SELECT s.* FROM (SELECT string_to_array($5, '|') AS n) a, LATERAL "
        "rent.sandbox_charge($1, $2, $3, $4, n[1]::bigint, $6, $7, $8, $9::boolean, "
        "n[2]::bigint, n[3]::bigint) s";
    call_t *c;
    int rc;
    if (!key || !*key || strlen(key) > 128 || amount <= 0 || !currency || !cb)
        return RZ_EINVAL;
    if (!(c = calloc(1, sizeof(*c))))
        return RZ_ENOMEM;
    c->cb = cb;
    c->udata = udata;
    rzu_i64(amount, c->amount);
    rzu_i64(H->now_ms(), c->now);
    rzu_i64(rt_g.confirm_ms, c->confirm);
    strcpy(c->retry, t->retryable ? "true" : "false");
    /* "amount|now|confirm" as one parameter: a statement takes RZU_MAXP at most */
    snprintf(c->nums, sizeof(c->nums), "%s|%s|%s", c->amount, c->now, c->confirm);
    c->q = (rzu_sql_t){.sql = sql, .n = 9,
                      .p = {key, kind, token, grp ? grp : "", c->nums, currency, t->outcome,
                            t->code, c->retry},
                      .cb = call_done, .udata = c};
    if ((rc = rzu_sql_run(&c->q)) != RZ_OK)
        free(c);
    return rc;
}

static int sb_charge(void *state, const rz_pay_charge_t *ch, rz_pay_cb cb, void *udata)
{
    if (!ch || ch->size < sizeof(*ch) || !ch->method)
        return RZ_EINVAL;
    return call(ch->idem_key, "charge", ch->method, ch->reference, ch->amount, ch->currency,
                token_of(ch->method), cb, udata);
}

static int sb_refund(void *state, const rz_pay_refund_t *rf, rz_pay_cb cb, void *udata)
{
    static const token_t ok = {"refund", "succeeded", NULL, 0};
    if (!rf || rf->size < sizeof(*rf))
        return RZ_EINVAL;
    return call(rf->idem_key, "refund", "refund", rf->charge_ref, rf->amount, rf->currency, &ok,
                cb, udata);
}

/* ---- signatures ------------------------------------------------------------------ */

static int mac(const char *t, const void *body, size_t len, unsigned char out[32])
{
    crypto_auth_hmacsha256_state st;
    const char *key = rt_secret();
    if (!key)
        return RZ_EINVAL;
    if (crypto_auth_hmacsha256_init(&st, (const unsigned char *)key, strlen(key)) != 0 ||
        crypto_auth_hmacsha256_update(&st, (const unsigned char *)t, strlen(t)) != 0 ||
        crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1) != 0 ||
        crypto_auth_hmacsha256_update(&st, body, len) != 0 ||
        crypto_auth_hmacsha256_final(&st, out) != 0)
        return RZ_ERR;
    return RZ_OK;
}

int rt_sandbox_sign(const void *body, size_t len, int64_t now_ms, char *out, size_t cap)
{
    char t[24], hex[65];
    unsigned char m[32];
    snprintf(t, sizeof(t), "%lld", (long long)(now_ms / 1000));
    if (mac(t, body, len, m) != RZ_OK)
        return RZ_EINVAL;
    sodium_bin2hex(hex, sizeof(hex), m, sizeof(m));
    if ((size_t)snprintf(out, cap, "t=%s,v1=%s", t, hex) >= cap)
        return RZ_EINVAL;
    return RZ_OK;
}

static int sb_verify(void *state, const char *sig, const void *body, size_t len, int64_t now_ms)
{
    char t[24];
    unsigned char want[32], got[32];
    const char *v1;
    size_t tl;
    if (!sig || strncmp(sig, "t=", 2) != 0 || !(v1 = strstr(sig, ",v1=")))
        return RZ_EINVAL;
    tl = (size_t)(v1 - (sig + 2));
    if (tl == 0 || tl >= 12 || strspn(sig + 2, "0123456789") != tl)
        return RZ_EINVAL;
    memcpy(t, sig + 2, tl);
    t[tl] = '\0';
    v1 += 4;
    if (strlen(v1) != 64 || sodium_hex2bin(got, sizeof(got), v1, 64, NULL, NULL, NULL) != 0)
        return RZ_EINVAL;
    if (mac(t, body, len, want) != RZ_OK || sodium_memcmp(want, got, sizeof(want)) != 0)
        return RZ_EINVAL;
    long long ts = strtoll(t, NULL, 10), now = now_ms / 1000;
    if (ts < now - TOLERANCE_S || ts > now + TOLERANCE_S)
        return RZ_ETIMEDOUT;
    return RZ_OK;
}

/* {"id":"evt_..","type":"charge.succeeded"|"charge.failed","data":{"idempotency_key",
 *  "ref","code","retryable"}} */
static int sb_parse(void *state, const void *body, size_t len, cJSON **tree, rz_pay_event_t *ev)
{
    cJSON *j = cJSON_ParseWithLength(body, len), *d, *id, *type, *key, *ref, *code, *rt;
    *tree = j;
    d = cJSON_GetObjectItemCaseSensitive(j, "data");
    id = cJSON_GetObjectItemCaseSensitive(j, "id");
    type = cJSON_GetObjectItemCaseSensitive(j, "type");
    key = cJSON_GetObjectItemCaseSensitive(d, "idempotency_key");
    ref = cJSON_GetObjectItemCaseSensitive(d, "ref");
    code = cJSON_GetObjectItemCaseSensitive(d, "code");
    rt = cJSON_GetObjectItemCaseSensitive(d, "retryable");
    if (!cJSON_IsString(id) || !cJSON_IsString(type) || !cJSON_IsString(key) ||
        strlen(id->valuestring) > 128 || strlen(key->valuestring) > 128)
        return RZ_EINVAL;
    if (strcmp(type->valuestring, "charge.succeeded") == 0)
        ev->status = RZ_PAY_SUCCEEDED;
    else if (strcmp(type->valuestring, "charge.failed") == 0)
        ev->status = RZ_PAY_FAILED;
    else
        return RZ_EINVAL;
    ev->event_id = id->valuestring;
    ev->idem_key = key->valuestring;
    ev->ref = cJSON_IsString(ref) ? ref->valuestring : NULL;
    ev->code = cJSON_IsString(code) ? code->valuestring : NULL;
    ev->retryable = cJSON_IsTrue(rt);
    return RZ_OK;
}

const rz_pay_provider_t rt_sandbox = {.size = sizeof(rz_pay_provider_t),
                                      .name = "sandbox",
                                      .signature_header = "Rentezy-Signature",
                                      .charge = sb_charge,
                                      .refund = sb_refund,
                                      .verify = sb_verify,
                                      .parse = sb_parse};

/* ---- the asynchronous confirmation: settle, then post the signed webhook ----------- */

typedef struct confirm {
    rz_job_t *job;
    rzu_sql_t q;
    char key[129];
    char *body;       /* owned */
    char sig[128];
    int status;       /* HTTP status of the delivery, 0 when none */
    char err[128];
} confirm_t;

static void confirm_free(confirm_t *c)
{
    free(c->body);
    free(c);
}

/* Blocking POST on a pool thread: http://host:port/path only. */
static void post_work(void *u)
{
    confirm_t *c = u;
    char host[256], port[8] = "80", req[1024], resp[64];
    const char *url = rt_g.webhook_url, *p, *path;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    int fd = -1;
    size_t hl;
    if (strncmp(url, "http://", 7) != 0) {
        snprintf(c->err, sizeof(c->err), "sandbox_webhook_url must be http://");
        return;
    }
    p = url + 7;
    path = strchr(p, '/');
    hl = path ? (size_t)(path - p) : strlen(p);
    if (!path)
        path = "/";
    if (hl == 0) {
        snprintf(c->err, sizeof(c->err), "sandbox_webhook_url has no host");
        return;
    }
    if (hl >= sizeof(host))
        hl = sizeof(host) - 1;
    memcpy(host, p, hl);
    host[hl] = '\0';
    char *colon = strrchr(host, ':');
    if (colon) {
        *colon = '\0';
        snprintf(port, sizeof(port), "%s", colon + 1);
    }
    if (getaddrinfo(host, port, &hints, &ai) != 0 || !ai) {
        snprintf(c->err, sizeof(c->err), "cannot resolve %.64s", host);
        goto out;
    }
    fd = socket(ai->ai_family, SOCK_STREAM, 0);
    struct timeval tv = {.tv_sec = 10};
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
        connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        snprintf(c->err, sizeof(c->err), "connect: %s", strerror(errno));
        goto out;
    }
    size_t blen = strlen(c->body);
    int n = snprintf(req, sizeof(req),
                     "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                     "Rentezy-Signature: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
                     path, host, c->sig, blen);
    if (n < 0 || (size_t)n >= sizeof(req) || write(fd, req, (size_t)n) != n ||
        write(fd, c->body, blen) != (ssize_t)blen) {
        snprintf(c->err, sizeof(c->err), "write failed");
        goto out;
    }
    ssize_t got = read(fd, resp, sizeof(resp) - 1);
    if (got < 12 || strncmp(resp, "HTTP/1.", 7) != 0) {
        snprintf(c->err, sizeof(c->err), "no HTTP answer");
        goto out;
    }
    resp[got] = '\0';
    c->status = atoi(resp + 9);
out:
    if (fd >= 0)
        close(fd);
    if (ai)
        freeaddrinfo(ai);
}

static void post_after(void *u)
{
    confirm_t *c = u;
    /* 409: this event id was delivered before, and the answer got lost */
    if (c->status / 100 == 2 || c->status == 409)
        H->job_done(c->job, RZ_JOB_DONE, NULL);
    else {
        char e[160];
        snprintf(e, sizeof(e), "webhook delivery: %s (status %d)", c->err[0] ? c->err : "refused",
                 c->status);
        H->job_done(c->job, RZ_JOB_RETRY, e);
    }
    confirm_free(c);
}

static void settled(rz_dbres_t *res, void *u)
{
    confirm_t *c = u;
    cJSON *b = NULL, *d;
    int rc;
    if (H->dbres_status(res) != RZ_OK || H->dbres_rows(res) != 1 || H->dbres_isnull(res, 0, 0)) {
        H->job_done(c->job, H->dbres_status(res) == RZ_OK ? RZ_JOB_FAIL : RZ_JOB_RETRY,
                    "sandbox charge missing or database unavailable");
        confirm_free(c);
        return;
    }
    const char *status = H->dbres_value(res, 0, 6), *ref = H->dbres_value(res, 0, 9);
    char id[160];
    snprintf(id, sizeof(id), "evt_%s", c->key);
    if (!(b = cJSON_CreateObject()) || !cJSON_AddStringToObject(b, "id", id) ||
        !cJSON_AddStringToObject(b, "type", strcmp(status, "succeeded") == 0 ? "charge.succeeded"
                                                                              : "charge.failed") ||
        !(d = cJSON_AddObjectToObject(b, "data")) ||
        !cJSON_AddStringToObject(d, "idempotency_key", c->key) ||
        !cJSON_AddStringToObject(d, "ref", ref) || !(c->body = cJSON_PrintUnformatted(b)))
        goto nomem;
    cJSON_Delete(b);
    b = NULL;
    if (!rt_secret()) {
        rt_secret_load();
        H->job_done(c->job, RZ_JOB_RETRY, "the webhook secret is not loaded yet");
        confirm_free(c);
        return;
    }
    if (rt_sandbox_sign(c->body, strlen(c->body), H->now_ms(), c->sig, sizeof(c->sig)) != RZ_OK) {
        H->job_done(c->job, RZ_JOB_FAIL, "the webhook could not be signed");
        confirm_free(c);
        return;
    }
    if ((rc = H->work(rt_g.self, post_work, post_after, c)) != RZ_OK) {
        H->job_done(c->job, RZ_JOB_RETRY, "no worker thread for the webhook");
        confirm_free(c);
    }
    return;
nomem:
    cJSON_Delete(b);
    H->job_done(c->job, RZ_JOB_RETRY, "out of memory");
    confirm_free(c);
}

void job_sandbox_confirm(rz_job_t *job, void *u)
{
    cJSON *p = cJSON_Parse(H->job_payload(job));
    cJSON *key = cJSON_GetObjectItemCaseSensitive(p, "key");
    confirm_t *c = NULL;
    if (!cJSON_IsString(key) || strlen(key->valuestring) > 128) {
        cJSON_Delete(p);
        H->job_done(job, RZ_JOB_FAIL, "payload without a key");
        return;
    }
    if (!(c = calloc(1, sizeof(*c)))) {
        cJSON_Delete(p);
        H->job_done(job, RZ_JOB_RETRY, "out of memory");
        return;
    }
    c->job = job;
    snprintf(c->key, sizeof(c->key), "%s", key->valuestring);
    cJSON_Delete(p);
    c->q = (rzu_sql_t){.sql = "SELECT * FROM rent.sandbox_settle($1)", .n = 1, .p = {c->key},
                      .cb = settled, .udata = c};
    if (rzu_sql_run(&c->q) != RZ_OK) {
        H->job_done(job, RZ_JOB_RETRY, "the database is unavailable");
        confirm_free(c);
    }
}
