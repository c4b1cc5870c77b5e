/*
 * web — serves RentEzy's own web app (the React build in web/, made by
 * `make web`) as static files from [plugin.web] root.
 *
 *   GET /                  index.html                    Cache-Control: no-cache
 *   GET /app, /app/...     index.html (client-side routes of the app)
 *   GET /assets/{file}     a built file; names with a content hash
 *                          (index-B2x_9aQk.js) are cached for a year,
 *                          immutable; others are revalidated (no-cache)
 *
 * Every answer carries a strong ETag (size, mtime and encoding of the file)
 * and honours If-None-Match with 304.  When the client accepts gzip and a
 * precompressed FILE.gz sits next to FILE, that is sent with
 * Content-Encoding: gzip; every answer says Vary: Accept-Encoding.
 *
 * Paths: a file name is one path segment of [A-Za-z0-9._-], not starting
 * with '.', so '..', '/', NUL and absolute names cannot be expressed; the
 * resolved path (realpath, following any symlink) must still lie inside the
 * resolved root, or the answer is 404.  Reads run on the host's pool
 * threads, never on the event loop.
 *
 * Configuration ([plugin.web]):
 *   root = /usr/share/rentezy/web    the built app (index.html, assets/)
 *   max_file_size = 32MiB            larger files are refused (500)
 */
#include <rentezy/plugin.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_ROOT "/usr/share/rentezy/web"
#define NAME_MAX_LEN 200

typedef struct web {
    const rz_host_t *host;
    rz_plugin_t *self;
    const char *root;
    uint64_t max_size;
} web_t;

static web_t g;

/* ---- helpers (pure; no host calls) ---------------------------------------------------- */

static const struct {
    const char *ext, *type;
} types[] = {
    {"html", "text/html; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"json", "application/json"},
    {"map", "application/json"},
    {"webmanifest", "application/manifest+json"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"webp", "image/webp"},
    {"avif", "image/avif"},
    {"gif", "image/gif"},
    {"ico", "image/x-icon"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"ttf", "font/ttf"},
    {"txt", "text/plain; charset=utf-8"},
    {"wasm", "application/wasm"},
};

static const char *content_type(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (dot)
        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
            if (strcasecmp(dot + 1, types[i].ext) == 0)
                return types[i].type;
    return "application/octet-stream";
}

/* One segment of [A-Za-z0-9._-], not starting with '.', no "..". */
static int safe_name(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > NAME_MAX_LEN || s[0] == '.' || strstr(s, ".."))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* Vite names built files NAME-HASH.EXT with a hash of 8+ [A-Za-z0-9_-]. */
static int hashed_name(const char *s)
{
    const char *dot = strrchr(s, '.');
    if (!dot)
        return 0;
    const char *p = dot;
    size_t n = 0;
    while (p > s && p[-1] != '-') {
        char c = p[-1];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return 0;
        p--;
        n++;
    }
    return p > s + 1 && n >= 8;
}

/* Does Accept-Encoding allow gzip?  "gzip", "gzip;q=0.5", "*" yes; "gzip;q=0" no. */
static int accepts_gzip(const char *ae)
{
    if (!ae)
        return 0;
    const char *p = ae;
    int star = 0;
    while (*p) {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        const char *tok = p;
        while (*p && *p != ',' && *p != ';' && *p != ' ')
            p++;
        size_t tl = (size_t)(p - tok);
        double q = 1.0;
        while (*p && *p != ',') {
            if (*p == ';') {
                p++;
                while (*p == ' ')
                    p++;
                if ((p[0] == 'q' || p[0] == 'Q') && p[1] == '=')
                    q = strtod(p + 2, NULL);
            } else {
                p++;
            }
        }
        if (tl == 4 && strncasecmp(tok, "gzip", 4) == 0)
            return q > 0;
        if (tl == 1 && tok[0] == '*')
            star = q > 0;
    }
    return star;
}

/* ---- reading a file on the pool ----------------------------------------------------- */

typedef struct web_read {
    rz_req_t *req;
    char rel[NAME_MAX_LEN + 16]; /* "index.html" or "assets/NAME" */
    int gzip_ok;                 /* the client takes gzip */
    int is_asset;
    /* results */
    unsigned char *data;
    size_t len;
    int gz;                      /* data is FILE.gz */
    long long size, mtime_ns;
    int err;                     /* errno; 0 when data is set */
} web_read_t;

/* Open ROOT/rel, refusing anything that resolves outside the root. */
static int open_inside(const char *root_real, const char *rel, struct stat *st)
{
    char path[PATH_MAX], real[PATH_MAX];
    int n = snprintf(path, sizeof(path), "%s/%s", root_real, rel);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if (!realpath(path, real))
        return -1;
    size_t rl = strlen(root_real);
    if (strncmp(real, root_real, rl) != 0 || (real[rl] != '/' && !(rl == 1 && root_real[0] == '/'))) {
        errno = EACCES;
        return -1;
    }
    int fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -1;
    if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
        close(fd);
        errno = ENOENT;
        return -1;
    }
    return fd;
}

