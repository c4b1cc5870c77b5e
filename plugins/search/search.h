/*
 * search.h — the plugin layer over the core (sx.h): routes, events and the
 * backend interface.  Only files of this layer include rentezy/plugin.h or
 * cJSON; the core stays free of both so tools and tests link it alone.
 */
#ifndef SEARCH_H
#define SEARCH_H

#include <rentezy/plugin.h>

#include "sx.h"

/* An index backend.  `memory` (backend_memory.c) is the only one today; an
 * Elasticsearch/OpenSearch backend would implement the same calls (with the
 * search calls turned asynchronous: see docs/decisions/0010-search.md).
 * Every call runs on the worker's loop thread. */
typedef struct search_backend {
    const char *name;
    void *(*open)(void);                    /* NULL when out of memory */
    void (*close)(void *b);
    /* SX_OK, SX_STALE (an equal or newer version is applied) or SX_E* */
    int (*put)(void *b, const sx_listing_in_t *in);
    int (*remove)(void *b, const char *id, int64_t version);
    int (*booking)(void *b, const char *booking_id, const char *listing_id, int64_t version,
                   int active, int32_t check_in, int32_t check_out);
    /* The response body of GET /v1/search (without took_ms), or NULL when out
     * of memory.  The caller owns it. */
    cJSON *(*search)(void *b, const sx_query_t *q);
    cJSON *(*suggest)(void *b, const char *q, int limit);
    cJSON *(*stats)(void *b);               /* listings, memory, ... */
    void (*figures)(void *b, uint64_t *listings, uint64_t *bytes); /* for /metrics */
} search_backend_t;

extern const search_backend_t search_backend_memory;

/* Freshness: event time -> searchable, the last FRESH_RING applies. */
#define FRESH_RING 1024

typedef struct search {
    const rz_host_t *host;
    rz_plugin_t *self;
    const search_backend_t *be;
    void *b;                    /* the backend's state; per worker, from start */
    int bus;                    /* subscribed */
    /* event figures for /v1/search/stats */
    uint64_t applied, stale, rejected;
    int64_t last_event_ms, last_apply_ms, started_ms;
    int64_t lag[FRESH_RING];
    uint32_t nlag;
    /* health.c */
    rz_timer_t *timer;
    int ready, gauge_warned;
    int64_t quiet_ms;           /* [plugin.search] ready_quiet_ms */
    uint64_t applied_told;      /* events_applied_total so far */
} search_t;

extern search_t search_g;
#define H (search_g.host)

/* api.c */
void h_search(rz_req_t *req, void *udata);
void h_suggest(rz_req_t *req, void *udata);
void h_stats(rz_req_t *req, void *udata);

/* health.c: /metrics figures and /readyz (ABI 1.2) */
int health_start(void);
void health_stop(void);
void health_freshness(int64_t *p99, int64_t *last);

/* events.c */
void on_property_event(rz_event_t *ev, void *udata);
void on_booking_event(rz_event_t *ev, void *udata);
/* Apply a property snapshot (JSON text) of version; SX_OK, SX_STALE or SX_E*.
 * Shared with nothing else, but separate so its parsing is easy to test. */
int apply_property(const char *json, int64_t version);
int apply_booking(const char *type, const char *json, int64_t version);

#endif
