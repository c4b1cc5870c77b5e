/*
 * bustest — a test plugin for the event bus (issue 4), used by
 * tests/process/40_bus*.sh and bench/40_bus.sh.
 *
 * Requires cap:db and cap:bus.  Schema "bustest":
 *   deliveries(n bigserial, grp, event_id, type, subject, version, attempt,
 *              pid, lat_ms, at): one row per successful delivery
 *
 * [plugin.bustest] (defaults):
 *   topic = bus-test-events   the topic published to and consumed
 *   fail_prefix = bad         subjects starting with it: FAIL every time
 *   retry_prefix = flaky      subjects starting with it: RETRY twice, then OK
 *   record = true             false: count in memory only (benchmark)
 *
 * Subscriptions on the topic: group "bt_shared" (shared) and "bt_bcast"
 * (broadcast: every worker of every process).
 *
 * Routes (public):
 *   POST /v1/_test/bus/publish   {"type","subject","version","data"} -> 201
 *                                {"id"}; publishes through bus_publish
 *   GET  /v1/_test/bus/stats     {"shared","broadcast","pid"}: deliveries
 *                                handled by this worker (memory counters)
 */
#include <rentezy/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static const rz_host_t *H;
static rz_plugin_t *SELF;
static const char *topic = "bus-test-events", *fail_prefix = "bad", *retry_prefix = "flaky";
static int record = 1;
static long long n_shared, n_bcast;

static const char mig1[] =
    "CREATE TABLE deliveries (n bigserial PRIMARY KEY, grp text NOT NULL, event_id uuid NOT NULL,\n"
    "    type text NOT NULL, subject text NOT NULL, version bigint NOT NULL,\n"
    "    attempt int NOT NULL, pid int NOT NULL, lat_ms double precision,\n"
    "    at timestamptz NOT NULL DEFAULT clock_timestamp());\n";

/* ---- publishing ----------------------------------------------------------- */

static void on_published(rz_dbres_t *res, void *u)
{
    rz_req_t *req = u;
    if (H->dbres_status(res) != RZ_OK) {
        H->reply_error(req, H->dbres_status(res) == RZ_EUNAVAIL ? 503 : 400, "publish_failed",
                       NULL, "%s", H->dbres_message(res));
        return;
    }
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "id", H->dbres_value(res, 0, 0));
    H->reply_json(req, 201, out);
}

static void publish(rz_req_t *req, void *u)
{
    cJSON *b = H->req_json(req);
    if (!b)
        return;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(b, "type");
    const cJSON *subj = cJSON_GetObjectItemCaseSensitive(b, "subject");
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(b, "version");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(b, "data");
    if (!cJSON_IsString(type) || !cJSON_IsString(subj)) {
        H->reply_error(req, 400, "invalid", NULL, "type and subject are required strings");
        return;
    }
    char *text = data ? cJSON_PrintUnformatted(data) : NULL;
    int rc = H->bus_publish(SELF, topic, type->valuestring, subj->valuestring,
                            cJSON_IsNumber(ver) ? (int64_t)ver->valuedouble : 0,
                            text ? text : "{}", on_published, req);
    free(text);
    if (rc != RZ_OK)
        H->reply_error(req, rc == RZ_EINVAL ? 400 : 503, "publish_refused", NULL,
                       "bus_publish: %d", rc);
}

static void stats(rz_req_t *req, void *u)
{
    cJSON *out = cJSON_CreateObject();
    cJSON_AddNumberToObject(out, "shared", (double)n_shared);
    cJSON_AddNumberToObject(out, "broadcast", (double)n_bcast);
    cJSON_AddNumberToObject(out, "pid", getpid());
    H->reply_json(req, 200, out);
}

/* ---- consuming ------------------------------------------------------------ */

static int has_prefix(const char *s, const char *p) { return *p && strncmp(s, p, strlen(p)) == 0; }

static void on_recorded(rz_dbres_t *res, void *u)
{
    rz_event_t *ev = u;
    H->bus_done(ev, H->dbres_status(res) == RZ_OK ? RZ_BUS_OK : RZ_BUS_RETRY,
                H->dbres_message(res));
}