static void read_file(void *u)
{
    web_read_t *w = u;
    char root_real[PATH_MAX], gzrel[sizeof(w->rel) + 3];
    struct stat st;
    int fd = -1;
    errno = 0;
    if (!realpath(g.root, root_real))
        goto fail;
    if (w->gzip_ok) {
        snprintf(gzrel, sizeof(gzrel), "%s.gz", w->rel);
        fd = open_inside(root_real, gzrel, &st);
        w->gz = fd >= 0;
    }
    if (fd < 0 && (fd = open_inside(root_real, w->rel, &st)) < 0)
        goto fail;
    if ((uint64_t)st.st_size > g.max_size) {
        errno = EFBIG;
        goto fail;
    }
    w->size = (long long)st.st_size;
    w->mtime_ns = (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
    w->len = (size_t)st.st_size;
    if (!(w->data = malloc(w->len ? w->len : 1)))
        goto fail;
    for (size_t off = 0; off < w->len;) {
        ssize_t r = read(fd, w->data + off, w->len - off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            errno = r == 0 ? EIO : errno;
            goto fail;
        }
        off += (size_t)r;
    }
    close(fd);
    w->err = 0;
    return;
fail:
    w->err = errno ? errno : EIO;
    if (fd >= 0)
        close(fd);
    free(w->data);
    w->data = NULL;
}

static int etag_matches(const char *inm, const char *tag)
{
    if (!inm)
        return 0;
    if (strcmp(inm, "*") == 0)
        return 1;
    /* a list of tags; W/ prefixes compare weakly (RFC 9110 13.1.2) */
    size_t tl = strlen(tag);
    for (const char *p = strstr(inm, tag); p; p = strstr(p + 1, tag)) {
        char after = p[tl];
        if (after == '\0' || after == ',' || after == ' ')
            return 1;
    }
    return 0;
}

static void read_done(void *u)
{
    web_read_t *w = u;
    rz_req_t *req = w->req;
    const rz_host_t *h = g.host;
    unsigned char *data = w->data;
    if (!data) {
        if (w->err == EFBIG || (w->err != ENOENT && w->err != ENOTDIR && w->err != EACCES))
            h->log(g.self, RZ_LOG_WARN, "web %s: %s", w->rel, strerror(w->err));
        if (w->err == EFBIG)
            h->reply_error(req, 500, "internal", NULL, "file too large");
        else if (!w->is_asset)
            h->reply_error(req, 503, "unavailable", NULL,
                           "the web app is not installed (see [plugin.web] root)");
        else
            h->reply_error(req, 404, "not_found", NULL, "no such file");
        return;
    }
    char tag[96];
    snprintf(tag, sizeof(tag), "\"%llx-%llx%s\"", (unsigned long long)w->size,
             (unsigned long long)w->mtime_ns, w->gz ? "-gz" : "");
    const char *name = strrchr(w->rel, '/') ? strrchr(w->rel, '/') + 1 : w->rel;
    h->resp_header(req, "ETag", tag);
    h->resp_header(req, "Vary", "Accept-Encoding");
    h->resp_header(req, "Cache-Control", w->is_asset && hashed_name(name)
                                             ? "public, max-age=31536000, immutable"
                                             : "no-cache");
    const char *type = content_type(name);
    if (!w->is_asset) {
        h->resp_header(req, "Content-Security-Policy",
                       "default-src 'self'; img-src 'self' data: blob:; "
                       "style-src 'self' 'unsafe-inline'; connect-src 'self' ws: wss:; "
                       "frame-ancestors 'none'; base-uri 'self'; form-action 'self'");
        h->resp_header(req, "Referrer-Policy", "same-origin");
    }
    const char *inm = h->req_header(req, "If-None-Match");
    if (etag_matches(inm, tag)) {
        h->reply(req, 304, NULL, NULL, 0);
    } else {
        if (w->gz)
            h->resp_header(req, "Content-Encoding", "gzip");
        h->reply(req, 200, type, data, w->len); /* the host copies the body */
    }
    free(data);
}

static void serve(rz_req_t *req, const char *rel, int is_asset)
{
    const rz_host_t *h = g.host;
    web_read_t *w = h->req_alloc(req, sizeof(*w));
    if (!w) {
        h->reply_error(req, 500, "internal", NULL, "out of memory");
        return;
    }
    memset(w, 0, sizeof(*w));
    w->req = req;
    w->is_asset = is_asset;
    snprintf(w->rel, sizeof(w->rel), "%s", rel);
    w->gzip_ok = accepts_gzip(h->req_header(req, "Accept-Encoding"));
    if (h->work(g.self, read_file, read_done, w) != RZ_OK)
        h->reply_error(req, 503, "unavailable", NULL, "the file reader is busy");
}

/* ---- routes -------------------------------------------------------------------------- */

static void h_index(rz_req_t *req, void *u)
{
    (void)u;
    serve(req, "index.html", 0);
}

static void h_asset(rz_req_t *req, void *u)
{
    (void)u;
    const char *file = g.host->req_param(req, "file");
    char rel[NAME_MAX_LEN + 16];
    if (!safe_name(file)) {
        g.host->reply_error(req, 404, "not_found", NULL, "no such file");
        return;
    }
    snprintf(rel, sizeof(rel), "assets/%s", file);
    serve(req, rel, 1);
}

#define APP_PARAM(n)                                                                     \
    "{\"name\":\"" n "\",\"in\":\"path\",\"required\":true,\"schema\":{\"type\":\"string\"}}"
#define APP_GET(params)                                                                  \
    "{\"get\":{\"summary\":\"The web app (index.html) for a client-side route\","         \
    "\"tags\":[\"web\"],\"parameters\":[" params "],"                                    \
    "\"responses\":{\"200\":{\"description\":\"index.html\",\"content\":{\"text/html\":{}}},"  \
    "\"304\":{\"description\":\"not modified (If-None-Match)\"},"                        \
    "\"503\":{\"description\":\"the web app is not installed\"}}}}"

static const char openapi[] =
    "{\"/\":{\"get\":{\"summary\":\"The web app's index.html (Cache-Control: no-cache)\","
    "\"tags\":[\"web\"],\"responses\":{\"200\":{\"description\":\"index.html; gzip when accepted "
    "and a .gz is installed\",\"content\":{\"text/html\":{}}},"
    "\"304\":{\"description\":\"not modified (If-None-Match)\"},"
    "\"503\":{\"description\":\"the web app is not installed\"}}}},"
    "\"/assets/{file}\":{\"get\":{\"summary\":\"A built file of the web app; hashed names are "
    "immutable for a year\",\"tags\":[\"web\"],\"parameters\":[" APP_PARAM("file") "],"
    "\"responses\":{\"200\":{\"description\":\"the file, with its Content-Type and ETag; gzip "
    "when accepted and a .gz is installed\"},\"304\":{\"description\":\"not modified\"},"
    "\"404\":{\"description\":\"no such file\"}}}},"
    "\"/app\":" APP_GET("") ","
    "\"/app/{p1}\":" APP_GET(APP_PARAM("p1")) ","
    "\"/app/{p1}/{p2}\":" APP_GET(APP_PARAM("p1") "," APP_PARAM("p2")) ","
    "\"/app/{p1}/{p2}/{p3}\":" APP_GET(APP_PARAM("p1") "," APP_PARAM("p2") "," APP_PARAM("p3"))
    "}";

static int load_config(rz_plugin_t *self)
{
    if (g.host->config_string(self, "root", DEFAULT_ROOT, &g.root) != RZ_OK)
        return RZ_EINVAL;
    if (g.host->config_size(self, "max_file_size", 32u << 20, &g.max_size) != RZ_OK)
        return RZ_EINVAL;
    if (g.root[0] != '/') {
        g.host->log(self, RZ_LOG_ERROR, "[plugin.web] root must be an absolute path: %s", g.root);
        return RZ_EINVAL;
    }
    return RZ_OK;
}

static int web_init(rz_plugin_t *self, const rz_host_t *host, void **state)
{
    g.host = host;
    g.self = self;
    int rc = load_config(self);
    if (rc != RZ_OK)
        return rc;
    struct stat st;
    char index[PATH_MAX];
    snprintf(index, sizeof(index), "%s/index.html", g.root);
    if (stat(index, &st) < 0)
        host->log(self, RZ_LOG_WARN, "no web app at %s (run `make web`); / answers 503", g.root);
    static const rz_route_t routes[] = {
        {.size = sizeof(rz_route_t), .method = "GET", .path = "/", .handler = h_index,
         .summary = "web app"},
        {.size = sizeof(rz_route_t), .method = "GET", .path = "/assets/{file}", .handler = h_asset,
         .summary = "web app file"},
        {.size = sizeof(rz_route_t), .method = "GET", .path = "/app", .handler = h_index},
        {.size = sizeof(rz_route_t), .method = "GET", .path = "/app/{p1}", .handler = h_index},
        {.size = sizeof(rz_route_t), .method = "GET", .path = "/app/{p1}/{p2}", .handler = h_index},
        {.size = sizeof(rz_route_t), .method = "GET", .path = "/app/{p1}/{p2}/{p3}",
         .handler = h_index},
    };
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        if (host->route(self, &routes[i]) != RZ_OK)
            return RZ_ERR;
    *state = &g;
    return host->openapi(self, openapi);
}

static int web_start(rz_plugin_t *self, void *state)
{
    (void)state;
    return load_config(self);
}

RZ_PLUGIN_DEFINE(.name = "web", .version = "1.0.0",
                 .description = "Serves the RentEzy web app (static files of the Vite build)",
                 .init = web_init, .start = web_start)
