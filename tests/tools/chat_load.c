/*
 * chat_load — load generator for bench/80_chat.sh (issue 11).  Opens 2*P
 * authenticated WebSocket connections (test tokens): the tenant of pair k
 * ("bt<k>") on process A, its landlord ("bl<k>") on process B, and both
 * write into conversation k (the k-th line of -f, prepared by the bench).
 *
 *   latency     every member sends -R messages per second (random phase);
 *               the peer measures send -> receipt (across the two processes),
 *               the sender send -> ack
 *   throughput  every member keeps -w sends in flight (the next on each ack);
 *               acks per second counted per process after a 1 s warm-up
 *
 *   chat_load -m latency|throughput -c PAIRS -f CONVFILE [-R RATE] [-w WINDOW]
 *             [-d SEC] [-s SRC,...] HOST:PORT_A HOST:PORT_B
 *
 * Prints one JSON object on stdout (progress on stderr); exit 0 when every
 * connection opened, stayed open and nothing was refused.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <sodium.h>

#include "ws_frame.h"

#define MAX_SRC 16
#define CONNECTING_MAX 512
#define TICK_US 5000

typedef struct conn {
    struct bufferevent *bev;
    int idx, side, state; /* state: 0 connecting, 1 handshake sent, 2 open, 3 dead */
    rz_ws_decoder_t dec;
    char *msg;
    size_t msg_len, msg_cap;
    long long next_us; /* latency: when to send next */
    unsigned n;        /* sends so far */
} conn_t;

static struct event_base *base;
static conn_t *conns;
static char (*convs)[40];
static int pairs = 100, nconn, opened, opened_total, failed, connecting, next_to_open;
static struct sockaddr_in dst[2], src[MAX_SRC];
static char hostport[2][128];
static int nsrc, duration = 10, window = 4, sending;
static double rate = 1.0;
static const char *mode = "latency";
static long long t_start, t_open_done, t_send0, t_measure, t_stop;
static int64_t exp_s;
static struct event *tick_ev, *stop_ev;
/* results */
static long long *lat, *ack_lat;
static size_t lat_n, lat_cap, ack_n, ack_cap;
static long long sent, acked, delivered, errors, rate_limited, acked_side[2];

static long long now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

static long long pct(long long *v, size_t n, double p)
{
    return n ? v[(size_t)(p * (double)(n - 1) + 0.5)] : 0;
}

static void push(long long **v, size_t *n, size_t *cap, long long x)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 65536;
        long long *p = realloc(*v, c * sizeof(**v));
        if (!p)
            return;
        *v = p;
        *cap = c;
    }
    (*v)[(*n)++] = x;
}

static void send_text(conn_t *c, const char *text, size_t len)
{
    uint8_t h[RZ_WS_MAX_HEADER], key[4], p[512];
    if (len > sizeof(p))
        return;
    randombytes_buf(key, 4);
    size_t hl = rz_ws_frame_header(h, 1, RZ_WS_OP_TEXT, len, key);
    memcpy(p, text, len);
    rz_ws_mask(p, len, key, 0);
    bufferevent_write(c->bev, h, hl);
    bufferevent_write(c->bev, p, len);
}

static void chat_send(conn_t *c)
{
    char m[256];
    long long t = now_us();
    int n = snprintf(m, sizeof(m),
                     "{\"ch\":\"chat\",\"type\":\"send\",\"conversation_id\":\"%s\","
                     "\"client_msg_id\":\"%u-%lld\",\"body\":\"t=%lld;s=%d\"}",
                     convs[c->idx / 2], c->n++, t, t, c->side);
    send_text(c, m, (size_t)n);
    sent++;
}

static void finish(void) { event_base_loopexit(base, NULL); }
static void open_more(void);

static void conn_dead(conn_t *c)
{
    if (c->state == 3)
        return;
    if (c->state < 2)
        connecting--;
    else
        opened--;
    failed++;
    c->state = 3;
    bufferevent_free(c->bev);
    c->bev = NULL;
    if (!t_open_done)
        open_more();
}

