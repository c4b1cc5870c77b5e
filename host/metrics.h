/*
 * metrics.h — request metrics shared by the master and every worker.
 *
 * One region of shared memory (mapped by the master before forking) holds a
 * slot per worker index; a worker adds to its own slot with relaxed atomics
 * and /metrics, served by any worker, sums the slots.  So the figures are the
 * daemon's, not one worker's, and survive a worker's restart.
 */
#ifndef RZ_METRICS_H
#define RZ_METRICS_H

#include <stddef.h>

struct evbuffer;

#define RZ_METRICS_MAX_WORKERS 64

/* Master, once routes and plugins are known (also maps the plugin metrics
 * and readiness regions, pmetrics.h and readiness.h).  0 or -1. */
int rz__metrics_init(size_t nroutes);
/* route: the route's index, or -1 when no route matched. */
void rz__metrics_request(int route, int status, double seconds);
void rz__metrics_inflight(int delta);
void rz__metrics_worker_restarted(void);  /* master */
void rz__metrics_workers_running(int n);  /* master */
/* Append the Prometheus text of the host's figures, then the plugins'. */
void rz__metrics_render(struct evbuffer *out);

#endif
