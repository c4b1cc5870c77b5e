/*
 * ws.c — WebSocket connections (see ws.h).
 *
 * A connection owns its socket once rz__http_takeover has handed it over.
 * Input is read into one scratch buffer per worker and decoded in place
 * (ws_frame.c); only a message arriving in pieces is copied, into the
 * connection's reassembly buffer.  Output goes into an evbuffer written with
 * writev; sends made during one loop iteration are flushed together from a
 * "dirty" list, so a plugin sending ten messages costs one system call.
 *
 * States: OPEN -> CLOSING (we sent a close frame, we wait for the peer's)
 * -> LINGER (protocol over: flush, shut down our side, discard input until
 * the peer closes or close_timeout) -> freed.  A peer's close, a protocol
 * error or a full send queue goes from OPEN straight to LINGER.  Plugins see
 * only OPEN: on_close runs when a connection leaves it.
 *
 * A connection is freed only from an event callback at the top of the
 * stack (read, write, flush, sweep), never from inside a service call, so a
 * plugin callback can never find the connection it was given freed under
 * it, and the user index can be walked while plugins send.
 */
#include "ws.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <event2/util.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "authz.h"
#include "clock.h"
#include "db.h"
#include "host.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "openapi.h"
#include "ws_fanout.h"
#include "ws_frame.h"

#define MAX_CHANNELS 64
#define MAX_ORIGINS 32
#define SCRATCH (64 * 1024)
#define KEEP_MSG_BUF 4096 /* a reassembly buffer this small is kept between messages */
#define SWEEP_MS 1000

/* ---- configuration ([websocket]) ------------------------------------------------ */

static struct {
    uint64_t max_message, max_send_queue;
    int64_t ping_interval_ms, idle_timeout_ms, close_timeout_ms, max_connections;
    char *origins[MAX_ORIGINS]; /* owned */
    size_t norigins;
    int test_tokens;
} conf = {.max_message = 1 << 20, .max_send_queue = 4 << 20, .ping_interval_ms = 30000,
          .idle_timeout_ms = 90000, .close_timeout_ms = 5000, .max_connections = 100000};

static const char *const ws_keys[] = {"origins", "max_message_size", "max_send_queue",
                                      "ping_interval", "idle_timeout", "close_timeout",
                                      "max_connections", "test_tokens", NULL};

int rz__ws_configure(const rz_config_t *cfg, char *err, size_t errlen)
{
    uint64_t msg, queue;
    int64_t ping, idle, closet, maxc;
    int test;
    const char *const *items;
    size_t n;
    if (rz__config_check_keys(cfg, "websocket", ws_keys, err, errlen) < 0 ||
        rz__config_size(cfg, "websocket", "max_message_size", 1 << 20, &msg, err, errlen) < 0 ||
        rz__config_size(cfg, "websocket", "max_send_queue", 4 << 20, &queue, err, errlen) < 0 ||
        rz__config_duration_ms(cfg, "websocket", "ping_interval", 30000, &ping, err, errlen) < 0 ||
        rz__config_duration_ms(cfg, "websocket", "idle_timeout", 90000, &idle, err, errlen) < 0 ||
        rz__config_duration_ms(cfg, "websocket", "close_timeout", 5000, &closet, err, errlen) < 0 ||
        rz__config_int(cfg, "websocket", "max_connections", 100000, &maxc, err, errlen) < 0 ||
        rz__config_bool(cfg, "websocket", "test_tokens", 0, &test, err, errlen) < 0 ||
        rz__config_list(cfg, "websocket", "origins", &items, &n, err, errlen) < 0)
        return -1;
    if (msg < 125 || msg > (1ull << 30) || queue < 64 * 1024 || ping < 100 || idle < ping ||
        closet < 100 || maxc < 1) {
        snprintf(err, errlen,
                 "[websocket] out of range: max_message_size 125..1GiB, max_send_queue >= 64KiB, "
                 "ping_interval >= 100ms, idle_timeout >= ping_interval, close_timeout >= 100ms, "
                 "max_connections >= 1");
        return -1;
    }
    if (n > MAX_ORIGINS) {
        snprintf(err, errlen, "[websocket] origins: at most %d entries", MAX_ORIGINS);
        return -1;
    }
    char *copy[MAX_ORIGINS];
    for (size_t i = 0; i < n; i++)
        if (!(copy[i] = strdup(items[i]))) {
            while (i-- > 0)
                free(copy[i]);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    for (size_t i = 0; i < conf.norigins; i++)
        free(conf.origins[i]);
    memcpy(conf.origins, copy, n * sizeof(copy[0]));
    conf.norigins = n;
    conf.max_message = msg;
    conf.max_send_queue = queue;
    conf.ping_interval_ms = ping;
    conf.idle_timeout_ms = idle;
    conf.close_timeout_ms = closet;
    conf.max_connections = maxc;
    conf.test_tokens = test;
    return 0;
}

/* ---- metrics: shared by every worker, like metrics.c ------------------------------ */

static const int close_codes[] = {1000, 1001, 1002, 1003, 1005, 1006, 1007,
                                  1008, 1009, 1010, 1011, 1013, 4001};
#define NCODES (sizeof(close_codes) / sizeof(close_codes[0]))

typedef struct ws_stats {
    int64_t open;
    uint64_t opened, refused, bytes_in, bytes_out, msgs_in, msgs_out, queue_overflows;
    uint64_t closed[NCODES + 1]; /* + other */
} ws_stats_t;

static ws_stats_t *stats_shm; /* RZ_METRICS_MAX_WORKERS slots, mapped by the master */
static ws_stats_t stats_local; /* when nothing is mapped (unit tests) */

static ws_stats_t *stats(void)
{
    int w = rz__rt.worker_index;
    if (!stats_shm)
        return &stats_local;
    return &stats_shm[w >= 0 && w < RZ_METRICS_MAX_WORKERS ? w : 0];
}

#define STAT_ADD(field, v) __atomic_fetch_add(&stats()->field, (v), __ATOMIC_RELAXED)

static void stat_closed(int code)
{
    size_t i = 0;
    while (i < NCODES && close_codes[i] != code)
        i++;
    STAT_ADD(closed[i], 1);
}

static uint64_t sum(size_t off)
{
    uint64_t s = 0;
    int n = stats_shm ? RZ_METRICS_MAX_WORKERS : 1;
    for (int w = 0; w < n; w++) {
        const char *slot = (const char *)(stats_shm ? &stats_shm[w] : &stats_local);
        s += __atomic_load_n((const uint64_t *)(slot + off), __ATOMIC_RELAXED);
    }
    return s;
}

static void render_metrics(struct evbuffer *out, int worker)
{
    static const struct { const char *name, *help; size_t off; } counters[] = {
        {"rentezy_ws_opened_total", "WebSocket connections opened.", offsetof(ws_stats_t, opened)},
        {"rentezy_ws_refused_total", "WebSocket handshakes refused.", offsetof(ws_stats_t, refused)},
        {"rentezy_ws_received_bytes_total", "WebSocket bytes read.", offsetof(ws_stats_t, bytes_in)},
        {"rentezy_ws_sent_bytes_total", "WebSocket bytes written.", offsetof(ws_stats_t, bytes_out)},
        {"rentezy_ws_received_messages_total", "WebSocket messages received.",
         offsetof(ws_stats_t, msgs_in)},
        {"rentezy_ws_sent_messages_total", "WebSocket messages queued to clients.",
         offsetof(ws_stats_t, msgs_out)},
        {"rentezy_ws_send_queue_overflows_total",
         "Connections closed because the client did not read.",
         offsetof(ws_stats_t, queue_overflows)},
    };
    evbuffer_add_printf(out,
                        "# HELP rentezy_ws_connections Open WebSocket connections.\n"
                        "# TYPE rentezy_ws_connections gauge\n"
                        "rentezy_ws_connections %lld\n",
                        (long long)sum(offsetof(ws_stats_t, open)));
    for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
        evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", counters[i].name,
                            counters[i].help, counters[i].name, counters[i].name,
                            (unsigned long long)sum(counters[i].off));
    evbuffer_add_printf(out, "# HELP rentezy_ws_closed_total WebSocket connections closed, by "
                             "close code (1006: no close handshake).\n"
                             "# TYPE rentezy_ws_closed_total counter\n");
    for (size_t i = 0; i <= NCODES; i++) {
        uint64_t v = sum(offsetof(ws_stats_t, closed) + i * sizeof(uint64_t));
        if (i < NCODES)
            evbuffer_add_printf(out, "rentezy_ws_closed_total{code=\"%d\"} %llu\n",
                                close_codes[i], (unsigned long long)v);
        else if (v)
            evbuffer_add_printf(out, "rentezy_ws_closed_total{code=\"other\"} %llu\n",
                                (unsigned long long)v);
    }
    rz__ws_fanout_metrics(out, worker);
}

