/*
 * bus_kafka.c — the `kafka` backend (see bus.h): the producer, the
 * consumers, replays, /metrics and readiness.  The relay that moves outbox
 * rows to Kafka is bus_relay.c; it produces through this file's producer.
 *
 * Consumers: one librdkafka consumer per subscription, group.id = the
 * consumer group (group, or group:instance for broadcast), manual commits:
 * an offset is committed only once the handler said OK (or the event was
 * stored as a dead letter), asynchronously, every COMMIT_EVERY events and
 * on the 200 ms tick.  Messages of one partition are handled one after the
 * other (the key is the subject, so that is order per subject); partitions
 * run concurrently.  Dead letters go to rentezy.bus_dead (what `rentezyd
 * bus dlq` works on) and to <topic>.dlq.
 *
 * Statistics: every handle reports librdkafka's statistics every 2 s; the
 * figures /metrics shows, the consumer lag, and the brokers that are up
 * (the readiness probe) come from there.
 *
 * Event loop: each rd_kafka queue writes to a pipe when it becomes
 * non-empty (FIELD-NOTES), a libevent read event drains the pipe and polls
 * until the queue is empty; a 200 ms timer is the safety net.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>

#include "bus_int.h"
#include "clock.h"
#include "db.h"
#include "host.h"
#include "log.h"

#define MAX_INFLIGHT 20000 /* events held by one consumer before it stops polling */
#define COMMIT_EVERY 1000  /* events finished between two commits, at most */

/* ---- a librdkafka queue wired into the loop ----------------------------------- */

typedef struct kq {
    rd_kafka_queue_t *q;
    int fds[2];
    struct event *ev;
    void (*drain)(void *arg);
    void *arg;
} kq_t;

static void on_kq(evutil_socket_t fd, short what, void *arg)
{
    kq_t *k = arg;
    char buf[64];
    while (read(k->fds[0], buf, sizeof(buf)) > 0)
        ;
    k->drain(k->arg);
}

static int kq_open(kq_t *k, struct event_base *base, rd_kafka_queue_t *q,
                   void (*drain)(void *), void *arg)
{
    k->q = q;
    k->drain = drain;
    k->arg = arg;
    if (pipe2(k->fds, O_NONBLOCK | O_CLOEXEC) != 0)
        return -1;
    k->ev = event_new(base, k->fds[0], EV_READ | EV_PERSIST, on_kq, k);
    if (!k->ev || event_add(k->ev, NULL) != 0)
        return -1;
    rd_kafka_queue_io_event_enable(q, k->fds[1], "1", 1);
    drain(arg); /* whatever arrived before the pipe was there */
    return 0;
}

static void kq_close(kq_t *k)
{
    if (k->q) {
        rd_kafka_queue_io_event_enable(k->q, -1, NULL, 0);
        rd_kafka_queue_destroy(k->q);
    }
    if (k->ev)
        event_free(k->ev);
    if (k->q) {
        close(k->fds[0]);
        close(k->fds[1]);
    }
    memset(k, 0, sizeof(*k));
}

/* ---- shared state ------------------------------------------------------------- */

/* The figures of one handle's last statistics callback (the whole JSON is
 * big; /metrics shows these). */
typedef struct kstat {
    int64_t at;            /* rz__mono_ms of the callback, 0 = none yet */
    int64_t txmsgs, rxmsgs, tx_bytes, rx_bytes, txerrs, rxerrs, msg_cnt, replyq;
    int brokers_up;
    double rtt_ms;         /* average round trip of the brokers that are up */
} kstat_t;

typedef struct kpart {
    int32_t partition;
    rz_event_t **q;       /* q[h..h+n): waiting and running, in offset order; owned */
    size_t h, n, cap;     /* a window, so taking the head costs nothing however long */
    int running;          /* q[0] is in its handler (or storing a dead letter) */
    int pumping;          /* dispatch_head is on the stack */
    int64_t done_offset;  /* next offset to commit, -1 none */
    int64_t committed;
    int64_t hw;           /* high watermark, for lag */
    unsigned gen;         /* bumped on revoke: late settles are ignored */
} kpart_t;

typedef struct kcons {
    rz_bus_sub_t *s;
    rd_kafka_t *rk;
    kq_t kq;
    kpart_t *parts;       /* assigned partitions, owned */
    size_t nparts;
    int inflight;
    int dirty;            /* offsets to commit */
    int since_commit;     /* events finished since the last commit */
    int64_t replay_seen;  /* highest rentezy.bus_replays id applied */
    int replay_busy;
    int64_t lag;
    kstat_t st;
} kcons_t;

