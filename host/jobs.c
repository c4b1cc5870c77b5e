/*
 * jobs.c — job kinds, enqueueing, and the per-worker claim / run / finish
 * cycle (see jobs.h).  Schedules are in jobs_sched.c, the CLI in jobs_cli.c.
 *
 * One poll = one round trip: a transaction that first returns expired leases
 * to 'due' (or 'dead'), then claims up to `free slots` due jobs.  Finished
 * jobs are marked done in batches: every job_done(DONE) made during one loop
 * turn goes out in a single UPDATE ... WHERE id = ANY($ids), which is what
 * lets a worker finish thousands of small jobs per second.
 */
#include "jobs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <sodium.h>

#include "clock.h"
#include "db.h"
#include "host.h"
#include "jobs_int.h"
#include "log.h"

static rz_jobs_opts_t opts = {.poll_interval_ms = 1000,
                              .batch = 32,
                              .lease_ms = 300000,
                              .max_attempts = 5,
                              .backoff_base_ms = 10000,
                              .backoff_max_ms = 3600000,
                              .keep_done_ms = 86400000};

rz_jobkind_t *rz__jobkinds; /* owned, grows during init */
size_t rz__njobkinds;
static size_t cjobkinds;

/* A claimed job.  Owned by the worker from the claim until its final UPDATE
 * has been answered (so a second job_done is caught, not a use after free). */
struct rz_job {
    TAILQ_ENTRY(rz_job) link; /* J.running, then a flush's list */
    int64_t id;
    const rz_jobkind_t *k;
    char *payload; /* owned */
    int attempt;
    int done;
    int orphan; /* the worker stopped while its handler ran */
};
TAILQ_HEAD(joblist, rz_job);

static struct {
    struct event_base *base;
    struct event *poll;  /* persistent, poll_interval */
    struct event *flush; /* activated by job_done(DONE) */
    struct event *renew; /* persistent, lease / 3 */
    char me[128];        /* locked_by: host:pid */
    char *keys;          /* text[] literal of our "plugin/kind" keys, owned */
    int claiming, again, last_full;
    int asked;           /* LIMIT of the claim in flight */
    int sched_state;     /* 0 not synced, 1 syncing, 2 synced */
    struct joblist running;
    int inflight;
    struct joblist finished; /* done, waiting for the next flush */
    int nfinished;
    int stopping;
    int draining;        /* rz__jobs_drain: claim nothing more */
    int recording;       /* done / retry UPDATEs in flight */
    /* figures */
    uint64_t claimed, completed, retried, died, errors;
    int64_t stats_at, cleanup_at;  /* monotonic ms */
    long long st_due, st_running, st_dead, st_retrying;
    double st_lag;
    int st_valid;
} J;

/* ---- configuration -------------------------------------------------------- */

int rz__jobs_configure_opts(const rz_jobs_opts_t *o, char *err, size_t errlen)
{
    if (o->poll_interval_ms < 10 || o->batch < 1 || o->batch > 10000 || o->lease_ms < 1000 ||
        o->max_attempts < 1 || o->backoff_base_ms < 0 || o->backoff_max_ms < o->backoff_base_ms ||
        o->keep_done_ms < 0) {
        snprintf(err, errlen,
                 "[jobs] out of range: poll_interval >= 10ms, batch 1..10000, lease >= 1s, "
                 "max_attempts >= 1, backoff_max >= backoff_base");
        return -1;
    }
    opts = *o;
    return 0;
}

