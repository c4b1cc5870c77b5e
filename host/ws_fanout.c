/*
 * ws_fanout.c — cross-process delivery over PostgreSQL LISTEN/NOTIFY (see
 * ws_fanout.h).
 *
 * One dedicated libpq connection per worker, non-blocking, driven by the
 * loop: it LISTENs on "rentezy_ws" and sends our notifications.  At most one
 * statement is in flight; whatever queues meanwhile goes out in the next one
 * as an array (SELECT pg_notify(...) FROM unnest($1::text[])), so a burst
 * costs one round trip, not one per message.
 *
 * Payload: "<seq>\n<user>\n<json>".  The sequence number is there because
 * PostgreSQL folds identical payloads sent in one transaction into one
 * notification, and two identical pushes to one user must both arrive.
 * Our own notifications come back to us too; they are recognised by the
 * backend pid and skipped (ws.c has delivered locally already).
 */
#include "ws_fanout.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <libpq-fe.h>

#include "log.h"
#include "rentezy/plugin.h"

#define CHANNEL "rentezy_ws"
#define MAX_QUEUED 4096
#define MAX_QUEUED_BYTES (8u << 20)
#define BATCH_ITEMS 256
#define BATCH_BYTES (512u << 10)
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

typedef struct item {
    struct item *next;
    size_t len;
    char data[]; /* "<seq>\n<user>\n<json>", NUL-terminated */
} item_t;

static struct {
    struct event_base *base;
    char *url;                /* owned */
    rz_ws_fanout_fn deliver;
    PGconn *pg;
    struct event io, retry;
    int io_set, retry_set;
    short watching;
    int connecting, listening, busy, logged_down;
    int64_t backoff_ms;
    item_t *head, *tail;      /* owned */
    size_t queued, queued_bytes;
    uint64_t seq, published, received, dropped, reconnects;
} F;

static void on_io(evutil_socket_t fd, short what, void *arg);
static void start_connect(void);

static void watch(short what)
{
    int fd = F.pg ? PQsocket(F.pg) : -1;
    if (F.io_set) {
        event_del(&F.io);
        F.io_set = 0;
    }
    if (fd < 0 || what == 0 || !F.base)
        return;
    event_assign(&F.io, F.base, fd, what | EV_PERSIST, on_io, NULL);
    if (event_add(&F.io, NULL) == 0)
        F.io_set = 1;
    F.watching = what;
}

static void drop_queue(void)
{
    while (F.head) {
        item_t *it = F.head;
        F.head = it->next;
        free(it);
        F.dropped++;
    }
    F.tail = NULL;
    F.queued = F.queued_bytes = 0;
}

static void on_retry(evutil_socket_t fd, short what, void *arg) { start_connect(); }

/* The link died or never came up: forget it, try again later. */
static void link_down(const char *why)
{
    if (!F.logged_down)
        rz__log(RZ_LOG_WARN, "ws", "fan-out link to PostgreSQL down: %s; pushes reach only "
                                   "this process until it is back", why);
    F.logged_down = 1;
    watch(0);
    if (F.pg)
        PQfinish(F.pg);
    F.pg = NULL;
    F.connecting = F.listening = F.busy = 0;
    drop_queue();
    if (!F.base)
        return;
    struct timeval tv = {F.backoff_ms / 1000, (F.backoff_ms % 1000) * 1000};
    F.backoff_ms = F.backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : F.backoff_ms * 2;
    if (!F.retry_set) {
        evtimer_assign(&F.retry, F.base, on_retry, NULL);
        F.retry_set = 1;
    }
    evtimer_add(&F.retry, &tv);
}

static void start_connect(void)
{
    F.pg = PQconnectStart(F.url);
    if (!F.pg || PQstatus(F.pg) == CONNECTION_BAD) {
        link_down(F.pg ? PQerrorMessage(F.pg) : "out of memory");
        return;
    }
    F.connecting = 1;
    F.reconnects++;
    watch(EV_WRITE); /* PQconnectPoll starts as if it had said WRITING */
}

