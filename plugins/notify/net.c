/*
 * net.c — URLs and blocking sockets with timeouts, for the pool threads
 * that send e-mail and webhooks (never on the loop thread).
 */
#include "notify.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

int nt_url_parse(const char *s, nt_url_t *u, const char **why)
{
    size_t n = strlen(s);
    memset(u, 0, sizeof(*u));
    if (n > 2048) {
        *why = "longer than 2048 bytes";
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] == 0x7f) {
            *why = "spaces and control characters are not allowed";
            return -1;
        }
    const char *rest;
    if (strncasecmp(s, "http://", 7) == 0) {
        rest = s + 7;
    } else if (strncasecmp(s, "https://", 8) == 0) {
        u->https = 1;
        rest = s + 8;
    } else {
        *why = "expected an absolute http:// or https:// URL";
        return -1;
    }
    if (strchr(s, '#')) {
        *why = "a fragment (#) is not allowed";
        return -1;
    }
    size_t alen = strcspn(rest, "/?");
    const char *path = rest + alen;
    if (memchr(rest, '@', alen)) {
        *why = "user names and passwords in the URL are not allowed";
        return -1;
    }
    const char *host = rest, *port = NULL;
    size_t hlen;
    if (alen > 0 && rest[0] == '[') {
        const char *end = memchr(rest, ']', alen);
        if (!end) {
            *why = "unterminated IPv6 address";
            return -1;
        }
        host = rest + 1;
        hlen = (size_t)(end - host);
        if (end + 1 < rest + alen) {
            if (end[1] != ':') {
                *why = "bad host";
                return -1;
            }
            port = end + 2;
        }
    } else {
        const char *colon = memchr(rest, ':', alen);
        hlen = colon ? (size_t)(colon - rest) : alen;
        port = colon ? colon + 1 : NULL;
    }
    if (hlen == 0 || hlen >= sizeof(u->host)) {
        *why = "missing or too long host";
        return -1;
    }
    memcpy(u->host, host, hlen);
    for (size_t i = 0; i < hlen; i++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:",
                    u->host[i])) {
            *why = "the host has characters a host name cannot have";
            return -1;
        }
    if (port) {
        size_t plen = (size_t)(rest + alen - port);
        long v = 0;
        if (plen == 0 || plen > 5) {
            *why = "bad port";
            return -1;
        }
        for (size_t i = 0; i < plen; i++) {
            if (port[i] < '0' || port[i] > '9') {
                *why = "bad port";
                return -1;
            }
            v = v * 10 + (port[i] - '0');
        }
        if (v < 1 || v > 65535) {
            *why = "the port must be 1 to 65535";
            return -1;
        }
        snprintf(u->port, sizeof(u->port), "%ld", v);
    } else {
        snprintf(u->port, sizeof(u->port), "%s", u->https ? "443" : "80");
    }
    snprintf(u->path, sizeof(u->path), "%s%s", *path == '/' ? "" : "/", path);
    return 0;
}

/* Loopback, private, link-local, unspecified, multicast: not the public
 * Internet, so not a landlord's server (SSRF). */
static int private_addr(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        uint32_t a = ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr);
        return (a >> 24) == 0 || (a >> 24) == 10 || (a >> 24) == 127 ||
               (a >> 16) == 0xa9fe || (a >> 20) == 0xac1 || (a >> 16) == 0xc0a8 ||
               (a >> 22) == (100u << 2 | 1) || (a >> 28) == 0xe || (a >> 28) == 0xf;
    }
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) || IN6_IS_ADDR_UNSPECIFIED(a) ||
               IN6_IS_ADDR_LINKLOCAL(a) || IN6_IS_ADDR_SITELOCAL(a) ||
               IN6_IS_ADDR_MULTICAST(a) || IN6_IS_ADDR_V4MAPPED(a) ||
               (a->s6_addr[0] & 0xfe) == 0xfc;
    }
    return 1;
}

static int connect_one(const struct addrinfo *ai, int64_t timeout_ms)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        if (errno != EINPROGRESS)
            goto fail;
        struct pollfd pf = {.fd = fd, .events = POLLOUT};
        int r = poll(&pf, 1, (int)timeout_ms);
        int err = 0;
        socklen_t len = sizeof(err);
        if (r == 0)
            errno = ETIMEDOUT;
        if (r <= 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
            goto fail;
        if (err) {
            errno = err;
            goto fail;
        }
    }
    int flags = fcntl(fd, F_GETFL);
    struct timeval tv = {(time_t)(timeout_ms / 1000), (suseconds_t)(timeout_ms % 1000) * 1000};
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
        goto fail;
    return fd;
fail:;
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

int nt_connect(const char *host, const char *port, int64_t timeout_ms, int allow_private,
               char *err, size_t errlen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "cannot resolve %s: %s", host, gai_strerror(rc));
        return -1;
    }
    int fd = -1, refused = 0;
    for (const struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        if (!allow_private && private_addr(ai->ai_addr)) {
            refused = 1;
            continue;
        }
        fd = connect_one(ai, timeout_ms);
        if (fd < 0)
            snprintf(err, errlen, "cannot connect to %s:%s: %s", host, port, strerror(errno));
    }
    freeaddrinfo(res);
    if (fd < 0 && refused)
        snprintf(err, errlen, "%s resolves to a private or loopback address: refused", host);
    return fd;
}

int nt_write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
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