static void on_message(conn_t *c, const char *m)
{
    const char *p;
    long long now = now_us();
    if (strstr(m, "\"type\":\"ack\"")) {
        acked++;
        if (now >= t_measure && (t_stop == 0 || now < t_stop))
            acked_side[c->side]++;
        if ((p = strstr(m, "\"client_msg_id\":\"")) && (p = strchr(p + 17, '-')))
            push(&ack_lat, &ack_n, &ack_cap, now - atoll(p + 1));
        if (sending && strcmp(mode, "throughput") == 0)
            chat_send(c);
    } else if (strstr(m, "\"type\":\"message\"")) {
        if ((p = strstr(m, "\"body\":\"t=")) && atoi(strstr(p, ";s=") + 3) != c->side) {
            delivered++;
            push(&lat, &lat_n, &lat_cap, now - atoll(p + 10));
        }
    } else if (strstr(m, "\"type\":\"error\"")) {
        errors++;
        if (strstr(m, "rate_limited"))
            rate_limited++;
        if (errors <= 5)
            fprintf(stderr, "error: %s\n", m);
    }
}

static void on_read(struct bufferevent *bev, void *arg)
{
    conn_t *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    if (c->state == 1) {
        struct evbuffer_ptr p = evbuffer_search(in, "\r\n\r\n", 4, NULL);
        if (p.pos < 0)
            return;
        char head[16] = {0};
        evbuffer_copyout(in, head, 12);
        evbuffer_drain(in, (size_t)p.pos + 4);
        if (strncmp(head, "HTTP/1.1 101", 12) != 0) {
            fprintf(stderr, "conn %d: handshake answered %.12s\n", c->idx, head);
            conn_dead(c);
            return;
        }
        c->state = 2;
        opened++;
        opened_total++;
        connecting--;
        open_more();
    }
    size_t n;
    while ((n = evbuffer_get_length(in)) > 0) {
        uint8_t *p = evbuffer_pullup(in, (ssize_t)n);
        size_t off = 0;
        rz_ws_event_t ev;
        do {
            off += rz_ws_decode(&c->dec, p + off, n - off, &ev);
            if (ev.type == RZ_WS_EV_DATA) {
                if (c->msg_len + ev.len + 1 > c->msg_cap) {
                    size_t cap = (c->msg_len + ev.len + 1) * 2;
                    char *m = realloc(c->msg, cap);
                    if (!m) {
                        conn_dead(c);
                        return;
                    }
                    c->msg = m;
                    c->msg_cap = cap;
                }
                memcpy(c->msg + c->msg_len, ev.data, ev.len);
                c->msg_len += ev.len;
            } else if (ev.type == RZ_WS_EV_MESSAGE) {
                c->msg[c->msg_len] = '\0';
                c->msg_len = 0;
                on_message(c, c->msg);
            } else if (ev.type == RZ_WS_EV_PING) {
                uint8_t h[RZ_WS_MAX_HEADER], key[4] = {1, 2, 3, 4}, pl[125];
                size_t hl = rz_ws_frame_header(h, 1, RZ_WS_OP_PONG, ev.len, key);
                memcpy(pl, ev.data, ev.len);
                rz_ws_mask(pl, ev.len, key, 0);
                bufferevent_write(c->bev, h, hl);
                bufferevent_write(c->bev, pl, ev.len);
            } else if (ev.type == RZ_WS_EV_CLOSE || ev.type == RZ_WS_EV_ERROR) {
                fprintf(stderr, "conn %d: closed by the server (%d)\n", c->idx, ev.close_code);
                evbuffer_drain(in, n);
                conn_dead(c);
                return;
            }
        } while (ev.type != RZ_WS_EV_NONE);
        evbuffer_drain(in, n);
    }
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    conn_t *c = arg;
    if (what & BEV_EVENT_CONNECTED) {
        char req[512], key[32];
        uint8_t raw[16];
        randombytes_buf(raw, 16);
        sodium_bin2base64(key, sizeof(key), raw, 16, sodium_base64_VARIANT_ORIGINAL);
        int n = snprintf(req, sizeof(req),
                         "GET /v1/ws?access_token=test.%s%d.%s.%lld HTTP/1.1\r\nHost: %s\r\n"
                         "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                         "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n",
                         c->side ? "bl" : "bt", c->idx / 2, c->side ? "landlord" : "tenant",
                         (long long)exp_s, hostport[c->side], key);
        bufferevent_write(bev, req, (size_t)n);
        c->state = 1;
        int one = 1;
        setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        return;
    }
    if (what & (BEV_EVENT_ERROR | BEV_EVENT_EOF)) {
        if (c->state < 2)
            fprintf(stderr, "conn %d: %s\n", c->idx, strerror(EVUTIL_SOCKET_ERROR()));
        conn_dead(c);
    }
}

