/*
 * bus.c — configuration, subscriptions, the event accessors, delivery with
 * retries and backoff, and the worker lifecycle that hands over to the
 * backend (bus_embedded.c or bus_kafka.c).  See bus.h.
 */
#include "bus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <sodium.h>

#include "bus_int.h"
#include "clock.h"
#include "db.h"
#include "host.h"
#include "log.h"
#include "migrate.h"

rz_bus_opts_t rz__bus_opts = {.backend = RZ_BUS_EMBEDDED,
                              .max_attempts = 5,
                              .backoff_base_ms = 200,
                              .backoff_max_ms = 30000,
                              .batch = 256,
                              .poll_interval_ms = 1000,
                              .lease_ms = 10000,
                              .retention_ms = 7 * 86400000LL,
                              .member_expiry_ms = 3600000,
                              .prune_interval_ms = 60000,
                              .relay = 1,
                              .relay_batch = 1000};

rz_bus_sub_t *rz__bus_subs; /* owned, grows during init */
size_t rz__bus_nsubs;
static size_t csubs;

static struct {
    struct event_base *base;
    int started;
    int draining;
    char instance[96];
} B;

/* ---- names ------------------------------------------------------------------ */

int rz__bus_type_ok(const char *t)
{
    size_t n = 0;
    int dots = 0, start = 1;
    if (!t)
        return 0;
    for (; t[n]; n++) {
        char c = t[n];
        if (c == '.') {
            if (start)
                return 0;
            dots++;
            start = 1;
        } else if (start) {
            if (c < 'a' || c > 'z')
                return 0;
            start = 0;
        } else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
            return 0;
        }
    }
    return n > 0 && n <= 127 && dots > 0 && !start;
}

int rz__bus_topic_ok(const char *t, int allow_dlq)
{
    size_t n;
    if (!t || !*t)
        return 0;
    n = strlen(t);
    if (allow_dlq && n > 4 && strcmp(t + n - 4, ".dlq") == 0)
        n -= 4;
    if (n > 100 || t[0] < 'a' || t[0] > 'z' || t[n - 1] == '-')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = t[i];
        if (c == '-' && t[i + 1] == '-')
            return 0;
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return 0;
    }
    return 1;
}

static int group_ok(const char *g)
{
    size_t n = 0;
    if (!g || !*g)
        return 0;
    for (; g[n]; n++)
        if (!((g[n] >= 'a' && g[n] <= 'z') || (g[n] >= '0' && g[n] <= '9') ||
              strchr("_.-", g[n])))
            return 0;
    return n <= 63 && strcmp(g, "_relay") != 0;
}

int rz__bus_is_compacted(const char *topic)
{
    for (char **c = rz__bus_opts.compacted; c && *c; c++)
        if (strcmp(*c, topic) == 0)
            return 1;
    return 0;
}

char *rz__bus_text_array(char *const *items)
{
    size_t cap = 3;
    for (char *const *p = items; p && *p; p++)
        cap += 2 * strlen(*p) + 3;
    char *s = malloc(cap), *w = s;
    if (!s)
        return NULL;
    *w++ = '{';
    for (char *const *p = items; p && *p; p++) {
        if (p != items)
            *w++ = ',';
        *w++ = '"';
        for (const char *r = *p; *r; r++) {
            if (*r == '"' || *r == '\\')
                *w++ = '\\';
            *w++ = *r;
        }
        *w++ = '"';
    }
    *w++ = '}';
    *w = '\0';
    return s;
}

/* ---- configuration -------------------------------------------------------------- */

static void free_list(char **l)
{
    for (char **p = l; p && *p; p++)
        free(*p);
    free(l);
}

static char **copy_list(const char *const *items, size_t n)
{
    char **l = calloc(n + 1, sizeof(*l));
    for (size_t i = 0; l && i < n; i++)
        if (!(l[i] = strdup(items[i]))) {
            free_list(l);
            return NULL;
        }
    return l;
}

typedef struct kcollect {
    char **kv;
    size_t n, cap;
    int oom;
} kcollect_t;

static void collect_kafka(const char *key, const char *value, const char *where, void *u)
{
    kcollect_t *k = u;
    if (k->oom)
        return;
    if (k->n + 3 > k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 16;
        char **kv = realloc(k->kv, cap * sizeof(*kv));
        if (!kv) {
            k->oom = 1;
            return;
        }
        k->kv = kv;
        k->cap = cap;
    }
    k->kv[k->n] = strdup(key);
    k->kv[k->n + 1] = strdup(value);
    k->n += 2;
    k->kv[k->n] = NULL;
    if (!k->kv[k->n - 2] || !k->kv[k->n - 1])
        k->oom = 1;
}

