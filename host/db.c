/*
 * db.c — the per-worker PostgreSQL pools (see db.h for the contract).
 *
 * Shape: W holds one pool for the primary and one per replica.  A pool has
 * pool_size connections and a FIFO of requests waiting for one.  A
 * connection is a small state machine:
 *
 *     WAIT --timer--> CONNECTING --PQconnectPoll OK--> IDLE <--> BUSY
 *       ^                 |                              |        |
 *       +---- backoff ----+------------ lost ------------+--------+
 *
 * Every connection stays in pipeline mode.  A request is sent as one batch
 * of pipeline items ([BEGIN] {[Prepare] Execute}... [COMMIT]) closed by one
 * Sync, so it costs one round trip whatever it contains; the Sync result
 * tells us the batch is over.  After a failed transaction (or a plugin that
 * sent a bare BEGIN) the session is left inside a transaction block, so a
 * ROLLBACK batch follows before the connection is reused.
 *
 * Prepared statements are cached per connection, keyed by SQL text (plugins
 * use constant SQL, so the set is small; past PREP_MAX entries statements
 * run unnamed rather than evicting, because deallocating costs a round
 * trip).
 */
#include "db.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/event_struct.h>

#include "db_int.h"
#include "host.h"
#include "jobs.h"
#include "log.h"

#define PREP_MAX 512
#define PREP_BUCKETS 128
#define TX_MAX 1000
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

/* ---- types --------------------------------------------------------------- */

typedef struct prep {
    struct prep *next;
    uint32_t hash;
    int ready; /* 0 while its Prepare is in flight in the current batch */
    char name[16];
    char sql[]; /* the key */
} prep_t;

enum item_kind { IT_BEGIN, IT_PREPARE, IT_EXEC, IT_COMMIT, IT_ROLLBACK };

typedef struct item {
    int kind;
    prep_t *prep; /* IT_PREPARE, IT_EXEC (NULL: unnamed) */
} item_t;

typedef struct dbreq dbreq_t;
typedef struct dbpool dbpool_t;

/* One request: a statement or a transaction.  One malloc block holds the
 * struct, the statement array, the parameter pointers and copies of every
 * string; freed by req_complete() after the callback returns. */
struct dbreq {
    TAILQ_ENTRY(dbreq) link; /* in pool->queue while waiting */
    dbpool_t *pool;
    struct dbconn *conn; /* while in flight */
    rz_plugin_t *plugin;
    int tx;
    int nstmts;
    rz_stmt_t *stmts;
    rz_db_cb cb;
    void *udata;
    double t0;          /* monotonic seconds at submission */
    struct event timer; /* query_timeout */
};

enum conn_state { C_WAIT, C_CONNECTING, C_IDLE, C_BUSY };

typedef struct dbconn {
    dbpool_t *pool;
    PGconn *pg;     /* owned; NULL in C_WAIT */
    int state;
    struct event io;
    int io_fd;      /* fd io is assigned to, -1 when unassigned */
    short io_what;
    struct event timer; /* connect timeout in CONNECTING, backoff in WAIT */
    int backoff_ms;
    dbreq_t *req;   /* in flight, or NULL */
    item_t *items;  /* the batch being answered, owned */
    int nitems, citems, cur;
    int cur_seen;   /* the current item has produced a result */
    int rolling_back;
    PGresult *last; /* last successful statement result, owned */
    PGresult *err;  /* first error, owned */
    prep_t *prep[PREP_BUCKETS]; /* owned */
    int nprep;
    unsigned prep_seq;
} dbconn_t;

#define NBUCKETS 14
static const double bucket_le[NBUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                           0.1,    0.25,  0.5,    1,     2.5,  5,    10};

struct dbpool {
    const char *url;   /* borrowed from opts */
    char label[24];    /* "primary", "replica1", ... */
    int replica;
    dbconn_t *conns;   /* owned, nconns */
    int nconns;
    TAILQ_HEAD(, dbreq) queue;
    int nqueue;
    int nup;           /* connections IDLE or BUSY */
    int down;          /* no connection and the last attempt failed */
    /* figures */
    uint64_t queries, err_server, err_unavail, err_timeout;
    uint64_t hist[NBUCKETS + 1];
    double sum;
};

static rz_db_opts_t opts = {.pool_size = 4,
                            .connect_timeout_ms = 5000,
                            .statement_timeout_ms = 30000,
                            .query_timeout_ms = 35000,
                            .slow_query_ms = 200};

static struct {
    struct event_base *base;
    dbpool_t *pools; /* owned; [0] primary, then replicas */
    int npools;
    unsigned rr;     /* replica round robin */
    int pending;     /* requests accepted, callback not yet run */
    int stopping;
    const struct timeval *qtimeout; /* libevent common timeout */
    struct event kick; /* sends queued requests on the next loop turn */
} W;

