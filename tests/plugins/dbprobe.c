/*
 * dbprobe — a test plugin for the data layer (issue 3): exercises the
 * database, migration and jobs services through a real rentezyd.  Used by
 * tests/process/15_data.sh and bench/15_data.sh.
 *
 * Requires cap:db and cap:jobs.  Its schema "dbprobe":
 *   migration 1 (items)  items(id bigint primary key, name text), 100,000
 *                        rows; runs(n, pid, attempt, at), active(n),
 *                        twice(n, pid, at), ticks(occurrence, ...)
 *   migration 2 (extra)  only when [plugin.dbprobe] migrations = 2: an
 *                        index, so that tests can show a pending migration
 *
 * Routes (all public):
 *   GET  /v1/dbprobe/items/{id}   one indexed SELECT, read-only flag:
 *                                 200 {"id":..,"name":..}, 404, 400 (id not
 *                                 a positive integer), 503 (database down)
 *   POST /v1/dbprobe/badparam?case=C
 *                                 sends a statement the server must refuse
 *                                 (C = type | overflow | count | utf8 |
 *                                 syntax | tx | einval) and answers with the
 *                                 error result it got: 4xx/5xx JSON
 *                                 {"error":{"code","message","sqlstate",
 *                                 "status"}}
 *   POST /v1/dbprobe/jobs?n=N&kind=K&start=S
 *                                 enqueues N jobs of kind K (default count)
 *                                 with payload {"n": S+1..S+N} in ONE
 *                                 INSERT ... SELECT generate_series into
 *                                 rentezy.jobs: 201 {"enqueued": N}
 *
 * Job kinds:
 *   count   records the run: marks n active (a primary key, so a second
 *           run of the same job at the same time shows up in twice),
 *           then in one transaction clears the mark and appends to runs
 *   noop    done at once (the "trivial job" of the benchmark)
 *   flaky   RETRY on attempts 1 and 2, DONE on the 3rd
 *   doomed  always RETRY (dead after [jobs] max_attempts)
 *   fatal   FAIL at once (dead after one attempt)
 *   tick    the handler of the schedule "daily" (09:00 Europe/Berlin, cron
 *           and zone configurable): appends the occurrence to ticks
 */
#include <rentezy/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const rz_host_t *H;
static rz_plugin_t *SELF;

/* ---- schema ------------------------------------------------------------- */

static const char mig1[] =
    "CREATE TABLE items (id bigint PRIMARY KEY, name text);\n"
    "INSERT INTO items (id, name) SELECT g, 'item ' || g FROM generate_series(1, 100000) g;\n"
    "CREATE TABLE runs (n bigint NOT NULL, pid int NOT NULL, attempt int NOT NULL,\n"
    "                   at timestamptz NOT NULL DEFAULT clock_timestamp());\n"
    "CREATE TABLE active (n bigint PRIMARY KEY, pid int NOT NULL);\n"
    "CREATE TABLE twice (n bigint NOT NULL, pid int NOT NULL,\n"
    "                       at timestamptz NOT NULL DEFAULT clock_timestamp());\n"
    "CREATE TABLE ticks (occurrence text NOT NULL, occurrence_ms bigint NOT NULL,\n"
    "                    pid int NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp());\n"
    "ANALYZE items;\n";

static const char mig2[] = "CREATE INDEX items_name ON items (name);\n";

/* ---- helpers ------------------------------------------------------------ */

/* 503 for an unreachable database, 500 for anything else the host says. */
static void reply_db_failure(rz_req_t *req, int rc, const char *what)
{
    if (rc == RZ_EUNAVAIL)
        H->reply_error(req, 503, "unavailable", NULL, "database unavailable (%s)", what);
    else
        H->reply_error(req, 500, "internal", NULL, "%s: error %d", what, rc);
}

/* Answer with a failed result: the server's refusal as 4xx JSON (with its
 * SQLSTATE), unavailability as 503. */
static void reply_dbres_error(rz_req_t *req, rz_dbres_t *res)
{
    int st = H->dbres_status(res);
    const char *sqlstate = H->dbres_sqlstate(res);
    int http = st == RZ_EUNAVAIL ? 503 : st == RZ_ERR ? 422 : 500;
    cJSON *o = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(o, "error");
    if (!e) {
        cJSON_Delete(o);
        H->reply_error(req, 500, "internal", NULL, "out of memory");
        return;
    }
    cJSON_AddStringToObject(e, "code", st == RZ_EUNAVAIL ? "unavailable" : "db_error");
    cJSON_AddStringToObject(e, "message", H->dbres_message(res));
    if (sqlstate)
        cJSON_AddStringToObject(e, "sqlstate", sqlstate);
    else
        cJSON_AddNullToObject(e, "sqlstate");
    cJSON_AddNumberToObject(e, "status", st);
    H->reply_json(req, http, o);
}

