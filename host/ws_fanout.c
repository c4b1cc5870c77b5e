/*
 * ws_fanout.c — cross-process delivery through the event bus (see
 * ws_fanout.h and docs/decisions/0006-websocket.md).
 *
 * Publishing: pushes queue in this worker; at most one statement is in
 * flight, and whatever queued meanwhile goes out in the next one as ONE
 * event of "ws-push" (data {"p": [[user, text], ...]}), written straight
 * into the outbox with one NOTIFY.  One event per batch, not per push: the
 * cost of a push is then a few bytes of one row, and a burst of 10,000
 * pushes is a few dozen rows, not 10,000 rentezy.publish calls (~50 us
 * each).  rentezy.publish is not used because its per-subject head exists
 * to order concurrent publishers of one subject; here the subject is this
 * worker (instance + worker index) and its statements never overlap.
 * The NOTIFY names the partition ("ws-push#P"), so the embedded backend's
 * consumers fetch that partition only, not all 16 (bus_embedded.c).
 *
 * Receiving: a host broadcast subscription (rz__bus_subscribe_host), so
 * every worker of every pod reads every batch.  A fresh instance reads the
 * topic from its beginning (a minute at most, see RETAIN_S) and skips what
 * was written before it started: "start at the latest offset" looked
 * simpler but raced, because a Kafka consumer resolves "latest" per
 * partition when it first fetches that partition, possibly after a batch
 * had landed there (seen in 31_ws_kafka.sh).  A worker skips its own
 * batches (delivered locally when sent) but notes that one came back: that
 * is what makes the link "up"; until then an empty batch goes out every
 * second to prove the path end to end.
 */
#include "ws_fanout.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/event.h>

#include "bus.h"
#include "clock.h"
#include "db.h"
#include "host.h"
#include "log.h"
#include "rentezy/plugin.h"

#define MAX_QUEUED 20000
#define MAX_QUEUED_BYTES (16u << 20)
#define BATCH_ITEMS 2000
#define BATCH_BYTES (256u << 10) /* well under Kafka's default 1 MB message */
#define HELLO_MS 1000
#define PRUNE_MS 10000
#define RETAIN_S "60" /* a push older than this is worthless: deleted */
#define START_SLACK_MS 2000 /* clocks of pods and database differ a little */

typedef struct item {
    struct item *next;
    size_t ulen, len;
    char data[]; /* user NUL text NUL */
} item_t;

static struct {
    struct event_base *base;
    rz_ws_fanout_fn deliver;
    struct event *tick;
    char subject[128];     /* this worker's: instance.wN */
    int busy, seen_own;
    size_t inflight;       /* pushes in the batch being written */
    unsigned gen;          /* bumped by stop: late callbacks are ignored */
    int64_t last_hello, last_prune;
    int64_t start_ms;      /* wall clock at start, minus the slack */
    item_t *head, *tail;   /* owned */
    size_t queued, queued_bytes;
    uint64_t published, batches, received, dropped, failed, stale;
} F;

static void drop_items(item_t *it)
{
    while (it) {
        item_t *n = it->next;
        free(it);
        it = n;
    }
}

/* ---- receiving ------------------------------------------------------------------- */

static void on_event(rz_event_t *ev, void *udata)
{
    (void)udata;
    if (F.base && strcmp(rz__svc_event_subject(ev), F.subject) == 0) {
        F.seen_own = 1; /* ours: delivered locally when it was sent */
        rz__svc_bus_done(ev, RZ_BUS_OK, NULL);
        return;
    }
    if (rz__svc_event_time_ms(ev) < F.start_ms) {
        F.stale++; /* from before this worker had connections */
        rz__svc_bus_done(ev, RZ_BUS_OK, NULL);
        return;
    }
    const char *data = rz__svc_event_data(ev);
    cJSON *j = F.base ? cJSON_Parse(data) : NULL;
    cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "p"), *e;
    cJSON_ArrayForEach(e, p)
    {
        cJSON *u = cJSON_GetArrayItem(e, 0), *t = cJSON_GetArrayItem(e, 1);
        if (!cJSON_IsString(u) || !cJSON_IsString(t))
            continue;
        F.received++;
        F.deliver(u->valuestring, t->valuestring, strlen(t->valuestring));
    }
    cJSON_Delete(j);
    /* Never RETRY: a push redelivered later is worse than one lost. */
    rz__svc_bus_done(ev, RZ_BUS_OK, NULL);
}

int rz__ws_fanout_register(void)
{
    int rc = rz__bus_subscribe_host(RZ_WS_FANOUT_TOPIC, RZ_WS_FANOUT_GROUP, RZ_BUS_BROADCAST,
                                    on_event, NULL);
    return rc == RZ_OK || rc == RZ_EEXIST ? 0 : -1;
}

