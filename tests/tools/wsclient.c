/*
 * wsclient — a raw WebSocket client for the conformance tests.  It can send
 * what real clients never do (unmasked frames, reserved bits, bad UTF-8,
 * broken fragments) and reports exactly what comes back.
 *
 *   wsclient [-t TOKEN] [-q TOKEN] [-a TOKEN] [-o ORIGIN] [-e STATUS] [-T MS]
 *            HOST:PORT STEP...
 *
 *   -t TOKEN   offer subprotocols "bearer, bearer.TOKEN"
 *   -q TOKEN   GET /v1/ws?access_token=TOKEN
 *   -a TOKEN   Authorization: Bearer TOKEN
 *   -o ORIGIN  send Origin
 *   -e STATUS  expect the handshake to answer STATUS (exit 0 if it does)
 *   -T MS      how long an expect step waits (default 5000)
 *   -n         do not answer the server's pings (a dead client)
 *
 * Steps (payloads understand \xHH, \n and \\):
 *   text:S            one masked text frame
 *   binary:S          one masked binary frame
 *   frame:F,R,OP,M,S  a frame with FIN F, RSV bits R (0-7), opcode OP, mask M
 *   frags:N:S         S as a text message in N fragments
 *   big:N[:K]         a {"ch":"echo","pad":"..."} message of N bytes [in K fragments]
 *   ping:S            a ping;  pong:S  an unsolicited pong
 *   close[:CODE[:R]]  a close frame (no CODE: empty payload)
 *   raw:HEX           bytes as they are
 *   sleep:MS          wait without reading
 *   idle:MS           read (answering pings) for MS; fails if the server closes
 *   expect:S          read until a text message containing S (escapes allowed)
 *   expect_pong:S     read until a pong with payload S
 *   expect_close:C    read until a close frame with code C (text before it is
 *                     skipped), answer it, then wait for the server's EOF
 *   expect_eof        read until the server closes TCP (anything else is ignored)
 *   count:S:N         read until N text messages containing S arrived
 * Every frame received is printed ("text ...", "close CODE REASON", ...).
 * Exit: 0 all steps passed, 1 an expectation failed, 2 handshake failed.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "ws_frame.h"

static int fd = -1;
static int timeout_ms = 5000;
static int auto_pong = 1; /* answer pings like a browser does; -n turns it off */
static uint8_t inbuf[1 << 16];
static rz_ws_decoder_t dec = {.expect_masked = 0};
static uint8_t *msg;
static size_t msg_len, msg_cap;

/* what arrived, for the expect steps */
typedef struct got {
    int type; /* RZ_WS_EV_MESSAGE (text), PONG, CLOSE, ERROR, or -1 = EOF, 0 = timeout */
    int opcode, code;
    char *data; /* NUL-terminated, owned by the caller */
    size_t len;
} got_t;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t unescape(const char *s, uint8_t *out)
{
    size_t n = 0;
    while (*s) {
        if (s[0] == '\\' && s[1] == 'x' && s[2] && s[3]) {
            char h[3] = {s[2], s[3], 0};
            out[n++] = (uint8_t)strtoul(h, NULL, 16);
            s += 4;
        } else if (s[0] == '\\' && s[1] == 'n') {
            out[n++] = '\n';
            s += 2;
        } else if (s[0] == '\\' && s[1] == '\\') {
            out[n++] = '\\';
            s += 2;
        } else {
            out[n++] = (uint8_t)*s++;
        }
    }
    return n;
}

static void write_all(const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            printf("write failed: %s\n", strerror(errno));
            return; /* the server may have closed on us: reading will tell */
        }
        p += w;
        n -= (size_t)w;
    }
}

static void send_frame(int fin, int rsv, int op, int mask, const uint8_t *p, size_t n)
{
    uint8_t key[4];
    randombytes_buf(key, 4);
    uint8_t *f = malloc(n + RZ_WS_MAX_HEADER);
    size_t h = rz_ws_frame_header(f, fin, op, n, mask ? key : NULL);
    f[0] |= (uint8_t)((rsv & 7) << 4);
    memcpy(f + h, p, n);
    if (mask)
        rz_ws_mask(f + h, n, key, 0);
    write_all(f, h + n);
    free(f);
}