static int parse_i64(const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
        return -1;
    long long v = strtoll(s, &end, 10);
    if (*end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* ---- GET /v1/dbprobe/items/{id} ------------------------------------------ */

static void on_item(rz_dbres_t *res, void *u)
{
    rz_req_t *req = u;
    if (H->dbres_status(res) != RZ_OK) {
        reply_dbres_error(req, res);
        return;
    }
    if (H->dbres_rows(res) != 1) {
        H->reply_error(req, 404, "not_found", "id", "no such item");
        return;
    }
    const char *id = H->dbres_value(res, 0, 0), *name = H->dbres_value(res, 0, 1);
    /* Both are digits and "item <digits>": no JSON escaping needed. */
    char body[128];
    int len = snprintf(body, sizeof(body), "{\"id\":%s,\"name\":\"%s\"}", id ? id : "null",
                       name ? name : "");
    if (len < 0 || (size_t)len >= sizeof(body)) {
        H->reply_error(req, 500, "internal", NULL, "item too long");
        return;
    }
    H->reply(req, 200, "application/json", body, (size_t)len);
}

static void get_item(rz_req_t *req, void *u)
{
    (void)u;
    static const char sql[] = "SELECT id, name FROM dbprobe.items WHERE id = $1::bigint";
    long long id;
    const char *p = H->req_param(req, "id");
    if (parse_i64(p, 1, INT64_MAX, &id) != 0) {
        H->reply_error(req, 400, "invalid", "id", "id must be a positive integer");
        return;
    }
    const char *params[] = {p};
    int rc = H->db_query(SELF, RZ_DB_READONLY, sql, 1, params, on_item, req);
    if (rc != RZ_OK)
        reply_db_failure(req, rc, "reading the item");
}

/* ---- POST /v1/dbprobe/badparam ------------------------------------------- */

static void on_bad(rz_dbres_t *res, void *u)
{
    rz_req_t *req = u;
    if (H->dbres_status(res) == RZ_OK) {
        /* Should not happen: every case is one the server refuses. */
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "unexpected", "the database accepted it");
        cJSON_AddNumberToObject(o, "rows", H->dbres_rows(res));
        H->reply_json(req, 200, o);
        return;
    }
    reply_dbres_error(req, res);
}

static void post_badparam(rz_req_t *req, void *u)
{
    (void)u;
    const char *c = H->req_query(req, "case");
    int rc;
    if (!c)
        c = "type";
    if (strcmp(c, "type") == 0) { /* 'abc' for a bigint: 22P02 */
        const char *p[] = {"abc"};
        rc = H->db_query(SELF, RZ_DB_READONLY, "SELECT id, name FROM dbprobe.items WHERE id = $1::bigint",
                         1, p, on_bad, req);
    } else if (strcmp(c, "overflow") == 0) { /* out of bigint range: 22003 */
        const char *p[] = {"99999999999999999999999"};
        rc = H->db_query(SELF, RZ_DB_READONLY, "SELECT id, name FROM dbprobe.items WHERE id = $1::bigint",
                         1, p, on_bad, req);
    } else if (strcmp(c, "count") == 0) { /* 2 values for 1 parameter: 08P01 */
        const char *p[] = {"1", "2"};
        rc = H->db_query(SELF, RZ_DB_READONLY, "SELECT id, name FROM dbprobe.items WHERE id = $1::bigint",
                         2, p, on_bad, req);
    } else if (strcmp(c, "utf8") == 0) { /* not UTF-8: 22021 */
        const char *p[] = {"caf\xc3\x28 \xff\xfe"};
        rc = H->db_query(SELF, RZ_DB_READONLY, "SELECT id FROM dbprobe.items WHERE name = $1", 1, p,
                         on_bad, req);
    } else if (strcmp(c, "syntax") == 0) { /* 42601 */
        rc = H->db_query(SELF, 0, "SELEC id FROM dbprobe.items WHERE", 0, NULL, on_bad, req);
    } else if (strcmp(c, "tx") == 0) {
        /* The first statement is fine, the second is not: nothing is kept. */
        const char *p1[] = {"-1", "must not stay"};
        const char *p2[] = {"not a number"};
        rz_stmt_t st[] = {
            {"INSERT INTO dbprobe.items (id, name) VALUES ($1::bigint, $2)", 2, p1},
            {"UPDATE dbprobe.items SET name = 'x' WHERE id = $1::bigint", 1, p2}};
        rc = H->db_tx(SELF, st, 2, on_bad, req);
    } else if (strcmp(c, "einval") == 0) {
        /* Refused by the host before anything is sent (and no callback). */
        rc = H->db_query(SELF, 0, "SELECT 1", -1, NULL, on_bad, req);
        if (rc != RZ_OK) {
            H->reply_error(req, 400, "refused", "case", "db_query refused the call: error %d", rc);
            return;
        }
    } else {
        H->reply_error(req, 400, "invalid", "case",
                       "case must be type, overflow, count, utf8, syntax, tx or einval");
        return;
    }
    if (rc != RZ_OK)
        reply_db_failure(req, rc, "sending the statement");
}

/* ---- POST /v1/dbprobe/jobs ----------------------------------------------- */

static const char *const kinds[] = {"count", "noop", "flaky", "doomed", "fatal", "tick", NULL};

static void on_enqueued(rz_dbres_t *res, void *u)
{
    rz_req_t *req = u;
    if (H->dbres_status(res) != RZ_OK) {
        reply_dbres_error(req, res);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "enqueued", (double)H->dbres_affected(res));
    H->reply_json(req, 201, o);
}

static void post_jobs(rz_req_t *req, void *u)
{
    (void)u;
    /* The host clock, not SQL now(): due-ness compares with it. */
    static const char sql[] =
        "INSERT INTO rentezy.jobs (plugin, kind, payload, run_at, state, created_at, updated_at) "
        "SELECT 'dbprobe', $1, jsonb_build_object('n', $3::bigint + g), "
        "to_timestamp($4::bigint / 1000.0), 'due', to_timestamp($4::bigint / 1000.0), "
        "to_timestamp($4::bigint / 1000.0) FROM generate_series(1, $2::int) g";
    long long n = 0, start = 0;
    const char *kind = H->req_query(req, "kind");
    if (!kind)
        kind = "count";
    int known = 0;
    for (size_t i = 0; kinds[i]; i++)
        known |= strcmp(kinds[i], kind) == 0;
    if (!known) {
        H->reply_error(req, 400, "invalid", "kind", "unknown job kind");
        return;
    }
    if (parse_i64(H->req_query(req, "n"), 1, 1000000, &n) != 0) {
        H->reply_error(req, 400, "invalid", "n", "n must be 1..1000000");
        return;
    }
    const char *s = H->req_query(req, "start");
    if (s && parse_i64(s, 0, INT64_MAX / 2, &start) != 0) {
        H->reply_error(req, 400, "invalid", "start", "start must be a non-negative integer");
        return;
    }
    char nt[24], st[24], now[24];
    snprintf(nt, sizeof(nt), "%lld", n);
    snprintf(st, sizeof(st), "%lld", start);
    snprintf(now, sizeof(now), "%lld", (long long)H->now_ms());
    const char *p[] = {kind, nt, st, now};
    int rc = H->db_query(SELF, 0, sql, 4, p, on_enqueued, req);
    if (rc != RZ_OK)
        reply_db_failure(req, rc, "enqueueing jobs");
}

/* ---- job handlers -------------------------------------------------------- */

typedef struct run {
    rz_job_t *job;
    char n[24];
    char pid[16];
    char attempt[16];
} run_t;

static run_t *run_new(rz_job_t *job)
{
    run_t *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->job = job;
    cJSON *p = cJSON_Parse(H->job_payload(job));
    cJSON *n = cJSON_GetObjectItemCaseSensitive(p, "n");
    snprintf(r->n, sizeof(r->n), "%lld", cJSON_IsNumber(n) ? (long long)n->valuedouble : -1LL);
    cJSON_Delete(p);
    snprintf(r->pid, sizeof(r->pid), "%d", (int)getpid());
    snprintf(r->attempt, sizeof(r->attempt), "%d", H->job_attempt(job));
    return r;
}

static void on_counted(rz_dbres_t *res, void *u)
{
    run_t *r = u;
    if (H->dbres_status(res) == RZ_OK)
        H->job_done(r->job, RZ_JOB_DONE, NULL);
    else
        H->job_done(r->job, RZ_JOB_RETRY, H->dbres_message(res));
    free(r);
}

static void count_finish(run_t *r)
{
    const char *p1[] = {r->n};
    const char *p2[] = {r->n, r->pid, r->attempt};
    rz_stmt_t st[] = {{"DELETE FROM dbprobe.active WHERE n = $1::bigint", 1, p1},
                      {"INSERT INTO dbprobe.runs (n, pid, attempt) VALUES ($1::bigint, $2::int, "
                       "$3::int)",
                       3, p2}};
    int rc = H->db_tx(SELF, st, 2, on_counted, r);
    if (rc != RZ_OK) {
        H->job_done(r->job, RZ_JOB_RETRY, "database unavailable");
        free(r);
    }
}

static void on_overlap(rz_dbres_t *res, void *u)
{
    (void)res;
    count_finish(u);
}

static void on_marked(rz_dbres_t *res, void *u)
{
    run_t *r = u;
    if (H->dbres_status(res) == RZ_OK) {
        count_finish(r);
        return;
    }
    const char *state = H->dbres_sqlstate(res);
    if (state && strcmp(state, "23505") == 0) {
        /* Another run of this very job is active right now. */
        H->log(SELF, RZ_LOG_ERROR, "job n=%s runs twice at the same time", r->n);
        const char *p[] = {r->n, r->pid};
        if (H->db_query(SELF, 0, "INSERT INTO dbprobe.twice (n, pid) VALUES ($1::bigint, $2::int)",
                        2, p, on_overlap, r) != RZ_OK)
            count_finish(r);
        return;
    }
    H->job_done(r->job, RZ_JOB_RETRY, H->dbres_message(res));
    free(r);
}

static void job_count(rz_job_t *job, void *u)
{
    (void)u;
    run_t *r = run_new(job);
    if (!r) {
        H->job_done(job, RZ_JOB_RETRY, "out of memory");
        return;
    }
    const char *p[] = {r->n, r->pid};
    if (H->db_query(SELF, 0, "INSERT INTO dbprobe.active (n, pid) VALUES ($1::bigint, $2::int)", 2,
                    p, on_marked, r) != RZ_OK) {
        H->job_done(job, RZ_JOB_RETRY, "database unavailable");
        free(r);
    }
}

static void job_noop(rz_job_t *job, void *u)
{
    (void)u;
    H->job_done(job, RZ_JOB_DONE, NULL);
}

static void job_flaky(rz_job_t *job, void *u)
{
    (void)u;
    if (H->job_attempt(job) < 3)
        H->job_done(job, RZ_JOB_RETRY, "flaky: not yet");
    else
        H->job_done(job, RZ_JOB_DONE, NULL);
}

static void job_doomed(rz_job_t *job, void *u)
{
    (void)u;
    H->job_done(job, RZ_JOB_RETRY, "doomed: always fails");
}

static void job_fatal(rz_job_t *job, void *u)
{
    (void)u;
    H->job_done(job, RZ_JOB_FAIL, "fatal: retrying cannot help");
}

static void on_ticked(rz_dbres_t *res, void *u)
{
    rz_job_t *job = u;
    if (H->dbres_status(res) == RZ_OK)
        H->job_done(job, RZ_JOB_DONE, NULL);
    else
        H->job_done(job, RZ_JOB_RETRY, H->dbres_message(res));
}

static void job_tick(rz_job_t *job, void *u)
{
    (void)u;
    char pid[16];
    snprintf(pid, sizeof(pid), "%d", (int)getpid());
    const char *p[] = {H->job_payload(job), pid};
    if (H->db_query(SELF, 0,
                    "INSERT INTO dbprobe.ticks (occurrence, occurrence_ms, pid) SELECT "
                    "j->>'occurrence', (j->>'occurrence_ms')::bigint, $2::int FROM "
                    "(SELECT $1::jsonb AS j) s",
                    2, p, on_ticked, job) != RZ_OK)
        H->job_done(job, RZ_JOB_RETRY, "database unavailable");
}

/* ---- init -------------------------------------------------------------------- */

static const char openapi[] =
    "{\"/v1/dbprobe/items/{id}\":{\"get\":{\"summary\":\"Read one item (one indexed SELECT, "
    "read-only)\",\"tags\":[\"dbprobe\"],"
    "\"parameters\":[{\"name\":\"id\",\"in\":\"path\",\"required\":true,"
    "\"schema\":{\"type\":\"integer\",\"minimum\":1}}],"
    "\"responses\":{\"200\":{\"description\":\"the item\",\"content\":{\"application/json\":"
    "{\"schema\":{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"integer\"},"
    "\"name\":{\"type\":\"string\"}}}}}},"
    "\"400\":{\"description\":\"id is not a positive integer\"},"
    "\"404\":{\"description\":\"no such item\"},"
    "\"503\":{\"description\":\"database unavailable\"}}}},"
    "\"/v1/dbprobe/badparam\":{\"post\":{\"summary\":\"Send a statement the database refuses "
    "and answer with the error result\",\"tags\":[\"dbprobe\"],"
    "\"parameters\":[{\"name\":\"case\",\"in\":\"query\",\"required\":false,"
    "\"schema\":{\"type\":\"string\",\"enum\":[\"type\",\"overflow\",\"count\",\"utf8\","
    "\"syntax\",\"tx\",\"einval\"],\"default\":\"type\"}}],"
    "\"responses\":{\"400\":{\"description\":\"unknown case, or refused by the host\"},"
    "\"422\":{\"description\":\"the database refused it: code, message, sqlstate\"},"
    "\"503\":{\"description\":\"database unavailable\"}}}},"
    "\"/v1/dbprobe/jobs\":{\"post\":{\"summary\":\"Enqueue n jobs in one INSERT ... SELECT "
    "generate_series\",\"tags\":[\"dbprobe\"],"
    "\"parameters\":[{\"name\":\"n\",\"in\":\"query\",\"required\":true,"
    "\"schema\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":1000000}},"
    "{\"name\":\"kind\",\"in\":\"query\",\"required\":false,\"schema\":{\"type\":\"string\","
    "\"enum\":[\"count\",\"noop\",\"flaky\",\"doomed\",\"fatal\",\"tick\"],\"default\":\"count\"}},"
    "{\"name\":\"start\",\"in\":\"query\",\"required\":false,"
    "\"schema\":{\"type\":\"integer\",\"minimum\":0,\"default\":0}}],"
    "\"responses\":{\"201\":{\"description\":\"{\\\"enqueued\\\": n}\"},"
    "\"400\":{\"description\":\"bad n, kind or start\"},"
    "\"503\":{\"description\":\"database unavailable\"}}}}}";