/* Flush libpq's output; wait for writability while it has more. */
static int flush_out(void)
{
    int r = PQflush(F.pg);
    if (r < 0)
        return -1;
    short want = r == 1 ? (EV_READ | EV_WRITE) : EV_READ;
    if (want != F.watching)
        watch(want);
    return 0;
}

/* Append s as one double-quoted element of an array literal. */
static void array_elem(struct evbuffer *b, const char *s)
{
    evbuffer_add(b, "\"", 1);
    for (const char *p = s;; p++) {
        const char *q = p;
        while (*q && *q != '"' && *q != '\\')
            q++;
        evbuffer_add(b, p, (size_t)(q - p));
        if (!*q)
            break;
        evbuffer_add(b, "\\", 1);
        evbuffer_add(b, q, 1);
        p = q;
    }
    evbuffer_add(b, "\"", 1);
}

static void send_next(void)
{
    if (F.busy || !F.listening || !F.head)
        return;
    struct evbuffer *b = evbuffer_new();
    if (!b)
        return;
    size_t n = 0, bytes = 0;
    evbuffer_add(b, "{", 1);
    while (F.head && n < BATCH_ITEMS && bytes < BATCH_BYTES) {
        item_t *it = F.head;
        F.head = it->next;
        if (n++)
            evbuffer_add(b, ",", 1);
        array_elem(b, it->data);
        bytes += it->len;
        F.queued--;
        F.queued_bytes -= it->len;
        free(it);
    }
    if (!F.head)
        F.tail = NULL;
    evbuffer_add(b, "}", 2); /* with the NUL */
    const char *arr = (const char *)evbuffer_pullup(b, -1);
    int ok = arr && PQsendQueryParams(F.pg, "SELECT pg_notify('" CHANNEL "', x) FROM unnest($1::text[]) AS x",
                                      1, NULL, &arr, NULL, NULL, 0);
    evbuffer_free(b);
    if (!ok) {
        F.dropped += n;
        link_down(PQerrorMessage(F.pg));
        return;
    }
    F.published += n;
    F.busy = 1;
    if (flush_out() < 0)
        link_down(PQerrorMessage(F.pg));
}

static void on_connected(void)
{
    F.connecting = 0;
    PQsetnonblocking(F.pg, 1);
    if (!PQsendQuery(F.pg, "LISTEN " CHANNEL)) {
        link_down(PQerrorMessage(F.pg));
        return;
    }
    F.busy = 1;
    if (flush_out() < 0)
        link_down(PQerrorMessage(F.pg));
}

static void handle_notify(PGnotify *n)
{
    if (n->be_pid == PQbackendPID(F.pg) || strcmp(n->relname, CHANNEL) != 0)
        return; /* ours: delivered locally when it was sent */
    char *user = strchr(n->extra, '\n');
    char *text = user ? strchr(user + 1, '\n') : NULL;
    if (!text)
        return;
    *text++ = '\0';
    F.received++;
    F.deliver(user + 1, text, strlen(text));
}

static void on_io(evutil_socket_t fd, short what, void *arg)
{
    if (F.connecting) {
        switch (PQconnectPoll(F.pg)) {
        case PGRES_POLLING_OK:
            on_connected();
            return;
        case PGRES_POLLING_READING:
            watch(EV_READ);
            return;
        case PGRES_POLLING_WRITING:
            watch(EV_WRITE);
            return;
        default:
            link_down(PQerrorMessage(F.pg));
            return;
        }
    }
    if ((what & EV_WRITE) && flush_out() < 0) {
        link_down(PQerrorMessage(F.pg));
        return;
    }
    if (!(what & EV_READ))
        return;
    if (!PQconsumeInput(F.pg)) {
        link_down(PQerrorMessage(F.pg));
        return;
    }
    while (F.busy && !PQisBusy(F.pg)) {
        PGresult *r = PQgetResult(F.pg);
        if (!r) { /* the statement is complete */
            F.busy = 0;
            break;
        }
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_COMMAND_OK && !F.listening) {
            F.listening = 1;
            F.backoff_ms = BACKOFF_MIN_MS;
            if (F.logged_down)
                rz__log(RZ_LOG_INFO, "ws", "fan-out link to PostgreSQL is back");
            F.logged_down = 0;
        } else if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
            rz__log(RZ_LOG_WARN, "ws", "fan-out statement failed: %s", PQresultErrorMessage(r));
        }
        PQclear(r);
    }
    PGnotify *n;
    while ((n = PQnotifies(F.pg)) != NULL) {
        handle_notify(n);
        PQfreemem(n);
        if (!F.pg)
            return; /* a delivery cannot stop us today, but stay safe */
    }
    if (PQstatus(F.pg) == CONNECTION_BAD) {
        link_down(PQerrorMessage(F.pg));
        return;
    }
    send_next();
}

