/*
 * bus_relay.c — the kafka backend's relay: outbox rows to Kafka (see
 * bus.h, docs/decisions/0004-event-bus.md).
 *
 * One per deployment.  Every worker 0 whose [bus] relay is true tries
 * pg_try_advisory_lock on a dedicated libpq connection; the holder reads
 * the outbox in (xid, seq) order (final rows only, as the embedded
 * consumers do) and produces each row with the idempotent producer of
 * bus_kafka.c.  If the holder dies, its connection closes, the lock goes,
 * and another relay takes over from the committed position ("_relay" in
 * rentezy.bus_positions): at least once, never a gap.  The connection
 * LISTENs on rentezy_bus, so a commit wakes the relay at once.
 *
 * Pipelining: up to RELAY_BATCHES fetched batches are in flight at once.
 * While Kafka acknowledges one, the next is fetched and produced.  Batches
 * complete in fetch order; the position moves to the end of the longest
 * prefix of batches whose every delivery report said "delivered", and
 * never past a row whose delivery failed.  After a failure the relay stops
 * fetching, lets the batches in flight settle, moves the position over the
 * good prefix and produces again from there (duplicates, never a gap).
 * Order per subject holds because the producer is idempotent (at most 5
 * requests in flight per partition, in order) and the key is the subject.
 *
 * During a broker outage the producer queues what it has; the pipeline
 * fills, the relay stops fetching, and everything else waits in the outbox.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <libpq-fe.h>

#include "bus_int.h"
#include "clock.h"
#include "db.h"
#include "host.h"
#include "log.h"

#define RELAY_LOCK "7529475006"
#define RELAY_BATCHES 4     /* fetched batches awaiting delivery reports at once */
#define RELAY_REDO_MS 500   /* pause before producing again after a failed delivery */

typedef struct rbatch {
    uint32_t no;           /* batch number, in delivery reports */
    int pending;           /* reports still to come (+1 while producing) */
    int failed;
    char end_xid[24];      /* the batch's last row */
    int64_t end_seq;
} rbatch_t;

enum { R_OFF = 0, R_CONNECTING, R_LOCKING, R_WAITING, R_LOADING, R_IDLE, R_FETCHING,
       R_COMMITTING };

static struct {
    struct event_base *base;
    PGconn *pg;
    struct event io, retry, kick;
    int io_set, retry_set, kick_set;
    int state;
    int busy;              /* a statement's results are not all read yet */
    int draining;
    int dirty;             /* more rows may be waiting: fetch */
    int blocked;           /* an older transaction held rows back */
    int failing;           /* a delivery failed: settle, then produce again */
    char pos_xid[24];      /* committed position */
    int64_t pos_seq;
    char done_xid[24];     /* end of the delivered prefix (to commit) */
    int64_t done_seq;
    char sent_xid[24];     /* the position a commit in flight writes */
    int64_t sent_seq;
    char fetch_xid[24];    /* end of what was fetched */
    int64_t fetch_seq;
    rbatch_t b[RELAY_BATCHES];
    int head, n;
    uint32_t next_no;
    int64_t backoff_ms, lock_at, fetch_at;
    int64_t redo_at;       /* after a failed delivery, no fetch before this */
    uint64_t fetched, delivered, failed, batches, commits;
} R;

static void relay_io(evutil_socket_t fd, short what, void *arg);
static void relay_pump(void);

static void watch(short what)
{
    if (R.io_set) {
        event_del(&R.io);
        R.io_set = 0;
    }
    if (!R.pg || !R.base || !what)
        return;
    event_assign(&R.io, R.base, PQsocket(R.pg), what | EV_PERSIST, relay_io, NULL);
    if (event_add(&R.io, NULL) == 0)
        R.io_set = 1;
}

static void relay_retry(evutil_socket_t fd, short what, void *arg);

/* Forget the batches in flight: their late reports find no batch. */
static void forget_batches(void)
{
    R.head = R.n = 0;
    R.failing = 0;
}

static void relay_down(const char *why)
{
    if (R.state >= R_LOADING && R.base)
        rz__log(RZ_LOG_WARN, "bus", "relay: lost its database connection (%s); another takes "
                                    "over", why);
    else if (R.state >= R_LOADING)
        rz__log(RZ_LOG_INFO, "bus", "relay: stopped; another takes over");
    watch(0);
    if (R.pg)
        PQfinish(R.pg);
    R.pg = NULL;
    R.state = R_OFF;
    R.busy = 0;
    forget_batches();
    if (!R.base)
        return;
    if (!R.retry_set) {
        evtimer_assign(&R.retry, R.base, relay_retry, NULL);
        R.retry_set = 1;
    }
    struct timeval tv = {R.backoff_ms / 1000, (R.backoff_ms % 1000) * 1000};
    R.backoff_ms = R.backoff_ms * 2 > 2000 ? 2000 : R.backoff_ms * 2;
    evtimer_add(&R.retry, &tv);
}

