/*
 * ws_load — WebSocket load generator (libevent) for the scale test and
 * bench/ws.sh.  Opens N authenticated connections to GET /v1/ws (test tokens,
 * [websocket] test_tokens = true), spread over several source addresses, and
 * then, by mode:
 *
 *   hold   keep them open for -d seconds (0: until SIGINT/SIGTERM), then
 *          check every one is still open
 *   echo   -r echo round trips spread over the connections, -p in flight at
 *          once; reports p50/p99/max in microseconds
 *   push   every connection is the same user; -r times, POST
 *          /v1/_test/ws/push once and time until all N have the message
 *
 *   ws_load [-m hold|echo|push] [-c N] [-s 127.0.0.1,127.0.0.2] [-d SEC]
 *           [-r ROUNDS] [-p PARALLEL] [-u USERPREFIX] [-P PUSHHOST:PORT]
 *           [-j JOBS] HOST:PORT
 *
 * -j JOBS (hold, push): the connections are spread over JOBS child
 * processes, so the receiving side is not one core's event loop (a push to
 * 10,000 connections is 10,000 reads) and no process needs more than its
 * share of file descriptors.  The parent only coordinates: children report
 * "R opened failed" once connected and "D round t_us" (CLOCK_MONOTONIC,
 * the same clock in every process) when all their connections have a push;
 * a round's time is the latest child's minus the moment the parent sent
 * the POST.
 *
 * Prints one JSON object on stdout (progress on stderr); exit 0 when every
 * connection opened and every expectation held.
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
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <sodium.h>

#include "ws_frame.h"

#define MAX_SRC 16
#define CONNECTING_MAX 512 /* handshakes in flight: stay under the listen backlog */

typedef struct conn {
    struct bufferevent *bev;
    int idx;
    int state;  /* 0 connecting, 1 handshake sent, 2 open, 3 dead */
    rz_ws_decoder_t dec;
    char *msg;
    size_t msg_len, msg_cap;
    int got_push;
} conn_t;

static struct event_base *base;
static conn_t *conns;
static int nconn = 1000, opened, opened_total, failed, connecting, next_to_open, hello_seen;
static struct sockaddr_in dst, src[MAX_SRC];
static int nsrc;
static const char *mode = "hold", *user_prefix = "load";
static char hostport[128];
static int duration = 5, rounds = 1000, parallel = 100;
static long long t_start, t_open_done;
static int64_t exp_s;
/* echo */
static long long *rtt;
static int rtt_n, echo_sent, echo_inflight;
/* push */
static struct sockaddr_in push_dst;
static int push_round, push_got;
static long long push_t0, *push_times;
static struct event *tick_ev;
/* -j: in a child, the pipe to the parent; per-round counts */
static int jobs, child_fd = -1, *round_got;

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

static long long pct(long long *v, int n, double p)
{
    if (n == 0)
        return 0;
    int i = (int)(p * (n - 1) + 0.5);
    return v[i];
}

static void send_text(conn_t *c, const char *text, size_t len)
{
    uint8_t h[RZ_WS_MAX_HEADER], key[4];
    randombytes_buf(key, 4);
    size_t hl = rz_ws_frame_header(h, 1, RZ_WS_OP_TEXT, len, key);
    char *p = malloc(len);
    memcpy(p, text, len);
    rz_ws_mask((uint8_t *)p, len, key, 0);
    bufferevent_write(c->bev, h, hl);
    bufferevent_write(c->bev, p, len);
    free(p);
}

static void open_more(void);
static void start_phase(void);

static void conn_dead(conn_t *c)
{
    if (c->state == 3)
        return;
    if (c->state < 2) {
        failed++;
        connecting--;
    } else {
        opened--;
        failed++;
    }
    c->state = 3;
    bufferevent_free(c->bev);
    c->bev = NULL;
    if (!t_open_done)
        open_more();
}

static void echo_next(conn_t *c)
{
    char m[128];
    int n = snprintf(m, sizeof(m), "{\"ch\":\"echo\",\"t\":%lld}", now_us());
    send_text(c, m, (size_t)n);
    echo_sent++;
    echo_inflight++;
}

static void finish(void) { event_base_loopexit(base, NULL); }

