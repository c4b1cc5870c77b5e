/*
 * rent.h — what the files of the rent plugin share.  Not part of the SDK.
 *
 * plugin.c     descriptor, configuration, migrations, routes, jobs, subscriptions
 * secret.c     the sandbox's webhook secret: configured, or generated once
 *              and kept in rent.settings
 * provider.c   which provider carries out a payment ([plugin.rent] provider)
 * sandbox.c    the built-in sandbox provider: test tokens, idempotency,
 *              asynchronous confirmations through signed webhooks
 * payments.c   POST /v1/payments, GET /v1/payments/{id}, the webhook
 *              endpoint, and the executor that takes a recorded payment
 *              through the provider
 * leases.c     leases: create, read, accept, terminate, ledger
 * jobs.c       the daily run, payment and refund jobs
 * consume.c    booking-events: the bookings read model and refunds
 *
 * Answers for failures, UUIDs, dates and the retrying query are the shared
 * plugins/common/rzu.h helpers.
 *
 * The rules live in the schema's SQL functions (schema/001_rent.sql; 002
 * the settings table, 003 indexes under the foreign keys); each
 * write is one statement that also publishes and enqueues.  Ownership:
 * per-request state is host->req_alloc memory; per-job, per-event and
 * per-payment state is malloc'd and freed after job_done / bus_done.
 */
#ifndef RENT_H
#define RENT_H

#include <rentezy/payment.h>
#include <rentezy/plugin.h>

#include <stddef.h>
#include <stdint.h>

#include "rzu.h"

#define RT_HIDDEN __attribute__((visibility("hidden")))

#define RT_MAX_AMOUNT 100000000000LL /* 1e9 major units of a 2-decimal currency */

typedef struct rt {
    const rz_host_t *host;
    rz_plugin_t *self;
    const char *provider_name; /* [plugin.rent] provider: new payments use it */
    int64_t lead_days;      /* [plugin.rent] charge_lead_days */
    int64_t recover_ms;     /* [plugin.rent] payment_recovery */
    int64_t confirm_ms;     /* [plugin.rent] sandbox_confirm_delay */
    const char *secret;     /* [plugin.rent] sandbox_webhook_secret; "" = generated */
    const char *webhook_url;/* [plugin.rent] sandbox_webhook_url */
    const char *cron;       /* [plugin.rent] run_cron */
} rt_t;

extern rt_t rt_g RT_HIDDEN;
#define H (rt_g.host)

/* ---- provider.c --------------------------------------------------------------- */
/* The provider called name (the sandbox, or one another plugin provides), or
 * NULL when there is none such. */
RT_HIDDEN const rz_pay_provider_t *rt_provider(const char *name);
/* At start: check [plugin.rent] provider exists and record it for the SQL
 * that records payments.  RZ_OK, or an error after logging it. */
RT_HIDDEN int rt_provider_start(void);

/* ---- secret.c ----------------------------------------------------------------- */
/* The webhook secret, or NULL while it is being loaded. */
RT_HIDDEN const char *rt_secret(void);
/* Start loading (or generating) the stored secret unless it is configured,
 * known or on its way. */
RT_HIDDEN void rt_secret_load(void);

/* ---- sandbox.c ---------------------------------------------------------------- */
RT_HIDDEN extern const rz_pay_provider_t rt_sandbox;
/* "t=<unix>,v1=<hex>" for body at now_ms with the configured secret, into
 * out[cap].  RZ_OK or RZ_EINVAL (too small). */
RT_HIDDEN int rt_sandbox_sign(const void *body, size_t len, int64_t now_ms, char *out,
                              size_t cap);
RT_HIDDEN void job_sandbox_confirm(rz_job_t *job, void *u);

/* ---- payments.c ---------------------------------------------------------------- */
RT_HIDDEN void h_pay(rz_req_t *req, void *u);
RT_HIDDEN void h_payment_get(rz_req_t *req, void *u);
RT_HIDDEN void h_webhook(rz_req_t *req, void *u);
/* Take recorded payment id through the provider and store the answer.
 * done(ok, doc_json, udata): ok 1 when the answer (or pending) is stored,
 * 0 when it must be retried later; doc is the payment doc or NULL, valid
 * during the call.  RZ_OK, or an error (done will not run). */
typedef void (*rt_exec_fn)(int ok, const char *doc, void *udata);
RT_HIDDEN int rt_pay_execute(const char *payment_id, rt_exec_fn done, void *udata);

/* ---- leases.c ---------------------------------------------------------------- */
RT_HIDDEN void h_lease_create(rz_req_t *req, void *u);
RT_HIDDEN void h_lease_get(rz_req_t *req, void *u);
RT_HIDDEN void h_lease_list(rz_req_t *req, void *u);
RT_HIDDEN void h_lease_accept(rz_req_t *req, void *u);
RT_HIDDEN void h_lease_terminate(rz_req_t *req, void *u);
RT_HIDDEN void h_lease_ledger(rz_req_t *req, void *u);

/* ---- jobs.c, consume.c ------------------------------------------------------- */
RT_HIDDEN void job_daily(rz_job_t *job, void *u);
RT_HIDDEN void job_payment(rz_job_t *job, void *u);
RT_HIDDEN void job_refund(rz_job_t *job, void *u);
RT_HIDDEN void on_booking_event(rz_event_t *ev, void *u);

#endif
