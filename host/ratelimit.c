/*
 * ratelimit.c — token buckets (see ratelimit.h for the configuration).
 *
 * The table stores no key text, only a keyed SipHash of (class, key): 64
 * bits make an accidental collision (two clients sharing a bucket) about as
 * likely as guessing the per-process random key, and the entry stays 24
 * bytes, so 65536 buckets cost 1.5 MiB per worker.
 */
#include "ratelimit.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <sodium.h>

#define WAYS 4

typedef struct bucket {
    uint64_t h;         /* 0: free */
    double tokens;
    int64_t last_ms;    /* last refill; also the LRU clock */
} bucket_t;

struct rz_rl_table {
    bucket_t *b;        /* owned; nsets * WAYS */
    size_t set_mask;
    unsigned char key[crypto_shorthash_KEYBYTES];
};

/* ---- rates, addresses ----------------------------------------------------------- */

int rz__rl_parse_rate(const char *s, rz_rl_rate_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    while (s && isspace((unsigned char)*s))
        s++;
    if (s && strcmp(s, "off") == 0) {
        out->off = 1;
        return 0;
    }
    char *end;
    double n = s ? strtod(s, &end) : 0;
    if (!s || end == s || !(n > 0) || n > 1e9 || *end != '/')
        goto bad;
    double period_ms;
    switch (end[1]) {
    case 's': period_ms = 1000.0; break;
    case 'm': period_ms = 60000.0; break;
    case 'h': period_ms = 3600000.0; break;
    default: goto bad;
    }
    const char *p = end + 2;
    double burst = ceil(n);
    while (isspace((unsigned char)*p))
        p++;
    if (strncmp(p, "burst", 5) == 0 && isspace((unsigned char)p[5])) {
        p += 5;
        burst = strtod(p, &end);
        if (end == p || !(burst >= 1) || burst > 1e9)
            goto bad;
        p = end;
        while (isspace((unsigned char)*p))
            p++;
    }
    if (*p)
        goto bad;
    out->per_ms = n / period_ms;
    out->burst = burst;
    return 0;
bad:
    snprintf(err, errlen, "expected 'N/s', 'N/m' or 'N/h' with an optional 'burst B' "
             "(e.g. '20/s burst 40'), or 'off'; found '%s'", s ? s : "");
    return -1;
}

int rz__cidr_parse(const char *s, rz_cidr_t *out)
{
    char buf[64];
    const char *slash = strchr(s, '/');
    size_t alen = slash ? (size_t)(slash - s) : strlen(s);
    if (alen == 0 || alen >= sizeof(buf))
        return -1;
    memcpy(buf, s, alen);
    buf[alen] = '\0';
    memset(out, 0, sizeof(*out));
    int max;
    if (inet_pton(AF_INET, buf, out->addr) == 1) {
        out->family = AF_INET;
        max = 32;
    } else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
        out->family = AF_INET6;
        max = 128;
    } else {
        return -1;
    }
    out->bits = max;
    if (slash) {
        char *end;
        long b = strtol(slash + 1, &end, 10);
        if (end == slash + 1 || *end || b < 0 || b > max)
            return -1;
        out->bits = (int)b;
    }
    return 0;
}

static int prefix_eq(const unsigned char *a, const unsigned char *b, int bits)
{
    int bytes = bits / 8, rest = bits % 8;
    if (memcmp(a, b, (size_t)bytes) != 0)
        return 0;
    if (rest == 0)
        return 1;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (a[bytes] & mask) == (b[bytes] & mask);
}