static void conn_connect(dbconn_t *c);
static void conn_attempt_failed(dbconn_t *c, const char *why);
static void conn_lost(dbconn_t *c, const char *why);
static void conn_on_io(evutil_socket_t fd, short what, void *arg);
static void pool_dispatch(dbpool_t *p);
static void req_complete(dbreq_t *r, struct rz_dbres *res);

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- configuration (master) ---------------------------------------------- */

static int check_url(const char *what, const char *url, char *err, size_t errlen)
{
    char *msg = NULL;
    PQconninfoOption *o = PQconninfoParse(url, &msg);
    if (!o) {
        /* Never echo the URL: it may carry a password. */
        snprintf(err, errlen, "[database] %s: not a valid PostgreSQL URL (%s)", what,
                 msg ? msg : "out of memory");
        if (msg)
            PQfreemem(msg);
        for (char *s = err; *s; s++)
            if (*s == '\n')
                *s = ' ';
        return -1;
    }
    PQconninfoFree(o);
    return 0;
}

int rz__db_configure_opts(const rz_db_opts_t *o, char *err, size_t errlen)
{
    if (o->pool_size < 1 || o->pool_size > 64) {
        snprintf(err, errlen, "[database] pool_size: expected 1..64, found %d", o->pool_size);
        return -1;
    }
    if (o->connect_timeout_ms < 1 || o->statement_timeout_ms < 0 || o->query_timeout_ms < 1 ||
        o->slow_query_ms < 0) {
        snprintf(err, errlen, "[database] timeouts must be positive");
        return -1;
    }
    if (o->url && check_url("url", o->url, err, errlen) != 0)
        return -1;
    for (size_t i = 0; o->replicas && o->replicas[i]; i++)
        if (check_url("replicas", o->replicas[i], err, errlen) != 0)
            return -1;
    if (o->replicas && o->replicas[0] && !o->url) {
        snprintf(err, errlen, "[database] replicas given without url");
        return -1;
    }
    opts = *o;
    return 0;
}

int rz__db_configure(const rz_config_t *cfg, char *err, size_t errlen)
{
    static const char *const known[] = {"url",          "url_file",          "replicas",
                                        "pool_size",    "connect_timeout",   "statement_timeout",
                                        "query_timeout", "slow_query",       NULL};
    rz_db_opts_t o = {0};
    int64_t pool;
    size_t n;
    if (rz__config_check_keys(cfg, "database", known, err, errlen) != 0 ||
        rz__config_string(cfg, "database", "url", NULL, &o.url, err, errlen) != 0 ||
        rz__config_list(cfg, "database", "replicas", &o.replicas, &n, err, errlen) != 0 ||
        rz__config_int(cfg, "database", "pool_size", 4, &pool, err, errlen) != 0 ||
        rz__config_duration_ms(cfg, "database", "connect_timeout", 5000, &o.connect_timeout_ms,
                               err, errlen) != 0 ||
        rz__config_duration_ms(cfg, "database", "statement_timeout", 30000,
                               &o.statement_timeout_ms, err, errlen) != 0 ||
        rz__config_duration_ms(cfg, "database", "query_timeout", o.statement_timeout_ms + 5000,
                               &o.query_timeout_ms, err, errlen) != 0 ||
        rz__config_duration_ms(cfg, "database", "slow_query", 200, &o.slow_query_ms, err,
                               errlen) != 0)
        return -1;
    if (o.url && !*o.url)
        o.url = NULL;
    if (n == 0)
        o.replicas = NULL;
    o.pool_size = pool < 1 || pool > 64 ? -1 : (int)pool;
    /* The jobs service lives on the database: its [jobs] section is checked
     * here too, so the master validates both before forking. */
    if (rz__db_configure_opts(&o, err, errlen) != 0 || rz__jobs_configure(cfg, err, errlen) != 0)
        return -1;
    return 0;
}

int rz__db_configured(void) { return opts.url != NULL; }
const rz_db_opts_t *rz__db_opts(void) { return &opts; }

/* ---- prepared statement cache -------------------------------------------- */

