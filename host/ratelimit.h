/*
 * ratelimit.h — token buckets per client address and per user, in classes.
 *
 * Configuration ([ratelimit]; every key except the reserved ones below names
 * a class):
 *
 *   [ratelimit]
 *   default  = off                 # the class of every route not in `routes`
 *   auth     = 30/m burst 30       # built in; routes below map to it
 *   search   = 20/s burst 40
 *   routes   = POST /v1/auth/login=auth, POST /v1/auth/register=auth
 *   trusted_proxies = 10.0.0.0/8, ::1/128
 *   max_keys = 65536
 *
 * A rate is "N/s", "N/m" or "N/h" (N tokens per second, minute, hour; N may
 * be a decimal), optionally followed by "burst B" (the bucket size; default
 * N, at least 1), or "off".  `routes` is a comma-separated list of
 * "METHOD PATTERN=CLASS" with PATTERN exactly as the plugin registered it
 * ("/v1/properties/{id}"); it replaces the built-in list.
 *
 * Each request of a limited class takes one token from the bucket of its
 * client address and, when the caller is authenticated, one from the bucket
 * of its user id; either bucket empty -> 429 with Retry-After (seconds
 * until a token is back).  The client address is the TCP peer, unless the
 * peer is in trusted_proxies: then X-Forwarded-For is read from the right,
 * skipping trusted proxies, and the first untrusted address is the client.
 *
 * Buckets live in each worker's memory (a fixed table of max_keys buckets,
 * 4-way set associative, the least recently used evicted), so the effective
 * limit is per worker: with W workers a client may get up to W times the
 * configured rate.  Time is the host clock (rz__now_ms), so tests can move it.
 */
#ifndef RZ_RATELIMIT_H
#define RZ_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define RZ_RL_MAX_CLASSES 32
#define RZ_RL_MAX_ROUTES 64
#define RZ_RL_MAX_PROXIES 32

typedef struct rz_rl_rate {
    int off;             /* no limit */
    double per_ms;       /* tokens added per millisecond */
    double burst;        /* bucket size */
} rz_rl_rate_t;

/* "20/s burst 40", "5/m", "off".  0, or -1 with err saying what is expected. */
int rz__rl_parse_rate(const char *s, rz_rl_rate_t *out, char *err, size_t errlen);

typedef struct rz_cidr {
    int family;              /* AF_INET or AF_INET6 */
    unsigned char addr[16];
    int bits;
} rz_cidr_t;

/* "10.0.0.0/8", "::1/128", "192.168.1.7" (a single host).  0 or -1. */
int rz__cidr_parse(const char *s, rz_cidr_t *out);
/* 1 when the textual address ip lies in one of list[0..n-1]. */
int rz__cidr_match(const rz_cidr_t *list, size_t n, const char *ip);

/* The client address of a request (see above) into out (at least 64
 * bytes).  xff may be NULL. */
void rz__rl_client_addr(const rz_cidr_t *proxies, size_t n, const char *peer, const char *xff,
                        char *out, size_t cap);

/* A table of buckets.  Owned by the caller; one per worker, one thread. */
typedef struct rz_rl_table rz_rl_table_t;
rz_rl_table_t *rz__rl_table_new(size_t max_keys);
void rz__rl_table_free(rz_rl_table_t *t);
/* Take one token from the bucket (class_id, key).  0 when allowed; else 1
 * with *retry_after_s set to the whole seconds until one token is back. */
int rz__rl_take(rz_rl_table_t *t, int class_id, const rz_rl_rate_t *rate, const char *key,
                int64_t now_ms, int64_t *retry_after_s);

/* ---- the configured limiter (gateway.c uses it) ----------------------------- */

/* Master: read [ratelimit].  On failure nothing changes.  0 or -1 with err. */
int rz__ratelimit_configure(const rz_config_t *cfg, char *err, size_t errlen);
/* The class for a route, or -1 when the route is not limited. */
int rz__ratelimit_class(const char *method, const char *pattern);
/* Check one request (creates this worker's table on first use).  0 when it
 * may proceed; 1 with *retry_after_s when it must be answered 429; *which
 * says "address" or "user". */
int rz__ratelimit_check(int class_id, const char *peer, const char *xff, const char *user,
                        int64_t now_ms, int64_t *retry_after_s, const char **which);
/* Free this process's table and settings (tests, clean exits). */
void rz__ratelimit_shutdown(void);

#endif
