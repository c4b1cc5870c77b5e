/*
 * http.c — connections and requests of one worker.
 *
 * A connection reads into its own buffer, parses one request head at a time
 * (http_parse.c), waits for the whole body, copies the request into a
 * request-scoped arena and dispatches it.  While a request is in flight the
 * connection parses nothing more (pipelined bytes wait in the buffer), so
 * responses leave in request order.  The request object outlives its
 * connection when the client goes away first: the reply is then discarded.
 */
#include "http.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <sodium.h>

#include "arena.h"
#include "authz.h"
#include "gateway.h"
#include "clock.h"
#include "db.h"
#include "jobs.h"
#include "host.h"
#include "http_parse.h"
#include "log.h"
#include "metrics.h"
#include "readiness.h"

#define MAX_LISTEN 8
#define MAX_RESP_HEADERS 32
#define READ_CHUNK 16384
#define OUT_HIGH_WATER (256 * 1024)

rz_router_t *rz__router;

/* ---- configuration (filled in the master, inherited by workers) ---------- */

static struct {
    size_t max_body, max_header, max_uri;
    int64_t read_timeout_ms, keepalive_timeout_ms;
    int64_t max_connections;
    int access_log;
    char *listen[MAX_LISTEN];
    size_t nlisten;
    int reserved[MAX_LISTEN];
} conf = {.max_body = 1 << 20, .max_header = 16 << 10, .max_uri = 8 << 10,
          .read_timeout_ms = 30000, .keepalive_timeout_ms = 75000, .max_connections = 10000,
          .access_log = 1};

/* ---- per-worker state ------------------------------------------------------ */

typedef struct conn conn_t;

struct rz_req {
    conn_t *conn;             /* NULL once the client is gone */
    rz_arena_t arena;
    char method[16];
    char *path;               /* raw, NUL-terminated */
    size_t path_len;
    char *query;              /* raw, after '?', or NULL */
    rz_http_header_t headers[RZ_HTTP_MAX_HEADERS];
    int nheaders;
    char *body;
    size_t body_len;
    cJSON *json;
    const rz_route_entry_t *route;
    char *params[RZ_ROUTE_MAX_PARAMS]; /* decoded */
    char request_id[72];
    char *user, *role;
    struct { char *name, *value; } resp[MAX_RESP_HEADERS];
    int nresp;
    int keepalive;
    int head;                 /* HEAD: no body in the reply */
    int http10;
    int replied;
    double t0;
    char first_block[2048];   /* the arena's first block */
};

struct conn {
    evutil_socket_t fd;
    struct event *rev, *wev, *tev;
    char *in;
    size_t in_len, in_cap;
    struct evbuffer *out;
    rz_req_t *req;            /* in flight */
    int closing;              /* close once out is flushed */
    int in_process;           /* process() is on the stack */
    int sent_continue;
    int reading;              /* a request has started arriving */
    int taken;                /* fd handed over (WebSocket): never close it */
    int lingering;            /* reply sent, write side shut: discard input */
    int dead;                 /* closed while conn_process was on the stack */
    size_t in_limit;          /* buffer cap for a body over max_body_size that its
                                 route accepts (ABI 1.2 max_body); 0 = the default */
    char peer[64];
    conn_t *prev, *next;      /* all connections of the worker */
};

static struct event_base *base;
static struct evconnlistener *listeners[MAX_LISTEN];
static size_t nlisteners;
static conn_t *conns;
static size_t nconns;
static int draining;
static uint64_t id_counter;
static char id_prefix[17];
static struct event *flush_ev;

#define MAX_READY_CHECKS 8
static rz_ready_fn ready_checks[MAX_READY_CHECKS];
static size_t nready_checks;

static void conn_process(conn_t *c);
static void conn_close(conn_t *c);
static void conn_flush(conn_t *c);

