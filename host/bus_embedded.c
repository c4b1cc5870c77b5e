/*
 * bus_embedded.c — the `embedded` backend: consumers read rentezy.outbox
 * directly (see bus.h, and bus_schema.c for the SQL side).
 *
 * Per subscription a worker owns some of the 16 partitions of the topic
 * (rentezy.bus_claim, every lease/3).  An owned partition cycles
 *   idle -> fetch (one SELECT, ordered by (xid, seq), final rows only)
 *        -> deliver (concurrently across subjects, in order within one)
 *        -> commit (one statement: dead letters + the new position, only if
 *           we still own the partition at the same epoch) -> idle
 * and is woken by NOTIFY rentezy_bus (payload: the topic) on a dedicated
 * LISTEN connection, by a short re-poll when an older transaction still
 * holds rows back, and by poll_interval as a safety net.
 *
 * Callbacks of requests made before rz__bus_embedded_stop carry a
 * generation in their udata and are ignored afterwards, so nothing they
 * point to has to outlive the stop.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <libpq-fe.h>

#include "bus_int.h"
#include "clock.h"
#include "db.h"
#include "host.h"
#include "log.h"

#define CHANNEL "rentezy_bus"
#define NPART RZ_BUS_PARTITIONS
#define REPOLL_MS 5          /* rows held back by an older open transaction */
#define LISTEN_BACKOFF_MAX_MS 5000

typedef struct part {
    int no;
    int owned, epoch;
    char pos_xid[24];     /* committed position */
    int64_t pos_seq;
    int busy;             /* fetching, delivering or committing */
    int dirty;            /* woken while busy: fetch again right after */
    int blocked;          /* the last fetch stopped at a row not yet final */
    /* the batch being delivered */
    rz_event_t **ev;      /* owned, n of them */
    int n, settled, ndead, abandoned;
    int *next;            /* next index with the same subject, or -1 */
    int *ready, rhead, rtail;
    int pumping;
    char end_xid[24];     /* position after the batch */
    int64_t end_seq;
    struct event *repoll;
} part_t;

typedef struct esub {
    rz_bus_sub_t *s;
    part_t parts[NPART];
    int claiming;
    int claimed_once;
} esub_t;

static struct {
    struct event_base *base;
    esub_t *subs;         /* owned, one per rz__bus_subs entry */
    size_t nsubs;
    unsigned gen;         /* bumped by stop: late callbacks are ignored */
    int draining, releasing, released;
    struct event *claim_ev, *poll_ev, *prune_ev;
    int64_t prune_at;
    /* the LISTEN connection */
    PGconn *pg;
    struct event io, retry;
    int io_set, retry_set, connecting, listening, logged_down;
    short watching;
    int64_t backoff_ms;
    uint64_t fetches, commits, lost, notifies, pruned;
} E;

static void fetch(esub_t *es, part_t *p);
static void claim_all(void);

/* ---- udata: generation, subscription and partition in one word ------------- */

static void *tag(size_t sub, int part)
{
    return (void *)(uintptr_t)(((uintptr_t)(E.gen & 0xffffu) << 24) | (sub << 6) | (uintptr_t)part);
}

/* NULL when the tag is from before a stop.  *pp gets the partition (NULL
 * for a subscription-wide request). */
static esub_t *untag(void *u, part_t **pp)
{
    uintptr_t v = (uintptr_t)u;
    size_t sub = (v >> 6) & 0x3ffff;
    int part = (int)(v & 0x3f);
    if (!E.base || ((v >> 24) & 0xffffu) != (E.gen & 0xffffu) || sub >= E.nsubs)
        return NULL;
    *pp = part < NPART ? &E.subs[sub].parts[part] : NULL;
    return &E.subs[sub];
}

static size_t sub_index(const esub_t *es) { return (size_t)(es - E.subs); }

/* ---- batches ------------------------------------------------------------------ */

static void batch_free(part_t *p)
{
    for (int i = 0; i < p->n; i++)
        if (p->ev[i] && rz__bus_event_abandon(p->ev[i]))
            rz__bus_event_free(p->ev[i]);
    free(p->ev);
    free(p->next);
    free(p->ready);
    p->ev = NULL;
    p->next = p->ready = NULL;
    p->n = p->settled = p->ndead = p->abandoned = 0;
    p->rhead = p->rtail = 0;
}

