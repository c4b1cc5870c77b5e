/*
 * media.c — the photo store: files named by the SHA-256 of their bytes
 * under [plugin.property] media_dir, fanned out by the first two hex digits
 * (media_dir/ab/abcdef...), and GET /media/{hash} serving them.
 *
 * A name is its content, so a file never changes once written: the same
 * bytes uploaded twice are stored once, and a response can be cached for a
 * year (Cache-Control immutable; a CDN sits in front in production).  File
 * I/O runs on the host's thread pool, never on the event loop.
 *
 * Files are not removed when a photo is deleted: another listing may hold
 * the same bytes, and caches keep them for a year regardless.  Sweeping
 * files no row refers to is a job for later (see rentezy-property(7)).
 */
#include "prop.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#define PATH_CAP 4096

const char *media_sniff(const unsigned char *p, size_t n)
{
    if (n >= 3 && p[0] == 0xff && p[1] == 0xd8 && p[2] == 0xff)
        return "image/jpeg";
    if (n >= 8 && memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0)
        return "image/png";
    if (n >= 12 && memcmp(p, "RIFF", 4) == 0 && memcmp(p + 8, "WEBP", 4) == 0)
        return "image/webp";
    return NULL;
}

static int mkdir_p(const char *dir)
{
    char path[PATH_CAP];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof(path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(path, dir, n + 1);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0755) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(path, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

int media_init(void)
{
    return mkdir_p(prop_g.media_dir);
}

static int media_path(char *out, size_t cap, const char *hash)
{
    int n = snprintf(out, cap, "%s/%.2s/%s", prop_g.media_dir, hash, hash);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int media_store(const void *bytes, size_t n, char *hash)
{
    unsigned char sum[crypto_hash_sha256_BYTES];
    char path[PATH_CAP], tmp[PATH_CAP], dir[PATH_CAP], rnd[17];
    struct stat st;
    int fd = -1, dfd = -1;
    crypto_hash_sha256(sum, bytes, n);
    sodium_bin2hex(hash, HASH_HEX + 1, sum, sizeof(sum));
    if (media_path(path, sizeof(path), hash) < 0) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if (stat(path, &st) == 0 && (size_t)st.st_size == n)
        return 0; /* the same bytes are there already */
    snprintf(dir, sizeof(dir), "%s/%.2s", prop_g.media_dir, hash);
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return -1;
    /* a unique temporary name: two workers may store the same bytes at once */
    randombytes_buf(sum, 8);
    sodium_bin2hex(rnd, sizeof(rnd), sum, 8);
    if (snprintf(tmp, sizeof(tmp), "%s/.tmp-%s", dir, rnd) >= (int)sizeof(tmp)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0)
        return -1;
    if (write_all(fd, bytes, n) < 0 || fsync(fd) < 0)
        goto fail;
    if (close(fd) < 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) < 0)
        goto fail;
    /* the rename itself is durable once the directory is synced */
    if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
fail:;
    int e = errno;
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    errno = e;
    return -1;
}

/* ---- GET /media/{hash} ------------------------------------------------------------ */

typedef struct media_read {
    rz_req_t *req;
    char hash[HASH_HEX + 1];
    unsigned char *data; /* malloc'd on the pool thread; freed after the reply */
    size_t len;
    int err;             /* errno of a failed read, 0 when data is set */
} media_read_t;

static void read_file(void *u)
{
    media_read_t *m = u;
    char path[PATH_CAP];
    struct stat st;
    int fd = -1;
    if (media_path(path, sizeof(path), m->hash) < 0) {
        m->err = ENAMETOOLONG;
        return;
    }
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0)
        goto fail;
    /* a stored photo passed max_photo_size once; this bounds memory even
     * if someone puts a huge file there by hand */
    if (!S_ISREG(st.st_mode) || st.st_size <= 0 || (uint64_t)st.st_size > (256u << 20)) {
        errno = EFBIG;
        goto fail;
    }
    m->len = (size_t)st.st_size;
    if (!(m->data = malloc(m->len)))
        goto fail;
    for (size_t off = 0; off < m->len;) {
        ssize_t r = read(fd, m->data + off, m->len - off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            errno = r == 0 ? EIO : errno; /* shrank under us */
            goto fail;
        }
        off += (size_t)r;
    }
    close(fd);
    return;
fail:
    m->err = errno ? errno : EIO;
    if (fd >= 0)
        close(fd);
    free(m->data);
    m->data = NULL;
}

static void read_done(void *u)
{
    media_read_t *m = u; /* request memory: gone once the reply is sent */
    rz_req_t *req = m->req;
    unsigned char *data = m->data;
    const char *type = data ? media_sniff(data, m->len) : NULL;
    if (!data || !type) {
        if (m->err != ENOENT)
            H->log(prop_g.self, RZ_LOG_WARN, "media %s: %s", m->hash,
                   data ? "not an image" : strerror(m->err));
        H->reply_error(req, 404, "not_found", NULL, "no such file");
        goto out;
    }
    char tag[HASH_HEX + 3];
    snprintf(tag, sizeof(tag), "\"%s\"", m->hash);
    H->resp_header(req, "ETag", tag);
    H->resp_header(req, "Cache-Control", "public, max-age=31536000, immutable");
    const char *inm = H->req_header(req, "If-None-Match");
    if (inm && (strstr(inm, tag) || strcmp(inm, "*") == 0))
        H->reply(req, 304, NULL, NULL, 0);
    else
        H->reply(req, 200, type, data, m->len); /* the host copies the body */
out:
    free(data);
}

void h_media(rz_req_t *req, void *u)
{
    const char *hash = H->req_param(req, "hash");
    if (!hash || strlen(hash) != HASH_HEX || strspn(hash, "0123456789abcdef") != HASH_HEX) {
        H->reply_error(req, 404, "not_found", NULL, "no such file");
        return;
    }
    media_read_t *m = H->req_alloc(req, sizeof(*m));
    if (!m) {
        call_failed(req, RZ_ENOMEM, "memory");
        return;
    }
    memset(m, 0, sizeof(*m));
    m->req = req;
    memcpy(m->hash, hash, HASH_HEX + 1);
    int rc = H->work(prop_g.self, read_file, read_done, m);
    if (rc != RZ_OK)
        call_failed(req, rc, "the file store");
}
