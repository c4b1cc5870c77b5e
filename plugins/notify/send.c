/*
 * send.c — the "email" and "webhook" jobs.  Each: read what to send (one
 * query), send it on a pool thread (smtp.c, http_post.c), record the
 * outcome (one transaction), then job_done.  A row already sent is done:
 * a job delivered twice sends once unless the crash fell between the send
 * and the record (at least once, like the bus).
 *
 * Webhooks: every failed attempt counts toward webhook_max_failures
 * consecutive failures, a success resets the count; the attempt that
 * reaches it disables the webhook and fails its delivery for good.
 * Backoff between attempts is the job queue's (exponential, jittered).
 */
#include "notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct send {
    rz_job_t *job;
    int webhook;
    char key[24];           /* notify.emails.id or notify.deliveries.seq */
    char *to, *subject, *body;   /* e-mail; owned */
    char *url, *secret, *type, *id; /* webhook; owned */
    int rc, status;         /* NT_SEND_*, HTTP status */
    char err[NT_ERRLEN];
    char max[24], now[24], status_text[16], ok[2];
    const char *p[6];
} send_t;

static void send_free(send_t *s)
{
    free(s->to);
    free(s->subject);
    free(s->body);
    free(s->url);
    free(s->secret);
    free(s->type);
    free(s->id);
    free(s);
}

static void finish(send_t *s, int result, const char *error)
{
    H->job_done(s->job, result, error);
    send_free(s);
}

static char *dup_value(rz_dbres_t *res, int col)
{
    return strdup(H->dbres_value(res, 0, col));
}

/* ---- e-mail ------------------------------------------------------------------------ */

static void email_recorded(rz_dbres_t *res, void *u)
{
    send_t *s = u;
    if (H->dbres_status(res) != RZ_OK)
        H->log(nt_g.self, RZ_LOG_WARN, "recording e-mail %s: %s", s->key, H->dbres_message(res));
    if (s->rc == NT_SEND_OK)
        finish(s, RZ_JOB_DONE, NULL);
    else
        finish(s, s->rc == NT_SEND_FAIL ? RZ_JOB_FAIL : RZ_JOB_RETRY, s->err);
}

static void email_work(void *u)
{
    send_t *s = u;
    s->rc = nt_smtp_send(nt_g.smtp_url, nt_g.helo, nt_g.from, s->to, s->subject, s->body,
                         nt_g.smtp_timeout_ms, s->err, sizeof(s->err));
}

static void email_after(void *u)
{
    static const char sql[] =
        "UPDATE notify.emails SET attempts = attempts + 1, "
        "state = CASE $2 WHEN 'ok' THEN 'sent' WHEN 'fail' THEN 'failed' ELSE state END, "
        "sent_at = CASE $2 WHEN 'ok' THEN to_timestamp($3::bigint / 1000.0) END, "
        "last_error = $4 WHERE id = $1::bigint";
    send_t *s = u;
    nt_ms_text(H->now_ms(), s->now);
    s->p[0] = s->key;
    s->p[1] = s->rc == NT_SEND_OK ? "ok" : s->rc == NT_SEND_FAIL ? "fail" : "retry";
    s->p[2] = s->now;
    s->p[3] = s->rc == NT_SEND_OK ? NULL : s->err;
    if (H->db_query(nt_g.self, 0, sql, 4, s->p, email_recorded, s) != RZ_OK)
        finish(s, s->rc == NT_SEND_OK ? RZ_JOB_DONE : RZ_JOB_RETRY, s->err);
}

