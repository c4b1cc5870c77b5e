/*
 * http.h — the HTTP/1.1 server of a worker: listeners, connections, request
 * dispatch through the router, and the request/response services plugins
 * use.  Our own parser (http_parse.c) instead of evhttp, so every limit
 * answers a JSON error with its proper status (413, 414, 431, 408) and a
 * connection can be handed to the WebSocket layer (docs/decisions/0002).
 */
#ifndef RZ_HTTP_H
#define RZ_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "rentezy/plugin.h"
#include "router.h"

struct event_base;

/* The router every worker dispatches through (routes from init). */
extern rz_router_t *rz__router;

/* Master: read [http] and [host] listen; validate.  0 or -1 with err. */
int rz__http_configure(const rz_config_t *cfg, char *err, size_t errlen);
/* Master: bind (without listening) every address with SO_REUSEPORT, so a
 * busy port fails the start at once and stays ours between workers. */
int rz__http_reserve(char *err, size_t errlen);
/* Worker: create the listening sockets on base. */
int rz__http_start(struct event_base *base, char *err, size_t errlen);
/* Worker, on SIGTERM: close the listeners, close idle connections, answer
 * the rest with "Connection: close". */
void rz__http_drain(void);
/* Open connections (0 means drained). */
size_t rz__http_connections(void);
/* Close every connection now (end of the shutdown timeout). */
void rz__http_close_all(void);

/* Register the host's own routes (/healthz, /readyz, /metrics, ...). */
int rz__http_host_routes(char *err, size_t errlen);

/* Readiness checks beyond the host's own, set by other modules. */
typedef int (*rz_ready_fn)(const char **why);
void rz__http_add_readiness(rz_ready_fn fn);
/* Extra /metrics text from other modules (database, jobs, bus). */
struct evbuffer;
typedef void (*rz_metrics_fn)(struct evbuffer *out, int worker);
void rz__http_add_metrics(rz_metrics_fn fn);

/* Request services (the rz_host_t entries). */
const char *rz__svc_req_method(rz_req_t *req);
const char *rz__svc_req_path(rz_req_t *req);
const char *rz__svc_req_param(rz_req_t *req, const char *name);
const char *rz__svc_req_query(rz_req_t *req, const char *name);
const char *rz__svc_req_header(rz_req_t *req, const char *name);
const char *rz__svc_req_query_string(rz_req_t *req);
const void *rz__svc_req_body(rz_req_t *req, size_t *len);
cJSON *rz__svc_req_json(rz_req_t *req);
const char *rz__svc_req_id(rz_req_t *req);
const char *rz__svc_req_user(rz_req_t *req);
const char *rz__svc_req_role(rz_req_t *req);
void *rz__svc_req_alloc(rz_req_t *req, size_t n);
int rz__svc_resp_header(rz_req_t *req, const char *name, const char *value);
void rz__svc_reply(rz_req_t *req, int status, const char *content_type, const void *body,
                   size_t len);
void rz__svc_reply_json(rz_req_t *req, int status, cJSON *body);
void rz__svc_reply_error(rz_req_t *req, int status, const char *code, const char *field,
                         const char *fmt, ...) RZ_PRINTF(5, 6);
void rz__reply_errorv(rz_req_t *req, int status, const char *code, const char *field,
                      const char *fmt, va_list ap);

/* For the auth layer: set the caller's identity (copied into the request). */
void rz__req_set_identity(rz_req_t *req, const char *user, const char *role);
/* The client's address as text. */
const char *rz__req_peer(rz_req_t *req);

const char *rz__http_reason(int status);

/* Take req's connection away from HTTP (a WebSocket upgrade).  The caller
 * then owns *fd and the *extra_len bytes already read after the request
 * (*extra is malloc'd, the caller frees it).  req is finished without a
 * response (logged as 101).  0, or -1 when the client is already gone. */
int rz__http_takeover(rz_req_t *req, int *fd, char **extra, size_t *extra_len);


#endif
