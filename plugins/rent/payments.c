/*
 * payments.c — POST /v1/payments, GET /v1/payments/{id}, the providers'
 * webhook endpoint, and the executor.
 *
 * Never twice for one purpose: a payment is first recorded (rent.pay_begin,
 * with its idempotency key and a recovery job), then sent to the provider,
 * then its answer is stored (rent.pay_finish, which publishes
 * payment.succeeded / payment.failed).  If the process dies after the
 * provider answered and before the store committed, the recovery job sends
 * the same key again and the provider returns its first answer.  A partial
 * unique index allows one live (pending or succeeded) payment per charge
 * and per booking.
 */
#include "rent.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the executor ------------------------------------------------------------------- */

typedef struct exec {
    rzu_sql_t q;
    rt_exec_fn done;
    void *udata;
    char id[UUID_LEN + 1], now[24], retry[6];
    char key[129], ref[129], code[65], status[16];
} exec_t;

static void exec_end(exec_t *e, int ok, const char *doc)
{
    e->done(ok, doc, e->udata);
    free(e);
}

static void finished(rz_dbres_t *res, void *u)
{
    exec_t *e = u;
    if (H->dbres_status(res) != RZ_OK || H->dbres_rows(res) != 1) {
        if (H->dbres_status(res) == RZ_ERR)
            H->log(rt_g.self, RZ_LOG_ERROR, "payment %s: %s", e->id, H->dbres_message(res));
        exec_end(e, 0, NULL);
        return;
    }
    exec_end(e, 1, H->dbres_value(res, 0, 0));
}

static void answered(const rz_pay_result_t *r, void *u)
{
    static const char sql[] =
        "SELECT rent.pay_finish($1::uuid, $2, $3, $4::boolean, $5, $6::bigint)";
    exec_t *e = u;
    if (!r) {
        exec_end(e, 0, NULL); /* the provider was unreachable: retry with the same key */
        return;
    }
    snprintf(e->status, sizeof(e->status), "%s",
             r->status == RZ_PAY_SUCCEEDED ? "succeeded" : r->status == RZ_PAY_PENDING ? "pending"
                                                                               : "failed");
    snprintf(e->code, sizeof(e->code), "%s", r->code ? r->code : "");
    snprintf(e->ref, sizeof(e->ref), "%s", r->ref ? r->ref : "");
    strcpy(e->retry, r->retryable ? "true" : "false");
    rzu_i64(H->now_ms(), e->now);
    e->q = (rzu_sql_t){.sql = sql, .n = 6,
                      .p = {e->id, e->status, r->code ? e->code : NULL, e->retry,
                            r->ref ? e->ref : NULL, e->now},
                      .cb = finished, .udata = e};
    if (rzu_sql_run(&e->q) != RZ_OK)
        exec_end(e, 0, NULL);
}

static void loaded(rz_dbres_t *res, void *u)
{
    exec_t *e = u;
    int rc;
    if (H->dbres_status(res) != RZ_OK) {
        exec_end(e, 0, NULL);
        return;
    }
    if (H->dbres_rows(res) == 0) { /* finished meanwhile: nothing to send */
        exec_end(e, 1, NULL);
        return;
    }
    snprintf(e->key, sizeof(e->key), "%s", H->dbres_value(res, 0, 0));
    const rz_pay_provider_t *pv = rt_provider(H->dbres_value(res, 0, 5));
    if (!pv) { /* its plugin is not loaded here: another host may run it */
        H->log(rt_g.self, RZ_LOG_WARN, "payment %s: provider %s is not available", e->id,
               H->dbres_value(res, 0, 5));
        exec_end(e, 0, NULL);
        return;
    }
    rz_pay_charge_t ch = {.size = sizeof(ch),
                      .idem_key = e->key,
                      .amount = strtoll(H->dbres_value(res, 0, 1), NULL, 10),
                      .currency = H->dbres_value(res, 0, 2),
                      .method = H->dbres_value(res, 0, 3),
                      .reference = H->dbres_value(res, 0, 4)};
    if ((rc = pv->charge(pv->state, &ch, answered, e)) != RZ_OK) {
        H->log(rt_g.self, RZ_LOG_WARN, "payment %s: the provider refused the call (%d)", e->id, rc);
        exec_end(e, 0, NULL);
    }
}