/* n == 0: the simple protocol, so sql may hold several statements. */
static void relay_send(const char *sql, int n, const char *const *p, int state)
{
    if (!(n ? PQsendQueryParams(R.pg, sql, n, NULL, p, NULL, NULL, 0) : PQsendQuery(R.pg, sql))) {
        relay_down(PQerrorMessage(R.pg));
        return;
    }
    R.state = state;
    R.busy = 1;
    watch(PQflush(R.pg) == 1 ? EV_READ | EV_WRITE : EV_READ);
}

static void relay_connect(void)
{
    const char *url = rz__db_opts()->url;
    R.pg = url ? PQconnectStart(url) : NULL;
    if (!R.pg || PQstatus(R.pg) == CONNECTION_BAD) {
        relay_down(R.pg ? PQerrorMessage(R.pg) : "no database");
        return;
    }
    R.state = R_CONNECTING;
    watch(EV_WRITE);
}

static void relay_retry(evutil_socket_t fd, short what, void *arg)
{
    if (R.state == R_OFF)
        relay_connect();
}

static void relay_fetch(void)
{
    static const char sql[] =
        "SELECT o.seq, o.id, o.xid::text, o.topic, o.type, o.source, o.subject, o.version, "
        "(extract(epoch FROM o.time) * 1000)::bigint, o.traceparent, o.data::text, o.target, "
        "o.xid < h.x FROM rentezy.outbox o, (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS x) h "
        "WHERE (o.xid, o.seq) > ($1::xid8, $2::bigint) ORDER BY o.xid, o.seq LIMIT $3::int";
    char seq[24], lim[16];
    snprintf(seq, sizeof(seq), "%lld", (long long)R.fetch_seq);
    snprintf(lim, sizeof(lim), "%d", rz__bus_opts.relay_batch);
    const char *p[] = {R.fetch_xid, seq, lim};
    R.dirty = 0;
    R.fetch_at = rz__mono_ms() + rz__bus_opts.poll_interval_ms; /* NOTIFY is the fast path */
    relay_send(sql, 3, p, R_FETCHING);
}

static void relay_commit(void)
{
    static const char sql[] =
        "UPDATE rentezy.bus_positions SET pos_xid = $1::xid8, pos_seq = $2::bigint, "
        "owner = $3, updated_at = now() WHERE grp = '_relay' AND topic = '*' AND part = 0";
    char seq[24];
    memcpy(R.sent_xid, R.done_xid, sizeof(R.sent_xid));
    R.sent_seq = R.done_seq;
    snprintf(seq, sizeof(seq), "%lld", (long long)R.sent_seq);
    const char *p[] = {R.sent_xid, seq, rz__bus_instance()};
    relay_send(sql, 3, p, R_COMMITTING);
}

static void relay_kick(evutil_socket_t fd, short what, void *arg)
{
    R.dirty = 1;
    relay_pump();
}

static void kick_in(int64_t ms)
{
    if (!R.kick_set || evtimer_pending(&R.kick, NULL))
        return;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(&R.kick, &tv);
}

/* The batches at the head whose every row was delivered move the position
 * to commit; once every batch has settled after a failure, produce again
 * from there. */
static void settle_head(void)
{
    while (R.n && R.b[R.head].pending == 0 && !R.b[R.head].failed) {
        rbatch_t *b = &R.b[R.head];
        snprintf(R.done_xid, sizeof(R.done_xid), "%s", b->end_xid);
        R.done_seq = b->end_seq;
        R.head = (R.head + 1) % RELAY_BATCHES;
        R.n--;
    }
    if (!R.failing)
        return;
    for (int i = 0; i < R.n; i++)
        if (R.b[(R.head + i) % RELAY_BATCHES].pending)
            return;
    rz__log(RZ_LOG_WARN, "bus", "relay: a delivery failed; producing again from seq %lld",
            (long long)R.done_seq);
    forget_batches();
    snprintf(R.fetch_xid, sizeof(R.fetch_xid), "%s", R.done_xid);
    R.fetch_seq = R.done_seq;
    R.redo_at = rz__mono_ms() + RELAY_REDO_MS; /* a lasting failure must not spin */
    R.dirty = 1;
}

/* Whenever something happened: commit what is delivered, fetch what fits. */
static void relay_pump(void)
{
    if (R.state != R_IDLE || R.busy || !R.pg)
        return;
    settle_head();
    if (strcmp(R.done_xid, R.pos_xid) != 0 || R.done_seq != R.pos_seq) {
        relay_commit();
        return;
    }
    if (R.draining || R.failing || R.n == RELAY_BATCHES)
        return;
    int64_t now = rz__mono_ms();
    if (now < R.redo_at) {
        kick_in(R.redo_at - now);
        return;
    }
    if (R.dirty || now >= R.fetch_at) {
        relay_fetch();
    } else if (R.blocked) {
        R.blocked = 0;
        kick_in(5); /* an older transaction held rows back: look again soon */
    }
}