/* The partition's turn is over: take the next one if anything woke it. */
static void maybe_release(void);

static void part_idle(esub_t *es, part_t *p)
{
    p->busy = 0;
    if (E.draining) {
        maybe_release();
        return;
    }
    if (!p->owned)
        return;
    if (p->dirty || p->blocked) {
        int blocked = p->blocked && !p->dirty;
        p->dirty = 0;
        if (blocked) {
            struct timeval tv = {0, REPOLL_MS * 1000};
            if (p->repoll)
                evtimer_add(p->repoll, &tv);
        } else {
            fetch(es, p);
        }
    }
}

static void on_committed(rz_dbres_t *res, void *u)
{
    part_t *p;
    esub_t *es = untag(u, &p);
    if (!es || !p)
        return;
    E.commits++;
    if (rz__svc_dbres_status(res) != RZ_OK) {
        /* Not committed: the same events come again (at least once). */
        if (rz__svc_dbres_status(res) == RZ_ERR)
            rz__log(RZ_LOG_WARN, "bus", "%s/%s: cannot commit the position: %s", es->s->topic,
                    es->s->cgroup, rz__svc_dbres_message(res));
        p->dirty = 1;
    } else if (rz__svc_dbres_rows(res) != 1 || atoi(rz__svc_dbres_value(res, 0, 0)) != 1) {
        /* A replay reset the partition, or our lease ran out and another
         * member has it: its position is the truth now. */
        E.lost++;
        p->owned = 0;
        rz__log(RZ_LOG_INFO, "bus", "%s/%s: partition %d moved on (lease or replay)",
                es->s->topic, es->s->cgroup, p->no);
    } else {
        snprintf(p->pos_xid, sizeof(p->pos_xid), "%s", p->end_xid);
        p->pos_seq = p->end_seq;
        p->dirty |= p->n >= rz__bus_opts.batch; /* a full batch: there may be more */
    }
    batch_free(p);
    part_idle(es, p);
}

/* Dead letters as a JSON array for jsonb_to_recordset; NULL on OOM. */
static char *dead_json(part_t *p)
{
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; arr && i < p->n; i++) {
        rz_event_t *ev = p->ev[i];
        if (!ev->dead)
            continue;
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            break;
        }
        cJSON_AddStringToObject(o, "event_id", ev->id);
        cJSON_AddStringToObject(o, "type", ev->type);
        cJSON_AddStringToObject(o, "source", ev->source);
        cJSON_AddStringToObject(o, "subject", ev->subject);
        cJSON_AddNumberToObject(o, "version", (double)ev->version);
        cJSON_AddNumberToObject(o, "time_ms", (double)ev->time_ms);
        if (ev->traceparent)
            cJSON_AddStringToObject(o, "traceparent", ev->traceparent);
        cJSON_AddStringToObject(o, "data", ev->data);
        cJSON_AddStringToObject(o, "error", ev->error);
        cJSON_AddNumberToObject(o, "attempts", ev->attempt);
    }
    char *s = arr ? cJSON_PrintUnformatted(arr) : NULL;
    cJSON_Delete(arr);
    return s;
}

