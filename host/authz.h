/*
 * authz.h — the access check the host runs before every handler: who is
 * calling (a bearer token, verified by the host) and whether the route lets
 * them in.
 */
#ifndef RZ_AUTHZ_H
#define RZ_AUTHZ_H

#include "config.h"
#include "router.h"

/* Master: read the token settings ([auth]).  0 or -1 with err. */
int rz__authz_configure(const rz_config_t *cfg, char *err, size_t errlen);
/* 0 when the handler may run (identity set on req when a valid token came);
 * -1 when the request has been answered (401 or 403). */
int rz__authz_check(rz_req_t *req, const rz_route_entry_t *route);

#endif