void rz__bus_relay_delivered(uintptr_t no, int ok)
{
    for (int i = 0; i < R.n; i++) {
        rbatch_t *b = &R.b[(R.head + i) % RELAY_BATCHES];
        if (b->no != (uint32_t)no)
            continue;
        if (ok) {
            R.delivered++;
        } else {
            R.failed++;
            b->failed = R.failing = 1;
        }
        if (--b->pending == 0)
            relay_pump();
        return;
    }
    /* a batch forgotten (connection lost, failure): nothing to do */
}

/* Produce the final rows of a fetch as one batch. */
static void produce_batch(PGresult *r)
{
    int n = 0, rows = PQntuples(r);
    for (; n < rows; n++)
        if (PQgetvalue(r, n, 12)[0] != 't') {
            R.blocked = 1;
            break;
        }
    if (n == 0)
        return;
    rbatch_t *b = &R.b[(R.head + R.n) % RELAY_BATCHES];
    R.n++;
    *b = (rbatch_t){.no = ++R.next_no, .pending = 1};
    R.batches++;
    for (int i = 0; i < n; i++) {
#define V(c) (PQgetisnull(r, i, c) ? NULL : PQgetvalue(r, i, c))
        const char *hdr[] = {"rz-id",     V(1), "rz-type",        V(4), "rz-source", V(5),
                             "rz-version", V(7), "rz-time",       V(8), "rz-traceparent", V(9),
                             "rz-target", V(11), NULL};
        if (rz__bus_kafka_produce(V(3), V(6), V(10), hdr, RZ_BUS_KAFKA_RELAY(b->no)) == 0) {
            b->pending++;
        } else {
            b->failed = R.failing = 1;
            R.failed++;
        }
#undef V
    }
    snprintf(b->end_xid, sizeof(b->end_xid), "%s", PQgetvalue(r, n - 1, 2));
    b->end_seq = strtoll(PQgetvalue(r, n - 1, 0), NULL, 10);
    snprintf(R.fetch_xid, sizeof(R.fetch_xid), "%s", b->end_xid);
    R.fetch_seq = b->end_seq;
    R.fetched += (uint64_t)n;
    R.dirty = n == rows; /* a full batch: more behind it */
    b->pending--;        /* the hold taken while producing */
}

static void relay_result(PGresult *r)
{
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        rz__log(RZ_LOG_WARN, "bus", "relay: %s", PQresultErrorMessage(r));
        if (R.state == R_FETCHING || R.state == R_COMMITTING)
            R.state = R_IDLE, R.dirty = 1;
        return;
    }
    if (st == PGRES_COMMAND_OK && R.state != R_COMMITTING)
        return; /* LISTEN, the INSERT before the position is read */
    switch (R.state) {
    case R_LOCKING:
        if (PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't') {
            R.state = R_LOADING;
            rz__log(RZ_LOG_INFO, "bus", "relay: this process (%s) relays the outbox to Kafka",
                    rz__bus_instance());
        } else {
            R.state = R_WAITING; /* another relay holds it; the tick retries */
        }
        return;
    case R_LOADING:
        if (PQntuples(r) >= 1) {
            snprintf(R.pos_xid, sizeof(R.pos_xid), "%s", PQgetvalue(r, 0, 0));
            R.pos_seq = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
            memcpy(R.done_xid, R.pos_xid, sizeof(R.done_xid));
            memcpy(R.fetch_xid, R.pos_xid, sizeof(R.fetch_xid));
            R.done_seq = R.fetch_seq = R.pos_seq;
            forget_batches();
            R.state = R_IDLE;
            R.dirty = 1;
        }
        return;
    case R_FETCHING:
        R.state = R_IDLE;
        produce_batch(r);
        return;
    case R_COMMITTING:
        memcpy(R.pos_xid, R.sent_xid, sizeof(R.pos_xid));
        R.pos_seq = R.sent_seq;
        R.state = R_IDLE;
        R.commits++;
        return;
    default:
        return;
    }
}