static void commit(esub_t *es, part_t *p)
{
    /* One statement: the dead letters are stored only if the position
     * moves, i.e. only by the member that still owns the partition. */
    static const char sql[] =
        "WITH u AS (UPDATE rentezy.bus_positions SET pos_xid = $4::xid8, pos_seq = $5::bigint, "
        "lease_until = greatest(lease_until, clock_timestamp()), updated_at = now() "
        "WHERE grp = $1 AND topic = $2 AND part = $3::int AND owner = $6 AND epoch = $7::int "
        "RETURNING 1), d AS (INSERT INTO rentezy.bus_dead (grp, topic, event_id, type, source, "
        "subject, version, time, traceparent, data, error, attempts) SELECT $1, $2, x.event_id, "
        "x.type, x.source, x.subject, x.version, to_timestamp(x.time_ms / 1000.0), "
        "x.traceparent, x.data, x.error, x.attempts FROM jsonb_to_recordset($8::jsonb) AS x("
        "event_id text, type text, source text, subject text, version bigint, time_ms bigint, "
        "traceparent text, data text, error text, attempts int) WHERE EXISTS (SELECT 1 FROM u)) "
        "SELECT count(*) FROM u";
    if (p->abandoned) {
        /* Something could not finish (drain, or no timer): commit nothing
         * of this batch; it is redelivered from the old position. */
        batch_free(p);
        part_idle(es, p);
        return;
    }
    char part[8], seq[24], epoch[16];
    char *dead = p->ndead ? dead_json(p) : NULL;
    snprintf(part, sizeof(part), "%d", p->no);
    snprintf(seq, sizeof(seq), "%lld", (long long)p->end_seq);
    snprintf(epoch, sizeof(epoch), "%d", p->epoch);
    const char *params[] = {es->s->cgroup, es->s->topic,       part,  p->end_xid, seq,
                            rz__bus_instance(), epoch,         dead ? dead : "[]"};
    if ((p->ndead && !dead) ||
        rz__svc_db_query(NULL, 0, sql, 8, params, on_committed, tag(sub_index(es), p->no)) !=
            RZ_OK) {
        batch_free(p);
        p->dirty = 1; /* the poll retries */
        part_idle(es, p);
    }
    free(dead);
}

/* Deliver what is ready; commit once every event of the batch settled. */
static void pump(esub_t *es, part_t *p)
{
    if (p->pumping)
        return;
    p->pumping = 1;
    while (p->rhead < p->rtail && !p->abandoned)
        rz__bus_dispatch(p->ev[p->ready[p->rhead++]]);
    p->pumping = 0;
    if (p->n && (p->settled == p->n || p->abandoned))
        commit(es, p);
}

static void on_settle(rz_event_t *ev, int how, const char *why)
{
    part_t *p = ev->owner;
    esub_t *es = &E.subs[ev->index >> 16];
    int i = ev->index & 0xffff;
    (void)why;
    p->settled++;
    if (how == RZ_BUS_SETTLE_DEAD) {
        ev->dead = 1;
        p->ndead++;
    }
    else if (how == RZ_BUS_SETTLE_ABANDON)
        p->abandoned = 1;
    if (p->next[i] >= 0)
        p->ready[p->rtail++] = p->next[i];
    if (!p->pumping)
        pump(es, p);
}

/* Link each event to the next one with the same subject, so subjects run
 * concurrently and each one in order.  0 or -1 (OOM). */
static int link_subjects(part_t *p)
{
    size_t cap = 16;
    while (cap < (size_t)p->n * 2)
        cap <<= 1;
    int *last = malloc(cap * sizeof(*last));
    p->next = malloc((size_t)p->n * sizeof(*p->next));
    p->ready = malloc((size_t)p->n * sizeof(*p->ready));
    if (!last || !p->next || !p->ready) {
        free(last);
        return -1;
    }
    memset(last, 0xff, cap * sizeof(*last));
    for (int i = 0; i < p->n; i++) {
        const char *subj = p->ev[i]->subject;
        uint32_t h = 2166136261u;
        for (const char *c = subj; *c; c++)
            h = (h ^ (uint8_t)*c) * 16777619u;
        size_t k = h & (cap - 1);
        while (last[k] >= 0 && strcmp(p->ev[last[k]]->subject, subj) != 0)
            k = (k + 1) & (cap - 1);
        p->next[i] = -1;
        if (last[k] >= 0)
            p->next[last[k]] = i;
        else
            p->ready[p->rtail++] = i;
        last[k] = i;
    }
    free(last);
    return 0;
}

