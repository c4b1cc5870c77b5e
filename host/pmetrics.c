#include "pmetrics.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <event2/buffer.h>

#include "host.h"
#include "log.h"
#include "metrics.h"

#define NAME_MAX_LEN 48
#define HELP_MAX_LEN 200
enum { PM_GAUGE = 1, PM_COUNTER = 2 };

typedef struct pm_desc {
    int type;
    uint32_t plugin;               /* index in rz__rt.plugins: the same in every process */
    char name[NAME_MAX_LEN + 1];
    char help[HELP_MAX_LEN + 1];
} pm_desc_t;

typedef struct pm_shared {
    pthread_mutex_t lock;          /* process-shared, robust: serialises claims */
    uint32_t used;                 /* published descriptions (release/acquire) */
    pm_desc_t desc[RZ_PLUGIN_METRICS_MAX];
    uint64_t touched[RZ_PLUGIN_METRICS_MAX]; /* bit w: worker w wrote a value */
    uint64_t value[RZ_METRICS_MAX_WORKERS][RZ_PLUGIN_METRICS_MAX]; /* double bits */
} pm_shared_t;

static pm_shared_t *pm;

/* This process's cache of claimed slots: (plugin, name) -> slot. */
#define CACHE_SIZE (2 * RZ_PLUGIN_METRICS_MAX)
static struct {
    int slot; /* slot + 1; 0 = empty */
    uint32_t plugin;
    char name[NAME_MAX_LEN + 1];
} cache[CACHE_SIZE];

int rz__pmetrics_init(void)
{
    void *p = mmap(NULL, sizeof(pm_shared_t), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return -1;
    pm = p;
    pthread_mutexattr_t a;
    if (pthread_mutexattr_init(&a) != 0)
        return -1;
    int rc = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED) != 0 ||
             pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST) != 0 ||
             pthread_mutex_init(&pm->lock, &a) != 0;
    pthread_mutexattr_destroy(&a);
    return rc ? -1 : 0;
}

