/*
 * db.h — the asynchronous PostgreSQL service (plugin.h "database").
 *
 * Each worker owns a small pool of non-blocking libpq connections to the
 * primary and, optionally, one pool per read replica, all driven by the
 * worker's libevent loop.  A request (one statement, or a transaction of
 * several) runs on one connection at a time; when every connection is busy
 * it waits in a FIFO.  Every connection is in libpq pipeline mode, so a
 * statement seen for the first time on a connection is prepared and executed
 * in one round trip, and a transaction (BEGIN; stmts; COMMIT) is one round
 * trip too.
 *
 * Failure model — a callback is called exactly once for every request that
 * was accepted (the call returned 0), never for one that was refused:
 *   - the server rejects a statement        -> status RZ_ERR, sqlstate, message
 *   - the connection is lost mid-request    -> status RZ_EUNAVAIL
 *   - no connection came up / the pool died -> queued requests RZ_EUNAVAIL
 *   - the request outlived query_timeout    -> RZ_EUNAVAIL ("timed out")
 * A call made while the target pool is known to be down fails at once with
 * RZ_EUNAVAIL (and no callback), so a request never waits on a dead database.
 * Lost connections reconnect with exponential backoff (100 ms .. 5 s, with
 * jitter); the first retry after a drop is immediate.
 */
#ifndef RZ_DB_H
#define RZ_DB_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "rentezy/plugin.h"

struct event_base;
struct evbuffer;

/* Options of [database].  Strings are borrowed: they must outlive the
 * workers (they point into the rz_config_t, or into a test's statics). */
typedef struct rz_db_opts {
    const char *url;                /* primary; NULL = no database */
    const char *const *replicas;    /* NULL-terminated, may be NULL */
    int pool_size;                  /* connections per pool and worker (4) */
    int64_t connect_timeout_ms;     /* one connection attempt (5 s) */
    int64_t statement_timeout_ms;   /* server-side statement_timeout (30 s) */
    int64_t query_timeout_ms;       /* host-side bound on a whole request,
                                       queueing included (statement + 5 s) */
    int64_t slow_query_ms;          /* WARN line above this (200 ms) */
} rz_db_opts_t;

/* Master, before forking: read and validate [database] (url, replicas,
 * pool_size, connect_timeout, statement_timeout, query_timeout, slow_query).
 * 0, or -1 with one line in err naming file:line. */
int rz__db_configure(const rz_config_t *cfg, char *err, size_t errlen);
/* Same, from explicit options (tests).  The URLs are checked with
 * PQconninfoParse.  0 or -1 with err. */
int rz__db_configure_opts(const rz_db_opts_t *opts, char *err, size_t errlen);
/* 1 when [database] url is set. */
int rz__db_configured(void);
/* The configured options (never NULL; url NULL when unconfigured). */
const rz_db_opts_t *rz__db_opts(void);

/* Worker: open the pools on base.  Returns at once (connections come up
 * asynchronously; requests made meanwhile wait for them).  0, or -1 when no
 * database is configured or memory ran out. */
int rz__db_worker_start(struct event_base *base);
/* Worker: fail every queued and in-flight request with RZ_EUNAVAIL (their
 * callbacks run now), close the connections, free everything.  Later calls
 * to the service return RZ_ESTATE.  Safe to call when not started. */
void rz__db_worker_stop(void);

/* 1 when at least one primary connection is up (for /readyz). */
int rz__db_ready(void);
/* The same as an rz_ready_fn (http.h): 1, or 0 with *why set. */
int rz__db_ready_check(const char **why);
/* Number of requests queued or in flight in this worker (for draining). */
int rz__db_pending(void);

/* Append this worker's pool figures as Prometheus text. */
void rz__db_metrics(struct evbuffer *out, int worker);

/* ---- the service functions, exactly as plugin.h declares them ----------- */

/* self may be NULL for the host's own queries (jobs, schedules).
 * Returns 0 (cb will run once, later, never from inside this call),
 * RZ_EINVAL (NULL sql or cb, nparams out of 0..65535, params NULL with
 * nparams > 0), RZ_EUNAVAIL (pool down), RZ_ESTATE (no pool in this
 * process), or RZ_ENOMEM.  sql and params are copied: the caller's memory
 * may go away once the call returns. */
int rz__svc_db_query(rz_plugin_t *self, unsigned flags, const char *sql, int nparams,
                     const char *const *params, rz_db_cb cb, void *udata);
/* Runs BEGIN; stmts[0..n-1]; COMMIT as one pipelined round trip.  The
 * callback sees the last statement's result, or the first error (in which
 * case nothing of the transaction was kept).  n must be 1..1000. */
int rz__svc_db_tx(rz_plugin_t *self, const rz_stmt_t *stmts, int n, rz_db_cb cb, void *udata);

/* Result accessors; every one accepts NULL and out-of-range indexes
 * (returning NULL, 0 or -1) rather than crashing. */
int rz__svc_dbres_status(rz_dbres_t *res);
const char *rz__svc_dbres_sqlstate(rz_dbres_t *res);
const char *rz__svc_dbres_message(rz_dbres_t *res);
const char *rz__svc_dbres_constraint(rz_dbres_t *res);
int rz__svc_dbres_rows(rz_dbres_t *res);
int rz__svc_dbres_cols(rz_dbres_t *res);
const char *rz__svc_dbres_colname(rz_dbres_t *res, int col);
const char *rz__svc_dbres_value(rz_dbres_t *res, int row, int col);
int rz__svc_dbres_isnull(rz_dbres_t *res, int row, int col);
int64_t rz__svc_dbres_affected(rz_dbres_t *res);

#endif
