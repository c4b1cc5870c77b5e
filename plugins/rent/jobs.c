/*
 * jobs.c — the durable jobs of the rent plugin:
 *
 *   daily      from the schedule ([plugin.rent] run_cron, UTC): brings every
 *              active lease up to its local today (rent.run_day), in
 *              transactions of run_batch leases, until none is behind
 *   payment    {"payment_id"}: takes a recorded payment through the
 *              provider — the autopay attempt, or the recovery of a payment
 *              whose process died; the same idempotency key every time
 *   refund     {"refund_id"}: sends a recorded refund to the provider
 *
 * All are idempotent: a second run finds nothing left to do.
 */
#include "rent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RUN_BATCH "500"
#define RUN_CHAINS 4 /* concurrent transactions of one run (SKIP LOCKED splits the leases) */

typedef struct daily daily_t;
typedef struct chain {
    daily_t *d;
    rzu_sql_t q;
} chain_t;

struct daily {
    rz_job_t *job;
    chain_t chains[RUN_CHAINS];
    int running, failed;
    char now[24], lead[24];
    int64_t leases, charges;
    char error[160];
};

static void daily_end(daily_t *d)
{
    if (d->failed)
        H->job_done(d->job, RZ_JOB_RETRY, d->error);
    else
        H->job_done(d->job, RZ_JOB_DONE, NULL);
    if (d->leases)
        H->log(rt_g.self, RZ_LOG_INFO, "daily run: %lld leases, %lld charges created",
               (long long)d->leases, (long long)d->charges);
    free(d);
}

static void daily_step(rz_dbres_t *res, void *u)
{
    chain_t *c = u;
    daily_t *d = c->d;
    int st = H->dbres_status(res);
    if (st != RZ_OK) {
        d->failed = 1;
        snprintf(d->error, sizeof(d->error), "%s", st == RZ_EUNAVAIL
                                                       ? "the database is unavailable"
                                                       : H->dbres_message(res));
    } else {
        int64_t n = strtoll(H->dbres_value(res, 0, 0), NULL, 10);
        d->leases += n;
        d->charges += strtoll(H->dbres_value(res, 0, 1), NULL, 10);
        /* a full batch: there may be more behind; go on with this chain */
        if (!d->failed && n >= strtoll(RUN_BATCH, NULL, 10) && rzu_sql_run(&c->q) == RZ_OK)
            return;
    }
    if (--d->running == 0)
        daily_end(d);
}

void job_daily(rz_job_t *job, void *u)
{
    daily_t *d = calloc(1, sizeof(*d));
    if (!d) {
        H->job_done(job, RZ_JOB_RETRY, "out of memory");
        return;
    }
    d->job = job;
    rzu_i64(H->now_ms(), d->now);
    rzu_i64(rt_g.lead_days, d->lead);
    for (int i = 0; i < RUN_CHAINS; i++) {
        chain_t *c = &d->chains[i];
        c->d = d;
        c->q = (rzu_sql_t){.sql = "SELECT * FROM rent.run_day($1::bigint, $2::int, " RUN_BATCH ")",
                          .n = 2, .p = {d->now, d->lead}, .cb = daily_step, .udata = c};
        if (rzu_sql_run(&c->q) == RZ_OK)
            d->running++;
    }
    if (d->running == 0) {
        H->job_done(job, RZ_JOB_RETRY, "the database is unavailable");
        free(d);
    }
}

/* ---- payment --------------------------------------------------------------------------- */

static void paid(int ok, const char *doc, void *u)
{
    rz_job_t *job = u;
    H->job_done(job, ok ? RZ_JOB_DONE : RZ_JOB_RETRY, ok ? NULL : "the provider or database "
                                                                  "did not answer");
}

/* The string field name of the job's payload, a UUID, into out. */
static int payload_id(rz_job_t *job, const char *name, char out[UUID_LEN + 1])
{
    cJSON *p = cJSON_Parse(H->job_payload(job));
    cJSON *id = cJSON_GetObjectItemCaseSensitive(p, name);
    int rc = -1;
    if (cJSON_IsString(id) && rzu_is_uuid(id->valuestring)) {
        memcpy(out, id->valuestring, UUID_LEN + 1);
        rc = 0;
    }
    cJSON_Delete(p);
    return rc;
}

