/*
 * authz.h — the access check the host runs before every handler: who is
 * calling (a bearer token, verified by the host: jwtcheck.h) and whether the
 * route lets them in.
 *
 *   public   -> always runs; a valid token still sets the identity
 *   user     -> 401 without a valid token
 *   tenant, landlord, admin -> 401 without a valid token, 403 for another role
 *
 * 401s carry WWW-Authenticate: Bearer realm="rentezy"[, error="invalid_token",
 * error_description="<why>"] (RFC 6750 3).
 */
#ifndef RZ_AUTHZ_H
#define RZ_AUTHZ_H

#include "config.h"
#include "router.h"

#include <stdint.h>

typedef struct rz_identity {
    char user[64];    /* the token's subject: the user id */
    char role[16];    /* tenant, landlord or admin */
    int64_t exp_ms;   /* when the token expires */
} rz_identity_t;

/* Verify a bearer token (without "Bearer ").  0 with id filled, or -1 with
 * *why set to a static reason ("expired", "bad signature", ...).  Used by
 * the HTTP check and by the WebSocket handshake. */
int rz__authz_verify(const char *token, rz_identity_t *id, const char **why);

/* Master: read the token settings ([auth]) and the gateway's ([http] cors_*,
 * [ratelimit], [idempotency]: gateway.h).  On failure nothing changes, so a
 * bad SIGHUP keeps the running settings.  0 or -1 with err naming file:line.
 * An [auth] section without algorithm or key leaves only public routes. */
int rz__authz_configure(const rz_config_t *cfg, char *err, size_t errlen);
/* Free the verifier (tests, clean exits). */
void rz__authz_shutdown(void);
/* 0 when the handler may run (identity set on req when a valid token came);
 * -1 when the request has been answered (401 or 403). */
int rz__authz_check(rz_req_t *req, const rz_route_entry_t *route);

#endif