static uint32_t hash_str(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static prep_t *prep_find(dbconn_t *c, const char *sql, uint32_t h)
{
    for (prep_t *p = c->prep[h % PREP_BUCKETS]; p; p = p->next)
        if (p->hash == h && strcmp(p->sql, sql) == 0)
            return p;
    return NULL;
}

static prep_t *prep_add(dbconn_t *c, const char *sql, uint32_t h)
{
    size_t len = strlen(sql);
    prep_t *p = malloc(sizeof(*p) + len + 1);
    if (!p)
        return NULL;
    p->hash = h;
    p->ready = 0;
    snprintf(p->name, sizeof(p->name), "rz%u", ++c->prep_seq);
    memcpy(p->sql, sql, len + 1);
    p->next = c->prep[h % PREP_BUCKETS];
    c->prep[h % PREP_BUCKETS] = p;
    c->nprep++;
    return p;
}

/* Forget p on our side.  The server-side statement stays allocated until the
 * connection closes, which is harmless: its name is never reused. */
static void prep_remove(dbconn_t *c, prep_t *victim)
{
    for (prep_t **pp = &c->prep[victim->hash % PREP_BUCKETS]; *pp; pp = &(*pp)->next) {
        if (*pp == victim) {
            *pp = victim->next;
            free(victim);
            c->nprep--;
            return;
        }
    }
}

static void prep_clear(dbconn_t *c)
{
    for (int i = 0; i < PREP_BUCKETS; i++) {
        prep_t *p = c->prep[i];
        while (p) {
            prep_t *next = p->next;
            free(p);
            p = next;
        }
        c->prep[i] = NULL;
    }
    c->nprep = 0;
}

/* ---- connections ---------------------------------------------------------- */

/* Point c->io at the connection's socket for `what` (EV_READ always, plus
 * EV_WRITE while libpq has unsent bytes).  libpq may switch sockets while
 * connecting (several addresses), so the fd is re-read every time. */
static int conn_watch(dbconn_t *c, short what)
{
    int fd = c->pg ? PQsocket(c->pg) : -1;
    if (fd == c->io_fd && what == c->io_what)
        return 0;
    if (c->io_fd >= 0)
        event_del(&c->io);
    c->io_fd = -1;
    if (fd < 0)
        return -1;
    event_assign(&c->io, W.base, fd, what | EV_PERSIST, conn_on_io, c);
    if (event_add(&c->io, NULL) != 0)
        return -1;
    c->io_fd = fd;
    c->io_what = what;
    return 0;
}

static void conn_unwatch(dbconn_t *c)
{
    if (c->io_fd >= 0)
        event_del(&c->io);
    c->io_fd = -1;
    c->io_what = 0;
}

static void quiet_notices(void *arg, const char *msg) { (void)arg, (void)msg; }

static void pool_set_up(dbpool_t *p, int delta)
{
    int was = p->nup;
    p->nup += delta;
    if (was == 0 && p->nup > 0) {
        p->down = 0;
        rz__log(RZ_LOG_INFO, "db", "pool %s: connected", p->label);
    } else if (was > 0 && p->nup == 0) {
        rz__log(RZ_LOG_WARN, "db", "pool %s: no connection left, reconnecting", p->label);
    }
}

static void conn_schedule(dbconn_t *c, int delay_ms)
{
    struct timeval tv = {delay_ms / 1000, (delay_ms % 1000) * 1000};
    c->state = C_WAIT;
    evtimer_add(&c->timer, &tv);
}

static void conn_free_batch(dbconn_t *c)
{
    if (c->last)
        PQclear(c->last);
    if (c->err)
        PQclear(c->err);
    c->last = c->err = NULL;
    c->nitems = c->cur = c->cur_seen = 0;
    c->rolling_back = 0;
}

static void conn_ready(dbconn_t *c)
{
    evtimer_del(&c->timer);
    if (PQsetnonblocking(c->pg, 1) != 0 || PQenterPipelineMode(c->pg) != 1) {
        conn_attempt_failed(c, PQerrorMessage(c->pg));
        return;
    }
    PQsetNoticeProcessor(c->pg, quiet_notices, NULL);
    c->state = C_IDLE;
    c->backoff_ms = BACKOFF_MIN_MS;
    if (conn_watch(c, EV_READ) != 0) {
        conn_attempt_failed(c, "cannot watch the socket");
        return;
    }
    pool_set_up(c->pool, +1);
    pool_dispatch(c->pool);
}

/* A connection attempt failed (never was up). */
static void conn_attempt_failed(dbconn_t *c, const char *why)
{
    dbpool_t *p = c->pool;
    char msg[300];
    /* Format first: why may point into c->pg, freed below. */
    snprintf(msg, sizeof(msg), "database unavailable (%s): %s", p->label,
             why && *why ? why : "connection failed");
    for (char *s = msg; *s; s++)
        if (*s == '\n')
            *s = ' ';
    conn_unwatch(c);
    evtimer_del(&c->timer);
    if (c->pg)
        PQfinish(c->pg);
    c->pg = NULL;
    int jitter = c->backoff_ms / 5;
    int delay = c->backoff_ms - jitter + (jitter ? (int)(random() % (2 * jitter + 1)) : 0);
    c->backoff_ms = c->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : c->backoff_ms * 2;
    conn_schedule(c, delay);
    if (p->nup == 0 && !p->down) {
        /* The database is unreachable: stop making callers wait for it. */
        p->down = 1;
        rz__log(RZ_LOG_WARN, "db", "%s", msg);
        while (!TAILQ_EMPTY(&p->queue)) {
            dbreq_t *r = TAILQ_FIRST(&p->queue);
            TAILQ_REMOVE(&p->queue, r, link);
            p->nqueue--;
            if (p->replica && !W.pools[0].down) {
                /* Read-only work may still be served by the primary. */
                r->pool = &W.pools[0];
                TAILQ_INSERT_TAIL(&W.pools[0].queue, r, link);
                W.pools[0].nqueue++;
                pool_dispatch(&W.pools[0]);
                continue;
            }
            struct rz_dbres res;
            rz__dbres_fail(&res, RZ_EUNAVAIL, msg);
            r->pool->err_unavail++;
            req_complete(r, &res);
        }
    }
}

static void conn_poll_connect(dbconn_t *c)
{
    switch (PQconnectPoll(c->pg)) {
    case PGRES_POLLING_READING:
        if (conn_watch(c, EV_READ) != 0)
            conn_attempt_failed(c, "cannot watch the socket");
        return;
    case PGRES_POLLING_WRITING:
        if (conn_watch(c, EV_WRITE) != 0)
            conn_attempt_failed(c, "cannot watch the socket");
        return;
    case PGRES_POLLING_OK:
        conn_ready(c);
        return;
    default:
        conn_attempt_failed(c, PQerrorMessage(c->pg));
        return;
    }
}

static void conn_connect(dbconn_t *c)
{
    char options[64];
    snprintf(options, sizeof(options), "-c statement_timeout=%lld",
             (long long)opts.statement_timeout_ms);
    /* expand_dbname: the URL is expanded in place of "dbname"; keywords after
     * it override the URL's own, so our statement_timeout wins (a URL's own
     * options= is replaced), while fallback_application_name lets a URL's
     * application_name win. */
    const char *const kw[] = {"dbname", "fallback_application_name", "options", NULL};
    const char *const val[] = {c->pool->url, "rentezyd", options, NULL};
    c->pg = PQconnectStartParams(kw, val, 1);
    if (!c->pg) {
        conn_attempt_failed(c, "out of memory");
        return;
    }
    if (PQstatus(c->pg) == CONNECTION_BAD) {
        conn_attempt_failed(c, PQerrorMessage(c->pg));
        return;
    }
    c->state = C_CONNECTING;
    /* libpq enforces connect_timeout only in blocking mode; we do it here. */
    struct timeval tv = {opts.connect_timeout_ms / 1000, (opts.connect_timeout_ms % 1000) * 1000};
    evtimer_add(&c->timer, &tv);
    conn_poll_connect(c);
}

static void conn_on_timer(evutil_socket_t fd, short what, void *arg)
{
    dbconn_t *c = arg;
    if (c->state == C_WAIT)
        conn_connect(c);
    else if (c->state == C_CONNECTING)
        conn_attempt_failed(c, "connect_timeout expired");
}

/* The connection died (or was given up on).  Its request, if any, fails with
 * RZ_EUNAVAIL; a reconnect is scheduled at once, since a single dropped
 * connection (a restarted backend, pg_terminate_backend) is the usual case
 * and a dead server shows up as failed attempts with growing backoff. */
static void conn_lost(dbconn_t *c, const char *why)
{
    dbpool_t *p = c->pool;
    dbreq_t *r = c->req;
    int was_up = c->state == C_IDLE || c->state == C_BUSY;
    char msg[300];
    snprintf(msg, sizeof(msg), "database connection lost (%s): %s", p->label,
             why && *why ? why : "unknown error");
    for (char *s = msg; *s; s++)
        if (*s == '\n')
            *s = ' ';
    c->req = NULL;
    conn_unwatch(c);
    evtimer_del(&c->timer);
    conn_free_batch(c);
    prep_clear(c);
    if (c->pg)
        PQfinish(c->pg);
    c->pg = NULL;
    c->backoff_ms = BACKOFF_MIN_MS;
    conn_schedule(c, 0);
    if (was_up)
        pool_set_up(p, -1);
    if (r) {
        struct rz_dbres res;
        rz__dbres_fail(&res, RZ_EUNAVAIL, msg);
        p->err_unavail++;
        req_complete(r, &res);
    }
}

/* ---- sending a batch ------------------------------------------------------ */

static int items_push(dbconn_t *c, int kind, prep_t *prep)
{
    if (c->nitems == c->citems) {
        int n = c->citems ? c->citems * 2 : 8;
        item_t *it = realloc(c->items, (size_t)n * sizeof(*it));
        if (!it)
            return -1;
        c->items = it;
        c->citems = n;
    }
    c->items[c->nitems++] = (item_t){kind, prep};
    return 0;
}

static int send_simple(dbconn_t *c, int kind, const char *sql)
{
    if (!PQsendQueryParams(c->pg, sql, 0, NULL, NULL, NULL, NULL, 0))
        return -1;
    return items_push(c, kind, NULL);
}

static int conn_flush(dbconn_t *c)
{
    int r = PQflush(c->pg);
    if (r < 0)
        return -1;
    return conn_watch(c, r > 0 ? EV_READ | EV_WRITE : EV_READ);
}

/* Queue the whole request into libpq's pipeline, then Sync and flush. */
static int conn_send(dbconn_t *c, dbreq_t *r)
{
    c->nitems = c->cur = c->cur_seen = 0;
    if (r->tx && send_simple(c, IT_BEGIN, "BEGIN") != 0)
        return -1;
    for (int i = 0; i < r->nstmts; i++) {
        const rz_stmt_t *s = &r->stmts[i];
        uint32_t h = hash_str(s->sql);
        prep_t *p = prep_find(c, s->sql, h);
        if (!p && c->nprep < PREP_MAX) {
            if (!(p = prep_add(c, s->sql, h)))
                return -1;
            if (!PQsendPrepare(c->pg, p->name, s->sql, 0, NULL) ||
                items_push(c, IT_PREPARE, p) != 0)
                return -1;
        }
        int ok = p ? PQsendQueryPrepared(c->pg, p->name, s->nparams, s->params, NULL, NULL, 0)
                   : PQsendQueryParams(c->pg, s->sql, s->nparams, NULL, s->params, NULL, NULL,
                                       0);
        if (!ok || items_push(c, IT_EXEC, p) != 0)
            return -1;
    }
    if (r->tx && send_simple(c, IT_COMMIT, "COMMIT") != 0)
        return -1;
    if (!PQpipelineSync(c->pg))
        return -1;
    return conn_flush(c);
}

static void conn_start_req(dbconn_t *c, dbreq_t *r)
{
    c->req = r;
    r->conn = c;
    c->state = C_BUSY;
    if (conn_send(c, r) != 0)
        conn_lost(c, PQerrorMessage(c->pg));
}

static dbconn_t *pool_idle(dbpool_t *p)
{
    for (int i = 0; i < p->nconns; i++)
        if (p->conns[i].state == C_IDLE)
            return &p->conns[i];
    return NULL;
}

/* Hand idle connections to waiting requests, oldest first. */
static void pool_dispatch(dbpool_t *p)
{
    dbconn_t *c;
    while (!TAILQ_EMPTY(&p->queue) && (c = pool_idle(p))) {
        dbreq_t *r = TAILQ_FIRST(&p->queue);
        TAILQ_REMOVE(&p->queue, r, link);
        p->nqueue--;
        conn_start_req(c, r);
    }
}

/* ---- receiving ------------------------------------------------------------ */

static void observe(dbreq_t *r, const struct rz_dbres *res)
{
    dbpool_t *p = r->pool;
    double dt = mono() - r->t0;
    int b = 0;
    while (b < NBUCKETS && dt > bucket_le[b])
        b++;
    p->hist[b]++;
    p->sum += dt;
    p->queries++;
    if (res->status == RZ_ERR)
        p->err_server++;
    if (dt * 1000.0 > (double)opts.slow_query_ms && r->nstmts > 0) {
        /* The SQL only: parameters may be passwords or tokens. */
        rz__log(RZ_LOG_WARN, "db", "slow query: %.1f ms, plugin %s%s: %.400s", dt * 1000.0,
                rz__plugin_name(r->plugin), r->tx ? ", transaction" : "", r->stmts[0].sql);
    }
}

/* Run r's callback with res, then free r.  r must be out of every queue and
 * connection by now. */
static void req_complete(dbreq_t *r, struct rz_dbres *res)
{
    event_del(&r->timer);
    observe(r, res);
    W.pending--;
    if (r->cb)
        r->cb(res, r->udata);
    free(r);
}

/* The Sync of c's batch arrived: the request is answered. */
static void conn_batch_done(dbconn_t *c)
{
    dbreq_t *r = c->req;
    PGTransactionStatusType xs = PQtransactionStatus(c->pg);
    struct rz_dbres res = {0};
    PGresult *keep;

    c->req = NULL;
    r->conn = NULL;
    if (c->err) {
        res.status = RZ_ERR;
        keep = c->err;
        c->err = NULL;
    } else {
        res.status = RZ_OK;
        keep = c->last;
        c->last = NULL;
    }
    res.pg = keep;
    conn_free_batch(c); /* the results not kept */

    if (xs == PQTRANS_INTRANS || xs == PQTRANS_INERROR) {
        /* A failed transaction, or a plugin's stray BEGIN: clean the session
         * before anyone else uses it. */
        c->nitems = 0;
        if (send_simple(c, IT_ROLLBACK, "ROLLBACK") != 0 || !PQpipelineSync(c->pg) ||
            conn_flush(c) != 0) {
            conn_lost(c, PQerrorMessage(c->pg));
        } else {
            c->rolling_back = 1;
        }
    } else {
        c->state = C_IDLE;
        pool_dispatch(c->pool); /* waiting requests go before new ones */
    }
    req_complete(r, &res);
    if (keep)
        PQclear(keep);
}

static void conn_item_result(dbconn_t *c, PGresult *pr)
{
    ExecStatusType st = PQresultStatus(pr);
    item_t *it = c->cur < c->nitems ? &c->items[c->cur] : NULL;
    c->cur_seen = 1;
    switch (st) {
    case PGRES_COMMAND_OK:
    case PGRES_TUPLES_OK:
    case PGRES_EMPTY_QUERY:
        if (it && it->kind == IT_PREPARE)
            it->prep->ready = 1;
        if (it && it->kind == IT_EXEC && !c->rolling_back) {
            if (c->last)
                PQclear(c->last);
            c->last = pr;
            return;
        }
        break;
    case PGRES_PIPELINE_ABORTED:
        if (it && it->kind == IT_PREPARE && !it->prep->ready)
            prep_remove(c, it->prep);
        break;
    case PGRES_FATAL_ERROR:
    case PGRES_NONFATAL_ERROR:
    case PGRES_BAD_RESPONSE:
        if (it && it->kind == IT_PREPARE && !it->prep->ready) {
            prep_remove(c, it->prep);
            it->prep = NULL;
        } else if (it && it->kind == IT_EXEC && it->prep) {
            /* "cached plan must not change result type": a table changed
             * under a prepared statement; prepare it afresh next time. */
            const char *state = PQresultErrorField(pr, PG_DIAG_SQLSTATE);
            if (state && strcmp(state, "0A000") == 0)
                prep_remove(c, it->prep);
        }
        if (!c->err && !c->rolling_back) {
            c->err = pr;
            return;
        }
        break;
    default:
        /* COPY and friends cannot work through this interface. */
        break;
    }
    PQclear(pr);
}

/* Pull every complete result libpq has. */
static void conn_read_results(dbconn_t *c)
{
    while (c->pg && (c->req || c->rolling_back) && !PQisBusy(c->pg)) {
        PGresult *pr = PQgetResult(c->pg);
        if (!pr) {
            /* End of one item's results. */
            if (c->cur_seen) {
                c->cur++;
                c->cur_seen = 0;
                continue;
            }
            return;
        }
        ExecStatusType st = PQresultStatus(pr);
        if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH) {
            PQclear(pr);
            conn_lost(c, "COPY is not supported through db_query");
            return;
        }
        if (st == PGRES_PIPELINE_SYNC) {
            PQclear(pr);
            if (c->rolling_back) {
                conn_free_batch(c);
                c->state = C_IDLE;
                pool_dispatch(c->pool);
            } else {
                conn_batch_done(c);
            }
            continue;
        }
        conn_item_result(c, pr);
    }
}

