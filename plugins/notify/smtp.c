/*
 * smtp.c — one message over plain SMTP (RFC 5321): EHLO (HELO when the
 * relay refuses it), MAIL FROM, RCPT TO, DATA, QUIT.  Blocking, on a pool
 * thread.  4xx answers and network errors are worth a retry; 5xx are not.
 * No STARTTLS or AUTH yet: point smtp_url at a local relay (Postfix, ...).
 */
#include "notify.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

typedef struct conn {
    int fd;
    char in[4096];
    size_t len;
    char *err;
    size_t errlen;
} conn_t;

/* Read one reply (multi-line "250-...") and return its code, or -1. */
static int reply(conn_t *c)
{
    for (;;) {
        char *nl;
        while ((nl = memchr(c->in, '\n', c->len)) != NULL) {
            size_t line = (size_t)(nl - c->in) + 1;
            int last = line >= 4 && c->in[3] != '-';
            int code = line >= 4 ? atoi(c->in) : -1;
            memmove(c->in, c->in + line, c->len - line);
            c->len -= line;
            if (code < 100 || code > 599) {
                snprintf(c->err, c->errlen, "the relay answered something that is not SMTP");
                return -1;
            }
            if (last)
                return code;
        }
        if (c->len == sizeof(c->in)) {
            snprintf(c->err, c->errlen, "reply line too long");
            return -1;
        }
        ssize_t r = recv(c->fd, c->in + c->len, sizeof(c->in) - c->len, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            snprintf(c->err, c->errlen, "the relay %s",
                     r == 0 ? "closed the connection" : strerror(errno));
            return -1;
        }
        c->len += (size_t)r;
    }
}

/* Send a command and expect a code of class want (2 or 3).  NT_SEND_*. */
static int cmd(conn_t *c, const char *line, int want, const char *what)
{
    if (line && nt_write_all(c->fd, line, strlen(line)) < 0) {
        snprintf(c->err, c->errlen, "%s: %s", what, strerror(errno));
        return NT_SEND_RETRY;
    }
    int code = reply(c);
    if (code < 0)
        return NT_SEND_RETRY;
    if (code / 100 == want)
        return NT_SEND_OK;
    snprintf(c->err, c->errlen, "%s: the relay answered %d", what, code);
    return code / 100 == 4 ? NT_SEND_RETRY : NT_SEND_FAIL;
}

/* The address inside "Name <a@b>", or the whole text. */
static int bare_address(const char *s, char *out, size_t n)
{
    const char *lt = strrchr(s, '<'), *gt = lt ? strchr(lt, '>') : NULL;
    const char *a = lt && gt ? lt + 1 : s;
    size_t len = lt && gt ? (size_t)(gt - a) : strlen(s);
    if (len == 0 || len >= n || !memchr(a, '@', len))
        return -1;
    memcpy(out, a, len);
    out[len] = '\0';
    return strpbrk(out, "<>\r\n ") ? -1 : 0;
}

/* Subject as an RFC 2047 encoded word when it is not plain ASCII. */
static void subject_header(const char *s, char *out, size_t n)
{
    int ascii = 1;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p >= 0x80 || *p == '\r' || *p == '\n')
            ascii = 0;
    if (ascii) {
        snprintf(out, n, "%s", s);
        return;
    }
    char b64[1024];
    size_t len = strlen(s);
    if (len > 600)
        len = 600;
    sodium_bin2base64(b64, sizeof(b64), (const unsigned char *)s, len,
                      sodium_base64_VARIANT_ORIGINAL);
    snprintf(out, n, "=?UTF-8?B?%s?=", b64);
}