/* Read and decode until one reportable thing arrives, or deadline. */
static got_t next_event(long long deadline)
{
    static size_t have, off; /* undecoded bytes in inbuf[off..have) */
    got_t g = {0};
    for (;;) {
        for (;;) { /* a pending event may need no new bytes: call even when empty */
            rz_ws_event_t ev;
            off += rz_ws_decode(&dec, inbuf + off, have - off, &ev);
            if (ev.type == RZ_WS_EV_NONE)
                break;
            if (ev.type == RZ_WS_EV_DATA) {
                if (msg_len + ev.len + 1 > msg_cap) {
                    msg_cap = (msg_len + ev.len + 1) * 2;
                    msg = realloc(msg, msg_cap);
                }
                memcpy(msg + msg_len, ev.data, ev.len);
                msg_len += ev.len;
                continue;
            }
            if (ev.type == RZ_WS_EV_PING && auto_pong)
                send_frame(1, 0, RZ_WS_OP_PONG, 1, ev.data, ev.len);
            g.type = ev.type;
            g.opcode = ev.opcode;
            g.code = ev.close_code;
            if (ev.type == RZ_WS_EV_MESSAGE) {
                g.data = malloc(msg_len + 1);
                memcpy(g.data, msg ? msg : (uint8_t *)"", msg_len);
                g.len = msg_len;
                msg_len = 0;
            } else {
                const void *src = ev.type == RZ_WS_EV_ERROR ? (const void *)ev.why : ev.data;
                size_t len = ev.type == RZ_WS_EV_ERROR ? strlen(ev.why) : ev.len;
                g.data = malloc(len + 1);
                if (len)
                    memcpy(g.data, src, len);
                g.len = len;
            }
            g.data[g.len] = '\0';
            if (g.type == RZ_WS_EV_ERROR)
                off = have; /* the stream is garbage from here */
            return g;
        }
        off = have = 0; /* the decoder consumed everything */
        long long left = deadline - now_ms();
        if (left <= 0)
            return g; /* timeout */
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        ssize_t n = read(fd, inbuf + have, sizeof(inbuf) - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            g.type = -1;
            return g;
        }
        have += (size_t)n;
    }
}

static void print_event(const got_t *g)
{
    switch (g->type) {
    case RZ_WS_EV_MESSAGE:
        if (g->len > 200)
            printf("%s (%zu bytes) %.120s...\n", g->opcode == RZ_WS_OP_TEXT ? "text" : "binary",
                   g->len, g->data);
        else
            printf("%s %s\n", g->opcode == RZ_WS_OP_TEXT ? "text" : "binary", g->data);
        break;
    case RZ_WS_EV_PING: printf("ping %s\n", g->data); break;
    case RZ_WS_EV_PONG: printf("pong %s\n", g->data); break;
    case RZ_WS_EV_CLOSE: printf("close %d %s\n", g->code, g->data); break;
    case RZ_WS_EV_ERROR: printf("bad frame from server: %s\n", g->data); break;
    case -1: printf("eof\n"); break;
    default: printf("timeout\n"); break;
    }
    fflush(stdout);
}

