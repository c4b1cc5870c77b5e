/*
 * visit.h — what the files of the visit plugin share.  Not part of the SDK.
 *
 * plugin.c   descriptor, migrations, routes, subscription, jobs
 * util.c     answers for failures, UUIDs, RFC 3339 times, the retrying query
 * slots.c    POST/GET /v1/properties/{id}/slots
 * visits.c   request a slot, confirm, decline, cancel, read, list
 * events.c   property-events (who owns which listing), reminder jobs
 *
 * As in booking, the rules are SQL functions (schema/001_visit.sql), one
 * statement per request: the write, the event on visit-events and the
 * reminder jobs commit together.  A slot never goes to two tenants: a
 * unique index allows one live visit per slot.
 *
 * Ownership: per-request state in host->req_alloc memory; per-event and
 * per-job state malloc'd and freed right after bus_done / job_done.
 */
#ifndef VISIT_H
#define VISIT_H

#include <rentezy/plugin.h>

#include <stddef.h>
#include <stdint.h>

#define VS_HIDDEN __attribute__((visibility("hidden")))

#define UUID_LEN 36
#define VS_MAXP 8

typedef struct vs {
    const rz_host_t *host; /* valid until destroy */
    rz_plugin_t *self;
} vs_t;

extern vs_t vs_g VS_HIDDEN;
#define H (vs_g.host)

/* ---- util.c (as booking's: see plugins/booking/booking.h) ---------------------- */
typedef struct vs_sql {
    const char *sql;
    int n;
    const char *p[VS_MAXP];
    unsigned flags;
    rz_db_cb cb;
    void *udata;
    int runs;
} vs_sql_t;
/* One statement, retried on 40001/40P01; cb runs once unless this fails. */
VS_HIDDEN int vs_sql_run(vs_sql_t *q);
VS_HIDDEN int vs_db_failed(rz_req_t *req, rz_dbres_t *res, const char *what);
VS_HIDDEN void vs_call_failed(rz_req_t *req, int rc, const char *what);
VS_HIDDEN void vs_reply_text(rz_req_t *req, int status, const char *json);
VS_HIDDEN void *vs_alloc(rz_req_t *req, size_t n);
VS_HIDDEN int vs_is_uuid(const char *s);
VS_HIDDEN void vs_uuid(char out[UUID_LEN + 1]);
VS_HIDDEN int vs_date(const char *s, int64_t *days);
/* "YYYY-MM-DDTHH:MM:SSZ" (UTC) into milliseconds since the epoch.  0 or -1. */
VS_HIDDEN int vs_time(const char *s, int64_t *ms);
VS_HIDDEN void vs_i64(int64_t v, char out[24]);
VS_HIDDEN const char *vs_caller(rz_req_t *req);
VS_HIDDEN const char *vs_traceparent(rz_req_t *req);
VS_HIDDEN cJSON *vs_body(rz_req_t *req, const char *const *allowed);

/* ---- handlers ----------------------------------------------------------------- */
VS_HIDDEN void h_slot_add(rz_req_t *req, void *u);
VS_HIDDEN void h_slot_list(rz_req_t *req, void *u);
VS_HIDDEN void h_visit_request(rz_req_t *req, void *u);
VS_HIDDEN void h_visit_get(rz_req_t *req, void *u);
VS_HIDDEN void h_visit_list(rz_req_t *req, void *u);
VS_HIDDEN void h_visit_confirm(rz_req_t *req, void *u);
VS_HIDDEN void h_visit_decline(rz_req_t *req, void *u);
VS_HIDDEN void h_visit_cancel(rz_req_t *req, void *u);
VS_HIDDEN void on_property_event(rz_event_t *ev, void *u);
VS_HIDDEN void job_remind(rz_job_t *job, void *u);

#endif
