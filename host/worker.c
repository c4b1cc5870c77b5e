/*
 * worker.c — one worker process: an event loop, the plugins started on it,
 * and a graceful drain on SIGTERM (stop accepting, finish in-flight requests
 * within shutdown_timeout, stop plugins, exit 0).
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <event2/event.h>

#include "db.h"
#include "host.h"
#include "http.h"
#include "jobs.h"
#include "loader.h"
#include "log.h"
#include "process.h"
#include "readiness.h"
#include "workpool.h"
#include "ws.h"
#include "bus.h"

static struct event_base *base;
static struct event *drain_ev;
static int64_t shutdown_ms = 10000;
static double drain_deadline;

#include "clock.h"

static void check_drained(evutil_socket_t fd, short what, void *arg)
{
    if ((rz__http_connections() == 0 && rz__ws_connections() == 0 &&
         rz__workpool_pending() == 0 && rz__bus_pending() == 0 &&
         (!rz__db_configured() || rz__jobs_busy() == 0)) ||
        rz__mono_sec() >= drain_deadline) {
        if (rz__http_connections() > 0)
            rz__log(RZ_LOG_WARN, "host", "shutdown_timeout reached with %zu connections open",
                    rz__http_connections());
        event_base_loopexit(base, NULL);
    }
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    if (drain_ev)
        return; /* already draining */
    rz__log(RZ_LOG_INFO, "host", "worker %d draining (signal %d)", rz__rt.worker_index, (int)sig);
    drain_deadline = rz__mono_sec() + (double)shutdown_ms / 1000.0;
    /* The master kills a worker whose drain overruns, but a worker whose
     * master died (PR_SET_PDEATHSIG) has nobody to do it, and a teardown can
     * block (a Kafka consumer leaving its group with every broker gone):
     * SIGALRM's default action ends it a few seconds past the timeout. */
    alarm((unsigned)(shutdown_ms / 1000) + 5);
    rz__http_drain();
    rz__ws_drain();
    rz__bus_worker_drain();
    if (rz__db_configured())
        rz__jobs_drain(); /* claim nothing more; running jobs finish and are recorded */
    rz__plugins_stop();
    struct timeval tv = {0, 20 * 1000};
    drain_ev = event_new(base, -1, EV_PERSIST, check_drained, NULL);
    if (!drain_ev || event_add(drain_ev, &tv) < 0)
        event_base_loopexit(base, NULL);
}

/* [host] work_threads: "auto" leaves one core to the event loops (cores - 1,
 * at least 1), so CPU-heavy work such as password hashing never starves the
 * loop of the same worker. */
static int work_threads(void)
{
    char err[256];
    const char *v = rz__config_get(rz__rt.cfg, "host", "work_threads", NULL);
    int64_t n;
    if (!v || !*v || strcmp(v, "auto") == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        return cores > 2 ? (int)(cores - 1) : 1;
    }
    if (rz__config_int(rz__rt.cfg, "host", "work_threads", 1, &n, err, sizeof(err)) < 0 || n < 1 ||
        n > 16)
        return 1; /* validated by configure(); not reached */
    return (int)n;
}

void rz__worker_run(int index)
{
    char err[512];
    rz__rt.worker_index = index;
    rz__log_reset_pid();
    /* a worker never outlives its master */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (rz__config_duration_ms(rz__rt.cfg, "host", "shutdown_timeout", 10000, &shutdown_ms, err,
                               sizeof(err)) < 0)
        shutdown_ms = 10000;

    base = event_base_new();
    if (!base) {
        rz__log(RZ_LOG_ERROR, "host", "worker %d: cannot create an event loop", index);
        _exit(1);
    }
    rz__rt.base = base;
    struct event *sigterm = evsignal_new(base, SIGTERM, on_signal, NULL);
    struct event *sigint = evsignal_new(base, SIGINT, on_signal, NULL);
    if (!sigterm || !sigint || event_add(sigterm, NULL) < 0 || event_add(sigint, NULL) < 0) {
        rz__log(RZ_LOG_ERROR, "host", "worker %d: cannot watch signals", index);
        _exit(1);
    }
    if (rz__workpool_start(base, work_threads()) < 0) {
        rz__log(RZ_LOG_ERROR, "host", "worker %d: cannot start the thread pool", index);
        _exit(1);
    }
    if (rz__db_configured()) {
        if (rz__db_worker_start(base) < 0 || rz__jobs_worker_start(base) < 0) {
            rz__log(RZ_LOG_ERROR, "host", "worker %d: cannot start the database service", index);
            _exit(1);
        }
        rz__http_add_readiness(rz__db_ready_check);
        rz__http_add_metrics(rz__db_metrics);
        rz__http_add_metrics(rz__jobs_metrics);
        rz__http_add_readiness(rz__bus_ready_check);
        rz__http_add_metrics(rz__bus_metrics);
    }
    rz__readiness_worker_start(); /* this index's plugins start out ready */
    if (rz__plugins_start(err, sizeof(err)) < 0) {
        rz__log(RZ_LOG_ERROR, "host", "worker %d: %s", index, err);
        _exit(1);
    }
    if (rz__db_configured() && rz__bus_worker_start(base) < 0) {
        rz__log(RZ_LOG_ERROR, "host", "worker %d: cannot start the event bus", index);
        _exit(1);
    }
    if (rz__ws_worker_start(base) < 0) {
        rz__log(RZ_LOG_ERROR, "host", "worker %d: cannot start the WebSocket service", index);
        _exit(1);
    }
    if (rz__http_start(base, err, sizeof(err)) < 0) {
        rz__log(RZ_LOG_ERROR, "host", "worker %d: %s", index, err);
        _exit(1);
    }
    rz__log(RZ_LOG_DEBUG, "host", "worker %d serving", index);
    event_base_dispatch(base);

    rz__ws_worker_stop();
    rz__http_close_all();
    if (rz__db_configured()) {
        rz__bus_worker_stop();
        rz__jobs_worker_stop();
        rz__db_worker_stop();
    }
    rz__workpool_stop();
    rz__plugins_destroy();
    if (drain_ev)
        event_free(drain_ev);
    event_free(sigterm);
    event_free(sigint);
    event_base_free(base);
    rz__log(RZ_LOG_DEBUG, "host", "worker %d exits", index);
    rz__log_flush();
    exit(0);
}