static void opts_free(rz_bus_opts_t *o)
{
    free_list(o->compacted);
    free_list(o->start_latest);
    free_list(o->kprops);
    free(o->brokers);
    o->compacted = o->start_latest = o->kprops = NULL;
    o->brokers = NULL;
}

static int where_err(const rz_config_t *cfg, const char *key, char *err, size_t errlen,
                     const char *what)
{
    const char *where = NULL;
    rz__config_get(cfg, "bus", key, &where);
    snprintf(err, errlen, "%s: [bus] %s: %s", where ? where : "?", key, what);
    return -1;
}

int rz__bus_configure(const rz_config_t *cfg, char *err, size_t errlen)
{
    static const char *const known[] = {
        "backend",   "max_attempts", "backoff_base",  "backoff_max",   "batch",
        "poll_interval", "lease",    "retention",     "compacted",     "start_latest",
        "member_expiry", "prune_interval", "brokers", "relay",         "relay_batch",
        NULL};
    rz_bus_opts_t o = {0};
    const char *backend, *brokers;
    const char *const *compacted, *const *latest;
    size_t ncompacted, nlatest;
    int64_t max, batch, relay_batch;
    kcollect_t kc = {0};

    if (rz__config_check_keys(cfg, "bus", known, err, errlen) != 0 ||
        rz__config_string(cfg, "bus", "backend", "embedded", &backend, err, errlen) != 0 ||
        rz__config_int(cfg, "bus", "max_attempts", 5, &max, err, errlen) != 0 ||
        rz__config_duration_ms(cfg, "bus", "backoff_base", 200, &o.backoff_base_ms, err,
                               errlen) != 0 ||
        rz__config_duration_ms(cfg, "bus", "backoff_max", 30000, &o.backoff_max_ms, err,
                               errlen) != 0 ||
        rz__config_int(cfg, "bus", "batch", 256, &batch, err, errlen) != 0 ||
        rz__config_duration_ms(cfg, "bus", "poll_interval", 1000, &o.poll_interval_ms, err,
                               errlen) != 0 ||
        rz__config_duration_ms(cfg, "bus", "lease", 10000, &o.lease_ms, err, errlen) != 0 ||
        rz__config_duration_ms(cfg, "bus", "retention", 7 * 86400000LL, &o.retention_ms, err,
                               errlen) != 0 ||
        rz__config_duration_ms(cfg, "bus", "member_expiry", 3600000, &o.member_expiry_ms, err,
                               errlen) != 0 ||
        rz__config_duration_ms(cfg, "bus", "prune_interval", 60000, &o.prune_interval_ms, err,
                               errlen) != 0 ||
        rz__config_list(cfg, "bus", "compacted", &compacted, &ncompacted, err, errlen) != 0 ||
        rz__config_list(cfg, "bus", "start_latest", &latest, &nlatest, err, errlen) != 0 ||
        rz__config_string(cfg, "bus", "brokers", NULL, &brokers, err, errlen) != 0 ||
        rz__config_bool(cfg, "bus", "relay", 1, &o.relay, err, errlen) != 0 ||
        rz__config_int(cfg, "bus", "relay_batch", 1000, &relay_batch, err, errlen) != 0)
        return -1;
    if (strcmp(backend, "embedded") == 0)
        o.backend = RZ_BUS_EMBEDDED;
    else if (strcmp(backend, "kafka") == 0)
        o.backend = RZ_BUS_KAFKA;
    else
        return where_err(cfg, "backend", err, errlen, "expected embedded or kafka");
    if (max < 1 || max > 1000)
        return where_err(cfg, "max_attempts", err, errlen, "expected 1..1000");
    if (batch < 1 || batch > 10000)
        return where_err(cfg, "batch", err, errlen, "expected 1..10000");
    if (relay_batch < 1 || relay_batch > 100000)
        return where_err(cfg, "relay_batch", err, errlen, "expected 1..100000");
    if (o.backoff_max_ms < o.backoff_base_ms)
        return where_err(cfg, "backoff_max", err, errlen, "must be >= backoff_base");
    if (o.poll_interval_ms < 10)
        return where_err(cfg, "poll_interval", err, errlen, "at least 10ms");
    if (o.lease_ms < 1000)
        return where_err(cfg, "lease", err, errlen, "at least 1s");
    if (o.member_expiry_ms < o.lease_ms)
        return where_err(cfg, "member_expiry", err, errlen, "must be >= lease");
    if (o.prune_interval_ms < 100)
        return where_err(cfg, "prune_interval", err, errlen, "at least 100ms");
    if (compacted == NULL && !rz__config_get(cfg, "bus", "compacted", NULL)) {
        static const char *const def[] = {"property-events", NULL};
        compacted = def;
        ncompacted = 1;
    }
    for (size_t i = 0; i < ncompacted; i++)
        if (!rz__bus_topic_ok(compacted[i], 0))
            return where_err(cfg, "compacted", err, errlen, "expected topic names");
    if (o.backend == RZ_BUS_KAFKA && (!brokers || !*brokers))
        return where_err(cfg, "backend", err, errlen, "kafka needs [bus] brokers = host:port,...");
    o.max_attempts = (int)max;
    o.batch = (int)batch;
    o.relay_batch = (int)relay_batch;
    o.compacted = copy_list(compacted, ncompacted);
    o.start_latest = copy_list(latest, nlatest);
    o.brokers = brokers && *brokers ? strdup(brokers) : NULL;
    rz__config_each_key(cfg, "bus.kafka", collect_kafka, &kc);
    o.kprops = kc.kv ? kc.kv : calloc(1, sizeof(char *));
    if (!o.compacted || !o.start_latest || !o.kprops || kc.oom ||
        (brokers && *brokers && !o.brokers)) {
        opts_free(&o);
        snprintf(err, errlen, "[bus]: out of memory");
        return -1;
    }
    /* Registered again on SIGHUP: RZ_EEXIST then means "already there". */
    int rc = rz__migrate_host(RZ_BUS_MIGRATION_VERSION, "bus", rz__bus_schema_sql);
    if (rc == RZ_OK || rc == RZ_EEXIST)
        rc = rz__migrate_host(RZ_BUS_MIGRATION_VERSION + 1, "bus_prune", rz__bus_schema_v6_sql);
    if (rc == RZ_OK || rc == RZ_EEXIST)
        rc = rz__migrate_host(RZ_BUS_MIGRATION_VERSION + 2, "bus_prune_by_seq", rz__bus_schema_v7_sql);
    if (rc != RZ_OK && rc != RZ_EEXIST) {
        opts_free(&o);
        snprintf(err, errlen, "cannot register host migration %d (bus): %s",
                 RZ_BUS_MIGRATION_VERSION,
                 rc == RZ_EINVAL ? "the host migrations before it are missing "
                                   "(configure idempotency first)"
                                 : "out of memory");
        return -1;
    }
    opts_free(&rz__bus_opts);
    rz__bus_opts = o;
    return 0;
}