static void on_fetched(rz_dbres_t *res, void *u)
{
    part_t *p;
    esub_t *es = untag(u, &p);
    if (!es || !p)
        return;
    E.fetches++;
    if (rz__svc_dbres_status(res) != RZ_OK) {
        if (rz__svc_dbres_status(res) == RZ_ERR)
            rz__log(RZ_LOG_WARN, "bus", "%s/%s: fetching events failed: %s", es->s->topic,
                    es->s->cgroup, rz__svc_dbres_message(res));
        p->busy = 0; /* the poll comes back */
        return;
    }
    int rows = rz__svc_dbres_rows(res), n = 0;
    p->blocked = 0;
    for (; n < rows; n++) {
        const char *final = rz__svc_dbres_value(res, n, 11);
        if (!final || final[0] != 't') {
            p->blocked = 1; /* an older transaction is still open */
            break;
        }
    }
    if (n == 0 || E.draining) {
        part_idle(es, p);
        return;
    }
    p->ev = calloc((size_t)n, sizeof(*p->ev));
    if (!p->ev)
        goto oom;
    for (int i = 0; i < n; i++) {
#define V(c) rz__svc_dbres_value(res, i, c)
        rz_event_t *ev = rz__bus_event_new(es->s, V(1), V(3), es->s->topic, V(4), V(5), V(9),
                                           V(8), V(2), V(10));
        if (!ev)
            goto oom;
        ev->seq = strtoll(V(0), NULL, 10);
        ev->version = strtoll(V(6), NULL, 10);
        ev->time_ms = strtoll(V(7), NULL, 10);
#undef V
        ev->settle = on_settle;
        ev->owner = p;
        ev->index = (int)(sub_index(es) << 16) | i;
        p->ev[p->n++] = ev;
    }
    snprintf(p->end_xid, sizeof(p->end_xid), "%s", p->ev[n - 1]->xid);
    p->end_seq = p->ev[n - 1]->seq;
    if (link_subjects(p) != 0)
        goto oom;
    pump(es, p);
    return;
oom:
    rz__log(RZ_LOG_ERROR, "bus", "out of memory delivering a batch");
    batch_free(p);
    part_idle(es, p);
}

static void fetch(esub_t *es, part_t *p)
{
    /* Rows come in (xid, seq) order; "final" marks those below the xmin of
     * this statement's snapshot, which always come first. */
    static const char sql[] =
        "SELECT o.seq, o.id, o.xid::text, o.type, o.source, o.subject, o.version, "
        "(extract(epoch FROM o.time) * 1000)::bigint, o.traceparent, o.data::text, o.target, "
        "o.xid < h.x FROM rentezy.outbox o, (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS x) h "
        "WHERE o.topic = $1 AND o.part = $2::int AND (o.xid, o.seq) > ($3::xid8, $4::bigint) "
        "ORDER BY o.xid, o.seq LIMIT $5::int";
    if (p->busy) {
        p->dirty = 1;
        return;
    }
    if (!p->owned || E.draining)
        return;
    char part[8], seq[24], lim[16];
    snprintf(part, sizeof(part), "%d", p->no);
    snprintf(seq, sizeof(seq), "%lld", (long long)p->pos_seq);
    snprintf(lim, sizeof(lim), "%d", rz__bus_opts.batch);
    const char *params[] = {es->s->topic, part, p->pos_xid, seq, lim};
    p->dirty = 0;
    if (rz__svc_db_query(NULL, 0, sql, 5, params, on_fetched, tag(sub_index(es), p->no)) ==
        RZ_OK)
        p->busy = 1;
}

static void on_repoll(evutil_socket_t fd, short what, void *arg)
{
    part_t *p = arg;
    for (size_t i = 0; i < E.nsubs; i++)
        if (p >= E.subs[i].parts && p < E.subs[i].parts + NPART) {
            fetch(&E.subs[i], p);
            return;
        }
}

/* topic NULL wakes everything; "topic" every partition of the topic;
 * "topic#P" only partition P (a publisher that knows it, such as the
 * WebSocket fan-out, spares every consumer 15 empty fetches). */
static void wake_topic(const char *topic)
{
    const char *hash = topic ? strchr(topic, '#') : NULL;
    size_t tl = hash ? (size_t)(hash - topic) : topic ? strlen(topic) : 0;
    int only = hash ? atoi(hash + 1) : -1;
    for (size_t i = 0; i < E.nsubs; i++) {
        esub_t *es = &E.subs[i];
        if (topic && (strncmp(es->s->topic, topic, tl) != 0 || es->s->topic[tl] != '\0'))
            continue;
        for (int k = 0; k < NPART; k++)
            if (es->parts[k].owned && (only < 0 || only == k))
                fetch(es, &es->parts[k]);
    }
}

