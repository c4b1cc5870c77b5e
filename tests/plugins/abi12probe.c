/*
 * abi12probe — exercises every ABI 1.2 service over HTTP for
 * tests/process/13_abi12.sh: timers (repeating, one-shot, stopped from
 * their own callback, stopped from a request), plugin metrics, readiness,
 * the interface test.greeter provided by abi12provider, and per-route body
 * limits.  Each worker keeps its own state; replies carry the pid so the
 * test can tell workers apart.
 */
#include <rentezy/plugin.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "abi12_greeter.h"

static const rz_host_t *H;
static rz_plugin_t *SELF;

/* what the services answered at init and start (reported by GET /v1/abi12/state) */
static struct {
    int timer_in_init_null, gauge_in_init_rc, lookup_in_init_null, dup_provide_rc,
        bad_iface_name_rc;
    int provide_in_start_rc, absent_lookup_null, bad_timer_null, bad_gauge_name_rc,
        negative_counter_rc, type_clash_rc, answer_rc;
} chk;

static const test_greeter_t *greeter;
static rz_timer_t *tick_timer;
static long ticks, oneshot_fired, selfstop_fired;
static int tick_running;

/* Requests waiting on a one-shot timer; answered with 503 if the worker stops. */
#define MAX_WAIT 64
typedef struct wait {
    rz_req_t *req;
    rz_timer_t *timer;
    long ticks_before;
    long at_stop;     /* -1 unless this is a tick/stop request */
} wait_t;
static wait_t waits[MAX_WAIT];

static void on_tick(void *u)
{
    (void)u;
    ticks++;
    H->counter_add(SELF, "ticks_total", "Ticks of the probe's repeating timer.", 1);
}

static void on_oneshot(void *u)
{
    (void)u;
    oneshot_fired++;
}

static rz_timer_t *selfstop_timer;
static void on_selfstop(void *u)
{
    (void)u;
    if (++selfstop_fired == 3) {
        H->timer_stop(selfstop_timer); /* inside its own callback */
        selfstop_timer = NULL;
    }
}

static cJSON *state_json(void)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "pid", (double)getpid());
    cJSON_AddNumberToObject(o, "ticks", (double)ticks);
    cJSON_AddNumberToObject(o, "oneshot", (double)oneshot_fired);
    cJSON_AddNumberToObject(o, "selfstop", (double)selfstop_fired);
    cJSON_AddBoolToObject(o, "tick_running", tick_running);
    cJSON *c = cJSON_AddObjectToObject(o, "checks");
#define CHK(name) cJSON_AddNumberToObject(c, #name, chk.name)
    CHK(timer_in_init_null);
    CHK(gauge_in_init_rc);
    CHK(lookup_in_init_null);
    CHK(dup_provide_rc);
    CHK(bad_iface_name_rc);
    CHK(provide_in_start_rc);
    CHK(absent_lookup_null);
    CHK(bad_timer_null);
    CHK(bad_gauge_name_rc);
    CHK(negative_counter_rc);
    CHK(type_clash_rc);
    CHK(answer_rc);
#undef CHK
    return o;
}

static void wait_done(void *u)
{
    wait_t *w = u;
    cJSON *o = state_json();
    cJSON_AddNumberToObject(o, "ticks_before", (double)w->ticks_before);
    if (w->at_stop >= 0)
        cJSON_AddNumberToObject(o, "at_stop", (double)w->at_stop);
    rz_req_t *req = w->req;
    memset(w, 0, sizeof(*w)); /* the one-shot timer is freed by the host after this */
    H->reply_json(req, 200, o);
}

/* Reply after ?wait_ms (0..5000) on a one-shot timer, or now. */
static void reply_later(rz_req_t *req, long at_stop)
{
    const char *q = H->req_query(req, "wait_ms");
    long ms = q ? strtol(q, NULL, 10) : 0;
    if (ms < 0 || ms > 5000) {
        H->reply_error(req, 400, "invalid", "wait_ms", "wait_ms must be 0..5000");
        return;
    }
    wait_t *w = NULL;
    for (int i = 0; i < MAX_WAIT && !w; i++)
        if (!waits[i].req)
            w = &waits[i];
    if (!w) {
        H->reply_error(req, 503, "busy", NULL, "too many waiting requests");
        return;
    }
    *w = (wait_t){.req = req, .ticks_before = ticks, .at_stop = at_stop};
    if (!(w->timer = H->timer_start(SELF, ms, 0, wait_done, w))) {
        w->req = NULL;
        H->reply_error(req, 503, "unavailable", NULL, "timer_start failed");
    }
}