/* ---- registration (init) ----------------------------------------------------------- */

static int add_sub(rz_plugin_t *self, const char *topic, const char *group, int mode,
                   rz_bus_fn fn, void *udata);

int rz__svc_bus_subscribe(rz_plugin_t *self, const char *topic, const char *group, int mode,
                          rz_bus_fn fn, void *udata)
{
    if (!rz__rt.in_init)
        return RZ_ESTATE;
    if (!self)
        return RZ_EINVAL;
    return add_sub(self, topic, group, mode, fn, udata);
}

int rz__bus_subscribe_host(const char *topic, const char *group, int mode, rz_bus_fn fn,
                           void *udata)
{
    return add_sub(NULL, topic, group, mode, fn, udata);
}

static int add_sub(rz_plugin_t *self, const char *topic, const char *group, int mode,
                   rz_bus_fn fn, void *udata)
{
    if (!fn || !rz__bus_topic_ok(topic, 1) || !group_ok(group) ||
        (mode != RZ_BUS_SHARED && mode != RZ_BUS_BROADCAST))
        return RZ_EINVAL;
    for (size_t i = 0; i < rz__bus_nsubs; i++)
        if (rz__bus_subs[i].plugin == self && strcmp(rz__bus_subs[i].topic, topic) == 0 &&
            strcmp(rz__bus_subs[i].group, group) == 0)
            return RZ_EEXIST;
    if (rz__bus_nsubs == csubs) {
        size_t n = csubs ? csubs * 2 : 8;
        rz_bus_sub_t *s = realloc(rz__bus_subs, n * sizeof(*s));
        if (!s)
            return RZ_ENOMEM;
        rz__bus_subs = s;
        csubs = n;
    }
    rz_bus_sub_t *s = &rz__bus_subs[rz__bus_nsubs];
    memset(s, 0, sizeof(*s));
    s->plugin = self;
    s->mode = mode;
    s->fn = fn;
    s->udata = udata;
    s->topic = strdup(topic);
    s->group = strdup(group);
    if (!s->topic || !s->group) {
        free(s->topic);
        free(s->group);
        return RZ_ENOMEM;
    }
    rz__bus_nsubs++;
    return RZ_OK;
}

