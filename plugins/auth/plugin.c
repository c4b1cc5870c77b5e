/*
 * auth — users, passwords and sessions; issues the access tokens the host
 * verifies on every request (host/jwtcheck.c).
 *
 * Configuration ([plugin.auth]):
 *   algorithm        HS256 (default), RS256 or ES256 — as [auth] algorithm
 *   jwt_secret_file  HS256 signing secret (>= 32 bytes); the same file as
 *                    [auth] jwt_secret_file
 *   private_key_file RS256/ES256 signing key (PEM); the host gets only the
 *                    public half ([auth] public_key_file)
 *   issuer           "rentezy"      — must equal [auth] issuer
 *   audience         "rentezy-api"  — must equal [auth] audience
 *   access_ttl       15m
 *   refresh_ttl      30d
 *   opslimit         argon2id passes (libsodium INTERACTIVE: 2)
 *   memlimit         argon2id memory (libsodium INTERACTIVE: 64MiB)
 *
 * Routes: POST /v1/auth/register, /v1/auth/login, /v1/auth/refresh,
 * /v1/auth/logout, /v1/auth/password; GET and PATCH /v1/me.
 */
#include "auth.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "rzu_embed.h"

auth_t auth_g;

RZU_EMBED(auth_sql_001, "plugins/auth/schema/001_users.sql");
RZU_EMBED(auth_openapi, "plugins/auth/openapi.json");

#define R(m, p, a, h, s)                                                                 \
    {.size = sizeof(rz_route_t), .method = m, .path = p, .access = a, .handler = h,      \
     .summary = s}

static const rz_route_t routes[] = {
    R("POST", "/v1/auth/register", RZ_ACCESS_PUBLIC, h_register, "create an account"),
    R("POST", "/v1/auth/login", RZ_ACCESS_PUBLIC, h_login, "log in"),
    R("POST", "/v1/auth/refresh", RZ_ACCESS_PUBLIC, h_refresh, "rotate a refresh token"),
    R("POST", "/v1/auth/logout", RZ_ACCESS_USER, h_logout, "end the session"),
    R("POST", "/v1/auth/password", RZ_ACCESS_USER, h_password, "change the password"),
    R("GET", "/v1/me", RZ_ACCESS_USER, h_me_get, "the caller's account"),
    R("PATCH", "/v1/me", RZ_ACCESS_USER, h_me_patch, "change the caller's name"),
};

static int fail(const char *msg)
{
    auth_g.host->log(auth_g.self, RZ_LOG_ERROR, "%s", msg);
    return RZ_EINVAL;
}

static int configure(void)
{
    const rz_host_t *h = auth_g.host;
    rz_plugin_t *self = auth_g.self;
    const char *alg, *secret, *secret_file, *priv, *priv_file;
    int64_t ops;
    uint64_t mem;
    if (h->config_string(self, "algorithm", "HS256", &alg) ||
        h->config_string(self, "jwt_secret", NULL, &secret) ||
        h->config_string(self, "jwt_secret_file", NULL, &secret_file) ||
        h->config_string(self, "private_key", NULL, &priv) ||
        h->config_string(self, "private_key_file", NULL, &priv_file) ||
        h->config_string(self, "issuer", "rentezy", &auth_g.issuer) ||
        h->config_string(self, "audience", "rentezy-api", &auth_g.audience) ||
        h->config_duration_ms(self, "access_ttl", 15 * 60 * 1000, &auth_g.access_ttl_ms) ||
        h->config_duration_ms(self, "refresh_ttl", 30LL * 24 * 3600 * 1000,
                              &auth_g.refresh_ttl_ms) ||
        h->config_int(self, "opslimit", crypto_pwhash_OPSLIMIT_INTERACTIVE, &ops) ||
        h->config_size(self, "memlimit", crypto_pwhash_MEMLIMIT_INTERACTIVE, &mem))
        return RZ_EINVAL; /* the host logged file:line */
    if (strcmp(alg, "HS256") == 0)
        auth_g.alg = 1;
    else if (strcmp(alg, "RS256") == 0)
        auth_g.alg = 2;
    else if (strcmp(alg, "ES256") == 0)
        auth_g.alg = 3;
    else
        return fail("[plugin.auth] algorithm: expected HS256, RS256 or ES256");
    if (auth_g.alg == 1) {
        /* An empty secret would sign tokens anyone can forge (and, on the
         * verifying side, libjwt would skip the check altogether). */
        if (!secret || strlen(secret) < 32)
            return fail(secret_file && *secret_file
                            ? "[plugin.auth] jwt_secret_file: the secret is empty or shorter than "
                              "32 bytes; write at least 32 random bytes into it"
                            : "[plugin.auth] jwt_secret_file is not set: HS256 needs a secret of "
                              "at least 32 bytes (the same file as [auth] jwt_secret_file)");
        auth_g.key = secret;
    } else {
        if (!priv || !*priv)
            return fail("[plugin.auth] private_key_file is not set: RS256/ES256 sign with a "
                        "private key in PEM");
        auth_g.key = priv;
    }
    auth_g.key_len = strlen(auth_g.key);
    if (auth_g.access_ttl_ms < 60000 || auth_g.access_ttl_ms > 24 * 3600 * 1000LL)
        return fail("[plugin.auth] access_ttl: expected 1m to 24h");
    if (auth_g.refresh_ttl_ms < auth_g.access_ttl_ms)
        return fail("[plugin.auth] refresh_ttl: must be at least access_ttl");
    if (ops < (int64_t)crypto_pwhash_OPSLIMIT_MIN || ops > 64)
        return fail("[plugin.auth] opslimit: expected 1 to 64 (libsodium INTERACTIVE is 2)");
    if (mem < crypto_pwhash_MEMLIMIT_MIN || mem > ((uint64_t)4 << 30))
        return fail("[plugin.auth] memlimit: expected 8KiB to 4GiB (libsodium INTERACTIVE is "
                    "64MiB)");
    auth_g.opslimit = (unsigned long long)ops;
    auth_g.memlimit = (size_t)mem;
    return RZ_OK;
}

static int auth_init(rz_plugin_t *self, const rz_host_t *host, void **state)
{
    char err[256];
    auth_g.host = host;
    auth_g.self = self;
    if (sodium_init() < 0)
        return fail("libsodium failed to initialise");
    int rc = configure();
    if (rc != RZ_OK)
        return rc;
    if (tok_init(err, sizeof(err)) < 0 || pw_init(err, sizeof(err)) < 0)
        return fail(err);
    if ((rc = host->migration(self, 1, "users", auth_sql_001)) != RZ_OK)
        return rc;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        if ((rc = host->route(self, &routes[i])) != RZ_OK)
            return rc;
    *state = &auth_g;
    return host->openapi(self, auth_openapi);
}

static void auth_destroy(rz_plugin_t *self, void *state)
{
    sodium_memzero(auth_g.dummy_hash, sizeof(auth_g.dummy_hash));
}

static const char *const auth_requires[] = {"cap:db", "cap:bus", NULL};

RZ_PLUGIN_DEFINE(.name = "auth", .version = "1.0.0",
                 .description = "Users, argon2id passwords, JWT access and rotating refresh tokens",
                 .requires = auth_requires, .init = auth_init, .destroy = auth_destroy)
