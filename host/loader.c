#include "loader.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "iface.h"
#include "log.h"
#include "timer.h"

#define MAX_PLUGINS 64

static char init_error[512];

void rz__plugins_init_error(const char *fmt, ...)
{
    if (init_error[0])
        return; /* keep the first: it is usually the cause */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(init_error, sizeof(init_error), fmt, ap);
    va_end(ap);
}

int rz__capability_available(const char *cap, const char **why)
{
    if (strcmp(cap, "cap:http") == 0 || strcmp(cap, "cap:ws") == 0)
        return 1;
    if (strcmp(cap, "cap:db") == 0 || strcmp(cap, "cap:jobs") == 0 ||
        strcmp(cap, "cap:bus") == 0) {
        const char *url = rz__config_get(rz__rt.cfg, "database", "url", NULL);
        if (url && *url)
            return 1;
        *why = "[database] url is not set";
        return 0;
    }
    *why = "the host has no such capability";
    return 0;
}

static int valid_name(const char *s)
{
    if (!s || !(*s >= 'a' && *s <= 'z'))
        return 0;
    for (size_t i = 0; s[i]; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_') ||
            i >= 32)
            return 0;
    return 1;
}

/* The smallest descriptor a 1.x plugin can have: everything up to destroy. */
#define DESC_MIN_SIZE (offsetof(rz_plugin_desc_t, destroy) + sizeof(void (*)(void)))

static void plugin_free(rz_plugin_t *p)
{
    if (!p)
        return;
    if (p->dl && !p->initialised)
        dlclose(p->dl);
    free(p->path);
    free(p);
}

static rz_plugin_t *open_one(const char *dir, const char *entry, char *err, size_t errlen)
{
    rz_plugin_t *p = calloc(1, sizeof(*p));
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (strchr(entry, '/')) {
        p->path = strdup(entry);
    } else if (valid_name(entry)) {
        if (asprintf(&p->path, "%s/%s.so", dir, entry) < 0)
            p->path = NULL;
    } else {
        snprintf(err, errlen, "[host] plugins: '%s' is neither a plugin name ([a-z][a-z0-9_]*) nor a path", entry);
        goto fail;
    }
    if (!p->path) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    p->dl = dlopen(p->path, RTLD_NOW | RTLD_LOCAL);
    if (!p->dl) {
        snprintf(err, errlen, "plugin %s: cannot load: %s", p->path, dlerror());
        goto fail;
    }
    rz_plugin_entry_fn fn;
    *(void **)&fn = dlsym(p->dl, RZ_PLUGIN_ENTRY_SYMBOL);
    if (!fn) {
        snprintf(err, errlen,
                 "plugin %s: no entry symbol %s: not a RentEzy plugin "
                 "(define it with RZ_PLUGIN_DEFINE from <rentezy/plugin.h>)",
                 p->path, RZ_PLUGIN_ENTRY_SYMBOL);
        goto fail;
    }
    const rz_plugin_desc_t *d = fn();
    if (!d || d->magic != RZ_PLUGIN_MAGIC) {
        snprintf(err, errlen,
                 "plugin %s: not a RentEzy plugin: descriptor magic 0x%08x, expected 0x%08x",
                 p->path, d ? d->magic : 0u, RZ_PLUGIN_MAGIC);
        goto fail;
    }
    if (d->abi_major != RZ_ABI_MAJOR) {
        snprintf(err, errlen,
                 "plugin %s: incompatible ABI: the plugin was built for ABI %u.%u, this host "
                 "implements %d.%d; rebuild the plugin against rentezy-sdk %d.x",
                 p->path, d->abi_major, d->abi_minor, RZ_ABI_MAJOR, RZ_ABI_MINOR, RZ_ABI_MAJOR);
        goto fail;
    }
    if (d->abi_minor > RZ_ABI_MINOR) {
        snprintf(err, errlen,
                 "plugin %s: the plugin needs ABI %u.%u, this host implements only %d.%d; "
                 "update rentezyd",
                 p->path, d->abi_major, d->abi_minor, RZ_ABI_MAJOR, RZ_ABI_MINOR);
        goto fail;
    }
    if (d->size < DESC_MIN_SIZE) {
        snprintf(err, errlen,
                 "plugin %s: descriptor size %u is smaller than the ABI %d.0 minimum %zu; "
                 "rebuild the plugin",
                 p->path, d->size, RZ_ABI_MAJOR, (size_t)DESC_MIN_SIZE);
        goto fail;
    }
    if (!valid_name(d->name)) {
        snprintf(err, errlen, "plugin %s: invalid name '%s' (expected [a-z][a-z0-9_]*, at most 32)",
                 p->path, d->name ? d->name : "(null)");
        goto fail;
    }
    if (!d->version || !d->init) {
        snprintf(err, errlen, "plugin %s (%s): the descriptor needs a version and an init hook",
                 p->path, d->name);
        goto fail;
    }
    p->desc = d;
    return p;
fail:
    plugin_free(p);
    return NULL;
}

static rz_plugin_t *find(rz_plugin_t **list, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i]->desc->name, name) == 0)
            return list[i];
    return NULL;
}

/* Depth-first topological order; state 1 = visiting, 2 = done. */
static int visit(rz_plugin_t **all, size_t n, size_t i, int *state, rz_plugin_t **out,
                 size_t *nout, char *err, size_t errlen)
{
    if (state[i] == 2)
        return 0;
    if (state[i] == 1) {
        snprintf(err, errlen, "plugin %s: requirements form a cycle", all[i]->desc->name);
        return -1;
    }
    state[i] = 1;
    const char *const *req = all[i]->desc->requires;
    for (size_t k = 0; req && req[k]; k++) {
        if (strncmp(req[k], "cap:", 4) == 0)
            continue;
        for (size_t j = 0; j < n; j++)
            if (strcmp(all[j]->desc->name, req[k]) == 0 &&
                visit(all, n, j, state, out, nout, err, errlen) < 0)
                return -1;
    }
    state[i] = 2;
    out[(*nout)++] = all[i];
    return 0;
}