static struct {
    struct event_base *base;
    unsigned gen;         /* partition generations (bumped on revoke and replay) */
    unsigned life;        /* this start of the backend: late database answers of an
                             earlier start are ignored */
    kcons_t *cons;
    size_t ncons;
    rd_kafka_t *prod;     /* relay and dead letters; NULL until needed */
    kq_t pq;
    struct event *tick;
    int draining;
    /* broker health, from the statistics callbacks */
    int brokers_up;
    kstat_t pst;          /* the producer's statistics */
    uint64_t produced, produce_errors, consumed, committed, dlq;
    int relay;           /* this process runs a relay (bus_relay.c) */
} K;

/* ---- configuration of librdkafka handles ---------------------------------------- */

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
        K.brokers_up = 0;
    rz__log(err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ? RZ_LOG_WARN : RZ_LOG_DEBUG, "bus",
            "kafka %s: %s", rd_kafka_name(rk), reason);
}

static int64_t jint(cJSON *o, const char *name)
{
    cJSON *v = cJSON_GetObjectItem(o, name);
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}

/* librdkafka's statistics (statistics.interval.ms): keep the figures
 * /metrics shows, the brokers that are up (readiness) and, for a consumer,
 * its lag.  opaque is the consumer, NULL for the producer. */
static int on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
    cJSON *j = cJSON_ParseWithLength(json, len), *b;
    if (!j)
        return 0;
    kcons_t *c = opaque;
    kstat_t *st = c ? &c->st : &K.pst;
    int up = 0, any_up = 0, tried = 0;
    double rtt = 0;
    cJSON_ArrayForEach(b, cJSON_GetObjectItem(j, "brokers"))
    {
        const char *state = cJSON_GetStringValue(cJSON_GetObjectItem(b, "state"));
        cJSON *nodeid = cJSON_GetObjectItem(b, "nodeid");
        if (!state)
            continue;
        if (strcmp(state, "UP") == 0) {
            any_up = 1;
            if (cJSON_IsNumber(nodeid) && nodeid->valueint >= 0) {
                up++;
                rtt += (double)jint(cJSON_GetObjectItem(b, "rtt"), "avg") / 1000.0;
            }
        } else if (strcmp(state, "INIT") != 0) {
            tried = 1; /* connecting or down; INIT is a broker not needed yet */
        }
    }
    *st = (kstat_t){.at = rz__mono_ms(),
                    .txmsgs = jint(j, "txmsgs"),
                    .rxmsgs = jint(j, "rxmsgs"),
                    .tx_bytes = jint(j, "tx_bytes"),
                    .rx_bytes = jint(j, "rx_bytes"),
                    .msg_cnt = jint(j, "msg_cnt"),
                    .replyq = jint(j, "replyq"),
                    .brokers_up = up,
                    .rtt_ms = up ? rtt / up : 0};
    cJSON_ArrayForEach(b, cJSON_GetObjectItem(j, "brokers"))
    {
        st->txerrs += jint(b, "txerrs");
        st->rxerrs += jint(b, "rxerrs");
    }
    /* Readiness: a broker is up, or none answers though some were tried.
     * An idle handle (a standby relay's producer) knows nothing: no say. */
    if (any_up || tried)
        K.brokers_up = any_up ? (up ? up : 1) : 0;
    if (c) { /* lag per partition from its topics */
        int64_t lag = 0;
        cJSON *t, *p;
        cJSON_ArrayForEach(t, cJSON_GetObjectItem(j, "topics"))
        {
            cJSON_ArrayForEach(p, cJSON_GetObjectItem(t, "partitions"))
            {
                int64_t l = jint(p, "consumer_lag");
                if (l > 0)
                    lag += l;
            }
        }
        c->lag = lag;
    }
    cJSON_Delete(j);
    return 0;
}

static rd_kafka_conf_t *base_conf(const char *client, char *err, size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", rz__bus_opts.brokers, err, errlen) ||
        rd_kafka_conf_set(conf, "client.id", client, err, errlen) ||
        rd_kafka_conf_set(conf, "statistics.interval.ms", "2000", err, errlen) ||
        /* back within a second or two of a broker's return, not 10 s */
        rd_kafka_conf_set(conf, "reconnect.backoff.max.ms", "1000", err, errlen))
        goto fail;
    /* [bus.kafka] last, so an operator can override anything above */
    for (char **kv = rz__bus_opts.kprops; kv && kv[0] && kv[1]; kv += 2)
        if (rd_kafka_conf_set(conf, kv[0], kv[1], err, errlen) != RD_KAFKA_CONF_OK)
            goto fail;
    rd_kafka_conf_set_error_cb(conf, on_error);
    rd_kafka_conf_set_stats_cb(conf, on_stats);
    return conf;
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