int rz__cidr_match(const rz_cidr_t *list, size_t n, const char *ip)
{
    unsigned char a4[4], a6[16];
    int is4 = inet_pton(AF_INET, ip, a4) == 1, is6 = !is4 && inet_pton(AF_INET6, ip, a6) == 1;
    /* An IPv4-mapped IPv6 peer (::ffff:10.0.0.1) matches IPv4 ranges too. */
    if (is6 && memcmp(a6, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0) {
        memcpy(a4, a6 + 12, 4);
        is4 = 1;
    }
    for (size_t i = 0; i < n; i++) {
        if (list[i].family == AF_INET && is4 && prefix_eq(list[i].addr, a4, list[i].bits))
            return 1;
        if (list[i].family == AF_INET6 && is6 && prefix_eq(list[i].addr, a6, list[i].bits))
            return 1;
    }
    return 0;
}

/* Trim spaces around s[0..len) into out; 0, or -1 when empty or too long. */
static int trimmed(const char *s, size_t len, char *out, size_t cap)
{
    while (len && isspace((unsigned char)*s))
        s++, len--;
    while (len && isspace((unsigned char)s[len - 1]))
        len--;
    if (len == 0 || len >= cap)
        return -1;
    memcpy(out, s, len);
    out[len] = '\0';
    return 0;
}

void rz__rl_client_addr(const rz_cidr_t *proxies, size_t n, const char *peer, const char *xff,
                        char *out, size_t cap)
{
    snprintf(out, cap, "%s", peer ? peer : "");
    if (!xff || n == 0 || !peer || !rz__cidr_match(proxies, n, peer))
        return;
    /* Right to left: each trusted hop appended the address it saw.  The
     * first address a trusted proxy did not write itself is the client;
     * anything further left is the client's own claim and worthless. */
    const char *end = xff + strlen(xff);
    while (end > xff) {
        const char *comma = end;
        while (comma > xff && comma[-1] != ',')
            comma--;
        char ip[64];
        if (trimmed(comma, (size_t)(end - comma), ip, sizeof(ip)) < 0)
            return; /* garbage: keep the last trusted answer */
        unsigned char tmp[16];
        if (inet_pton(AF_INET, ip, tmp) != 1 && inet_pton(AF_INET6, ip, tmp) != 1)
            return;
        snprintf(out, cap, "%s", ip);
        if (!rz__cidr_match(proxies, n, ip))
            return;
        end = comma > xff ? comma - 1 : xff;
    }
}

/* ---- the table --------------------------------------------------------------------- */

rz_rl_table_t *rz__rl_table_new(size_t max_keys)
{
    size_t sets = 1;
    while (sets * WAYS < max_keys && sets < ((size_t)1 << 24))
        sets <<= 1;
    rz_rl_table_t *t = calloc(1, sizeof(*t));
    if (!t || !(t->b = calloc(sets * WAYS, sizeof(bucket_t)))) {
        free(t);
        return NULL;
    }
    t->set_mask = sets - 1;
    randombytes_buf(t->key, sizeof(t->key));
    return t;
}

void rz__rl_table_free(rz_rl_table_t *t)
{
    if (!t)
        return;
    free(t->b);
    free(t);
}

int rz__rl_take(rz_rl_table_t *t, int class_id, const rz_rl_rate_t *rate, const char *key,
                int64_t now_ms, int64_t *retry_after_s)
{
    if (rate->off)
        return 0;
    unsigned char in[256], hb[crypto_shorthash_BYTES];
    size_t klen = strlen(key);
    if (klen > sizeof(in) - 1)
        klen = sizeof(in) - 1;
    in[0] = (unsigned char)class_id;
    memcpy(in + 1, key, klen);
    crypto_shorthash(hb, in, klen + 1, t->key);
    uint64_t h;
    memcpy(&h, hb, sizeof(h));
    h |= 1; /* never 0, the free mark */
    bucket_t *set = &t->b[(h >> 1 & t->set_mask) * WAYS], *b = NULL, *victim = &set[0];
    for (int i = 0; i < WAYS; i++) {
        if (set[i].h == h) {
            b = &set[i];
            break;
        }
        if (set[i].h == 0 || (victim->h != 0 && set[i].last_ms < victim->last_ms))
            victim = &set[i];
    }
    if (!b) {
        /* A new bucket starts full.  Evicting a busy bucket hands its owner a
         * fresh burst; sizing max_keys above the active clients avoids it. */
        b = victim;
        b->h = h;
        b->tokens = rate->burst;
        b->last_ms = now_ms;
    }
    int64_t dt = now_ms - b->last_ms;
    if (dt > 0) { /* a clock stepping back refills nothing */
        b->tokens += (double)dt * rate->per_ms;
        if (b->tokens > rate->burst)
            b->tokens = rate->burst;
        b->last_ms = now_ms;
    }
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
        return 0;
    }
    double wait_ms = (1.0 - b->tokens) / rate->per_ms;
    int64_t s = (int64_t)ceil(wait_ms / 1000.0);
    *retry_after_s = s < 1 ? 1 : s;
    return 1;
}