/* ---- publishing ------------------------------------------------------------------ */

static void send_next(int hello);

static void on_written(rz_dbres_t *res, void *u)
{
    if ((unsigned)(uintptr_t)u != F.gen || !F.base)
        return;
    F.busy = 0;
    if (rz__svc_dbres_status(res) != RZ_OK) {
        F.dropped += F.inflight;
        if (F.failed++ % 100 == 0)
            rz__log(RZ_LOG_WARN, "ws", "fan-out batch not written (%s); pushes reach only "
                                       "this process meanwhile",
                    rz__svc_dbres_message(res));
    }
    send_next(0);
}

/* Append s as a JSON string (cJSON's escaping, without building a tree). */
static int add_json_string(struct evbuffer *b, const char *s)
{
    cJSON tmp = {.type = cJSON_String, .valuestring = (char *)s};
    char buf[256];
    if (strlen(s) * 6 + 3 < sizeof(buf) && cJSON_PrintPreallocated(&tmp, buf, sizeof(buf), 0))
        return evbuffer_add(b, buf, strlen(buf));
    char *q = cJSON_PrintUnformatted(&tmp);
    if (!q)
        return -1;
    int rc = evbuffer_add(b, q, strlen(q));
    cJSON_free(q);
    return rc;
}

/* Write what is queued as one event; with hello, even an empty one. */
static void send_next(int hello)
{
    static const char sql[] =
        "WITH e AS (INSERT INTO rentezy.outbox (topic, type, source, subject, data) "
        "VALUES ('" RZ_WS_FANOUT_TOPIC "', 'ws.push', 'host', $1, $2::jsonb) RETURNING part) "
        "SELECT pg_notify('rentezy_bus', '" RZ_WS_FANOUT_TOPIC "#' || part) FROM e";
    if (F.busy || !F.base || (!F.head && !hello))
        return;
    struct evbuffer *b = evbuffer_new();
    if (!b)
        return;
    size_t n = 0, bytes = 0;
    int bad = evbuffer_add(b, "{\"p\":[", 6);
    item_t *taken = F.head;
    while (F.head && n < BATCH_ITEMS && bytes < BATCH_BYTES) {
        item_t *it = F.head;
        F.head = it->next;
        bad |= n ? evbuffer_add(b, ",[", 2) : evbuffer_add(b, "[", 1);
        n++;
        bad |= add_json_string(b, it->data);
        bad |= evbuffer_add(b, ",", 1);
        bad |= add_json_string(b, it->data + it->ulen + 1);
        bad |= evbuffer_add(b, "]", 1);
        bytes += it->len;
        F.queued--;
        F.queued_bytes -= it->len;
        if (!F.head || n == BATCH_ITEMS || bytes >= BATCH_BYTES)
            it->next = NULL; /* cut the taken run off the queue */
    }
    if (!F.head)
        F.tail = NULL;
    if (!n)
        taken = NULL;
    bad |= evbuffer_add(b, "]}", 3); /* with the NUL */
    const char *data = bad ? NULL : (const char *)evbuffer_pullup(b, -1);
    const char *params[] = {F.subject, data};
    if (!n)
        F.last_hello = rz__mono_ms();
    if (data && rz__svc_db_query(NULL, 0, sql, 2, params, on_written,
                                 (void *)(uintptr_t)F.gen) == RZ_OK) {
        F.busy = 1;
        F.inflight = n;
        F.published += n;
        F.batches++;
    } else {
        F.dropped += n;
    }
    drop_items(taken);
    evbuffer_free(b);
}

static void on_pruned(rz_dbres_t *res, void *u)
{
    if (rz__svc_dbres_status(res) == RZ_ERR)
        rz__log(RZ_LOG_WARN, "ws", "deleting old fan-out batches failed: %s",
                rz__svc_dbres_message(res));
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    int64_t now = rz__mono_ms();
    if (!F.seen_own && !F.busy && now - F.last_hello >= HELLO_MS)
        send_next(1);
    /* One worker per process deletes; across pods they race harmlessly. */
    if (rz__rt.worker_index == 0 && now - F.last_prune >= PRUNE_MS) {
        /* By seq over the topic's partial index (host migration 7): the
         * first young batch bounds the old ones, so the statement costs
         * what it deletes.  It holds an xid, and no consumer passes an open
         * one: it must stay short. */
        static const char sql[] =
            "DELETE FROM rentezy.outbox WHERE seq IN (SELECT o.seq FROM rentezy.outbox o "
            "WHERE o.topic = '" RZ_WS_FANOUT_TOPIC "' AND o.seq < coalesce((SELECT y.seq "
            "FROM rentezy.outbox y WHERE y.topic = '" RZ_WS_FANOUT_TOPIC "' AND y.time >= "
            "clock_timestamp() - interval '" RETAIN_S " seconds' ORDER BY y.seq LIMIT 1), "
            "9223372036854775807) AND o.time < clock_timestamp() - interval '" RETAIN_S
            " seconds' ORDER BY o.seq LIMIT 5000)";
        F.last_prune = now;
        rz__svc_db_query(NULL, 0, sql, 0, NULL, on_pruned, NULL);
    }
}