void rz__bus_reset(void)
{
    for (size_t i = 0; i < rz__bus_nsubs; i++) {
        free(rz__bus_subs[i].topic);
        free(rz__bus_subs[i].group);
        free(rz__bus_subs[i].cgroup);
    }
    free(rz__bus_subs);
    rz__bus_subs = NULL;
    rz__bus_nsubs = csubs = 0;
}

const char *rz__bus_instance(void)
{
    if (!B.instance[0]) {
        char host[64] = "?";
        gethostname(host, sizeof(host) - 1);
        host[strcspn(host, ".")] = '\0';
        snprintf(B.instance, sizeof(B.instance), "%s-%d-%08x", host, (int)getpid(),
                 (unsigned)randombytes_random());
    }
    return B.instance;
}

static void ignore_result(rz_dbres_t *res, void *udata)
{
    if (rz__svc_dbres_status(res) == RZ_ERR)
        rz__log(RZ_LOG_WARN, "bus", "publish failed: %s", rz__svc_dbres_message(res));
}

/* ---- publishing -------------------------------------------------------------------- */

int rz__svc_bus_publish(rz_plugin_t *self, const char *topic, const char *type,
                        const char *subject, int64_t version, const char *data_json, rz_db_cb cb,
                        void *udata)
{
    static const char sql[] =
        "SELECT rentezy.publish($1, $2, $3, $4, $5::bigint, $6::jsonb, NULL)";
    if (!self || !rz__bus_topic_ok(topic, 0) || !rz__bus_type_ok(type) || !subject || !*subject)
        return RZ_EINVAL;
    if (!data_json)
        data_json = "{}";
    cJSON *probe = cJSON_Parse(data_json);
    if (!probe)
        return RZ_EINVAL;
    cJSON_Delete(probe);
    char v[24];
    snprintf(v, sizeof(v), "%lld", (long long)version);
    const char *p[] = {topic, type, rz__plugin_name(self), subject, v, data_json};
    /* A NULL cb is allowed for fire-and-forget; the db service needs one. */
    return rz__svc_db_query(self, 0, sql, 6, p, cb ? cb : ignore_result, udata);
}

/* ---- events ------------------------------------------------------------------------ */

rz_event_t *rz__bus_event_new(rz_bus_sub_t *sub, const char *id, const char *type,
                              const char *topic, const char *source, const char *subject,
                              const char *data, const char *traceparent, const char *xid,
                              const char *target)
{
    const char *f[] = {id, type, topic, source, subject, data, traceparent, xid, target};
    size_t len[9], total = 0;
    for (int i = 0; i < 9; i++)
        total += (len[i] = f[i] ? strlen(f[i]) : 0) + 1;
    rz_event_t *ev = calloc(1, sizeof(*ev) + total);
    if (!ev)
        return NULL;
    char *w = ev->blob;
    const char **dst[] = {&ev->id,   &ev->type,        &ev->topic, &ev->source, &ev->subject,
                          &ev->data, &ev->traceparent, &ev->xid,   &ev->target};
    for (int i = 0; i < 9; i++) {
        if (len[i])
            memcpy(w, f[i], len[i]);
        w[len[i]] = '\0';
        *dst[i] = w;
        w += len[i] + 1;
    }
    if (!target || !*target)
        ev->target = NULL;
    if (!traceparent || !*traceparent)
        ev->traceparent = NULL;
    ev->sub = sub;
    return ev;
}

void rz__bus_event_free(rz_event_t *ev)
{
    if (!ev)
        return;
    if (ev->backoff)
        event_free(ev->backoff);
    free(ev->error);
    free(ev);
}

int rz__bus_event_abandon(rz_event_t *ev)
{
    if (ev->backoff) {
        event_free(ev->backoff);
        ev->backoff = NULL;
    }
    if (ev->running) {
        ev->orphan = 1;
        return 0;
    }
    return 1;
}

static void set_error(rz_event_t *ev, const char *msg)
{
    free(ev->error);
    ev->error = strdup(msg ? msg : "");
}