static void conn_on_io(evutil_socket_t fd, short what, void *arg)
{
    dbconn_t *c = arg;
    if (c->state == C_CONNECTING) {
        conn_poll_connect(c);
        return;
    }
    if ((what & EV_WRITE) && conn_flush(c) != 0) {
        conn_lost(c, PQerrorMessage(c->pg));
        return;
    }
    if (what & EV_READ) {
        if (!PQconsumeInput(c->pg)) {
            conn_lost(c, PQerrorMessage(c->pg));
            return;
        }
        conn_read_results(c);
        if (!c->pg)
            return;
        if (c->state == C_IDLE) {
            /* Nothing is expected: drain what the server volunteered (a
             * FATAL before it hangs up, say) so it does not pile up. */
            PGresult *pr;
            while (!PQisBusy(c->pg) && (pr = PQgetResult(c->pg)))
                PQclear(pr);
        }
        if (PQstatus(c->pg) == CONNECTION_BAD)
            conn_lost(c, PQerrorMessage(c->pg));
    }
}

/* ---- requests -------------------------------------------------------------- */

static void req_on_timeout(evutil_socket_t fd, short what, void *arg)
{
    dbreq_t *r = arg;
    char msg[128];
    r->pool->err_timeout++;
    if (r->conn) {
        /* In flight past query_timeout: the server or the network hangs.
         * Give up on this connection (libpq 15 has no non-blocking cancel). */
        snprintf(msg, sizeof(msg), "query timed out after %lld ms",
                 (long long)opts.query_timeout_ms);
        conn_lost(r->conn, msg);
        return;
    }
    snprintf(msg, sizeof(msg), "database unavailable: no connection within %lld ms",
             (long long)opts.query_timeout_ms);
    TAILQ_REMOVE(&r->pool->queue, r, link);
    r->pool->nqueue--;
    struct rz_dbres res;
    rz__dbres_fail(&res, RZ_EUNAVAIL, msg);
    req_complete(r, &res);
}

