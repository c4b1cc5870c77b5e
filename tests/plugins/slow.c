/*
 * slow — a test plugin whose GET /v1/slow?ms=N answers after N milliseconds
 * of work on the host's thread pool; used to test draining on SIGTERM and
 * that the loop keeps serving while work runs.
 */
#include <rentezy/plugin.h>

#include <stdlib.h>
#include <time.h>

static const rz_host_t *H;

typedef struct job {
    rz_req_t *req;
    long ms;
} job_t;

static void work(void *u)
{
    job_t *j = u;
    struct timespec ts = {.tv_sec = j->ms / 1000, .tv_nsec = (j->ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void after(void *u)
{
    job_t *j = u;
    cJSON *out = cJSON_CreateObject();
    cJSON_AddNumberToObject(out, "slept_ms", (double)j->ms);
    H->reply_json(j->req, 200, out);
    free(j);
}

static void get_slow(rz_req_t *req, void *u)
{
    (void)u;
    const char *ms = H->req_query(req, "ms");
    long v = ms ? strtol(ms, NULL, 10) : 1000;
    if (v < 0 || v > 60000) {
        H->reply_error(req, 400, "invalid", "ms", "ms must be 0..60000");
        return;
    }
    job_t *j = malloc(sizeof(*j));
    if (!j) {
        H->reply_error(req, 503, "unavailable", NULL, "out of memory");
        return;
    }
    j->req = req;
    j->ms = v;
    if (H->work(NULL, work, after, j) != RZ_OK) {
        free(j);
        H->reply_error(req, 503, "unavailable", NULL, "no thread pool");
    }
}

static int init(rz_plugin_t *self, const rz_host_t *host, void **state)
{
    (void)state;
    H = host;
    rz_route_t r = {.size = sizeof(r), .method = "GET", .path = "/v1/slow", .handler = get_slow};
    if (host->route(self, &r) != RZ_OK)
        return RZ_ERR;
    return host->openapi(self, "{\"/v1/slow\":{\"get\":{\"summary\":\"answer after ms\","
                               "\"responses\":{\"200\":{\"description\":\"done\"}}}}}");
}
RZ_PLUGIN_DEFINE(.name = "slow", .version = "1.0.0", .init = init)
