/*
 * iface.h — named interfaces between plugins (ABI 1.2).
 *
 * A per-process registry: providers register during init, in the master, so
 * every worker inherits the same table through fork.  The host stores only
 * the pointer; the vtable's layout is a contract between the plugins (an SDK
 * header), and the provider keeps it valid until its destroy.
 */
#ifndef RZ_IFACE_H
#define RZ_IFACE_H

#include "rentezy/plugin.h"

int rz__svc_iface_provide(rz_plugin_t *self, const char *name, const void *iface);
const void *rz__svc_iface_lookup(rz_plugin_t *self, const char *name);
/* Forget every interface (after the plugins' destroy). */
void rz__iface_clear(void);

#endif
