#include "metrics.h"

#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include <event2/buffer.h>

#include "host.h"
#include "pmetrics.h"
#include "readiness.h"
#include "router.h"
#include "version.h"

extern rz_router_t *rz__router;

static const int statuses[] = {100, 101, 200, 201, 202, 204, 301, 302, 304, 400, 401, 403,
                               404, 405, 406, 408, 409, 410, 411, 412, 413, 414, 415, 422,
                               428, 429, 431, 500, 501, 502, 503, 504, 505};
#define NSTATUS (sizeof(statuses) / sizeof(statuses[0]))
static const double buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                 0.1,    0.25,  0.5,    1,     2.5,  5,     10};
#define NBUCKET (sizeof(buckets) / sizeof(buckets[0]))

/* Per route (plus one for "unmatched"): counts per status (+1 other),
 * histogram buckets (+1 +Inf), sum of microseconds. */
typedef struct route_stats {
    uint64_t status[NSTATUS + 1];
    uint64_t bucket[NBUCKET + 1];
    uint64_t sum_us;
} route_stats_t;

typedef struct shared {
    int64_t worker_restarts;
    int64_t workers_running;
    int64_t inflight[RZ_METRICS_MAX_WORKERS];
    /* then RZ_METRICS_MAX_WORKERS slots of nroutes + 1 route_stats_t */
} shared_t;

static shared_t *shm;
static size_t nroutes_;

static route_stats_t *slot_route(int worker, int route)
{
    route_stats_t *base = (route_stats_t *)(shm + 1);
    return base + (size_t)worker * (nroutes_ + 1) + (size_t)(route + 1);
}

int rz__metrics_init(size_t nroutes)
{
    size_t len = sizeof(shared_t) + RZ_METRICS_MAX_WORKERS * (nroutes + 1) * sizeof(route_stats_t);
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return -1;
    shm = p;
    nroutes_ = nroutes;
    /* the plugins' figures and readiness (ABI 1.2) live in their own regions */
    if (rz__pmetrics_init() < 0 || rz__readiness_init() < 0)
        return -1;
    return 0;
}

static int worker_slot(void)
{
    int w = rz__rt.worker_index;
    return w >= 0 && w < RZ_METRICS_MAX_WORKERS ? w : 0;
}

static void add(uint64_t *p, uint64_t v) { __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }

void rz__metrics_request(int route, int status, double seconds)
{
    if (!shm || route < -1 || route >= (int)nroutes_)
        return;
    route_stats_t *rs = slot_route(worker_slot(), route);
    size_t si = NSTATUS;
    for (size_t i = 0; i < NSTATUS; i++)
        if (statuses[i] == status) {
            si = i;
            break;
        }
    add(&rs->status[si], 1);
    size_t bi = NBUCKET;
    for (size_t i = 0; i < NBUCKET; i++)
        if (seconds <= buckets[i]) {
            bi = i;
            break;
        }
    add(&rs->bucket[bi], 1);
    add(&rs->sum_us, (uint64_t)(seconds * 1e6));
}

void rz__metrics_inflight(int delta)
{
    if (shm)
        __atomic_fetch_add(&shm->inflight[worker_slot()], delta, __ATOMIC_RELAXED);
}

void rz__metrics_worker_restarted(void)
{
    if (shm)
        __atomic_fetch_add(&shm->worker_restarts, 1, __ATOMIC_RELAXED);
}

void rz__metrics_workers_running(int n)
{
    if (shm)
        __atomic_store_n(&shm->workers_running, n, __ATOMIC_RELAXED);
}

static uint64_t load(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }

