/*
 * router.h — method + path routing with {name} parameters.
 *
 * Routes form a trie of path segments.  A literal segment wins over a
 * parameter at the same depth ("/v1/properties/mine" before
 * "/v1/properties/{id}"), with backtracking when the literal branch dead-ends.
 */
#ifndef RZ_ROUTER_H
#define RZ_ROUTER_H

#include <stddef.h>
#include <stdint.h>

#include "rentezy/plugin.h"

#define RZ_ROUTE_MAX_PARAMS 8

typedef struct rz_route_entry {
    char method[8];
    char *pattern;        /* owned */
    char *summary;        /* owned, may be NULL */
    int access;           /* enum rz_access */
    rz_handler_fn handler;
    void *udata;
    rz_plugin_t *owner;   /* NULL for the host's own routes */
    int index;            /* dense 0..n-1, for per-route metrics */
    uint64_t max_body;    /* the route's body limit; 0 = [http] max_body_size */
    int nparams;
    char *param_names[RZ_ROUTE_MAX_PARAMS]; /* owned */
} rz_route_entry_t;

typedef struct rz_router rz_router_t;

typedef struct rz_match {
    const rz_route_entry_t *route;
    int nparams;
    struct { size_t off, len; } params[RZ_ROUTE_MAX_PARAMS]; /* into the path */
    char allow[64];       /* for 405: "GET, POST" */
} rz_match_t;

rz_router_t *rz__router_new(void);
void rz__router_free(rz_router_t *r);

/* Add a route; the router copies what it needs.  Returns 0, RZ_EEXIST (same
 * method and shape already registered; err names its owner) or RZ_EINVAL
 * (bad method or pattern; err says why). */
int rz__router_add(rz_router_t *r, const char *method, const char *pattern, int access,
                   rz_handler_fn handler, void *udata, rz_plugin_t *owner, const char *summary,
                   char *err, size_t errlen);

/* Set the body limit of the route with index i (a new route has index
 * rz__router_count() - 1).  0 or RZ_ENOTFOUND. */
int rz__router_set_max_body(rz_router_t *r, size_t i, uint64_t max_body);

/* Match path (no query string, not decoded) of length len.  Returns 200 with
 * m->route set, 404, or 405 with m->allow filled. */
int rz__router_match(const rz_router_t *r, const char *method, const char *path, size_t len,
                     rz_match_t *m);

size_t rz__router_count(const rz_router_t *r);
const rz_route_entry_t *rz__router_at(const rz_router_t *r, size_t i);

#endif
