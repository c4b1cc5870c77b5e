/*
 * bus_int.h — what bus.c, bus_schema.c, bus_embedded.c, bus_kafka.c and
 * bus_cli.c share.  Not for other modules.
 */
#ifndef RZ_BUS_INT_H
#define RZ_BUS_INT_H

#include <stddef.h>
#include <stdint.h>

#include "bus.h"

struct event;

enum { RZ_BUS_EMBEDDED = 0, RZ_BUS_KAFKA };

typedef struct rz_bus_opts {
    int backend;
    int max_attempts;
    int64_t backoff_base_ms, backoff_max_ms;
    int batch;
    int64_t poll_interval_ms, lease_ms, retention_ms, member_expiry_ms, prune_interval_ms;
    char **compacted;    /* NULL-terminated, owned */
    char **start_latest; /* NULL-terminated, owned */
    /* kafka */
    char *brokers;       /* owned, may be NULL */
    int relay;
    int relay_batch;
    char **kprops;       /* key, value, key, value, ..., NULL; owned */
} rz_bus_opts_t;

extern rz_bus_opts_t rz__bus_opts;

/* One bus_subscribe. */
typedef struct rz_bus_sub {
    rz_plugin_t *plugin;
    char *topic, *group; /* owned */
    int mode;            /* enum rz_bus_mode */
    rz_bus_fn fn;
    void *udata;
    char *cgroup;        /* the consumer group: group, or group:instance; owned */
    int start_latest;
    void *be;            /* the backend's per-subscription state */
    /* figures */
    uint64_t delivered, ok, retried, failed, dead, skipped;
} rz_bus_sub_t;

extern rz_bus_sub_t *rz__bus_subs;
extern size_t rz__bus_nsubs;

/* How an event ends, reported to its backend. */
enum { RZ_BUS_SETTLE_OK = 0, RZ_BUS_SETTLE_DEAD, RZ_BUS_SETTLE_ABANDON };

/* A delivered event.  Allocated by the backend with rz__bus_event_new (one
 * block holding every string); owned by the backend, which frees it with
 * rz__bus_event_free after settle, or after a late bus_done when orphaned. */
struct rz_event {
    rz_bus_sub_t *sub;
    const char *id, *type, *topic, *source, *subject, *data, *traceparent, *xid;
    const char *target; /* group this event is meant for (dlq retry), or NULL */
    int64_t version, time_ms, seq;
    int attempt;         /* deliveries so far */
    int running;         /* in the handler, bus_done not yet called */
    int orphan;          /* the backend went away while the handler ran */
    int invalid;         /* envelope refused before the handler */
    int dead;            /* settled DEAD: goes to the dead letters */
    char *error;         /* last error, owned */
    struct event *backoff;
    /* The backend's: called once when the event is done with. */
    void (*settle)(rz_event_t *ev, int how, const char *why);
    void *owner;         /* backend's batch */
    int index;           /* backend's */
    int64_t kpartition, koffset; /* kafka */
    char blob[];
};

/* Build an event from its fields (each may be NULL = ""). */
rz_event_t *rz__bus_event_new(rz_bus_sub_t *sub, const char *id, const char *type,
                              const char *topic, const char *source, const char *subject,
                              const char *data, const char *traceparent, const char *xid,
                              const char *target);
void rz__bus_event_free(rz_event_t *ev);

/* Deliver ev (attempt + 1): checks the envelope first (an invalid one is
 * settled DEAD at once, with the reason), else calls the handler.  Retries
 * and backoff are handled here; the backend only sees settle(). */
void rz__bus_dispatch(rz_event_t *ev);
/* Stop ev's pending backoff, if any, and mark it orphaned when a handler
 * still holds it.  Returns 1 when the caller may free it now. */
int rz__bus_event_abandon(rz_event_t *ev);

/* "[a-z][a-z0-9_]*(.[a-z][a-z0-9_]*)+", at most 127 characters. */
int rz__bus_type_ok(const char *type);
/* "[a-z][a-z0-9]*(-[a-z0-9]+)*" (optionally ".dlq"), at most 100. */
int rz__bus_topic_ok(const char *topic, int allow_dlq);
int rz__bus_is_compacted(const char *topic);

/* The host migration (bus_schema.c). */
extern const char rz__bus_schema_sql[];    /* host migration 5 */
extern const char rz__bus_schema_v6_sql[]; /* host migration 6 */
extern const char rz__bus_schema_v7_sql[]; /* host migration 7 */

/* Backends. */
int rz__bus_embedded_start(struct event_base *base);
void rz__bus_embedded_drain(void);
int rz__bus_embedded_pending(void);
void rz__bus_embedded_stop(void);
int rz__bus_embedded_ready(const char **why);
void rz__bus_embedded_metrics(struct evbuffer *out, int worker);

int rz__bus_kafka_start(struct event_base *base);
void rz__bus_kafka_drain(void);
int rz__bus_kafka_pending(void);
void rz__bus_kafka_stop(void);
int rz__bus_kafka_ready(const char **why);
void rz__bus_kafka_metrics(struct evbuffer *out, int worker);

/* bus_kafka.c's producer, for the relay and dead letters: produce one
 * event, the envelope in headers (name, value, ..., NULL; NULL values
 * skipped).  what is RZ_BUS_KAFKA_RELAY(batch) or RZ_BUS_KAFKA_DEAD: it
 * comes back in the delivery report.  0 or -1 (logged). */
int rz__bus_kafka_produce(const char *topic, const char *key, const char *value,
                          const char *const *hdr, void *what);
#define RZ_BUS_KAFKA_RELAY(batch) ((void *)(((uintptr_t)(batch) << 2) | 1))
#define RZ_BUS_KAFKA_DEAD ((void *)(uintptr_t)2)

/* The relay (bus_relay.c), run by bus_kafka.c in worker 0 when [bus] relay
 * is true, once the producer exists. */
int rz__bus_relay_start(struct event_base *base);
void rz__bus_relay_tick(void);
/* The delivery report of a message produced for batch (ok: delivered). */
void rz__bus_relay_delivered(uintptr_t batch, int ok);
void rz__bus_relay_drain(void);
/* Batches awaiting reports and positions not yet committed (0 = idle). */
int rz__bus_relay_pending(void);
int rz__bus_relay_active(void);
void rz__bus_relay_stop(void);
void rz__bus_relay_metrics(struct evbuffer *out, int worker);

/* Shared by both backends: membership, stale group and retention
 * housekeeping (bus_embedded.c). */
void rz__bus_housekeeping(void);

/* A text[] literal of NULL-terminated items (malloc'd), or NULL. */
char *rz__bus_text_array(char *const *items);

#endif