static dbpool_t *pick_pool(unsigned flags)
{
    if ((flags & RZ_DB_READONLY) && W.npools > 1) {
        int n = W.npools - 1;
        dbpool_t *fallback = NULL;
        for (int i = 0; i < n; i++) {
            dbpool_t *p = &W.pools[1 + (W.rr + (unsigned)i) % (unsigned)n];
            if (p->nup == 0)
                continue;
            if (pool_idle(p)) {
                W.rr++;
                return p;
            }
            if (!fallback)
                fallback = p;
        }
        if (fallback) {
            W.rr++;
            return fallback;
        }
    }
    return &W.pools[0];
}

static int submit(rz_plugin_t *self, unsigned flags, int tx, const rz_stmt_t *stmts, int n,
                  rz_db_cb cb, void *udata)
{
    if (!W.base || W.stopping)
        return RZ_ESTATE;
    size_t nparams = 0, bytes = 0;
    for (int i = 0; i < n; i++) {
        const rz_stmt_t *s = &stmts[i];
        if (!s->sql || s->nparams < 0 || s->nparams > 65535 || (s->nparams > 0 && !s->params))
            return RZ_EINVAL;
        nparams += (size_t)s->nparams;
        bytes += strlen(s->sql) + 1;
        for (int k = 0; k < s->nparams; k++)
            bytes += s->params[k] ? strlen(s->params[k]) + 1 : 0;
    }
    dbpool_t *p = pick_pool(flags);
    if (p->down)
        return RZ_EUNAVAIL;

    size_t head = sizeof(dbreq_t) + (size_t)n * sizeof(rz_stmt_t) + nparams * sizeof(char *);
    dbreq_t *r = malloc(head + bytes);
    if (!r)
        return RZ_ENOMEM;
    memset(r, 0, sizeof(*r));
    r->stmts = (rz_stmt_t *)(r + 1);
    const char **pv = (const char **)(r->stmts + n);
    char *str = (char *)r + head;
    for (int i = 0; i < n; i++) {
        const rz_stmt_t *s = &stmts[i];
        size_t len = strlen(s->sql) + 1;
        r->stmts[i].sql = memcpy(str, s->sql, len);
        str += len;
        r->stmts[i].nparams = s->nparams;
        r->stmts[i].params = pv;
        for (int k = 0; k < s->nparams; k++) {
            if (!s->params[k]) {
                *pv++ = NULL;
                continue;
            }
            len = strlen(s->params[k]) + 1;
            *pv++ = memcpy(str, s->params[k], len);
            str += len;
        }
    }
    r->pool = p;
    r->plugin = self;
    r->tx = tx;
    r->nstmts = n;
    r->cb = cb;
    r->udata = udata;
    r->t0 = mono();
    evtimer_assign(&r->timer, W.base, req_on_timeout, r);
    evtimer_add(&r->timer, W.qtimeout);
    W.pending++;

    /* Sent on the next loop turn, not here: a send that fails fails the
     * request, and its callback must never run inside this call.  The kick
     * also gathers every request a callback makes into one pass. */
    TAILQ_INSERT_TAIL(&p->queue, r, link);
    p->nqueue++;
    event_active(&W.kick, EV_TIMEOUT, 0);
    return RZ_OK;
}

