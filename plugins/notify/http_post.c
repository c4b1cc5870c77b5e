/*
 * http_post.c — a webhook delivery: one HTTP/1.1 POST, blocking, on a pool
 * thread; and its signature.
 *
 * X-RentEzy-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
 * The receiver recomputes v1 over the raw body with its secret, compares in
 * constant time, and rejects a t too far from its clock (replays).
 */
#include "notify.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

void nt_sign(const char *secret, long long t, const char *body, char *out, size_t n)
{
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    char ts[24], hex[2 * crypto_auth_hmacsha256_BYTES + 1];
    crypto_auth_hmacsha256_state st;
    int len = snprintf(ts, sizeof(ts), "%lld.", t);
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts, (unsigned long long)len);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, strlen(body));
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_bin2hex(hex, sizeof(hex), mac, sizeof(mac));
    snprintf(out, n, "t=%lld,v1=%s", t, hex);
    sodium_memzero(&st, sizeof(st));
}

int nt_http_post(const char *url, const char *body, const char *signature, const char *type,
                 const char *delivery, int64_t timeout_ms, int allow_private, int *status,
                 char *err, size_t errlen)
{
    nt_url_t u;
    const char *why;
    char head[3072], in[1024];
    int fd = -1, rc = NT_SEND_RETRY;
    *status = 0;
    if (nt_url_parse(url, &u, &why) < 0 || u.https) {
        snprintf(err, errlen, "url: %s", u.https ? "https is not supported" : why);
        return NT_SEND_FAIL;
    }
    int hl = snprintf(head, sizeof(head),
                      "POST %s HTTP/1.1\r\nHost: %s%s%s\r\nUser-Agent: RentEzy-Webhooks/1.0\r\n"
                      "Content-Type: application/json\r\nContent-Length: %zu\r\n"
                      "X-RentEzy-Signature: %s\r\nX-RentEzy-Event: %s\r\n"
                      "X-RentEzy-Delivery: %s\r\nConnection: close\r\n\r\n",
                      u.path, u.host, strcmp(u.port, "80") ? ":" : "",
                      strcmp(u.port, "80") ? u.port : "", strlen(body), signature, type, delivery);
    if (hl < 0 || (size_t)hl >= sizeof(head)) {
        snprintf(err, errlen, "request head too long");
        return NT_SEND_FAIL;
    }
    fd = nt_connect(u.host, u.port, timeout_ms, allow_private, err, errlen);
    if (fd < 0)
        return NT_SEND_RETRY;
    if (nt_write_all(fd, head, (size_t)hl) < 0 || nt_write_all(fd, body, strlen(body)) < 0) {
        snprintf(err, errlen, "sending: %s", strerror(errno));
        goto done;
    }
    size_t n = 0;
    while (n < sizeof(in) - 1 && !memchr(in, '\n', n)) {
        ssize_t r = recv(fd, in + n, sizeof(in) - 1 - n, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            snprintf(err, errlen, "no answer: %s", r == 0 ? "connection closed" : strerror(errno));
            goto done;
        }
        n += (size_t)r;
    }
    in[n] = '\0';
    int code = 0;
    if (sscanf(in, "HTTP/1.%*1[01] %3d", &code) != 1 || code < 100 || code > 599) {
        snprintf(err, errlen, "the answer is not HTTP");
        goto done;
    }
    *status = code;
    if (code / 100 == 2) {
        rc = NT_SEND_OK;
    } else {
        snprintf(err, errlen, "the receiver answered %d", code);
        rc = NT_SEND_RETRY; /* every failure counts toward disabling */
    }
done:
    close(fd);
    return rc;
}