/* ---- claims -------------------------------------------------------------------- */

static void on_claimed(rz_dbres_t *res, void *u)
{
    part_t *unused;
    esub_t *es = untag(u, &unused);
    if (!es)
        return;
    es->claiming = 0;
    if (rz__svc_dbres_status(res) != RZ_OK) {
        if (rz__svc_dbres_status(res) == RZ_ERR)
            rz__log(RZ_LOG_WARN, "bus", "%s/%s: claiming partitions failed: %s", es->s->topic,
                    es->s->cgroup, rz__svc_dbres_message(res));
        return;
    }
    int now_owned[NPART] = {0};
    for (int r = 0; r < rz__svc_dbres_rows(res); r++) {
        int no = atoi(rz__svc_dbres_value(res, r, 0));
        if (no < 0 || no >= NPART)
            continue;
        part_t *p = &es->parts[no];
        int epoch = atoi(rz__svc_dbres_value(res, r, 3));
        now_owned[no] = 1;
        if (p->busy && p->owned)
            continue; /* the commit will tell whether the epoch moved */
        if (!p->owned || p->epoch != epoch) {
            p->owned = 1;
            p->epoch = epoch;
            snprintf(p->pos_xid, sizeof(p->pos_xid), "%s", rz__svc_dbres_value(res, r, 1));
            p->pos_seq = strtoll(rz__svc_dbres_value(res, r, 2), NULL, 10);
            fetch(es, p);
        }
    }
    for (int k = 0; k < NPART; k++)
        if (!now_owned[k] && es->parts[k].owned && !es->parts[k].busy)
            es->parts[k].owned = 0;
    es->claimed_once = 1;
}

static void claim(esub_t *es)
{
    static const char sql[] =
        "SELECT part, pos_xid, pos_seq, epoch FROM rentezy.bus_claim($1, $2, $3, $4, "
        "$5::bigint, $6::boolean, $7::int[])";
    if (es->claiming || E.draining)
        return;
    char busy[NPART * 4 + 3], lease[24], *w = busy;
    *w++ = '{';
    for (int k = 0; k < NPART; k++)
        if (es->parts[k].busy)
            w += sprintf(w, "%s%d", w[-1] == '{' ? "" : ",", k);
    *w++ = '}';
    *w = '\0';
    snprintf(lease, sizeof(lease), "%lld", (long long)rz__bus_opts.lease_ms);
    const char *params[] = {es->s->cgroup,
                            es->s->topic,
                            rz__bus_instance(),
                            es->s->mode == RZ_BUS_BROADCAST ? es->s->group : NULL,
                            lease,
                            es->s->start_latest ? "true" : "false",
                            busy};
    if (rz__svc_db_query(NULL, 0, sql, 7, params, on_claimed, tag(sub_index(es), 63)) == RZ_OK)
        es->claiming = 1;
}

static void claim_all(void)
{
    for (size_t i = 0; i < E.nsubs; i++)
        claim(&E.subs[i]);
}

static void on_claim_tick(evutil_socket_t fd, short what, void *arg) { claim_all(); }

static void on_poll(evutil_socket_t fd, short what, void *arg)
{
    /* Until every subscription holds its first claim, claim quickly: a
     * fresh worker should not wait lease/3 for its first event. */
    for (size_t i = 0; i < E.nsubs; i++)
        if (!E.subs[i].claimed_once)
            claim(&E.subs[i]);
    wake_topic(NULL);
    if (rz__mono_ms() >= E.prune_at) {
        E.prune_at = rz__mono_ms() + rz__bus_opts.prune_interval_ms;
        rz__bus_housekeeping();
    }
}

/* ---- housekeeping: retention and stale members (bus_prune) ------------------------- */