int rz__jobs_configure(const rz_config_t *cfg, char *err, size_t errlen)
{
    static const char *const known[] = {"poll_interval", "batch",       "lease",
                                        "max_attempts",  "backoff_base", "backoff_max",
                                        "keep_done",     NULL};
    rz_jobs_opts_t o;
    int64_t batch, max;
    if (rz__config_check_keys(cfg, "jobs", known, err, errlen) != 0 ||
        rz__config_duration_ms(cfg, "jobs", "poll_interval", 1000, &o.poll_interval_ms, err,
                               errlen) != 0 ||
        rz__config_int(cfg, "jobs", "batch", 32, &batch, err, errlen) != 0 ||
        rz__config_duration_ms(cfg, "jobs", "lease", 300000, &o.lease_ms, err, errlen) != 0 ||
        rz__config_int(cfg, "jobs", "max_attempts", 5, &max, err, errlen) != 0 ||
        rz__config_duration_ms(cfg, "jobs", "backoff_base", 10000, &o.backoff_base_ms, err,
                               errlen) != 0 ||
        rz__config_duration_ms(cfg, "jobs", "backoff_max", 3600000, &o.backoff_max_ms, err,
                               errlen) != 0 ||
        rz__config_duration_ms(cfg, "jobs", "keep_done", 86400000, &o.keep_done_ms, err,
                               errlen) != 0)
        return -1;
    o.batch = batch < 1 || batch > 10000 ? 0 : (int)batch;
    o.max_attempts = max < 1 || max > 1000000 ? 0 : (int)max;
    return rz__jobs_configure_opts(&o, err, errlen);
}

const rz_jobs_opts_t *rz__jobs_opts(void) { return &opts; }

/* ---- helpers ----------------------------------------------------------------- */

int rz__jobs_name_ok(const char *s)
{
    size_t n = 0;
    if (!s || !*s)
        return 0;
    for (; s[n]; n++)
        if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') ||
              strchr("_.-", s[n])))
            return 0;
    return n <= 63;
}

const rz_jobkind_t *rz__jobs_find_kind(const rz_plugin_t *p, const char *kind)
{
    for (size_t i = 0; kind && i < rz__njobkinds; i++)
        if (rz__jobkinds[i].plugin == p && strcmp(rz__jobkinds[i].kind, kind) == 0)
            return &rz__jobkinds[i];
    return NULL;
}

static const rz_jobkind_t *find_key(const char *plugin, const char *kind)
{
    for (size_t i = 0; i < rz__njobkinds; i++)
        if (strcmp(rz__jobkinds[i].kind, kind) == 0 &&
            strcmp(rz__plugin_name(rz__jobkinds[i].plugin), plugin) == 0)
            return &rz__jobkinds[i];
    return NULL;
}

char *rz__jobs_text_array(const char *const *items, size_t n)
{
    size_t cap = 3;
    for (size_t i = 0; i < n; i++)
        cap += 2 * strlen(items[i]) + 3;
    char *s = malloc(cap), *w = s;
    if (!s)
        return NULL;
    *w++ = '{';
    for (size_t i = 0; i < n; i++) {
        if (i)
            *w++ = ',';
        *w++ = '"';
        for (const char *r = items[i]; *r; r++) {
            if (*r == '"' || *r == '\\')
                *w++ = '\\';
            *w++ = *r;
        }
        *w++ = '"';
    }
    *w++ = '}';
    *w = '\0';
    return s;
}

void rz__jobs_ms_text(char *buf, size_t cap, int64_t ms) { snprintf(buf, cap, "%lld", (long long)ms); }

/* ---- registration (init) ------------------------------------------------------- */

int rz__svc_job_register(rz_plugin_t *self, const char *kind, rz_job_fn fn, void *udata)
{
    if (!rz__rt.in_init)
        return RZ_ESTATE;
    if (!self || !fn || !rz__jobs_name_ok(kind))
        return RZ_EINVAL;
    if (rz__jobs_find_kind(self, kind))
        return RZ_EEXIST;
    if (rz__njobkinds == cjobkinds) {
        size_t n = cjobkinds ? cjobkinds * 2 : 8;
        rz_jobkind_t *k = realloc(rz__jobkinds, n * sizeof(*k));
        if (!k)
            return RZ_ENOMEM;
        rz__jobkinds = k;
        cjobkinds = n;
    }
    rz_jobkind_t *k = &rz__jobkinds[rz__njobkinds];
    k->plugin = self;
    k->fn = fn;
    k->udata = udata;
    k->kind = strdup(kind);
    if (!k->kind || asprintf(&k->key, "%s/%s", rz__plugin_name(self), kind) < 0) {
        free(k->kind);
        return RZ_ENOMEM;
    }
    rz__njobkinds++;
    return RZ_OK;
}