/* ---- the producer (relay and dead letters) ------------------------------------------ */

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    uintptr_t what = (uintptr_t)m->_private; /* RZ_BUS_KAFKA_RELAY(batch) or _DEAD */
    static int64_t logged_at;
    static uint64_t unlogged;
    if (m->err) {
        K.produce_errors++;
        /* one line a second: an outage fails thousands of messages at once */
        if (rz__mono_ms() - logged_at >= 1000) {
            rz__log(RZ_LOG_WARN, "bus", "kafka: delivery to %s failed: %s (and %llu more "
                                        "since the last such line)",
                    rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err),
                    (unsigned long long)unlogged);
            logged_at = rz__mono_ms();
            unlogged = 0;
        } else {
            unlogged++;
        }
    } else {
        K.produced++;
    }
    if ((what & 3) == 1)
        rz__bus_relay_delivered(what >> 2, m->err == 0);
}

static void drain_prod(void *arg)
{
    while (K.prod && rd_kafka_poll(K.prod, 0) > 0)
        ;
}

static int producer(void)
{
    char err[512];
    if (K.prod)
        return 0;
    rd_kafka_conf_t *conf = base_conf("rentezyd-relay", err, sizeof(err));
    if (!conf || rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof(err)) ||
        rd_kafka_conf_set(conf, "acks", "all", err, sizeof(err)) ||
        rd_kafka_conf_set(conf, "linger.ms", "5", err, sizeof(err))) {
        if (conf)
            rd_kafka_conf_destroy(conf);
        rz__log(RZ_LOG_ERROR, "bus", "kafka producer: %s", err);
        return -1;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    if (!(K.prod = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err)))) {
        rz__log(RZ_LOG_ERROR, "bus", "kafka producer: %s", err);
        return -1;
    }
    if (kq_open(&K.pq, K.base, rd_kafka_queue_get_main(K.prod), drain_prod, NULL) != 0) {
        rz__log(RZ_LOG_ERROR, "bus", "kafka producer: cannot watch its queue");
        return -1;
    }
    return 0;
}

int rz__bus_kafka_produce(const char *topic, const char *key, const char *value,
                          const char *const *hdr, void *what)
{
    rd_kafka_headers_t *h = rd_kafka_headers_new(12);
    for (int i = 0; hdr[i]; i += 2)
        if (hdr[i + 1])
            rd_kafka_header_add(h, hdr[i], -1, hdr[i + 1], -1);
    rd_kafka_resp_err_t e = rd_kafka_producev(
        K.prod, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
        RD_KAFKA_V_VALUE((void *)value, strlen(value)), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_OPAQUE(what), RD_KAFKA_V_END);
    if (e) {
        rd_kafka_headers_destroy(h);
        K.produce_errors++;
        rz__log(RZ_LOG_WARN, "bus", "kafka: cannot produce to %s: %s", topic, rd_kafka_err2str(e));
        return -1;
    }
    return 0;
}

/* ---- consumers --------------------------------------------------------------------- */

static kpart_t *find_part(kcons_t *c, int32_t partition)
{
    for (size_t i = 0; i < c->nparts; i++)
        if (c->parts[i].partition == partition)
            return &c->parts[i];
    return NULL;
}

/* Run the head of p's queue, and the next ones as long as handlers answer
 * synchronously; a loop, never a recursion, however long the queue. */
static void dispatch_head(kcons_t *c, kpart_t *p)
{
    if (p->pumping)
        return;
    p->pumping = 1;
    while (p->n && !p->running && !K.draining) {
        p->running = 1;
        rz__bus_dispatch(p->q[p->h]);
    }
    p->pumping = 0;
}

typedef struct deadctx {
    kcons_t *c;
    rz_event_t *ev;
    unsigned gen, kgen;
} deadctx_t;

static void commit_offsets(kcons_t *c, int async);

static void finish(kcons_t *c, kpart_t *p, rz_event_t *ev)
{
    /* ev is the head */
    p->h = --p->n ? p->h + 1 : 0;
    p->running = 0;
    c->inflight--;
    p->done_offset = ev->koffset + 1;
    c->dirty = 1;
    rz__bus_event_free(ev);
    /* Commits are asynchronous and batched: every COMMIT_EVERY events, and
     * on the 200 ms tick for the rest. */
    if (++c->since_commit >= COMMIT_EVERY)
        commit_offsets(c, 1);
}