int rt_pay_execute(const char *payment_id, rt_exec_fn done, void *udata)
{
    static const char sql[] =
        "SELECT idem_key, amount, currency, method, coalesce(charge_id, booking_id)::text, "
        "provider FROM rent.payments WHERE id = $1::uuid AND status = 'pending' AND provider_ref IS NULL";
    exec_t *e;
    int rc;
    if (!rzu_is_uuid(payment_id) || !done)
        return RZ_EINVAL;
    if (!(e = calloc(1, sizeof(*e))))
        return RZ_ENOMEM;
    memcpy(e->id, payment_id, UUID_LEN + 1);
    e->done = done;
    e->udata = udata;
    e->q = (rzu_sql_t){.sql = sql, .n = 1, .p = {e->id}, .cb = loaded, .udata = e};
    if ((rc = rzu_sql_run(&e->q)) != RZ_OK)
        free(e);
    return rc;
}

/* ---- POST /v1/payments --------------------------------------------------------------- */

typedef struct pay {
    rz_req_t *req;
    rzu_sql_t q;
    char id[UUID_LEN + 1], now[24], recover[24];
} pay_t;

static void executed(int ok, const char *doc, void *u)
{
    pay_t *p = u;
    char loc[64];
    snprintf(loc, sizeof(loc), "/v1/payments/%s", p->id);
    H->resp_header(p->req, "Location", loc);
    if (ok && doc) {
        rzu_reply_text(p->req, 201, doc);
    } else {
        /* recorded; the recovery job finishes it */
        char body[96];
        snprintf(body, sizeof(body), "{\"id\":\"%s\",\"status\":\"pending\"}", p->id);
        rzu_reply_text(p->req, 202, body);
    }
}

static void begun(rz_dbres_t *res, void *u)
{
    pay_t *p = u;
    int rc;
    if (rzu_db_failed(p->req, res, "recording the payment"))
        return;
    const char *out = H->dbres_value(res, 0, 0);
    if (strcmp(out, "not_found") == 0) {
        H->reply_error(p->req, 404, "not_found", NULL, "no such charge or booking of yours");
    } else if (strcmp(out, "paid") == 0) {
        H->reply_error(p->req, 409, "already_paid", NULL, "this is paid, or not payable now");
    } else if (strcmp(out, "busy") == 0) {
        H->reply_error(p->req, 409, "payment_in_progress", NULL,
                       "a payment for this is already in progress or succeeded");
    } else if ((rc = rt_pay_execute(p->id, executed, p)) != RZ_OK) {
        executed(0, NULL, p); /* recorded: the recovery job sends it */
    }
}

