/*
 * http_parse.h — a pure, incremental HTTP/1.1 request-head parser and a
 * chunked-body decoder.  No allocation, no I/O: fuzzed on its own.
 */
#ifndef RZ_HTTP_PARSE_H
#define RZ_HTTP_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define RZ_HTTP_MAX_HEADERS 64

typedef struct rz_http_header {
    const char *name;
    size_t nlen;
    const char *value;
    size_t vlen;
} rz_http_header_t;

typedef struct rz_http_head {
    const char *method;
    size_t method_len;
    const char *target;       /* origin-form: "/path?query" */
    size_t target_len;
    int minor;                /* 0 for HTTP/1.0, 1 for HTTP/1.1 */
    rz_http_header_t headers[RZ_HTTP_MAX_HEADERS];
    int nheaders;
    size_t head_len;          /* bytes up to and including the blank line */
    int64_t content_length;   /* -1 when absent */
    int chunked;              /* Transfer-Encoding: chunked */
    int keepalive;            /* after Connection and the version */
    int upgrade;              /* Connection: upgrade with an Upgrade header */
    int expect_continue;
} rz_http_head_t;

/* Parse the request head at buf[0..len).  Returns:
 *   > 0   the head is complete; h is filled (pointers into buf)
 *   0     more bytes are needed (and len is still under max_header)
 *   < 0   the negated HTTP status to answer: -400 (malformed), -414 (target
 *         longer than max_uri), -431 (head longer than max_header or too many
 *         headers), -501 (unsupported transfer coding), -505 (not HTTP/1.x). */
int rz__http_parse_head(const char *buf, size_t len, size_t max_header, size_t max_uri,
                        rz_http_head_t *h);

/* Decode a chunked body at buf[0..len) into out (capacity max).  Returns the
 * number of input bytes consumed (> 0) when the last chunk and trailers are
 * complete, with *outlen set; 0 when more is needed; -400 when malformed;
 * -413 when the decoded body would exceed max. */
long rz__http_dechunk(const char *buf, size_t len, char *out, size_t max, size_t *outlen);

/* Case-insensitive header lookup; NULL when absent. */
const rz_http_header_t *rz__http_header(const rz_http_head_t *h, const char *name);

/* Percent-decode src[0..len) into dst (capacity >= len + 1), '+' kept as is
 * unless plus_is_space.  Returns the decoded length, or -1 on a bad escape or
 * an encoded NUL. */
long rz__url_decode(const char *src, size_t len, char *dst, int plus_is_space);

#endif