void rz__jobs_reset(void)
{
    for (size_t i = 0; i < rz__njobkinds; i++) {
        free(rz__jobkinds[i].kind);
        free(rz__jobkinds[i].key);
    }
    free(rz__jobkinds);
    rz__jobkinds = NULL;
    rz__njobkinds = cjobkinds = 0;
    rz__sched_reset();
}

/* ---- enqueue ---------------------------------------------------------------------- */

typedef struct enq {
    rz_db_cb cb; /* the plugin's, may be NULL */
    void *udata;
    int due;     /* run_at already passed: poll as soon as it is stored */
} enq_t;

static void on_enqueued(rz_dbres_t *res, void *arg)
{
    enq_t *e = arg;
    if (e->cb)
        e->cb(res, e->udata);
    if (e->due && rz__svc_dbres_status(res) == RZ_OK)
        rz__jobs_kick();
    free(e);
}

int rz__svc_job_enqueue(rz_plugin_t *self, const char *kind, const char *payload_json,
                        int64_t run_at_ms, rz_db_cb cb, void *udata)
{
    static const char sql[] =
        "INSERT INTO rentezy.jobs (plugin, kind, payload, run_at, state, created_at, updated_at) "
        "VALUES ($1, $2, $3::jsonb, " RZ_TS(4) ", 'due', " RZ_TS(5) ", " RZ_TS(5) ") RETURNING id";
    if (!self || !rz__jobs_find_kind(self, kind))
        return RZ_EINVAL;
    if (!payload_json)
        payload_json = "{}";
    cJSON *probe = cJSON_Parse(payload_json);
    if (!probe)
        return RZ_EINVAL;
    cJSON_Delete(probe);
    int64_t now = rz__now_ms();
    if (run_at_ms <= 0)
        run_at_ms = now;
    enq_t *e = malloc(sizeof(*e));
    if (!e)
        return RZ_ENOMEM;
    *e = (enq_t){cb, udata, run_at_ms <= now};
    char at[24], nowt[24];
    rz__jobs_ms_text(at, sizeof(at), run_at_ms);
    rz__jobs_ms_text(nowt, sizeof(nowt), now);
    const char *p[] = {rz__plugin_name(self), kind, payload_json, at, nowt};
    int rc = rz__svc_db_query(self, 0, sql, 5, p, on_enqueued, e);
    if (rc != RZ_OK)
        free(e);
    return rc;
}

/* ---- the job handle ------------------------------------------------------------------ */

const char *rz__svc_job_kind(rz_job_t *job) { return job && job->k ? job->k->kind : NULL; }
const char *rz__svc_job_payload(rz_job_t *job) { return job ? job->payload : NULL; }
int rz__svc_job_attempt(rz_job_t *job) { return job ? job->attempt : 0; }

static void job_free(rz_job_t *j)
{
    free(j->payload);
    free(j);
}

/* ---- finishing ------------------------------------------------------------------------- */

typedef struct flush {
    struct joblist jobs; /* owned: freed when the UPDATE is answered */
    int n;
} flush_t;

static void claim(void);

