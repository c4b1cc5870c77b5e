/*
 * authz_probe — a test plugin for the gateway: one route per access level
 * that echoes the caller, a public route for rate limits, and a slow POST
 * for Idempotency-Key.  Needs no database.
 *
 *   GET  /v1/_probe/public     public      {"user":..,"role":..}
 *   GET  /v1/_probe/user       any user
 *   GET  /v1/_probe/tenant     tenant
 *   GET  /v1/_probe/landlord   landlord
 *   GET  /v1/_probe/admin      admin
 *   POST /v1/_probe/orders     any user; ?delay_ms=N sleeps N ms on the
 *                              thread pool; answers 201 {"n": <how many
 *                              times this worker ran it>, "body": <body>}
 */
#include <rentezy/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const rz_host_t *H;
static rz_plugin_t *self_;
static int runs;

static void who(rz_req_t *req, void *u)
{
    cJSON *o = cJSON_CreateObject();
    const char *user = H->req_user(req), *role = H->req_role(req);
    if (user)
        cJSON_AddStringToObject(o, "user", user);
    else
        cJSON_AddNullToObject(o, "user");
    if (role)
        cJSON_AddStringToObject(o, "role", role);
    else
        cJSON_AddNullToObject(o, "role");
    H->reply_json(req, 200, o);
}

typedef struct order {
    rz_req_t *req;
    long delay_ms;
} order_t;

static void order_sleep(void *u)
{
    order_t *o = u;
    usleep((useconds_t)o->delay_ms * 1000);
}

static void order_reply(void *u)
{
    order_t *o = u;
    size_t len;
    const char *body = H->req_body(o->req, &len);
    cJSON *out = cJSON_CreateObject();
    cJSON_AddNumberToObject(out, "n", ++runs);
    cJSON *b = cJSON_AddStringToObject(out, "body", "");
    if (b) {
        char *copy = H->req_alloc(o->req, len + 1);
        memcpy(copy, body, len);
        copy[len] = '\0';
        cJSON_SetValuestring(b, copy);
    }
    H->resp_header(o->req, "Location", "/v1/_probe/orders/1");
    H->reply_json(o->req, 201, out);
}

static void post_order(rz_req_t *req, void *u)
{
    order_t *o = H->req_alloc(req, sizeof(*o));
    const char *d = H->req_query(req, "delay_ms");
    o->req = req;
    o->delay_ms = d ? atol(d) : 0;
    if (o->delay_ms < 0 || o->delay_ms > 10000)
        o->delay_ms = 0;
    if (H->work(self_, order_sleep, order_reply, o) != RZ_OK)
        H->reply_error(req, 503, "unavailable", NULL, "no thread pool");
}

static const char openapi[] =
    "{\"/v1/_probe/public\":{\"get\":{\"summary\":\"probe\",\"responses\":{\"200\":{\"description\":\"ok\"}}}},"
    "\"/v1/_probe/user\":{\"get\":{\"summary\":\"probe\",\"responses\":{\"200\":{\"description\":\"ok\"}}}},"
    "\"/v1/_probe/tenant\":{\"get\":{\"summary\":\"probe\",\"responses\":{\"200\":{\"description\":\"ok\"}}}},"
    "\"/v1/_probe/landlord\":{\"get\":{\"summary\":\"probe\",\"responses\":{\"200\":{\"description\":\"ok\"}}}},"
    "\"/v1/_probe/admin\":{\"get\":{\"summary\":\"probe\",\"responses\":{\"200\":{\"description\":\"ok\"}}}},"
    "\"/v1/_probe/orders\":{\"post\":{\"summary\":\"probe\",\"responses\":{\"201\":{\"description\":\"ok\"}}}}}";

static int probe_init(rz_plugin_t *self, const rz_host_t *host, void **state)
{
    H = host;
    self_ = self;
    static const struct { const char *m, *p; int a; rz_handler_fn fn; } r[] = {
        {"GET", "/v1/_probe/public", RZ_ACCESS_PUBLIC, who},
        {"GET", "/v1/_probe/user", RZ_ACCESS_USER, who},
        {"GET", "/v1/_probe/tenant", RZ_ACCESS_TENANT, who},
        {"GET", "/v1/_probe/landlord", RZ_ACCESS_LANDLORD, who},
        {"GET", "/v1/_probe/admin", RZ_ACCESS_ADMIN, who},
        {"POST", "/v1/_probe/orders", RZ_ACCESS_USER, post_order},
    };
    for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
        rz_route_t rt = {.size = sizeof(rz_route_t), .method = r[i].m, .path = r[i].p,
                         .access = r[i].a, .handler = r[i].fn};
        if (host->route(self, &rt) != RZ_OK)
            return RZ_ERR;
    }
    return host->openapi(self, openapi);
}

RZ_PLUGIN_DEFINE(.name = "authz_probe", .version = "1.0.0",
                 .description = "test plugin: access levels, rate limits, idempotency",
                 .init = probe_init)
