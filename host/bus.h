/*
 * bus.h — the event bus (plugin.h "events"): a transactional outbox in
 * PostgreSQL, delivered by the `embedded` backend (consumers read the outbox
 * directly) or relayed to Kafka by the `kafka` backend.  See
 * docs/decisions/0004-event-bus.md for the why of every choice below.
 *
 * Publishing: SELECT rentezy.publish(topic, type, source, subject, version,
 * data, traceparent) inside the transaction of the state change.  The row
 * exists if and only if that transaction commits.
 *
 * Order and completeness: a consumer reads events ordered by (xid, seq) and
 * only those whose transaction id is below the xmin of its snapshot, so it
 * never passes an event whose transaction commits late.  rentezy.publish
 * keeps the xid order of one subject equal to its commit order (a row per
 * subject in rentezy.outbox_heads, see the migration), which is what makes
 * "in order per subject" hold.
 *
 * Subscriptions: shared groups split the partitions of a topic (16, by hash
 * of the subject) between their live members with leases; a broadcast
 * subscription is a group of its own per process instance
 * (group + ":" + instance id), removed when the instance has not been seen
 * for [bus] member_expiry.
 *
 * Handlers answer with bus_done: OK commits; RETRY redelivers after a
 * backoff, for as long as it takes; FAIL redelivers after a backoff until
 * [bus] max_attempts, then the event goes to the dead-letter store
 * (rentezy.bus_dead, and <topic>.dlq on Kafka) and later events flow.  An
 * event with data that is not JSON or a type that is not "domain.verb" goes
 * there at once, without reaching the handler.
 *
 * [bus] keys (defaults): backend (embedded), max_attempts (5),
 * backoff_base (200ms), backoff_max (30s), batch (256), poll_interval (1s),
 * lease (10s), retention (7d), compacted (property-events),
 * start_latest (none), member_expiry (1h), prune_interval (1m);
 * kafka: brokers, relay (true), relay_batch (1000), [bus.kafka] any
 * librdkafka property.
 */
#ifndef RZ_BUS_H
#define RZ_BUS_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "rentezy/plugin.h"

struct event_base;
struct evbuffer;

/* The host migrations of the bus: 5 (tables, functions) and 6 (a shorter
 * prune), after idempotency's 4. */
#define RZ_BUS_MIGRATION_VERSION 5
/* Partitions of a topic in the embedded backend; fixed by the migration. */
#define RZ_BUS_PARTITIONS 16

/* Master (and on SIGHUP): read [bus] and [bus.kafka], register the host
 * migration.  Must run after the migrations numbered below
 * RZ_BUS_MIGRATION_VERSION are registered (rz__idem_configure).  0, or -1
 * with one line in err naming file:line. */
int rz__bus_configure(const rz_config_t *cfg, char *err, size_t errlen);

/* Worker, after rz__db_worker_start: start consuming the subscriptions of
 * the plugins loaded here (and, with kafka, the relay).  Returns at once;
 * connections come up asynchronously.  0 or -1 (logged). */
int rz__bus_worker_start(struct event_base *base);
/* Worker, on SIGTERM: stop fetching; handlers running go on, their results
 * are committed, then this instance's partitions are released so another
 * member takes them over at once.  rz__bus_pending() tells when done. */
void rz__bus_worker_drain(void);
/* Events in handlers, commits and releases still in flight (0 = drained). */
int rz__bus_pending(void);
/* Worker, before rz__db_worker_stop: close everything.  Events whose
 * handler has not answered are abandoned (redelivered elsewhere); their
 * late bus_done only frees them. */
void rz__bus_worker_stop(void);

/* /readyz: consumers running (embedded: LISTEN connection up; kafka: a
 * broker reachable).  1, or 0 with *why. */
int rz__bus_ready_check(const char **why);
/* /metrics: this worker's bus figures as Prometheus text. */
void rz__bus_metrics(struct evbuffer *out, int worker);

/* `rentezyd bus status | replay | dlq ...`; argv[0] is "bus".  Blocking
 * libpq, configuration from rz__rt.cfg.  Exit status. */
int rz__bus_cli(int argc, char **argv);

/* A subscription of the host itself (no plugin; handler as bus_subscribe's),
 * made by the master before the workers start (ws_fanout.h).  Results as
 * rz__svc_bus_subscribe. */
int rz__bus_subscribe_host(const char *topic, const char *group, int mode, rz_bus_fn fn,
                           void *udata);

/* Forget every subscription (tests; a master re-running init). */
void rz__bus_reset(void);
/* This process's instance id ("host:pid:hex"), stable until exit. */
const char *rz__bus_instance(void);

/* ---- the service functions, exactly as plugin.h declares them ----------- */

/* source is self's name.  RZ_EINVAL for a bad topic, type, subject or data
 * that is not JSON; otherwise as db_query (cb, if any, gets the result whose
 * one value is the event id). */
int rz__svc_bus_publish(rz_plugin_t *self, const char *topic, const char *type,
                        const char *subject, int64_t version, const char *data_json, rz_db_cb cb,
                        void *udata);
/* init only (RZ_ESTATE otherwise).  topic [a-z][a-z0-9-]*, group
 * [a-z0-9_.-]{1,63}; RZ_EEXIST when self already subscribed group to topic. */
int rz__svc_bus_subscribe(rz_plugin_t *self, const char *topic, const char *group, int mode,
                          rz_bus_fn fn, void *udata);
const char *rz__svc_event_id(rz_event_t *ev);
const char *rz__svc_event_type(rz_event_t *ev);
const char *rz__svc_event_topic(rz_event_t *ev);
const char *rz__svc_event_source(rz_event_t *ev);
const char *rz__svc_event_subject(rz_event_t *ev);
int64_t rz__svc_event_version(rz_event_t *ev);
int64_t rz__svc_event_time_ms(rz_event_t *ev);
const char *rz__svc_event_data(rz_event_t *ev);
int rz__svc_event_attempt(rz_event_t *ev);
/* Exactly once per delivery; a second call is ignored and logged. */
void rz__svc_bus_done(rz_event_t *ev, int result, const char *error);

#endif