static void on_flushed(rz_dbres_t *res, void *arg)
{
    flush_t *f = arg;
    if (J.base)
        J.recording--;
    if (rz__svc_dbres_status(res) != RZ_OK) {
        /* The jobs stay 'running' until their lease ends; then they run again. */
        J.errors++;
        rz__log(RZ_LOG_WARN, "jobs", "cannot mark %d jobs done: %s", f->n,
                rz__svc_dbres_message(res));
    } else {
        J.completed += (uint64_t)f->n;
    }
    while (!TAILQ_EMPTY(&f->jobs)) {
        rz_job_t *j = TAILQ_FIRST(&f->jobs);
        TAILQ_REMOVE(&f->jobs, j, link);
        job_free(j);
    }
    free(f);
    if (J.last_full)
        claim(); /* more may be waiting: refill the slots now */
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
    static const char sql[] =
        "UPDATE rentezy.jobs SET state = 'done', locked_by = NULL, locked_until = NULL, "
        "updated_at = " RZ_TS(1) " WHERE id = ANY($2::bigint[]) AND locked_by = $3 "
        "AND state = 'running'";
    if (J.nfinished == 0)
        return;
    flush_t *f = malloc(sizeof(*f));
    char *ids = malloc((size_t)J.nfinished * 21 + 3), *w = ids;
    if (!f || !ids) {
        free(f);
        free(ids);
        event_active(J.flush, EV_TIMEOUT, 0); /* try again next turn */
        return;
    }
    TAILQ_INIT(&f->jobs);
    f->n = J.nfinished;
    *w++ = '{';
    while (!TAILQ_EMPTY(&J.finished)) {
        rz_job_t *j = TAILQ_FIRST(&J.finished);
        TAILQ_REMOVE(&J.finished, j, link);
        TAILQ_INSERT_TAIL(&f->jobs, j, link);
        w += sprintf(w, "%s%lld", w[-1] == '{' ? "" : ",", (long long)j->id);
    }
    *w++ = '}';
    *w = '\0';
    J.nfinished = 0;
    char now[24];
    rz__jobs_ms_text(now, sizeof(now), rz__now_ms());
    const char *p[] = {now, ids, J.me};
    int rc = rz__svc_db_query(NULL, 0, sql, 3, p, on_flushed, f);
    free(ids);
    if (rc == RZ_OK)
        J.recording++;
    if (rc != RZ_OK) {
        J.errors++;
        rz__log(RZ_LOG_WARN, "jobs", "cannot mark %d jobs done: database unavailable", f->n);
        while (!TAILQ_EMPTY(&f->jobs)) {
            rz_job_t *j = TAILQ_FIRST(&f->jobs);
            TAILQ_REMOVE(&f->jobs, j, link);
            job_free(j);
        }
        free(f);
    }
}

static void on_retried(rz_dbres_t *res, void *arg)
{
    rz_job_t *j = arg;
    if (J.base)
        J.recording--;
    if (rz__svc_dbres_status(res) != RZ_OK) {
        J.errors++;
        rz__log(RZ_LOG_WARN, "jobs", "cannot reschedule job %lld: %s", (long long)j->id,
                rz__svc_dbres_message(res));
    } else if (rz__svc_dbres_rows(res) == 1) {
        const char *state = rz__svc_dbres_value(res, 0, 0);
        if (state && strcmp(state, "dead") == 0) {
            J.died++;
            rz__log(RZ_LOG_WARN, rz__plugin_name(j->k->plugin),
                    "job %lld (%s) is dead after %d attempts: %s", (long long)j->id, j->k->kind,
                    j->attempt, rz__svc_dbres_value(res, 0, 1));
        } else {
            J.retried++;
        }
    }
    job_free(j);
}

static int64_t backoff_ms(int attempt)
{
    double d = (double)opts.backoff_base_ms;
    for (int i = 1; i < attempt && d < (double)opts.backoff_max_ms; i++)
        d *= 2;
    if (d > (double)opts.backoff_max_ms)
        d = (double)opts.backoff_max_ms;
    /* +-20% so that jobs failing together do not come back together. */
    d *= 0.8 + 0.4 * (double)randombytes_uniform(100001) / 100000.0;
    return (int64_t)d;
}