static void open_one(conn_t *c)
{
    evutil_socket_t fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fprintf(stderr, "socket: %s\n", strerror(errno));
        failed++;
        c->state = 3;
        return;
    }
    if (nsrc) {
        int one = 1;
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
        if (bind(fd, (struct sockaddr *)&src[c->idx % nsrc], sizeof(src[0])) < 0) {
            fprintf(stderr, "bind: %s\n", strerror(errno));
            close(fd);
            failed++;
            c->state = 3;
            return;
        }
    }
    c->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
    c->dec.expect_masked = 0;
    bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    connecting++;
    if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&dst[c->side], sizeof(dst[0])) < 0)
        conn_dead(c);
}

static void start(void);
static void on_start(evutil_socket_t fd, short what, void *arg) { start(); }

static void open_more(void)
{
    while (connecting < CONNECTING_MAX && next_to_open < nconn)
        open_one(&conns[next_to_open++]);
    if (!t_open_done && opened + failed >= nconn) {
        t_open_done = now_us();
        fprintf(stderr, "%d open, %d failed in %.2f s\n", opened, failed,
                (t_open_done - t_start) / 1e6);
        /* let the daemons settle (presence of every new user) before measuring */
        struct timeval tv = {2, 0};
        event_base_once(base, -1, EV_TIMEOUT, on_start, NULL, &tv);
    }
}

/* latency: send for every member whose time has come */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    long long now = now_us(), period = (long long)(1e6 / rate);
    if (!sending)
        return;
    for (int i = 0; i < nconn; i++) {
        conn_t *c = &conns[i];
        if (c->state == 2 && c->next_us <= now) {
            chat_send(c);
            c->next_us += period;
            if (c->next_us < now)
                c->next_us = now + period;
        }
    }
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
    if (sending) { /* stop sending; let what is in flight arrive */
        sending = 0;
        t_stop = now_us();
        struct timeval tv = {2, 0};
        evtimer_add(stop_ev, &tv);
        return;
    }
    finish();
}

static void start(void)
{
    long long now = now_us(), period = (long long)(1e6 / rate);
    sending = 1;
    t_send0 = now; /* the latency run counts from here */
    t_measure = now + 1000000; /* throughput: one second of warm-up */
    if (strcmp(mode, "throughput") == 0) {
        for (int i = 0; i < nconn; i++)
            for (int k = 0; k < window && conns[i].state == 2; k++)
                chat_send(&conns[i]);
    } else {
        for (int i = 0; i < nconn; i++)
            conns[i].next_us = now + (long long)randombytes_uniform((uint32_t)period);
        struct timeval tv = {0, TICK_US};
        tick_ev = event_new(base, -1, EV_PERSIST, on_tick, NULL);
        evtimer_add(tick_ev, &tv);
    }
    struct timeval d = {duration + (strcmp(mode, "throughput") == 0), 0};
    evtimer_add(stop_ev, &d);
}

static void on_signal(evutil_socket_t sig, short what, void *arg) { finish(); }