/* Headers and the dot-stuffed body with CRLF line ends, ending "\r\n.\r\n". */
static char *message(const char *from, const char *to, const char *subject, const char *body,
                     const char *helo)
{
    char subj[1200], date[64], id[40];
    time_t now = time(NULL);
    struct tm tm;
    unsigned char rnd[12];
    gmtime_r(&now, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
    randombytes_buf(rnd, sizeof(rnd));
    sodium_bin2hex(id, sizeof(id), rnd, sizeof(rnd));
    subject_header(subject, subj, sizeof(subj));
    size_t cap = strlen(body) * 2 + strlen(subj) + strlen(from) + strlen(to) + 512;
    char *m = malloc(cap);
    if (!m)
        return NULL;
    size_t n = (size_t)snprintf(m, cap,
                                "From: %s\r\nTo: <%s>\r\nSubject: %s\r\nDate: %s\r\n"
                                "Message-ID: <%s@%s>\r\nMIME-Version: 1.0\r\n"
                                "Content-Type: text/plain; charset=UTF-8\r\n"
                                "Content-Transfer-Encoding: 8bit\r\n\r\n",
                                from, to, subj, date, id, helo);
    int bol = 1;
    for (const char *p = body; *p; p++) {
        if (bol && *p == '.')
            m[n++] = '.';
        if (*p == '\r')
            continue;
        if (*p == '\n') {
            m[n++] = '\r';
            m[n++] = '\n';
            bol = 1;
            continue;
        }
        m[n++] = *p;
        bol = 0;
    }
    memcpy(m + n, bol ? ".\r\n" : "\r\n.\r\n", bol ? 4 : 6);
    return m;
}

int nt_smtp_send(const char *url, const char *helo, const char *from, const char *to,
                 const char *subject, const char *body, int64_t timeout_ms, char *err,
                 size_t errlen)
{
    char host[256], port[8] = "25", from_addr[320], line[512];
    char *msg = NULL;
    conn_t c = {.fd = -1, .err = err, .errlen = errlen};
    int rc = NT_SEND_FAIL;
    const char *h = url + 7; /* "smtp://", checked by configure */
    size_t hlen = strcspn(h, ":/");
    if (hlen == 0 || hlen >= sizeof(host)) {
        snprintf(err, errlen, "smtp_url: bad host");
        goto done;
    }
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    if (h[hlen] == ':')
        snprintf(port, sizeof(port), "%.*s", (int)strcspn(h + hlen + 1, "/"), h + hlen + 1);
    if (bare_address(from, from_addr, sizeof(from_addr)) < 0 || strpbrk(to, "<>\r\n ") ||
        !strchr(to, '@') || strlen(to) > 300) {
        snprintf(err, errlen, "bad sender or recipient address");
        goto done;
    }
    if (!(msg = message(from, to, subject, body, helo))) {
        snprintf(err, errlen, "out of memory");
        rc = NT_SEND_RETRY;
        goto done;
    }
    rc = NT_SEND_RETRY;
    c.fd = nt_connect(host, port, timeout_ms, 1, err, errlen);
    if (c.fd < 0)
        goto done;
    if ((rc = cmd(&c, NULL, 2, "greeting")) != NT_SEND_OK)
        goto done;
    snprintf(line, sizeof(line), "EHLO %s\r\n", helo);
    if (cmd(&c, line, 2, "EHLO") != NT_SEND_OK) {
        snprintf(line, sizeof(line), "HELO %s\r\n", helo);
        if ((rc = cmd(&c, line, 2, "HELO")) != NT_SEND_OK)
            goto done;
    }
    snprintf(line, sizeof(line), "MAIL FROM:<%s>\r\n", from_addr);
    if ((rc = cmd(&c, line, 2, "MAIL FROM")) != NT_SEND_OK)
        goto done;
    snprintf(line, sizeof(line), "RCPT TO:<%s>\r\n", to);
    if ((rc = cmd(&c, line, 2, "RCPT TO")) != NT_SEND_OK)
        goto done;
    if ((rc = cmd(&c, "DATA\r\n", 3, "DATA")) != NT_SEND_OK ||
        (rc = cmd(&c, msg, 2, "the message")) != NT_SEND_OK)
        goto done;
    cmd(&c, "QUIT\r\n", 2, "QUIT"); /* sent already: a failed QUIT changes nothing */
    rc = NT_SEND_OK;
done:
    if (c.fd >= 0)
        close(c.fd);
    free(msg);
    return rc;
}