int rz__svc_db_query(rz_plugin_t *self, unsigned flags, const char *sql, int nparams,
                     const char *const *params, rz_db_cb cb, void *udata)
{
    if (!sql)
        return RZ_EINVAL;
    rz_stmt_t s = {sql, nparams, params};
    return submit(self, flags, 0, &s, 1, cb, udata);
}

int rz__svc_db_tx(rz_plugin_t *self, const rz_stmt_t *stmts, int n, rz_db_cb cb, void *udata)
{
    if (!stmts || n < 1 || n > TX_MAX)
        return RZ_EINVAL;
    return submit(self, 0, 1, stmts, n, cb, udata);
}

/* ---- worker life ------------------------------------------------------------ */

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
    for (int i = 0; i < W.npools; i++)
        pool_dispatch(&W.pools[i]);
}

static int pool_init(dbpool_t *p, const char *url, const char *label, int replica)
{
    memset(p, 0, sizeof(*p));
    p->url = url;
    snprintf(p->label, sizeof(p->label), "%s", label);
    p->replica = replica;
    TAILQ_INIT(&p->queue);
    p->conns = calloc((size_t)opts.pool_size, sizeof(dbconn_t));
    if (!p->conns)
        return -1;
    p->nconns = opts.pool_size;
    for (int i = 0; i < p->nconns; i++) {
        dbconn_t *c = &p->conns[i];
        c->pool = p;
        c->io_fd = -1;
        c->backoff_ms = BACKOFF_MIN_MS;
        evtimer_assign(&c->timer, W.base, conn_on_timer, c);
        conn_schedule(c, 0);
    }
    return 0;
}