static int parse_addr(const char *s, struct sockaddr_in *sa)
{
    char host[64];
    const char *colon = strrchr(s, ':');
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    if (!colon || (size_t)(colon - s) >= sizeof(host))
        return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    sa->sin_port = htons((uint16_t)atoi(colon + 1));
    return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

static int load_convs(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int n = 0;
    while (n < pairs && fgets(convs[n], sizeof(convs[n]), f)) {
        convs[n][strcspn(convs[n], "\r\n")] = '\0';
        if (strlen(convs[n]) == 36)
            n++;
    }
    fclose(f);
    return n == pairs ? 0 : -1;
}

int main(int argc, char **argv)
{
    int c;
    const char *conv_file = NULL;
    while ((c = getopt(argc, argv, "m:c:f:R:w:d:s:")) != -1) {
        switch (c) {
        case 'm': mode = optarg; break;
        case 'c': pairs = atoi(optarg); break;
        case 'f': conv_file = optarg; break;
        case 'R': rate = atof(optarg); break;
        case 'w': window = atoi(optarg); break;
        case 'd': duration = atoi(optarg); break;
        case 's':
            for (char *tok = strtok(optarg, ","); tok && nsrc < MAX_SRC; tok = strtok(NULL, ",")) {
                src[nsrc].sin_family = AF_INET;
                if (inet_pton(AF_INET, tok, &src[nsrc].sin_addr) != 1)
                    return 2;
                nsrc++;
            }
            break;
        default: return 2;
        }
    }
    if (optind + 2 > argc || parse_addr(argv[optind], &dst[0]) < 0 ||
        parse_addr(argv[optind + 1], &dst[1]) < 0 || pairs < 1 || !conv_file || rate <= 0 ||
        window < 1 || sodium_init() < 0) {
        fprintf(stderr, "usage: chat_load -m latency|throughput -c PAIRS -f CONVFILE [-R RATE] "
                        "[-w WINDOW] [-d SEC] [-s SRC,...] HOST:PORT_A HOST:PORT_B\n");
        return 2;
    }
    snprintf(hostport[0], sizeof(hostport[0]), "%s", argv[optind]);
    snprintf(hostport[1], sizeof(hostport[1]), "%s", argv[optind + 1]);
    nconn = 2 * pairs;
    convs = calloc((size_t)pairs, sizeof(*convs));
    conns = calloc((size_t)nconn, sizeof(*conns));
    if (!convs || !conns || load_convs(conv_file) < 0) {
        fprintf(stderr, "chat_load: %s must hold %d conversation ids\n", conv_file, pairs);
        return 2;
    }
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if ((rlim_t)nconn + 64 > rl.rlim_cur) {
        fprintf(stderr, "chat_load: the file limit %llu is too low for %d connections\n",
                (unsigned long long)rl.rlim_cur, nconn);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    exp_s = time(NULL) + 86400;
    base = event_base_new();
    stop_ev = evtimer_new(base, on_stop, NULL);
    struct event *sint = evsignal_new(base, SIGINT, on_signal, NULL);
    event_add(sint, NULL);
    for (int i = 0; i < nconn; i++) {
        conns[i].idx = i;
        conns[i].side = i % 2;
    }
    t_start = now_us();
    open_more();
    event_base_dispatch(base);

    int still = 0;
    for (int i = 0; i < nconn; i++)
        still += conns[i].state == 2;
    qsort(lat, lat_n, sizeof(*lat), cmp_ll);
    qsort(ack_lat, ack_n, sizeof(*ack_lat), cmp_ll);
    double secs = t_stop > t_measure ? (t_stop - t_measure) / 1e6 : 1.0;
    if (strcmp(mode, "latency") == 0)
        secs = t_stop > t_send0 ? (t_stop - t_send0) / 1e6 : 1.0;
    printf("{\"mode\":\"%s\",\"users\":%d,\"opened\":%d,\"failed\":%d,\"open_at_end\":%d,"
           "\"connect_seconds\":%.3f,\"sent\":%lld,\"acked\":%lld,\"delivered\":%lld,"
           "\"errors\":%lld,\"rate_limited\":%lld,"
           "\"delivery_p50_us\":%lld,\"delivery_p99_us\":%lld,\"delivery_max_us\":%lld,"
           "\"ack_p50_us\":%lld,\"ack_p99_us\":%lld,"
           "\"acks_per_s_a\":%.0f,\"acks_per_s_b\":%.0f}\n",
           mode, nconn, opened_total, failed, still,
           t_open_done ? (t_open_done - t_start) / 1e6 : -1.0, sent, acked, delivered, errors,
           rate_limited, pct(lat, lat_n, 0.5), pct(lat, lat_n, 0.99),
           lat_n ? lat[lat_n - 1] : 0, pct(ack_lat, ack_n, 0.5), pct(ack_lat, ack_n, 0.99),
           acked_side[0] / secs, acked_side[1] / secs);
    int ok = failed == 0 && still == nconn && errors == 0;
    for (int i = 0; i < nconn; i++) {
        if (conns[i].bev)
            bufferevent_free(conns[i].bev);
        free(conns[i].msg);
    }
    free(conns);
    free(convs);
    free(lat);
    free(ack_lat);
    if (tick_ev)
        event_free(tick_ev);
    event_free(stop_ev);
    event_free(sint);
    event_base_free(base);
    return ok ? 0 : 1;
}