static void on_pruned(rz_dbres_t *res, void *u)
{
    if (rz__svc_dbres_status(res) == RZ_ERR)
        rz__log(RZ_LOG_WARN, "bus", "pruning the outbox failed: %s", rz__svc_dbres_message(res));
    else if (rz__svc_dbres_status(res) == RZ_OK && rz__svc_dbres_rows(res) == 1)
        E.pruned += strtoull(rz__svc_dbres_value(res, 0, 0), NULL, 10);
}

void rz__bus_housekeeping(void)
{
    static const char sql[] =
        "SELECT rentezy.bus_prune($1::bigint, $2::text[], $3::bigint, $4::boolean)";
    /* One worker per process is plenty; the function itself lets one
     * caller at a time in across pods. */
    if (rz__rt.worker_index > 0)
        return;
    char ret[24], exp[24];
    char *compacted = rz__bus_text_array(rz__bus_opts.compacted);
    if (!compacted)
        return;
    snprintf(ret, sizeof(ret), "%lld", (long long)rz__bus_opts.retention_ms);
    snprintf(exp, sizeof(exp), "%lld", (long long)rz__bus_opts.member_expiry_ms);
    const char *params[] = {ret, compacted, exp,
                            rz__bus_opts.backend == RZ_BUS_KAFKA ? "true" : "false"};
    rz__svc_db_query(NULL, 0, sql, 4, params, on_pruned, NULL);
    free(compacted);
}

/* ---- the LISTEN connection ------------------------------------------------------- */

static void on_io(evutil_socket_t fd, short what, void *arg);
static void listen_connect(void);

static void watch(short what)
{
    int fd = E.pg ? PQsocket(E.pg) : -1;
    if (E.io_set) {
        event_del(&E.io);
        E.io_set = 0;
    }
    if (fd < 0 || what == 0 || !E.base)
        return;
    event_assign(&E.io, E.base, fd, what | EV_PERSIST, on_io, NULL);
    if (event_add(&E.io, NULL) == 0)
        E.io_set = 1;
    E.watching = what;
}

static void on_retry(evutil_socket_t fd, short what, void *arg) { listen_connect(); }

static void listen_down(const char *why)
{
    if (!E.logged_down && E.base)
        rz__log(RZ_LOG_WARN, "bus", "LISTEN connection down (%s); polling every %lld ms",
                why, (long long)rz__bus_opts.poll_interval_ms);
    E.logged_down = 1;
    watch(0);
    if (E.pg)
        PQfinish(E.pg);
    E.pg = NULL;
    E.connecting = E.listening = 0;
    if (!E.base)
        return;
    struct timeval tv = {E.backoff_ms / 1000, (E.backoff_ms % 1000) * 1000};
    E.backoff_ms = E.backoff_ms * 2 > LISTEN_BACKOFF_MAX_MS ? LISTEN_BACKOFF_MAX_MS
                                                            : E.backoff_ms * 2;
    if (!E.retry_set) {
        evtimer_assign(&E.retry, E.base, on_retry, NULL);
        E.retry_set = 1;
    }
    evtimer_add(&E.retry, &tv);
}

static void listen_connect(void)
{
    const char *url = rz__db_opts()->url;
    if (!url)
        return;
    E.pg = PQconnectStart(url);
    if (!E.pg || PQstatus(E.pg) == CONNECTION_BAD) {
        listen_down(E.pg ? PQerrorMessage(E.pg) : "out of memory");
        return;
    }
    E.connecting = 1;
    watch(EV_WRITE);
}