int rz__ws_fanout_start(struct event_base *base, const char *url, rz_ws_fanout_fn deliver)
{
    rz__ws_fanout_stop();
    if (!(F.url = strdup(url)))
        return -1;
    F.base = base;
    F.deliver = deliver;
    F.backoff_ms = BACKOFF_MIN_MS;
    start_connect();
    return 0;
}

int rz__ws_fanout_publish(const char *user, const char *text, size_t len)
{
    if (strchr(user, '\n'))
        return RZ_EINVAL;
    size_t ul = strlen(user);
    if (ul + len + 1 > RZ_WS_FANOUT_MAX)
        return RZ_EINVAL;
    if (!F.base || !F.listening || F.queued >= MAX_QUEUED ||
        F.queued_bytes + len > MAX_QUEUED_BYTES) {
        F.dropped++;
        return RZ_EUNAVAIL;
    }
    item_t *it = malloc(sizeof(*it) + ul + len + 24);
    if (!it)
        return RZ_ENOMEM;
    int h = snprintf(it->data, 24 + ul, "%llu\n%s\n", (unsigned long long)++F.seq, user);
    memcpy(it->data + h, text, len);
    it->data[h + len] = '\0';
    it->len = (size_t)h + len;
    it->next = NULL;
    if (F.tail)
        F.tail->next = it;
    else
        F.head = it;
    F.tail = it;
    F.queued++;
    F.queued_bytes += it->len;
    send_next();
    return RZ_OK;
}

int rz__ws_fanout_up(void) { return F.listening; }

void rz__ws_fanout_stop(void)
{
    F.base = NULL; /* link_down must not schedule a retry */
    watch(0);
    if (F.retry_set)
        event_del(&F.retry);
    F.retry_set = 0;
    if (F.pg)
        PQfinish(F.pg);
    F.pg = NULL;
    F.connecting = F.listening = F.busy = 0;
    drop_queue();
    free(F.url);
    F.url = NULL;
}

void rz__ws_fanout_metrics(struct evbuffer *out, int worker)
{
    if (!F.url)
        return;
    evbuffer_add_printf(out,
                        "# HELP rentezy_ws_fanout_up 1 when this worker's fan-out link listens.\n"
                        "# TYPE rentezy_ws_fanout_up gauge\n"
                        "rentezy_ws_fanout_up{worker=\"%d\"} %d\n"
                        "# HELP rentezy_ws_fanout_published_total Pushes sent to other processes.\n"
                        "# TYPE rentezy_ws_fanout_published_total counter\n"
                        "rentezy_ws_fanout_published_total{worker=\"%d\"} %llu\n"
                        "# HELP rentezy_ws_fanout_received_total Pushes from other processes.\n"
                        "# TYPE rentezy_ws_fanout_received_total counter\n"
                        "rentezy_ws_fanout_received_total{worker=\"%d\"} %llu\n"
                        "# HELP rentezy_ws_fanout_dropped_total Pushes lost while the link was down.\n"
                        "# TYPE rentezy_ws_fanout_dropped_total counter\n"
                        "rentezy_ws_fanout_dropped_total{worker=\"%d\"} %llu\n",
                        worker, F.listening, worker, (unsigned long long)F.published, worker,
                        (unsigned long long)F.received, worker, (unsigned long long)F.dropped);
}
