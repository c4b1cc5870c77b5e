/* Registers a route that the hello plugin already owns. */
#include <rentezy/plugin.h>

static void handler(rz_req_t *req, void *u) { (void)req, (void)u; }

static int init(rz_plugin_t *self, const rz_host_t *host, void **state)
{
    (void)state;
    rz_route_t r = {.size = sizeof(r), .method = "GET", .path = "/v1/hello", .handler = handler};
    host->route(self, &r);
    return 0; /* ignoring the error must not help: the host refuses anyway */
}
RZ_PLUGIN_DEFINE(.name = "dup_route", .version = "1.0.0", .init = init)
