/*
 * bus_bench — publish-to-handler latency and sustained throughput of the
 * event bus, for bench/40_bus.sh.
 *
 *   bus_bench PGURL embedded|kafka [BROKERS]
 *
 * One process: the bus worker (for kafka also the relay) on its own event
 * loop, a handler that only measures; a child publishes with plain libpq.
 *   throughput: 50,000 events in transactions of 500 from 2 publishers on
 *               different subjects, as fast as possible;
 *               rate = events / (last delivery - first publish).  The
 *               publisher's own rate is reported beside it (publish_per_s):
 *               the bus cannot deliver faster than events are published.
 *   drain:      50,000 events published while the loop is held (nothing
 *               relayed or consumed), then delivered: the bus's own rate,
 *               whatever the publisher's speed.
 *   latency:    20 rounds/s of 50 events (1,000 events/s) for 5 s;
 *               latency = handler time - event time (the publishing
 *               transaction's clock_timestamp), p50 and p99
 * Prints one JSON object.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "bus.h"
#include "bus_int.h"
#include "clock.h"
#include "config.h"
#include "db.h"
#include "host.h"
#include "idempotency.h"
#include "migrate.h"

#define THROUGHPUT_EVENTS 50000
#define LAT_EVENTS 5000
#define PUBLISHERS 2

static rz_plugin_desc_t desc = {.magic = RZ_PLUGIN_MAGIC, .name = "bench"};
static rz_plugin_t plug = {.desc = &desc};
static char topic[64];
static const char *url;
static long seen, want;
static double *lat;
static long nlat;
static int measuring;
static double last_at;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec * 1000.0 + tv.tv_usec / 1000.0;
}

static void handler(rz_event_t *ev, void *u)
{
    seen++;
    last_at = now_s();
    if (measuring && nlat < LAT_EVENTS)
        lat[nlat++] = wall_ms() - (double)rz__svc_event_time_ms(ev);
    rz__svc_bus_done(ev, RZ_BUS_OK, NULL);
}

static void tick(evutil_socket_t fd, short w, void *a) {}

static int run_until(struct event_base *base, long n, double secs)
{
    struct event *ev = event_new(base, -1, EV_PERSIST, tick, NULL);
    struct timeval tv = {0, 20000};
    event_add(ev, &tv);
    double end = now_s() + secs;
    while (seen < n && now_s() < end)
        event_base_loop(base, EVLOOP_ONCE);
    event_free(ev);
    return seen >= n;
}

static int took_fd[2]; /* the publisher child writes its duration here */

/* Child: publish `rounds` transactions of `per` events, `gap_us` apart,
 * on subjects "<prefix>0".."<prefix>63" (publishers running together use
 * different prefixes: two publishers of one subject serialise, and the
 * later xid would be refused with 40001). */
static pid_t publisher(int rounds, int per, int gap_us, int start, char prefix)
{
    pid_t pid = fork();
    if (pid)
        return pid;
    double t0 = now_s();
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) != CONNECTION_OK)
        _exit(2);
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT count(rentezy.publish('%s', 'bench.tick', 'bench', '%c' || (g %% 64), g, "
             "'{\"k\": 1}')) FROM generate_series($1::int, $1::int + %d) g",
             topic, prefix, per - 1);
    for (int r = 0; r < rounds; r++) {
        char from[16];
        snprintf(from, sizeof(from), "%d", start + r * per);
        const char *p[] = {from};
        PQclear(PQexecParams(c, sql, 1, NULL, p, NULL, NULL, 0));
        if (gap_us)
            usleep((useconds_t)gap_us);
    }
    PQfinish(c);
    double took = now_s() - t0;
    if (write(took_fd[1], &took, sizeof(took)) != sizeof(took))
        _exit(3);
    _exit(0);
}

/* PUBLISHERS children publish `events` together in transactions of 500
 * (the rate of one PostgreSQL connection is below the targets on a busy
 * machine; the bus is what is measured). */
static void publish_all(pid_t *pids, int events, int start)
{
    for (int i = 0; i < PUBLISHERS; i++)
        pids[i] = publisher(events / 500 / PUBLISHERS, 500, 0, start, (char)('a' + i));
}

