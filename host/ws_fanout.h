/*
 * ws_fanout.h — how a message for a user reaches the other workers and pods.
 *
 * The transport today is PostgreSQL LISTEN/NOTIFY on the channel
 * "rentezy_ws": one dedicated non-blocking libpq connection per worker,
 * notifications batched into one statement per round trip.  It is behind
 * this interface so it can become the event bus's broadcast mode (issue 4)
 * without ws.c noticing.
 *
 * Delivery is at most once and best effort: a message published while a
 * link is down is lost for that process (WebSocket pushes are hints; the
 * client re-reads state over REST after a reconnect).
 */
#ifndef RZ_WS_FANOUT_H
#define RZ_WS_FANOUT_H

#include <stddef.h>

struct event_base;
struct evbuffer;

/* NOTIFY payloads are limited to 8000 bytes; ours is "user\n" + message. */
#define RZ_WS_FANOUT_MAX 7168

/* Called on the loop thread for every message another process published;
 * user and text are NUL-terminated and valid during the call. */
typedef void (*rz_ws_fanout_fn)(const char *user, const char *text, size_t len);

/* Start on base with the database at url (connects in the background,
 * reconnects with backoff).  0, or -1 (out of memory). */
int rz__ws_fanout_start(struct event_base *base, const char *url, rz_ws_fanout_fn deliver);
/* Queue a message for every other process.  0; RZ_EINVAL (too big, or user
 * contains a newline); RZ_EUNAVAIL (not started, link down, or too much is
 * queued); RZ_ENOMEM. */
int rz__ws_fanout_publish(const char *user, const char *text, size_t len);
/* 1 when the link is up and listening. */
int rz__ws_fanout_up(void);
void rz__ws_fanout_stop(void);
/* Prometheus text for this worker's link. */
void rz__ws_fanout_metrics(struct evbuffer *out, int worker);

#endif