/* ---- configuration ------------------------------------------------------------------- */

typedef struct rl_conf {
    struct { char name[32]; rz_rl_rate_t rate; } cls[RZ_RL_MAX_CLASSES];
    int ncls;
    struct { char method[8]; char pattern[200]; int cls; } routes[RZ_RL_MAX_ROUTES];
    int nroutes;
    int default_cls;
    rz_cidr_t proxies[RZ_RL_MAX_PROXIES];
    size_t nproxies;
    int64_t max_keys;
} rl_conf_t;

static rl_conf_t conf = {.default_cls = -1};
static rz_rl_table_t *table; /* this process's buckets, created on first use */

static const char builtin_routes[] = "POST /v1/auth/login=auth, POST /v1/auth/register=auth";

static int find_class(const rl_conf_t *c, const char *name)
{
    for (int i = 0; i < c->ncls; i++)
        if (strcmp(c->cls[i].name, name) == 0)
            return i;
    return -1;
}

static int set_class(rl_conf_t *c, const char *name, const char *value, const char *where,
                     char *err, size_t errlen)
{
    char why[256];
    int i = find_class(c, name);
    if (i < 0) {
        if (c->ncls == RZ_RL_MAX_CLASSES || strlen(name) >= sizeof(c->cls[0].name)) {
            snprintf(err, errlen, "%s: [ratelimit] %s: too many classes (at most %d) or name too "
                     "long", where, name, RZ_RL_MAX_CLASSES);
            return -1;
        }
        i = c->ncls++;
        snprintf(c->cls[i].name, sizeof(c->cls[i].name), "%s", name);
    }
    if (rz__rl_parse_rate(value, &c->cls[i].rate, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "%s: [ratelimit] %s: %s", where, name, why);
        return -1;
    }
    return 0;
}

typedef struct walk {
    rl_conf_t *c;
    char *err;
    size_t errlen;
    int failed;
} walk_t;

static void each_class(const char *key, const char *value, const char *where, void *u)
{
    walk_t *w = u;
    if (w->failed || strcmp(key, "routes") == 0 || strcmp(key, "trusted_proxies") == 0 ||
        strcmp(key, "max_keys") == 0)
        return;
    if (set_class(w->c, key, value, where, w->err, w->errlen) < 0)
        w->failed = 1;
}

/* "METHOD PATTERN=CLASS, ..." */
static int parse_routes(rl_conf_t *c, const char *list, const char *where, char *err,
                        size_t errlen)
{
    const char *p = list;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char item[300], method[8], pattern[200], cls[64];
        if (trimmed(p, len, item, sizeof(item)) == 0) {
            char *eq = strrchr(item, '=');
            if (!eq || sscanf(item, "%7s %199[^=]", method, pattern) != 2 ||
                trimmed(pattern, strlen(pattern), pattern, sizeof(pattern)) < 0 ||
                trimmed(eq + 1, strlen(eq + 1), cls, sizeof(cls)) < 0 || pattern[0] != '/') {
                snprintf(err, errlen, "%s: [ratelimit] routes: expected 'METHOD /path=class', "
                         "found '%s'", where, item);
                return -1;
            }
            int k = find_class(c, cls);
            if (k < 0) {
                snprintf(err, errlen, "%s: [ratelimit] routes: '%s' names class '%s', which is "
                         "not defined; add '%s = N/s burst B' to [ratelimit]", where, item, cls,
                         cls);
                return -1;
            }
            if (c->nroutes == RZ_RL_MAX_ROUTES) {
                snprintf(err, errlen, "%s: [ratelimit] routes: at most %d entries", where,
                         RZ_RL_MAX_ROUTES);
                return -1;
            }
            memcpy(c->routes[c->nroutes].method, method, sizeof(method));
            memcpy(c->routes[c->nroutes].pattern, pattern, sizeof(pattern));
            c->routes[c->nroutes++].cls = k;
        }
        p += len;
        if (*p == ',')
            p++;
    }
    return 0;
}

