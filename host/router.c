#include "router.h"

#include "host.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define METHODS 7
static const char *const method_names[METHODS] = {"GET", "HEAD", "POST", "PUT",
                                                  "PATCH", "DELETE", "OPTIONS"};

typedef struct node {
    char *seg;                 /* literal segment; NULL for the parameter child */
    struct node **kids;        /* literal children */
    size_t nkids;
    struct node *param;        /* the {name} child, at most one */
    rz_route_entry_t *routes[METHODS];
} node_t;

struct rz_router {
    node_t root;
    rz_route_entry_t **all;   /* by index */
    size_t n, cap;
};

static int method_index(const char *m, size_t len)
{
    for (int i = 0; i < METHODS; i++)
        if (strlen(method_names[i]) == len && memcmp(method_names[i], m, len) == 0)
            return i;
    return -1;
}

rz_router_t *rz__router_new(void) { return calloc(1, sizeof(rz_router_t)); }

static void node_free(node_t *n)
{
    for (size_t i = 0; i < n->nkids; i++) {
        node_free(n->kids[i]);
        free(n->kids[i]);
    }
    free(n->kids);
    if (n->param) {
        node_free(n->param);
        free(n->param);
    }
    free(n->seg);
}

void rz__router_free(rz_router_t *r)
{
    if (!r)
        return;
    node_free(&r->root);
    for (size_t i = 0; i < r->n; i++) {
        rz_route_entry_t *e = r->all[i];
        free(e->pattern);
        free(e->summary);
        for (int k = 0; k < e->nparams; k++)
            free(e->param_names[k]);
        free(e);
    }
    free(r->all);
    free(r);
}

static int valid_segment_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           strchr("-._~!$&'()*+,;=:@", c) != NULL;
}

static node_t *child_literal(node_t *n, const char *seg, size_t len, int create)
{
    for (size_t i = 0; i < n->nkids; i++)
        if (strlen(n->kids[i]->seg) == len && memcmp(n->kids[i]->seg, seg, len) == 0)
            return n->kids[i];
    if (!create)
        return NULL;
    node_t **kids = realloc(n->kids, (n->nkids + 1) * sizeof(*kids));
    if (!kids)
        return NULL;
    n->kids = kids;
    node_t *k = calloc(1, sizeof(*k));
    if (!k || !(k->seg = strndup(seg, len))) {
        free(k);
        return NULL;
    }
    n->kids[n->nkids++] = k;
    return k;
}