static void get_state(rz_req_t *req, void *u)
{
    (void)u;
    reply_later(req, -1);
}

static void post_tick_stop(rz_req_t *req, void *u)
{
    (void)u;
    H->timer_stop(tick_timer);
    tick_timer = NULL;
    tick_running = 0;
    H->timer_stop(NULL); /* a no-op */
    reply_later(req, ticks);
}

static void post_metric(rz_req_t *req, void *u)
{
    (void)u;
    cJSON *j = H->req_json(req);
    if (!j)
        return;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(j, "type");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(j, "name");
    const cJSON *help = cJSON_GetObjectItemCaseSensitive(j, "help");
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(j, "value");
    if (!cJSON_IsString(type) || !cJSON_IsNumber(value) || (name && !cJSON_IsString(name) && !cJSON_IsNull(name))) {
        H->reply_error(req, 400, "invalid", NULL, "type (string) and value (number) are required");
        return;
    }
    const char *n = cJSON_IsString(name) ? name->valuestring : NULL;
    const char *h = cJSON_IsString(help) ? help->valuestring : NULL;
    int rc;
    if (strcmp(type->valuestring, "gauge") == 0)
        rc = H->gauge_set(SELF, n, h, value->valuedouble);
    else if (strcmp(type->valuestring, "counter") == 0)
        rc = H->counter_add(SELF, n, h, value->valuedouble);
    else {
        H->reply_error(req, 400, "invalid", "type", "type is gauge or counter");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "rc", rc);
    H->reply_json(req, rc == RZ_OK ? 200 : rc == RZ_ENOMEM ? 507 : 400, o);
}

static void set_ready(void *u)
{
    (void)u;
    H->ready_set(SELF, 1, NULL);
}

static void post_unready(rz_req_t *req, void *u)
{
    (void)u;
    cJSON *j = H->req_json(req);
    if (!j)
        return;
    const cJSON *reason = cJSON_GetObjectItemCaseSensitive(j, "reason");
    const cJSON *ms = cJSON_GetObjectItemCaseSensitive(j, "for_ms");
    if (!cJSON_IsString(reason) || !cJSON_IsNumber(ms) || ms->valuedouble < 0 ||
        ms->valuedouble > 60000) {
        H->reply_error(req, 400, "invalid", NULL, "reason (string) and for_ms (0..60000) are required");
        return;
    }
    H->ready_set(SELF, 0, reason->valuestring);
    if (!H->timer_start(SELF, (int64_t)ms->valuedouble, 0, set_ready, NULL)) {
        H->ready_set(SELF, 1, NULL);
        H->reply_error(req, 503, "unavailable", NULL, "timer_start failed");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "pid", (double)getpid());
    H->reply_json(req, 202, o);
}

static void get_iface(rz_req_t *req, void *u)
{
    (void)u;
    char buf[128];
    if (!greeter || greeter->size < sizeof(test_greeter_t) ||
        greeter->greet(H->req_query(req, "name"), buf, sizeof(buf)) != RZ_OK) {
        H->reply_error(req, 503, "unavailable", NULL, "no test.greeter");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "greeting", buf);
    H->reply_json(req, 200, o);
}

static void post_bytes(rz_req_t *req, void *u)
{
    size_t len = 0;
    H->req_body(req, &len);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "route", (const char *)u);
    cJSON_AddNumberToObject(o, "bytes", (double)len);
    H->reply_json(req, 200, o);
}

static const char openapi[] =
    "{\"/v1/abi12/state\":{\"get\":{\"summary\":\"probe state\",\"responses\":{\"200\":{\"description\":\"ok\"}}}},"
    "\"/v1/abi12/tick/stop\":{\"post\":{\"summary\":\"stop the tick timer\",\"responses\":{\"200\":{\"description\":\"ok\"}}}},"
    "\"/v1/abi12/metric\":{\"post\":{\"summary\":\"set a metric\",\"responses\":{\"200\":{\"description\":\"ok\"}}}},"
    "\"/v1/abi12/unready\":{\"post\":{\"summary\":\"not ready for a while\",\"responses\":{\"202\":{\"description\":\"ok\"}}}},"
    "\"/v1/abi12/iface\":{\"get\":{\"summary\":\"call test.greeter\",\"responses\":{\"200\":{\"description\":\"ok\"}}}},"
    "\"/v1/abi12/upload\":{\"post\":{\"summary\":\"large body\",\"responses\":{\"200\":{\"description\":\"ok\"}}}},"
    "\"/v1/abi12/small\":{\"post\":{\"summary\":\"default body limit\",\"responses\":{\"200\":{\"description\":\"ok\"}}}},"
    "\"/v1/abi12/tiny\":{\"post\":{\"summary\":\"16-byte body limit\",\"responses\":{\"200\":{\"description\":\"ok\"}}}}}";

