/*
 * A plugin built against the frozen ABI 1.1 header (tests/abi/v1.1), loaded
 * into today's host: its smaller rz_route_t (no max_body) and its shorter
 * rz_host_t view must keep working, with the global body limit.
 */
#include <rentezy/plugin.h>

#if RZ_ABI_MINOR != 1
#error "this test must build against the frozen 1.1 header"
#endif

static const rz_host_t *H;

static void post_old(rz_req_t *req, void *u)
{
    (void)u;
    size_t len = 0;
    H->req_body(req, &len);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "built_for", "1.1");
    cJSON_AddStringToObject(o, "query", H->req_query_string(req)); /* a 1.1 entry */
    cJSON_AddNumberToObject(o, "bytes", (double)len);
    H->reply_json(req, 200, o);
}

static int init(rz_plugin_t *self, const rz_host_t *host, void **state)
{
    (void)state;
    H = host;
    if (host->abi_major != 1 || host->abi_minor < 1 || host->size < sizeof(rz_host_t))
        return RZ_EINVAL;
    rz_route_t r = {.size = sizeof(r), .method = "POST", .path = "/v1/abi-old11",
                    .handler = post_old, .summary = "built for 1.1"};
    if (host->route(self, &r) != RZ_OK)
        return RZ_ERR;
    return host->openapi(self, "{\"/v1/abi-old11\":{\"post\":{\"summary\":\"built for 1.1\","
                               "\"responses\":{\"200\":{\"description\":\"ok\"}}}}}");
}
RZ_PLUGIN_DEFINE(.name = "abi_v1_1", .version = "1.1.0", .init = init)
