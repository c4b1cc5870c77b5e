/*
 * authz.c — the route access check.  Until a token verifier is configured
 * ([auth] in issue 5), only public routes can be reached: every other route
 * answers 401, which is the truthful answer when nobody can be identified.
 */
#include "authz.h"

#include "http.h"

int rz__authz_configure(const rz_config_t *cfg, char *err, size_t errlen) { return 0; }

int rz__authz_check(rz_req_t *req, const rz_route_entry_t *route)
{
    if (route->access == RZ_ACCESS_PUBLIC)
        return 0;
    rz__svc_resp_header(req, "WWW-Authenticate", "Bearer realm=\"rentezy\"");
    rz__svc_reply_error(req, 401, "unauthenticated", NULL, "a valid bearer token is required");
    return -1;
}