static int connect_to(const char *hostport)
{
    char host[256];
    const char *colon = strrchr(hostport, ':');
    if (!colon || (size_t)(colon - hostport) >= sizeof(host))
        return -1;
    memcpy(host, hostport, (size_t)(colon - hostport));
    host[colon - hostport] = '\0';
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
    if (getaddrinfo(host, colon + 1, &hints, &res) != 0)
        return -1;
    int s = socket(res->ai_family, SOCK_STREAM, 0);
    if (s < 0 || connect(s, res->ai_addr, res->ai_addrlen) < 0) {
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    return s;
}

static int handshake(const char *hostport, const char *proto_tok, const char *query_tok,
                     const char *auth_tok, const char *origin, int expect_status)
{
    uint8_t keyraw[16];
    char key[32], req[8192], want[32];
    randombytes_buf(keyraw, sizeof(keyraw));
    sodium_bin2base64(key, sizeof(key), keyraw, 16, sodium_base64_VARIANT_ORIGINAL);
    int n = snprintf(req, sizeof(req),
                     "GET /v1/ws%s%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n",
                     query_tok ? "?access_token=" : "", query_tok ? query_tok : "", hostport, key);
    if (proto_tok)
        n += snprintf(req + n, sizeof(req) - (size_t)n,
                      "Sec-WebSocket-Protocol: bearer, bearer.%s\r\n", proto_tok);
    if (auth_tok)
        n += snprintf(req + n, sizeof(req) - (size_t)n, "Authorization: Bearer %s\r\n", auth_tok);
    if (origin)
        n += snprintf(req + n, sizeof(req) - (size_t)n, "Origin: %s\r\n", origin);
    n += snprintf(req + n, sizeof(req) - (size_t)n, "\r\n");
    write_all((const uint8_t *)req, (size_t)n);

    /* read the head byte by byte: nothing after it may be swallowed */
    char head[8192];
    size_t hl = 0;
    while (hl < sizeof(head) - 1) {
        ssize_t r = read(fd, head + hl, 1);
        if (r <= 0)
            break;
        hl++;
        if (hl >= 4 && memcmp(head + hl - 4, "\r\n\r\n", 4) == 0)
            break;
    }
    head[hl] = '\0';
    int status = 0;
    sscanf(head, "HTTP/1.1 %d", &status);
    printf("status %d\n", status);
    if (status != 101) {
        char body[2048];
        ssize_t r = read(fd, body, sizeof(body) - 1);
        body[r > 0 ? r : 0] = '\0';
        printf("%s\n", body);
        return expect_status == status ? 0 : 2;
    }
    /* Sec-WebSocket-Accept must be base64(SHA-1(key + GUID)) */
    char cat[128];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen;
    snprintf(cat, sizeof(cat), "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
    EVP_Digest(cat, strlen(cat), md, &mdlen, EVP_sha1(), NULL);
    sodium_bin2base64(want, sizeof(want), md, 20, sodium_base64_VARIANT_ORIGINAL);
    if (!strstr(head, want)) {
        printf("bad Sec-WebSocket-Accept in:\n%s", head);
        return 2;
    }
    if (proto_tok && !strstr(head, "Sec-WebSocket-Protocol: bearer\r\n")) {
        printf("the server did not select the bearer subprotocol\n");
        return 2;
    }
    return expect_status == 0 || expect_status == 101 ? 1 : 2;
}

static int step(const char *s)
{
    static uint8_t buf[1 << 21];
    long long deadline = now_ms() + timeout_ms;
    if (strncmp(s, "text:", 5) == 0 || strncmp(s, "binary:", 7) == 0) {
        int bin = s[0] == 'b';
        size_t n = unescape(s + (bin ? 7 : 5), buf);
        send_frame(1, 0, bin ? RZ_WS_OP_BINARY : RZ_WS_OP_TEXT, 1, buf, n);
    } else if (strncmp(s, "frame:", 6) == 0) {
        int fin, rsv, op, mask, used = 0;
        if (sscanf(s + 6, "%d,%d,%d,%d,%n", &fin, &rsv, &op, &mask, &used) < 4 || !used) {
            printf("bad step %s\n", s);
            return 1;
        }
        size_t n = unescape(s + 6 + used, buf);
        send_frame(fin, rsv, op, mask, buf, n);
    } else if (strncmp(s, "frags:", 6) == 0) {
        char *end;
        long k = strtol(s + 6, &end, 10);
        size_t n = unescape(end + 1, buf), per = k > 0 ? (n + (size_t)k - 1) / (size_t)k : n;
        for (long i = 0; i < k; i++) {
            size_t a = (size_t)i * per < n ? (size_t)i * per : n;
            size_t b = a + per < n ? a + per : n;
            send_frame(i == k - 1, 0, i ? RZ_WS_OP_CONT : RZ_WS_OP_TEXT, 1, buf + a, b - a);
        }
    } else if (strncmp(s, "big:", 4) == 0) {
        char *end;
        size_t n = strtoul(s + 4, &end, 10);
        long k = *end == ':' ? strtol(end + 1, NULL, 10) : 1;
        if (n < 30 || n > sizeof(buf) || k < 1)
            return 1;
        memcpy(buf, "{\"ch\":\"echo\",\"pad\":\"", 20);
        memset(buf + 20, 'x', n - 22);
        memcpy(buf + n - 2, "\"}", 2);
        size_t per = (n + (size_t)k - 1) / (size_t)k;
        for (long i = 0; i < k; i++) {
            size_t a = (size_t)i * per < n ? (size_t)i * per : n;
            size_t b = a + per < n ? a + per : n;
            send_frame(i == k - 1, 0, i ? RZ_WS_OP_CONT : RZ_WS_OP_TEXT, 1, buf + a, b - a);
        }
    } else if (strncmp(s, "ping:", 5) == 0 || strncmp(s, "pong:", 5) == 0) {
        size_t n = unescape(s + 5, buf);
        send_frame(1, 0, s[1] == 'i' ? RZ_WS_OP_PING : RZ_WS_OP_PONG, 1, buf, n);
    } else if (strncmp(s, "close", 5) == 0) {
        size_t n = 0;
        if (s[5] == ':' && s[6]) {
            char *end;
            long code = strtol(s + 6, &end, 10);
            buf[0] = (uint8_t)(code >> 8);
            buf[1] = (uint8_t)code;
            n = 2 + (*end == ':' ? unescape(end + 1, buf + 2) : 0);
        }
        send_frame(1, 0, RZ_WS_OP_CLOSE, 1, buf, n);
    } else if (strncmp(s, "raw:", 4) == 0) {
        size_t n = 0;
        for (const char *p = s + 4; p[0] && p[1]; p += 2) {
            char h[3] = {p[0], p[1], 0};
            buf[n++] = (uint8_t)strtoul(h, NULL, 16);
        }
        write_all(buf, n);
    } else if (strncmp(s, "sleep:", 6) == 0) {
        usleep((useconds_t)atoi(s + 6) * 1000);
    } else if (strncmp(s, "expect:", 7) == 0 || strncmp(s, "count:", 6) == 0) {
        int counting = s[0] == 'c';
        char pat[4096], want[4096];
        long need = 1, seen = 0;
        if (counting) {
            const char *c = strrchr(s + 6, ':');
            snprintf(pat, sizeof(pat), "%.*s", (int)(c - s - 6), s + 6);
            need = atol(c + 1);
        } else {
            snprintf(pat, sizeof(pat), "%s", s + 7);
        }
        want[unescape(pat, (uint8_t *)want)] = '\0';
        for (;;) {
            got_t g = next_event(deadline);
            if (!counting || g.type != RZ_WS_EV_MESSAGE)
                print_event(&g);
            int hit = g.type == RZ_WS_EV_MESSAGE && strstr(g.data, want);
            int over = g.type <= 0 || g.type == RZ_WS_EV_CLOSE || g.type == RZ_WS_EV_ERROR;
            free(g.data);
            if (hit && ++seen >= need) {
                if (counting)
                    printf("counted %ld\n", seen);
                return 0;
            }
            if (over) {
                printf("expected %s, got %ld\n", s, seen);
                return 1;
            }
        }
    } else if (strncmp(s, "expect_pong:", 12) == 0) {
        uint8_t want[128];
        size_t wn = unescape(s + 12, want);
        for (;;) {
            got_t g = next_event(deadline);
            print_event(&g);
            int hit = g.type == RZ_WS_EV_PONG && g.len == wn && memcmp(g.data, want, wn) == 0;
            int over = g.type <= 0 || g.type == RZ_WS_EV_CLOSE || g.type == RZ_WS_EV_ERROR;
            free(g.data);
            if (hit)
                return 0;
            if (over)
                return 1;
        }
    } else if (strncmp(s, "expect_close:", 13) == 0) {
        int want = atoi(s + 13), quiet = 0;
        for (;;) {
            got_t g = next_event(deadline);
            if (g.type != RZ_WS_EV_MESSAGE || quiet++ < 3)
                print_event(&g);
            int type = g.type, code = g.code;
            free(g.data);
            if (type == RZ_WS_EV_CLOSE) {
                uint8_t p[2] = {(uint8_t)(code >> 8), (uint8_t)code};
                send_frame(1, 0, RZ_WS_OP_CLOSE, 1, p, code == 1005 ? 0 : 2);
                if (code != want) {
                    printf("expected close %d, got %d\n", want, code);
                    return 1;
                }
                got_t e = next_event(now_ms() + timeout_ms); /* the server closes TCP first */
                print_event(&e);
                free(e.data);
                return e.type == -1 ? 0 : 1;
            }
            if (type <= 0 || type == RZ_WS_EV_ERROR) {
                printf("expected close %d\n", want);
                return 1;
            }
        }
    } else if (strncmp(s, "idle:", 5) == 0) {
        long long until = now_ms() + atoi(s + 5);
        for (;;) {
            got_t g = next_event(until);
            int type = g.type;
            if (type != 0)
                print_event(&g);
            free(g.data);
            if (type == 0)
                return 0;
            if (type == -1 || type == RZ_WS_EV_CLOSE || type == RZ_WS_EV_ERROR)
                return 1;
        }
    } else if (strcmp(s, "expect_eof") == 0) {
        for (;;) {
            got_t g = next_event(deadline);
            print_event(&g);
            int type = g.type;
            free(g.data);
            if (type == -1)
                return 0;
            if (type == 0)
                return 1;
        }
    } else {
        printf("unknown step %s\n", s);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *ptok = NULL, *qtok = NULL, *atok = NULL, *origin = NULL;
    int expect_status = 0, c;
    while ((c = getopt(argc, argv, "t:q:a:o:e:T:n")) != -1) {
        switch (c) {
        case 't': ptok = optarg; break;
        case 'q': qtok = optarg; break;
        case 'a': atok = optarg; break;
        case 'o': origin = optarg; break;
        case 'e': expect_status = atoi(optarg); break;
        case 'T': timeout_ms = atoi(optarg); break;
        case 'n': auto_pong = 0; break;
        default: return 2;
        }
    }
    if (optind >= argc || sodium_init() < 0) {
        fprintf(stderr, "usage: wsclient [-t|-q|-a TOKEN] [-o ORIGIN] [-e STATUS] HOST:PORT STEP...\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    fd = connect_to(argv[optind]);
    if (fd < 0) {
        printf("cannot connect to %s\n", argv[optind]);
        return 2;
    }
    int h = handshake(argv[optind], ptok, qtok, atok, origin, expect_status);
    if (h != 1) {
        close(fd);
        return h;
    }
    int rc = 0;
    for (int i = optind + 1; i < argc && rc == 0; i++)
        rc = step(argv[i]);
    free(msg);
    close(fd);
    return rc;
}
