/*
 * timer.h — plugin timers (ABI 1.2) on the worker's event loop.
 *
 * A timer belongs to the plugin that started it and sits on the plugin's
 * list, so the host can free what a plugin still holds once it stops.  Times
 * are monotonic (libevent's clock), not the host clock that tests move.
 */
#ifndef RZ_TIMER_H
#define RZ_TIMER_H

#include <stdint.h>

#include "rentezy/plugin.h"

/* The rz_host_t entries. */
rz_timer_t *rz__svc_timer_start(rz_plugin_t *self, int64_t after_ms, int64_t every_ms,
                                rz_timer_fn fn, void *udata);
void rz__svc_timer_stop(rz_timer_t *t);

/* Stop and free every timer p still holds (after its stop hook). */
void rz__timers_free_all(rz_plugin_t *p);

#endif
