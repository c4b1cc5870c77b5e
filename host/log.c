/*
 * log.c — JSON log lines on stderr.  Ordinary lines are written at once with
 * one write(2) each (atomic for lines under PIPE_BUF, so workers sharing
 * stderr never interleave).  Access lines are buffered and flushed by the
 * worker's timer (rz__log_flush) or when the buffer fills.
 */
#include "log.h"

#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int min_level = RZ_LOG_INFO;
static pid_t cached_pid; /* getpid() is a system call; refreshed after fork */

void rz__log_reset_pid(void) { cached_pid = getpid(); }

pid_t rz__log_pid(void)
{
    if (cached_pid == 0)
        cached_pid = getpid();
    return cached_pid;
}
static const char *const level_names[] = {"debug", "info", "warn", "error"};

#define ACCESS_CAP (64 * 1024)
static char access_buf[ACCESS_CAP];
static size_t access_len;

void rz__log_set_level(int level) { min_level = level; }
int rz__log_level(void) { return min_level; }

int rz__log_parse_level(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (name && strcmp(name, level_names[i]) == 0)
            return i;
    return -1;
}

size_t rz__json_escape(char *buf, size_t cap, const char *s)
{
    size_t n = 0;
    if (cap == 0)
        return 0;
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        char tmp[8];
        size_t k;
        if (c == '"' || c == '\\') {
            tmp[0] = '\\';
            tmp[1] = (char)c;
            k = 2;
        } else if (c == '\n') {
            memcpy(tmp, "\\n", 2);
            k = 2;
        } else if (c < 0x20 || c == 0x7f) {
            k = (size_t)snprintf(tmp, sizeof(tmp), "\\u%04x", c);
        } else {
            tmp[0] = (char)c;
            k = 1;
        }
        if (n + k >= cap)
            break;
        memcpy(buf + n, tmp, k);
        n += k;
    }
    buf[n] = '\0';
    return n;
}

/* "2026-11-25T14:23:02.123Z"; the part up to the seconds is cached, since
 * the access log asks for it on every request. */
static size_t format_ts(char *buf, size_t cap)
{
    static time_t cached_sec = -1;
    static char cached[32];
    static size_t cached_len;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    if (tv.tv_sec != cached_sec) {
        struct tm tm;
        gmtime_r(&tv.tv_sec, &tm);
        cached_len = strftime(cached, sizeof(cached), "%Y-%m-%dT%H:%M:%S", &tm);
        cached_sec = tv.tv_sec;
    }
    if (cap < cached_len + 6)
        return 0;
    memcpy(buf, cached, cached_len);
    int ms = (int)(tv.tv_usec / 1000);
    char *p = buf + cached_len;
    p[0] = '.';
    p[1] = (char)('0' + ms / 100);
    p[2] = (char)('0' + ms / 10 % 10);
    p[3] = (char)('0' + ms % 10);
    p[4] = 'Z';
    p[5] = '\0';
    return cached_len + 5;
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0)
            return; /* nowhere to report a failing stderr */
        p += w;
        n -= (size_t)w;
    }
}

void rz__logv(int level, const char *src, const char *fmt, va_list ap)
{
    if (level < min_level)
        return;
    if (level < RZ_LOG_DEBUG || level > RZ_LOG_ERROR)
        level = RZ_LOG_ERROR;
    char msg[2048], esc[4096], ts[40], esrc[128], line[4400];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    rz__json_escape(esc, sizeof(esc), msg);
    rz__json_escape(esrc, sizeof(esrc), src ? src : "host");
    format_ts(ts, sizeof(ts));
    int n = snprintf(line, sizeof(line),
                     "{\"ts\":\"%s\",\"level\":\"%s\",\"pid\":%d,\"src\":\"%s\",\"msg\":\"%s\"}\n",
                     ts, level_names[level], (int)rz__log_pid(), esrc, esc);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(line)) {
        n = sizeof(line) - 1;
        line[n - 1] = '\n';
    }
    rz__log_flush(); /* keep access lines before later messages */
    write_all(STDERR_FILENO, line, (size_t)n);
}

void rz__log(int level, const char *src, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rz__logv(level, src, fmt, ap);
    va_end(ap);
}

/* Appends to the access buffer without printf: this runs on every request. */
typedef struct out {
    char *p, *end;
} out_t;

static void put(out_t *o, const char *s, size_t n)
{
    if ((size_t)(o->end - o->p) < n) {
        o->p = o->end; /* truncated: the caller drops the line */
        return;
    }
    memcpy(o->p, s, n);
    o->p += n;
}

static void put_lit(out_t *o, const char *s) { put(o, s, strlen(s)); }

static void put_esc(out_t *o, const char *s)
{
    char buf[1024];
    put(o, buf, rz__json_escape(buf, sizeof(buf), s ? s : ""));
}

static void put_uint(out_t *o, unsigned long long v)
{
    char buf[24], *q = buf + sizeof(buf);
    do
        *--q = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    put(o, q, (size_t)(buf + sizeof(buf) - q));
}

void rz__log_access(const char *method, const char *route, const char *path, int status,
                    double duration_ms, const char *request_id, const char *user)
{
    char line[2048], ts[40];
    out_t o = {line, line + sizeof(line)};
    size_t tslen = format_ts(ts, sizeof(ts));
    unsigned long long us = duration_ms > 0 ? (unsigned long long)(duration_ms * 1000.0) : 0;
    char frac[4] = {(char)('0' + us / 100 % 10), (char)('0' + us / 10 % 10),
                    (char)('0' + us % 10), 0};
    put_lit(&o, "{\"ts\":\"");
    put(&o, ts, tslen);
    put_lit(&o, "\",\"level\":\"info\",\"pid\":");
    put_uint(&o, (unsigned long long)rz__log_pid());
    put_lit(&o, ",\"src\":\"access\",\"method\":\"");
    put_esc(&o, method);
    put_lit(&o, "\",\"route\":\"");
    put_esc(&o, route);
    put_lit(&o, "\",\"path\":\"");
    put_esc(&o, path);
    put_lit(&o, "\",\"status\":");
    put_uint(&o, status > 0 ? (unsigned long long)status : 0);
    put_lit(&o, ",\"duration_ms\":");
    put_uint(&o, us / 1000);
    put_lit(&o, ".");
    put(&o, frac, 3);
    put_lit(&o, ",\"request_id\":\"");
    put_esc(&o, request_id);
    put_lit(&o, "\"");
    if (user) {
        put_lit(&o, ",\"user\":\"");
        put_esc(&o, user);
        put_lit(&o, "\"");
    }
    put_lit(&o, "}\n");
    if (o.p == o.end)
        return; /* did not fit */
    size_t n = (size_t)(o.p - line);
    if (access_len + n > ACCESS_CAP)
        rz__log_flush();
    memcpy(access_buf + access_len, line, n);
    access_len += n;
}

void rz__log_flush(void)
{
    if (access_len == 0)
        return;
    /* write in line-aligned chunks below PIPE_BUF so workers never interleave */
    size_t off = 0;
    while (off < access_len) {
        size_t end = off, last = off;
        while (end < access_len && end - off < 4000) {
            if (access_buf[end] == '\n')
                last = end + 1;
            end++;
        }
        if (last == off)
            last = end;
        write_all(STDERR_FILENO, access_buf + off, last - off);
        off = last;
    }
    access_len = 0;
}
