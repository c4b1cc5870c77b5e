/*
 * ws.h — WebSocket connections of a worker: the GET /v1/ws handshake on the
 * HTTP port, RFC 6455 connections driven by the worker's loop, channels
 * registered by plugins, and delivery to a user on every worker and pod
 * (ws_fanout.h).  docs/decisions/0006-websocket.md explains the choices.
 *
 * Lifetime of an rz_ws_t (what plugins see): created by the handshake; every
 * channel's on_open runs; messages go to the named channel's on_message;
 * when the connection stops being open (either side closes, a protocol
 * error, the token expires, the worker drains, the socket dies) every
 * channel's on_close runs exactly once.  The pointer stays valid until
 * on_close returns and must not be used after that.  After on_close,
 * ws_send answers RZ_ESTATE; the socket itself may linger a little longer to
 * finish the close handshake, invisible to plugins.
 *
 * Memory: a connection costs one struct (about 700 bytes) plus an output
 * evbuffer while it has something to send and a reassembly buffer while a
 * message arrives in pieces; idle connections hold no buffers.
 */
#ifndef RZ_WS_H
#define RZ_WS_H

#include <stddef.h>

#include "config.h"
#include "rentezy/plugin.h"

struct event_base;

/* Master (and on SIGHUP): read and validate [websocket].  0, or -1 with one
 * line in err naming file:line. */
int rz__ws_configure(const rz_config_t *cfg, char *err, size_t errlen);

/* Master, next to rz__http_host_routes (before plugins init): configure
 * from rz__rt.cfg, map the shared metrics, register GET /v1/ws (owner NULL,
 * public: the handshake authenticates by itself) with its OpenAPI
 * documentation, and add the /metrics source.  0 or -1 with err. */
int rz__ws_routes(char *err, size_t errlen);

/* Worker, after the plugins started: timers and the cross-process fan-out
 * (when [database] url is set).  0, or -1 when memory ran out. */
int rz__ws_worker_start(struct event_base *base);
/* Worker, on SIGTERM: refuse new upgrades and close every connection with
 * 1001.  Connections then finish their close handshakes (bounded by
 * close_timeout); rz__ws_connections() reaches 0 when they are gone. */
void rz__ws_drain(void);
/* Connections still holding a socket, lingering ones included. */
size_t rz__ws_connections(void);
/* Worker, before the plugins are destroyed: drop every connection now
 * (on_close runs for those still open), stop the fan-out, free everything. */
void rz__ws_worker_stop(void);

/* The service functions, exactly as plugin.h declares them. */

/* init only.  The channel is copied (up to channel->size bytes).  RZ_ESTATE
 * outside init, RZ_EINVAL (bad name or size), RZ_EEXIST (name taken). */
int rz__svc_ws_channel(rz_plugin_t *self, const rz_channel_t *channel);
/* Queue {"ch": channel, ...msg} to one connection.  Always takes msg (freed
 * on every path).  0; RZ_EINVAL (NULL argument, msg not an object);
 * RZ_ESTATE (the connection is closing); RZ_EUNAVAIL (its send queue is
 * over max_send_queue: the connection is being closed with 1008);
 * RZ_ENOMEM. */
int rz__svc_ws_send(rz_ws_t *ws, const char *channel, cJSON *msg);
/* Queue to every open connection of user_id in this worker, then publish to
 * the other workers and pods.  Always takes msg.  0; RZ_EINVAL (NULL
 * argument, not an object, or the encoded message is over 7 KiB, the limit
 * of the cross-process transport — send a reference the client fetches
 * instead); RZ_EUNAVAIL (local connections were served but other processes
 * could not be reached); RZ_ENOMEM. */
int rz__svc_ws_send_user(rz_plugin_t *self, const char *user_id, const char *channel,
                         cJSON *msg);
const char *rz__svc_ws_user(rz_ws_t *ws);
const char *rz__svc_ws_role(rz_ws_t *ws);
void *rz__svc_ws_get_data(rz_ws_t *ws, rz_plugin_t *self);
void rz__svc_ws_set_data(rz_ws_t *ws, rz_plugin_t *self, void *data);
/* Start the close handshake with code (1000, 1001, 1008, 1011, 3000-4999;
 * anything else becomes 1000) and reason (cut to 123 bytes).  on_close runs
 * before this returns.  No effect on a connection already closing. */
void rz__svc_ws_close(rz_ws_t *ws, int code, const char *reason);

#endif
