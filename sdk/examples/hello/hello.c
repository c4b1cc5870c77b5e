/*
 * hello — the smallest useful RentEzy plugin, and the example third-party
 * authors copy.  Builds out of tree with:
 *
 *     cc -shared -fPIC -fvisibility=hidden -Wl,--no-undefined \
 *        $(pkg-config --cflags rentezy-sdk) -o hello.so hello.c \
 *        $(pkg-config --libs rentezy-sdk)
 *
 * Configuration ([plugin.hello]): greeting = Hello (the word it says).
 */
#include <rentezy/plugin.h>

#include <stdio.h>
#include <string.h>

typedef struct hello {
    const rz_host_t *host; /* the service table; valid until destroy */
    rz_plugin_t *self;
    const char *greeting;  /* owned by the host's configuration */
} hello_t;

static hello_t g; /* one instance per process: the host loads a plugin once */

static void reply_greeting(rz_req_t *req, const char *name)
{
    const rz_host_t *h = g.host;
    if (strlen(name) > 64) {
        h->reply_error(req, 400, "too_long", "name", "name is at most 64 bytes");
        return;
    }
    cJSON *out = cJSON_CreateObject();
    char msg[128];
    snprintf(msg, sizeof(msg), "%s, %s!", g.greeting, name);
    if (!out || !cJSON_AddStringToObject(out, "message", msg)) {
        cJSON_Delete(out);
        h->reply_error(req, 500, "internal", NULL, "out of memory");
        return;
    }
    h->reply_json(req, 200, out);
    /* since ABI 1.2: shows in /metrics as rentezy_plugin_hello_greetings_total
     * {worker="N"}; a metric is never worth failing the request for */
    h->counter_add(g.self, "greetings_total", "Greetings said.", 1);
}

/* GET /v1/hello */
static void get_hello(rz_req_t *req, void *udata)
{
    (void)udata;
    reply_greeting(req, "world");
}

/* GET /v1/hello/{name} */
static void get_hello_name(rz_req_t *req, void *udata)
{
    (void)udata;
    reply_greeting(req, g.host->req_param(req, "name"));
}

/* POST /v1/hello {"name": "..."} */
static void post_hello(rz_req_t *req, void *udata)
{
    (void)udata;
    const rz_host_t *h = g.host;
    cJSON *body = h->req_json(req);
    if (!body)
        return; /* the host answered 400 */
    cJSON *name = cJSON_GetObjectItemCaseSensitive(body, "name");
    if (!cJSON_IsString(name) || name->valuestring[0] == '\0') {
        h->reply_error(req, 400, "invalid", "name", "name must be a non-empty string");
        return;
    }
    reply_greeting(req, name->valuestring);
}

static const char openapi[] =
    "{\"/v1/hello\":{"
    "\"get\":{\"summary\":\"Say hello\",\"tags\":[\"hello\"],"
    "\"responses\":{\"200\":{\"description\":\"a greeting\"}}},"
    "\"post\":{\"summary\":\"Say hello to a name in the body\",\"tags\":[\"hello\"],"
    "\"requestBody\":{\"required\":true,\"content\":{\"application/json\":{\"schema\":"
    "{\"type\":\"object\",\"required\":[\"name\"],\"properties\":{\"name\":{\"type\":\"string\"}}}}}},"
    "\"responses\":{\"200\":{\"description\":\"a greeting\"},\"400\":{\"description\":\"bad input\"}}}},"
    "\"/v1/hello/{name}\":{\"get\":{\"summary\":\"Say hello to someone\",\"tags\":[\"hello\"],"
    "\"parameters\":[{\"name\":\"name\",\"in\":\"path\",\"required\":true,\"schema\":{\"type\":\"string\"}}],"
    "\"responses\":{\"200\":{\"description\":\"a greeting\"}}}}}";

static int hello_init(rz_plugin_t *self, const rz_host_t *host, void **state)
{
    g.host = host;
    g.self = self;
    if (host->config_string(self, "greeting", "Hello", &g.greeting) != RZ_OK)
        return RZ_EINVAL;
    static const rz_route_t routes[] = {
        {.size = sizeof(rz_route_t), .method = "GET", .path = "/v1/hello", .handler = get_hello},
        {.size = sizeof(rz_route_t), .method = "POST", .path = "/v1/hello", .handler = post_hello},
        {.size = sizeof(rz_route_t), .method = "GET", .path = "/v1/hello/{name}",
         .handler = get_hello_name},
    };
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        if (host->route(self, &routes[i]) != RZ_OK)
            return RZ_ERR;
    *state = &g;
    return host->openapi(self, openapi);
}

/* start runs in every worker: re-read settings so SIGHUP changes apply. */
static int hello_start(rz_plugin_t *self, void *state)
{
    (void)state;
    return g.host->config_string(self, "greeting", "Hello", &g.greeting);
}

RZ_PLUGIN_DEFINE(.name = "hello", .version = "1.0.0",
                 .description = "Says hello: the example plugin of the SDK",
                 .init = hello_init, .start = hello_start)
