/*
 * gateway.h — the API gateway's duties, once for every plugin: security
 * headers, CORS, rate limits (ratelimit.h) and Idempotency-Key
 * (idempotency.h).  http.c calls three hooks from dispatch and reply:
 *
 *   dispatch(req):
 *       if (rz__gateway_early(req) < 0) return;          before routing
 *       ... route match, path parameters ...
 *       if (rz__authz_check(req, route) < 0) return;
 *       if (rz__gateway_before(req, route) < 0) return;   may call the handler later
 *       route->handler(req, route->udata);
 *   rz__svc_reply(req, status, ...), before the response is written:
 *       rz__gateway_after(req, status, content_type, body, len);
 *
 * CORS ([http] cors_origins, cors_max_age): a request whose Origin is in
 * the allow-list gets Access-Control-Allow-Origin: <origin>; every response
 * carries Vary: Origin when an allow-list is set.  A preflight (OPTIONS with
 * Origin and Access-Control-Request-Method) is answered 204 here with the
 * allowed methods and headers, or 403 when the origin is not allowed, or
 * 404 when no route has that path.  "*" in the list allows every origin
 * (bearer tokens, not cookies, so no credentials mode is ever offered).
 */
#ifndef RZ_GATEWAY_H
#define RZ_GATEWAY_H

#include <stddef.h>

#include "config.h"
#include "rentezy/plugin.h"
#include "router.h"

/* Master (from rz__authz_configure): [http] cors_*, [ratelimit],
 * [idempotency].  0 or -1 with err naming file:line. */
int rz__gateway_configure(const rz_config_t *cfg, char *err, size_t errlen);

/* Before routing: adds the security and CORS headers to req and answers a
 * CORS preflight.  0 to go on, -1 when req has been answered. */
int rz__gateway_early(rz_req_t *req);

/* After the access check: rate limit (429 + Retry-After), then
 * Idempotency-Key.  0: call the handler now.  -1: req was answered, or the
 * gateway calls route->handler itself once the key is claimed. */
int rz__gateway_before(rz_req_t *req, const rz_route_entry_t *route);

/* Every reply, before it is written (req->replied still 0). */
void rz__gateway_after(rz_req_t *req, int status, const char *content_type, const void *body,
                       size_t len);

/* Free what the gateway holds (tests, clean exits). */
void rz__gateway_shutdown(void);

#endif
