/*
 * rent — payments through a provider interface (the built-in sandbox),
 * leases, and the monthly run: charges ahead of the due date, reminders,
 * autopay with retries, late fees.  Publishes payment-events and
 * rent-events; consumes booking-events.  docs/decisions/0009-rent.md.
 *
 * Configuration ([plugin.rent]):
 *   charge_lead_days        7      a month's charge is created this many days
 *                                  before its due date
 *   run_cron                "0 * * * *"  when the daily run looks at the
 *                                  leases (UTC); each lease is handled once
 *                                  per local day, whatever the cron
 *   payment_recovery        60s    a recorded payment not finished after this
 *                                  is sent again (same idempotency key)
 *   sandbox_webhook_secret  ""     HMAC key of the sandbox's webhooks (at
 *                                  least 16 bytes); unset, a random one is
 *                                  generated once and kept in rent.settings
 *   sandbox_webhook_url     http://127.0.0.1:8080/v1/payments/webhooks/sandbox
 *   sandbox_confirm_delay   2s     when tok_async_ok charges confirm
 */
#include "rent.h"

#include <string.h>

#include <sodium.h>

#include "rzu_embed.h"

rt_t rt_g;

RZU_EMBED(rt_sql_001, "plugins/rent/schema/001_rent.sql");
RZU_EMBED(rt_sql_002, "plugins/rent/schema/002_settings.sql");
RZU_EMBED(rt_sql_003, "plugins/rent/schema/003_fk_indexes.sql");
RZU_EMBED(rt_sql_004, "plugins/rent/schema/004_provider.sql");
RZU_EMBED(rt_openapi, "plugins/rent/openapi.json");

#define R(m, p, a, h, s)                                                                 \
    {.size = sizeof(rz_route_t), .method = m, .path = p, .access = a, .handler = h,      \
     .summary = s}
#define USR RZ_ACCESS_USER

static const rz_route_t routes[] = {
    R("POST", "/v1/payments", USR, h_pay, "pay a booking or a rent charge"),
    R("GET", "/v1/payments/{id}", USR, h_payment_get, "a payment (payer or payee)"),
    R("POST", "/v1/payments/webhooks/{provider}", RZ_ACCESS_PUBLIC, h_webhook,
      "a payment provider's signed webhook"),
    R("POST", "/v1/leases", RZ_ACCESS_LANDLORD, h_lease_create, "propose a lease"),
    R("GET", "/v1/leases", USR, h_lease_list, "the caller's leases (tenant or landlord)"),
    R("GET", "/v1/leases/{id}", USR, h_lease_get, "a lease (tenant or landlord)"),
    R("POST", "/v1/leases/{id}/accept", USR, h_lease_accept, "the tenant accepts"),
    R("POST", "/v1/leases/{id}/terminate", USR, h_lease_terminate, "end the lease on a date"),
    R("GET", "/v1/leases/{id}/ledger", USR, h_lease_ledger, "charges, payments and balance"),
};

static int fail(const char *msg)
{
    H->log(rt_g.self, RZ_LOG_ERROR, "%s", msg);
    return RZ_EINVAL;
}

static int configure(void)
{
    rz_plugin_t *self = rt_g.self;
    if (H->config_int(self, "charge_lead_days", 7, &rt_g.lead_days) ||
        H->config_string(self, "run_cron", "0 * * * *", &rt_g.cron) ||
        H->config_duration_ms(self, "payment_recovery", 60000, &rt_g.recover_ms) ||
        H->config_string(self, "sandbox_webhook_secret", "", &rt_g.secret) ||
        H->config_string(self, "sandbox_webhook_url",
                         "http://127.0.0.1:8080/v1/payments/webhooks/sandbox",
                         &rt_g.webhook_url) ||
        H->config_duration_ms(self, "sandbox_confirm_delay", 2000, &rt_g.confirm_ms) ||
        H->config_string(self, "provider", "sandbox", &rt_g.provider_name))
        return RZ_EINVAL; /* the host logged file:line */
    if (rt_g.lead_days < 0 || rt_g.lead_days > 27)
        return fail("[plugin.rent] charge_lead_days: expected 0 to 27");
    if (rt_g.recover_ms < 1000)
        return fail("[plugin.rent] payment_recovery: expected at least 1s");
    if (rt_g.confirm_ms < 0 || rt_g.confirm_ms > 86400000)
        return fail("[plugin.rent] sandbox_confirm_delay: expected 0 to 1d");
    if (rt_g.secret && *rt_g.secret && strlen(rt_g.secret) < 16)
        return fail("[plugin.rent] sandbox_webhook_secret: expected at least 16 bytes, or "
                    "unset for a generated one");
    if (!rt_g.webhook_url || strncmp(rt_g.webhook_url, "http://", 7) != 0)
        return fail("[plugin.rent] sandbox_webhook_url: expected http://host:port/path");
    size_t n = strlen(rt_g.provider_name);
    if (n == 0 || n > 40 || strspn(rt_g.provider_name, "abcdefghijklmnopqrstuvwxyz0123456789_") != n)
        return fail("[plugin.rent] provider: expected a name of [a-z0-9_], such as sandbox");
    return RZ_OK;
}

static int rt_init(rz_plugin_t *self, const rz_host_t *host, void **state)
{
    int rc;
    rt_g.host = host;
    rt_g.self = self;
    rzu_init(host, self);
    if (sodium_init() < 0)
        return fail("libsodium failed to initialise");
    if ((rc = configure()) != RZ_OK)
        return rc;
    if (!host->bus_subscribe)
        return fail("this host has no event bus; rent needs ABI 1.1");
    if ((rc = host->migration(self, 1, "rent", rt_sql_001)) != RZ_OK ||
        (rc = host->migration(self, 2, "settings", rt_sql_002)) != RZ_OK ||
        (rc = host->migration(self, 3, "fk_indexes", rt_sql_003)) != RZ_OK ||
        (rc = host->migration(self, 4, "provider", rt_sql_004)) != RZ_OK)
        return rc;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        if ((rc = host->route(self, &routes[i])) != RZ_OK)
            return rc;
    if ((rc = host->job_register(self, "daily", job_daily, NULL)) != RZ_OK ||
        (rc = host->job_register(self, "payment", job_payment, NULL)) != RZ_OK ||
        (rc = host->job_register(self, "refund", job_refund, NULL)) != RZ_OK ||
        (rc = host->job_register(self, "sandbox_confirm", job_sandbox_confirm, NULL)) != RZ_OK ||
        (rc = host->job_schedule(self, "daily", rt_g.cron, "UTC", "daily")) != RZ_OK)
        return rc;
    if ((rc = host->bus_subscribe(self, "booking-events", "rent", RZ_BUS_SHARED,
                                  on_booking_event, NULL)) != RZ_OK)
        return rc;
    *state = &rt_g;
    return host->openapi(self, rt_openapi);
}

/* start runs in every worker: re-read settings so SIGHUP changes apply. */
static int rt_start(rz_plugin_t *self, void *state)
{
    int rc = configure();
    if (rc == RZ_OK)
        rc = rt_provider_start();
    if (rc == RZ_OK)
        rt_secret_load(); /* queued until the database answers */
    return rc;
}

static const char *const rt_requires[] = {"cap:db", "cap:jobs", "cap:bus", NULL};

RZ_PLUGIN_DEFINE(.name = "rent", .version = "1.0.0",
                 .description = "Payments through providers (sandbox built in), leases, "
                                "monthly rent with reminders, retries and late fees",
                 .requires = rt_requires, .init = rt_init, .start = rt_start)
