/*
 * jobs.c — the durable jobs booking schedules in the transaction of the
 * change that needs them (rows of rentezy.jobs, see booking.enqueue):
 *
 *   expire    {"booking_id"} at the deadline of a hold or a request: frees
 *             the dates and publishes booking.expired — unless it was paid,
 *             answered or cancelled meanwhile (then nothing happens)
 *   complete  {"booking_id"} on the check-out day of a confirmed stay:
 *             publishes booking.completed
 *
 * Both are idempotent: running one twice changes nothing the second time.
 */
#include "booking.h"

#include <stdlib.h>
#include <string.h>

typedef struct job {
    rz_job_t *job;
    rzu_sql_t q;
    char id[UUID_LEN + 1], now[24];
} job_t;

static void done(rz_dbres_t *res, void *u)
{
    job_t *j = u;
    int st = H->dbres_status(res);
    if (st == RZ_OK)
        H->job_done(j->job, RZ_JOB_DONE, NULL);
    else
        H->job_done(j->job, RZ_JOB_RETRY,
                    st == RZ_EUNAVAIL ? "the database is unavailable" : H->dbres_message(res));
    free(j);
}

static void run(rz_job_t *job, const char *sql)
{
    cJSON *p = cJSON_Parse(H->job_payload(job));
    cJSON *id = cJSON_GetObjectItemCaseSensitive(p, "booking_id");
    job_t *j = NULL;
    if (!cJSON_IsString(id) || !rzu_is_uuid(id->valuestring)) {
        cJSON_Delete(p);
        H->job_done(job, RZ_JOB_FAIL, "payload without a booking_id");
        return;
    }
    if (!(j = calloc(1, sizeof(*j)))) {
        cJSON_Delete(p);
        H->job_done(job, RZ_JOB_RETRY, "out of memory");
        return;
    }
    j->job = job;
    memcpy(j->id, id->valuestring, UUID_LEN + 1);
    cJSON_Delete(p);
    rzu_i64(H->now_ms(), j->now);
    j->q = (rzu_sql_t){.sql = sql, .n = 2, .p = {j->id, j->now}, .cb = done, .udata = j};
    if (rzu_sql_run(&j->q) != RZ_OK) {
        H->job_done(job, RZ_JOB_RETRY, "the database is unavailable");
        free(j);
    }
}

void job_expire(rz_job_t *job, void *u)
{
    run(job, "SELECT booking.expire_holds(NULL, NULL, $1::uuid, $2::bigint, NULL)");
}

void job_complete(rz_job_t *job, void *u)
{
    run(job, "SELECT booking.complete($1::uuid, $2::bigint, NULL)");
}
