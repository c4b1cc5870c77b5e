/*
 * visit.h — what the files of the visit plugin share.  Not part of the SDK.
 *
 * plugin.c   descriptor, migrations, routes, subscription, jobs
 * slots.c    POST/GET /v1/properties/{id}/slots
 * visits.c   request a slot, confirm, decline, cancel, read, list
 * events.c   property-events (who owns which listing), reminder jobs
 *
 * As in booking, the rules are SQL functions (schema/001_visit.sql,
 * replaced where needed by schema/002_reasons.sql), one
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
#define VS_MAX_REASON 500 /* characters of a decline's or cancellation's reason */

typedef struct vs {
    const rz_host_t *host; /* valid until destroy */
    rz_plugin_t *self;
} vs_t;

extern vs_t vs_g VS_HIDDEN;
#define H (vs_g.host)

/* Shared helpers (rzu_sql_run, rzu_db_failed, rzu_page_args, rzu_reason, ...):
 * plugins/common. */
#include "rzu.h"

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