/* Wait for n publishers; the longest duration they reported. */
static double publish_wait(pid_t *pids, int n)
{
    double took = -1, t;
    for (int i = 0; i < n; i++) {
        waitpid(pids[i], NULL, 0);
        if (read(took_fd[0], &t, sizeof(t)) == sizeof(t) && t > took)
            took = t;
    }
    return took;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    char err[512], buf[1024];
    if (argc < 3) {
        fprintf(stderr, "usage: bus_bench PGURL embedded|kafka [BROKERS]\n");
        return 2;
    }
    url = argv[1];
    if (pipe(took_fd) != 0)
        return perror("pipe"), 1;
    int kafka = strcmp(argv[2], "kafka") == 0;
    snprintf(topic, sizeof(topic), "bench%d-events", (int)getpid());
    rz__clock_init();
    rz_db_opts_t o = {.url = url, .pool_size = 4, .connect_timeout_ms = 5000,
                      .statement_timeout_ms = 30000, .query_timeout_ms = 60000,
                      .slow_query_ms = 5000};
    if (rz__db_configure_opts(&o, err, sizeof(err)) != 0)
        return fprintf(stderr, "%s\n", err), 1;
    rz_config_t *cfg = rz__config_new();
    snprintf(buf, sizeof(buf),
             "[bus]\nbackend = %s\n%s%s\nbatch = 1000\nrelay_batch = 5000\n"
             "[bus.kafka]\nsession.timeout.ms = 6000\nlinger.ms = 2\nlog_level = 2\n",
             argv[2], kafka ? "brokers = " : "", kafka && argc > 3 ? argv[3] : "");
    if (rz__config_parse_buffer(cfg, "bench.conf", buf, strlen(buf), err, sizeof(err)) != 0 ||
        rz__idem_configure(cfg, err, sizeof(err)) != 0 ||
        rz__bus_configure(cfg, err, sizeof(err)) != 0 ||
        rz__migrate_apply(NULL, err, sizeof(err)) != 0)
        return fprintf(stderr, "%s\n", err), 1;
    rz__rt.in_init = 1;
    rz__svc_bus_subscribe(&plug, topic, "bench", RZ_BUS_SHARED, handler, NULL);
    rz__rt.in_init = 0;
    struct event_base *base = event_base_new();
    rz__rt.base = base;
    if (rz__db_worker_start(base) != 0 || rz__bus_worker_start(base) != 0)
        return fprintf(stderr, "cannot start\n"), 1;
    /* warm up: the first delivery (and, with kafka, the group join) */
    pid_t p = publisher(1, 10, 0, 0, 'w'), pubs[PUBLISHERS];
    want = 10;
    if (!run_until(base, want, 30))
        return fprintf(stderr, "warm-up: nothing delivered\n"), 1;
    publish_wait(&p, 1);

    /* throughput while publishing */
    double t0 = now_s();
    publish_all(pubs, THROUGHPUT_EVENTS, 100);
    want += THROUGHPUT_EVENTS;
    int ok = run_until(base, want, 120);
    double took = last_at - t0;
    double pub_took = publish_wait(pubs, PUBLISHERS);

    /* drain a backlog: the loop does not run while the children publish */
    publish_all(pubs, THROUGHPUT_EVENTS, 200000);
    publish_wait(pubs, PUBLISHERS);
    t0 = now_s();
    want += THROUGHPUT_EVENTS;
    ok &= run_until(base, want, 120);
    double drain_took = last_at - t0;

    /* latency at a steady 1,000 events/s */
    lat = calloc(LAT_EVENTS, sizeof(*lat));
    measuring = 1;
    p = publisher(LAT_EVENTS / 50, 50, 50000, 1000000, 'l');
    want += LAT_EVENTS;
    ok &= run_until(base, want, 60);
    publish_wait(&p, 1);
    qsort(lat, (size_t)nlat, sizeof(*lat), cmp);
    double p50 = nlat ? lat[nlat / 2] : -1, p99 = nlat ? lat[(nlat * 99) / 100] : -1;
    printf("{\"backend\":\"%s\",\"events\":%d,\"seconds\":%.2f,\"events_per_s\":%.0f,"
           "\"publish_per_s\":%.0f,\"drain_per_s\":%.0f,"
           "\"latency_events\":%ld,\"p50_ms\":%.2f,\"p99_ms\":%.2f,\"complete\":%s}\n",
           argv[2], THROUGHPUT_EVENTS, took, THROUGHPUT_EVENTS / took,
           pub_took > 0 ? THROUGHPUT_EVENTS / pub_took : -1,
           drain_took > 0 ? THROUGHPUT_EVENTS / drain_took : -1, nlat, p50, p99,
           ok ? "true" : "false");
    fflush(stdout);
    rz__bus_worker_stop();
    rz__db_worker_stop();
    event_base_free(base);
    PGconn *c = PQconnectdb(url);
    snprintf(buf, sizeof(buf),
             "DELETE FROM rentezy.outbox WHERE topic = '%s'; DELETE FROM rentezy.outbox_heads "
             "WHERE topic = '%s'; DELETE FROM rentezy.bus_positions WHERE topic = '%s'; "
             "DELETE FROM rentezy.bus_members WHERE grp LIKE 'kafka/%%' AND member LIKE '%s/%%'",
             topic, topic, topic, topic);
    PQclear(PQexec(c, buf));
    PQfinish(c);
    free(lat);
    rz__config_free(cfg);
    return ok ? 0 : 1;
}