void rz__metrics_render(struct evbuffer *out)
{
    if (!shm)
        return;
    int64_t inflight = 0;
    for (int w = 0; w < RZ_METRICS_MAX_WORKERS; w++)
        inflight += __atomic_load_n(&shm->inflight[w], __ATOMIC_RELAXED);
    evbuffer_add_printf(out,
                        "# HELP rentezy_build_info Build information.\n"
                        "# TYPE rentezy_build_info gauge\n"
                        "rentezy_build_info{version=\"%s\",abi=\"%d.%d\"} 1\n"
                        "# HELP rentezy_http_requests_in_flight Requests being handled.\n"
                        "# TYPE rentezy_http_requests_in_flight gauge\n"
                        "rentezy_http_requests_in_flight %lld\n"
                        "# HELP rentezy_worker_restarts_total Workers restarted after dying.\n"
                        "# TYPE rentezy_worker_restarts_total counter\n"
                        "rentezy_worker_restarts_total %lld\n"
                        "# HELP rentezy_workers Worker processes running.\n"
                        "# TYPE rentezy_workers gauge\n"
                        "rentezy_workers %lld\n",
                        RZ_VERSION, RZ_ABI_MAJOR, RZ_ABI_MINOR, (long long)inflight,
                        (long long)__atomic_load_n(&shm->worker_restarts, __ATOMIC_RELAXED),
                        (long long)__atomic_load_n(&shm->workers_running, __ATOMIC_RELAXED));

    evbuffer_add_printf(out, "# HELP rentezy_http_requests_total Requests by route and status.\n"
                             "# TYPE rentezy_http_requests_total counter\n");
    for (int r = -1; r < (int)nroutes_; r++) {
        const rz_route_entry_t *e = r >= 0 ? rz__router_at(rz__router, (size_t)r) : NULL;
        if (r >= 0 && !e)
            continue;
        for (size_t s = 0; s <= NSTATUS; s++) {
            uint64_t n = 0;
            for (int w = 0; w < RZ_METRICS_MAX_WORKERS; w++)
                n += load(&slot_route(w, r)->status[s]);
            if (n == 0)
                continue;
            char code[8];
            if (s < NSTATUS)
                snprintf(code, sizeof(code), "%d", statuses[s]);
            else
                memcpy(code, "other", 6);
            evbuffer_add_printf(out,
                                "rentezy_http_requests_total{method=\"%s\",route=\"%s\",status=\"%s\"} %llu\n",
                                e ? e->method : "", e ? e->pattern : "unmatched", code,
                                (unsigned long long)n);
        }
    }
    evbuffer_add_printf(out, "# HELP rentezy_http_request_duration_seconds Request latency.\n"
                             "# TYPE rentezy_http_request_duration_seconds histogram\n");
    for (int r = -1; r < (int)nroutes_; r++) {
        const rz_route_entry_t *e = r >= 0 ? rz__router_at(rz__router, (size_t)r) : NULL;
        uint64_t b[NBUCKET + 1] = {0}, sum = 0, count = 0;
        for (int w = 0; w < RZ_METRICS_MAX_WORKERS; w++) {
            route_stats_t *rs = slot_route(w, r);
            for (size_t i = 0; i <= NBUCKET; i++)
                b[i] += load(&rs->bucket[i]);
            sum += load(&rs->sum_us);
        }
        for (size_t i = 0; i <= NBUCKET; i++)
            count += b[i];
        if (count == 0)
            continue;
        const char *m = e ? e->method : "", *pat = e ? e->pattern : "unmatched";
        uint64_t cum = 0;
        for (size_t i = 0; i < NBUCKET; i++) {
            cum += b[i];
            evbuffer_add_printf(out,
                                "rentezy_http_request_duration_seconds_bucket{method=\"%s\",route=\"%s\",le=\"%g\"} %llu\n",
                                m, pat, buckets[i], (unsigned long long)cum);
        }
        evbuffer_add_printf(out,
                            "rentezy_http_request_duration_seconds_bucket{method=\"%s\",route=\"%s\",le=\"+Inf\"} %llu\n"
                            "rentezy_http_request_duration_seconds_sum{method=\"%s\",route=\"%s\"} %.6f\n"
                            "rentezy_http_request_duration_seconds_count{method=\"%s\",route=\"%s\"} %llu\n",
                            m, pat, (unsigned long long)count, m, pat, (double)sum / 1e6, m, pat,
                            (unsigned long long)count);
    }
    rz__pmetrics_render(out);
}
