/*
 * book_storm — concurrent HTTP clients for the booking tests and benchmark.
 * One thread per client, blocking sockets, HTTP/1.1 keep-alive.
 *
 *   book_storm storm PORT PLAN
 *       PLAN: one request per line, "TOKEN<TAB>METHOD<TAB>PATH<TAB>BODY".
 *       One client per line; all start at the same instant (a barrier).
 *       Prints "LINE<TAB>STATUS<TAB>MICROSECONDS<TAB>BODY" per request, in
 *       plan order.
 *
 *   book_storm bench PORT TOKENS PROPS CLIENTS SECONDS MODE FIRST_DAY
 *       TOKENS: one bearer token per line (client i uses line i mod n).
 *       PROPS: one listing id per line.  FIRST_DAY: YYYY-MM-DD, the first
 *       check-in day.  MODE:
 *         distinct    client i books the listings j with j mod CLIENTS == i,
 *                     one night each, walking the calendar: nothing collides
 *         contention  every client books a random listing, a random
 *                     check-in within 60 days, 1 to 4 nights
 *       Prints one JSON object: requests, created (201), conflicts (409),
 *       other, seconds, rps, created_per_s, p50_ms, p99_ms.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RESP_MAX (1 << 20)

typedef struct conn {
    int fd;
    char *buf; /* owned: RESP_MAX + 1 bytes */
    size_t have;
} conn_t;

static int port;

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int conn_open(conn_t *c)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    c->have = 0;
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0)
        return -1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(c->fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    return 0;
}

static void conn_close(conn_t *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->have = 0;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* One request and its response.  *body points into c->buf (valid until
 * the next call).  Returns the status, or -1 on a broken connection. */
static int roundtrip(conn_t *c, const char *req, size_t len, const char **body, size_t *blen)
{
    if (c->fd < 0 && conn_open(c) < 0)
        return -1;
    if (send_all(c->fd, req, len) < 0)
        goto broken;
    c->have = 0;
    for (;;) {
        char *end = NULL;
        if (c->have) {
            c->buf[c->have] = '\0';
            end = strstr(c->buf, "\r\n\r\n");
        }
        if (end) {
            size_t hlen = (size_t)(end - c->buf) + 4, clen = 0;
            int status = 0, close_after = 0;
            if (sscanf(c->buf, "HTTP/1.%*d %d", &status) != 1)
                goto broken;
            for (char *l = strstr(c->buf, "\r\n"); l && l < end; l = strstr(l + 2, "\r\n")) {
                if (strncasecmp(l + 2, "Content-Length:", 15) == 0)
                    clen = (size_t)strtoul(l + 17, NULL, 10);
                else if (strncasecmp(l + 2, "Connection: close", 17) == 0)
                    close_after = 1;
            }
            if (hlen + clen > RESP_MAX)
                goto broken;
            while (c->have < hlen + clen) {
                ssize_t r = recv(c->fd, c->buf + c->have, RESP_MAX - c->have, 0);
                if (r < 0 && errno == EINTR)
                    continue;
                if (r <= 0)
                    goto broken;
                c->have += (size_t)r;
            }
            c->buf[hlen + clen] = '\0';
            *body = c->buf + hlen;
            *blen = clen;
            if (close_after)
                close(c->fd), c->fd = -1;
            return status;
        }
        if (c->have >= RESP_MAX)
            goto broken;
        ssize_t r = recv(c->fd, c->buf + c->have, RESP_MAX - c->have, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            goto broken;
        c->have += (size_t)r;
    }
broken:
    conn_close(c);
    return -1;
}

/* The request text into a malloc'd string (*len its length). */
static char *build(const char *method, const char *path, const char *token, const char *body,
                   size_t *len)
{
    size_t blen = body ? strlen(body) : 0, cap = blen + strlen(path) + strlen(token) + 256;
    char *r = malloc(cap);
    if (!r)
        return NULL;
    int n = snprintf(r, cap,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                     method, path, token, blen, body ? body : "");
    *len = (size_t)n;
    return r;
}

static char *slurp_lines(const char *path, char ***lines, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)sz + 1);
    size_t cap = 16;
    *n = 0;
    *lines = malloc(cap * sizeof(char *));
    if (!buf || !*lines || fread(buf, 1, (size_t)sz, f) != (size_t)sz) {
        fclose(f);
        free(buf);
        free(*lines);
        return NULL;
    }
    fclose(f);
    buf[sz] = '\0';
    for (char *save = NULL, *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (*n == cap) {
            char **m = realloc(*lines, (cap *= 2) * sizeof(char *));
            if (!m)
                exit(2);
            *lines = m;
        }
        (*lines)[(*n)++] = l;
    }
    return buf;
}