const char *rz__http_reason(int s)
{
    switch (s) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

/* ---- configuration ---------------------------------------------------------- */

static const char *const http_keys[] = {"max_body_size", "max_header_size", "max_uri_length",
                                        "read_timeout", "keepalive_timeout", "max_connections",
                                        "cors_origins", "cors_max_age",
                                        NULL};

int rz__http_configure(const rz_config_t *cfg, char *err, size_t errlen)
{
    uint64_t sz;
    if (rz__config_check_keys(cfg, "http", http_keys, err, errlen) < 0)
        return -1;
    if (rz__config_size(cfg, "http", "max_body_size", 1 << 20, &sz, err, errlen) < 0)
        return -1;
    conf.max_body = (size_t)sz;
    if (rz__config_size(cfg, "http", "max_header_size", 16 << 10, &sz, err, errlen) < 0)
        return -1;
    conf.max_header = (size_t)sz;
    if (rz__config_size(cfg, "http", "max_uri_length", 8 << 10, &sz, err, errlen) < 0)
        return -1;
    conf.max_uri = (size_t)sz;
    if (conf.max_header < 256 || conf.max_uri < 64 || conf.max_body > (1ull << 31)) {
        snprintf(err, errlen,
                 "[http] limits out of range: max_header_size >= 256, max_uri_length >= 64, "
                 "max_body_size <= 2GiB");
        return -1;
    }
    if (rz__config_duration_ms(cfg, "http", "read_timeout", 30000, &conf.read_timeout_ms, err,
                               errlen) < 0 ||
        rz__config_duration_ms(cfg, "http", "keepalive_timeout", 75000,
                               &conf.keepalive_timeout_ms, err, errlen) < 0 ||
        rz__config_int(cfg, "http", "max_connections", 10000, &conf.max_connections, err,
                       errlen) < 0 ||
        rz__config_bool(cfg, "host", "access_log", 1, &conf.access_log, err, errlen) < 0)
        return -1;
    if (conf.max_connections < 1) {
        snprintf(err, errlen, "[http] max_connections must be at least 1");
        return -1;
    }
    const char *const *items;
    size_t n;
    if (rz__config_list(cfg, "host", "listen", &items, &n, err, errlen) < 0)
        return -1;
    for (size_t i = 0; i < conf.nlisten; i++)
        free(conf.listen[i]);
    conf.nlisten = 0;
    if (n == 0) {
        conf.listen[conf.nlisten++] = strdup("127.0.0.1:8080");
    } else {
        if (n > MAX_LISTEN) {
            snprintf(err, errlen, "[host] listen: at most %d addresses", MAX_LISTEN);
            return -1;
        }
        for (size_t i = 0; i < n; i++)
            if (!(conf.listen[conf.nlisten++] = strdup(items[i]))) {
                snprintf(err, errlen, "out of memory");
                return -1;
            }
    }
    return 0;
}

/* "127.0.0.1:8080", "[::1]:8080", "*:8080", ":8080" */
static int resolve(const char *addr, struct sockaddr_storage *ss, socklen_t *sslen, char *err,
                   size_t errlen)
{
    char host[256];
    const char *port;
    if (addr[0] == '[') {
        const char *close = strchr(addr, ']');
        if (!close || close[1] != ':' || (size_t)(close - addr - 1) >= sizeof(host))
            goto bad;
        memcpy(host, addr + 1, (size_t)(close - addr - 1));
        host[close - addr - 1] = '\0';
        port = close + 2;
    } else {
        const char *colon = strrchr(addr, ':');
        if (!colon || (size_t)(colon - addr) >= sizeof(host))
            goto bad;
        memcpy(host, addr, (size_t)(colon - addr));
        host[colon - addr] = '\0';
        port = colon + 1;
    }
    char *end;
    long p = strtol(port, &end, 10);
    if (*port == '\0' || *end != '\0' || p < 0 || p > 65535)
        goto bad;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV}, *res = NULL;
    int rc = getaddrinfo(host[0] && strcmp(host, "*") != 0 ? host : NULL, port, &hints, &res);
    if (rc != 0 || !res) {
        snprintf(err, errlen, "[host] listen: cannot resolve '%s': %s", addr, gai_strerror(rc));
        return -1;
    }
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *sslen = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
bad:
    snprintf(err, errlen, "[host] listen: expected 'host:port' or '[v6]:port', found '%s'", addr);
    return -1;
}

static int bind_socket(const char *addr, int do_listen, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t sslen;
    if (resolve(addr, &ss, &sslen, err, errlen) < 0)
        return -1;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket for %s: %s", addr, strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    if (ss.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&ss, sslen) < 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", addr, strerror(errno));
        close(fd);
        return -1;
    }
    if (do_listen && listen(fd, 4096) < 0) {
        snprintf(err, errlen, "listen on %s: %s", addr, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

int rz__http_reserve(char *err, size_t errlen)
{
    for (size_t i = 0; i < MAX_LISTEN; i++)
        if (conf.reserved[i] > 0) {
            close(conf.reserved[i]);
            conf.reserved[i] = 0;
        }
    for (size_t i = 0; i < conf.nlisten; i++) {
        int fd = bind_socket(conf.listen[i], 0, err, errlen);
        if (fd < 0)
            return -1;
        conf.reserved[i] = fd;
    }
    return 0;
}

/* ---- connections --------------------------------------------------------------- */

/* libevent's common timeouts: every connection uses one of a few durations,
 * so re-arming is a list append instead of a heap operation per request. */
static const struct timeval *common_read, *common_keepalive;

static void timer_arm(conn_t *c, int64_t ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    if (common_read && ms == conf.read_timeout_ms)
        event_add(c->tev, common_read);
    else if (common_keepalive && ms == conf.keepalive_timeout_ms)
        event_add(c->tev, common_keepalive);
    else
        event_add(c->tev, &tv);
}

static void conn_free(conn_t *c)
{
    if (c->req) {
        c->req->conn = NULL; /* the handler still owns it; its reply is discarded */
        c->req = NULL;
    }
    event_free(c->rev);
    event_free(c->wev);
    event_free(c->tev);
    evbuffer_free(c->out);
    free(c->in);
    if (!c->taken)
        evutil_closesocket(c->fd);
    if (c->prev)
        c->prev->next = c->next;
    else
        conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (nconns-- == (size_t)conf.max_connections && !draining)
        for (size_t i = 0; i < nlisteners; i++)
            evconnlistener_enable(listeners[i]);
    free(c);
}

/* Close now, without a lingering phase (EOF, errors, timeouts). */
static void conn_close(conn_t *c)
{
    if (c->in_process) {
        c->dead = 1; /* conn_process frees it when it unwinds */
        c->closing = 1;
        evbuffer_drain(c->out, evbuffer_get_length(c->out));
        return;
    }
    conn_free(c);
}

static void conn_flush(conn_t *c)
{
    while (evbuffer_get_length(c->out) > 0) {
        int n = evbuffer_write(c->out, c->fd);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                break;
            c->closing = 1;
            evbuffer_drain(c->out, evbuffer_get_length(c->out));
            break;
        }
        if (n == 0)
            break;
    }
    if (evbuffer_get_length(c->out) > 0) {
        event_add(c->wev, NULL);
        if (!c->req)
            timer_arm(c, conf.read_timeout_ms); /* a reader too slow to take replies */
        return;
    }
    event_del(c->wev);
    if (c->closing && !c->req && !c->lingering) {
        /* Closing with unread input would send a RST that can destroy the
         * reply in flight: shut our side, then discard what the client still
         * sends until it closes or a second passes (a lingering close). */
        if (c->in_process)
            return; /* conn_process comes back here when it unwinds */
        shutdown(c->fd, SHUT_WR);
        c->lingering = 1;
        c->in_len = 0;
        event_add(c->rev, NULL);
        timer_arm(c, 1000);
    }
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
    conn_t *c = arg;
    conn_flush(c);
    /* output drained below the high-water mark: resume parsing */
    if (!c->closing && !c->req && evbuffer_get_length(c->out) < OUT_HIGH_WATER)
        conn_process(c);
}

static char date_cache[64];
static time_t date_cached;

static const char *http_date(void)
{
    time_t now = time(NULL);
    if (now != date_cached) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(date_cache, sizeof(date_cache), "%a, %d %b %Y %H:%M:%S GMT", &tm);
        date_cached = now;
    }
    return date_cache;
}