static void on_dead_stored(rz_dbres_t *res, void *u)
{
    deadctx_t *d = u;
    if (d->kgen != K.life) { /* the backend stopped meanwhile */
        rz__bus_event_free(d->ev);
        free(d);
        return;
    }
    kpart_t *p = find_part(d->c, (int32_t)d->ev->kpartition);
    if (!p || p->gen != d->gen || !p->n || p->q[p->h] != d->ev) {
        rz__bus_event_free(d->ev); /* revoked meanwhile: not committed, comes again */
        free(d);
        return;
    }
    if (rz__svc_dbres_status(res) != RZ_OK) {
        /* Cannot store it: leave the offset, try again shortly. */
        rz__log(RZ_LOG_WARN, "bus", "cannot store a dead letter: %s", rz__svc_dbres_message(res));
        p->running = 0;
        d->ev->attempt--; /* it is not another handler attempt */
        free(d);
        return;
    }
    K.dlq++;
    kcons_t *c = d->c;
    free(d);
    finish(c, p, p->q[p->h]);
    dispatch_head(c, p);
}

static void on_settle(rz_event_t *ev, int how, const char *why)
{
    kcons_t *c = ev->owner;
    kpart_t *p = find_part(c, (int32_t)ev->kpartition);
    if (!p || !p->n || p->q[p->h] != ev) {
        rz__bus_event_free(ev);
        return;
    }
    if (how == RZ_BUS_SETTLE_ABANDON) {
        p->running = 0; /* stays at the head; the tick retries */
        return;
    }
    if (how == RZ_BUS_SETTLE_DEAD) {
        static const char sql[] =
            "INSERT INTO rentezy.bus_dead (grp, topic, event_id, type, source, subject, version, "
            "time, traceparent, data, error, attempts) VALUES ($1, $2, $3, $4, $5, $6, "
            "$7::bigint, to_timestamp($8::bigint / 1000.0), $9, $10, $11, $12::int)";
        char ver[24], tms[24], att[16];
        snprintf(ver, sizeof(ver), "%lld", (long long)ev->version);
        snprintf(tms, sizeof(tms), "%lld", (long long)ev->time_ms);
        snprintf(att, sizeof(att), "%d", ev->attempt);
        const char *prm[] = {c->s->cgroup, ev->topic,       ev->id,  ev->type,
                             ev->source,   ev->subject,     ver,     tms,
                             ev->traceparent, ev->data,     why ? why : "dead", att};
        const char *hdr[] = {"rz-id",   ev->id,      "rz-type", ev->type,   "rz-source",
                             ev->source, "rz-group", c->s->cgroup, "rz-error", why,
                             NULL};
        char dlq[160];
        snprintf(dlq, sizeof(dlq), "%s.dlq", ev->topic);
        if (producer() == 0)
            rz__bus_kafka_produce(dlq, ev->subject, ev->data, hdr, RZ_BUS_KAFKA_DEAD);
        deadctx_t *d = malloc(sizeof(*d));
        if (d) {
            *d = (deadctx_t){c, ev, p->gen, K.life};
            if (rz__svc_db_query(NULL, 0, sql, 12, prm, on_dead_stored, d) == RZ_OK)
                return;
            free(d);
        }
        p->running = 0; /* not stored: the tick tries again */
        ev->attempt--;
        return;
    }
    finish(c, p, ev);
    if (!p->running)
        dispatch_head(c, p);
}

static const char *header(rd_kafka_headers_t *h, const char *name, char *buf, size_t cap)
{
    const void *v;
    size_t len;
    if (!h || rd_kafka_header_get_last(h, name, &v, &len) != RD_KAFKA_RESP_ERR_NO_ERROR || !v)
        return NULL;
    if (len >= cap)
        len = cap - 1;
    memcpy(buf, v, len);
    buf[len] = '\0';
    return buf;
}

static void take_message(kcons_t *c, rd_kafka_message_t *m)
{
    kpart_t *p = find_part(c, m->partition);
    if (!p)
        return; /* not assigned any more */
    rd_kafka_headers_t *h = NULL;
    rd_kafka_message_headers(m, &h);
    char id[64], type[160], source[80], ver[24], tms[24], tp[80], target[80];
    char *data = malloc(m->len + 1), *key = malloc(m->key_len + 1);
    if (!data || !key) {
        free(data);
        free(key);
        return;
    }
    memcpy(data, m->payload ? m->payload : "", m->len);
    data[m->len] = '\0';
    memcpy(key, m->key ? m->key : "", m->key_len);
    key[m->key_len] = '\0';
    const char *hid = header(h, "rz-id", id, sizeof(id));
    char fallback[64];
    if (!hid) {
        snprintf(fallback, sizeof(fallback), "%s/%d/%lld", rd_kafka_topic_name(m->rkt),
                 (int)m->partition, (long long)m->offset);
        hid = fallback;
    }
    rz_event_t *ev = rz__bus_event_new(c->s, hid, header(h, "rz-type", type, sizeof(type)),
                                       rd_kafka_topic_name(m->rkt),
                                       header(h, "rz-source", source, sizeof(source)), key, data,
                                       header(h, "rz-traceparent", tp, sizeof(tp)), NULL,
                                       header(h, "rz-target", target, sizeof(target)));
    free(data);
    free(key);
    if (!ev)
        return;
    ev->version = header(h, "rz-version", ver, sizeof(ver)) ? strtoll(ver, NULL, 10) : 0;
    ev->time_ms = header(h, "rz-time", tms, sizeof(tms)) ? strtoll(tms, NULL, 10)
                                                          : rd_kafka_message_timestamp(m, NULL);
    ev->kpartition = m->partition;
    ev->koffset = m->offset;
    ev->settle = on_settle;
    ev->owner = c;
    if (p->h + p->n == p->cap && p->h > 0 && p->h >= p->cap / 2) {
        memmove(p->q, p->q + p->h, p->n * sizeof(*p->q)); /* amortised: h >= n */
        p->h = 0;
    }
    if (p->h + p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        rz_event_t **q = realloc(p->q, cap * sizeof(*q));
        if (!q) {
            rz__bus_event_free(ev);
            return;
        }
        p->q = q;
        p->cap = cap;
    }
    p->q[p->h + p->n++] = ev;
    c->inflight++;
    K.consumed++;
    dispatch_head(c, p);
}

