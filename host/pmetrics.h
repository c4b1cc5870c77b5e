/*
 * pmetrics.h — plugin metrics (ABI 1.2 gauge_set, counter_add).
 *
 * One region of shared memory, mapped by the master before forking, holds a
 * table of RZ_PLUGIN_METRICS_MAX metric descriptions (plugin, name, type,
 * help) and a value per worker index for each.  A worker claims a
 * description under a process-shared robust mutex the first time it uses a
 * name, then remembers the slot in a private cache, so setting a value is a
 * hash lookup and an atomic store.  /metrics, served by any worker, renders
 * every worker's values.
 */
#ifndef RZ_PMETRICS_H
#define RZ_PMETRICS_H

#include "rentezy/plugin.h"

struct evbuffer;

/* Master, before forking.  0 or -1. */
int rz__pmetrics_init(void);
void rz__pmetrics_render(struct evbuffer *out);

/* The rz_host_t entries. */
int rz__svc_gauge_set(rz_plugin_t *self, const char *name, const char *help, double value);
int rz__svc_counter_add(rz_plugin_t *self, const char *name, const char *help, double delta);

#endif
