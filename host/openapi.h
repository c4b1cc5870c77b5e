/*
 * openapi.h — /openapi.json, assembled from the "paths" fragments plugins
 * register in init.  A route without documentation refuses the start.
 */
#ifndef RZ_OPENAPI_H
#define RZ_OPENAPI_H

#include <stddef.h>

#include "rentezy/plugin.h"

int rz__svc_openapi(rz_plugin_t *self, const char *paths_json);
/* The host's own modules document their routes here (any time before
 * rz__openapi_check). */
int rz__openapi_add(const char *who, const char *paths_json);
/* After every init: every route must be documented.  0 or -1 with err. */
int rz__openapi_check(char *err, size_t errlen);
void rz__openapi_route(rz_req_t *req, void *u);
void rz__openapi_free(void);

#endif