void rz__svc_job_done(rz_job_t *job, int result, const char *error)
{
    static const char retry_sql[] =
        "UPDATE rentezy.jobs SET "
        "state = CASE WHEN $7::bool OR attempts >= coalesce(max_attempts, $4::int) THEN 'dead' "
        "ELSE 'due' END, "
        "run_at = " RZ_TS(2) ", last_error = $3, locked_by = NULL, locked_until = NULL, "
        "updated_at = " RZ_TS(5) " WHERE id = $1::bigint AND locked_by = $6 AND state = 'running' "
        "RETURNING state, last_error";
    if (!job)
        return;
    if (job->orphan) {
        /* Too late to record anything: the lease will bring it back. */
        job_free(job);
        return;
    }
    if (job->done) {
        rz__log(RZ_LOG_WARN, rz__plugin_name(job->k->plugin),
                "job %lld (%s): job_done called twice; ignored", (long long)job->id, job->k->kind);
        return;
    }
    job->done = 1;
    TAILQ_REMOVE(&J.running, job, link);
    J.inflight--;
    if (result == RZ_JOB_DONE) {
        TAILQ_INSERT_TAIL(&J.finished, job, link);
        J.nfinished++;
        event_active(J.flush, EV_TIMEOUT, 0);
        return;
    }
    char id[24], at[24], max[16], now[24];
    int64_t t = rz__now_ms();
    snprintf(id, sizeof(id), "%lld", (long long)job->id);
    rz__jobs_ms_text(at, sizeof(at), t + backoff_ms(job->attempt));
    rz__jobs_ms_text(now, sizeof(now), t);
    snprintf(max, sizeof(max), "%d", opts.max_attempts);
    const char *msg = error && *error ? error : result == RZ_JOB_FAIL ? "failed" : "retry";
    /* RZ_JOB_FAIL gives up at once (the handler knows retrying cannot
     * help); RZ_JOB_RETRY backs off until max_attempts. */
    const char *p[] = {id, at, msg, max, now, J.me, result == RZ_JOB_FAIL ? "true" : "false"};
    if (rz__svc_db_query(NULL, 0, retry_sql, 7, p, on_retried, job) != RZ_OK) {
        J.errors++;
        job_free(job); /* its lease will run out and it will be retried */
    } else {
        J.recording++;
    }
    if (J.last_full)
        claim();
}

/* ---- claiming ------------------------------------------------------------------------------ */

static void on_claimed(rz_dbres_t *res, void *arg)
{
    if (!J.base || J.stopping)
        return;
    J.claiming = 0;
    if (rz__svc_dbres_status(res) != RZ_OK) {
        J.errors++;
        J.last_full = 0;
        if (rz__svc_dbres_status(res) != RZ_EUNAVAIL)
            rz__log(RZ_LOG_WARN, "jobs", "claiming jobs failed: %s", rz__svc_dbres_message(res));
        return;
    }
    int n = rz__svc_dbres_rows(res);
    /* Collect first, run after: a handler may finish synchronously and
     * trigger another claim. */
    rz_job_t **batch = n ? calloc((size_t)n, sizeof(*batch)) : NULL;
    int m = 0;
    for (int i = 0; i < n; i++) {
        const char *plugin = rz__svc_dbres_value(res, i, 1), *kind = rz__svc_dbres_value(res, i, 2);
        const rz_jobkind_t *k = plugin && kind ? find_key(plugin, kind) : NULL;
        rz_job_t *j = k && batch ? calloc(1, sizeof(*j)) : NULL;
        const char *payload = rz__svc_dbres_value(res, i, 3);
        if (!j || !(j->payload = strdup(payload ? payload : "{}"))) {
            /* Out of memory: leave it to the lease. */
            free(j);
            continue;
        }
        j->id = strtoll(rz__svc_dbres_value(res, i, 0), NULL, 10);
        j->k = k;
        j->attempt = atoi(rz__svc_dbres_value(res, i, 4));
        TAILQ_INSERT_TAIL(&J.running, j, link);
        J.inflight++;
        batch[m++] = j;
    }
    J.claimed += (uint64_t)m;
    /* Full when the claim got every job it asked for: more may be due.
     * (Not "free slots now": handlers that finished while the claim was in
     * flight freed slots, and counting them here stalled the loop until the
     * next poll whenever handlers are asynchronous.) */
    J.last_full = n > 0 && n >= J.asked;
    for (int i = 0; i < m; i++)
        batch[i]->k->fn(batch[i], batch[i]->k->udata);
    free(batch);
    if (J.again || J.last_full) {
        J.again = 0;
        claim();
    }
}

