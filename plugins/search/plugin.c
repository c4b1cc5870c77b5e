/*
 * search — the in-memory search index and its query API.
 *
 * Every worker keeps its own index (docs/decisions/0010-search.md), built
 * from property-events and booking-events in broadcast mode and rebuilt by
 * replaying them at start.  This file wires the plugin: configuration,
 * routes, the OpenAPI fragment, subscriptions; api.c answers, events.c
 * applies events, backend_memory.c holds the index (the core: sx.h).
 *
 * Configuration ([plugin.search]):
 *   backend          memory (the only one so far)
 *   ready_quiet_ms   a bus quiet this long means replay is over (health.c); 2000
 *
 * Routes: GET /v1/search, /v1/search/suggest, /v1/search/stats; gauges in
 * /metrics and readiness in /readyz (health.c).
 */
#include "search.h"

#include <string.h>

#include "rzu_embed.h"

search_t search_g;

RZU_EMBED(search_openapi, "plugins/search/openapi.json");

#define R(p, h, s)                                                                       \
    {.size = sizeof(rz_route_t), .method = "GET", .path = p, .access = RZ_ACCESS_PUBLIC,  \
     .handler = h, .summary = s}

static const rz_route_t routes[] = {
    R("/v1/search", h_search, "search published listings"),
    R("/v1/search/suggest", h_suggest, "autocomplete places and titles"),
    R("/v1/search/stats", h_stats, "index size, memory and freshness"),
};

static int subscribe(const char *topic, rz_bus_fn fn)
{
    int rc = H->bus_subscribe(search_g.self, topic, "search", RZ_BUS_BROADCAST, fn, NULL);
    if (rc != RZ_OK)
        H->log(search_g.self, RZ_LOG_ERROR, "cannot subscribe to %s (error %d)", topic, rc);
    return rc;
}

static int search_init(rz_plugin_t *self, const rz_host_t *host, void **state)
{
    const char *backend;
    int rc;
    memset(&search_g, 0, sizeof(search_g));
    search_g.host = host;
    search_g.self = self;
    if (host->config_string(self, "backend", "memory", &backend) != RZ_OK)
        return RZ_EINVAL;
    if (strcmp(backend, "memory") != 0) {
        host->log(self, RZ_LOG_ERROR,
                  "[plugin.search] backend: \"%s\" is not a backend; expected memory", backend);
        return RZ_EINVAL;
    }
    if (host->config_int(self, "ready_quiet_ms", 2000, &search_g.quiet_ms) != RZ_OK ||
        search_g.quiet_ms < 0 || search_g.quiet_ms > 600000) {
        host->log(self, RZ_LOG_ERROR, "[plugin.search] ready_quiet_ms: expected 0 to 600000 (ms)");
        return RZ_EINVAL;
    }
    search_g.be = &search_backend_memory;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        if ((rc = host->route(self, &routes[i])) != RZ_OK)
            return rc;
    /* The bus arrived in ABI 1.1; a host whose table lacks it leaves the
     * entries NULL.  Then the index stays empty, and the log says why. */
    if (host->abi_minor >= 1 && host->bus_subscribe && host->bus_done) {
        if ((rc = subscribe("property-events", on_property_event)) != RZ_OK ||
            (rc = subscribe("booking-events", on_booking_event)) != RZ_OK)
            return rc;
        search_g.bus = 1;
    } else {
        host->log(self, RZ_LOG_WARN,
                  "this host has no event bus (bus_subscribe is NULL): the search index will "
                  "stay empty; listings become searchable once the host offers ABI 1.1 events");
    }
    *state = &search_g;
    return host->openapi(self, search_openapi);
}

/* start runs in each worker: the index is per worker, like a pod's. */
static int search_start(rz_plugin_t *self, void *state)
{
    (void)state;
    search_g.b = search_g.be->open();
    if (!search_g.b) {
        H->log(self, RZ_LOG_ERROR, "out of memory opening the %s index", search_g.be->name);
        return RZ_ENOMEM;
    }
    search_g.started_ms = H->now_ms();
    return health_start();
}

/* stop: the worker drains; the host frees what timers remain after this. */
static void search_stop(rz_plugin_t *self, void *state)
{
    (void)self, (void)state;
    health_stop();
}

static void search_destroy(rz_plugin_t *self, void *state)
{
    (void)self, (void)state;
    if (search_g.be && search_g.b)
        search_g.be->close(search_g.b);
    search_g.b = NULL;
}

static const char *const search_requires[] = {"cap:bus", NULL};

RZ_PLUGIN_DEFINE(.name = "search", .version = "1.0.0",
                 .description = "In-memory listing search fed by property and booking events",
                 .requires = search_requires, .init = search_init, .start = search_start,
                 .stop = search_stop, .destroy = search_destroy)