/* ---- channels (registered in init, inherited by the workers) ------------------------ */

typedef struct channel {
    rz_channel_t ch;    /* copied, zero-padded past the plugin's size */
    char name[33];
    rz_plugin_t *owner;
} channel_t;

static channel_t channels[MAX_CHANNELS];
static size_t nchannels;

#define CHANNEL_MIN_SIZE (offsetof(rz_channel_t, udata) + sizeof(void *))

static int valid_channel_name(const char *s)
{
    if (!s || !(*s >= 'a' && *s <= 'z'))
        return 0;
    size_t i = 0;
    for (; s[i]; i++)
        if (i >= 32 || !((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
                         s[i] == '_'))
            return 0;
    return 1;
}

int rz__svc_ws_channel(rz_plugin_t *self, const rz_channel_t *c)
{
    if (!rz__rt.in_init) {
        rz__log(RZ_LOG_ERROR, rz__plugin_name(self), "ws_channel() is only allowed during init");
        return RZ_ESTATE;
    }
    if (!c || c->size < CHANNEL_MIN_SIZE || !valid_channel_name(c->name) ||
        strcmp(c->name, "error") == 0) {
        rz__log(RZ_LOG_ERROR, rz__plugin_name(self),
                "ws_channel(): NULL channel, .size not set, or invalid name '%s' "
                "(expected [a-z][a-z0-9_]*, at most 32, not \"error\")",
                c && c->size >= CHANNEL_MIN_SIZE && c->name ? c->name : "?");
        return RZ_EINVAL;
    }
    for (size_t i = 0; i < nchannels; i++)
        if (strcmp(channels[i].name, c->name) == 0) {
            rz__log(RZ_LOG_ERROR, rz__plugin_name(self),
                    "ws_channel(): channel '%s' is already registered by plugin %s", c->name,
                    rz__plugin_name(channels[i].owner));
            return RZ_EEXIST;
        }
    if (nchannels == MAX_CHANNELS)
        return RZ_ENOMEM;
    channel_t *ch = &channels[nchannels++];
    memset(ch, 0, sizeof(*ch));
    memcpy(&ch->ch, c, c->size < sizeof(ch->ch) ? c->size : sizeof(ch->ch));
    ch->ch.size = sizeof(ch->ch);
    snprintf(ch->name, sizeof(ch->name), "%s", c->name);
    ch->ch.name = ch->name;
    ch->owner = self;
    return RZ_OK;
}

static const channel_t *find_channel(const char *name)
{
    for (size_t i = 0; i < nchannels; i++)
        if (strcmp(channels[i].name, name) == 0)
            return &channels[i];
    return NULL;
}

/* ---- connections ------------------------------------------------------------------------- */

enum { WS_OPEN = 0, WS_CLOSING, WS_LINGER };

struct rz_ws {
    evutil_socket_t fd;
    struct event rev, wev;
    uint8_t state;
    uint8_t shut;         /* our side of TCP is shut down */
    uint8_t dirty;        /* on the flush list */
    uint8_t in_index;     /* in the user index */
    uint8_t offered_bearer;
    int close_code;       /* for metrics: received, else sent; 0 = none yet */
    rz_ws_decoder_t dec;
    /* a message arriving in pieces: direct points into the scratch buffer
     * while the whole message so far came in one read; else it is in msg */
    const uint8_t *direct;
    size_t direct_len;
    uint8_t *msg;         /* owned */
    size_t msg_len, msg_cap;
    struct evbuffer *out; /* owned; NULL while nothing was ever sent */
    int64_t exp_ms;       /* token expiry, host clock; 0 = none */
    int64_t last_rx;      /* monotonic ms of the last input */
    int64_t last_ping;    /* monotonic ms of our last ping */
    int64_t deadline;     /* monotonic ms: CLOSING/LINGER give up after it */
    void **slots;         /* per-plugin data, rz__rt.nplugins entries, owned */
    uint32_t uhash;
    rz_ws_t *prev, *next;   /* every connection of the worker */
    rz_ws_t *uprev, *unext; /* same bucket of the user index */
    rz_ws_t *dnext;         /* flush list */
    char user[64];
    char role[16];
};

static struct event_base *base;
static struct event *sweep_ev, *flush_ev;
static rz_ws_t *conns;
static size_t nconns;
static rz_ws_t *dirty_head;
static int draining;
static uint8_t *scratch; /* SCRATCH bytes, owned */

/* user index: chained hash of connections by user id */
static rz_ws_t **buckets;
static size_t nbuckets, nindexed;

static void conn_flush(rz_ws_t *c);
static void leave_open(rz_ws_t *c);

static uint32_t hash_str(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

static void index_add(rz_ws_t *c)
{
    if (nindexed + 1 > nbuckets * 2) { /* grow: keep chains short */
        size_t nb = nbuckets ? nbuckets * 4 : 256;
        rz_ws_t **b = calloc(nb, sizeof(*b));
        if (b) {
            for (size_t i = 0; i < nbuckets; i++)
                for (rz_ws_t *x = buckets[i], *next; x; x = next) {
                    next = x->unext;
                    size_t k = x->uhash & (nb - 1);
                    x->uprev = NULL;
                    x->unext = b[k];
                    if (b[k])
                        b[k]->uprev = x;
                    b[k] = x;
                }
            free(buckets);
            buckets = b;
            nbuckets = nb;
        } else if (!nbuckets) {
            return; /* no index at all: this connection gets no user pushes */
        }
    }
    size_t k = c->uhash & (nbuckets - 1);
    c->uprev = NULL;
    c->unext = buckets[k];
    if (buckets[k])
        buckets[k]->uprev = c;
    buckets[k] = c;
    c->in_index = 1;
    nindexed++;
}

static void index_remove(rz_ws_t *c)
{
    if (!c->in_index)
        return;
    if (c->uprev)
        c->uprev->unext = c->unext;
    else
        buckets[c->uhash & (nbuckets - 1)] = c->unext;
    if (c->unext)
        c->unext->uprev = c->uprev;
    c->in_index = 0;
    nindexed--;
}

static void mark_dirty(rz_ws_t *c)
{
    if (c->dirty)
        return;
    c->dirty = 1;
    c->dnext = dirty_head;
    dirty_head = c;
    event_active(flush_ev, EV_TIMEOUT, 0);
}

static void conn_free(rz_ws_t *c)
{
    if (c->state == WS_OPEN)
        leave_open(c); /* on_close for the plugins */
    if (c->dirty) {
        rz_ws_t **pp = &dirty_head;
        while (*pp != c)
            pp = &(*pp)->dnext;
        *pp = c->dnext;
    }
    index_remove(c);
    event_del(&c->rev);
    event_del(&c->wev);
    evutil_closesocket(c->fd);
    stat_closed(c->close_code ? c->close_code : RZ_WS_CLOSE_ABNORMAL);
    STAT_ADD(open, -1);
    if (c->prev)
        c->prev->next = c->next;
    else
        conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    nconns--;
    if (c->out)
        evbuffer_free(c->out);
    free(c->msg);
    free(c->slots);
    free(c);
}

/* Append one frame.  Data frames respect max_send_queue; control frames
 * (pong, close) always go in, they are tiny and they end the story. */
static int queue_frame(rz_ws_t *c, int opcode, const void *payload, size_t len)
{
    if (!c->out && !(c->out = evbuffer_new()))
        return RZ_ENOMEM;
    uint8_t h[RZ_WS_MAX_HEADER];
    size_t hl = rz_ws_frame_header(h, 1, opcode, len, NULL);
    if (evbuffer_add(c->out, h, hl) < 0 || (len && evbuffer_add(c->out, payload, len) < 0))
        return RZ_ENOMEM;
    mark_dirty(c);
    return RZ_OK;
}

static void send_close(rz_ws_t *c, int code, const char *reason)
{
    uint8_t p[125];
    size_t n = rz_ws_close_payload(p, code, reason);
    queue_frame(c, RZ_WS_OP_CLOSE, p, n);
}

/* The protocol is over for us: flush, shut down our side, wait for EOF. */
static void to_linger(rz_ws_t *c)
{
    if (c->state == WS_OPEN)
        leave_open(c);
    c->state = WS_LINGER;
    c->deadline = rz__mono_ms() + conf.close_timeout_ms;
    free(c->msg);
    c->msg = NULL;
    c->msg_len = c->msg_cap = 0;
    c->direct = NULL;
    mark_dirty(c); /* the flush shuts the socket down once out is empty */
}

/* Fail the connection (RFC 6455 7.1.7): send our close and stop reading. */
static void conn_fail(rz_ws_t *c, int code, const char *why)
{
    if (c->state == WS_LINGER)
        return;
    if (c->state == WS_OPEN) {
        rz__log(RZ_LOG_DEBUG, "ws", "closing %s's connection with %d: %s", c->user, code, why);
        send_close(c, code, why);
        if (!c->close_code)
            c->close_code = code;
    }
    to_linger(c);
}

/* Start the close handshake (we speak first, the peer answers). */
static void conn_close(rz_ws_t *c, int code, const char *reason)
{
    if (c->state != WS_OPEN)
        return;
    send_close(c, code, reason);
    c->close_code = code;
    c->state = WS_CLOSING;
    c->deadline = rz__mono_ms() + conf.close_timeout_ms;
    leave_open(c);
}

static void leave_open(rz_ws_t *c)
{
    c->state = WS_CLOSING; /* from here on ws_send refuses and ws_close is a no-op */
    for (size_t i = 0; i < nchannels; i++)
        if (channels[i].ch.on_close)
            channels[i].ch.on_close(c, channels[i].ch.udata);
}

/* ---- sending ------------------------------------------------------------------------------ */

/* Queue an encoded text message, or fail the connection when the client
 * has let too much pile up. */
static int send_text(rz_ws_t *c, const char *text, size_t len)
{
    if (c->state != WS_OPEN)
        return RZ_ESTATE;
    size_t queued = c->out ? evbuffer_get_length(c->out) : 0;
    if (queued + len + RZ_WS_MAX_HEADER > conf.max_send_queue) {
        STAT_ADD(queue_overflows, 1);
        rz__log(RZ_LOG_WARN, "ws", "user %s does not read: %zu bytes queued; closing with 1008",
                c->user, queued);
        conn_fail(c, RZ_WS_CLOSE_POLICY, "send queue limit exceeded");
        return RZ_EUNAVAIL;
    }
    int rc = queue_frame(c, RZ_WS_OP_TEXT, text, len);
    if (rc == RZ_OK)
        STAT_ADD(msgs_out, 1);
    return rc;
}

/* {"ch": channel, ...msg} as text; takes msg.  NULL on failure (*rc set). */
static char *encode(const char *channel, cJSON *msg, int *rc)
{
    *rc = RZ_EINVAL;
    if (!channel || !cJSON_IsObject(msg)) {
        cJSON_Delete(msg);
        return NULL;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(msg, "ch");
    cJSON *ch = cJSON_CreateString(channel);
    if (!ch) {
        *rc = RZ_ENOMEM;
        cJSON_Delete(msg);
        return NULL;
    }
    /* "ch" first, so a client can dispatch on the opening bytes */
    ch->next = msg->child;
    if (msg->child) {
        ch->prev = msg->child->prev;
        msg->child->prev = ch;
    } else {
        ch->prev = ch;
    }
    msg->child = ch;
    ch->string = cJSON_malloc(3); /* freed by cJSON_Delete with the same allocator */
    if (ch->string)
        memcpy(ch->string, "ch", 3);
    if (!ch->string) {
        *rc = RZ_ENOMEM;
        cJSON_Delete(msg);
        return NULL;
    }
    char *text = cJSON_PrintUnformatted(msg);
    cJSON_Delete(msg);
    if (!text)
        *rc = RZ_ENOMEM;
    return text;
}

int rz__svc_ws_send(rz_ws_t *ws, const char *channel, cJSON *msg)
{
    if (!ws) {
        cJSON_Delete(msg);
        return RZ_EINVAL;
    }
    if (ws->state != WS_OPEN) {
        cJSON_Delete(msg);
        return RZ_ESTATE;
    }
    int rc;
    char *text = encode(channel, msg, &rc);
    if (!text)
        return rc;
    rc = send_text(ws, text, strlen(text));
    cJSON_free(text);
    return rc;
}

/* Write the frame (header + payload) straight to a connection that has
 * nothing queued: no output buffer to create, fill, schedule and free, and
 * the frame is encoded once for all the user's connections.  What the
 * socket does not take (or an error, which the flush then finds) goes to
 * the queue as usual.  Never frees c: this runs inside a service call. */
static void send_frame_direct(rz_ws_t *c, const uint8_t *h, size_t hl, const char *text,
                              size_t len)
{
    struct iovec iov[2] = {{(void *)h, hl}, {(void *)text, len}};
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
    ssize_t n = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n == (ssize_t)(hl + len)) {
        STAT_ADD(bytes_out, (uint64_t)n);
        STAT_ADD(msgs_out, 1);
        return;
    }
    size_t done = n > 0 ? (size_t)n : 0;
    STAT_ADD(bytes_out, (uint64_t)done);
    STAT_ADD(msgs_out, 1);
    if (!c->out && !(c->out = evbuffer_new())) {
        conn_fail(c, RZ_WS_CLOSE_INTERNAL, "out of memory");
        return;
    }
    if ((done < hl && evbuffer_add(c->out, h + done, hl - done) < 0) ||
        evbuffer_add(c->out, text + (done > hl ? done - hl : 0), len - (done > hl ? done - hl : 0)) < 0) {
        conn_fail(c, RZ_WS_CLOSE_INTERNAL, "out of memory");
        return;
    }
    mark_dirty(c);
}

/* Every open connection of user in this worker. */
static void deliver_local(const char *user, const char *text, size_t len)
{
    if (!nbuckets)
        return;
    uint32_t h = hash_str(user);
    uint8_t hdr[RZ_WS_MAX_HEADER];
    size_t hl = 0;
    for (rz_ws_t *c = buckets[h & (nbuckets - 1)]; c; c = c->unext) {
        if (c->uhash != h || c->state != WS_OPEN || strcmp(c->user, user) != 0)
            continue;
        if (c->dirty || (c->out && evbuffer_get_length(c->out) > 0)) {
            send_text(c, text, len); /* behind what is queued */
            continue;
        }
        if (!hl)
            hl = rz_ws_frame_header(hdr, 1, RZ_WS_OP_TEXT, len, NULL);
        send_frame_direct(c, hdr, hl, text, len);
    }
}

static int valid_user_id(const char *u)
{
    size_t n = u ? strlen(u) : 0;
    if (n == 0 || n >= sizeof(((rz_ws_t *)0)->user))
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((uint8_t)u[i] < 0x20)
            return 0;
    return 1;
}

int rz__svc_ws_send_user(rz_plugin_t *self, const char *user_id, const char *channel,
                         cJSON *msg)
{
    if (!valid_user_id(user_id)) {
        cJSON_Delete(msg);
        return RZ_EINVAL;
    }
    int rc;
    char *text = encode(channel, msg, &rc);
    if (!text)
        return rc;
    size_t len = strlen(text);
    if (len + strlen(user_id) + 1 > RZ_WS_FANOUT_MAX) {
        rz__log(RZ_LOG_WARN, rz__plugin_name(self),
                "ws_send_user: a %zu-byte message is over the 7 KiB limit; send a reference", len);
        cJSON_free(text);
        return RZ_EINVAL;
    }
    deliver_local(user_id, text, len);
    rc = rz__db_configured() ? rz__ws_fanout_publish(user_id, text, len) : RZ_OK;
    cJSON_free(text);
    return rc;
}

const char *rz__svc_ws_user(rz_ws_t *ws) { return ws ? ws->user : NULL; }
const char *rz__svc_ws_role(rz_ws_t *ws) { return ws && ws->role[0] ? ws->role : NULL; }

static int plugin_slot(rz_plugin_t *self)
{
    for (size_t i = 0; i < rz__rt.nplugins; i++)
        if (rz__rt.plugins[i] == self)
            return (int)i;
    return -1;
}

void *rz__svc_ws_get_data(rz_ws_t *ws, rz_plugin_t *self)
{
    int i = plugin_slot(self);
    return ws && ws->slots && i >= 0 ? ws->slots[i] : NULL;
}

void rz__svc_ws_set_data(rz_ws_t *ws, rz_plugin_t *self, void *data)
{
    int i = plugin_slot(self);
    if (!ws || i < 0)
        return;
    if (!ws->slots) {
        if (!data)
            return;
        /* allocated on first use: most connections never need it */
        if (!(ws->slots = calloc(rz__rt.nplugins, sizeof(void *)))) {
            rz__log(RZ_LOG_ERROR, rz__plugin_name(self), "ws_set_data: out of memory");
            return;
        }
    }
    ws->slots[i] = data;
}

void rz__svc_ws_close(rz_ws_t *ws, int code, const char *reason)
{
    if (!ws)
        return;
    if (!(code == 1000 || code == 1001 || code == 1008 || code == 1011 ||
          (code >= 3000 && code <= 4999)))
        code = 1000;
    conn_close(ws, code, reason);
}

/* ---- receiving ---------------------------------------------------------------------- */

static void send_error(rz_ws_t *c, const char *code, const char *fmt, const char *arg)
{
    cJSON *m = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(m, "error");
    char msg[200];
    snprintf(msg, sizeof(msg), fmt, arg ? arg : "");
    if (!e || !cJSON_AddStringToObject(e, "code", code) ||
        !cJSON_AddStringToObject(e, "message", msg) ||
        (arg && !cJSON_AddStringToObject(e, "channel", arg))) {
        cJSON_Delete(m);
        return;
    }
    int rc;
    char *text = encode("error", m, &rc);
    if (text) {
        send_text(c, text, strlen(text));
        cJSON_free(text);
    }
}

static void on_message(rz_ws_t *c, int opcode, const uint8_t *p, size_t len)
{
    STAT_ADD(msgs_in, 1);
    if (c->state != WS_OPEN)
        return; /* closing: the peer's data no longer matters */
    if (opcode == RZ_WS_OP_BINARY) {
        conn_fail(c, RZ_WS_CLOSE_UNSUPPORTED, "only text (JSON) messages are accepted");
        return;
    }
    cJSON *msg = cJSON_ParseWithLength((const char *)p, len);
    if (!cJSON_IsObject(msg)) {
        cJSON_Delete(msg);
        send_error(c, "invalid_message", "a message must be a JSON object with \"ch\"", NULL);
        return;
    }
    cJSON *ch = cJSON_GetObjectItemCaseSensitive(msg, "ch");
    if (!cJSON_IsString(ch)) {
        cJSON_Delete(msg);
        send_error(c, "invalid_message", "a message needs \"ch\": the channel's name", NULL);
        return;
    }
    const channel_t *chan = find_channel(ch->valuestring);
    if (!chan || !chan->ch.on_message) {
        char name[40];
        snprintf(name, sizeof(name), "%.32s", ch->valuestring);
        cJSON_Delete(msg);
        send_error(c, "unknown_channel", "no channel named '%s'", name);
        return;
    }
    chan->ch.on_message(c, msg, chan->ch.udata);
    cJSON_Delete(msg);
}

/* Append to the reassembly buffer, bounded by max_message (the decoder has
 * already refused anything larger). */
static int msg_append(rz_ws_t *c, const uint8_t *p, size_t n)
{
    if (c->msg_len + n > c->msg_cap) {
        size_t cap = c->msg_cap ? c->msg_cap : 256;
        while (cap < c->msg_len + n)
            cap *= 2;
        if (cap > conf.max_message)
            cap = conf.max_message;
        uint8_t *m = realloc(c->msg, cap);
        if (!m)
            return -1;
        c->msg = m;
        c->msg_cap = cap;
    }
    memcpy(c->msg + c->msg_len, p, n);
    c->msg_len += n;
    return 0;
}

/* The message so far pointed into the scratch buffer: copy it out before
 * the scratch buffer is reused. */
static int keep_direct(rz_ws_t *c)
{
    if (!c->direct)
        return 0;
    const uint8_t *p = c->direct;
    c->direct = NULL;
    return msg_append(c, p, c->direct_len);
}

static void on_frame_event(rz_ws_t *c, const rz_ws_event_t *ev)
{
    switch (ev->type) {
    case RZ_WS_EV_DATA:
        if (c->state != WS_OPEN)
            break;
        if (c->msg_len == 0 && !c->direct) {
            c->direct = ev->data; /* zero copy while the message fits in this read */
            c->direct_len = ev->len;
        } else if (keep_direct(c) < 0 || msg_append(c, ev->data, ev->len) < 0) {
            conn_fail(c, RZ_WS_CLOSE_INTERNAL, "out of memory");
        }
        break;
    case RZ_WS_EV_MESSAGE:
        if (c->direct) {
            const uint8_t *p = c->direct;
            c->direct = NULL;
            on_message(c, ev->opcode, p, c->direct_len);
        } else {
            on_message(c, ev->opcode, c->msg ? c->msg : (const uint8_t *)"", c->msg_len);
        }
        c->msg_len = 0;
        if (c->msg_cap > KEEP_MSG_BUF) { /* give big buffers back */
            free(c->msg);
            c->msg = NULL;
            c->msg_cap = 0;
        }
        break;
    case RZ_WS_EV_PING:
        if (c->state == WS_OPEN)
            queue_frame(c, RZ_WS_OP_PONG, ev->data, ev->len);
        break;
    case RZ_WS_EV_PONG:
        break;
    case RZ_WS_EV_CLOSE:
        if (c->state == WS_OPEN) {
            /* echo the code; a close without one is answered without one */
            uint8_t p[2] = {(uint8_t)(ev->close_code >> 8), (uint8_t)ev->close_code};
            queue_frame(c, RZ_WS_OP_CLOSE, p, ev->close_code == RZ_WS_CLOSE_NO_STATUS ? 0 : 2);
            c->close_code = ev->close_code;
        }
        to_linger(c); /* handshake complete either way: the server closes TCP */
        break;
    case RZ_WS_EV_ERROR:
        conn_fail(c, ev->close_code, ev->why);
        break;
    }
}

/* Decode n bytes at p (in the scratch buffer, or a copy of the handshake's
 * leftovers). */
static void process_input(rz_ws_t *c, uint8_t *p, size_t n)
{
    size_t off = 0;
    rz_ws_event_t ev;
    do {
        off += rz_ws_decode(&c->dec, p + off, n - off, &ev);
        if (ev.type != RZ_WS_EV_NONE)
            on_frame_event(c, &ev);
    } while (ev.type != RZ_WS_EV_NONE && c->state != WS_LINGER);
    if (c->direct && keep_direct(c) < 0)
        conn_fail(c, RZ_WS_CLOSE_INTERNAL, "out of memory");
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
    rz_ws_t *c = arg;
    for (int round = 0; round < 4; round++) { /* bounded: be fair to the others */
        ssize_t n = read(fd, scratch, SCRATCH);
        if (n > 0) {
            STAT_ADD(bytes_in, (uint64_t)n);
            c->last_rx = rz__mono_ms();
            if (c->state != WS_LINGER)
                process_input(c, scratch, (size_t)n);
            if ((size_t)n < SCRATCH)
                break;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n < 0 && errno == EINTR)
            continue;
        conn_free(c); /* EOF or error: in LINGER that is the happy ending */
        return;
    }
}

/* ---- writing --------------------------------------------------------------------------- */

/* Write what we can.  Frees c when the protocol is over and all is said. */
static void conn_flush(rz_ws_t *c)
{
    while (c->out && evbuffer_get_length(c->out) > 0) {
        int n = evbuffer_write(c->out, c->fd);
        if (n > 0) {
            STAT_ADD(bytes_out, (uint64_t)n);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            break;
        conn_free(c); /* the peer is gone */
        return;
    }
    if (c->out && evbuffer_get_length(c->out) > 0) {
        event_add(&c->wev, NULL);
        return;
    }
    event_del(&c->wev);
    if (c->out && c->state == WS_OPEN) { /* idle connections keep no buffer */
        evbuffer_free(c->out);
        c->out = NULL;
    }
    if (c->state == WS_LINGER && !c->shut) {
        shutdown(c->fd, SHUT_WR);
        c->shut = 1;
    }
}

static void on_write(evutil_socket_t fd, short what, void *arg) { conn_flush(arg); }

static void flush_all(evutil_socket_t fd, short what, void *arg)
{
    while (dirty_head) {
        rz_ws_t *c = dirty_head;
        dirty_head = c->dnext;
        c->dirty = 0;
        conn_flush(c);
    }
}

/* ---- timers: expiry, keepalive, idle, close deadlines --------------------------------- */

static void sweep(evutil_socket_t fd, short what, void *arg)
{
    int64_t mono = rz__mono_ms(), now = rz__now_ms();
    for (rz_ws_t *c = conns, *next; c; c = next) {
        next = c->next;
        if (c->state != WS_OPEN) {
            if (mono >= c->deadline)
                conn_free(c); /* the peer never finished the close */
            continue;
        }
        if (c->exp_ms && now >= c->exp_ms) {
            conn_close(c, RZ_WS_CLOSE_TOKEN_EXPIRED, "token expired");
        } else if (mono - c->last_rx >= conf.idle_timeout_ms) {
            conn_close(c, RZ_WS_CLOSE_GOING_AWAY, "idle timeout");
        } else if (mono - c->last_rx >= conf.ping_interval_ms &&
                   mono - c->last_ping >= conf.ping_interval_ms) {
            c->last_ping = mono;
            queue_frame(c, RZ_WS_OP_PING, NULL, 0);
        }
    }
}

/* ---- the handshake ------------------------------------------------------------------------- */

/* Does the comma-separated header value contain token (case-insensitive)? */
static int has_token(const char *value, const char *token)
{
    size_t tl = strlen(token);
    for (const char *p = value; p && *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        const char *t = e;
        while (t > p && (t[-1] == ' ' || t[-1] == '\t'))
            t--;
        if ((size_t)(t - p) == tl && strncasecmp(p, token, tl) == 0)
            return 1;
        p = e;
    }
    return 0;
}

static int origin_allowed(const char *origin, const char *host)
{
    if (!origin)
        return 1; /* not a browser: Origin protects browsers, others can forge it */
    if (conf.norigins == 0) {
        /* default: same origin only — the Origin's host[:port] is our Host */
        const char *h = strstr(origin, "://");
        return h && host && strcasecmp(h + 3, host) == 0;
    }
    for (size_t i = 0; i < conf.norigins; i++)
        if (strcmp(conf.origins[i], "*") == 0 || strcasecmp(conf.origins[i], origin) == 0)
            return 1;
    return 0;
}

/* The access token: Authorization: Bearer, else a "bearer.<token>"
 * subprotocol, else ?access_token=.  *bearer_offered tells whether the
 * client also offered the plain "bearer" subprotocol (we then select it). */
static const char *find_token(rz_req_t *req, char *buf, size_t cap, int *bearer_offered)
{
    *bearer_offered = 0;
    const char *proto = rz__svc_req_header(req, "Sec-WebSocket-Protocol");
    if (proto)
        *bearer_offered = has_token(proto, "bearer");
    const char *auth = rz__svc_req_header(req, "Authorization");
    if (auth && strncasecmp(auth, "Bearer ", 7) == 0) {
        snprintf(buf, cap, "%s", auth + 7);
        return buf;
    }
    for (const char *p = proto; p && *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *e = p;
        while (*e && *e != ',' && *e != ' ')
            e++;
        if (e - p > 7 && strncmp(p, "bearer.", 7) == 0 && (size_t)(e - p - 7) < cap) {
            memcpy(buf, p + 7, (size_t)(e - p - 7));
            buf[e - p - 7] = '\0';
            return buf;
        }
        p = e;
    }
    const char *q = rz__svc_req_query(req, "access_token");
    if (q) {
        snprintf(buf, cap, "%s", q);
        return buf;
    }
    return NULL;
}

/* [websocket] test_tokens: "test.<user>.<role>.<exp unix seconds>" are
 * accepted as they are, so the suite runs without a token issuer. */
static int test_token(const char *tok, rz_identity_t *id, const char **why)
{
    char user[64], role[16];
    long long exp;
    int used = 0;
    if (sscanf(tok, "test.%63[^.].%15[^.].%lld%n", user, role, &exp, &used) != 3 ||
        tok[used] != '\0') {
        *why = "malformed test token (test.<user>.<role>.<exp>)";
        return -1;
    }
    if (exp * 1000 <= rz__now_ms()) {
        *why = "token expired";
        return -1;
    }
    memset(id, 0, sizeof(*id));
    snprintf(id->user, sizeof(id->user), "%s", user);
    snprintf(id->role, sizeof(id->role), "%s", role);
    id->exp_ms = exp * 1000;
    return 0;
}

static int accept_value(const char *key, char out[32])
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    char buf[128];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    int n = snprintf(buf, sizeof(buf), "%s%s", key, guid);
    if (n < 0 || (size_t)n >= sizeof(buf) ||
        !EVP_Digest(buf, (size_t)n, md, &mdlen, EVP_sha1(), NULL) || mdlen != 20)
        return -1;
    sodium_bin2base64(out, 32, md, 20, sodium_base64_VARIANT_ORIGINAL);
    return 0;
}

static void refuse(rz_req_t *req, int status, const char *code, const char *msg)
{
    STAT_ADD(refused, 1);
    rz__svc_reply_error(req, status, code, NULL, "%s", msg);
}

static rz_ws_t *conn_new(evutil_socket_t fd, const rz_identity_t *id)
{
    rz_ws_t *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->fd = fd;
    if (event_assign(&c->rev, base, fd, EV_READ | EV_PERSIST, on_read, c) < 0 ||
        event_assign(&c->wev, base, fd, EV_WRITE | EV_PERSIST, on_write, c) < 0 ||
        event_add(&c->rev, NULL) < 0) {
        free(c);
        return NULL;
    }
    c->dec.expect_masked = 1;
    c->dec.max_message = conf.max_message;
    snprintf(c->user, sizeof(c->user), "%s", id->user);
    snprintf(c->role, sizeof(c->role), "%s", id->role);
    c->exp_ms = id->exp_ms;
    c->uhash = hash_str(c->user);
    c->last_rx = c->last_ping = rz__mono_ms();
    c->next = conns;
    if (conns)
        conns->prev = c;
    conns = c;
    nconns++;
    STAT_ADD(open, 1);
    STAT_ADD(opened, 1);
    index_add(c);
    return c;
}

static void route_ws(rz_req_t *req, void *u)
{
    char tokbuf[4096], accept[32];
    const char *why = NULL;
    int bearer_offered;
    rz_identity_t id;

    if (draining || !base) {
        refuse(req, 503, "unavailable", "the server is shutting down");
        return;
    }
    if ((int64_t)nconns >= conf.max_connections) {
        refuse(req, 503, "unavailable", "too many WebSocket connections on this worker");
        return;
    }
    const char *upgrade = rz__svc_req_header(req, "Upgrade");
    const char *connection = rz__svc_req_header(req, "Connection");
    if (!upgrade || !has_token(upgrade, "websocket") || !connection ||
        !has_token(connection, "upgrade")) {
        rz__svc_resp_header(req, "Upgrade", "websocket");
        refuse(req, 426, "upgrade_required",
               "this endpoint speaks WebSocket: send Upgrade: websocket, Connection: Upgrade");
        return;
    }
    const char *version = rz__svc_req_header(req, "Sec-WebSocket-Version");
    if (!version || strcmp(version, "13") != 0) {
        rz__svc_resp_header(req, "Sec-WebSocket-Version", "13");
        refuse(req, 426, "unsupported_version", "Sec-WebSocket-Version must be 13");
        return;
    }
    const char *key = rz__svc_req_header(req, "Sec-WebSocket-Key");
    unsigned char raw[18];
    size_t rawlen = 0;
    if (!key || strlen(key) != 24 ||
        sodium_base642bin(raw, sizeof(raw), key, 24, NULL, &rawlen, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        rawlen != 16) {
        refuse(req, 400, "bad_handshake", "Sec-WebSocket-Key must be 16 bytes in base64");
        return;
    }
    if (!origin_allowed(rz__svc_req_header(req, "Origin"), rz__svc_req_header(req, "Host"))) {
        refuse(req, 403, "origin_not_allowed", "this Origin is not in [websocket] origins");
        return;
    }
    const char *tok = find_token(req, tokbuf, sizeof(tokbuf), &bearer_offered);
    if (!tok) {
        refuse(req, 401, "unauthenticated",
               "an access token is required: Authorization: Bearer, the subprotocol "
               "bearer.<token>, or ?access_token=");
        return;
    }
    int ok = rz__authz_verify(tok, &id, &why) == 0;
    if (!ok && conf.test_tokens && strncmp(tok, "test.", 5) == 0)
        ok = test_token(tok, &id, &why) == 0;
    if (ok && !valid_user_id(id.user)) {
        ok = 0;
        why = "the token has no usable subject";
    }
    if (!ok) {
        int expired = why && strstr(why, "expired");
        rz__svc_resp_header(req, "WWW-Authenticate", "Bearer realm=\"rentezy\"");
        refuse(req, 401, expired ? "token_expired" : "invalid_token",
               why ? why : "invalid token");
        return;
    }
    if (accept_value(key, accept) < 0) {
        refuse(req, 500, "internal", "cannot compute Sec-WebSocket-Accept");
        return;
    }

    int fd;
    char *extra = NULL;
    size_t extra_len = 0;
    if (rz__http_takeover(req, &fd, &extra, &extra_len) < 0)
        return; /* the client left */
    evutil_make_socket_nonblocking(fd);
    rz_ws_t *c = conn_new(fd, &id);
    if (!c) {
        rz__log(RZ_LOG_ERROR, "ws", "out of memory for a new connection");
        evutil_closesocket(fd);
        free(extra);
        return;
    }
    c->offered_bearer = (uint8_t)bearer_offered;
    char resp[256];
    int n = snprintf(resp, sizeof(resp),
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n%s\r\n",
                     accept, bearer_offered ? "Sec-WebSocket-Protocol: bearer\r\n" : "");
    if (!(c->out = evbuffer_new()) || evbuffer_add(c->out, resp, (size_t)n) < 0) {
        free(extra);
        conn_free(c);
        return;
    }
    mark_dirty(c);
    for (size_t i = 0; i < nchannels && c->state == WS_OPEN; i++)
        if (channels[i].ch.on_open)
            channels[i].ch.on_open(c, channels[i].ch.udata);
    /* frames the client sent right behind its request */
    if (extra_len && c->state != WS_LINGER) {
        STAT_ADD(bytes_in, extra_len);
        process_input(c, (uint8_t *)extra, extra_len);
    }
    free(extra);
}

/* ---- registration and the worker's life ------------------------------------------------------ */

static const char openapi_paths[] =
    "{\"/v1/ws\":{\"get\":{\"summary\":\"WebSocket: one authenticated connection multiplexing "
    "plugin channels\",\"tags\":[\"host\"],"
    "\"description\":\"Upgrade to WebSocket (RFC 6455, version 13).  Authenticate with "
    "Authorization: Bearer <token>, or the subprotocols 'bearer, bearer.<token>' (the server "
    "selects 'bearer'), or ?access_token=<token> for browsers.  Messages both ways are JSON "
    "objects {\\\"ch\\\": channel, ...}; errors arrive on channel 'error'.  Close codes: 1002 "
    "protocol error, 1003 binary message, 1007 invalid UTF-8, 1008 policy (send queue full), "
    "1009 message too big, 1001 idle or server shutdown, 4001 token expired.\","
    "\"parameters\":[{\"name\":\"access_token\",\"in\":\"query\",\"required\":false,"
    "\"schema\":{\"type\":\"string\"}}],"
    "\"responses\":{\"101\":{\"description\":\"switching protocols\"},"
    "\"400\":{\"description\":\"malformed handshake\"},"
    "\"401\":{\"description\":\"missing, invalid or expired token\"},"
    "\"403\":{\"description\":\"Origin not allowed\"},"
    "\"426\":{\"description\":\"not a WebSocket upgrade, or not version 13\"},"
    "\"503\":{\"description\":\"shutting down or too many connections\"}}}}}";

int rz__ws_routes(char *err, size_t errlen)
{
    if (rz__ws_configure(rz__rt.cfg, err, errlen) < 0)
        return -1;
    if (!stats_shm) {
        void *p = mmap(NULL, RZ_METRICS_MAX_WORKERS * sizeof(ws_stats_t), PROT_READ | PROT_WRITE,
                       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            snprintf(err, errlen, "cannot map shared memory for WebSocket metrics: %s",
                     strerror(errno));
            return -1;
        }
        stats_shm = p;
        rz__http_add_metrics(render_metrics);
    }
    if (!rz__router && !(rz__router = rz__router_new())) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (rz__router_add(rz__router, "GET", "/v1/ws", RZ_ACCESS_PUBLIC, route_ws, NULL, NULL,
                       "WebSocket upgrade", err, errlen) < 0)
        return -1;
    if (rz__openapi_add("ws", openapi_paths) < 0) {
        snprintf(err, errlen, "the WebSocket OpenAPI fragment does not parse");
        return -1;
    }
    if (rz__db_configured() && rz__ws_fanout_register() < 0) {
        snprintf(err, errlen, "cannot subscribe the WebSocket fan-out to the bus");
        return -1;
    }
    if (conf.test_tokens)
        rz__log(RZ_LOG_WARN, "ws",
                "[websocket] test_tokens is on: anyone can connect as anyone. Tests only.");
    return 0;
}

static void fanout_deliver(const char *user, const char *text, size_t len)
{
    deliver_local(user, text, len);
}

int rz__ws_worker_start(struct event_base *b)
{
    char err[512];
    /* pick up a SIGHUP's changes; on error keep what we had */
    if (rz__rt.cfg && rz__ws_configure(rz__rt.cfg, err, sizeof(err)) < 0)
        rz__log(RZ_LOG_ERROR, "ws", "%s (keeping the previous settings)", err);
    base = b;
    draining = 0;
    struct timeval tv = {SWEEP_MS / 1000, (SWEEP_MS % 1000) * 1000};
    if (!(scratch = malloc(SCRATCH)) || !(sweep_ev = event_new(b, -1, EV_PERSIST, sweep, NULL)) ||
        !(flush_ev = event_new(b, -1, 0, flush_all, NULL)) || event_add(sweep_ev, &tv) < 0)
        goto fail;
    if (rz__db_configured() &&
        rz__ws_fanout_start(b, fanout_deliver) < 0)
        goto fail;
    return 0;
fail:
    rz__ws_worker_stop();
    return -1;
}

void rz__ws_drain(void)
{
    draining = 1;
    for (rz_ws_t *c = conns; c; c = c->next)
        conn_close(c, RZ_WS_CLOSE_GOING_AWAY, "server shutting down");
}

size_t rz__ws_connections(void) { return nconns; }

void rz__ws_worker_stop(void)
{
    while (conns)
        conn_free(conns);
    rz__ws_fanout_stop();
    if (sweep_ev)
        event_free(sweep_ev);
    if (flush_ev)
        event_free(flush_ev);
    sweep_ev = flush_ev = NULL;
    free(scratch);
    scratch = NULL;
    free(buckets);
    buckets = NULL;
    nbuckets = nindexed = 0;
    dirty_head = NULL;
    base = NULL;
}