static void commit_offsets(kcons_t *c, int async)
{
    if (!c->dirty || !c->rk)
        return;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)c->nparts);
    for (size_t i = 0; i < c->nparts; i++) {
        kpart_t *p = &c->parts[i];
        if (p->done_offset >= 0 && p->done_offset != p->committed) {
            rd_kafka_topic_partition_list_add(l, c->s->topic, p->partition)->offset =
                p->done_offset;
            p->committed = p->done_offset;
        }
    }
    if (l->cnt) {
        rd_kafka_resp_err_t e = rd_kafka_commit(c->rk, l, async);
        if (e && e != RD_KAFKA_RESP_ERR__NO_OFFSET)
            rz__log(RZ_LOG_DEBUG, "bus", "kafka commit (%s): %s", c->s->cgroup,
                    rd_kafka_err2str(e));
        K.committed += (uint64_t)l->cnt;
    }
    rd_kafka_topic_partition_list_destroy(l);
    c->dirty = 0;
    c->since_commit = 0;
}

static void drop_parts(kcons_t *c)
{
    for (size_t i = 0; i < c->nparts; i++) {
        kpart_t *p = &c->parts[i];
        for (size_t j = p->h; j < p->h + p->n; j++)
            if (rz__bus_event_abandon(p->q[j]))
                rz__bus_event_free(p->q[j]);
        c->inflight -= (int)p->n;
        free(p->q);
    }
    free(c->parts);
    c->parts = NULL;
    c->nparts = 0;
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    kcons_t *c = opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        drop_parts(c);
        c->parts = calloc((size_t)parts->cnt, sizeof(*c->parts));
        for (int i = 0; c->parts && i < parts->cnt; i++) {
            c->parts[i].partition = parts->elems[i].partition;
            c->parts[i].done_offset = c->parts[i].committed = -1;
            c->parts[i].gen = ++K.gen;
        }
        c->nparts = c->parts ? (size_t)parts->cnt : 0;
        rd_kafka_assign(rk, parts);
    } else {
        /* Commit what is done (synchronously: the next owner starts there),
         * forget the rest: it comes again to whoever gets the partition. */
        c->dirty = 1;
        commit_offsets(c, 0);
        drop_parts(c);
        rd_kafka_assign(rk, NULL);
    }
}

static void drain_cons(void *arg)
{
    kcons_t *c = arg;
    while (c->rk && c->inflight < MAX_INFLIGHT && !K.draining) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, 0);
        if (!m)
            break;
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                rz__log(RZ_LOG_DEBUG, "bus", "kafka consumer %s: %s", c->s->cgroup,
                        rd_kafka_message_errstr(m));
        } else {
            take_message(c, m);
        }
        rd_kafka_message_destroy(m);
    }
}

static int has_kprop(const char *key)
{
    for (char **kv = rz__bus_opts.kprops; kv && kv[0] && kv[1]; kv += 2)
        if (strcmp(kv[0], key) == 0)
            return 1;
    return 0;
}