static void email_loaded(rz_dbres_t *res, void *u)
{
    send_t *s = u;
    if (H->dbres_status(res) != RZ_OK) {
        finish(s, RZ_JOB_RETRY, H->dbres_message(res));
        return;
    }
    if (H->dbres_rows(res) != 1 || strcmp(H->dbres_value(res, 0, 0), "pending") != 0) {
        finish(s, RZ_JOB_DONE, NULL); /* sent already, or failed for good */
        return;
    }
    if (H->dbres_isnull(res, 0, 3)) {
        /* user-events may arrive after the event that mentions the user */
        finish(s, RZ_JOB_RETRY, "the recipient's e-mail address is not known yet");
        return;
    }
    if (!nt_g.smtp_url) {
        finish(s, RZ_JOB_RETRY, "[plugin.notify] smtp_url is not set");
        return;
    }
    s->subject = dup_value(res, 1);
    s->body = dup_value(res, 2);
    s->to = dup_value(res, 3);
    if (!s->subject || !s->body || !s->to ||
        H->work(nt_g.self, email_work, email_after, s) != RZ_OK)
        finish(s, RZ_JOB_RETRY, "out of memory or no thread pool");
}

/* The key of the payload ({"id": n} or {"seq": n}); NULL when malformed. */
static send_t *start(rz_job_t *job, const char *field)
{
    cJSON *j = cJSON_Parse(H->job_payload(job));
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, field);
    send_t *s = NULL;
    if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 9e15) {
        H->job_done(job, RZ_JOB_FAIL, "malformed payload");
        goto done;
    }
    if (!(s = calloc(1, sizeof(*s)))) {
        H->job_done(job, RZ_JOB_RETRY, "out of memory");
        goto done;
    }
    s->job = job;
    snprintf(s->key, sizeof(s->key), "%lld", (long long)v->valuedouble);
done:
    cJSON_Delete(j);
    return s;
}

void nt_job_email(rz_job_t *job, void *u)
{
    static const char sql[] =
        "SELECT e.state, e.subject, e.body, x.email FROM notify.emails e "
        "LEFT JOIN notify.users x ON x.id = e.user_id WHERE e.id = $1::bigint";
    send_t *s = start(job, "id");
    if (!s)
        return;
    s->p[0] = s->key;
    if (H->db_query(nt_g.self, 0, sql, 1, s->p, email_loaded, s) != RZ_OK)
        finish(s, RZ_JOB_RETRY, "the database is unavailable");
}

/* ---- webhooks ------------------------------------------------------------------------ */

/* $1 seq, $2 ok (t/f), $3 status or NULL, $4 error, $5 now ms, $6 max failures.
 * The delivery and its webhook's failure count together; the attempt that
 * reaches the limit disables the webhook.  Answers (enabled, state). */
static const char hook_record_sql[] =
    "WITH d AS (UPDATE notify.deliveries SET attempts = attempts + 1, "
    "state = CASE WHEN $2::bool THEN 'delivered' WHEN (SELECT x.failures + 1 >= $6::int "
    "FROM notify.webhooks x WHERE x.id = webhook_id) THEN 'failed' ELSE state END, "
    "last_status = $3::int, "
    "last_error = $4, updated_at = to_timestamp($5::bigint / 1000.0) WHERE seq = $1::bigint "
    "RETURNING webhook_id), "
    "w AS (UPDATE notify.webhooks w SET failures = CASE WHEN $2::bool THEN 0 ELSE w.failures + 1 END, "
    "enabled = w.enabled AND ($2::bool OR w.failures + 1 < $6::int), "
    "disabled_at = CASE WHEN w.enabled AND NOT $2::bool AND w.failures + 1 >= $6::int "
    "THEN to_timestamp($5::bigint / 1000.0) ELSE w.disabled_at END "
    "FROM d WHERE w.id = d.webhook_id RETURNING w.enabled) "
    "SELECT enabled::text FROM w";


static void hook_recorded(rz_dbres_t *res, void *u)
{
    send_t *s = u;
    if (H->dbres_status(res) != RZ_OK) {
        H->log(nt_g.self, RZ_LOG_WARN, "recording delivery %s: %s", s->key,
               H->dbres_message(res));
        finish(s, s->rc == NT_SEND_OK ? RZ_JOB_DONE : RZ_JOB_RETRY, s->err);
        return;
    }
    int enabled = H->dbres_rows(res) == 1 && strcmp(H->dbres_value(res, 0, 0), "true") == 0;
    if (s->rc == NT_SEND_OK) {
        finish(s, RZ_JOB_DONE, NULL);
    } else if (!enabled || s->rc == NT_SEND_FAIL) {
        /* disabled now (the statement failed the delivery too): it is over */
        H->log(nt_g.self, RZ_LOG_INFO, "webhook delivery %s failed for good: %s", s->key, s->err);
        finish(s, RZ_JOB_FAIL, s->err);
    } else {
        finish(s, RZ_JOB_RETRY, s->err);
    }
}