void job_payment(rz_job_t *job, void *u)
{
    char id[UUID_LEN + 1];
    int rc;
    if (payload_id(job, "payment_id", id) < 0) {
        H->job_done(job, RZ_JOB_FAIL, "payload without a payment_id");
        return;
    }
    if ((rc = rt_pay_execute(id, paid, job)) != RZ_OK)
        H->job_done(job, RZ_JOB_RETRY, "could not start the payment");
}

/* ---- refund ------------------------------------------------------------------------------ */

typedef struct refund {
    rz_job_t *job;
    rzu_sql_t q;
    char id[UUID_LEN + 1], now[24], key[129], ref[129], cur[4];
} refund_t;

static void refund_stored(rz_dbres_t *res, void *u)
{
    refund_t *r = u;
    int st = H->dbres_status(res);
    H->job_done(r->job, st == RZ_OK ? RZ_JOB_DONE : RZ_JOB_RETRY,
                st == RZ_OK ? NULL : "the database did not store the refund");
    free(r);
}

static void refund_answered(const rz_pay_result_t *res, void *u)
{
    static const char sql[] = "SELECT rent.refund_finish($1::uuid, $2, $3, $4::bigint)";
    refund_t *r = u;
    if (!res || res->status == RZ_PAY_PENDING) {
        H->job_done(r->job, RZ_JOB_RETRY, "the provider has not settled the refund");
        free(r);
        return;
    }
    snprintf(r->ref, sizeof(r->ref), "%s", res->ref ? res->ref : "");
    rzu_i64(H->now_ms(), r->now);
    r->q = (rzu_sql_t){.sql = sql, .n = 4,
                      .p = {r->id, res->status == RZ_PAY_SUCCEEDED ? "succeeded" : "failed", r->ref,
                            r->now},
                      .cb = refund_stored, .udata = r};
    if (rzu_sql_run(&r->q) != RZ_OK) {
        H->job_done(r->job, RZ_JOB_RETRY, "the database is unavailable");
        free(r);
    }
}

static void refund_loaded(rz_dbres_t *res, void *u)
{
    refund_t *r = u;
    if (H->dbres_status(res) != RZ_OK || H->dbres_rows(res) == 0) {
        H->job_done(r->job, H->dbres_status(res) == RZ_OK ? RZ_JOB_DONE : RZ_JOB_RETRY, NULL);
        free(r);
        return;
    }
    snprintf(r->key, sizeof(r->key), "%s", H->dbres_value(res, 0, 0));
    snprintf(r->ref, sizeof(r->ref), "%s", H->dbres_value(res, 0, 3));
    snprintf(r->cur, sizeof(r->cur), "%s", H->dbres_value(res, 0, 2));
    const rz_pay_provider_t *pv = rt_provider(H->dbres_value(res, 0, 4));
    if (!pv) {
        H->job_done(r->job, RZ_JOB_RETRY, "the payment's provider is not available here");
        free(r);
        return;
    }
    rz_pay_refund_t rf = {.size = sizeof(rf), .idem_key = r->key, .charge_ref = r->ref,
                          .amount = strtoll(H->dbres_value(res, 0, 1), NULL, 10),
                          .currency = r->cur};
    if (pv->refund(pv->state, &rf, refund_answered, r) != RZ_OK) {
        H->job_done(r->job, RZ_JOB_RETRY, "the provider refused the refund call");
        free(r);
    }
}

void job_refund(rz_job_t *job, void *u)
{
    static const char sql[] =
        "SELECT r.idem_key, r.amount, p.currency, coalesce(p.provider_ref, p.idem_key), "
        "p.provider "
        "FROM rent.refunds r JOIN rent.payments p ON p.id = r.payment_id "
        "WHERE r.id = $1::uuid AND r.status = 'pending'";
    refund_t *r = calloc(1, sizeof(*r));
    if (!r) {
        H->job_done(job, RZ_JOB_RETRY, "out of memory");
        return;
    }
    r->job = job;
    if (payload_id(job, "refund_id", r->id) < 0) {
        H->job_done(job, RZ_JOB_FAIL, "payload without a refund_id");
        free(r);
        return;
    }
    r->q = (rzu_sql_t){.sql = sql, .n = 1, .p = {r->id}, .cb = refund_loaded, .udata = r};
    if (rzu_sql_run(&r->q) != RZ_OK) {
        H->job_done(job, RZ_JOB_RETRY, "the database is unavailable");
        free(r);
    }
}