int rz__router_add(rz_router_t *r, const char *method, const char *pattern, int access,
                   rz_handler_fn handler, void *udata, rz_plugin_t *owner, const char *summary,
                   char *err, size_t errlen)
{
    int mi = method ? method_index(method, strlen(method)) : -1;
    if (mi < 0) {
        snprintf(err, errlen, "unknown method '%s'", method ? method : "(null)");
        return RZ_EINVAL;
    }
    if (!pattern || pattern[0] != '/' || strlen(pattern) > 512) {
        snprintf(err, errlen, "path '%s' must start with '/' (at most 512 bytes)",
                 pattern ? pattern : "(null)");
        return RZ_EINVAL;
    }
    if (!handler) {
        snprintf(err, errlen, "route %s %s has no handler", method, pattern);
        return RZ_EINVAL;
    }
    rz_route_entry_t *e = calloc(1, sizeof(*e));
    if (!e)
        return RZ_ENOMEM;
    node_t *n = &r->root;
    const char *p = pattern + 1;
    while (*p) {
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == 0) {
            snprintf(err, errlen, "path '%s' has an empty segment", pattern);
            goto invalid;
        }
        if (p[0] == '{') {
            if (len < 3 || p[len - 1] != '}') {
                snprintf(err, errlen, "path '%s': a parameter is written {name}", pattern);
                goto invalid;
            }
            if (e->nparams == RZ_ROUTE_MAX_PARAMS) {
                snprintf(err, errlen, "path '%s' has more than %d parameters", pattern,
                         RZ_ROUTE_MAX_PARAMS);
                goto invalid;
            }
            for (size_t i = 1; i < len - 1; i++)
                if (!(p[i] == '_' || (p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9'))) {
                    snprintf(err, errlen, "path '%s': parameter names are [a-z0-9_]", pattern);
                    goto invalid;
                }
            if (!(e->param_names[e->nparams++] = strndup(p + 1, len - 2)))
                goto nomem;
            if (!n->param && !(n->param = calloc(1, sizeof(node_t))))
                goto nomem;
            n = n->param;
        } else {
            for (size_t i = 0; i < len; i++)
                if (!valid_segment_char(p[i])) {
                    snprintf(err, errlen, "path '%s' has an invalid character '%c'", pattern, p[i]);
                    goto invalid;
                }
            if (!(n = child_literal(n, p, len, 1)))
                goto nomem;
        }
        p += len;
        if (*p == '/')
            p++;
    }
    if (n->routes[mi]) {
        const rz_route_entry_t *o = n->routes[mi];
        snprintf(err, errlen, "duplicate route %s %s: already registered as %s by %s", method,
                 pattern, o->pattern, rz__plugin_name(o->owner));
        for (int k = 0; k < e->nparams; k++)
            free(e->param_names[k]);
        free(e);
        return RZ_EEXIST;
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 32;
        rz_route_entry_t **all = realloc(r->all, cap * sizeof(*all));
        if (!all)
            goto nomem;
        r->all = all;
        r->cap = cap;
    }
    memcpy(e->method, method_names[mi], strlen(method_names[mi]) + 1);
    e->pattern = strdup(pattern);
    e->summary = summary ? strdup(summary) : NULL;
    if (!e->pattern || (summary && !e->summary))
        goto nomem;
    e->access = access;
    e->handler = handler;
    e->udata = udata;
    e->owner = owner;
    e->index = (int)r->n;
    n->routes[mi] = e;
    r->all[r->n++] = e;
    return RZ_OK;
nomem:
    snprintf(err, errlen, "out of memory");
    for (int k = 0; k < e->nparams; k++)
        free(e->param_names[k]);
    free(e->pattern);
    free(e->summary);
    free(e);
    return RZ_ENOMEM;
invalid:
    for (int k = 0; k < e->nparams; k++)
        free(e->param_names[k]);
    free(e);
    return RZ_EINVAL;
}

/* Depth-first: literal child first, then the parameter child. */
static const node_t *walk(const node_t *n, const char *path, size_t pos, size_t len,
                          rz_match_t *m, int depth)
{
    if (pos >= len) {
        for (int i = 0; i < METHODS; i++)
            if (n->routes[i])
                return n;
        return NULL;
    }
    if (path[pos] != '/' || depth > 64)
        return NULL;
    pos++;
    size_t end = pos;
    while (end < len && path[end] != '/')
        end++;
    size_t seglen = end - pos;
    if (seglen == 0) /* "//" or a trailing "/" never match */
        return NULL;
    for (size_t i = 0; i < n->nkids; i++) {
        const node_t *k = n->kids[i];
        if (strlen(k->seg) == seglen && memcmp(k->seg, path + pos, seglen) == 0) {
            const node_t *found = walk(k, path, end, len, m, depth + 1);
            if (found)
                return found;
        }
    }
    if (n->param && m->nparams < RZ_ROUTE_MAX_PARAMS) {
        int slot = m->nparams++;
        m->params[slot].off = pos;
        m->params[slot].len = seglen;
        const node_t *found = walk(n->param, path, end, len, m, depth + 1);
        if (found)
            return found;
        m->nparams--;
    }
    return NULL;
}

int rz__router_match(const rz_router_t *r, const char *method, const char *path, size_t len,
                     rz_match_t *m)
{
    memset(m, 0, sizeof(*m));
    if (len == 0 || path[0] != '/')
        return 404;
    const node_t *n = walk(&r->root, path, len == 1 ? 1 : 0, len, m, 0);
    if (!n)
        return 404;
    int mi = method_index(method, strlen(method));
    if (mi >= 0 && n->routes[mi]) {
        m->route = n->routes[mi];
        return 200;
    }
    if (mi == 1 && n->routes[0]) { /* HEAD falls back to GET */
        m->route = n->routes[0];
        return 200;
    }
    size_t off = 0;
    for (int i = 0; i < METHODS; i++) {
        if (!n->routes[i])
            continue;
        int w = snprintf(m->allow + off, sizeof(m->allow) - off, "%s%s", off ? ", " : "",
                         method_names[i]);
        if (w < 0 || (size_t)w >= sizeof(m->allow) - off)
            break;
        off += (size_t)w;
    }
    return 405;
}

int rz__router_set_max_body(rz_router_t *r, size_t i, uint64_t max_body)
{
    if (i >= r->n)
        return RZ_ENOTFOUND;
    r->all[i]->max_body = max_body;
    return 0;
}

size_t rz__router_count(const rz_router_t *r) { return r->n; }
const rz_route_entry_t *rz__router_at(const rz_router_t *r, size_t i)
{
    return i < r->n ? r->all[i] : NULL;
}