static void handle(rz_event_t *ev, void *u)
{
    const char *grp = u, *subject = H->event_subject(ev);
    if (has_prefix(subject, fail_prefix)) {
        H->bus_done(ev, RZ_BUS_FAIL, "bustest refuses subjects starting with fail_prefix");
        return;
    }
    if (has_prefix(subject, retry_prefix) && H->event_attempt(ev) < 3) {
        H->bus_done(ev, RZ_BUS_RETRY, "flaky: try again");
        return;
    }
    if (strcmp(grp, "bt_shared") == 0)
        n_shared++;
    else
        n_bcast++;
    if (!record) {
        H->bus_done(ev, RZ_BUS_OK, NULL);
        return;
    }
    struct timeval tv;
    gettimeofday(&tv, NULL);
    char ver[24], att[16], pid[16], lat[32];
    snprintf(ver, sizeof(ver), "%lld", (long long)H->event_version(ev));
    snprintf(att, sizeof(att), "%d", H->event_attempt(ev));
    snprintf(pid, sizeof(pid), "%d", (int)getpid());
    snprintf(lat, sizeof(lat), "%.3f",
             (double)tv.tv_sec * 1000.0 + tv.tv_usec / 1000.0 - (double)H->event_time_ms(ev));
    const char *p[] = {grp, H->event_id(ev), H->event_type(ev), subject, ver, att, pid, lat};
    if (H->db_query(SELF, 0,
                    "INSERT INTO bustest.deliveries (grp, event_id, type, subject, version, "
                    "attempt, pid, lat_ms) VALUES ($1, $2::uuid, $3, $4, $5::bigint, $6::int, "
                    "$7::int, $8::float8)",
                    8, p, on_recorded, ev) != RZ_OK)
        H->bus_done(ev, RZ_BUS_RETRY, "database unavailable");
}

static const char openapi[] =
    "{\"/v1/_test/bus/publish\":{\"post\":{\"summary\":\"Publish a test event (test plugin)\","
    "\"tags\":[\"test\"],\"responses\":{\"201\":{\"description\":\"published\"}}}},"
    "\"/v1/_test/bus/stats\":{\"get\":{\"summary\":\"Deliveries seen by this worker (test "
    "plugin)\",\"tags\":[\"test\"],\"responses\":{\"200\":{\"description\":\"counters\"}}}}}";

static int init(rz_plugin_t *self, const rz_host_t *host, void **state)
{
    H = host;
    SELF = self;
    if (host->size < offsetof(rz_host_t, bus_done) + sizeof(void *))
        return RZ_ERR; /* a host without the bus */
    if (host->config_string(self, "topic", topic, &topic) != RZ_OK ||
        host->config_string(self, "fail_prefix", fail_prefix, &fail_prefix) != RZ_OK ||
        host->config_string(self, "retry_prefix", retry_prefix, &retry_prefix) != RZ_OK ||
        host->config_bool(self, "record", 1, &record) != RZ_OK)
        return RZ_ERR;
    static const rz_route_t pub = {.size = sizeof(rz_route_t), .method = "POST",
                                   .path = "/v1/_test/bus/publish", .handler = publish};
    static const rz_route_t st = {.size = sizeof(rz_route_t), .method = "GET",
                                  .path = "/v1/_test/bus/stats", .handler = stats};
    if (host->migration(self, 1, "deliveries", mig1) != RZ_OK ||
        host->route(self, &pub) != RZ_OK || host->route(self, &st) != RZ_OK ||
        host->bus_subscribe(self, topic, "bt_shared", RZ_BUS_SHARED, handle, "bt_shared") != RZ_OK ||
        host->bus_subscribe(self, topic, "bt_bcast", RZ_BUS_BROADCAST, handle, "bt_bcast") != RZ_OK)
        return RZ_ERR;
    return host->openapi(self, openapi);
}

static const char *const reqs[] = {"cap:db", "cap:bus", NULL};

RZ_PLUGIN_DEFINE(.name = "bustest", .version = "1.0.0",
                 .description = "Event bus test plugin: publish route, shared and broadcast "
                                "subscriptions recording deliveries",
                 .requires = reqs, .init = init)
