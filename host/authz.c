/*
 * authz.c — the route access check: who is calling (a bearer token verified
 * by jwtcheck.c with the settings of [auth]) and whether the route lets them in.
 *
 * Without [auth] settings no token can be verified, so only public routes
 * can be reached: every other route answers 401, which is the truthful
 * answer when nobody can be identified.
 *
 * The verifier is built in the master (at start and on SIGHUP) and
 * inherited by the workers; each worker's copy has its own token cache.
 */
#include "authz.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "gateway.h"
#include "http.h"
#include "jwtcheck.h"
#include "log.h"

static rz_jwt_t *verifier; /* owned; NULL when [auth] configures none */

static const char *const auth_keys[] = {"algorithm", "jwt_secret", "jwt_secret_file",
                                        "public_key", "public_key_file", "issuer", "audience",
                                        "leeway", "cache_size", NULL};

static int where_err(const rz_config_t *cfg, const char *key, char *err, size_t errlen,
                     const char *msg)
{
    const char *where = NULL;
    rz__config_get(cfg, "auth", key, &where);
    snprintf(err, errlen, "%s%s%s", where ? where : "", where ? ": " : "", msg);
    return -1;
}

/* Build the verifier [auth] describes into *out (NULL when [auth] names no
 * algorithm and no key).  0 or -1 with err. */
static int build_verifier(const rz_config_t *cfg, rz_jwt_t **out, char *err, size_t errlen)
{
    const char *alg_name, *issuer, *audience;
    int64_t leeway, cache;
    *out = NULL;
    if (rz__config_check_keys(cfg, "auth", auth_keys, err, errlen) < 0 ||
        rz__config_string(cfg, "auth", "algorithm", "HS256", &alg_name, err, errlen) < 0 ||
        rz__config_string(cfg, "auth", "issuer", "rentezy", &issuer, err, errlen) < 0 ||
        rz__config_string(cfg, "auth", "audience", "rentezy-api", &audience, err, errlen) < 0 ||
        rz__config_duration_ms(cfg, "auth", "leeway", 30000, &leeway, err, errlen) < 0 ||
        rz__config_int(cfg, "auth", "cache_size", 4096, &cache, err, errlen) < 0)
        return -1;
    /* Raw lookups: an empty secret file must be an error, not "absent". */
    const char *secret = rz__config_get(cfg, "auth", "jwt_secret", NULL);
    const char *secret_file = rz__config_get(cfg, "auth", "jwt_secret_file", NULL);
    const char *pub = rz__config_get(cfg, "auth", "public_key", NULL);
    const char *pub_file = rz__config_get(cfg, "auth", "public_key_file", NULL);
    int any = rz__config_get(cfg, "auth", "algorithm", NULL) || secret || pub ||
              (secret_file && *secret_file) || (pub_file && *pub_file);
    if (!any)
        return 0;
    int alg = rz__jwt_alg_parse(alg_name);
    if (alg < 0)
        return where_err(cfg, "algorithm", err, errlen,
                         "[auth] algorithm: expected HS256, RS256 or ES256 (\"none\" is never "
                         "accepted)");
    if (cache < 0 || cache > (1 << 24))
        return where_err(cfg, "cache_size", err, errlen,
                         "[auth] cache_size: expected 0 to 16777216 tokens");
    const char *key = alg == RZ_JWT_HS256 ? secret : pub;
    if (alg == RZ_JWT_HS256 && pub && *pub)
        return where_err(cfg, "public_key", err, errlen,
                         "[auth] public_key is set but algorithm is HS256; set algorithm = RS256 "
                         "or ES256, or remove public_key");
    rz_jwt_opts_t o = {.alg = alg, .key = key, .key_len = key ? strlen(key) : 0,
                       .issuer = issuer, .audience = audience, .leeway_ms = leeway,
                       .cache_size = (size_t)cache};
    char why[400];
    if (!(*out = rz__jwt_new(&o, why, sizeof(why))))
        return where_err(cfg, alg == RZ_JWT_HS256 ? "jwt_secret_file" : "public_key_file", err,
                         errlen, why);
    return 0;
}