static void on_io(evutil_socket_t fd, short what, void *arg)
{
    if (E.connecting) {
        switch (PQconnectPoll(E.pg)) {
        case PGRES_POLLING_OK:
            E.connecting = 0;
            PQsetnonblocking(E.pg, 1);
            if (!PQsendQuery(E.pg, "LISTEN " CHANNEL) || PQflush(E.pg) < 0) {
                listen_down(PQerrorMessage(E.pg));
                return;
            }
            watch(EV_READ);
            return;
        case PGRES_POLLING_READING:
            watch(EV_READ);
            return;
        case PGRES_POLLING_WRITING:
            watch(EV_WRITE);
            return;
        default:
            listen_down(PQerrorMessage(E.pg));
            return;
        }
    }
    if ((what & EV_WRITE) && PQflush(E.pg) == 0)
        watch(EV_READ);
    if (!(what & EV_READ))
        return;
    if (!PQconsumeInput(E.pg)) {
        listen_down(PQerrorMessage(E.pg));
        return;
    }
    while (!PQisBusy(E.pg)) {
        PGresult *r = PQgetResult(E.pg);
        if (!r)
            break;
        if (PQresultStatus(r) == PGRES_COMMAND_OK && !E.listening) {
            E.listening = 1;
            E.backoff_ms = 100;
            if (E.logged_down)
                rz__log(RZ_LOG_INFO, "bus", "LISTEN connection is back");
            E.logged_down = 0;
            /* Whatever was published while we were not listening. */
            claim_all();
            wake_topic(NULL);
        }
        PQclear(r);
    }
    PGnotify *n;
    while (E.pg && (n = PQnotifies(E.pg)) != NULL) {
        E.notifies++;
        wake_topic(n->extra);
        PQfreemem(n);
    }
    if (E.pg && PQstatus(E.pg) == CONNECTION_BAD)
        listen_down(PQerrorMessage(E.pg));
}

/* ---- lifecycle --------------------------------------------------------------------- */

int rz__bus_embedded_start(struct event_base *base)
{
    unsigned gen = E.gen;
    memset(&E, 0, sizeof(E));
    E.gen = gen + 1;
    E.base = base;
    E.backoff_ms = 100;
    E.nsubs = rz__bus_nsubs;
    E.subs = E.nsubs ? calloc(E.nsubs, sizeof(*E.subs)) : NULL;
    if (E.nsubs && !E.subs)
        goto fail;
    for (size_t i = 0; i < E.nsubs; i++) {
        E.subs[i].s = &rz__bus_subs[i];
        for (int k = 0; k < NPART; k++) {
            part_t *p = &E.subs[i].parts[k];
            p->no = k;
            if (!(p->repoll = evtimer_new(base, on_repoll, p)))
                goto fail;
        }
    }
    int64_t t = rz__bus_opts.lease_ms / 3, pi = rz__bus_opts.poll_interval_ms;
    struct timeval tick = {t / 1000, (t % 1000) * 1000}, poll = {pi / 1000, (pi % 1000) * 1000};
    E.claim_ev = event_new(base, -1, EV_PERSIST, on_claim_tick, NULL);
    E.poll_ev = event_new(base, -1, EV_PERSIST, on_poll, NULL);
    if (!E.claim_ev || !E.poll_ev || event_add(E.claim_ev, &tick) != 0 ||
        event_add(E.poll_ev, &poll) != 0)
        goto fail;
    E.prune_at = rz__mono_ms() + 5000; /* not in the first seconds of a start */
    if (E.nsubs)
        listen_connect();
    claim_all();
    return 0;
fail:
    rz__log(RZ_LOG_ERROR, "bus", "cannot start the embedded bus: out of memory");
    rz__bus_embedded_stop();
    return -1;
}

static void on_released(rz_dbres_t *res, void *u)
{
    if ((unsigned)(uintptr_t)u != E.gen)
        return;
    E.releasing = 0;
    E.released = 1;
}

/* Give our partitions back at once, so another member takes over now
 * rather than when the lease runs out. */
static void release(void)
{
    static const char sql[] =
        "WITH r AS (UPDATE rentezy.bus_positions SET owner = NULL, lease_until = NULL "
        "WHERE owner = $1 RETURNING 1) DELETE FROM rentezy.bus_members WHERE member = $1";
    const char *params[] = {rz__bus_instance()};
    if (rz__svc_db_query(NULL, 0, sql, 1, params, on_released, (void *)(uintptr_t)E.gen) ==
        RZ_OK)
        E.releasing = 1;
    else
        E.released = 1;
}

static void maybe_release(void)
{
    if (!E.draining || E.releasing || E.released)
        return;
    for (size_t i = 0; i < E.nsubs; i++)
        for (int k = 0; k < NPART; k++)
            if (E.subs[i].parts[k].busy)
                return;
    release();
}