static int64_t backoff_ms(int attempt)
{
    double d = (double)rz__bus_opts.backoff_base_ms;
    for (int i = 1; i < attempt && d < (double)rz__bus_opts.backoff_max_ms; i++)
        d *= 2;
    if (d > (double)rz__bus_opts.backoff_max_ms)
        d = (double)rz__bus_opts.backoff_max_ms;
    /* +-20%, so events failing together do not come back together */
    d *= 0.8 + 0.4 * (double)randombytes_uniform(100001) / 100000.0;
    return (int64_t)d;
}

static void on_backoff(evutil_socket_t fd, short what, void *arg)
{
    rz_event_t *ev = arg;
    rz__bus_dispatch(ev);
}

/* The reason an envelope cannot be delivered, or NULL. */
static const char *invalid_reason(const rz_event_t *ev, char *buf, size_t cap)
{
    if (!rz__bus_type_ok(ev->type)) {
        snprintf(buf, cap, "unknown event type '%.127s' (expected domain.verb)", ev->type);
        return buf;
    }
    if (!*ev->subject)
        return "the event has no subject";
    cJSON *j = cJSON_ParseWithLength(ev->data, strlen(ev->data));
    if (!j) {
        const char *at = cJSON_GetErrorPtr();
        snprintf(buf, cap, "data is not valid JSON (near byte %ld)",
                 at && at >= ev->data ? (long)(at - ev->data) : 0L);
        return buf;
    }
    cJSON_Delete(j);
    return NULL;
}

void rz__bus_dispatch(rz_event_t *ev)
{
    char why[192];
    const char *bad;
    rz_bus_sub_t *s = ev->sub;
    if (ev->backoff) {
        event_free(ev->backoff);
        ev->backoff = NULL;
    }
    /* A dead letter retried for another group: not ours, move past it. */
    if (ev->target && strcmp(ev->target, s->group) != 0) {
        s->skipped++;
        ev->settle(ev, RZ_BUS_SETTLE_OK, NULL);
        return;
    }
    if ((bad = invalid_reason(ev, why, sizeof(why))) != NULL) {
        ev->invalid = 1;
        ev->attempt = ev->attempt ? ev->attempt : 1;
        set_error(ev, bad);
        s->dead++;
        rz__log(RZ_LOG_WARN, "bus", "%s/%s: event %s to the dead letters: %s", s->topic,
                s->cgroup ? s->cgroup : s->group, ev->id, bad);
        ev->settle(ev, RZ_BUS_SETTLE_DEAD, bad);
        return;
    }
    ev->attempt++;
    ev->running = 1;
    s->delivered++;
    s->fn(ev, s->udata);
}

void rz__svc_bus_done(rz_event_t *ev, int result, const char *error)
{
    if (!ev)
        return;
    if (ev->orphan) {
        rz__bus_event_free(ev); /* the backend went away; redelivered elsewhere */
        return;
    }
    if (!ev->running) {
        rz__log(RZ_LOG_WARN, rz__plugin_name(ev->sub->plugin),
                "event %s: bus_done called twice; ignored", ev->id);
        return;
    }
    ev->running = 0;
    rz_bus_sub_t *s = ev->sub;
    if (result == RZ_BUS_OK) {
        s->ok++;
        ev->settle(ev, RZ_BUS_SETTLE_OK, NULL);
        return;
    }
    set_error(ev, error && *error ? error : result == RZ_BUS_RETRY ? "retry" : "failed");
    if (result != RZ_BUS_RETRY && ev->attempt >= rz__bus_opts.max_attempts) {
        s->dead++;
        rz__log(RZ_LOG_WARN, rz__plugin_name(s->plugin),
                "%s/%s: event %s (%s) to the dead letters after %d attempts: %s", s->topic,
                s->cgroup ? s->cgroup : s->group, ev->id, ev->type, ev->attempt, ev->error);
        ev->settle(ev, RZ_BUS_SETTLE_DEAD, ev->error);
        return;
    }
    if (result == RZ_BUS_RETRY)
        s->retried++;
    else
        s->failed++;
    int64_t ms = backoff_ms(ev->attempt);
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    ev->backoff = B.base ? evtimer_new(B.base, on_backoff, ev) : NULL;
    if (!ev->backoff || evtimer_add(ev->backoff, &tv) != 0) {
        /* Cannot wait: give it up here; not committed, so it comes back. */
        ev->settle(ev, RZ_BUS_SETTLE_ABANDON, "no timer");
    }
}

