/*
 * A plugin built against the frozen ABI 1.0 header (tests/abi/v1.0), loaded
 * into today's host: the guarantee that an older plugin keeps working.
 */
#include <rentezy/plugin.h>

#if RZ_ABI_MINOR != 0
#error "this test must build against the frozen 1.0 header"
#endif

static const rz_host_t *H;

static void get_old(rz_req_t *req, void *u)
{
    (void)u;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "built_for", "1.0");
    cJSON_AddStringToObject(o, "id", H->req_param(req, "id"));
    H->reply_json(req, 200, o);
}

static int init(rz_plugin_t *self, const rz_host_t *host, void **state)
{
    (void)state;
    H = host;
    if (host->abi_major != 1 || host->size < sizeof(rz_host_t))
        return RZ_EINVAL;
    rz_route_t r = {.size = sizeof(r), .method = "GET", .path = "/v1/abi-old/{id}",
                    .handler = get_old};
    if (host->route(self, &r) != RZ_OK)
        return RZ_ERR;
    return host->openapi(self, "{\"/v1/abi-old/{id}\":{\"get\":{\"summary\":\"built for 1.0\","
                               "\"responses\":{\"200\":{\"description\":\"ok\"}}}}}");
}
RZ_PLUGIN_DEFINE(.name = "abi_v1_0", .version = "1.0.0", .init = init)
