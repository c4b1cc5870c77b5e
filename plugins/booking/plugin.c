/*
 * booking — stays that can never be double-booked, holds that expire,
 * payments that confirm, cancellations with refunds; publishes
 * booking-events, consumes property-events and payment-events.
 *
 * Configuration ([plugin.booking]):
 *   hold_minutes   15   how long a pending_payment booking holds its dates
 *   request_hours  24   how long a landlord has to answer a request
 *
 * Routes: see the table below and openapi.json; the rules are in
 * docs/decisions/0008-booking.md.
 */
#include "booking.h"

#include <sodium.h>

#include "rzu_embed.h"

bk_t bk_g;

RZU_EMBED(bk_sql_001, "plugins/booking/schema/001_booking.sql");
RZU_EMBED(bk_sql_002, "plugins/booking/schema/002_reasons_fast_create.sql");
RZU_EMBED(bk_openapi, "plugins/booking/openapi.json");

#define R(m, p, a, h, s)                                                                 \
    {.size = sizeof(rz_route_t), .method = m, .path = p, .access = a, .handler = h,      \
     .summary = s}

static const rz_route_t routes[] = {
    R("POST", "/v1/bookings", RZ_ACCESS_TENANT, h_create, "book a stay"),
    R("GET", "/v1/bookings", RZ_ACCESS_USER, h_list, "the caller's bookings"),
    R("GET", "/v1/bookings/{id}", RZ_ACCESS_USER, h_get, "a booking (its parties only)"),
    R("POST", "/v1/bookings/{id}/accept", RZ_ACCESS_LANDLORD, h_accept, "accept a request"),
    R("POST", "/v1/bookings/{id}/decline", RZ_ACCESS_LANDLORD, h_decline, "decline a request"),
    R("POST", "/v1/bookings/{id}/cancel", RZ_ACCESS_USER, h_cancel, "cancel a booking"),
    R("GET", "/v1/properties/{id}/calendar.ics", RZ_ACCESS_PUBLIC, h_calendar,
      "booked and blocked dates as iCalendar"),
};

static int fail(const char *msg)
{
    bk_g.host->log(bk_g.self, RZ_LOG_ERROR, "%s", msg);
    return RZ_EINVAL;
}

static int configure(void)
{
    int64_t hold, request;
    if (H->config_int(bk_g.self, "hold_minutes", 15, &hold) ||
        H->config_int(bk_g.self, "request_hours", 24, &request))
        return RZ_EINVAL; /* the host logged file:line */
    if (hold < 1 || hold > 24 * 60)
        return fail("[plugin.booking] hold_minutes: expected 1 to 1440");
    if (request < 1 || request > 7 * 24)
        return fail("[plugin.booking] request_hours: expected 1 to 168");
    bk_g.hold_ms = hold * 60 * 1000;
    bk_g.request_ms = request * 3600 * 1000;
    return RZ_OK;
}

/* The bus may be missing from an older host's table: then the read model
 * and payments are not fed, which the log says once, loudly. */
static int subscribe(const char *topic, rz_bus_fn fn)
{
    if (!H->bus_subscribe) {
        H->log(bk_g.self, RZ_LOG_WARN, "this host has no event bus: %s is not consumed", topic);
        return RZ_OK;
    }
    return H->bus_subscribe(bk_g.self, topic, "booking", RZ_BUS_SHARED, fn, NULL);
}

static int bk_init(rz_plugin_t *self, const rz_host_t *host, void **state)
{
    int rc;
    bk_g.host = host;
    rzu_init(host, self);
    bk_g.self = self;
    if (sodium_init() < 0)
        return fail("libsodium failed to initialise");
    if ((rc = configure()) != RZ_OK)
        return rc;
    if ((rc = host->migration(self, 1, "booking", bk_sql_001)) != RZ_OK ||
        (rc = host->migration(self, 2, "reasons_fast_create", bk_sql_002)) != RZ_OK)
        return rc;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        if ((rc = host->route(self, &routes[i])) != RZ_OK)
            return rc;
    if ((rc = host->job_register(self, "expire", job_expire, NULL)) != RZ_OK ||
        (rc = host->job_register(self, "complete", job_complete, NULL)) != RZ_OK)
        return rc;
    if ((rc = subscribe("property-events", on_property_event)) != RZ_OK ||
        (rc = subscribe("payment-events", on_payment_event)) != RZ_OK)
        return rc;
    *state = &bk_g;
    return host->openapi(self, bk_openapi);
}

/* start runs in every worker: re-read settings so SIGHUP changes apply. */
static int bk_start(rz_plugin_t *self, void *state)
{
    return configure();
}

static const char *const bk_requires[] = {"cap:db", "cap:jobs", "cap:bus", NULL};

RZ_PLUGIN_DEFINE(.name = "booking", .version = "1.0.0",
                 .description = "Stays without double booking, expiring holds, payments, "
                                "cancellations with refunds; publishes booking-events",
                 .requires = bk_requires, .init = bk_init, .start = bk_start)
