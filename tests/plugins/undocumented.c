/* A route without OpenAPI documentation. */
#include <rentezy/plugin.h>

static void handler(rz_req_t *req, void *u) { (void)req, (void)u; }

static int init(rz_plugin_t *self, const rz_host_t *host, void **state)
{
    (void)state;
    rz_route_t r = {.size = sizeof(r), .method = "GET", .path = "/v1/undocumented",
                    .handler = handler};
    return host->route(self, &r);
}
RZ_PLUGIN_DEFINE(.name = "undocumented", .version = "1.0.0", .init = init)