static void on_message(conn_t *c, const char *m, size_t len)
{
    if (strstr(m, "\"type\":\"hello\"")) {
        hello_seen++;
        return;
    }
    if (strcmp(mode, "echo") == 0) {
        const char *t = strstr(m, "\"t\":");
        if (!t)
            return;
        rtt[rtt_n++] = now_us() - atoll(t + 4);
        echo_inflight--;
        conn_t *next = &conns[(c->idx + 7919) % nconn]; /* spread over the connections */
        if (echo_sent < rounds)
            echo_next(next->state == 2 ? next : c);
        else if (echo_inflight == 0)
            finish();
        return;
    }
    const char *pm = strcmp(mode, "push") == 0 ? strstr(m, "\"text\":\"push ") : NULL;
    if (pm && child_fd >= 0) {
        int r = atoi(pm + 13); /* after "text":"push  */
        if (r < 1 || r > rounds || c->got_push == r)
            return;
        c->got_push = r;
        if (++round_got[r] == opened)
            dprintf(child_fd, "D %d %lld\n", r, now_us());
        return;
    }
    if (pm) {
        if (c->got_push == push_round)
            return;
        c->got_push = push_round;
        if (++push_got == opened) {
            push_times[push_round - 1] = now_us() - push_t0;
            fprintf(stderr, "push %d: %lld us to %d connections\n", push_round,
                    push_times[push_round - 1], push_got);
            if (push_round >= rounds)
                finish();
            else
                start_phase();
        }
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
        if (opened % 5000 == 0)
            fprintf(stderr, "%d open\n", opened);
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
                    c->msg_cap = (c->msg_len + ev.len + 1) * 2;
                    c->msg = realloc(c->msg, c->msg_cap);
                }
                memcpy(c->msg + c->msg_len, ev.data, ev.len);
                c->msg_len += ev.len;
            } else if (ev.type == RZ_WS_EV_MESSAGE) {
                c->msg[c->msg_len] = '\0';
                c->msg_len = 0;
                on_message(c, c->msg, strlen(c->msg));
            } else if (ev.type == RZ_WS_EV_PING) {
                uint8_t h[RZ_WS_MAX_HEADER], key[4] = {1, 2, 3, 4};
                size_t hl = rz_ws_frame_header(h, 1, RZ_WS_OP_PONG, ev.len, key);
                uint8_t pl[125];
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
        char req[512];
        uint8_t raw[16];
        char key[32];
        randombytes_buf(raw, 16);
        sodium_bin2base64(key, sizeof(key), raw, 16, sodium_base64_VARIANT_ORIGINAL);
        char user[64];
        if (strcmp(mode, "push") == 0)
            snprintf(user, sizeof(user), "%s", user_prefix);
        else
            snprintf(user, sizeof(user), "%s%d", user_prefix, c->idx);
        int n = snprintf(req, sizeof(req),
                         "GET /v1/ws?access_token=test.%s.tenant.%lld HTTP/1.1\r\nHost: %s\r\n"
                         "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                         "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n",
                         user, (long long)exp_s, hostport, key);
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
        /* let the kernel pick the port at connect time, per source address */
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
    if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&dst, sizeof(dst)) < 0)
        conn_dead(c);
}

static void open_more(void)
{
    while (connecting < CONNECTING_MAX && next_to_open < nconn)
        open_one(&conns[next_to_open++]);
    if (!t_open_done && opened + failed >= nconn) {
        t_open_done = now_us();
        fprintf(stderr, "%d open, %d failed in %.2f s\n", opened, failed,
                (t_open_done - t_start) / 1e6);
        if (child_fd >= 0)
            dprintf(child_fd, "R %d %d\n", opened, failed); /* the parent drives */
        else
            start_phase();
    }
}