/* Write a complete response for a request that never reached a handler
 * (parse errors, limits); the connection is closed after it. */
static void conn_error(conn_t *c, int status, const char *code, const char *msg)
{
    char body[512], emsg[300];
    rz__json_escape(emsg, sizeof(emsg), msg);
    int blen = snprintf(body, sizeof(body), "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}",
                        code, emsg);
    evbuffer_add_printf(c->out,
                        "HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Type: application/json\r\n"
                        "Content-Length: %d\r\nX-Content-Type-Options: nosniff\r\n"
                        "Cache-Control: no-store\r\nConnection: close\r\n\r\n%s",
                        status, rz__http_reason(status), http_date(), blen, body);
    rz__metrics_request(-1, status, 0);
    if (conf.access_log)
        rz__log_access("-", "", "", status, 0, "", NULL);
    c->closing = 1;
    c->in_len = 0;
    event_del(c->rev);
    conn_flush(c);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    conn_t *c = arg;
    if (c->lingering) {
        conn_close(c);
        return;
    }
    if (c->req)
        return; /* a handler is working; it answers for its own time */
    if (evbuffer_get_length(c->out) > 0) {
        conn_close(c); /* a client that does not read its replies */
        return;
    }
    if (c->reading || c->in_len > 0) {
        conn_error(c, 408, "request_timeout", "the request did not arrive in time");
        return;
    }
    conn_close(c);
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
    conn_t *c = arg;
    if (c->lingering) {
        char sink[4096];
        ssize_t n;
        while ((n = read(fd, sink, sizeof(sink))) > 0)
            ;
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            conn_close(c);
        return;
    }
    size_t limit = c->in_limit ? c->in_limit : conf.max_header + conf.max_body + 2 * READ_CHUNK;
    for (;;) {
        if (c->in_cap - c->in_len < READ_CHUNK) {
            if (c->in_cap >= limit)
                break; /* the parser will answer 413/431 */
            size_t cap = c->in_cap ? c->in_cap * 2 : READ_CHUNK * 2;
            if (cap > limit)
                cap = limit;
            char *in = realloc(c->in, cap);
            if (!in) {
                conn_close(c);
                return;
            }
            c->in = in;
            c->in_cap = cap;
        }
        ssize_t n = read(fd, c->in + c->in_len, c->in_cap - c->in_len);
        if (n > 0) {
            c->in_len += (size_t)n;
            if ((size_t)n < c->in_cap - c->in_len)
                break;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n < 0 && errno == EINTR)
            continue;
        /* EOF or error: if a request is in flight, let its reply be discarded */
        conn_close(c);
        return;
    }
    conn_process(c);
}

/* ---- requests ------------------------------------------------------------------- */

static void req_free(rz_req_t *req)
{
    if (req->json)
        cJSON_Delete(req->json);
    rz__arena_free(&req->arena);
    free(req);
}

static void make_request_id(rz_req_t *req, const rz_http_head_t *h)
{
    const rz_http_header_t *x = rz__http_header(h, "x-request-id");
    if (x && x->vlen > 0 && x->vlen < sizeof(req->request_id)) {
        int ok = 1;
        for (size_t i = 0; i < x->vlen && ok; i++)
            ok = x->value[i] > 0x20 && x->value[i] < 0x7f && x->value[i] != '"' &&
                 x->value[i] != '\\';
        if (ok) {
            memcpy(req->request_id, x->value, x->vlen);
            req->request_id[x->vlen] = '\0';
            return;
        }
    }
    snprintf(req->request_id, sizeof(req->request_id), "%s%08llx", id_prefix,
             (unsigned long long)++id_counter);
}

