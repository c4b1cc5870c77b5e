/*
 * ws_fanout.h — how a message for a user reaches the other workers and pods.
 *
 * The transport is the event bus (docs/decisions/0006-websocket.md): each
 * worker sends what piled up while its previous batch was in flight as ONE
 * event of the host topic "ws-push" (one outbox row, one NOTIFY), and every
 * worker of every pod reads that topic with a host-internal broadcast
 * subscription that starts at the latest event.  The same code therefore
 * crosses pods with the embedded backend (PostgreSQL) and with Kafka (the
 * relay copies the row; each instance has its own consumer group).  Rows of
 * "ws-push" older than a minute are deleted by the fan-out itself: pushes
 * are hints, not a durable queue.
 *
 * Delivery is at most once and best effort: a batch that cannot be written
 * is dropped (the client re-reads state over REST after a reconnect).
 */
#ifndef RZ_WS_FANOUT_H
#define RZ_WS_FANOUT_H

#include <stddef.h>

struct event_base;
struct evbuffer;

/* What plugin.h promises ws_send_user can carry (it was NOTIFY's 8000-byte
 * payload).  The bus could carry more; the promise stays until ABI 2. */
#define RZ_WS_FANOUT_MAX 7168

/* The host topic and the group of the broadcast subscription. */
#define RZ_WS_FANOUT_TOPIC "ws-push"
#define RZ_WS_FANOUT_GROUP "ws"

/* Called on the loop thread for every message another process published;
 * user and text are NUL-terminated and valid during the call. */
typedef void (*rz_ws_fanout_fn)(const char *user, const char *text, size_t len);

/* Master, before the workers start (next to the route): subscribe to the
 * host topic.  0, or -1 (out of memory). */
int rz__ws_fanout_register(void);
/* Worker, after rz__bus_worker_start.  0, or -1 (out of memory). */
int rz__ws_fanout_start(struct event_base *base, rz_ws_fanout_fn deliver);
/* Queue a message for every other process.  0; RZ_EINVAL (too big, or user
 * contains a control character); RZ_EUNAVAIL (not started, or too much is
 * queued); RZ_ENOMEM. */
int rz__ws_fanout_publish(const char *user, const char *text, size_t len);
/* 1 once this worker has seen one of its own batches come back through the
 * bus (so a push now reaches every process that is up) and the bus is ready. */
int rz__ws_fanout_up(void);
void rz__ws_fanout_stop(void);
/* Prometheus text for this worker's fan-out. */
void rz__ws_fanout_metrics(struct evbuffer *out, int worker);

#endif