static void http_push(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&push_dst, sizeof(push_dst)) < 0) {
        fprintf(stderr, "push: cannot connect\n");
        exit(1);
    }
    char body[128], req[512];
    int bl = snprintf(body, sizeof(body), "{\"user\":\"%s\",\"text\":\"push %d\"}", user_prefix,
                      push_round);
    int n = snprintf(req, sizeof(req),
                     "POST /v1/_test/ws/push HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     "Content-Length: %d\r\nConnection: close\r\n\r\n%s", bl, body);
    push_t0 = now_us();
    if (write(fd, req, (size_t)n) != n)
        exit(1);
    close(fd); /* the push happens whether or not we read the answer */
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    if (strcmp(mode, "hold") == 0) {
        finish();
        return;
    }
    if (strcmp(mode, "push") == 0) { /* a round that never completed */
        fprintf(stderr, "push %d: only %d of %d connections got it\n", push_round, push_got,
                opened);
        failed++;
        finish();
    }
}

static void start_phase(void)
{
    if (strcmp(mode, "hold") == 0) {
        if (duration > 0) {
            struct timeval tv = {duration, 0};
            evtimer_add(tick_ev, &tv);
        }
    } else if (strcmp(mode, "echo") == 0) {
        for (int i = 0; i < parallel && i < nconn && echo_sent < rounds; i++)
            if (conns[i].state == 2)
                echo_next(&conns[i]);
    } else if (strcmp(mode, "push") == 0) {
        push_round++;
        push_got = 0;
        struct timeval tv = {10, 0};
        evtimer_add(tick_ev, &tv);
        http_push();
    }
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

/* ---- -j: the coordinating parent --------------------------------------------- */

typedef struct child {
    pid_t pid;
    int fd;           /* read end of its pipe */
    char buf[4096];
    size_t len;
    int ready, opened, failed, last_round;
    long long last_t;
} child_t;

static volatile sig_atomic_t parent_stop;
static void parent_on_signal(int sig) { parent_stop = 1; }

/* Read what a child said; 0, or -1 when it is gone. */
static int child_read(child_t *ch)
{
    ssize_t n = read(ch->fd, ch->buf + ch->len, sizeof(ch->buf) - 1 - ch->len);
    if (n <= 0)
        return n < 0 && errno == EINTR ? 0 : -1;
    ch->len += (size_t)n;
    ch->buf[ch->len] = '\0';
    char *line = ch->buf, *nl;
    while ((nl = strchr(line, '\n')) != NULL) {
        *nl = '\0';
        if (line[0] == 'R') {
            sscanf(line + 2, "%d %d", &ch->opened, &ch->failed);
            ch->ready = 1;
        } else if (line[0] == 'D') {
            sscanf(line + 2, "%d %lld", &ch->last_round, &ch->last_t);
        }
        line = nl + 1;
    }
    ch->len = strlen(line);
    memmove(ch->buf, line, ch->len + 1);
    return 0;
}

/* Wait until done(children) or timeout_ms; 0, or -1 (timeout, a child died, signal). */
static int wait_children(child_t *ch, int n, int (*done)(child_t *, int, int), int arg,
                         int timeout_ms)
{
    long long until = now_us() + (long long)timeout_ms * 1000;
    while (!done(ch, n, arg)) {
        if (parent_stop || now_us() > until)
            return -1;
        fd_set rd;
        FD_ZERO(&rd);
        int maxfd = 0;
        for (int i = 0; i < n; i++) {
            FD_SET(ch[i].fd, &rd);
            maxfd = ch[i].fd > maxfd ? ch[i].fd : maxfd;
        }
        struct timeval tv = {0, 100000};
        if (select(maxfd + 1, &rd, NULL, NULL, &tv) < 0 && errno != EINTR)
            return -1;
        for (int i = 0; i < n; i++)
            if (FD_ISSET(ch[i].fd, &rd) && child_read(&ch[i]) < 0)
                return -1;
    }
    return 0;
}

static int all_ready(child_t *ch, int n, int unused)
{
    for (int i = 0; i < n; i++)
        if (!ch[i].ready)
            return 0;
    return 1;
}

static int all_done(child_t *ch, int n, int round)
{
    for (int i = 0; i < n; i++)
        if (ch[i].last_round < round)
            return 0;
    return 1;
}

static int run_parent(int total)
{
    child_t *ch = calloc((size_t)jobs, sizeof(*ch));
    int ok = 1, n = 0, opened_sum = 0, failed_sum = 0;
    long long t0 = now_us();
    signal(SIGINT, parent_on_signal);
    signal(SIGTERM, parent_on_signal);
    for (int j = 0; j < jobs; j++) {
        int p[2];
        if (pipe(p) < 0)
            return 1;
        int share = total / jobs + (j < total % jobs);
        pid_t pid = fork();
        if (pid == 0) {
            close(p[0]);
            child_fd = p[1];
            nconn = share;
            return -(j * (total / jobs) + (j < total % jobs ? j : total % jobs)) - 1;
        }
        close(p[1]);
        ch[j].pid = pid;
        ch[j].fd = p[0];
    }
    if (wait_children(ch, jobs, all_ready, 0, 600000) < 0)
        ok = 0;
    for (int j = 0; j < jobs; j++) {
        opened_sum += ch[j].opened;
        failed_sum += ch[j].failed;
    }
    long long t_open = now_us();
    fprintf(stderr, "%d open, %d failed in %.2f s over %d processes\n", opened_sum, failed_sum,
            (t_open - t0) / 1e6, jobs);
    if (ok && strcmp(mode, "push") == 0) {
        for (push_round = 1; push_round <= rounds; push_round++) {
            http_push();
            if (wait_children(ch, jobs, all_done, push_round, 10000) < 0) {
                fprintf(stderr, "push %d: not every connection got it\n", push_round);
                ok = 0;
                break;
            }
            long long last = 0;
            for (int j = 0; j < jobs; j++)
                last = ch[j].last_t > last ? ch[j].last_t : last;
            push_times[n++] = last - push_t0;
            fprintf(stderr, "push %d: %lld us to %d connections\n", push_round, last - push_t0,
                    opened_sum);
            usleep(20000); /* let the kernel's queues settle between rounds */
        }
    } else if (ok && duration > 0) {
        for (long long until = now_us() + duration * 1000000LL; now_us() < until && !parent_stop;)
            usleep(100000);
    } else if (ok) {
        while (!parent_stop)
            pause();
    }
    for (int j = 0; j < jobs; j++)
        kill(ch[j].pid, SIGTERM);
    int still = 0;
    for (int j = 0; j < jobs; j++) {
        int st;
        waitpid(ch[j].pid, &st, 0);
        /* a hold child exits 0 only when every connection was still open */
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
            still += ch[j].opened;
        else if (strcmp(mode, "hold") == 0)
            ok = 0;
        close(ch[j].fd);
    }
    if (strcmp(mode, "push") == 0)
        still = opened_sum;
    printf("{\"mode\":\"%s\",\"connections\":%d,\"opened\":%d,\"failed\":%d,\"open_at_end\":%d,"
           "\"connect_seconds\":%.3f,\"processes\":%d",
           mode, total, opened_sum, failed_sum, still, (t_open - t0) / 1e6, jobs);
    if (strcmp(mode, "push") == 0) {
        qsort(push_times, (size_t)n, sizeof(*push_times), cmp_ll);
        printf(",\"push_rounds\":%d,\"push_all_p50_us\":%lld,\"push_all_p99_us\":%lld,"
               "\"push_all_max_us\":%lld",
               n, pct(push_times, n, 0.5), pct(push_times, n, 0.99), n ? push_times[n - 1] : 0);
        ok = ok && n == rounds;
    }
    printf("}\n");
    free(ch);
    return ok && failed_sum == 0 && opened_sum == total ? 0 : 1;
}

int main(int argc, char **argv)
{
    int c;
    const char *push_at = NULL;
    while ((c = getopt(argc, argv, "m:c:s:d:r:p:u:P:j:")) != -1) {
        switch (c) {
        case 'm': mode = optarg; break;
        case 'c': nconn = atoi(optarg); break;
        case 's':
            for (char *tok = strtok(optarg, ","); tok && nsrc < MAX_SRC; tok = strtok(NULL, ",")) {
                src[nsrc].sin_family = AF_INET;
                if (inet_pton(AF_INET, tok, &src[nsrc].sin_addr) != 1)
                    return 2;
                nsrc++;
            }
            break;
        case 'd': duration = atoi(optarg); break;
        case 'r': rounds = atoi(optarg); break;
        case 'p': parallel = atoi(optarg); break;
        case 'u': user_prefix = optarg; break;
        case 'P': push_at = optarg; break;
        case 'j': jobs = atoi(optarg); break;
        default: return 2;
        }
    }
    if (optind >= argc || parse_addr(argv[optind], &dst) < 0 || nconn < 1 || sodium_init() < 0) {
        fprintf(stderr, "usage: ws_load [-m hold|echo|push] [-c N] [-s SRC,...] [-d SEC] "
                        "[-r ROUNDS] [-p PARALLEL] [-u USER] [-P PUSHHOST:PORT] HOST:PORT\n");
        return 2;
    }
    snprintf(hostport, sizeof(hostport), "%s", argv[optind]);
    if (parse_addr(push_at ? push_at : argv[optind], &push_dst) < 0)
        return 2;
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    push_times = calloc((size_t)rounds + 1, sizeof(*push_times));
    int first = 0; /* index of this process's first connection */
    if (jobs > 1 && strcmp(mode, "echo") != 0) {
        int r = run_parent(nconn);
        if (r >= 0)
            return r;
        first = -r - 1; /* a child: go on with its share */
    }
    if ((rlim_t)nconn + 64 > rl.rlim_cur) {
        fprintf(stderr, "ws_load: the file limit %llu is too low for %d connections "
                        "(raise ulimit -n)\n", (unsigned long long)rl.rlim_cur, nconn);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    exp_s = time(NULL) + 86400;
    base = event_base_new();
    conns = calloc((size_t)nconn, sizeof(*conns));
    rtt = calloc((size_t)rounds + 1, sizeof(*rtt));
    round_got = calloc((size_t)rounds + 2, sizeof(*round_got));
    tick_ev = evtimer_new(base, on_tick, NULL);
    struct event *sint = evsignal_new(base, SIGINT, on_signal, NULL);
    struct event *sterm = evsignal_new(base, SIGTERM, on_signal, NULL);
    event_add(sint, NULL);
    event_add(sterm, NULL);
    for (int i = 0; i < nconn; i++)
        conns[i].idx = first + i;
    t_start = now_us();
    open_more();
    event_base_dispatch(base);

    int still = 0;
    for (int i = 0; i < nconn; i++)
        still += conns[i].state == 2;
    if (child_fd >= 0) /* a -j child: the parent reports */
        _exit(failed == 0 && still == nconn ? 0 : 1);
    printf("{\"mode\":\"%s\",\"connections\":%d,\"opened\":%d,\"failed\":%d,\"open_at_end\":%d,"
           "\"connect_seconds\":%.3f",
           mode, nconn, opened_total, failed, still,
           t_open_done ? (t_open_done - t_start) / 1e6 : -1.0);
    int ok = failed == 0 && still == nconn;
    if (strcmp(mode, "echo") == 0) {
        qsort(rtt, (size_t)rtt_n, sizeof(*rtt), cmp_ll);
        printf(",\"echo_round_trips\":%d,\"rtt_p50_us\":%lld,\"rtt_p99_us\":%lld,\"rtt_max_us\":%lld",
               rtt_n, pct(rtt, rtt_n, 0.5), pct(rtt, rtt_n, 0.99), rtt_n ? rtt[rtt_n - 1] : 0);
        ok = ok && rtt_n == rounds;
    } else if (strcmp(mode, "push") == 0) {
        int n = push_round - (push_times[push_round - 1] == 0);
        qsort(push_times, (size_t)n, sizeof(*push_times), cmp_ll);
        printf(",\"push_rounds\":%d,\"push_all_p50_us\":%lld,\"push_all_p99_us\":%lld,"
               "\"push_all_max_us\":%lld",
               n, pct(push_times, n, 0.5), pct(push_times, n, 0.99), n ? push_times[n - 1] : 0);
        ok = ok && n == rounds;
    }
    printf("}\n");
    for (int i = 0; i < nconn; i++) {
        if (conns[i].bev)
            bufferevent_free(conns[i].bev);
        free(conns[i].msg);
    }
    free(conns);
    free(rtt);
    free(push_times);
    event_free(tick_ev);
    event_free(sint);
    event_free(sterm);
    event_base_free(base);
    return ok ? 0 : 1;
}