static int consumer(kcons_t *c)
{
    char err[512], client[160];
    snprintf(client, sizeof(client), "rentezyd-%s", rz__bus_instance());
    rd_kafka_conf_t *conf = base_conf(client, err, sizeof(err));
    if (!conf || rd_kafka_conf_set(conf, "group.id", c->s->cgroup, err, sizeof(err)) ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err)) ||
        rd_kafka_conf_set(conf, "enable.auto.offset.store", "false", err, sizeof(err)) ||
        /* publish-to-handler latency: do not let a broker sit on a fetch
         * for the default 500 ms ([bus.kafka] may override) */
        (!has_kprop("fetch.wait.max.ms") &&
         rd_kafka_conf_set(conf, "fetch.wait.max.ms", "10", err, sizeof(err))) ||
        rd_kafka_conf_set(conf, "auto.offset.reset", c->s->start_latest ? "latest" : "earliest",
                          err, sizeof(err))) {
        if (conf)
            rd_kafka_conf_destroy(conf);
        goto fail;
    }
    rd_kafka_conf_set_opaque(conf, c);
    rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    if (!(c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err))))
        goto fail;
    rd_kafka_poll_set_consumer(c->rk);
    rd_kafka_topic_partition_list_t *t = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(t, c->s->topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(c->rk, t);
    rd_kafka_topic_partition_list_destroy(t);
    if (e) {
        snprintf(err, sizeof(err), "subscribe: %s", rd_kafka_err2str(e));
        goto fail;
    }
    if (kq_open(&c->kq, K.base, rd_kafka_queue_get_consumer(c->rk), drain_cons, c) != 0) {
        snprintf(err, sizeof(err), "cannot watch the consumer queue");
        goto fail;
    }
    return 0;
fail:
    rz__log(RZ_LOG_ERROR, "bus", "kafka consumer %s/%s: %s", c->s->topic, c->s->cgroup, err);
    return -1;
}

/* ---- replay requests (rentezyd bus replay) ---------------------------------------------- */

static void on_replays(rz_dbres_t *res, void *u)
{
    if ((unsigned)(uintptr_t)u != K.life || rz__svc_dbres_status(res) != RZ_OK)
        goto done;
    for (int r = 0; r < rz__svc_dbres_rows(res); r++) {
        int64_t id = strtoll(rz__svc_dbres_value(res, r, 0), NULL, 10);
        const char *grp = rz__svc_dbres_value(res, r, 1), *topic = rz__svc_dbres_value(res, r, 2);
        int64_t from = strtoll(rz__svc_dbres_value(res, r, 3), NULL, 10);
        for (size_t i = 0; i < K.ncons; i++) {
            kcons_t *c = &K.cons[i];
            if (id <= c->replay_seen || strcmp(c->s->group, grp) != 0 ||
                strcmp(c->s->topic, topic) != 0)
                continue;
            c->replay_seen = id;
            if (!c->rk || !c->nparts)
                continue;
            /* Re-assign our partitions at the new start: that is a seek,
             * and the next commits move the group there. */
            rd_kafka_topic_partition_list_t *l =
                rd_kafka_topic_partition_list_new((int)c->nparts);
            for (size_t k = 0; k < c->nparts; k++)
                rd_kafka_topic_partition_list_add(l, topic, c->parts[k].partition)->offset =
                    from < 0 ? RD_KAFKA_OFFSET_BEGINNING : from;
            if (from >= 0)
                rd_kafka_offsets_for_times(c->rk, l, 5000);
            for (size_t k = 0; k < c->nparts; k++) {
                kpart_t *p = &c->parts[k];
                for (size_t j = p->h; j < p->h + p->n; j++)
                    if (rz__bus_event_abandon(p->q[j]))
                        rz__bus_event_free(p->q[j]);
                c->inflight -= (int)p->n;
                p->n = p->h = 0;
                p->running = 0;
                p->gen = ++K.gen;
                p->done_offset = p->committed = -1;
            }
            rd_kafka_assign(c->rk, l);
            rd_kafka_topic_partition_list_destroy(l);
            rz__log(RZ_LOG_INFO, "bus", "%s/%s: replaying (request %lld)", topic, c->s->cgroup,
                    (long long)id);
        }
    }
done:
    for (size_t i = 0; i < K.ncons && (unsigned)(uintptr_t)u == K.life; i++)
        K.cons[i].replay_busy = 0;
}

static void poll_replays(int first)
{
    static const char sql[] =
        "SELECT id, grp, topic, from_ms FROM rentezy.bus_replays WHERE id > $1::bigint ORDER BY id";
    int64_t seen = INT64_MAX;
    for (size_t i = 0; i < K.ncons; i++) {
        if (K.cons[i].replay_busy)
            return;
        if (K.cons[i].replay_seen < seen)
            seen = K.cons[i].replay_seen;
    }
    if (!K.ncons)
        return;
    char s[24];
    snprintf(s, sizeof(s), "%lld", (long long)seen);
    const char *p[] = {s};
    if (rz__svc_db_query(NULL, 0, sql, 1, p, on_replays, (void *)(uintptr_t)K.life) == RZ_OK)
        for (size_t i = 0; i < K.ncons; i++)
            K.cons[i].replay_busy = 1;
}

