/*
 * idempotency.h — Idempotency-Key support for POST and PATCH.
 *
 * The first response for a (user, key) is stored in rentezy.idempotency
 * (host migration 4) for [idempotency] ttl (24h):
 *   - the same key again with the same method, path and body (compared as
 *     SHA-256 of "METHOD\nPATH\nBODY") -> the stored status, Content-Type
 *     and body, unchanged, plus "Idempotent-Replayed: true";
 *   - the same key with another request                 -> 422;
 *   - the same key while the first request still runs   -> 409.
 * Only authenticated requests take part (an anonymous key could be guessed
 * and would replay someone else's response), and only when the database is
 * configured; otherwise the header is ignored.  5xx responses are not kept
 * (the row is deleted), so a retry after a failure runs again.  A row left
 * "running" by a worker that died is taken over after 5 minutes.
 *
 * Within one worker a replay that arrives while the first response is still
 * being written to the database waits for that write; across workers the
 * window is one database round trip, during which the replay gets 409.
 */
#ifndef RZ_IDEMPOTENCY_H
#define RZ_IDEMPOTENCY_H

#include <stddef.h>

#include "config.h"
#include "rentezy/plugin.h"
#include "router.h"

/* Master: read [idempotency] and register the host migration.  0 or -1. */
int rz__idem_configure(const rz_config_t *cfg, char *err, size_t errlen);
/* 0: no key (or not applicable), run the handler now.  -1: answered (400,
 * 409, 422, 503 or a replay), or the handler will be called once the key is
 * claimed in the database. */
int rz__idem_before(rz_req_t *req, const rz_route_entry_t *route);
/* Every reply passes here before it is written; keeps the response of a
 * request that claimed a key. */
void rz__idem_after(rz_req_t *req, int status, const char *content_type, const void *body,
                    size_t len);
/* Requests of this worker holding a key (for tests and draining). */
int rz__idem_pending(void);

/* Exposed for tests: hex SHA-256 of "METHOD\nPATH\nBODY" into out[65]. */
void rz__idem_request_hash(const char *method, const char *path, const void *body, size_t len,
                           char out[65]);
/* 1 when key is 1..255 printable ASCII characters. */
int rz__idem_key_ok(const char *key);

#endif
