/*
 * health.c — what operators see of a worker's index: figures in /metrics
 * and readiness in /readyz (ABI 1.2).
 *
 * A timer publishes, every HEALTH_EVERY_MS, the listings indexed, the
 * index's memory and the freshness lag (event committed -> searchable: the
 * p99 of the last FRESH_RING applies and the newest one) as gauges, so
 * /metrics shows rentezy_plugin_search_<name>{worker="N"}.
 *
 * The freshness samples restart when the worker becomes ready: the replay's
 * events are as old as the history, and would hide the live lag.
 *
 * Readiness.  A new worker replays the compacted history before its index
 * is complete; /readyz answers 503 naming the plugin until it is caught
 * up.  The bus gives no "caught up" signal, so a worker counts as caught up
 * when the newest event it applied was committed under CAUGHT_UP_MS before
 * it was applied (it is now applying live traffic), or when no event has
 * arrived for ready_quiet_ms (replay delivers the history back to back, so a
 * quiet bus means there is nothing left, e.g. an empty topic).  Once ready
 * it stays ready: a lag spike later shows in the freshness gauge.
 */
#include "search.h"

#include <stdlib.h>
#include <string.h>

#define HEALTH_EVERY_MS 500
#define CAUGHT_UP_MS 1000

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* p99 and newest of the freshness samples; 0 without samples. */
void health_freshness(int64_t *p99, int64_t *last)
{
    search_t *g = &search_g;
    uint32_t n = g->nlag < FRESH_RING ? g->nlag : FRESH_RING;
    static int64_t lags[FRESH_RING]; /* the loop thread's only: no stack burst */
    *p99 = *last = 0;
    if (!n)
        return;
    memcpy(lags, g->lag, n * sizeof(lags[0]));
    qsort(lags, n, sizeof(lags[0]), cmp_i64);
    *p99 = lags[(n * 99) / 100];
    *last = g->lag[(g->nlag - 1) % FRESH_RING];
}

static int caught_up(int64_t now)
{
    search_t *g = &search_g;
    if (!g->bus)
        return 1; /* nothing will come: the empty index is all there is */
    int64_t since = now - (g->last_apply_ms ? g->last_apply_ms : g->started_ms);
    if (since >= g->quiet_ms)
        return 1;
    return g->nlag > 0 && g->lag[(g->nlag - 1) % FRESH_RING] < CAUGHT_UP_MS;
}

static void gauge(const char *name, const char *help, double v)
{
    int rc = H->gauge_set(search_g.self, name, help, v);
    if (rc != RZ_OK && !search_g.gauge_warned) {
        search_g.gauge_warned = 1;
        H->log(search_g.self, RZ_LOG_WARN, "cannot set the gauge %s (error %d)", name, rc);
    }
}

static void tick(void *udata)
{
    (void)udata;
    search_t *g = &search_g;
    int64_t now = H->now_ms(), p99, last;
    uint64_t listings = 0, bytes = 0;
    if (g->b)
        g->be->figures(g->b, &listings, &bytes);
    health_freshness(&p99, &last);
    gauge("listings_indexed", "Published listings in this worker's search index", (double)listings);
    gauge("memory_bytes", "Memory held by this worker's search index", (double)bytes);
    gauge("freshness_lag_p99_ms", "Event committed to searchable, p99 of the last 1024 applied",
          (double)p99);
    gauge("freshness_lag_last_ms", "Event committed to searchable, the newest applied event",
          (double)last);
    if (g->applied > g->applied_told) {
        H->counter_add(g->self, "events_applied_total", "Events applied to this worker's index",
                       (double)(g->applied - g->applied_told));
        g->applied_told = g->applied;
    }
    if (!g->ready && caught_up(now)) {
        g->ready = 1;
        g->nlag = 0; /* from now on freshness is that of live events, not of the replay */
        H->ready_set(g->self, 1, NULL);
        H->log(g->self, RZ_LOG_INFO, "search index caught up: %llu listings after %lld ms",
               (unsigned long long)listings, (long long)(now - g->started_ms));
    }
}

int health_start(void)
{
    search_t *g = &search_g;
    if (H->abi_minor < 2 || !H->timer_start || !H->gauge_set || !H->ready_set) {
        H->log(g->self, RZ_LOG_WARN, "this host has no ABI 1.2 metrics or readiness: the index "
                                     "figures are only at GET /v1/search/stats");
        return RZ_OK;
    }
    g->ready = 0;
    H->ready_set(g->self, 0, "search index replaying events");
    g->timer = H->timer_start(g->self, HEALTH_EVERY_MS, HEALTH_EVERY_MS, tick, NULL);
    if (!g->timer) {
        H->ready_set(g->self, 1, NULL); /* never stuck unready for want of a timer */
        H->log(g->self, RZ_LOG_ERROR, "cannot start the search health timer");
        return RZ_ENOMEM;
    }
    return RZ_OK;
}

void health_stop(void)
{
    if (search_g.timer && H->timer_stop)
        H->timer_stop(search_g.timer);
    search_g.timer = NULL;
}