static int valid_name(const char *s)
{
    if (!s || !(*s >= 'a' && *s <= 'z'))
        return 0;
    size_t i = 0;
    for (; s[i]; i++)
        if (i >= NAME_MAX_LEN ||
            !((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return 0;
    return 1;
}

static uint32_t hash(uint32_t plugin, const char *name)
{
    uint32_t h = 2166136261u ^ plugin;
    for (; *name; name++)
        h = (h ^ (unsigned char)*name) * 16777619u;
    return h;
}

/* Find or claim the shared slot of (plugin, name).  Returns the slot, or a
 * negative RZ_E* code. */
static int claim(uint32_t plugin, const char *name, const char *help, int type)
{
    int rc = pthread_mutex_lock(&pm->lock);
    if (rc == EOWNERDEAD)
        pthread_mutex_consistent(&pm->lock); /* a worker died mid-claim: its slot was not published */
    else if (rc != 0)
        return RZ_ERR;
    uint32_t used = __atomic_load_n(&pm->used, __ATOMIC_ACQUIRE);
    int slot = RZ_ENOMEM;
    for (uint32_t i = 0; i < used; i++)
        if (pm->desc[i].plugin == plugin && strcmp(pm->desc[i].name, name) == 0) {
            slot = pm->desc[i].type == type ? (int)i : RZ_EINVAL;
            goto out;
        }
    if (used < RZ_PLUGIN_METRICS_MAX) {
        pm_desc_t *d = &pm->desc[used];
        memset(d, 0, sizeof(*d));
        d->type = type;
        d->plugin = plugin;
        snprintf(d->name, sizeof(d->name), "%s", name);
        /* help is one line of text: newlines would break the exposition format */
        snprintf(d->help, sizeof(d->help), "%s", help ? help : "");
        for (char *c = d->help; *c; c++)
            if (*c == '\n' || *c == '\r')
                *c = ' ';
        __atomic_store_n(&pm->used, used + 1, __ATOMIC_RELEASE);
        slot = (int)used;
    }
out:
    pthread_mutex_unlock(&pm->lock);
    return slot;
}

/* The slot for (self, name), from the cache or claimed; logs refusals. */
static int slot_of(rz_plugin_t *self, const char *name, const char *help, int type)
{
    const char *who = rz__plugin_name(self);
    const char *fn = type == PM_GAUGE ? "gauge_set" : "counter_add";
    if (!self || !valid_name(name)) {
        rz__log(RZ_LOG_ERROR, who, "%s: invalid metric name '%s' (expected [a-z][a-z0-9_]{0,47})",
                fn, name ? name : "(null)");
        return RZ_EINVAL;
    }
    if (!pm || rz__rt.worker_index < 0 || rz__rt.worker_index >= RZ_METRICS_MAX_WORKERS)
        return RZ_ESTATE; /* init runs in the master, before the table is mapped */
    uint32_t plugin = (uint32_t)self->index;
    uint32_t h = hash(plugin, name) % CACHE_SIZE;
    for (uint32_t k = 0; k < CACHE_SIZE; k++, h = (h + 1) % CACHE_SIZE) {
        if (!cache[h].slot)
            break;
        if (cache[h].plugin == plugin && strcmp(cache[h].name, name) == 0) {
            int s = cache[h].slot - 1;
            if (pm->desc[s].type != type) {
                rz__log(RZ_LOG_ERROR, who, "%s: metric '%s' is a %s", fn, name,
                        pm->desc[s].type == PM_GAUGE ? "gauge" : "counter");
                return RZ_EINVAL;
            }
            return s;
        }
    }
    int s = claim(plugin, name, help, type);
    if (s == RZ_EINVAL)
        rz__log(RZ_LOG_ERROR, who, "%s: metric '%s' already exists with the other type", fn, name);
    else if (s == RZ_ENOMEM)
        rz__log(RZ_LOG_ERROR, who, "%s: the plugin metric table is full (%d metrics)", fn,
                RZ_PLUGIN_METRICS_MAX);
    if (s < 0)
        return s;
    /* the cache has twice the table's size, so a free entry always exists */
    cache[h].slot = s + 1;
    cache[h].plugin = plugin;
    snprintf(cache[h].name, sizeof(cache[h].name), "%s", name);
    return s;
}

static uint64_t bits_of(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof(b));
    return b;
}

static double double_of(uint64_t b)
{
    double v;
    memcpy(&v, &b, sizeof(v));
    return v;
}

int rz__svc_gauge_set(rz_plugin_t *self, const char *name, const char *help, double value)
{
    int s = slot_of(self, name, help, PM_GAUGE);
    if (s < 0)
        return s;
    int w = rz__rt.worker_index;
    __atomic_store_n(&pm->value[w][s], bits_of(value), __ATOMIC_RELAXED);
    __atomic_fetch_or(&pm->touched[s], 1ull << w, __ATOMIC_RELAXED);
    return RZ_OK;
}

int rz__svc_counter_add(rz_plugin_t *self, const char *name, const char *help, double delta)
{
    if (!(delta >= 0) || isinf(delta)) {
        rz__log(RZ_LOG_ERROR, rz__plugin_name(self),
                "counter_add: '%s' needs a finite, non-negative delta", name ? name : "(null)");
        return RZ_EINVAL;
    }
    int s = slot_of(self, name, help, PM_COUNTER);
    if (s < 0)
        return s;
    int w = rz__rt.worker_index;
    /* a CAS loop: during a SIGHUP reload the old and the new worker of one
     * index may both add for a moment */
    uint64_t *cell = &pm->value[w][s];
    uint64_t old = __atomic_load_n(cell, __ATOMIC_RELAXED);
    while (!__atomic_compare_exchange_n(cell, &old, bits_of(double_of(old) + delta), 1,
                                        __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
    __atomic_fetch_or(&pm->touched[s], 1ull << w, __ATOMIC_RELAXED);
    return RZ_OK;
}

/* Prometheus text: shortest form that reads back exactly; NaN and +-Inf by name. */
static void format_value(char *buf, size_t len, double v)
{
    if (isnan(v))
        snprintf(buf, len, "NaN");
    else if (isinf(v))
        snprintf(buf, len, v > 0 ? "+Inf" : "-Inf");
    else {
        snprintf(buf, len, "%.15g", v);
        if (strtod(buf, NULL) != v)
            snprintf(buf, len, "%.17g", v);
    }
}

static void add_help(struct evbuffer *out, const char *help)
{
    for (; *help; help++) {
        if (*help == '\\')
            evbuffer_add(out, "\\\\", 2);
        else
            evbuffer_add(out, help, 1);
    }
}

void rz__pmetrics_render(struct evbuffer *out)
{
    if (!pm)
        return;
    uint32_t used = __atomic_load_n(&pm->used, __ATOMIC_ACQUIRE);
    for (uint32_t i = 0; i < used; i++) {
        const pm_desc_t *d = &pm->desc[i];
        if (d->plugin >= rz__rt.nplugins)
            continue;
        const char *plugin = rz__plugin_name(rz__rt.plugins[d->plugin]);
        uint64_t touched = __atomic_load_n(&pm->touched[i], __ATOMIC_RELAXED);
        evbuffer_add_printf(out, "# HELP rentezy_plugin_%s_%s ", plugin, d->name);
        add_help(out, d->help[0] ? d->help : "(no help given)");
        evbuffer_add_printf(out, "\n# TYPE rentezy_plugin_%s_%s %s\n", plugin, d->name,
                            d->type == PM_GAUGE ? "gauge" : "counter");
        for (int w = 0; w < RZ_METRICS_MAX_WORKERS; w++) {
            if (!(touched & (1ull << w)))
                continue;
            char v[40];
            format_value(v, sizeof(v),
                         double_of(__atomic_load_n(&pm->value[w][i], __ATOMIC_RELAXED)));
            evbuffer_add_printf(out, "rentezy_plugin_%s_%s{worker=\"%d\"} %s\n", plugin, d->name,
                                w, v);
        }
    }
}