const char *rz__svc_event_id(rz_event_t *ev) { return ev ? ev->id : NULL; }
const char *rz__svc_event_type(rz_event_t *ev) { return ev ? ev->type : NULL; }
const char *rz__svc_event_topic(rz_event_t *ev) { return ev ? ev->topic : NULL; }
const char *rz__svc_event_source(rz_event_t *ev) { return ev ? ev->source : NULL; }
const char *rz__svc_event_subject(rz_event_t *ev) { return ev ? ev->subject : NULL; }
int64_t rz__svc_event_version(rz_event_t *ev) { return ev ? ev->version : 0; }
int64_t rz__svc_event_time_ms(rz_event_t *ev) { return ev ? ev->time_ms : 0; }
const char *rz__svc_event_data(rz_event_t *ev) { return ev ? ev->data : NULL; }
int rz__svc_event_attempt(rz_event_t *ev) { return ev ? ev->attempt : 0; }

/* ---- worker lifecycle ------------------------------------------------------------------ */

static int in_list(char **l, const char *s)
{
    for (; l && *l; l++)
        if (strcmp(*l, s) == 0)
            return 1;
    return 0;
}

int rz__bus_worker_start(struct event_base *base)
{
    if (B.started)
        return -1;
    B.base = base;
    B.draining = 0;
    const char *me = rz__bus_instance();
    for (size_t i = 0; i < rz__bus_nsubs; i++) {
        rz_bus_sub_t *s = &rz__bus_subs[i];
        free(s->cgroup);
        s->cgroup = NULL;
        if (s->mode == RZ_BUS_BROADCAST && asprintf(&s->cgroup, "%s:%s", s->group, me) < 0)
            s->cgroup = NULL;
        else if (s->mode == RZ_BUS_SHARED)
            s->cgroup = strdup(s->group);
        if (!s->cgroup) {
            rz__log(RZ_LOG_ERROR, "bus", "out of memory");
            return -1;
        }
        s->start_latest = in_list(rz__bus_opts.start_latest, s->group);
    }
    int rc = rz__bus_opts.backend == RZ_BUS_KAFKA ? rz__bus_kafka_start(base)
                                                  : rz__bus_embedded_start(base);
    if (rc != 0)
        return -1;
    B.started = 1;
    return 0;
}

void rz__bus_worker_drain(void)
{
    if (!B.started || B.draining)
        return;
    B.draining = 1;
    if (rz__bus_opts.backend == RZ_BUS_KAFKA)
        rz__bus_kafka_drain();
    else
        rz__bus_embedded_drain();
}

int rz__bus_pending(void)
{
    if (!B.started)
        return 0;
    return rz__bus_opts.backend == RZ_BUS_KAFKA ? rz__bus_kafka_pending()
                                                : rz__bus_embedded_pending();
}

void rz__bus_worker_stop(void)
{
    if (!B.started)
        return;
    if (rz__bus_opts.backend == RZ_BUS_KAFKA)
        rz__bus_kafka_stop();
    else
        rz__bus_embedded_stop();
    B.started = 0;
    B.base = NULL;
}

int rz__bus_ready_check(const char **why)
{
    if (!B.started)
        return 1; /* not running the bus here is not a reason to be unready */
    return rz__bus_opts.backend == RZ_BUS_KAFKA ? rz__bus_kafka_ready(why)
                                                : rz__bus_embedded_ready(why);
}

void rz__bus_metrics(struct evbuffer *out, int worker)
{
    if (!B.started)
        return;
    evbuffer_add_printf(out, "# TYPE rentezy_bus_events_total counter\n");
    for (size_t i = 0; i < rz__bus_nsubs; i++) {
        rz_bus_sub_t *s = &rz__bus_subs[i];
        static const char *const names[] = {"delivered", "ok",   "retried",
                                            "failed",    "dead", "skipped"};
        uint64_t v[] = {s->delivered, s->ok, s->retried, s->failed, s->dead, s->skipped};
        for (int k = 0; k < 6; k++)
            evbuffer_add_printf(out,
                                "rentezy_bus_events_total{worker=\"%d\",topic=\"%s\","
                                "group=\"%s\",outcome=\"%s\"} %llu\n",
                                worker, s->topic, s->group, names[k], (unsigned long long)v[k]);
    }
    if (rz__bus_opts.backend == RZ_BUS_KAFKA)
        rz__bus_kafka_metrics(out, worker);
    else
        rz__bus_embedded_metrics(out, worker);
}