/* Build the request from the parsed head and body; copies into the arena. */
static rz_req_t *req_new(conn_t *c, const rz_http_head_t *h, const char *body, size_t body_len)
{
    rz_req_t *req = calloc(1, sizeof(*req));
    if (!req)
        return NULL;
    rz__arena_init(&req->arena, req->first_block, sizeof(req->first_block));
    req->conn = c;
    req->t0 = rz__mono_sec();
    memcpy(req->method, h->method, h->method_len);
    req->method[h->method_len] = '\0';
    req->head = strcmp(req->method, "HEAD") == 0;
    req->keepalive = h->keepalive;
    req->http10 = h->minor == 0;
    const char *q = memchr(h->target, '?', h->target_len);
    req->path_len = q ? (size_t)(q - h->target) : h->target_len;
    req->path = rz__arena_strndup(&req->arena, h->target, req->path_len);
    if (q)
        req->query = rz__arena_strndup(&req->arena, q + 1, h->target_len - req->path_len - 1);
    req->nheaders = h->nheaders;
    for (int i = 0; i < h->nheaders; i++) {
        req->headers[i].name = rz__arena_strndup(&req->arena, h->headers[i].name,
                                                 h->headers[i].nlen);
        req->headers[i].nlen = h->headers[i].nlen;
        req->headers[i].value = rz__arena_strndup(&req->arena, h->headers[i].value,
                                                  h->headers[i].vlen);
        req->headers[i].vlen = h->headers[i].vlen;
        if (!req->headers[i].name || !req->headers[i].value)
            goto nomem;
    }
    req->body = rz__arena_strndup(&req->arena, body ? body : "", body_len);
    req->body_len = body_len;
    if (!req->path || (q && !req->query) || !req->body)
        goto nomem;
    make_request_id(req, h);
    return req;
nomem:
    req_free(req);
    return NULL;
}

static void dispatch(rz_req_t *req);

/* The body limit of the route a request head addresses: the route's own
 * (ABI 1.2 rz_route_t.max_body, larger or smaller) or [http] max_body_size.
 * Looked up only for a request with a body, so a GET routes once, in
 * dispatch.  An unknown route gets the global limit (then 404). */
static size_t route_max_body(const rz_http_head_t *h)
{
    char method[16];
    rz_match_t m;
    if (h->method_len >= sizeof(method))
        return conf.max_body;
    memcpy(method, h->method, h->method_len);
    method[h->method_len] = '\0';
    const char *q = memchr(h->target, '?', h->target_len);
    size_t len = q ? (size_t)(q - h->target) : h->target_len;
    if (rz__router_match(rz__router, method, h->target, len, &m) != 200 || !m.route->max_body)
        return conf.max_body;
    return (size_t)m.route->max_body;
}

/* Parse and dispatch what the buffer holds, one request at a time. */
static void conn_process(conn_t *c)
{
    c->in_process = 1;
    while (!c->closing && !c->req) {
        if (evbuffer_get_length(c->out) >= OUT_HIGH_WATER)
            break; /* on_write resumes us */
        if (c->in_len == 0) {
            c->reading = 0;
            if (draining) {
                c->closing = 1;
                break;
            }
            timer_arm(c, conf.keepalive_timeout_ms);
            break;
        }
        rz_http_head_t h;
        int r = rz__http_parse_head(c->in, c->in_len, conf.max_header, conf.max_uri, &h);
        if (r == 0) {
            if (!c->reading) {
                c->reading = 1;
                timer_arm(c, conf.read_timeout_ms);
            }
            break;
        }
        if (r < 0) {
            int status = -r;
            const char *code = status == 414   ? "uri_too_long"
                               : status == 431 ? "headers_too_large"
                               : status == 501 ? "not_implemented"
                               : status == 505 ? "http_version_not_supported"
                                               : "bad_request";
            conn_error(c, status, code,
                       status == 414   ? "the request target is too long"
                       : status == 431 ? "the request headers are too large"
                       : status == 501 ? "unsupported transfer coding"
                       : status == 505 ? "only HTTP/1.0 and HTTP/1.1 are supported"
                                       : "malformed request");
            break;
        }
        if (!c->reading) {
            c->reading = 1;
            timer_arm(c, conf.read_timeout_ms);
        }
        size_t head_len = (size_t)r;
        const char *body = NULL;
        size_t body_len = 0, consumed;
        char *dechunked = NULL;
        size_t max_body = h.chunked || h.content_length > 0 ? route_max_body(&h) : conf.max_body;
        /* refused from the head alone: nothing of the body is buffered */
        if (h.content_length > (int64_t)max_body) {
            conn_error(c, 413, "body_too_large", "the request body is too large");
            break;
        }
        if (max_body > conf.max_body)
            c->in_limit = conf.max_header + max_body + 2 * READ_CHUNK;
        if (h.chunked) {
            dechunked = malloc(max_body + 1);
            if (!dechunked) {
                conn_error(c, 503, "unavailable", "out of memory");
                break;
            }
            long d = rz__http_dechunk(c->in + head_len, c->in_len - head_len, dechunked,
                                      max_body, &body_len);
            if (d < 0) {
                free(dechunked);
                conn_error(c, (int)-d, d == -413 ? "body_too_large" : "bad_request",
                           d == -413 ? "the request body is too large" : "malformed chunked body");
                break;
            }
            if (d == 0) {
                free(dechunked);
                goto need_more;
            }
            body = dechunked;
            consumed = head_len + (size_t)d;
        } else {
            body_len = h.content_length > 0 ? (size_t)h.content_length : 0;
            if (c->in_len - head_len < body_len)
                goto need_more;
            body = c->in + head_len;
            consumed = head_len + body_len;
        }
        rz_req_t *req = req_new(c, &h, body, body_len);
        free(dechunked);
        memmove(c->in, c->in + consumed, c->in_len - consumed);
        c->in_len -= consumed;
        c->reading = 0;
        c->sent_continue = 0;
        c->in_limit = 0;
        if (c->in_cap > 4 * (conf.max_header + conf.max_body) && c->in_len < READ_CHUNK) {
            /* give back the memory of a large upload at once */
            char *in = realloc(c->in, READ_CHUNK * 2);
            if (in) {
                c->in = in;
                c->in_cap = READ_CHUNK * 2;
            }
        }
        event_del(c->tev);
        if (!req) {
            conn_error(c, 503, "unavailable", "out of memory");
            break;
        }
        c->req = req;
        dispatch(req);
        continue;
    need_more:
        if (h.expect_continue && !c->sent_continue && h.minor == 1) {
            evbuffer_add(c->out, "HTTP/1.1 100 Continue\r\n\r\n", 25);
            c->sent_continue = 1;
            conn_flush(c);
        }
        break;
    }
    c->in_process = 0;
    if (c->dead)
        conn_free(c);
    else if (c->closing && !c->req && evbuffer_get_length(c->out) == 0)
        conn_flush(c); /* starts the lingering close */
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg)
{
    conn_t *c = calloc(1, sizeof(*c));
    if (!c) {
        evutil_closesocket(fd);
        return;
    }
    c->fd = fd;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->rev = event_new(base, fd, EV_READ | EV_PERSIST, on_read, c);
    c->wev = event_new(base, fd, EV_WRITE | EV_PERSIST, on_write, c);
    c->tev = evtimer_new(base, on_timeout, c);
    c->out = evbuffer_new();
    if (!c->rev || !c->wev || !c->tev || !c->out) {
        if (c->rev) event_free(c->rev);
        if (c->wev) event_free(c->wev);
        if (c->tev) event_free(c->tev);
        if (c->out) evbuffer_free(c->out);
        free(c);
        evutil_closesocket(fd);
        return;
    }
    if (sa->sa_family == AF_INET)
        evutil_inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, c->peer, sizeof(c->peer));
    else if (sa->sa_family == AF_INET6)
        evutil_inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, c->peer,
                         sizeof(c->peer));
    c->next = conns;
    if (conns)
        conns->prev = c;
    conns = c;
    if (++nconns >= (size_t)conf.max_connections)
        for (size_t i = 0; i < nlisteners; i++)
            evconnlistener_disable(listeners[i]);
    event_add(c->rev, NULL);
    timer_arm(c, conf.keepalive_timeout_ms);
}

