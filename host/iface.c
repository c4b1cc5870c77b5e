#include "iface.h"

#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "log.h"

#define IFACE_NAME_MAX 63

typedef struct entry {
    char *name;            /* owned */
    const void *iface;     /* the provider's */
    rz_plugin_t *provider;
} entry_t;

static entry_t *entries;
static size_t nentries, cap;

/* [a-z][a-z0-9_.-]{0,62}: "payment.provider.acme" */
static int valid_name(const char *s)
{
    if (!s || !(*s >= 'a' && *s <= 'z'))
        return 0;
    for (size_t i = 0; s[i]; i++)
        if (i >= IFACE_NAME_MAX || !((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
                                     s[i] == '_' || s[i] == '.' || s[i] == '-'))
            return 0;
    return 1;
}

static entry_t *find(const char *name)
{
    for (size_t i = 0; i < nentries; i++)
        if (strcmp(entries[i].name, name) == 0)
            return &entries[i];
    return NULL;
}

int rz__svc_iface_provide(rz_plugin_t *self, const char *name, const void *iface)
{
    const char *who = rz__plugin_name(self);
    if (!rz__rt.in_init) {
        rz__log(RZ_LOG_ERROR, who, "iface_provide() is only allowed during init");
        return RZ_ESTATE;
    }
    if (!self || !valid_name(name) || !iface) {
        rz__log(RZ_LOG_ERROR, who,
                "iface_provide: needs a name matching [a-z][a-z0-9_.-]{0,62} and a non-NULL "
                "interface (got '%s')", name ? name : "(null)");
        return RZ_EINVAL;
    }
    entry_t *e = find(name);
    if (e) {
        /* not fatal for the start: the plugin decides (it may provide a fallback name) */
        rz__log(RZ_LOG_ERROR, who, "iface_provide: interface '%s' is already provided by %s",
                name, rz__plugin_name(e->provider));
        return RZ_EEXIST;
    }
    if (nentries == cap) {
        size_t ncap = cap ? cap * 2 : 8;
        entry_t *n = realloc(entries, ncap * sizeof(*n));
        if (!n)
            return RZ_ENOMEM;
        entries = n;
        cap = ncap;
    }
    char *copy = strdup(name);
    if (!copy)
        return RZ_ENOMEM;
    entries[nentries++] = (entry_t){.name = copy, .iface = iface, .provider = self};
    rz__log(RZ_LOG_DEBUG, who, "provides interface %s", name);
    return RZ_OK;
}

const void *rz__svc_iface_lookup(rz_plugin_t *self, const char *name)
{
    if (rz__rt.in_init) {
        /* the answer would depend on load order: refuse it consistently */
        rz__log(RZ_LOG_ERROR, rz__plugin_name(self),
                "iface_lookup('%s') during init: look interfaces up in start", name ? name : "");
        return NULL;
    }
    if (!name)
        return NULL;
    entry_t *e = find(name);
    return e ? e->iface : NULL;
}

void rz__iface_clear(void)
{
    for (size_t i = 0; i < nentries; i++)
        free(entries[i].name);
    free(entries);
    entries = NULL;
    nentries = cap = 0;
}
