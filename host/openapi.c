#include "openapi.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "host.h"
#include "http.h"
#include "log.h"
#include "version.h"

static cJSON *paths;        /* merged "paths" object, owned */
static char *rendered;      /* the whole document, built on first use */
static size_t rendered_len;

static const char host_paths[] =
    "{\"/healthz\":{\"get\":{\"summary\":\"Liveness\",\"tags\":[\"host\"],"
    "\"responses\":{\"200\":{\"description\":\"alive\"}}}},"
    "\"/readyz\":{\"get\":{\"summary\":\"Readiness: database reachable, plugins started\","
    "\"tags\":[\"host\"],\"responses\":{\"200\":{\"description\":\"ready\"},"
    "\"503\":{\"description\":\"not ready, with a reason\"}}}},"
    "\"/metrics\":{\"get\":{\"summary\":\"Prometheus metrics\",\"tags\":[\"host\"],"
    "\"responses\":{\"200\":{\"description\":\"text exposition format\"}}}},"
    "\"/openapi.json\":{\"get\":{\"summary\":\"This document\",\"tags\":[\"host\"],"
    "\"responses\":{\"200\":{\"description\":\"OpenAPI 3.0 document\"}}}},"
    "\"/v1/_test/clock\":{\"post\":{\"summary\":\"Move the host clock forward (test_clock only)\","
    "\"tags\":[\"host\"],\"responses\":{\"200\":{\"description\":\"new time\"}}}}}";

static int merge(const char *who, const char *json)
{
    cJSON *frag = cJSON_Parse(json);
    if (!cJSON_IsObject(frag)) {
        rz__log(RZ_LOG_ERROR, who, "OpenAPI fragment is not a JSON object of paths");
        cJSON_Delete(frag);
        return RZ_EINVAL;
    }
    if (!paths && !(paths = cJSON_CreateObject())) {
        cJSON_Delete(frag);
        return RZ_ENOMEM;
    }
    cJSON *path;
    while ((path = frag->child) != NULL) {
        cJSON_DetachItemViaPointer(frag, path);
        cJSON *have = cJSON_GetObjectItemCaseSensitive(paths, path->string);
        if (!have) {
            cJSON_AddItemToObject(paths, path->string, path);
            continue;
        }
        cJSON *op; /* same path from two fragments: merge the operations */
        while ((op = path->child) != NULL) {
            cJSON_DetachItemViaPointer(path, op);
            cJSON_DeleteItemFromObjectCaseSensitive(have, op->string);
            cJSON_AddItemToObject(have, op->string, op);
        }
        cJSON_Delete(path);
    }
    cJSON_Delete(frag);
    return RZ_OK;
}

int rz__openapi_add(const char *who, const char *paths_json)
{
    return paths_json ? merge(who, paths_json) : RZ_EINVAL;
}

int rz__svc_openapi(rz_plugin_t *self, const char *paths_json)
{
    if (!rz__rt.in_init) {
        rz__log(RZ_LOG_ERROR, rz__plugin_name(self), "openapi() is only allowed during init");
        return RZ_ESTATE;
    }
    if (!paths_json)
        return RZ_EINVAL;
    return merge(rz__plugin_name(self), paths_json);
}

int rz__openapi_check(char *err, size_t errlen)
{
    if (merge("host", host_paths) < 0) {
        snprintf(err, errlen, "the host's OpenAPI paths do not parse");
        return -1;
    }
    for (size_t i = 0; i < rz__router_count(rz__router); i++) {
        const rz_route_entry_t *e = rz__router_at(rz__router, i);
        char m[8];
        size_t k = 0;
        for (; e->method[k] && k < sizeof(m) - 1; k++)
            m[k] = (char)tolower((unsigned char)e->method[k]);
        m[k] = '\0';
        cJSON *p = cJSON_GetObjectItemCaseSensitive(paths, e->pattern);
        if (!p || !cJSON_GetObjectItemCaseSensitive(p, m)) {
            snprintf(err, errlen,
                     "plugin %s: route %s %s has no OpenAPI documentation "
                     "(register it with host->openapi() in init)",
                     rz__plugin_name(e->owner), e->method, e->pattern);
            return -1;
        }
    }
    return 0;
}

static int render(void)
{
    cJSON *doc = cJSON_CreateObject(), *info;
    if (!doc)
        return -1;
    cJSON_AddStringToObject(doc, "openapi", "3.0.3");
    info = cJSON_AddObjectToObject(doc, "info");
    cJSON_AddStringToObject(info, "title", "RentEzy API");
    cJSON_AddStringToObject(info, "version", RZ_VERSION);
    cJSON *comp = cJSON_AddObjectToObject(doc, "components");
    cJSON *schemes = cJSON_AddObjectToObject(comp, "securitySchemes");
    cJSON *bearer = cJSON_AddObjectToObject(schemes, "bearer");
    cJSON_AddStringToObject(bearer, "type", "http");
    cJSON_AddStringToObject(bearer, "scheme", "bearer");
    cJSON_AddStringToObject(bearer, "bearerFormat", "JWT");
    cJSON_AddItemReferenceToObject(doc, "paths", paths ? paths : cJSON_CreateObject());
    rendered = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    if (!rendered)
        return -1;
    rendered_len = strlen(rendered);
    return 0;
}

void rz__openapi_route(rz_req_t *req, void *u)
{
    if (!rendered && render() < 0) {
        rz__svc_reply_error(req, 503, "unavailable", NULL, "could not render the document");
        return;
    }
    rz__svc_reply(req, 200, "application/json", rendered, rendered_len);
}

void rz__openapi_free(void)
{
    cJSON_Delete(paths);
    paths = NULL;
    cJSON_free(rendered);
    rendered = NULL;
}