int rz__plugins_load(const rz_config_t *cfg, char *err, size_t errlen)
{
    const char *dir;
    const char *const *names;
    size_t n;
    if (rz__config_string(cfg, "host", "plugin_dir", "/usr/lib/rentezy/plugins", &dir, err,
                          errlen) < 0 ||
        rz__config_list(cfg, "host", "plugins", &names, &n, err, errlen) < 0)
        return -1;
    if (n > MAX_PLUGINS) {
        snprintf(err, errlen, "[host] plugins: at most %d plugins", MAX_PLUGINS);
        return -1;
    }
    rz_plugin_t **all = calloc(n + 1, sizeof(*all)), **ordered = calloc(n + 1, sizeof(*ordered));
    int *state = calloc(n + 1, sizeof(*state));
    size_t loaded = 0, nordered = 0;
    if (!all || !ordered || !state) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        rz_plugin_t *p = open_one(dir, names[i], err, errlen);
        if (!p)
            goto fail;
        rz_plugin_t *dup = find(all, loaded, p->desc->name);
        if (dup) {
            snprintf(err, errlen, "plugin %s: duplicate plugin name '%s', already loaded from %s",
                     p->path, p->desc->name, dup->path);
            plugin_free(p);
            goto fail;
        }
        all[loaded++] = p;
    }
    for (size_t i = 0; i < loaded; i++) {
        const char *const *req = all[i]->desc->requires;
        for (size_t k = 0; req && req[k]; k++) {
            const char *why = NULL;
            if (strncmp(req[k], "cap:", 4) == 0) {
                if (!rz__capability_available(req[k], &why)) {
                    snprintf(err, errlen,
                             "plugin %s (%s): requires capability %s, which is missing: %s",
                             all[i]->path, all[i]->desc->name, req[k], why);
                    goto fail;
                }
            } else if (!find(all, loaded, req[k])) {
                snprintf(err, errlen,
                         "plugin %s (%s): requires plugin '%s', which is not in [host] plugins; "
                         "add it there",
                         all[i]->path, all[i]->desc->name, req[k]);
                goto fail;
            }
        }
    }
    for (size_t i = 0; i < loaded; i++)
        if (visit(all, loaded, i, state, ordered, &nordered, err, errlen) < 0)
            goto fail;
    free(all);
    free(state);
    for (size_t i = 0; i < nordered; i++)
        ordered[i]->index = i;
    rz__rt.plugins = ordered;
    rz__rt.nplugins = nordered;
    return 0;
fail:
    for (size_t i = 0; all && i < loaded; i++)
        plugin_free(all[i]);
    free(all);
    free(ordered);
    free(state);
    return -1;
}

int rz__plugins_init(char *err, size_t errlen)
{
    for (size_t i = 0; i < rz__rt.nplugins; i++) {
        rz_plugin_t *p = rz__rt.plugins[i];
        init_error[0] = '\0';
        rz__rt.in_init = 1;
        int rc = p->desc->init(p, rz__host_table(), &p->state);
        rz__rt.in_init = 0;
        if (init_error[0]) {
            snprintf(err, errlen, "plugin %s (%s): %s", p->path, p->desc->name, init_error);
            return -1;
        }
        if (rc != 0) {
            snprintf(err, errlen, "plugin %s (%s): init failed (%d); see the lines above",
                     p->path, p->desc->name, rc);
            return -1;
        }
        p->initialised = 1;
    }
    return 0;
}

int rz__plugins_start(char *err, size_t errlen)
{
    for (size_t i = 0; i < rz__rt.nplugins; i++) {
        rz_plugin_t *p = rz__rt.plugins[i];
        if (p->desc->start && p->desc->start(p, p->state) != 0) {
            snprintf(err, errlen, "plugin %s: start failed", p->desc->name);
            return -1;
        }
        p->started = 1;
    }
    return 0;
}

void rz__plugins_stop(void)
{
    for (size_t i = rz__rt.nplugins; i-- > 0;) {
        rz_plugin_t *p = rz__rt.plugins[i];
        p->stopped = 1; /* from here on: no new timers, readiness frozen */
        if (p->started && p->desc->stop)
            p->desc->stop(p, p->state);
        rz__timers_free_all(p);
    }
}

void rz__plugins_destroy(void)
{
    for (size_t i = rz__rt.nplugins; i-- > 0;) {
        rz_plugin_t *p = rz__rt.plugins[i];
        p->stopped = 1;
        rz__timers_free_all(p); /* when stop never ran (the loop ended otherwise) */
        if (p->initialised && p->desc->destroy)
            p->desc->destroy(p, p->state);
        p->state = NULL;
    }
    rz__iface_clear();
}

void rz__plugins_list(FILE *out)
{
    fprintf(out, "%-12s %-10s %-6s %s\n", "NAME", "VERSION", "ABI", "FILE");
    for (size_t i = 0; i < rz__rt.nplugins; i++) {
        const rz_plugin_t *p = rz__rt.plugins[i];
        char abi[16];
        snprintf(abi, sizeof(abi), "%u.%u", p->desc->abi_major, p->desc->abi_minor);
        fprintf(out, "%-12s %-10s %-6s %s\n", p->desc->name, p->desc->version, abi, p->path);
    }
}