int rz__authz_configure(const rz_config_t *cfg, char *err, size_t errlen)
{
    rz_jwt_t *v;
    /* Build everything new before dropping the old: on a failed SIGHUP the
     * master re-applies the old configuration. */
    if (build_verifier(cfg, &v, err, errlen) < 0)
        return -1;
    if (rz__gateway_configure(cfg, err, errlen) < 0) {
        rz__jwt_free(v);
        return -1;
    }
    rz__jwt_free(verifier);
    verifier = v;
    if (!v)
        rz__log(RZ_LOG_INFO, "authz", "[auth] sets no algorithm or key: only public routes "
                "can be reached");
    return 0;
}

void rz__authz_shutdown(void)
{
    rz__jwt_free(verifier);
    verifier = NULL;
}

int rz__authz_verify(const char *token, rz_identity_t *id, const char **why)
{
    return rz__jwt_verify(verifier, token, rz__now_ms(), id, why);
}

/* The token of "Authorization: Bearer <token>", or NULL; *bad is set when
 * the header exists but is not a bearer credential. */
static const char *bearer(rz_req_t *req, int *bad)
{
    const char *h = rz__svc_req_header(req, "Authorization");
    *bad = 0;
    if (!h)
        return NULL;
    if (strncasecmp(h, "Bearer ", 7) != 0) {
        *bad = 1;
        return NULL;
    }
    h += 7;
    while (*h == ' ')
        h++;
    return h;
}

static int deny_401(rz_req_t *req, const char *error, const char *why)
{
    char v[256];
    if (error)
        snprintf(v, sizeof(v), "Bearer realm=\"rentezy\", error=\"%s\", error_description=\"%s\"",
                 error, why);
    else
        snprintf(v, sizeof(v), "Bearer realm=\"rentezy\"");
    rz__svc_resp_header(req, "WWW-Authenticate", v);
    if (error)
        rz__svc_reply_error(req, 401, error, NULL, "the bearer token is not valid: %s", why);
    else
        rz__svc_reply_error(req, 401, "unauthenticated", NULL, "a valid bearer token is required");
    return -1;
}

static int role_allows(int access, const char *role)
{
    switch (access) {
    case RZ_ACCESS_USER: return 1;
    case RZ_ACCESS_TENANT: return strcmp(role, "tenant") == 0;
    case RZ_ACCESS_LANDLORD: return strcmp(role, "landlord") == 0;
    case RZ_ACCESS_ADMIN: return strcmp(role, "admin") == 0;
    default: return 0;
    }
}

static const char *access_name(int access)
{
    switch (access) {
    case RZ_ACCESS_TENANT: return "tenant";
    case RZ_ACCESS_LANDLORD: return "landlord";
    case RZ_ACCESS_ADMIN: return "admin";
    default: return "user";
    }
}

int rz__authz_check(rz_req_t *req, const rz_route_entry_t *route)
{
    int bad;
    const char *why = NULL;
    rz_identity_t id;
    const char *token = bearer(req, &bad);
    if (route->access == RZ_ACCESS_PUBLIC) {
        /* A valid token still names the caller (per-user rate limits, a
         * handler that personalises); a stale one is ignored, so a client
         * holding an expired token can still log in. */
        if (token && rz__authz_verify(token, &id, &why) == 0)
            rz__req_set_identity(req, id.user, id.role);
        return 0;
    }
    if (bad)
        return deny_401(req, "invalid_request", "the Authorization scheme must be Bearer");
    if (!token)
        return deny_401(req, NULL, NULL);
    if (rz__authz_verify(token, &id, &why) < 0)
        return deny_401(req, "invalid_token", why);
    rz__req_set_identity(req, id.user, id.role);
    /* Exact roles: an admin is not silently a landlord (least privilege);
     * a route for several roles registers as RZ_ACCESS_USER and checks. */
    if (!role_allows(route->access, id.role)) {
        rz__svc_reply_error(req, 403, "forbidden", NULL, "this route is for %s accounts",
                            access_name(route->access));
        return -1;
    }
    return 0;
}