static void claim(void)
{
    static const char reap_sql[] =
        "UPDATE rentezy.jobs SET "
        "state = CASE WHEN attempts >= coalesce(max_attempts, $3::int) THEN 'dead' ELSE 'due' END, "
        "run_at = " RZ_TS(1) ", locked_by = NULL, locked_until = NULL, "
        "last_error = coalesce(last_error || '; ', '') || 'lease expired (worker lost?)', "
        "updated_at = " RZ_TS(1) " WHERE id IN (SELECT id FROM rentezy.jobs "
        "WHERE state = 'running' AND locked_until <= " RZ_TS(1) " AND "
        "plugin || '/' || kind = ANY($2::text[]) FOR UPDATE SKIP LOCKED LIMIT 1000)";
    static const char claim_sql[] =
        "UPDATE rentezy.jobs j SET state = 'running', attempts = j.attempts + 1, "
        "locked_by = $3, locked_until = to_timestamp(($1::bigint + $4::bigint) / 1000.0), "
        "updated_at = " RZ_TS(1) " WHERE j.id IN (SELECT id FROM rentezy.jobs "
        "WHERE state = 'due' AND run_at <= " RZ_TS(1) " AND "
        "plugin || '/' || kind = ANY($2::text[]) "
        "ORDER BY run_at FOR UPDATE SKIP LOCKED LIMIT $5::int) "
        "RETURNING j.id, j.plugin, j.kind, j.payload::text, j.attempts";
    if (!J.base || J.stopping || J.draining || !J.keys)
        return;
    if (J.claiming) {
        J.again = 1;
        return;
    }
    int free_slots = opts.batch - J.inflight;
    if (free_slots <= 0)
        return;
    char now[24], lease[24], limit[16], max[16];
    rz__jobs_ms_text(now, sizeof(now), rz__now_ms());
    rz__jobs_ms_text(lease, sizeof(lease), opts.lease_ms);
    snprintf(limit, sizeof(limit), "%d", free_slots);
    snprintf(max, sizeof(max), "%d", opts.max_attempts);
    const char *rp[] = {now, J.keys, max};
    const char *cp[] = {now, J.keys, J.me, lease, limit};
    rz_stmt_t st[] = {{reap_sql, 3, rp}, {claim_sql, 5, cp}};
    if (rz__svc_db_tx(NULL, st, 2, on_claimed, NULL) == RZ_OK) {
        J.claiming = 1;
        J.asked = free_slots;
    }
}

/* ---- housekeeping: lease renewal, figures, cleanup -------------------------------------------- */

static void on_quiet(rz_dbres_t *res, void *arg)
{
    if (rz__svc_dbres_status(res) == RZ_ERR) {
        J.errors++;
        rz__log(RZ_LOG_WARN, "jobs", "%s: %s", (const char *)arg, rz__svc_dbres_message(res));
    }
}

static void on_renew(evutil_socket_t fd, short what, void *arg)
{
    static const char sql[] =
        "UPDATE rentezy.jobs SET locked_until = to_timestamp(($1::bigint + $2::bigint) / 1000.0) "
        "WHERE id = ANY($3::bigint[]) AND locked_by = $4 AND state = 'running'";
    if (J.inflight == 0)
        return;
    char *ids = malloc((size_t)J.inflight * 21 + 3), *w = ids;
    if (!ids)
        return;
    *w++ = '{';
    rz_job_t *j;
    TAILQ_FOREACH(j, &J.running, link)
        w += sprintf(w, "%s%lld", w[-1] == '{' ? "" : ",", (long long)j->id);
    *w++ = '}';
    *w = '\0';
    char now[24], lease[24];
    rz__jobs_ms_text(now, sizeof(now), rz__now_ms());
    rz__jobs_ms_text(lease, sizeof(lease), opts.lease_ms);
    const char *p[] = {now, lease, ids, J.me};
    rz__svc_db_query(NULL, 0, sql, 4, p, on_quiet, "renewing leases");
    free(ids);
}

static void on_stats(rz_dbres_t *res, void *arg)
{
    if (rz__svc_dbres_status(res) != RZ_OK || rz__svc_dbres_rows(res) != 1)
        return;
    J.st_due = atoll(rz__svc_dbres_value(res, 0, 0));
    J.st_retrying = atoll(rz__svc_dbres_value(res, 0, 1));
    J.st_running = atoll(rz__svc_dbres_value(res, 0, 2));
    J.st_dead = atoll(rz__svc_dbres_value(res, 0, 3));
    J.st_lag = atof(rz__svc_dbres_value(res, 0, 4));
    J.st_valid = 1;
}