int rz__db_worker_start(struct event_base *base)
{
    if (!opts.url || W.base)
        return -1;
    int nrep = 0;
    while (opts.replicas && opts.replicas[nrep])
        nrep++;
    W.pools = calloc((size_t)nrep + 1, sizeof(dbpool_t));
    if (!W.pools)
        return -1;
    W.base = base;
    event_assign(&W.kick, base, -1, 0, on_kick, NULL);
    struct timeval tv = {opts.query_timeout_ms / 1000, (opts.query_timeout_ms % 1000) * 1000};
    W.qtimeout = event_base_init_common_timeout(base, &tv);
    if (!W.qtimeout)
        goto fail;
    W.npools = nrep + 1;
    for (int i = 0; i < W.npools; i++) {
        char label[24];
        snprintf(label, sizeof(label), i ? "replica%d" : "primary", i);
        if (pool_init(&W.pools[i], i ? opts.replicas[i - 1] : opts.url, label, i > 0) != 0)
            goto fail;
    }
    return 0;
fail:
    rz__db_worker_stop();
    return -1;
}

void rz__db_worker_stop(void)
{
    if (!W.base)
        return;
    static const char msg[] = "database service stopped";
    W.stopping = 1; /* callbacks run below may not queue anything new */
    event_del(&W.kick);
    for (int i = 0; i < W.npools; i++) {
        dbpool_t *p = &W.pools[i];
        p->down = 1; /* refuse new requests made from callbacks below */
        while (!TAILQ_EMPTY(&p->queue)) {
            dbreq_t *r = TAILQ_FIRST(&p->queue);
            TAILQ_REMOVE(&p->queue, r, link);
            p->nqueue--;
            struct rz_dbres res;
            rz__dbres_fail(&res, RZ_EUNAVAIL, msg);
            req_complete(r, &res);
        }
    }
    for (int i = 0; i < W.npools; i++) {
        dbpool_t *p = &W.pools[i];
        for (int k = 0; p->conns && k < p->nconns; k++) {
            dbconn_t *c = &p->conns[k];
            dbreq_t *r = c->req;
            c->req = NULL;
            conn_unwatch(c);
            evtimer_del(&c->timer);
            conn_free_batch(c);
            prep_clear(c);
            free(c->items);
            if (c->pg)
                PQfinish(c->pg);
            c->pg = NULL;
            if (r) {
                struct rz_dbres res;
                rz__dbres_fail(&res, RZ_EUNAVAIL, msg);
                req_complete(r, &res);
            }
        }
        free(p->conns);
    }
    free(W.pools);
    memset(&W, 0, sizeof(W));
}

