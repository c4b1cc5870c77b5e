/*
 * booking.h — what the files of the booking plugin share.  Not part of the SDK.
 *
 * plugin.c     descriptor, configuration, migrations, routes, subscriptions, jobs
 * util.c       answers for failures, UUIDs, dates, the retrying query
 * create.c     POST /v1/bookings
 * read.c       GET /v1/bookings, GET /v1/bookings/{id}
 * change.c     accept, decline, cancel
 * calendar.c   GET /v1/properties/{id}/calendar.ics
 * consume.c    property-events (the listing read model), payment-events
 * jobs.c       hold expiry and stay completion
 *
 * The rules live in the schema's SQL functions (schema/001_booking.sql):
 * each request is one statement, one round trip, that does the write, the
 * outbox insert and the job insert together.  The C side checks the shape
 * of the input, passes the host clock, and maps outcomes to answers.
 *
 * Ownership: per-request state lives in host->req_alloc memory (freed with
 * the response); per-event and per-job state is malloc'd and freed right
 * after bus_done / job_done.  The reply is always the last thing a
 * callback does.
 */
#ifndef BOOKING_H
#define BOOKING_H

#include <rentezy/plugin.h>

#include <stddef.h>
#include <stdint.h>

#define BK_HIDDEN __attribute__((visibility("hidden")))

#define UUID_LEN 36
#define BK_MAXP 10          /* parameters of one statement at most */
#define BK_MAX_NIGHTS 365
#define BK_MAX_AHEAD_DAYS 730
#define BK_MAX_GUESTS 100

typedef struct bk {
    const rz_host_t *host; /* valid until destroy */
    rz_plugin_t *self;
    int64_t hold_ms;       /* [plugin.booking] hold_minutes */
    int64_t request_ms;    /* [plugin.booking] request_hours */
} bk_t;

extern bk_t bk_g BK_HIDDEN;
#define H (bk_g.host)

/* ---- util.c ------------------------------------------------------------------ */

/* One statement, retried (up to 5 runs) when PostgreSQL answers a
 * serialization failure or a deadlock (40001, 40P01): rentezy.publish
 * refuses a publisher that lost the race for a subject, and a new
 * transaction wins it.  cb runs once with the final result.  The caller
 * owns the struct and keeps it (and the parameters) alive until cb. */
typedef struct bk_sql {
    const char *sql;
    int n;
    const char *p[BK_MAXP];
    unsigned flags;         /* RZ_DB_READONLY */
    rz_db_cb cb;
    void *udata;
    int runs;
} bk_sql_t;
/* RZ_OK (cb will run) or the error of db_query (cb will not run). */
BK_HIDDEN int bk_sql_run(bk_sql_t *q);

/* A failed result: 503 when unavailable, 500 otherwise (logged).  1 when
 * it answered, 0 when res is fine. */
BK_HIDDEN int bk_db_failed(rz_req_t *req, rz_dbres_t *res, const char *what);
/* A call that failed at once (no callback will come). */
BK_HIDDEN void bk_call_failed(rz_req_t *req, int rc, const char *what);
/* Reply status with JSON text (copied). */
BK_HIDDEN void bk_reply_text(rz_req_t *req, int status, const char *json);
/* Allocate n zeroed bytes of request memory, or answer 503 and return NULL. */
BK_HIDDEN void *bk_alloc(rz_req_t *req, size_t n);

BK_HIDDEN int bk_is_uuid(const char *s);
BK_HIDDEN void bk_uuid(char out[UUID_LEN + 1]);
/* YYYY-MM-DD, a real calendar date from 1970 to 9999; *days since
 * 1970-01-01.  0, or -1. */
BK_HIDDEN int bk_date(const char *s, int64_t *days);
/* The date of a day number into out[11]. */
BK_HIDDEN void bk_date_str(int64_t days, char out[11]);
/* Milliseconds as decimal text into out[24]. */
BK_HIDDEN void bk_i64(int64_t v, char out[24]);
/* The caller's id when it is a UUID (the auth plugin's subjects), else
 * answers 403 and returns NULL. */
BK_HIDDEN const char *bk_caller(rz_req_t *req);
/* The traceparent header when it has the W3C shape, else NULL. */
BK_HIDDEN const char *bk_traceparent(rz_req_t *req);
/* The body as a JSON object whose keys are all in allowed (NULL-terminated),
 * or NULL after answering 400. */
BK_HIDDEN cJSON *bk_body(rz_req_t *req, const char *const *allowed);

/* ---- route handlers --------------------------------------------------------- */
BK_HIDDEN void h_create(rz_req_t *req, void *u);
BK_HIDDEN void h_get(rz_req_t *req, void *u);
BK_HIDDEN void h_list(rz_req_t *req, void *u);
BK_HIDDEN void h_accept(rz_req_t *req, void *u);
BK_HIDDEN void h_decline(rz_req_t *req, void *u);
BK_HIDDEN void h_cancel(rz_req_t *req, void *u);
BK_HIDDEN void h_calendar(rz_req_t *req, void *u);

/* ---- consume.c, jobs.c ------------------------------------------------------- */
BK_HIDDEN void on_property_event(rz_event_t *ev, void *u);
BK_HIDDEN void on_payment_event(rz_event_t *ev, void *u);
BK_HIDDEN void job_expire(rz_job_t *job, void *u);
BK_HIDDEN void job_complete(rz_job_t *job, void *u);

#endif