static void housekeeping(void)
{
    /* Each count walks one partial index, so this stays cheap however many
     * done jobs the table keeps. */
    static const char stats_sql[] =
        "SELECT (SELECT count(*) FROM rentezy.jobs WHERE state = 'due'), "
        "(SELECT count(*) FROM rentezy.jobs WHERE state = 'due' AND attempts > 0), "
        "(SELECT count(*) FROM rentezy.jobs WHERE state = 'running'), "
        "(SELECT count(*) FROM rentezy.jobs WHERE state = 'dead'), "
        "coalesce((SELECT extract(epoch FROM " RZ_TS(1) " - min(run_at)) FROM rentezy.jobs "
        "WHERE state = 'due' AND run_at <= " RZ_TS(1) "), 0)";
    static const char cleanup_sql[] =
        "DELETE FROM rentezy.jobs WHERE id IN (SELECT id FROM rentezy.jobs WHERE state = 'done' "
        "AND updated_at < " RZ_TS(1) " LIMIT 10000)";
    int64_t mono = rz__mono_ms();
    char now[24];
    rz__jobs_ms_text(now, sizeof(now), rz__now_ms());
    if (mono - J.stats_at >= 5000 || !J.stats_at) {
        const char *p[] = {now};
        if (rz__svc_db_query(NULL, RZ_DB_READONLY, stats_sql, 1, p, on_stats, NULL) == RZ_OK)
            J.stats_at = mono;
    }
    /* One worker per process group is enough to sweep. */
    if (rz__rt.worker_index <= 0 && mono - J.cleanup_at >= 60000) {
        char cut[24];
        rz__jobs_ms_text(cut, sizeof(cut), rz__now_ms() - opts.keep_done_ms);
        const char *p[] = {cut};
        if (rz__svc_db_query(NULL, 0, cleanup_sql, 1, p, on_quiet, "removing done jobs") == RZ_OK)
            J.cleanup_at = mono;
    }
}

/* ---- the poll --------------------------------------------------------------------------------- */

static void on_synced(int ok)
{
    if (!J.base)
        return;
    J.sched_state = ok ? 2 : 0; /* failed: the next poll tries again */
    if (ok)
        rz__jobs_kick();
}

static void on_poll(evutil_socket_t fd, short what, void *arg)
{
    if (J.stopping || J.draining || !rz__db_ready())
        return;
    if (rz__nscheds && J.sched_state == 0) {
        if (rz__sched_sync(on_synced) == 0)
            J.sched_state = 1;
    } else if (J.sched_state == 2) {
        rz__sched_tick();
    }
    claim();
    housekeeping();
}

void rz__jobs_kick(void)
{
    if (J.poll && !J.stopping)
        event_active(J.poll, EV_TIMEOUT, 0);
}

int rz__jobs_inflight(void) { return J.inflight; }

void rz__jobs_drain(void) { J.draining = 1; }

int rz__jobs_busy(void)
{
    /* A claim in flight returns jobs leased to us; finished jobs not yet
     * recorded would run again after their lease: wait for all of them. */
    return J.claiming + J.inflight + J.nfinished + J.recording;
}

