#include "http_parse.h"

#include <string.h>
#include <strings.h>

/* RFC 9110 tchar */
static int is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int ieq(const char *a, size_t alen, const char *b)
{
    return strlen(b) == alen && strncasecmp(a, b, alen) == 0;
}

/* Does the comma-separated list v contain token t (case-insensitive)? */
static int list_has(const char *v, size_t vlen, const char *t)
{
    size_t tl = strlen(t), i = 0;
    while (i < vlen) {
        while (i < vlen && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t s = i;
        while (i < vlen && v[i] != ',')
            i++;
        size_t e = i;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (e - s == tl && strncasecmp(v + s, t, tl) == 0)
            return 1;
    }
    return 0;
}

static const char *find_crlf(const char *p, const char *end)
{
    const char *q = memchr(p, '\n', (size_t)(end - p));
    return q;
}

int rz__http_parse_head(const char *buf, size_t len, size_t max_header, size_t max_uri,
                        rz_http_head_t *h)
{
    const char *p = buf, *end = buf + len;
    memset(h, 0, sizeof(*h));
    h->content_length = -1;

    /* Tolerate empty lines before the request line (RFC 9112 2.2). */
    while (p < end && (*p == '\r' || *p == '\n'))
        p++;
    const char *eol = find_crlf(p, end);
    if (!eol) {
        /* a request line longer than the URI limit is a 414 before it ends */
        if ((size_t)(end - p) > max_uri + 32)
            return -414;
        return len > max_header ? -431 : 0;
    }
    const char *line_end = eol > p && eol[-1] == '\r' ? eol - 1 : eol;

    /* method SP target SP HTTP/1.x */
    const char *m = p;
    while (p < line_end && is_tchar((unsigned char)*p))
        p++;
    if (p == m || p >= line_end || *p != ' ' || p - m > 16)
        return -400;
    h->method = m;
    h->method_len = (size_t)(p - m);
    p++;
    const char *t = p;
    while (p < line_end && *p != ' ')
        p++;
    if (p == t || p >= line_end)
        return -400;
    if ((size_t)(p - t) > max_uri)
        return -414;
    h->target = t;
    h->target_len = (size_t)(p - t);
    for (const char *c = t; c < p; c++)
        if ((unsigned char)*c <= 0x20 || (unsigned char)*c == 0x7f)
            return -400;
    if (t[0] != '/' && !(h->target_len == 1 && t[0] == '*'))
        return -400;
    p++;
    if (line_end - p != 8 || memcmp(p, "HTTP/1.", 7) != 0) {
        if (line_end - p >= 5 && memcmp(p, "HTTP/", 5) == 0)
            return -505;
        return -400;
    }
    if (p[7] != '0' && p[7] != '1')
        return -505;
    h->minor = p[7] - '0';
    p = eol + 1;

    int conn_close = 0, conn_keep = 0, conn_upgrade = 0, has_upgrade = 0, has_te = 0;
    for (;;) {
        if ((size_t)(p - buf) > max_header)
            return -431;
        eol = find_crlf(p, end);
        if (!eol)
            return len > max_header ? -431 : 0;
        line_end = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
        if (line_end == p) { /* blank line: end of head */
            h->head_len = (size_t)(eol + 1 - buf);
            if (h->head_len > max_header)
                return -431;
            break;
        }
        if (*p == ' ' || *p == '\t') /* obsolete line folding */
            return -400;
        const char *n = p;
        while (p < line_end && is_tchar((unsigned char)*p))
            p++;
        if (p == n || p >= line_end || *p != ':')
            return -400;
        size_t nlen = (size_t)(p - n);
        p++;
        while (p < line_end && (*p == ' ' || *p == '\t'))
            p++;
        const char *v = p, *ve = line_end;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        for (const char *c = v; c < ve; c++)
            if ((unsigned char)*c < 0x20 && *c != '\t')
                return -400;
        if (h->nheaders == RZ_HTTP_MAX_HEADERS)
            return -431;
        rz_http_header_t *hd = &h->headers[h->nheaders++];
        hd->name = n;
        hd->nlen = nlen;
        hd->value = v;
        hd->vlen = (size_t)(ve - v);

        if (ieq(n, nlen, "content-length")) {
            int64_t cl = 0;
            if (hd->vlen == 0 || hd->vlen > 18)
                return -400;
            for (size_t i = 0; i < hd->vlen; i++) {
                if (v[i] < '0' || v[i] > '9')
                    return -400;
                cl = cl * 10 + (v[i] - '0');
            }
            if (h->content_length >= 0 && h->content_length != cl)
                return -400; /* conflicting lengths: request smuggling */
            h->content_length = cl;
        } else if (ieq(n, nlen, "transfer-encoding")) {
            has_te = 1;
            if (!ieq(v, hd->vlen, "chunked"))
                return -501;
            h->chunked = 1;
        } else if (ieq(n, nlen, "connection")) {
            conn_close |= list_has(v, hd->vlen, "close");
            conn_keep |= list_has(v, hd->vlen, "keep-alive");
            conn_upgrade |= list_has(v, hd->vlen, "upgrade");
        } else if (ieq(n, nlen, "upgrade")) {
            has_upgrade = 1;
        } else if (ieq(n, nlen, "expect")) {
            h->expect_continue = ieq(v, hd->vlen, "100-continue");
        }
        p = eol + 1;
    }
    if (has_te && h->content_length >= 0)
        return -400; /* both: refuse rather than guess (RFC 9112 6.3) */
    h->keepalive = h->minor == 1 ? !conn_close : conn_keep;
    h->upgrade = conn_upgrade && has_upgrade;
    return (int)h->head_len;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long rz__http_dechunk(const char *buf, size_t len, char *out, size_t max, size_t *outlen)
{
    size_t i = 0, o = 0;
    for (;;) {
        /* chunk-size [; ext] CRLF */
        size_t size = 0, digits = 0;
        while (i < len && hexval(buf[i]) >= 0) {
            if (++digits > 8)
                return -413;
            size = size * 16 + (size_t)hexval(buf[i]);
            i++;
        }
        if (i >= len)
            return 0;
        if (digits == 0)
            return -400;
        size_t line = i; /* the extension's length is bounded, not the offset */
        while (i < len && buf[i] != '\n') {
            if (buf[i] != ';' && buf[i] != '\r' && buf[i] != ' ' && buf[i] != '\t' &&
                !is_tchar((unsigned char)buf[i]) && buf[i] != '=' && buf[i] != '"')
                return -400;
            if (i - line > 4096)
                return -400;
            i++;
        }
        if (i >= len)
            return 0;
        i++; /* LF */
        if (size == 0) {
            /* trailers until an empty line */
            for (;;) {
                const char *nl = memchr(buf + i, '\n', len - i);
                if (!nl)
                    return 0;
                size_t l = (size_t)(nl - (buf + i));
                i += l + 1;
                if (l == 0 || (l == 1 && buf[i - 2] == '\r'))
                    break;
            }
            *outlen = o;
            return (long)i;
        }
        if (size > max - o)
            return -413;
        if (len - i < size + 1)
            return 0;
        memcpy(out + o, buf + i, size);
        o += size;
        i += size;
        if (buf[i] == '\r') {
            if (len - i < 2)
                return 0;
            i++;
        }
        if (buf[i] != '\n')
            return -400;
        i++;
    }
}

const rz_http_header_t *rz__http_header(const rz_http_head_t *h, const char *name)
{
    size_t nl = strlen(name);
    for (int i = 0; i < h->nheaders; i++)
        if (h->headers[i].nlen == nl && strncasecmp(h->headers[i].name, name, nl) == 0)
            return &h->headers[i];
    return NULL;
}

long rz__url_decode(const char *src, size_t len, char *dst, int plus_is_space)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = src[i];
        if (c == '%') {
            if (i + 2 >= len)
                return -1;
            int hi = hexval(src[i + 1]), lo = hexval(src[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = (char)(hi * 16 + lo);
            if (c == '\0')
                return -1;
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        dst[o++] = c;
    }
    dst[o] = '\0';
    return (long)o;
}
