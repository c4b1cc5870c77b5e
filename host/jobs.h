/*
 * jobs.h — durable jobs in PostgreSQL (rentezy.jobs), replacing Celery and
 * Beat.
 *
 * A job is a row: plugin, kind, JSON payload, run_at, attempts.  Each worker
 * claims due jobs of the kinds its plugins registered with
 *   UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED LIMIT n)
 * marking them 'running' with a lease (locked_by, locked_until) that the
 * worker renews while handlers run; a lease that runs out (the worker died)
 * makes the job claimable again.  Due-ness always compares with the host
 * clock (rz__now_ms, which tests move), never with SQL now().
 *
 *   handler -> job_done(DONE)         -> 'done' (deleted after keep_done)
 *   handler -> job_done(RETRY)        -> 'due' again at now + backoff, where
 *              backoff = min(backoff_max, backoff_base * 2^(attempt-1)) +-20%,
 *              or 'dead' (kept, with last_error) once attempts reach
 *              max_attempts.
 *   handler -> job_done(FAIL)         -> 'dead' at once, with last_error.
 * Delivery is at least once: handlers must be idempotent.
 *
 * Recurring schedules (rentezy.schedules) enqueue one job per occurrence,
 * deduplicated by a unique key (plugin/name@occurrence) so that any number of
 * workers and pods ticking at once, or catching up after downtime, enqueue
 * each occurrence exactly once.  Cron rules and time zones: cron.h.
 *
 * [jobs] poll_interval (1s), batch (32), lease (5m), max_attempts (5),
 * backoff_base (10s), backoff_max (1h), keep_done (1d).
 */
#ifndef RZ_JOBS_H
#define RZ_JOBS_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "rentezy/plugin.h"

struct event_base;
struct evbuffer;

typedef struct rz_jobs_opts {
    int64_t poll_interval_ms;
    int batch;               /* jobs in flight per worker, and per claim */
    int64_t lease_ms;
    int max_attempts;        /* for rows whose max_attempts is NULL */
    int64_t backoff_base_ms;
    int64_t backoff_max_ms;
    int64_t keep_done_ms;
} rz_jobs_opts_t;

/* Master: read [jobs] (rz__db_configure calls it).  0 or -1 with err. */
int rz__jobs_configure(const rz_config_t *cfg, char *err, size_t errlen);
int rz__jobs_configure_opts(const rz_jobs_opts_t *o, char *err, size_t errlen);
const rz_jobs_opts_t *rz__jobs_opts(void);

/* Worker, after rz__db_worker_start: start polling (when any kind or
 * schedule is registered).  0 or -1. */
int rz__jobs_worker_start(struct event_base *base);
/* Worker, before rz__db_worker_stop: stop claiming and free local state.
 * Handlers still running are abandoned: their leases run out and another
 * worker retries them; their job_done, if it still comes (typically from a
 * database callback failed by rz__db_worker_stop), only frees the job. */
void rz__jobs_worker_stop(void);
/* Poll now (after an enqueue, or when a test moved the clock). */
void rz__jobs_kick(void);
/* Handlers running in this worker. */
int rz__jobs_inflight(void);
/* Worker, when it starts draining: claim nothing more (no polls, no
 * schedule ticks); running handlers finish and their outcome is recorded. */
void rz__jobs_drain(void);
/* Claims, handlers and outcome UPDATEs still in flight: the worker must not
 * stop before this is 0, or the jobs stay leased to it until the lease ends
 * (and finished ones run again). */
int rz__jobs_busy(void);

/* Prometheus text: due, running, retried, dead, lag of the oldest due job
 * (database-wide figures, refreshed every 5 s), and this worker's counters. */
void rz__jobs_metrics(struct evbuffer *out, int worker);

/* `rentezyd jobs list [--dead] [--plugin NAME] [--limit N]` and
 * `rentezyd jobs retry ID`; argv[0] is "jobs".  Blocking.  Exit status. */
int rz__jobs_cli(int argc, char **argv);

/* Forget every registration (tests). */
void rz__jobs_reset(void);

/* ---- the service functions, exactly as plugin.h declares them ----------- */

/* init only.  kind is [a-z0-9_.-]{1,63}, unique per plugin. */
int rz__svc_job_register(rz_plugin_t *self, const char *kind, rz_job_fn fn, void *udata);
/* payload_json NULL means {}; run_at_ms <= 0 means now.  The kind must be one
 * self registered.  0 (cb, if any, runs later with the INSERT's result,
 * whose one row is the job id), or RZ_EINVAL / RZ_EUNAVAIL / RZ_ESTATE. */
int rz__svc_job_enqueue(rz_plugin_t *self, const char *kind, const char *payload_json,
                        int64_t run_at_ms, rz_db_cb cb, void *udata);
/* init only.  The kind must already be registered by self; tz NULL means
 * "UTC".  RZ_EINVAL for a bad name, cron, zone, or a cron that never fires. */
int rz__svc_job_schedule(rz_plugin_t *self, const char *name, const char *cron,
                         const char *tz, const char *kind);
const char *rz__svc_job_kind(rz_job_t *job);
const char *rz__svc_job_payload(rz_job_t *job);
int rz__svc_job_attempt(rz_job_t *job);
/* Exactly once per job; later calls are ignored (and logged). */
void rz__svc_job_done(rz_job_t *job, int result, const char *error);

#endif