static void flush_logs(evutil_socket_t fd, short what, void *arg) { rz__log_flush(); }

int rz__http_start(struct event_base *b, char *err, size_t errlen)
{
    base = b;
    unsigned char rnd[8];
    randombytes_buf(rnd, sizeof(rnd));
    for (int i = 0; i < 8; i++)
        snprintf(id_prefix + 2 * i, 3, "%02x", rnd[i]);
    for (size_t i = 0; i < conf.nlisten; i++) {
        int fd = bind_socket(conf.listen[i], 1, err, errlen);
        if (fd < 0)
            return -1;
        listeners[i] = evconnlistener_new(base, on_accept, NULL, LEV_OPT_CLOSE_ON_FREE, -1, fd);
        if (!listeners[i]) {
            snprintf(err, errlen, "cannot watch %s", conf.listen[i]);
            close(fd);
            return -1;
        }
        nlisteners++;
    }
    struct timeval rt = {conf.read_timeout_ms / 1000, (conf.read_timeout_ms % 1000) * 1000};
    struct timeval kt = {conf.keepalive_timeout_ms / 1000, (conf.keepalive_timeout_ms % 1000) * 1000};
    common_read = event_base_init_common_timeout(base, &rt);
    common_keepalive = event_base_init_common_timeout(base, &kt);
    struct timeval tv = {0, 100 * 1000};
    flush_ev = event_new(base, -1, EV_PERSIST, flush_logs, NULL);
    if (!flush_ev || event_add(flush_ev, &tv) < 0) {
        snprintf(err, errlen, "cannot add the log timer");
        return -1;
    }
    return 0;
}

void rz__http_drain(void)
{
    draining = 1;
    for (size_t i = 0; i < nlisteners; i++)
        evconnlistener_free(listeners[i]);
    nlisteners = 0;
    for (conn_t *c = conns, *next; c; c = next) {
        next = c->next;
        if (!c->req && c->in_len == 0 && evbuffer_get_length(c->out) == 0)
            conn_close(c);
    }
}

size_t rz__http_connections(void) { return nconns; }

void rz__http_close_all(void)
{
    while (conns)
        conn_free(conns);
    if (flush_ev) {
        event_free(flush_ev);
        flush_ev = NULL;
    }
    rz__log_flush();
}

/* ---- dispatch -------------------------------------------------------------------- */

static void dispatch(rz_req_t *req)
{
    rz_match_t m;
    rz__metrics_inflight(1);
    if (rz__gateway_early(req) < 0)
        return; /* a CORS preflight, answered */
    int rc = rz__router_match(rz__router, req->method, req->path, req->path_len, &m);
    if (rc == 404) {
        rz__svc_reply_error(req, 404, "not_found", NULL, "no route for %s %s", req->method,
                            req->path);
        return;
    }
    if (rc == 405) {
        rz__svc_resp_header(req, "Allow", m.allow);
        rz__svc_reply_error(req, 405, "method_not_allowed", NULL, "%s is not allowed here (allowed: %s)",
                            req->method, m.allow);
        return;
    }
    req->route = m.route;
    for (int i = 0; i < m.nparams; i++) {
        char *v = rz__arena_alloc(&req->arena, m.params[i].len + 1);
        if (!v || rz__url_decode(req->path + m.params[i].off, m.params[i].len, v, 0) < 0) {
            rz__svc_reply_error(req, 400, "bad_path", m.route->param_names[i],
                                "invalid percent-encoding in the path");
            return;
        }
        req->params[i] = v;
    }
    if (rz__authz_check(req, m.route) < 0)
        return; /* answered 401/403 */
    if (rz__gateway_before(req, m.route) < 0)
        return; /* answered (429, 409, 422, a replay), or the gateway runs the handler later */
    m.route->handler(req, m.route->udata);
}