void rz__bus_embedded_drain(void)
{
    if (!E.base)
        return;
    E.draining = 1;
    if (E.claim_ev)
        event_del(E.claim_ev);
    if (E.poll_ev)
        event_del(E.poll_ev);
    /* Events waiting out a backoff are not retried here: their batch
     * commits nothing and the next owner redelivers it.  Batches whose
     * handlers all answered are committed as usual. */
    for (size_t i = 0; i < E.nsubs; i++)
        for (int k = 0; k < NPART; k++) {
            esub_t *es = &E.subs[i];
            part_t *p = &es->parts[k];
            int running = 0;
            evtimer_del(p->repoll);
            for (int j = 0; j < p->n; j++) {
                running += p->ev[j]->running;
                if (p->ev[j]->backoff) {
                    event_free(p->ev[j]->backoff);
                    p->ev[j]->backoff = NULL;
                    p->abandoned = 1;
                }
            }
            if (p->n && p->abandoned && !running) {
                batch_free(p);
                p->busy = 0;
            }
        }
    maybe_release();
}

int rz__bus_embedded_pending(void)
{
    int n = 0;
    for (size_t i = 0; i < E.nsubs; i++)
        for (int k = 0; k < NPART; k++)
            n += E.subs[i].parts[k].busy;
    return n + (E.draining && !E.released);
}

void rz__bus_embedded_stop(void)
{
    E.gen++;
    for (size_t i = 0; i < E.nsubs && E.subs; i++)
        for (int k = 0; k < NPART; k++) {
            part_t *p = &E.subs[i].parts[k];
            batch_free(p);
            if (p->repoll)
                event_free(p->repoll);
        }
    free(E.subs);
    E.subs = NULL;
    E.nsubs = 0;
    if (E.claim_ev)
        event_free(E.claim_ev);
    if (E.poll_ev)
        event_free(E.poll_ev);
    E.claim_ev = E.poll_ev = NULL;
    struct event_base *base = E.base;
    E.base = NULL; /* listen_down must not schedule a retry */
    listen_down("stopping");
    if (E.retry_set)
        evtimer_del(&E.retry);
    E.retry_set = 0;
    (void)base;
}

int rz__bus_embedded_ready(const char **why)
{
    if (E.nsubs == 0 || E.listening)
        return 1;
    *why = "bus: the LISTEN connection to PostgreSQL is down";
    return 0;
}

void rz__bus_embedded_metrics(struct evbuffer *out, int worker)
{
    evbuffer_add_printf(out, "# TYPE rentezy_bus_partitions_owned gauge\n");
    for (size_t i = 0; i < E.nsubs; i++) {
        int owned = 0;
        for (int k = 0; k < NPART; k++)
            owned += E.subs[i].parts[k].owned;
        evbuffer_add_printf(out,
                            "rentezy_bus_partitions_owned{worker=\"%d\",topic=\"%s\","
                            "group=\"%s\"} %d\n",
                            worker, E.subs[i].s->topic, E.subs[i].s->group, owned);
    }
    evbuffer_add_printf(out,
                        "# TYPE rentezy_bus_embedded_total counter\n"
                        "rentezy_bus_embedded_total{worker=\"%d\",what=\"fetches\"} %llu\n"
                        "rentezy_bus_embedded_total{worker=\"%d\",what=\"commits\"} %llu\n"
                        "rentezy_bus_embedded_total{worker=\"%d\",what=\"lost\"} %llu\n"
                        "rentezy_bus_embedded_total{worker=\"%d\",what=\"notifies\"} %llu\n"
                        "rentezy_bus_embedded_total{worker=\"%d\",what=\"pruned\"} %llu\n"
                        "# TYPE rentezy_bus_listening gauge\n"
                        "rentezy_bus_listening{worker=\"%d\"} %d\n",
                        worker, (unsigned long long)E.fetches, worker,
                        (unsigned long long)E.commits, worker, (unsigned long long)E.lost, worker,
                        (unsigned long long)E.notifies, worker, (unsigned long long)E.pruned,
                        worker, E.listening);
}
