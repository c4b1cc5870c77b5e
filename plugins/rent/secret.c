/*
 * secret.c — the HMAC key of the sandbox's webhooks.
 *
 * [plugin.rent] sandbox_webhook_secret when it is set (at least 16 bytes).
 * Otherwise a random one: the first worker to start stores 32 random bytes
 * (hex) in rent.settings, and every worker of every host on the database
 * reads that one, so the shipped configuration works without a secret in a
 * file.  Loading is asynchronous; until it is done rt_secret() is NULL and
 * the webhook answers 503, the confirmation job retries.
 */
#include "rent.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

static struct {
    char stored[65]; /* the database's secret, once read */
    char fresh[65];  /* the one this worker offers, should none be stored */
    int loading;
    rzu_sql_t q;
} S;

const char *rt_secret(void)
{
    if (rt_g.secret && *rt_g.secret)
        return rt_g.secret;
    return S.stored[0] ? S.stored : NULL;
}

static void loaded(rz_dbres_t *res, void *u)
{
    S.loading = 0;
    if (H->dbres_status(res) != RZ_OK) {
        H->log(rt_g.self, RZ_LOG_WARN, "cannot read the sandbox webhook secret: %s",
               H->dbres_message(res));
        return;
    }
    /* no row: another worker inserted it meanwhile; the next use reads it */
    const char *v = H->dbres_rows(res) == 1 ? H->dbres_value(res, 0, 0) : NULL;
    if (v && strlen(v) >= 16 && strlen(v) < sizeof(S.stored))
        memcpy(S.stored, v, strlen(v) + 1);
}

void rt_secret_load(void)
{
    static const char sql[] =
        "WITH ins AS (INSERT INTO rent.settings (name, value) "
        "VALUES ('sandbox_webhook_secret', $1) ON CONFLICT (name) DO NOTHING RETURNING value) "
        "SELECT value FROM ins UNION ALL "
        "SELECT value FROM rent.settings WHERE name = 'sandbox_webhook_secret' LIMIT 1";
    unsigned char b[32];
    if (rt_secret() || S.loading)
        return;
    randombytes_buf(b, sizeof(b));
    sodium_bin2hex(S.fresh, sizeof(S.fresh), b, sizeof(b));
    sodium_memzero(b, sizeof(b));
    S.q = (rzu_sql_t){.sql = sql, .n = 1, .p = {S.fresh}, .cb = loaded};
    if (rzu_sql_run(&S.q) == RZ_OK)
        S.loading = 1;
}
