/*
 * rzu.h — helpers shared by the domain plugins (compiled into each .so,
 * hidden).  Call rzu_init(host, self) in the plugin's init before anything
 * else here.  Request memory comes from the request; nothing here frees.
 */
#ifndef RZU_H
#define RZU_H

#include <stdint.h>

#include <rentezy/plugin.h>

#define RZU_HIDDEN __attribute__((visibility("hidden")))
#define UUID_LEN 36
#define RZU_MAXP 10 /* parameters of one statement at most */

extern const rz_host_t *rzu_host RZU_HIDDEN;
extern rz_plugin_t *rzu_self RZU_HIDDEN;
RZU_HIDDEN void rzu_init(const rz_host_t *host, rz_plugin_t *self);

/* A statement that is sent again (up to five times) when PostgreSQL answers
 * a serialization failure or a deadlock (40001, 40P01).  The caller owns the
 * struct and keeps it (and the parameters) alive until cb. */
typedef struct rzu_sql {
    const char *sql;
    int n;
    const char *p[RZU_MAXP];
    unsigned flags;         /* RZ_DB_READONLY */
    rz_db_cb cb;
    void *udata;
    int runs;
} rzu_sql_t;
/* RZ_OK (cb will run) or the error of db_query (cb will not run). */
RZU_HIDDEN int rzu_sql_run(rzu_sql_t *q);

/* A failed result: 503 when unavailable or still conflicting, 500 otherwise
 * (logged).  1 when it answered, 0 when res is fine. */
RZU_HIDDEN int rzu_db_failed(rz_req_t *req, rz_dbres_t *res, const char *what);
/* A call that failed at once (no callback will come). */
RZU_HIDDEN void rzu_call_failed(rz_req_t *req, int rc, const char *what);
/* Reply status with JSON text (copied). */
RZU_HIDDEN void rzu_reply_text(rz_req_t *req, int status, const char *json);
/* Allocate n zeroed bytes of request memory, or answer 503 and return NULL. */
RZU_HIDDEN void *rzu_alloc(rz_req_t *req, size_t n);

RZU_HIDDEN int rzu_is_uuid(const char *s);
RZU_HIDDEN void rzu_uuid(char out[UUID_LEN + 1]);
/* YYYY-MM-DD, a real calendar date from 1970 to 9999; *days since
 * 1970-01-01.  0, or -1. */
RZU_HIDDEN int rzu_date(const char *s, int64_t *days);
/* The date of a day number into out[11]. */
RZU_HIDDEN void rzu_date_str(int64_t days, char out[11]);
/* "YYYY-MM-DDTHH:MM:SSZ" (UTC) into milliseconds since the epoch.  0 or -1. */
RZU_HIDDEN int rzu_time(const char *s, int64_t *ms);
/* A number as decimal text into out[24]. */
RZU_HIDDEN void rzu_i64(int64_t v, char out[24]);
/* The caller's id when it is a UUID (the auth plugin's subjects), else
 * answers 403 and returns NULL. */
RZU_HIDDEN const char *rzu_caller(rz_req_t *req);
/* The traceparent header when it has the W3C shape, else NULL. */
RZU_HIDDEN const char *rzu_traceparent(rz_req_t *req);
/* The body as a JSON object whose keys are all in allowed (NULL-terminated),
 * or NULL after answering 400. */
RZU_HIDDEN cJSON *rzu_body(rz_req_t *req, const char *const *allowed);

/* ---- rzu_page.c: ?limit= and ?cursor= of the lists (docs/api-conventions.md) ---- */
typedef struct rzu_page {
    int lim, has_cursor;
    char limit[8], cur_us[20], cur_id[UUID_LEN + 1];
} rzu_page_t;
/* ?limit= (20 by default, 1 to 100) and ?cursor= into *pg; -1 after answering 400. */
RZU_HIDDEN int rzu_page_args(rz_req_t *req, rzu_page_t *pg);
/* Answer 200 with a page from rows (document, cursor), at most lim + 1. */
RZU_HIDDEN void rzu_page_reply(rz_req_t *req, rz_dbres_t *res, const rzu_page_t *pg);

/* ---- rzu_reason.c ---- */
/* The optional "reason" of body (1 to max characters of UTF-8 text without
 * control characters) into *out, NULL when absent or null; -1 after
 * answering 400. */
RZU_HIDDEN int rzu_reason(rz_req_t *req, const cJSON *body, long max, const char **out);

#endif