static int method_ok(const char *m)
{
    size_t n = strlen(m);
    return n >= 1 && n <= 64 && strspn(m, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

void h_pay(rz_req_t *req, void *u)
{
    static const char *const allowed[] = {"purpose", "booking_id", "charge_id",
                                          "payment_method", NULL};
    static const char sql[] = "SELECT * FROM rent.pay_begin($1::uuid, $2, $3::uuid, $4::uuid, $5, "
                              "$6::bigint, $7::bigint)";
    const char *user = rzu_caller(req);
    cJSON *b, *purpose, *target, *method;
    pay_t *p;
    int rc;
    if (!user || !(b = rzu_body(req, allowed)))
        return;
    purpose = cJSON_GetObjectItemCaseSensitive(b, "purpose");
    method = cJSON_GetObjectItemCaseSensitive(b, "payment_method");
    if (!cJSON_IsString(purpose) || (strcmp(purpose->valuestring, "rent") != 0 &&
                                     strcmp(purpose->valuestring, "booking") != 0)) {
        H->reply_error(req, 400, "invalid", "purpose", "purpose is rent or booking");
        return;
    }
    int rent = strcmp(purpose->valuestring, "rent") == 0;
    const char *field = rent ? "charge_id" : "booking_id";
    if (cJSON_GetObjectItemCaseSensitive(b, rent ? "booking_id" : "charge_id")) {
        H->reply_error(req, 400, "invalid", rent ? "booking_id" : "charge_id",
                       "a %s payment names a %s only", purpose->valuestring, field);
        return;
    }
    target = cJSON_GetObjectItemCaseSensitive(b, field);
    if (!cJSON_IsString(target) || !rzu_is_uuid(target->valuestring)) {
        H->reply_error(req, 400, target ? "invalid" : "missing", field, "%s: expected a UUID",
                       field);
        return;
    }
    if (!cJSON_IsString(method) || !method_ok(method->valuestring)) {
        H->reply_error(req, 400, method ? "invalid" : "missing", "payment_method",
                       "payment_method: a token of 1 to 64 of [a-z0-9_]");
        return;
    }
    if (!(p = rzu_alloc(req, sizeof(*p))))
        return;
    p->req = req;
    rzu_uuid(p->id);
    rzu_i64(H->now_ms(), p->now);
    rzu_i64(rt_g.recover_ms, p->recover);
    p->q = (rzu_sql_t){.sql = sql, .n = 7,
                      .p = {p->id, purpose->valuestring, target->valuestring, user,
                            method->valuestring, p->now, p->recover},
                      .cb = begun, .udata = p};
    if ((rc = rzu_sql_run(&p->q)) != RZ_OK)
        rzu_call_failed(req, rc, "the database");
}

/* ---- GET /v1/payments/{id} ------------------------------------------------------------ */

static void got(rz_dbres_t *res, void *u)
{
    rz_req_t *req = u;
    if (rzu_db_failed(req, res, "reading the payment"))
        return;
    if (H->dbres_rows(res) == 0) {
        H->reply_error(req, 404, "not_found", NULL, "no such payment of yours");
        return;
    }
    rzu_reply_text(req, 200, H->dbres_value(res, 0, 0));
}

void h_payment_get(rz_req_t *req, void *u)
{
    static const char sql[] = "SELECT rent.payment_doc(p)::text FROM rent.payments p "
                              "WHERE id = $1::uuid AND (payer_id = $2::uuid OR payee_id = $2::uuid)";
    const char *user = rzu_caller(req), *id = H->req_param(req, "id");
    int rc;
    if (!user)
        return;
    if (!rzu_is_uuid(id)) {
        H->reply_error(req, 404, "not_found", NULL, "no such payment of yours");
        return;
    }
    const char *p[] = {id, user};
    if ((rc = H->db_query(rt_g.self, RZ_DB_READONLY, sql, 2, p, got, req)) != RZ_OK)
        rzu_call_failed(req, rc, "the database");
}

/* ---- POST /v1/payments/webhooks/{provider} --------------------------------------------- */

typedef struct hook {
    rz_req_t *req;
    rzu_sql_t q;
    cJSON *tree; /* owned until the answer */
    char now[24];
} hook_t;

static void hooked(rz_dbres_t *res, void *u)
{
    hook_t *k = u;
    cJSON_Delete(k->tree);
    if (rzu_db_failed(k->req, res, "storing the webhook"))
        return;
    const char *out = H->dbres_value(res, 0, 0);
    if (strcmp(out, "replayed") == 0)
        H->reply_error(k->req, 409, "replayed", NULL, "this event was delivered before");
    else
        rzu_reply_text(k->req, 200, strcmp(out, "ok") == 0 ? "{\"received\":true}"
                                                          : "{\"received\":true,\"matched\":false}");
}

void h_webhook(rz_req_t *req, void *u)
{
    static const char sql[] =
        "SELECT rent.webhook($1, $2, $3, $4, $5::boolean, $6, $7::bigint)";
    const char *name = H->req_param(req, "provider");
    const rz_pay_provider_t *pv = rt_provider(name);
    size_t len = 0;
    const void *body = H->req_body(req, &len);
    rz_pay_event_t ev = {0};
    hook_t *k;
    int rc;
    if (!pv) {
        H->reply_error(req, 404, "not_found", NULL, "no such payment provider");
        return;
    }
    if (pv == &rt_sandbox && !rt_secret()) {
        rt_secret_load();
        H->resp_header(req, "Retry-After", "1");
        H->reply_error(req, 503, "unavailable", NULL, "the webhook secret is not loaded yet");
        return;
    }
    rc = pv->verify(pv->state, H->req_header(req, pv->signature_header), body ? body : "", body ? len : 0,
                    H->now_ms());
    if (rc == RZ_ETIMEDOUT) {
        H->reply_error(req, 400, "stale_signature", NULL,
                       "the signature's timestamp is outside the tolerance");
        return;
    }
    if (rc != RZ_OK) {
        H->reply_error(req, 400, "bad_signature", NULL, "the signature does not match");
        return;
    }
    if (!(k = rzu_alloc(req, sizeof(*k))))
        return;
    k->req = req;
    if (pv->parse(pv->state, body, len, &k->tree, &ev) != RZ_OK) {
        cJSON_Delete(k->tree);
        H->reply_error(req, 400, "invalid", NULL, "not an event of this provider");
        return;
    }
    rzu_i64(H->now_ms(), k->now);
    k->q = (rzu_sql_t){.sql = sql, .n = 7,
                      .p = {ev.event_id, ev.idem_key,
                            ev.status == RZ_PAY_SUCCEEDED ? "succeeded" : "failed", ev.code,
                            ev.retryable ? "true" : "false", ev.ref, k->now},
                      .cb = hooked, .udata = k};
    if ((rc = rzu_sql_run(&k->q)) != RZ_OK) {
        cJSON_Delete(k->tree);
        rzu_call_failed(req, rc, "the database");
    }
}