/* ---- storm ---------------------------------------------------------------------------- */

typedef struct shot {
    char *line;   /* TOKEN \t METHOD \t PATH \t BODY, split in place */
    int status;
    int64_t us;
    char *body;   /* owned copy of the response body */
} shot_t;

static pthread_barrier_t barrier;

static void *storm_client(void *arg)
{
    shot_t *s = arg;
    char *tok = s->line, *m = strchr(tok, '\t'), *p = m ? strchr(m + 1, '\t') : NULL;
    char *b = p ? strchr(p + 1, '\t') : NULL;
    conn_t c = {.fd = -1, .buf = malloc(RESP_MAX + 1)};
    size_t len = 0, blen = 0;
    const char *body = "";
    char *req = NULL;
    s->status = -1;
    if (b && c.buf) {
        *m++ = '\0', *p++ = '\0', *b++ = '\0';
        req = build(m, p, tok, b, &len);
    }
    if (c.buf && conn_open(&c) < 0)
        conn_close(&c); /* roundtrip tries again */
    pthread_barrier_wait(&barrier);
    if (req) {
        int64_t t0 = mono_us();
        s->status = roundtrip(&c, req, len, &body, &blen);
        s->us = mono_us() - t0;
        s->body = strndup(s->status > 0 ? body : "", s->status > 0 ? blen : 0);
    }
    conn_close(&c);
    free(c.buf);
    free(req);
    return NULL;
}

static int storm(const char *plan)
{
    char **lines;
    size_t n;
    char *buf = slurp_lines(plan, &lines, &n);
    if (!buf || n == 0) {
        fprintf(stderr, "book_storm: cannot read %s\n", plan);
        return 2;
    }
    shot_t *s = calloc(n, sizeof(*s));
    pthread_t *th = calloc(n, sizeof(*th));
    if (!s || !th)
        return 2;
    pthread_barrier_init(&barrier, NULL, (unsigned)n);
    for (size_t i = 0; i < n; i++) {
        s[i].line = lines[i];
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setstacksize(&at, 256 * 1024);
        if (pthread_create(&th[i], &at, storm_client, &s[i]) != 0) {
            fprintf(stderr, "book_storm: cannot start thread %zu\n", i);
            return 2;
        }
        pthread_attr_destroy(&at);
    }
    for (size_t i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    for (size_t i = 0; i < n; i++) {
        for (char *q = s[i].body; q && *q; q++)
            if (*q == '\n' || *q == '\t')
                *q = ' ';
        printf("%zu\t%d\t%lld\t%s\n", i, s[i].status, (long long)s[i].us,
               s[i].body ? s[i].body : "");
        free(s[i].body);
    }
    pthread_barrier_destroy(&barrier);
    free(s);
    free(th);
    free(lines);
    free(buf);
    return 0;
}

/* ---- bench ------------------------------------------------------------------------------- */

typedef struct client {
    int idx, nclients, contention;
    char **tokens, **props;
    size_t ntokens, nprops;
    int64_t first_day, deadline_us;
    /* results */
    int64_t *lat;      /* owned, microseconds of each request */
    size_t nlat, cap;
    long created, conflicts, other;
} client_t;

static void civil(int64_t z, char out[11])
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    snprintf(out, 11, "%04u-%02u-%02u", (unsigned)(y % 10000) % 10000u, m % 13u, d % 32u);
}