static void relay_io(evutil_socket_t fd, short what, void *arg)
{
    if (R.state == R_CONNECTING) {
        switch (PQconnectPoll(R.pg)) {
        case PGRES_POLLING_OK:
            PQsetnonblocking(R.pg, 1);
            R.backoff_ms = 100;
            relay_send("LISTEN rentezy_bus; SELECT pg_try_advisory_lock(" RELAY_LOCK ")", 0,
                       NULL, R_LOCKING);
            return;
        case PGRES_POLLING_READING: watch(EV_READ); return;
        case PGRES_POLLING_WRITING: watch(EV_WRITE); return;
        default: relay_down(PQerrorMessage(R.pg)); return;
        }
    }
    if ((what & EV_WRITE) && PQflush(R.pg) == 0)
        watch(EV_READ);
    if (!(what & EV_READ))
        return;
    if (!PQconsumeInput(R.pg)) {
        relay_down(PQerrorMessage(R.pg));
        return;
    }
    while (R.pg && R.busy && !PQisBusy(R.pg)) {
        PGresult *r = PQgetResult(R.pg);
        if (!r) {
            R.busy = 0; /* the statement is over: the connection takes another */
            break;
        }
        relay_result(r);
        PQclear(r);
    }
    PGnotify *nt;
    while (R.pg && (nt = PQnotifies(R.pg)) != NULL) {
        R.dirty = 1;
        PQfreemem(nt);
    }
    if (R.pg && PQstatus(R.pg) == CONNECTION_BAD) {
        relay_down(PQerrorMessage(R.pg));
        return;
    }
    if (R.pg && !R.busy && R.state == R_LOADING) {
        /* first time: make sure the position row exists, then read it */
        char *me = PQescapeLiteral(R.pg, rz__bus_instance(), strlen(rz__bus_instance()));
        char sql[512];
        snprintf(sql, sizeof(sql),
                 "INSERT INTO rentezy.bus_positions (grp, topic, part) VALUES ('_relay', '*', 0) "
                 "ON CONFLICT DO NOTHING; UPDATE rentezy.bus_positions SET owner = %s WHERE "
                 "grp = '_relay' RETURNING pos_xid::text, pos_seq",
                 me ? me : "NULL");
        PQfreemem(me);
        relay_send(sql, 0, NULL, R_LOADING);
        return;
    }
    relay_pump();
}

/* ---- what bus_kafka.c calls ------------------------------------------------------ */

int rz__bus_relay_start(struct event_base *base)
{
    memset(&R, 0, sizeof(R));
    R.base = base;
    R.backoff_ms = 100;
    evtimer_assign(&R.kick, base, relay_kick, NULL);
    R.kick_set = 1;
    relay_connect();
    return 0;
}

void rz__bus_relay_tick(void)
{
    int64_t now = rz__mono_ms();
    if (R.state == R_WAITING && !R.busy && now >= R.lock_at) {
        R.lock_at = now + 1000; /* the relay that holds it may die any time */
        relay_send("SELECT pg_try_advisory_lock(" RELAY_LOCK ")", 0, NULL, R_LOCKING);
    } else {
        relay_pump();
    }
}

void rz__bus_relay_drain(void) { R.draining = 1; }

int rz__bus_relay_pending(void)
{
    if (R.state < R_IDLE)
        return 0;
    return R.n + (R.state == R_COMMITTING) +
           (strcmp(R.done_xid, R.pos_xid) != 0 || R.done_seq != R.pos_seq);
}

int rz__bus_relay_active(void) { return R.state >= R_IDLE; }

void rz__bus_relay_stop(void)
{
    struct event_base *base = R.base;
    R.base = NULL; /* relay_down must not schedule a retry */
    if (base)
        relay_down("stopping");
    if (R.retry_set)
        evtimer_del(&R.retry);
    if (R.kick_set)
        evtimer_del(&R.kick);
    R.retry_set = R.kick_set = 0;
}

void rz__bus_relay_metrics(struct evbuffer *out, int worker)
{
    evbuffer_add_printf(out,
                        "# TYPE rentezy_bus_relay_total counter\n"
                        "rentezy_bus_relay_total{worker=\"%d\",what=\"fetched\"} %llu\n"
                        "rentezy_bus_relay_total{worker=\"%d\",what=\"delivered\"} %llu\n"
                        "rentezy_bus_relay_total{worker=\"%d\",what=\"failed\"} %llu\n"
                        "rentezy_bus_relay_total{worker=\"%d\",what=\"batches\"} %llu\n"
                        "rentezy_bus_relay_total{worker=\"%d\",what=\"commits\"} %llu\n"
                        "# TYPE rentezy_bus_relay_batches_in_flight gauge\n"
                        "rentezy_bus_relay_batches_in_flight{worker=\"%d\"} %d\n"
                        "# TYPE rentezy_bus_relay_active gauge\n"
                        "rentezy_bus_relay_active{worker=\"%d\"} %d\n",
                        worker, (unsigned long long)R.fetched, worker,
                        (unsigned long long)R.delivered, worker, (unsigned long long)R.failed,
                        worker, (unsigned long long)R.batches, worker,
                        (unsigned long long)R.commits, worker, R.n, worker,
                        rz__bus_relay_active());
}