static int init(rz_plugin_t *self, const rz_host_t *host, void **state)
{
    (void)state;
    H = host;
    SELF = self;
    if (host->abi_minor < 2 || host->size < sizeof(rz_host_t))
        return RZ_EINVAL;
    uint64_t upload_max;
    if (host->config_size(self, "upload_max", 8u << 20, &upload_max) != RZ_OK)
        return RZ_EINVAL;
    /* what must be refused in init */
    chk.timer_in_init_null = host->timer_start(self, 10, 0, on_oneshot, NULL) == NULL;
    chk.gauge_in_init_rc = host->gauge_set(self, "early", NULL, 1);
    chk.lookup_in_init_null = host->iface_lookup(self, TEST_GREETER_IFACE) == NULL;
    static const test_greeter_t mine = {.size = sizeof(test_greeter_t)};
    chk.dup_provide_rc = host->iface_provide(self, TEST_GREETER_IFACE, &mine);
    chk.bad_iface_name_rc = host->iface_provide(self, "Bad Name", &mine);

    struct { const char *m, *p; rz_handler_fn fn; void *udata; uint64_t max; } rs[] = {
        {"GET", "/v1/abi12/state", get_state, NULL, 0},
        {"POST", "/v1/abi12/tick/stop", post_tick_stop, NULL, 0},
        {"POST", "/v1/abi12/metric", post_metric, NULL, 0},
        {"POST", "/v1/abi12/unready", post_unready, NULL, 0},
        {"GET", "/v1/abi12/iface", get_iface, NULL, 0},
        {"POST", "/v1/abi12/upload", post_bytes, "upload", upload_max},
        {"POST", "/v1/abi12/small", post_bytes, "small", 0},
        {"POST", "/v1/abi12/tiny", post_bytes, "tiny", 16},
    };
    for (size_t i = 0; i < sizeof(rs) / sizeof(rs[0]); i++) {
        rz_route_t r = {.size = sizeof(r), .method = rs[i].m, .path = rs[i].p,
                        .handler = rs[i].fn, .udata = rs[i].udata, .max_body = rs[i].max};
        int rc = host->route(self, &r);
        if (rc != RZ_OK)
            return rc;
    }
    return host->openapi(self, openapi);
}

static int start(rz_plugin_t *self, void *state)
{
    (void)state;
    static const test_greeter_t mine = {.size = sizeof(test_greeter_t)};
    chk.provide_in_start_rc = H->iface_provide(self, "test.late", &mine);
    greeter = H->iface_lookup(self, TEST_GREETER_IFACE);
    chk.absent_lookup_null = H->iface_lookup(self, "test.absent") == NULL;
    chk.bad_timer_null = H->timer_start(self, -1, 0, on_oneshot, NULL) == NULL;
    chk.bad_gauge_name_rc = H->gauge_set(self, "Bad-Name", NULL, 1);
    chk.negative_counter_rc = H->counter_add(self, "neg_total", NULL, -1);
    chk.answer_rc = H->gauge_set(self, "answer", "The answer, per worker.", 42.5);
    chk.type_clash_rc = H->counter_add(self, "answer", NULL, 1);
    if (!(tick_timer = H->timer_start(self, 20, 50, on_tick, NULL)) ||
        !H->timer_start(self, 30, 0, on_oneshot, NULL) ||
        !(selfstop_timer = H->timer_start(self, 10, 20, on_selfstop, NULL)))
        return RZ_ERR;
    tick_running = 1;
    return RZ_OK;
}

static void stop(rz_plugin_t *self, void *state)
{
    (void)self;
    (void)state;
    /* the host frees our timers after this hook; answer who waits on them */
    for (int i = 0; i < MAX_WAIT; i++)
        if (waits[i].req) {
            rz_req_t *req = waits[i].req;
            H->timer_stop(waits[i].timer);
            waits[i].req = NULL;
            H->reply_error(req, 503, "unavailable", NULL, "shutting down");
        }
    tick_timer = NULL;
    selfstop_timer = NULL;
}

static const char *const requires_[] = {"abi12provider", NULL};
RZ_PLUGIN_DEFINE(.name = "abi12probe", .version = "1.0.0", .description = "ABI 1.2 probe",
                 .requires = requires_, .init = init, .start = start, .stop = stop)