/* ---- request services --------------------------------------------------------------- */

const char *rz__svc_req_method(rz_req_t *req) { return req->method; }
const char *rz__svc_req_path(rz_req_t *req) { return req->path; }

const char *rz__svc_req_param(rz_req_t *req, const char *name)
{
    if (!req->route || !name)
        return NULL;
    for (int i = 0; i < req->route->nparams; i++)
        if (strcmp(req->route->param_names[i], name) == 0)
            return req->params[i];
    return NULL;
}

const char *rz__svc_req_query(rz_req_t *req, const char *name)
{
    if (!req->query || !name)
        return NULL;
    size_t nl = strlen(name);
    const char *p = req->query;
    while (*p) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        size_t klen = eq ? (size_t)(eq - p) : len;
        char key[128];
        if (klen < sizeof(key) && rz__url_decode(p, klen, key, 1) >= 0 && strlen(key) == nl &&
            memcmp(key, name, nl) == 0) {
            const char *v = eq ? eq + 1 : p + len;
            size_t vlen = eq ? len - klen - 1 : 0;
            char *out = rz__arena_alloc(&req->arena, vlen + 1);
            if (!out || rz__url_decode(v, vlen, out, 1) < 0)
                return NULL;
            return out;
        }
        p += len;
        if (*p == '&')
            p++;
    }
    return NULL;
}

const char *rz__svc_req_query_string(rz_req_t *req) { return req->query ? req->query : ""; }

const char *rz__svc_req_header(rz_req_t *req, const char *name)
{
    size_t nl = name ? strlen(name) : 0;
    for (int i = 0; i < req->nheaders; i++)
        if (req->headers[i].nlen == nl && strcasecmp(req->headers[i].name, name) == 0)
            return req->headers[i].value;
    return NULL;
}

const void *rz__svc_req_body(rz_req_t *req, size_t *len)
{
    if (len)
        *len = req->body_len;
    return req->body;
}

cJSON *rz__svc_req_json(rz_req_t *req)
{
    if (req->json)
        return req->json;
    const char *end = NULL;
    if (req->body_len == 0) {
        rz__svc_reply_error(req, 400, "invalid_json", NULL, "a JSON body is required");
        return NULL;
    }
    req->json = cJSON_ParseWithLengthOpts(req->body, req->body_len, &end, 0);
    if (req->json && end) { /* only whitespace may follow the value */
        while (end < req->body + req->body_len && strchr(" \t\r\n", *end) && *end)
            end++;
        if (end < req->body + req->body_len) {
            cJSON_Delete(req->json);
            req->json = NULL;
        }
    }
    if (!req->json) {
        size_t at = end && end >= req->body ? (size_t)(end - req->body) : 0;
        rz__svc_reply_error(req, 400, "invalid_json", NULL, "the body is not valid JSON (near byte %zu)",
                            at);
        return NULL;
    }
    return req->json;
}

const char *rz__svc_req_id(rz_req_t *req) { return req->request_id; }
const char *rz__svc_req_user(rz_req_t *req) { return req->user; }
const char *rz__svc_req_role(rz_req_t *req) { return req->role; }
void *rz__svc_req_alloc(rz_req_t *req, size_t n) { return rz__arena_alloc(&req->arena, n); }

void rz__req_set_identity(rz_req_t *req, const char *user, const char *role)
{
    req->user = user ? rz__arena_strndup(&req->arena, user, strlen(user)) : NULL;
    req->role = role ? rz__arena_strndup(&req->arena, role, strlen(role)) : NULL;
}

const char *rz__req_peer(rz_req_t *req) { return req->conn ? req->conn->peer : ""; }

static int header_ok(const char *s, int is_name)
{
    if (!s || (is_name && !*s))
        return 0;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '\r' || ch == '\n' || (is_name && (ch <= 0x20 || ch == ':')))
            return 0;
    }
    return 1;
}

int rz__svc_resp_header(rz_req_t *req, const char *name, const char *value)
{
    if (req->replied || !header_ok(name, 1) || !header_ok(value, 0))
        return RZ_EINVAL;
    if (strcasecmp(name, "content-length") == 0 || strcasecmp(name, "connection") == 0 ||
        strcasecmp(name, "transfer-encoding") == 0)
        return RZ_EINVAL; /* the host owns the framing */
    /* single-valued security headers: a plugin's value replaces the
     * gateway's default (a second CSP header would be enforced as well) */
    if (strcasecmp(name, "content-security-policy") == 0 || strcasecmp(name, "referrer-policy") == 0 ||
        strcasecmp(name, "x-frame-options") == 0)
        for (int i = 0; i < req->nresp; i++)
            if (strcasecmp(req->resp[i].name, name) == 0) {
                char *v = rz__arena_strndup(&req->arena, value, strlen(value));
                if (!v)
                    return RZ_ENOMEM;
                req->resp[i].value = v;
                return RZ_OK;
            }
    if (req->nresp == MAX_RESP_HEADERS)
        return RZ_ENOMEM;
    char *n = rz__arena_strndup(&req->arena, name, strlen(name));
    char *v = rz__arena_strndup(&req->arena, value, strlen(value));
    if (!n || !v)
        return RZ_ENOMEM;
    req->resp[req->nresp].name = n;
    req->resp[req->nresp].value = v;
    req->nresp++;
    return RZ_OK;
}