static void hook_work(void *u)
{
    send_t *s = u;
    char sig[160];
    nt_sign(s->secret, (long long)(H->now_ms() / 1000), s->body, sig, sizeof(sig));
    s->rc = nt_http_post(s->url, s->body, sig, s->type, s->id, nt_g.hook_timeout_ms,
                         nt_g.allow_private, &s->status, s->err, sizeof(s->err));
}

static void hook_after(void *u)
{
    send_t *s = u;
    nt_ms_text(H->now_ms(), s->now);
    snprintf(s->status_text, sizeof(s->status_text), "%d", s->status);
    snprintf(s->max, sizeof(s->max), "%lld", (long long)nt_g.hook_max_failures);
    s->p[0] = s->key;
    s->p[1] = s->rc == NT_SEND_OK ? "t" : "f";
    s->p[2] = s->status ? s->status_text : NULL;
    s->p[3] = s->rc == NT_SEND_OK ? NULL : s->err;
    s->p[4] = s->now;
    s->p[5] = s->max;
    if (H->db_query(nt_g.self, 0, hook_record_sql, 6, s->p, hook_recorded, s) != RZ_OK)
        finish(s, s->rc == NT_SEND_OK ? RZ_JOB_DONE : RZ_JOB_RETRY, s->err);
}

static void hook_skipped(rz_dbres_t *res, void *u)
{
    finish(u, RZ_JOB_DONE, NULL);
}

static void hook_loaded(rz_dbres_t *res, void *u)
{
    static const char skip_sql[] =
        "UPDATE notify.deliveries SET state = 'skipped' WHERE seq = $1::bigint AND state = 'pending'";
    send_t *s = u;
    if (H->dbres_status(res) != RZ_OK) {
        finish(s, RZ_JOB_RETRY, H->dbres_message(res));
        return;
    }
    if (H->dbres_rows(res) != 1 || strcmp(H->dbres_value(res, 0, 0), "pending") != 0) {
        finish(s, RZ_JOB_DONE, NULL);
        return;
    }
    if (strcmp(H->dbres_value(res, 0, 6), "t") != 0) { /* disabled or deleted */
        if (H->db_query(nt_g.self, 0, skip_sql, 1, s->p, hook_skipped, s) != RZ_OK)
            finish(s, RZ_JOB_RETRY, "the database is unavailable");
        return;
    }
    s->body = dup_value(res, 1);
    s->id = dup_value(res, 2);
    s->type = dup_value(res, 3);
    s->url = dup_value(res, 4);
    s->secret = dup_value(res, 5);
    if (!s->body || !s->id || !s->type || !s->url || !s->secret ||
        H->work(nt_g.self, hook_work, hook_after, s) != RZ_OK)
        finish(s, RZ_JOB_RETRY, "out of memory or no thread pool");
}

void nt_job_webhook(rz_job_t *job, void *u)
{
    static const char sql[] =
        "SELECT d.state, d.body, d.id::text, d.type, w.url, w.secret, "
        "(w.enabled AND NOT w.deleted)::bool FROM notify.deliveries d "
        "JOIN notify.webhooks w ON w.id = d.webhook_id WHERE d.seq = $1::bigint";
    send_t *s = start(job, "seq");
    if (!s)
        return;
    s->p[0] = s->key;
    if (H->db_query(nt_g.self, 0, sql, 1, s->p, hook_loaded, s) != RZ_OK)
        finish(s, RZ_JOB_RETRY, "the database is unavailable");
}
