/*
 * wsecho — the WebSocket test plugin.  Channel "echo":
 *   {"ch":"echo", ...}                    -> the same object back
 *   {"ch":"echo","type":"whoami"}         -> {"ch":"echo","user":..,"role":..,"count":n}
 *                                            (n: messages on this connection, kept
 *                                            in the per-connection data slot)
 *   {"ch":"echo","type":"close","code":c,"reason":r} -> ws_close(c, r)
 *   {"ch":"echo","type":"flood","n":n,"size":s}      -> n messages of s bytes
 *   {"ch":"echo","type":"to_user","user":u,"text":t} -> ws_send_user(u, {"text":t})
 * On open it sends {"ch":"echo","type":"hello","user":...}.
 * Route POST /v1/_test/ws/push {"user":u,"text":t} calls ws_send_user, so a
 * test can push from a process where the user is not connected.
 */
#include <rentezy/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const rz_host_t *H;
static rz_plugin_t *SELF;

typedef struct conn_state {
    long count;
} conn_state_t;

static void on_open(rz_ws_t *ws, void *udata)
{
    conn_state_t *st = calloc(1, sizeof(*st));
    if (st)
        H->ws_set_data(ws, SELF, st);
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "type", "hello");
    cJSON_AddStringToObject(m, "user", H->ws_user(ws));
    H->ws_send(ws, "echo", m);
}

static void on_close(rz_ws_t *ws, void *udata)
{
    free(H->ws_get_data(ws, SELF));
    H->ws_set_data(ws, SELF, NULL);
}

static void on_message(rz_ws_t *ws, cJSON *msg, void *udata)
{
    conn_state_t *st = H->ws_get_data(ws, SELF);
    if (st)
        st->count++;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(msg, "type");
    const char *t = cJSON_IsString(type) ? type->valuestring : "";
    if (strcmp(t, "whoami") == 0) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "user", H->ws_user(ws));
        cJSON_AddStringToObject(m, "role", H->ws_role(ws) ? H->ws_role(ws) : "");
        cJSON_AddNumberToObject(m, "count", st ? (double)st->count : -1);
        H->ws_send(ws, "echo", m);
    } else if (strcmp(t, "close") == 0) {
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(msg, "code");
        const cJSON *reason = cJSON_GetObjectItemCaseSensitive(msg, "reason");
        H->ws_close(ws, cJSON_IsNumber(code) ? code->valueint : 1000,
                    cJSON_IsString(reason) ? reason->valuestring : "");
    } else if (strcmp(t, "flood") == 0) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(msg, "n");
        const cJSON *size = cJSON_GetObjectItemCaseSensitive(msg, "size");
        int count = cJSON_IsNumber(n) ? n->valueint : 1;
        int sz = cJSON_IsNumber(size) && size->valueint > 0 && size->valueint < (1 << 20)
                     ? size->valueint : 1000;
        char *blob = malloc((size_t)sz + 1);
        if (!blob)
            return;
        memset(blob, 'x', (size_t)sz);
        blob[sz] = '\0';
        for (int i = 0; i < count; i++) {
            cJSON *m = cJSON_CreateObject();
            cJSON_AddNumberToObject(m, "i", i);
            cJSON_AddStringToObject(m, "blob", blob);
            if (H->ws_send(ws, "echo", m) != RZ_OK)
                break; /* queue full: the host is closing the connection */
        }
        free(blob);
    } else if (strcmp(t, "to_user") == 0) {
        const cJSON *user = cJSON_GetObjectItemCaseSensitive(msg, "user");
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(msg, "text");
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "text", cJSON_IsString(text) ? text->valuestring : "");
        int rc = H->ws_send_user(SELF, cJSON_IsString(user) ? user->valuestring : NULL, "echo", m);
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "type", "sent");
        cJSON_AddNumberToObject(r, "rc", rc);
        H->ws_send(ws, "echo", r);
    } else {
        H->ws_send(ws, "echo", cJSON_Duplicate(msg, 1));
    }
}

/* POST /v1/_test/ws/push {"user": "...", "text": "..."} */
static void push(rz_req_t *req, void *udata)
{
    cJSON *body = H->req_json(req);
    if (!body)
        return;
    const cJSON *user = cJSON_GetObjectItemCaseSensitive(body, "user");
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(body, "text");
    if (!cJSON_IsString(user) || !cJSON_IsString(text)) {
        H->reply_error(req, 400, "invalid", NULL, "user and text are required strings");
        return;
    }
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "text", text->valuestring);
    int rc = H->ws_send_user(SELF, user->valuestring, "echo", m);
    cJSON *out = cJSON_CreateObject();
    cJSON_AddNumberToObject(out, "rc", rc);
    H->reply_json(req, rc == RZ_OK ? 200 : rc == RZ_EINVAL ? 400 : 503, out);
}

static const char openapi[] =
    "{\"/v1/_test/ws/push\":{\"post\":{\"summary\":\"Push a message to a user (test plugin)\","
    "\"tags\":[\"test\"],\"responses\":{\"200\":{\"description\":\"queued\"}}}}}";

static int init(rz_plugin_t *self, const rz_host_t *host, void **state)
{
    H = host;
    SELF = self;
    if (host->size < offsetof(rz_host_t, ws_close) + sizeof(void *))
        return RZ_ERR; /* a host without WebSocket services */
    static const rz_channel_t ch = {.size = sizeof(rz_channel_t), .name = "echo",
                                    .on_open = on_open, .on_message = on_message,
                                    .on_close = on_close};
    static const rz_route_t r = {.size = sizeof(rz_route_t), .method = "POST",
                                 .path = "/v1/_test/ws/push", .handler = push};
    if (host->ws_channel(self, &ch) != RZ_OK || host->route(self, &r) != RZ_OK)
        return RZ_ERR;
    /* a second registration of the same name must be refused */
    if (host->ws_channel(self, &ch) != RZ_EEXIST)
        return RZ_ERR;
    return host->openapi(self, openapi);
}

static int start(rz_plugin_t *self, void *state)
{
    static const rz_channel_t late = {.size = sizeof(rz_channel_t), .name = "late"};
    /* registration after init must be refused */
    return H->ws_channel(self, &late) == RZ_ESTATE ? RZ_OK : RZ_ERR;
}

RZ_PLUGIN_DEFINE(.name = "wsecho", .version = "1.0.0",
                 .description = "WebSocket test plugin: echo channel and a push route",
                 .init = init, .start = start)
