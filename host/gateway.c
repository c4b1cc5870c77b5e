/*
 * gateway.c — security headers, CORS, and the hooks that run rate limits
 * and Idempotency-Key around every handler (see gateway.h).
 */
#include "gateway.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "http.h"
#include "idempotency.h"
#include "ratelimit.h"

#define MAX_ORIGINS 32

static struct {
    char *origins[MAX_ORIGINS]; /* owned */
    size_t norigins;
    int any_origin;             /* "*" */
    char max_age[24];           /* seconds, as text */
} cors;

static const char allow_headers[] = "Authorization, Content-Type, Idempotency-Key, X-Request-Id";
static const char expose_headers[] =
    "Retry-After, X-Request-Id, Idempotent-Replayed, WWW-Authenticate, Location";

static void cors_clear(void)
{
    for (size_t i = 0; i < cors.norigins; i++)
        free(cors.origins[i]);
    memset(&cors, 0, sizeof(cors));
}

/* "https://app.example.com" or "http://localhost:5173": scheme and host
 * (and port), nothing after, as browsers serialise Origin. */
static int origin_ok(const char *o)
{
    const char *rest = strncmp(o, "https://", 8) == 0 ? o + 8
                       : strncmp(o, "http://", 7) == 0 ? o + 7 : NULL;
    if (!rest || !*rest)
        return 0;
    for (; *rest; rest++)
        if (*rest == '/' || *rest == '?' || *rest == '#' || (unsigned char)*rest <= 0x20)
            return 0;
    return 1;
}

static int cors_configure(const rz_config_t *cfg, char *err, size_t errlen)
{
    const char *const *items;
    size_t n;
    int64_t max_age;
    const char *where = NULL;
    if (rz__config_list(cfg, "http", "cors_origins", &items, &n, err, errlen) < 0 ||
        rz__config_duration_ms(cfg, "http", "cors_max_age", 600000, &max_age, err, errlen) < 0)
        return -1;
    rz__config_get(cfg, "http", "cors_origins", &where);
    if (n > MAX_ORIGINS) {
        snprintf(err, errlen, "%s: [http] cors_origins: at most %d origins", where, MAX_ORIGINS);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (strcmp(items[i], "*") != 0 && !origin_ok(items[i])) {
            snprintf(err, errlen, "%s: [http] cors_origins: '%s' is not an origin; write "
                     "scheme://host[:port] with no path, e.g. https://app.example.com, or *",
                     where, items[i]);
            return -1;
        }
    cors_clear();
    for (size_t i = 0; i < n; i++) {
        if (strcmp(items[i], "*") == 0) {
            cors.any_origin = 1;
            continue;
        }
        if (!(cors.origins[cors.norigins] = strdup(items[i]))) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        cors.norigins++;
    }
    snprintf(cors.max_age, sizeof(cors.max_age), "%lld", (long long)(max_age / 1000));
    return 0;
}

int rz__gateway_configure(const rz_config_t *cfg, char *err, size_t errlen)
{
    /* Validate the parts that can fail on their own first, so a failed
     * reload leaves the rate limits as they were. */
    if (rz__ratelimit_configure(cfg, err, errlen) < 0 || rz__idem_configure(cfg, err, errlen) < 0 ||
        cors_configure(cfg, err, errlen) < 0)
        return -1;
    return 0;
}

void rz__gateway_shutdown(void)
{
    cors_clear();
    rz__ratelimit_shutdown();
}

static int origin_allowed(const char *origin)
{
    if (cors.any_origin)
        return 1;
    for (size_t i = 0; i < cors.norigins; i++)
        if (strcasecmp(cors.origins[i], origin) == 0)
            return 1;
    return 0;
}

static int preflight(rz_req_t *req, const char *origin, const char *want)
{
    if (!origin_allowed(origin)) {
        rz__svc_reply_error(req, 403, "cors_origin_not_allowed", "Origin",
                            "this origin may not call the API");
        return -1;
    }
    const char *path = rz__svc_req_path(req);
    rz_match_t m;
    int rc = rz__router_match(rz__router, want, path, strlen(path), &m);
    if (rc == 404) {
        rz__svc_reply_error(req, 404, "not_found", NULL, "no route for %s", path);
        return -1;
    }
    rz__svc_resp_header(req, "Access-Control-Allow-Methods", rc == 200 ? want : m.allow);
    rz__svc_resp_header(req, "Access-Control-Allow-Headers", allow_headers);
    rz__svc_resp_header(req, "Access-Control-Max-Age", cors.max_age);
    rz__svc_reply(req, 204, NULL, NULL, 0);
    return -1;
}

int rz__gateway_early(rz_req_t *req)
{
    /* An API answers JSON: nothing here may be framed, sniffed or leak the
     * URL onward.  (X-Content-Type-Options and Cache-Control come from
     * http.c.)  A plugin serving HTML can add its own, stricter or looser,
     * CSP. */
    rz__svc_resp_header(req, "X-Frame-Options", "DENY");
    rz__svc_resp_header(req, "Referrer-Policy", "no-referrer");
    rz__svc_resp_header(req, "Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
    if (!cors.any_origin && cors.norigins == 0)
        return 0;
    rz__svc_resp_header(req, "Vary", "Origin");
    const char *origin = rz__svc_req_header(req, "Origin");
    if (!origin)
        return 0;
    const char *want = rz__svc_req_header(req, "Access-Control-Request-Method");
    if (strcmp(rz__svc_req_method(req), "OPTIONS") == 0 && want) {
        if (origin_allowed(origin))
            rz__svc_resp_header(req, "Access-Control-Allow-Origin",
                                cors.any_origin ? "*" : origin);
        return preflight(req, origin, want);
    }
    if (origin_allowed(origin)) {
        rz__svc_resp_header(req, "Access-Control-Allow-Origin", cors.any_origin ? "*" : origin);
        rz__svc_resp_header(req, "Access-Control-Expose-Headers", expose_headers);
    }
    return 0;
}

int rz__gateway_before(rz_req_t *req, const rz_route_entry_t *route)
{
    int cls = rz__ratelimit_class(route->method, route->pattern);
    if (cls >= 0) {
        int64_t retry = 0;
        const char *which = "address";
        if (rz__ratelimit_check(cls, rz__req_peer(req), rz__svc_req_header(req, "X-Forwarded-For"),
                                rz__svc_req_user(req), rz__now_ms(), &retry, &which)) {
            char v[24];
            snprintf(v, sizeof(v), "%lld", (long long)retry);
            rz__svc_resp_header(req, "Retry-After", v);
            rz__svc_reply_error(req, 429, "rate_limited", NULL,
                                "too many requests from this %s; retry in %lld s", which,
                                (long long)retry);
            return -1;
        }
    }
    return rz__idem_before(req, route);
}

void rz__gateway_after(rz_req_t *req, int status, const char *content_type, const void *body,
                       size_t len)
{
    rz__idem_after(req, status, content_type, body, len);
}
