/*
 * workpool.h — a small thread pool per worker for CPU-heavy work (password
 * hashing), so the event loop never blocks.  A job's `fn` runs on a pool
 * thread; its `after` runs afterwards on the loop thread, woken by an eventfd.
 * Threads are created in the worker (never before fork).
 */
#ifndef RZ_WORKPOOL_H
#define RZ_WORKPOOL_H

#include "rentezy/plugin.h"

struct event_base;

int rz__workpool_start(struct event_base *base, int threads);
/* Wait for queued work, run the remaining `after` callbacks, join. */
void rz__workpool_stop(void);
int rz__svc_work(rz_plugin_t *self, rz_work_fn fn, rz_after_fn after, void *udata);
/* Jobs queued or running (for draining). */
int rz__workpool_pending(void);

#endif