int rz__jobs_worker_start(struct event_base *base)
{
    if (J.base)
        return -1;
    memset(&J, 0, sizeof(J));
    TAILQ_INIT(&J.running);
    TAILQ_INIT(&J.finished);
    J.base = base;
    char host[64] = "?";
    gethostname(host, sizeof(host) - 1);
    snprintf(J.me, sizeof(J.me), "%s:%d", host, (int)getpid());

    /* Only kinds of plugins loaded here: another role's jobs are not ours. */
    const char **keys = rz__njobkinds ? calloc(rz__njobkinds, sizeof(*keys)) : NULL;
    for (size_t i = 0; keys && i < rz__njobkinds; i++)
        keys[i] = rz__jobkinds[i].key;
    if (rz__njobkinds && (!keys || !(J.keys = rz__jobs_text_array(keys, rz__njobkinds)))) {
        free(keys);
        goto fail;
    }
    free(keys);
    if (!rz__njobkinds && !rz__nscheds)
        return 0; /* nothing to do in this worker */

    struct timeval poll = {opts.poll_interval_ms / 1000, (opts.poll_interval_ms % 1000) * 1000};
    int64_t r = opts.lease_ms / 3;
    struct timeval renew = {r / 1000, (r % 1000) * 1000};
    J.poll = event_new(base, -1, EV_PERSIST, on_poll, NULL);
    J.flush = event_new(base, -1, 0, on_flush, NULL);
    J.renew = event_new(base, -1, EV_PERSIST, on_renew, NULL);
    if (!J.poll || !J.flush || !J.renew || event_add(J.poll, &poll) != 0 ||
        event_add(J.renew, &renew) != 0)
        goto fail;
    rz__jobs_kick();
    return 0;
fail:
    rz__jobs_worker_stop();
    return -1;
}

void rz__jobs_worker_stop(void)
{
    if (!J.base)
        return;
    J.stopping = 1;
    /* Finished jobs not yet flushed: send them now while the pool is up. */
    if (J.flush && J.nfinished)
        on_flush(-1, 0, NULL);
    if (J.poll)
        event_free(J.poll);
    if (J.flush)
        event_free(J.flush);
    if (J.renew)
        event_free(J.renew);
    /* Handlers still running own their job until they call job_done (which
     * then just frees it): their database callbacks typically arrive during
     * rz__db_worker_stop, after this. */
    while (!TAILQ_EMPTY(&J.running)) {
        rz_job_t *j = TAILQ_FIRST(&J.running);
        TAILQ_REMOVE(&J.running, j, link);
        j->orphan = 1;
    }
    rz__sched_worker_stop();
    free(J.keys);
    /* Requests still in flight (flushes, retries) keep their own memory and
     * free it in their callbacks, which rz__db_worker_stop runs. */
    memset(&J, 0, sizeof(J));
}

/* ---- figures ------------------------------------------------------------------------------------- */

void rz__jobs_metrics(struct evbuffer *out, int worker)
{
    if (!J.base)
        return;
    evbuffer_add_printf(out,
                        "# TYPE rentezy_jobs gauge\n"
                        "# TYPE rentezy_jobs_oldest_due_lag_seconds gauge\n"
                        "# TYPE rentezy_jobs_worker_total counter\n"
                        "# TYPE rentezy_jobs_inflight gauge\n");
    if (J.st_valid)
        evbuffer_add_printf(out,
                            "rentezy_jobs{worker=\"%d\",state=\"due\"} %lld\n"
                            "rentezy_jobs{worker=\"%d\",state=\"retrying\"} %lld\n"
                            "rentezy_jobs{worker=\"%d\",state=\"running\"} %lld\n"
                            "rentezy_jobs{worker=\"%d\",state=\"dead\"} %lld\n"
                            "rentezy_jobs_oldest_due_lag_seconds{worker=\"%d\"} %.3f\n",
                            worker, J.st_due, worker, J.st_retrying, worker, J.st_running, worker,
                            J.st_dead, worker, J.st_lag);
    evbuffer_add_printf(out,
                        "rentezy_jobs_inflight{worker=\"%d\"} %d\n"
                        "rentezy_jobs_worker_total{worker=\"%d\",event=\"claimed\"} %llu\n"
                        "rentezy_jobs_worker_total{worker=\"%d\",event=\"completed\"} %llu\n"
                        "rentezy_jobs_worker_total{worker=\"%d\",event=\"retried\"} %llu\n"
                        "rentezy_jobs_worker_total{worker=\"%d\",event=\"dead\"} %llu\n"
                        "rentezy_jobs_worker_total{worker=\"%d\",event=\"error\"} %llu\n",
                        worker, J.inflight, worker, (unsigned long long)J.claimed, worker,
                        (unsigned long long)J.completed, worker, (unsigned long long)J.retried,
                        worker, (unsigned long long)J.died, worker, (unsigned long long)J.errors);
}
