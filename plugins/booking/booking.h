/*
 * booking.h — what the files of the booking plugin share.  Not part of the SDK.
 *
 * plugin.c     descriptor, configuration, migrations, routes, subscriptions, jobs
 * create.c     POST /v1/bookings
 * read.c       GET /v1/bookings, GET /v1/bookings/{id}
 * change.c     accept, decline, cancel
 * calendar.c   GET /v1/properties/{id}/calendar.ics
 * consume.c    property-events (the listing read model), payment-events
 * jobs.c       hold expiry and stay completion
 *
 * The rules live in the schema's SQL functions (schema/001_booking.sql,
 * replaced where needed by schema/002_reasons_fast_create.sql):
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

#define BK_MAX_NIGHTS 365
#define BK_MAX_AHEAD_DAYS 730
#define BK_MAX_GUESTS 100
#define BK_MAX_REASON 500 /* characters of a cancellation's or decline's reason */

typedef struct bk {
    const rz_host_t *host; /* valid until destroy */
    rz_plugin_t *self;
    int64_t hold_ms;       /* [plugin.booking] hold_minutes */
    int64_t request_ms;    /* [plugin.booking] request_hours */
} bk_t;

extern bk_t bk_g BK_HIDDEN;
#define H (bk_g.host)

/* Shared helpers (rzu_sql_run, rzu_db_failed, rzu_date, ...): plugins/common. */
#include "rzu.h"

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
