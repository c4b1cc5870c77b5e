/*
 * readiness.h — plugin readiness (ABI 1.2 ready_set) shared by the workers.
 *
 * Shared memory holds one slot per (worker index, plugin), so /readyz on any
 * worker sees every worker's plugins.  A slot is owned by the process that
 * last started on that worker index (its pid is in the slot): a replaced
 * worker's state is reset, a dead worker's is ignored, and an old worker
 * still draining after SIGHUP cannot overwrite its successor's.
 */
#ifndef RZ_READINESS_H
#define RZ_READINESS_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "rentezy/plugin.h"

/* Master, before forking, once the plugins are loaded.  0 or -1. */
int rz__readiness_init(void);
/* Worker, before its plugins start: take this index's slots, all ready. */
void rz__readiness_worker_start(void);
/* 1 when every plugin of every running worker is ready; else 0 with why set
 * to the first one ("plugin search not ready on worker 1: ..."), and, when
 * list is not NULL, one {"plugin","worker","reason"} object per not-ready
 * plugin appended to it. */
int rz__readiness_check(char *why, size_t whylen, cJSON *list);

/* The rz_host_t entry. */
void rz__svc_ready_set(rz_plugin_t *self, int ready, const char *reason);

#endif