int rz__ratelimit_configure(const rz_config_t *cfg, char *err, size_t errlen)
{
    rl_conf_t *c = calloc(1, sizeof(*c));
    const char *where = NULL;
    int rc = -1;
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (set_class(c, "default", "off", "built-in", err, errlen) < 0 ||
        set_class(c, "auth", "30/m burst 30", "built-in", err, errlen) < 0)
        goto out;
    walk_t w = {c, err, errlen, 0};
    rz__config_each_key(cfg, "ratelimit", each_class, &w);
    if (w.failed)
        goto out;
    const char *routes = rz__config_get(cfg, "ratelimit", "routes", &where);
    if (parse_routes(c, routes ? routes : builtin_routes, routes ? where : "built-in", err,
                     errlen) < 0)
        goto out;
    c->default_cls = find_class(c, "default");
    const char *const *items;
    size_t n;
    if (rz__config_list(cfg, "ratelimit", "trusted_proxies", &items, &n, err, errlen) < 0 ||
        rz__config_int(cfg, "ratelimit", "max_keys", 65536, &c->max_keys, err, errlen) < 0)
        goto out;
    rz__config_get(cfg, "ratelimit", "trusted_proxies", &where);
    if (n > RZ_RL_MAX_PROXIES) {
        snprintf(err, errlen, "%s: [ratelimit] trusted_proxies: at most %d ranges", where,
                 RZ_RL_MAX_PROXIES);
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        if (rz__cidr_parse(items[i], &c->proxies[c->nproxies++]) < 0) {
            snprintf(err, errlen, "%s: [ratelimit] trusted_proxies: '%s' is not an address or "
                     "CIDR range (10.0.0.0/8, fd00::/8)", where, items[i]);
            goto out;
        }
    if (c->max_keys < 64 || c->max_keys > (1 << 26)) {
        rz__config_get(cfg, "ratelimit", "max_keys", &where);
        snprintf(err, errlen, "%s: [ratelimit] max_keys: expected 64 to 67108864", where);
        goto out;
    }
    conf = *c;
    rc = 0;
out:
    free(c);
    return rc;
}

int rz__ratelimit_class(const char *method, const char *pattern)
{
    for (int i = 0; i < conf.nroutes; i++)
        if (strcmp(conf.routes[i].method, method) == 0 &&
            strcmp(conf.routes[i].pattern, pattern) == 0)
            return conf.cls[conf.routes[i].cls].rate.off ? -1 : conf.routes[i].cls;
    if (conf.default_cls >= 0 && !conf.cls[conf.default_cls].rate.off)
        return conf.default_cls;
    return -1;
}

int rz__ratelimit_check(int class_id, const char *peer, const char *xff, const char *user,
                        int64_t now_ms, int64_t *retry_after_s, const char **which)
{
    if (class_id < 0 || class_id >= conf.ncls)
        return 0;
    if (!table && !(table = rz__rl_table_new((size_t)conf.max_keys)))
        return 0; /* out of memory: fail open rather than refuse everyone */
    const rz_rl_rate_t *rate = &conf.cls[class_id].rate;
    char key[80 + 64];
    char addr[64];
    rz__rl_client_addr(conf.proxies, conf.nproxies, peer, xff, addr, sizeof(addr));
    snprintf(key, sizeof(key), "a:%s", addr);
    if (rz__rl_take(table, class_id, rate, key, now_ms, retry_after_s)) {
        *which = "address";
        return 1;
    }
    if (user && *user) {
        snprintf(key, sizeof(key), "u:%s", user);
        if (rz__rl_take(table, class_id, rate, key, now_ms, retry_after_s)) {
            *which = "user";
            return 1;
        }
    }
    return 0;
}

void rz__ratelimit_shutdown(void)
{
    rz__rl_table_free(table);
    table = NULL;
}