static int has_resp_header(rz_req_t *req, const char *name)
{
    for (int i = 0; i < req->nresp; i++)
        if (strcasecmp(req->resp[i].name, name) == 0)
            return 1;
    return 0;
}

typedef struct head {
    char buf[8192];
    size_t n;
    int overflow;
} head_t;

static void head_add(head_t *h, const char *s, size_t len)
{
    if (h->overflow || len > sizeof(h->buf) - h->n) {
        h->overflow = 1;
        return;
    }
    memcpy(h->buf + h->n, s, len);
    h->n += len;
}

static void head_str(head_t *h, const char *s) { head_add(h, s, strlen(s)); }

void rz__svc_reply(rz_req_t *req, int status, const char *content_type, const void *body,
                   size_t len)
{
    if (req->replied) {
        rz__log(RZ_LOG_ERROR, "http", "%s %s answered twice; the second reply is ignored",
                req->method, req->path);
        return;
    }
    rz__gateway_after(req, status, content_type, body, len); /* Idempotency-Key capture */
    req->replied = 1;
    if (status < 100 || status > 599)
        status = 500;
    conn_t *c = req->conn;
    double dt = rz__mono_sec() - req->t0;
    rz__metrics_inflight(-1);
    rz__metrics_request(req->route ? req->route->index : -1, status, dt);
    if (conf.access_log)
        rz__log_access(req->method, req->route ? req->route->pattern : "", req->path, status,
                       dt * 1000.0, req->request_id, req->user);
    if (c) {
        int keep = req->keepalive && !draining && !c->closing;
        int no_body = req->head || status == 204 || status == 304 || status < 200;
        /* the head is assembled in one buffer and added once: this is the
         * hot path of every response */
        head_t hd = {.n = 0};
        char num[24];
        int nl;
        head_add(&hd, "HTTP/1.1 ", 9);
        nl = snprintf(num, sizeof(num), "%d ", status);
        head_add(&hd, num, (size_t)nl);
        head_str(&hd, rz__http_reason(status));
        head_add(&hd, "\r\nDate: ", 8);
        head_str(&hd, http_date());
        head_add(&hd, "\r\nX-Request-Id: ", 16);
        head_str(&hd, req->request_id);
        head_add(&hd, "\r\n", 2);
        if (body && content_type && status != 204 && status != 304) {
            head_add(&hd, "Content-Type: ", 14);
            head_str(&hd, content_type);
            head_add(&hd, "\r\n", 2);
        }
        if (status != 204 && status != 304) {
            nl = snprintf(num, sizeof(num), "%zu", body ? len : 0);
            head_add(&hd, "Content-Length: ", 16);
            head_add(&hd, num, (size_t)nl);
            head_add(&hd, "\r\n", 2);
        }
        head_add(&hd, "X-Content-Type-Options: nosniff\r\n", 33);
        if (!has_resp_header(req, "Cache-Control"))
            head_add(&hd, "Cache-Control: no-store\r\n", 25);
        for (int i = 0; i < req->nresp; i++) {
            head_str(&hd, req->resp[i].name);
            head_add(&hd, ": ", 2);
            head_str(&hd, req->resp[i].value);
            head_add(&hd, "\r\n", 2);
        }
        if (!keep)
            head_add(&hd, "Connection: close\r\n", 19);
        else if (req->http10)
            head_add(&hd, "Connection: keep-alive\r\n", 24);
        head_add(&hd, "\r\n", 2);
        struct evbuffer *o = c->out;
        if (hd.overflow && (keep = 0) == 0)
            evbuffer_add(o, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n"
                            "Connection: close\r\n\r\n", 76);
        else
            evbuffer_add(o, hd.buf, hd.n);
        if (body && len && !no_body && !hd.overflow)
            evbuffer_add(o, body, len);
        c->req = NULL;
        if (!keep)
            c->closing = 1;
        req_free(req);
        conn_flush(c);
        /* a reply from a callback (not from dispatch) resumes the connection */
        if (!c->in_process && !c->closing)
            conn_process(c);
        return;
    }
    req_free(req);
}

void rz__svc_reply_json(rz_req_t *req, int status, cJSON *body)
{
    if (!body) {
        rz__svc_reply(req, status, NULL, NULL, 0);
        return;
    }
    char *text = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    if (!text) {
        rz__svc_reply_error(req, 500, "internal", NULL, "could not encode the response");
        return;
    }
    rz__svc_reply(req, status, "application/json", text, strlen(text));
    cJSON_free(text);
}

void rz__reply_errorv(rz_req_t *req, int status, const char *code, const char *field,
                      const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt ? fmt : "", ap);
    cJSON *root = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(root, "error");
    if (!root || !e) {
        cJSON_Delete(root);
        rz__svc_reply(req, status, "application/json", "{\"error\":{\"code\":\"internal\"}}",
                      28);
        return;
    }
    cJSON_AddStringToObject(e, "code", code ? code : "error");
    cJSON_AddStringToObject(e, "message", msg);
    if (field)
        cJSON_AddStringToObject(e, "field", field);
    if (status == 503 && !has_resp_header(req, "Retry-After"))
        rz__svc_resp_header(req, "Retry-After", "1");
    rz__svc_reply_json(req, status, root);
}

void rz__svc_reply_error(rz_req_t *req, int status, const char *code, const char *field,
                         const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rz__reply_errorv(req, status, code, field, fmt, ap);
    va_end(ap);
}