static int init(rz_plugin_t *self, const rz_host_t *host, void **state)
{
    (void)state;
    H = host;
    SELF = self;
    int64_t nmig;
    const char *cron, *tz;
    if (host->config_int(self, "migrations", 1, &nmig) != RZ_OK || nmig < 1 || nmig > 2 ||
        host->config_string(self, "schedule_cron", "0 9 * * *", &cron) != RZ_OK ||
        host->config_string(self, "schedule_tz", "Europe/Berlin", &tz) != RZ_OK)
        return RZ_EINVAL;
    if (host->migration(self, 1, "items", mig1) != RZ_OK ||
        (nmig >= 2 && host->migration(self, 2, "extra", mig2) != RZ_OK))
        return RZ_ERR;

    static const rz_job_fn fns[] = {job_count, job_noop,  job_flaky,
                                    job_doomed, job_fatal, job_tick};
    for (size_t i = 0; kinds[i]; i++)
        if (host->job_register(self, kinds[i], fns[i], NULL) != RZ_OK)
            return RZ_ERR;
    if (*cron && host->job_schedule(self, "daily", cron, tz, "tick") != RZ_OK)
        return RZ_ERR;

    static const rz_route_t routes[] = {
        {.size = sizeof(rz_route_t), .method = "GET", .path = "/v1/dbprobe/items/{id}",
         .handler = get_item, .summary = "read one item"},
        {.size = sizeof(rz_route_t), .method = "POST", .path = "/v1/dbprobe/badparam",
         .handler = post_badparam, .summary = "a statement the database refuses"},
        {.size = sizeof(rz_route_t), .method = "POST", .path = "/v1/dbprobe/jobs",
         .handler = post_jobs, .summary = "enqueue n jobs"},
    };
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        if (host->route(self, &routes[i]) != RZ_OK)
            return RZ_ERR;
    return host->openapi(self, openapi);
}

static const char *const reqs[] = {"cap:db", "cap:jobs", NULL};
RZ_PLUGIN_DEFINE(.name = "dbprobe", .version = "1.0.0",
                 .description = "Test plugin: database, migrations and jobs end to end",
                 .requires = reqs, .init = init)
