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

/* "2026-11-25T14:23:02.123Z" */
static size_t format_ts(char *buf, size_t cap)
{
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    size_t n = strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    n += (size_t)snprintf(buf + n, cap - n, ".%03dZ", (int)(tv.tv_usec / 1000));
    return n;
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
                     ts, level_names[level], (int)getpid(), esrc, esc);
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

void rz__log_access(const char *method, const char *route, const char *path, int status,
                    double duration_ms, const char *request_id, const char *user)
{
    char ts[40], eroute[256], epath[512], eid[160], euser[160];
    format_ts(ts, sizeof(ts));
    rz__json_escape(eroute, sizeof(eroute), route ? route : "");
    rz__json_escape(epath, sizeof(epath), path ? path : "");
    rz__json_escape(eid, sizeof(eid), request_id ? request_id : "");
    rz__json_escape(euser, sizeof(euser), user ? user : "");
    char line[1400];
    int n = snprintf(line, sizeof(line),
                     "{\"ts\":\"%s\",\"level\":\"info\",\"pid\":%d,\"src\":\"access\","
                     "\"method\":\"%s\",\"route\":\"%s\",\"path\":\"%s\",\"status\":%d,"
                     "\"duration_ms\":%.3f,\"request_id\":\"%s\"%s%s%s}\n",
                     ts, (int)getpid(), method ? method : "", eroute, epath, status, duration_ms,
                     eid, user ? ",\"user\":\"" : "", user ? euser : "", user ? "\"" : "");
    if (n < 0 || (size_t)n >= sizeof(line))
        return;
    if (access_len + (size_t)n > ACCESS_CAP)
        rz__log_flush();
    memcpy(access_buf + access_len, line, (size_t)n);
    access_len += (size_t)n;
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
