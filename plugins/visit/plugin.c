/*
 * visit — property viewings: landlords publish slots, tenants ask for one,
 * the landlord confirms or declines, either side cancels; reminders 24 h
 * and 1 h before.  Publishes visit-events; consumes property-events.
 *
 * No configuration of its own.  Routes: the table below and openapi.json.
 */
#include "visit.h"

#include <sodium.h>

#include "rzu_embed.h"

vs_t vs_g;

RZU_EMBED(vs_sql_001, "plugins/visit/schema/001_visit.sql");
RZU_EMBED(vs_sql_002, "plugins/visit/schema/002_reasons.sql");
RZU_EMBED(vs_openapi, "plugins/visit/openapi.json");

#define R(m, p, a, h, s)                                                                 \
    {.size = sizeof(rz_route_t), .method = m, .path = p, .access = a, .handler = h,      \
     .summary = s}

static const rz_route_t routes[] = {
    R("POST", "/v1/properties/{id}/slots", RZ_ACCESS_LANDLORD, h_slot_add, "publish a viewing slot"),
    R("GET", "/v1/properties/{id}/slots", RZ_ACCESS_PUBLIC, h_slot_list, "the viewing slots ahead"),
    R("POST", "/v1/slots/{id}/visits", RZ_ACCESS_TENANT, h_visit_request, "ask for a slot"),
    R("GET", "/v1/visits", RZ_ACCESS_USER, h_visit_list, "the caller's visits"),
    R("GET", "/v1/visits/{id}", RZ_ACCESS_USER, h_visit_get, "a visit (its parties only)"),
    R("POST", "/v1/visits/{id}/confirm", RZ_ACCESS_LANDLORD, h_visit_confirm, "confirm a visit"),
    R("POST", "/v1/visits/{id}/decline", RZ_ACCESS_LANDLORD, h_visit_decline, "decline a visit"),
    R("POST", "/v1/visits/{id}/cancel", RZ_ACCESS_USER, h_visit_cancel, "cancel a visit"),
};

static int vs_init(rz_plugin_t *self, const rz_host_t *host, void **state)
{
    int rc;
    vs_g.host = host;
    rzu_init(host, self);
    vs_g.self = self;
    if (sodium_init() < 0) {
        host->log(self, RZ_LOG_ERROR, "libsodium failed to initialise");
        return RZ_ERR;
    }
    if ((rc = host->migration(self, 1, "visit", vs_sql_001)) != RZ_OK ||
        (rc = host->migration(self, 2, "reasons", vs_sql_002)) != RZ_OK)
        return rc;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        if ((rc = host->route(self, &routes[i])) != RZ_OK)
            return rc;
    if ((rc = host->job_register(self, "remind", job_remind, NULL)) != RZ_OK)
        return rc;
    if (!host->bus_subscribe)
        host->log(self, RZ_LOG_WARN, "this host has no event bus: property-events is not consumed");
    else if ((rc = host->bus_subscribe(self, "property-events", "visit", RZ_BUS_SHARED,
                                       on_property_event, NULL)) != RZ_OK)
        return rc;
    *state = &vs_g;
    return host->openapi(self, vs_openapi);
}

static const char *const vs_requires[] = {"cap:db", "cap:jobs", "cap:bus", NULL};

RZ_PLUGIN_DEFINE(.name = "visit", .version = "1.0.0",
                 .description = "Viewing slots, visit requests and reminders; publishes "
                                "visit-events",
                 .requires = vs_requires, .init = vs_init)
