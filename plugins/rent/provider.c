/*
 * provider.c — which payment provider carries out a payment.
 *
 * [plugin.rent] provider names the one that new payments use: "sandbox",
 * built in, or one that another plugin publishes as "payment.provider.<name>"
 * (rentezy/payment.h, with the host's iface_provide, ABI 1.2).  Every
 * worker records the name in rent.settings at start, where the SQL that
 * records payments reads it (schema/004_provider.sql).  A payment keeps the
 * name it was recorded with, and its charge, refund and webhooks go to that
 * provider, so changing the setting never sends a pending payment elsewhere.
 */
#include "rent.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

const rz_pay_provider_t *rt_provider(const char *name)
{
    char iface[96];
    const rz_pay_provider_t *pv;
    if (!name || !*name)
        return NULL;
    if (strcmp(name, rt_sandbox.name) == 0)
        return &rt_sandbox;
    if ((size_t)snprintf(iface, sizeof(iface), RZ_PAY_IFACE_PREFIX "%s", name) >= sizeof(iface))
        return NULL;
    pv = H->iface_lookup(rt_g.self, iface);
    /* a table from an older payment.h than ours may lack members we call */
    if (!pv || pv->size < offsetof(rz_pay_provider_t, parse) + sizeof(pv->parse) ||
        !pv->name || strcmp(pv->name, name) != 0 || !pv->charge || !pv->refund ||
        !pv->verify || !pv->parse)
        return NULL;
    return pv;
}

static void record(void *u);

/* Not ready until recorded: a payment asked for before would be recorded
 * with the provider of the previous start. */
static void recorded(rz_dbres_t *res, void *u)
{
    (void)u;
    if (H->dbres_status(res) == RZ_OK) {
        H->ready_set(rt_g.self, 1, NULL);
        return;
    }
    H->log(rt_g.self, RZ_LOG_WARN, "cannot record the payment provider %s (retrying): %s",
           rt_g.provider_name, H->dbres_message(res));
    if (!H->timer_start(rt_g.self, 1000, 0, record, NULL))
        H->log(rt_g.self, RZ_LOG_ERROR, "cannot retry recording the payment provider");
}

static void record(void *u)
{
    static const char sql[] =
        "INSERT INTO rent.settings AS s (name, value) VALUES ('provider', $1) "
        "ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value WHERE s.value <> EXCLUDED.value";
    static rzu_sql_t q;
    (void)u;
    q = (rzu_sql_t){.sql = sql, .n = 1, .p = {rt_g.provider_name}, .cb = recorded};
    if (rzu_sql_run(&q) != RZ_OK && !H->timer_start(rt_g.self, 1000, 0, record, NULL))
        H->log(rt_g.self, RZ_LOG_ERROR, "cannot record the payment provider");
}

int rt_provider_start(void)
{
    if (!rt_provider(rt_g.provider_name)) {
        H->log(rt_g.self, RZ_LOG_ERROR,
               "[plugin.rent] provider %s: no plugin provides " RZ_PAY_IFACE_PREFIX "%s "
               "(load it in [host] plugins, or use sandbox)", rt_g.provider_name,
               rt_g.provider_name);
        return RZ_EINVAL;
    }
    H->ready_set(rt_g.self, 0, "recording the payment provider");
    record(NULL);
    return RZ_OK;
}