void rz__http_add_readiness(rz_ready_fn fn)
{
    if (nready_checks < MAX_READY_CHECKS)
        ready_checks[nready_checks++] = fn;
}

int rz__http_takeover(rz_req_t *req, int *fd, char **extra, size_t *extra_len)
{
    conn_t *c = req->conn;
    if (!c || req->replied)
        return -1;
    *extra = malloc(c->in_len ? c->in_len : 1);
    if (!*extra)
        return -1;
    memcpy(*extra, c->in, c->in_len);
    *extra_len = c->in_len;
    *fd = c->fd;
    /* detach: our events go, the socket stays open for the new owner */
    event_del(c->rev);
    event_del(c->wev);
    event_del(c->tev);
    c->taken = 1;
    c->in_len = 0;
    evbuffer_drain(c->out, evbuffer_get_length(c->out));
    req->conn = NULL;
    c->req = NULL;
    c->closing = 1;
    rz__svc_reply(req, 101, NULL, NULL, 0); /* counts and logs it; nothing is sent */
    conn_close(c);
    return 0;
}

/* ---- the host's own routes ---------------------------------------------------------- */

static void route_healthz(rz_req_t *req, void *u)
{
    rz__svc_reply(req, 200, "application/json", "{\"status\":\"ok\"}", 15);
}

static void route_readyz(rz_req_t *req, void *u)
{
    cJSON *root = cJSON_CreateObject();
    int ready = !draining;
    const char *why = draining ? "shutting down" : NULL;
    for (size_t i = 0; i < nready_checks && ready; i++)
        ready = ready_checks[i](&why);
    /* plugins that said ready_set(0) (ABI 1.2), on any running worker */
    char pwhy[256];
    cJSON *plugins = cJSON_CreateArray();
    if (!rz__readiness_check(pwhy, sizeof(pwhy), plugins)) {
        if (ready)
            why = pwhy;
        ready = 0;
    }
    cJSON_AddStringToObject(root, "status", ready ? "ready" : "unready");
    if (why)
        cJSON_AddStringToObject(root, "reason", why);
    if (plugins && cJSON_GetArraySize(plugins) > 0)
        cJSON_AddItemToObject(root, "plugins", plugins);
    else
        cJSON_Delete(plugins);
    rz__svc_reply_json(req, ready ? 200 : 503, root);
}

#define MAX_METRIC_SOURCES 8
static rz_metrics_fn metric_sources[MAX_METRIC_SOURCES];
static size_t nmetric_sources;

void rz__http_add_metrics(rz_metrics_fn fn)
{
    if (nmetric_sources < MAX_METRIC_SOURCES)
        metric_sources[nmetric_sources++] = fn;
}

static void route_metrics(rz_req_t *req, void *u)
{
    struct evbuffer *b = evbuffer_new();
    if (!b) {
        rz__svc_reply_error(req, 503, "unavailable", NULL, "out of memory");
        return;
    }
    rz__metrics_render(b);
    evbuffer_add_printf(b, "# HELP rentezy_http_connections Open connections of this worker.\n"
                           "# TYPE rentezy_http_connections gauge\n"
                           "rentezy_http_connections{worker=\"%d\"} %zu\n",
                        rz__rt.worker_index, nconns);
    for (size_t i = 0; i < nmetric_sources; i++)
        metric_sources[i](b, rz__rt.worker_index);
    size_t len = evbuffer_get_length(b);
    const void *p = evbuffer_pullup(b, -1);
    rz__svc_reply(req, 200, "text/plain; version=0.0.4", p, len);
    evbuffer_free(b);
}

static void route_test_clock(rz_req_t *req, void *u)
{
    cJSON *j = rz__svc_req_json(req);
    if (!j)
        return;
    cJSON *adv = cJSON_GetObjectItemCaseSensitive(j, "advance_ms");
    if (!cJSON_IsNumber(adv) || adv->valuedouble < 0 || adv->valuedouble > 1e12) {
        rz__svc_reply_error(req, 400, "invalid", "advance_ms",
                            "advance_ms must be a non-negative number of milliseconds");
        return;
    }
    rz__clock_advance((int64_t)adv->valuedouble);
    if (rz__db_configured())
        rz__jobs_kick(); /* what just became due runs now, not at the next poll */
    cJSON *out = cJSON_CreateObject();
    cJSON_AddNumberToObject(out, "now_ms", (double)rz__now_ms());
    cJSON_AddNumberToObject(out, "offset_ms", (double)rz__clock_offset());
    rz__svc_reply_json(req, 200, out);
}

extern void rz__openapi_route(rz_req_t *req, void *u);

int rz__http_host_routes(char *err, size_t errlen)
{
    int test_clock = 0;
    if (rz__config_bool(rz__rt.cfg, "host", "test_clock", 0, &test_clock, err, errlen) < 0)
        return -1;
    if (!rz__router && !(rz__router = rz__router_new())) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    struct { const char *m, *p; rz_handler_fn fn; } routes[] = {
        {"GET", "/healthz", route_healthz},
        {"GET", "/readyz", route_readyz},
        {"GET", "/metrics", route_metrics},
        {"GET", "/openapi.json", rz__openapi_route},
        {"POST", "/v1/_test/clock", test_clock ? route_test_clock : NULL},
    };
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (!routes[i].fn)
            continue;
        if (rz__router_add(rz__router, routes[i].m, routes[i].p, RZ_ACCESS_PUBLIC, routes[i].fn,
                           NULL, NULL, NULL, err, errlen) < 0)
            return -1;
    }
    return 0;
}
