/*
 * events.c — property-events (shared group "visit": who owns which
 * listing and whether it is published, applied by version) and the
 * reminder job {"visit_id", "before": "24h" | "1h"}, which publishes
 * visit.reminder once while the visit is confirmed.
 */
#include "visit.h"

#include <stdlib.h>
#include <string.h>

typedef struct task {
    rz_event_t *ev; /* or */
    rz_job_t *job;
    rzu_sql_t q;
    char id[UUID_LEN + 1], version[24], now[24], before[8];
} task_t;

static void done(rz_dbres_t *res, void *u)
{
    task_t *t = u;
    int st = H->dbres_status(res);
    const char *err = st == RZ_EUNAVAIL ? "the database is unavailable" : H->dbres_message(res);
    if (t->ev)
        H->bus_done(t->ev, st == RZ_OK ? RZ_BUS_OK : st == RZ_EUNAVAIL ? RZ_BUS_RETRY : RZ_BUS_FAIL,
                    st == RZ_OK ? NULL : err);
    else
        H->job_done(t->job, st == RZ_OK ? RZ_JOB_DONE : RZ_JOB_RETRY, st == RZ_OK ? NULL : err);
    free(t);
}

static void run(task_t *t)
{
    if (rzu_sql_run(&t->q) == RZ_OK)
        return;
    if (t->ev)
        H->bus_done(t->ev, RZ_BUS_RETRY, "the database is unavailable");
    else
        H->job_done(t->job, RZ_JOB_RETRY, "the database is unavailable");
    free(t);
}

void on_property_event(rz_event_t *ev, void *u)
{
    const char *subject = H->event_subject(ev), *data = H->event_data(ev);
    task_t *t;
    if (!rzu_is_uuid(subject) || !data) {
        H->bus_done(ev, RZ_BUS_FAIL, "property event without a listing id or data");
        return;
    }
    if (!(t = calloc(1, sizeof(*t)))) {
        H->bus_done(ev, RZ_BUS_RETRY, "out of memory");
        return;
    }
    t->ev = ev;
    memcpy(t->id, subject, UUID_LEN + 1);
    rzu_i64(H->event_version(ev), t->version);
    t->q = (rzu_sql_t){.sql = "SELECT visit.apply_listing($1::uuid, $2::bigint, $3::jsonb)",
                      .n = 3, .p = {t->id, t->version, data}, .cb = done, .udata = t};
    run(t);
}

void job_remind(rz_job_t *job, void *u)
{
    cJSON *p = cJSON_Parse(H->job_payload(job));
    cJSON *id = cJSON_GetObjectItemCaseSensitive(p, "visit_id");
    cJSON *before = cJSON_GetObjectItemCaseSensitive(p, "before");
    task_t *t = NULL;
    if (!cJSON_IsString(id) || !rzu_is_uuid(id->valuestring) || !cJSON_IsString(before) ||
        (strcmp(before->valuestring, "24h") != 0 && strcmp(before->valuestring, "1h") != 0)) {
        cJSON_Delete(p);
        H->job_done(job, RZ_JOB_FAIL, "payload without visit_id and before (24h, 1h)");
        return;
    }
    if (!(t = calloc(1, sizeof(*t)))) {
        cJSON_Delete(p);
        H->job_done(job, RZ_JOB_RETRY, "out of memory");
        return;
    }
    t->job = job;
    memcpy(t->id, id->valuestring, UUID_LEN + 1);
    memcpy(t->before, before->valuestring, strlen(before->valuestring) + 1);
    cJSON_Delete(p);
    rzu_i64(H->now_ms(), t->now);
    t->q = (rzu_sql_t){.sql = "SELECT visit.remind($1::uuid, $2, $3::bigint)", .n = 3,
                      .p = {t->id, t->before, t->now}, .cb = done, .udata = t};
    run(t);
}