int rz__ws_fanout_start(struct event_base *base, rz_ws_fanout_fn deliver)
{
    rz__ws_fanout_stop();
    F.base = base;
    F.deliver = deliver;
    F.seen_own = 0;
    F.last_hello = F.last_prune = rz__mono_ms();
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts); /* not rz__now_ms: tests move that one */
    F.start_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 - START_SLACK_MS;
    snprintf(F.subject, sizeof(F.subject), "%s.w%d", rz__bus_instance(), rz__rt.worker_index);
    struct timeval tv = {0, 250 * 1000};
    if (!(F.tick = event_new(base, -1, EV_PERSIST, on_tick, NULL)) || event_add(F.tick, &tv) < 0) {
        rz__ws_fanout_stop();
        return -1;
    }
    return 0;
}

int rz__ws_fanout_publish(const char *user, const char *text, size_t len)
{
    size_t ul = strlen(user);
    for (size_t i = 0; i < ul; i++)
        if ((uint8_t)user[i] < 0x20)
            return RZ_EINVAL;
    if (ul + len + 1 > RZ_WS_FANOUT_MAX)
        return RZ_EINVAL;
    if (!F.base || F.queued >= MAX_QUEUED || F.queued_bytes + len > MAX_QUEUED_BYTES) {
        F.dropped++;
        return RZ_EUNAVAIL;
    }
    item_t *it = malloc(sizeof(*it) + ul + len + 2);
    if (!it)
        return RZ_ENOMEM;
    memcpy(it->data, user, ul + 1);
    memcpy(it->data + ul + 1, text, len);
    it->data[ul + 1 + len] = '\0';
    it->ulen = ul;
    it->len = ul + len;
    it->next = NULL;
    if (F.tail)
        F.tail->next = it;
    else
        F.head = it;
    F.tail = it;
    F.queued++;
    F.queued_bytes += it->len;
    send_next(0);
    return RZ_OK;
}

int rz__ws_fanout_up(void)
{
    const char *why;
    return F.base && F.seen_own && rz__bus_ready_check(&why);
}

void rz__ws_fanout_stop(void)
{
    F.gen++;
    F.base = NULL;
    if (F.tick)
        event_free(F.tick);
    F.tick = NULL;
    F.busy = 0;
    drop_items(F.head);
    F.head = F.tail = NULL;
    F.queued = F.queued_bytes = 0;
}

void rz__ws_fanout_metrics(struct evbuffer *out, int worker)
{
    if (!F.subject[0])
        return;
    evbuffer_add_printf(out,
                        "# HELP rentezy_ws_fanout_up 1 when this worker's own fan-out batches "
                        "come back through the bus.\n"
                        "# TYPE rentezy_ws_fanout_up gauge\n"
                        "rentezy_ws_fanout_up{worker=\"%d\"} %d\n"
                        "# HELP rentezy_ws_fanout_published_total Pushes sent to other processes.\n"
                        "# TYPE rentezy_ws_fanout_published_total counter\n"
                        "rentezy_ws_fanout_published_total{worker=\"%d\"} %llu\n"
                        "# HELP rentezy_ws_fanout_batches_total Bus events written (one per batch).\n"
                        "# TYPE rentezy_ws_fanout_batches_total counter\n"
                        "rentezy_ws_fanout_batches_total{worker=\"%d\"} %llu\n"
                        "# HELP rentezy_ws_fanout_received_total Pushes from other processes.\n"
                        "# TYPE rentezy_ws_fanout_received_total counter\n"
                        "rentezy_ws_fanout_received_total{worker=\"%d\"} %llu\n"
                        "# HELP rentezy_ws_fanout_dropped_total Pushes not sent (queue full or "
                        "database refused).\n"
                        "# TYPE rentezy_ws_fanout_dropped_total counter\n"
                        "rentezy_ws_fanout_dropped_total{worker=\"%d\"} %llu\n"
                        "# HELP rentezy_ws_fanout_stale_total Batches skipped: written before "
                        "this worker started.\n"
                        "# TYPE rentezy_ws_fanout_stale_total counter\n"
                        "rentezy_ws_fanout_stale_total{worker=\"%d\"} %llu\n",
                        worker, rz__ws_fanout_up(), worker, (unsigned long long)F.published,
                        worker, (unsigned long long)F.batches, worker,
                        (unsigned long long)F.received, worker,
                        (unsigned long long)F.dropped, worker, (unsigned long long)F.stale);
}