static void on_replay_base(rz_dbres_t *res, void *u)
{
    if ((unsigned)(uintptr_t)u != K.life || rz__svc_dbres_status(res) != RZ_OK)
        return;
    int64_t max = strtoll(rz__svc_dbres_value(res, 0, 0), NULL, 10);
    for (size_t i = 0; i < K.ncons; i++)
        K.cons[i].replay_seen = max;
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

static int64_t replay_at;

/* `rentezyd bus status` asks Kafka for the offsets of the groups consuming
 * here (the mock cluster cannot list groups): each consumer says which
 * group reads which topic in rentezy.bus_members as grp "kafka/<group>",
 * member "<topic>/<instance>", every 2 s ('/' is in no group name, so the
 * embedded backend never counts these rows as members of its groups);
 * bus_prune forgets them after [bus] member_expiry. */
static void heartbeat(void)
{
    static const char sql[] =
        "INSERT INTO rentezy.bus_members AS m (grp, member, seen_at) "
        "SELECT 'kafka/' || g, t || '/' || $3, clock_timestamp() "
        "FROM unnest($1::text[], $2::text[]) AS u(g, t) "
        "ON CONFLICT (grp, member) DO UPDATE SET seen_at = EXCLUDED.seen_at";
    if (!K.ncons)
        return;
    char **g = calloc(K.ncons + 1, sizeof(*g)), **t = calloc(K.ncons + 1, sizeof(*t));
    for (size_t i = 0; g && t && i < K.ncons; i++) {
        g[i] = K.cons[i].s->cgroup;
        t[i] = K.cons[i].s->topic;
    }
    char *ga = g && t ? rz__bus_text_array(g) : NULL, *ta = g && t ? rz__bus_text_array(t) : NULL;
    if (ga && ta) {
        const char *p[] = {ga, ta, rz__bus_instance()};
        rz__svc_db_query(NULL, 0, sql, 3, p, NULL, NULL);
    }
    free(ga);
    free(ta);
    free(g);
    free(t);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    for (size_t i = 0; i < K.ncons; i++) {
        kcons_t *c = &K.cons[i];
        drain_cons(c);
        commit_offsets(c, 1);
        for (size_t k = 0; k < c->nparts && !K.draining; k++)
            dispatch_head(c, &c->parts[k]);
    }
    drain_prod(NULL);
    if (K.relay)
        rz__bus_relay_tick();
    if (rz__mono_ms() >= replay_at) {
        replay_at = rz__mono_ms() + 2000;
        poll_replays(0);
        heartbeat();
        rz__bus_housekeeping();
    }
}

int rz__bus_kafka_start(struct event_base *base)
{
    unsigned gen = K.gen, life = K.life;
    memset(&K, 0, sizeof(K));
    K.gen = gen + 1;
    K.life = life + 1;
    K.base = base;
    K.brokers_up = -1; /* unknown until the first statistics */
    K.ncons = rz__bus_nsubs;
    K.cons = K.ncons ? calloc(K.ncons, sizeof(*K.cons)) : NULL;
    if (K.ncons && !K.cons)
        goto fail;
    for (size_t i = 0; i < K.ncons; i++) {
        K.cons[i].s = &rz__bus_subs[i];
        if (consumer(&K.cons[i]) != 0)
            goto fail;
    }
    if (K.ncons) {
        static const char sql[] = "SELECT coalesce(max(id), 0) FROM rentezy.bus_replays";
        rz__svc_db_query(NULL, 0, sql, 0, NULL, on_replay_base, (void *)(uintptr_t)K.life);
    }
    if (rz__bus_opts.relay && rz__rt.worker_index <= 0) {
        if (producer() != 0)
            goto fail;
        K.relay = 1;
        rz__bus_relay_start(base);
    }
    struct timeval tv = {0, 200 * 1000};
    K.tick = event_new(base, -1, EV_PERSIST, on_tick, NULL);
    if (!K.tick || event_add(K.tick, &tv) != 0)
        goto fail;
    replay_at = rz__mono_ms() + 1000;
    return 0;
fail:
    rz__bus_kafka_stop();
    return -1;
}

void rz__bus_kafka_drain(void)
{
    K.draining = 1;
    /* Handlers running finish; the tick commits their offsets.  The relay
     * fetches no more; what it produced is acknowledged and committed. */
    if (K.relay)
        rz__bus_relay_drain();
}

int rz__bus_kafka_pending(void)
{
    int n = 0;
    for (size_t i = 0; i < K.ncons; i++)
        for (size_t k = 0; k < K.cons[i].nparts; k++)
            n += K.cons[i].parts[k].running;
    if (K.relay)
        n += rz__bus_relay_pending();
    return n;
}

void rz__bus_kafka_stop(void)
{
    K.gen++;
    K.life++;
    for (size_t i = 0; i < K.ncons; i++) {
        kcons_t *c = &K.cons[i];
        if (c->rk) {
            c->dirty = 1;
            commit_offsets(c, 0);
            kq_close(&c->kq);
            rd_kafka_consumer_close(c->rk);
            drop_parts(c);
            rd_kafka_destroy(c->rk);
        }
        drop_parts(c);
    }
    free(K.cons);
    K.cons = NULL;
    K.ncons = 0;
    if (K.relay)
        rz__bus_relay_stop();
    K.relay = 0;
    if (K.prod) {
        rd_kafka_flush(K.prod, 2000);
        kq_close(&K.pq);
        rd_kafka_destroy(K.prod);
        K.prod = NULL;
    }
    if (K.tick)
        event_free(K.tick);
    K.tick = NULL;
}

int rz__bus_kafka_ready(const char **why)
{
    if (K.brokers_up == 0) {
        *why = "bus: no Kafka broker is reachable";
        return 0;
    }
    return 1;
}

/* gauges == 0: one handle's counters; 1: its gauges (one family at a time). */
static void stat_lines(struct evbuffer *out, int worker, const char *client, const kstat_t *st,
                       int gauges)
{
    static const char *const cnames[] = {"txmsgs", "rxmsgs", "tx_bytes", "rx_bytes", "txerrs",
                                         "rxerrs"};
    static const char *const gnames[] = {"queued", "replyq", "brokers_up", "rtt_ms",
                                         "stats_age_ms"};
    double c[] = {(double)st->txmsgs,   (double)st->rxmsgs, (double)st->tx_bytes,
                  (double)st->rx_bytes, (double)st->txerrs, (double)st->rxerrs};
    double g[] = {(double)st->msg_cnt, (double)st->replyq, st->brokers_up, st->rtt_ms,
                  (double)(rz__mono_ms() - st->at)};
    if (!st->at)
        return;
    for (int i = 0; i < (gauges ? 5 : 6); i++)
        evbuffer_add_printf(out, "rentezy_bus_kafka_client%s{worker=\"%d\",client=\"%s\","
                                 "what=\"%s\"} %.*f\n",
                            gauges ? "" : "_total", worker, client,
                            gauges ? gnames[i] : cnames[i], gauges && i == 3 ? 3 : 0,
                            gauges ? g[i] : c[i]);
}

void rz__bus_kafka_metrics(struct evbuffer *out, int worker)
{
    evbuffer_add_printf(out,
                        "# TYPE rentezy_bus_kafka_total counter\n"
                        "rentezy_bus_kafka_total{worker=\"%d\",what=\"produced\"} %llu\n"
                        "rentezy_bus_kafka_total{worker=\"%d\",what=\"produce_errors\"} %llu\n"
                        "rentezy_bus_kafka_total{worker=\"%d\",what=\"consumed\"} %llu\n"
                        "rentezy_bus_kafka_total{worker=\"%d\",what=\"committed\"} %llu\n"
                        "rentezy_bus_kafka_total{worker=\"%d\",what=\"dead_letters\"} %llu\n"
                        "# TYPE rentezy_bus_kafka_brokers_up gauge\n"
                        "rentezy_bus_kafka_brokers_up{worker=\"%d\"} %d\n",
                        worker, (unsigned long long)K.produced, worker,
                        (unsigned long long)K.produce_errors, worker,
                        (unsigned long long)K.consumed, worker, (unsigned long long)K.committed,
                        worker, (unsigned long long)K.dlq, worker,
                        K.brokers_up < 0 ? 0 : K.brokers_up);
    if (K.relay)
        rz__bus_relay_metrics(out, worker);
    evbuffer_add_printf(out, "# TYPE rentezy_bus_kafka_lag gauge\n");
    for (size_t i = 0; i < K.ncons; i++)
        evbuffer_add_printf(out,
                            "rentezy_bus_kafka_lag{worker=\"%d\",topic=\"%s\",group=\"%s\"} "
                            "%lld\n",
                            worker, K.cons[i].s->topic, K.cons[i].s->group,
                            (long long)K.cons[i].lag);
    /* librdkafka's own statistics, per client handle */
    char client[200];
    for (int gauges = 0; gauges < 2; gauges++) {
        evbuffer_add_printf(out, gauges ? "# TYPE rentezy_bus_kafka_client gauge\n"
                                        : "# TYPE rentezy_bus_kafka_client_total counter\n");
        if (K.prod)
            stat_lines(out, worker, "producer", &K.pst, gauges);
        for (size_t i = 0; i < K.ncons; i++) {
            snprintf(client, sizeof(client), "%s/%s", K.cons[i].s->topic, K.cons[i].s->group);
            stat_lines(out, worker, client, &K.cons[i].st, gauges);
        }
    }
}