int rz__db_ready(void) { return W.base && W.pools[0].nup > 0; }

int rz__db_ready_check(const char **why)
{
    if (!W.base)
        return 1; /* no database in this process: not our call */
    if (W.pools[0].nup > 0)
        return 1;
    *why = "database unreachable";
    return 0;
}
int rz__db_pending(void) { return W.pending; }

/* ---- figures ------------------------------------------------------------------ */

void rz__db_metrics(struct evbuffer *out, int worker)
{
    if (!W.base)
        return;
    evbuffer_add_printf(out,
                        "# TYPE rentezy_db_connections gauge\n"
                        "# TYPE rentezy_db_queries_waiting gauge\n"
                        "# TYPE rentezy_db_errors_total counter\n"
                        "# TYPE rentezy_db_query_duration_seconds histogram\n");
    for (int i = 0; i < W.npools; i++) {
        dbpool_t *p = &W.pools[i];
        int busy = 0, idle = 0;
        for (int k = 0; k < p->nconns; k++) {
            busy += p->conns[k].state == C_BUSY;
            idle += p->conns[k].state == C_IDLE;
        }
        const char *l = p->label;
        evbuffer_add_printf(
            out,
            "rentezy_db_connections{worker=\"%d\",pool=\"%s\",state=\"in_use\"} %d\n"
            "rentezy_db_connections{worker=\"%d\",pool=\"%s\",state=\"idle\"} %d\n"
            "rentezy_db_queries_waiting{worker=\"%d\",pool=\"%s\"} %d\n"
            "rentezy_db_errors_total{worker=\"%d\",pool=\"%s\",kind=\"server\"} %llu\n"
            "rentezy_db_errors_total{worker=\"%d\",pool=\"%s\",kind=\"unavailable\"} %llu\n"
            "rentezy_db_errors_total{worker=\"%d\",pool=\"%s\",kind=\"timeout\"} %llu\n",
            worker, l, busy, worker, l, idle, worker, l, p->nqueue, worker, l,
            (unsigned long long)p->err_server, worker, l, (unsigned long long)p->err_unavail,
            worker, l, (unsigned long long)p->err_timeout);
        uint64_t cum = 0;
        for (int b = 0; b <= NBUCKETS; b++) {
            cum += p->hist[b];
            if (b < NBUCKETS)
                evbuffer_add_printf(out,
                                    "rentezy_db_query_duration_seconds_bucket{worker=\"%d\","
                                    "pool=\"%s\",le=\"%g\"} %llu\n",
                                    worker, l, bucket_le[b], (unsigned long long)cum);
            else
                evbuffer_add_printf(out,
                                    "rentezy_db_query_duration_seconds_bucket{worker=\"%d\","
                                    "pool=\"%s\",le=\"+Inf\"} %llu\n",
                                    worker, l, (unsigned long long)cum);
        }
        evbuffer_add_printf(out,
                            "rentezy_db_query_duration_seconds_sum{worker=\"%d\",pool=\"%s\"} "
                            "%.6f\n"
                            "rentezy_db_query_duration_seconds_count{worker=\"%d\",pool=\"%s\"} "
                            "%llu\n",
                            worker, l, p->sum, worker, l, (unsigned long long)p->queries);
    }
}