static int64_t day_of(const char *s)
{
    unsigned y, m, d;
    if (sscanf(s, "%u-%u-%u", &y, &m, &d) != 3)
        return -1;
    int64_t yy = (int64_t)y - (m <= 2);
    int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
    unsigned yoe = (unsigned)(yy - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void *bench_client(void *arg)
{
    client_t *c = arg;
    conn_t cn = {.fd = -1, .buf = malloc(RESP_MAX + 1)};
    unsigned seed = (unsigned)(c->idx * 2654435761u) ^ (unsigned)mono_us();
    const char *token = c->tokens[(size_t)c->idx % c->ntokens];
    size_t mine = 0, k = 0;
    if (!cn.buf)
        return NULL;
    while (mono_us() < c->deadline_us) {
        const char *prop;
        int64_t in, nights;
        if (c->contention) {
            prop = c->props[(size_t)rand_r(&seed) % c->nprops];
            in = c->first_day + rand_r(&seed) % 60;
            nights = 1 + rand_r(&seed) % 4;
        } else {
            /* the listings of this client, round robin; one night each,
             * the next night once every listing had this one */
            size_t count = (c->nprops + (size_t)c->nclients - 1 - (size_t)c->idx) /
                           (size_t)c->nclients;
            if (count == 0)
                break;
            prop = c->props[(size_t)c->idx + (mine % count) * (size_t)c->nclients];
            in = c->first_day + (int64_t)(mine / count);
            nights = 1;
            mine++;
        }
        char din[11], dout[11], body[256];
        civil(in, din);
        civil(in + nights, dout);
        snprintf(body, sizeof(body),
                 "{\"property_id\":\"%s\",\"check_in\":\"%s\",\"check_out\":\"%s\",\"guests\":1}",
                 prop, din, dout);
        size_t len, blen;
        const char *rb;
        char *req = build("POST", "/v1/bookings", token, body, &len);
        if (!req)
            break;
        int64_t t0 = mono_us();
        int st = roundtrip(&cn, req, len, &rb, &blen);
        int64_t us = mono_us() - t0;
        free(req);
        if (st == 201)
            c->created++;
        else if (st == 409)
            c->conflicts++;
        else
            c->other++;
        if (st < 0)
            usleep(1000);
        if (c->nlat == c->cap) {
            size_t cap = c->cap ? c->cap * 2 : 4096;
            int64_t *l = realloc(c->lat, cap * sizeof(*l));
            if (!l)
                break;
            c->lat = l, c->cap = cap;
        }
        c->lat[c->nlat++] = us;
        k++;
    }
    conn_close(&cn);
    free(cn.buf);
    return NULL;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int bench(char **argv)
{
    char **tokens, **props;
    size_t ntok, nprop;
    char *tb = slurp_lines(argv[0], &tokens, &ntok);
    char *pb = slurp_lines(argv[1], &props, &nprop);
    int nclients = atoi(argv[2]);
    double seconds = atof(argv[3]);
    int contention = strcmp(argv[4], "contention") == 0;
    int64_t first = day_of(argv[5]);
    if (!tb || !pb || !ntok || !nprop || nclients < 1 || seconds <= 0 || first < 0) {
        fprintf(stderr, "book_storm bench: bad arguments\n");
        return 2;
    }
    client_t *c = calloc((size_t)nclients, sizeof(*c));
    pthread_t *th = calloc((size_t)nclients, sizeof(*th));
    if (!c || !th)
        return 2;
    int64_t t0 = mono_us(), deadline = t0 + (int64_t)(seconds * 1e6);
    for (int i = 0; i < nclients; i++) {
        c[i] = (client_t){.idx = i, .nclients = nclients, .contention = contention,
                          .tokens = tokens, .ntokens = ntok, .props = props, .nprops = nprop,
                          .first_day = first, .deadline_us = deadline};
        if (pthread_create(&th[i], NULL, bench_client, &c[i]) != 0)
            return 2;
    }
    size_t total = 0;
    long created = 0, conflicts = 0, other = 0;
    for (int i = 0; i < nclients; i++) {
        pthread_join(th[i], NULL);
        total += c[i].nlat;
        created += c[i].created, conflicts += c[i].conflicts, other += c[i].other;
    }
    double secs = (double)(mono_us() - t0) / 1e6;
    int64_t *all = malloc((total ? total : 1) * sizeof(*all));
    size_t at = 0;
    for (int i = 0; i < nclients; i++) {
        if (all && c[i].nlat)
            memcpy(all + at, c[i].lat, c[i].nlat * sizeof(*all));
        at += c[i].nlat;
        free(c[i].lat);
    }
    double p50 = 0, p99 = 0;
    if (all && total) {
        qsort(all, total, sizeof(*all), cmp64);
        p50 = (double)all[total / 2] / 1000.0;
        p99 = (double)all[(size_t)((double)total * 0.99)] / 1000.0;
    }
    printf("{\"requests\":%zu,\"created\":%ld,\"conflicts\":%ld,\"other\":%ld,\"seconds\":%.2f,"
           "\"rps\":%.0f,\"created_per_s\":%.0f,\"p50_ms\":%.3f,\"p99_ms\":%.3f}\n",
           total, created, conflicts, other, secs, (double)total / secs,
           (double)created / secs, p50, p99);
    free(all);
    free(c);
    free(th);
    free(tokens);
    free(props);
    free(tb);
    free(pb);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "storm") == 0) {
        port = atoi(argv[2]);
        return storm(argv[3]);
    }
    if (argc >= 9 && strcmp(argv[1], "bench") == 0) {
        port = atoi(argv[2]);
        return bench(argv + 3);
    }
    fprintf(stderr, "usage: book_storm storm PORT PLAN\n"
                    "       book_storm bench PORT TOKENS PROPS CLIENTS SECONDS "
                    "distinct|contention FIRST_DAY\n");
    return 2;
}
