/*
 * test_jobs.c — durable jobs and schedules against a real PostgreSQL
 * (RZ_TEST_PGURL).  Every test uses its own plugin name (with the pid), so
 * it only ever claims its own jobs, even beside other suites.
 */
#include "dbtest.h"

#include <signal.h>
#include <sys/wait.h>

#include <event2/buffer.h>

#include "cron.h"
#include "jobs.h"
#include "migrate.h"

static char pname[64];
static rz_plugin_desc_t desc = {.magic = RZ_PLUGIN_MAGIC, .name = pname};
static rz_plugin_t plug = {.desc = &desc};

static rz_jobs_opts_t fast_opts(void)
{
    return (rz_jobs_opts_t){.poll_interval_ms = 50,
                            .batch = 16,
                            .lease_ms = 60000,
                            .max_attempts = 5,
                            .backoff_base_ms = 1000,
                            .backoff_max_ms = 60000,
                            .keep_done_ms = 86400000};
}

/* Fresh plugin name, fresh shared clock, host tables in place. */
static void setup(const char *prefix, const rz_jobs_opts_t *jo)
{
    char err[512];
    snprintf(pname, sizeof(pname), "%s_%d", prefix, (int)getpid());
    ck_assert(rz__clock_init() == 0);
    rz_db_opts_t o = t_db_opts(t_pgurl());
    ck_assert(rz__db_configure_opts(&o, err, sizeof(err)) == 0);
    rz__migrate_reset();
    ck_assert_msg(rz__migrate_apply(NULL, err, sizeof(err)) == 0, "%s", err);
    rz__jobs_reset();
    ck_assert(rz__jobs_configure_opts(jo, err, sizeof(err)) == 0);
}

static void cleanup(void)
{
    char sql[256];
    PGconn *c = t_admin();
    snprintf(sql, sizeof(sql), "DELETE FROM rentezy.jobs WHERE plugin = '%s'", pname);
    t_exec(c, sql);
    snprintf(sql, sizeof(sql), "DELETE FROM rentezy.schedules WHERE plugin = '%s'", pname);
    t_exec(c, sql);
    snprintf(sql, sizeof(sql), "DROP TABLE IF EXISTS tj_active_%d, tj_runs_%d", (int)getpid(),
             (int)getpid());
    t_exec(c, sql);
    PQfinish(c);
    rz__jobs_reset();
}

static long long q(const char *fmt)
{
    char sql[512];
    snprintf(sql, sizeof(sql), fmt, pname);
    PGconn *c = t_admin();
    long long v = t_scalar(c, sql);
    PQfinish(c);
    return v;
}

static void reg(const char *kind, rz_job_fn fn, void *udata)
{
    rz__rt.in_init = 1;
    ck_assert_int_eq(rz__svc_job_register(&plug, kind, fn, udata), 0);
    rz__rt.in_init = 0;
}

static struct event_base *up(void)
{
    rz_db_opts_t o = t_db_opts(t_pgurl());
    struct event_base *base = t_db_up(&o);
    ck_assert(rz__jobs_worker_start(base) == 0);
    return base;
}

static void down(struct event_base *base)
{
    rz__jobs_worker_stop();
    t_db_down(base);
}

/* ---- a handler that records what it saw ----------------------------------- */

typedef struct seen {
    int runs;
    int result; /* what to answer */
    char kind[64], payload[256];
    int attempt[16];
} seen_t;

static void h_record(rz_job_t *job, void *u)
{
    seen_t *s = u;
    snprintf(s->kind, sizeof(s->kind), "%s", rz__svc_job_kind(job));
    snprintf(s->payload, sizeof(s->payload), "%s", rz__svc_job_payload(job));
    if (s->runs < 16)
        s->attempt[s->runs] = rz__svc_job_attempt(job);
    s->runs++;
    char err[32];
    snprintf(err, sizeof(err), "boom %d", s->runs);
    rz__svc_job_done(job, s->result, err);
    rz__svc_job_done(job, s->result, err); /* a second call is ignored */
}

static int idle(void *p)
{
    (void)p;
    return rz__jobs_inflight() == 0 && rz__db_pending() == 0;
}

static void settle(struct event_base *base) { ck_assert(t_loop_until(base, idle, NULL, 10)); }

static int runs_at_least(void *p) { return ((seen_t *)p)->runs >= 1; }

START_TEST(test_jobs_registration_rules)
{
    rz_jobs_opts_t jo = fast_opts();
    setup("tj_reg", &jo);
    seen_t s = {0};
    ck_assert_int_eq(rz__svc_job_register(&plug, "a", h_record, &s), RZ_ESTATE); /* not in init */
    rz__rt.in_init = 1;
    ck_assert_int_eq(rz__svc_job_register(&plug, "a", h_record, &s), RZ_OK);
    ck_assert_int_eq(rz__svc_job_register(&plug, "a", h_record, &s), RZ_EEXIST);
    ck_assert_int_eq(rz__svc_job_register(&plug, "Bad Kind", h_record, &s), RZ_EINVAL);
    ck_assert_int_eq(rz__svc_job_register(&plug, "b", NULL, &s), RZ_EINVAL);
    ck_assert_int_eq(rz__svc_job_schedule(&plug, "s1", "0 9 1 * *", "Europe/Berlin", "a"), RZ_OK);
    ck_assert_int_eq(rz__svc_job_schedule(&plug, "s1", "0 9 1 * *", "Europe/Berlin", "a"),
                     RZ_EEXIST);
    ck_assert_int_eq(rz__svc_job_schedule(&plug, "s2", "0 9 1 * *", "Europe/Berlin", "nokind"),
                     RZ_EINVAL);
    ck_assert_int_eq(rz__svc_job_schedule(&plug, "s3", "0 25 * * *", "UTC", "a"), RZ_EINVAL);
    ck_assert_int_eq(rz__svc_job_schedule(&plug, "s4", "0 0 30 2 *", "UTC", "a"), RZ_EINVAL);
    ck_assert_int_eq(rz__svc_job_schedule(&plug, "s5", "0 9 * * *", "Mars/Base", "a"), RZ_EINVAL);
    rz__rt.in_init = 0;
    ck_assert_int_eq(rz__svc_job_schedule(&plug, "s6", "0 9 * * *", "UTC", "a"), RZ_ESTATE);
    /* Enqueue needs a worker, a registered kind and JSON. */
    ck_assert_int_eq(rz__svc_job_enqueue(&plug, "a", "{}", 0, NULL, NULL), RZ_ESTATE);
    struct event_base *base = up();
    ck_assert_int_eq(rz__svc_job_enqueue(&plug, "nokind", "{}", 0, NULL, NULL), RZ_EINVAL);
    ck_assert_int_eq(rz__svc_job_enqueue(&plug, "a", "{not json", 0, NULL, NULL), RZ_EINVAL);
    ck_assert_int_eq(rz__svc_job_enqueue(NULL, "a", "{}", 0, NULL, NULL), RZ_EINVAL);
    ck_assert_ptr_null(rz__svc_job_kind(NULL));
    ck_assert_int_eq(rz__svc_job_attempt(NULL), 0);
    rz__svc_job_done(NULL, RZ_JOB_DONE, NULL);
    down(base);
    cleanup();
}
END_TEST

static void on_enq(rz_dbres_t *res, void *u)
{
    *(int *)u = rz__svc_dbres_status(res) == RZ_OK && rz__svc_dbres_rows(res) == 1 ? 1 : -1;
}

START_TEST(test_jobs_enqueued_job_runs_once_then_done)
{
    rz_jobs_opts_t jo = fast_opts();
    setup("tj_once", &jo);
    seen_t s = {.result = RZ_JOB_DONE};
    reg("greet", h_record, &s);
    struct event_base *base = up();
    int stored = 0;
    ck_assert_int_eq(rz__svc_job_enqueue(&plug, "greet", "{\"to\": \"ana\"}", 0, on_enq, &stored),
                     0);
    ck_assert(t_loop_until(base, runs_at_least, &s, 10));
    settle(base);
    ck_assert_int_eq(stored, 1);
    ck_assert_int_eq(s.runs, 1);
    ck_assert_str_eq(s.kind, "greet");
    ck_assert_str_eq(s.payload, "{\"to\": \"ana\"}");
    ck_assert_int_eq(s.attempt[0], 1);
    ck_assert_int_eq(q("SELECT count(*) FROM rentezy.jobs WHERE plugin = '%s' AND state = 'done' "
                       "AND locked_by IS NULL AND attempts = 1"),
                     1);
    /* Polls go on; nothing runs twice. */
    rz__jobs_kick();
    t_loop_until(base, t_flag_set, &(int){0}, 0.2);
    ck_assert_int_eq(s.runs, 1);
    down(base);
    cleanup();
}
END_TEST

START_TEST(test_jobs_future_job_waits_for_the_clock)
{
    rz_jobs_opts_t jo = fast_opts();
    setup("tj_future", &jo);
    seen_t s = {.result = RZ_JOB_DONE};
    reg("later", h_record, &s);
    struct event_base *base = up();
    int stored = 0;
    ck_assert_int_eq(rz__svc_job_enqueue(&plug, "later", NULL, rz__now_ms() + 3600 * 1000,
                                         on_enq, &stored), 0);
    ck_assert(t_loop_until(base, t_flag_set, &stored, 5));
    t_loop_until(base, t_flag_set, &(int){0}, 0.3); /* several polls */
    ck_assert_int_eq(s.runs, 0);
    rz__clock_advance(3600 * 1000);
    rz__jobs_kick();
    ck_assert(t_loop_until(base, runs_at_least, &s, 5));
    ck_assert_str_eq(s.payload, "{}");
    settle(base);
    down(base);
    cleanup();
}
END_TEST

START_TEST(test_jobs_retry_backoff_then_dead)
{
    rz_jobs_opts_t jo = fast_opts();
    jo.max_attempts = 3;
    jo.backoff_base_ms = 1000;
    jo.backoff_max_ms = 1500;
    setup("tj_retry", &jo);
    seen_t s = {.result = RZ_JOB_RETRY};
    reg("flaky", h_record, &s);
    struct event_base *base = up();
    ck_assert_int_eq(rz__svc_job_enqueue(&plug, "flaky", "{}", 0, NULL, NULL), 0);
    ck_assert(t_loop_until(base, runs_at_least, &s, 10));
    settle(base);
    static const char delay[] =
        "SELECT (extract(epoch FROM run_at - updated_at) * 1000)::bigint FROM rentezy.jobs "
        "WHERE plugin = '%s' AND state = 'due'";
    long long d = q(delay);
    ck_assert_msg(d >= 800 && d <= 1200, "first backoff %lld ms", d); /* 1 s +-20% */

    rz__clock_advance(500);
    rz__jobs_kick();
    t_loop_until(base, t_flag_set, &(int){0}, 0.2);
    ck_assert_int_eq(s.runs, 1); /* not yet: the backoff is at least 0.8 s */
    rz__clock_advance(1000);
    rz__jobs_kick();
    ck_assert(t_loop_until(base, t_flag_set, &s.attempt[1], 5));
    settle(base);
    d = q(delay);
    ck_assert_msg(d >= 1200 && d <= 1800, "capped backoff %lld ms", d); /* min(2 s, 1.5 s) +-20% */

    rz__clock_advance(2000);
    rz__jobs_kick();
    ck_assert(t_loop_until(base, t_flag_set, &s.attempt[2], 5));
    settle(base);
    ck_assert_int_eq(s.attempt[0], 1);
    ck_assert_int_eq(s.attempt[1], 2);
    ck_assert_int_eq(s.attempt[2], 3);
    ck_assert_int_eq(q("SELECT count(*) FROM rentezy.jobs WHERE plugin = '%s' AND state = 'dead' "
                       "AND last_error = 'boom 3' AND attempts = 3"),
                     1);
    rz__clock_advance(3600 * 1000);
    rz__jobs_kick();
    t_loop_until(base, t_flag_set, &(int){0}, 0.2);
    ck_assert_int_eq(s.runs, 3); /* dead stays dead */

    struct evbuffer *b = evbuffer_new();
    rz__jobs_metrics(b, 0);
    evbuffer_add(b, "", 1);
    const char *t = (const char *)evbuffer_pullup(b, -1);
    ck_assert_msg(strstr(t, "event=\"retried\"} 2") && strstr(t, "event=\"dead\"} 1"), "%s", t);
    ck_assert(strstr(t, "rentezy_jobs{worker=\"0\",state=\"dead\"}"));
    evbuffer_free(b);

    /* The operator brings it back. */
    char id[32], *argv[] = {"jobs", "retry", id, NULL}, *list[] = {"jobs", "list", "--dead", "--plugin", pname, NULL};
    snprintf(id, sizeof(id), "%lld", q("SELECT id FROM rentezy.jobs WHERE plugin = '%s'"));
    ck_assert_int_eq(rz__jobs_cli(5, list), 0);
    ck_assert_int_eq(rz__jobs_cli(3, argv), 0);
    ck_assert_int_eq(q("SELECT attempts FROM rentezy.jobs WHERE plugin = '%s' AND state = 'due'"), 0);
    char *bad[] = {"jobs", "retry", "x1", NULL};
    ck_assert_int_eq(rz__jobs_cli(3, bad), 2);
    down(base);
    cleanup();
}
END_TEST

START_TEST(test_jobs_expired_lease_is_claimed_again)
{
    rz_jobs_opts_t jo = fast_opts();
    setup("tj_lease", &jo);
    seen_t s = {.result = RZ_JOB_DONE};
    reg("orphan", h_record, &s);
    char sql[512];
    snprintf(sql, sizeof(sql),
             "INSERT INTO rentezy.jobs (plugin, kind, state, attempts, locked_by, locked_until) "
             "VALUES ('%s', 'orphan', 'running', 1, 'ghost:1', now() - interval '1 second')",
             pname);
    PGconn *c = t_admin();
    t_exec(c, sql);
    PQfinish(c);
    struct event_base *base = up();
    ck_assert(t_loop_until(base, runs_at_least, &s, 10));
    settle(base);
    ck_assert_int_eq(s.attempt[0], 2);
    ck_assert_int_eq(q("SELECT count(*) FROM rentezy.jobs WHERE plugin = '%s' AND state = 'done' "
                       "AND last_error LIKE '%%lease expired%%'"),
                     1);
    down(base);
    cleanup();
}
END_TEST

static void on_tx(rz_dbres_t *res, void *u) { *(int *)u = rz__svc_dbres_status(res) == RZ_OK ? 1 : -1; }

START_TEST(test_jobs_enqueue_in_the_same_transaction)
{
    rz_jobs_opts_t jo = fast_opts();
    setup("tj_tx", &jo);
    seen_t s = {.result = RZ_JOB_DONE};
    reg("after_write", h_record, &s);
    struct event_base *base = up();
    static const char job[] =
        "INSERT INTO rentezy.jobs (plugin, kind, payload) VALUES ($1, 'after_write', $2::jsonb)";
    const char *good[] = {pname, "{\"ok\": true}"}, *fail[] = {"1"};
    rz_stmt_t failing[] = {{job, 2, good}, {"SELECT 1 / ($1::int - 1)", 1, fail}};
    int done = 0;
    ck_assert_int_eq(rz__svc_db_tx(&plug, failing, 2, on_tx, &done), 0);
    ck_assert(t_loop_until(base, t_flag_set, &done, 5));
    ck_assert_int_eq(done, -1);
    ck_assert_int_eq(q("SELECT count(*) FROM rentezy.jobs WHERE plugin = '%s'"), 0);
    rz_stmt_t ok[] = {{job, 2, good}};
    done = 0;
    ck_assert_int_eq(rz__svc_db_tx(&plug, ok, 1, on_tx, &done), 0);
    ck_assert(t_loop_until(base, t_flag_set, &done, 5));
    ck_assert_int_eq(done, 1);
    ck_assert(t_loop_until(base, runs_at_least, &s, 5));
    ck_assert_str_eq(s.payload, "{\"ok\": true}");
    settle(base);
    down(base);
    cleanup();
}
END_TEST

static int slow_started;
static void slow_answered(rz_dbres_t *res, void *u)
{
    /* Arrives during rz__db_worker_stop, after the jobs service stopped. */
    rz__svc_job_done(u, rz__svc_dbres_status(res) == RZ_OK ? RZ_JOB_DONE : RZ_JOB_RETRY, "stopped");
}

static void h_slow(rz_job_t *job, void *u)
{
    (void)u;
    slow_started = 1;
    ck_assert_int_eq(rz__svc_db_query(&plug, 0, "SELECT pg_sleep(5)", 0, NULL, slow_answered, job), 0);
}

START_TEST(test_jobs_stop_with_a_handler_still_running)
{
    rz_jobs_opts_t jo = fast_opts();
    setup("tj_stop", &jo);
    reg("slow", h_slow, NULL);
    struct event_base *base = up();
    ck_assert_int_eq(rz__svc_job_enqueue(&plug, "slow", NULL, 0, NULL, NULL), 0);
    ck_assert(t_loop_until(base, t_flag_set, &slow_started, 10));
    ck_assert_int_eq(rz__jobs_inflight(), 1);
    down(base); /* ASan: the late job_done must neither crash nor leak */
    ck_assert_int_eq(q("SELECT count(*) FROM rentezy.jobs WHERE plugin = '%s' AND state = 'running'"), 1);
    cleanup();
}
END_TEST

/* ---- 10,000 jobs, four processes ------------------------------------------ */

enum { LOAD_JOBS = 10000, LOAD_PROCS = 4 };
static char load_active[64], load_runs[64];
static int load_violations;

typedef struct load_run {
    rz_job_t *job;
    char key[64];
} load_run_t;

static void load_finished(rz_dbres_t *res, void *u)
{
    load_run_t *r = u;
    if (rz__svc_dbres_status(res) != RZ_OK)
        load_violations++;
    rz__svc_job_done(r->job, RZ_JOB_DONE, NULL);
    free(r);
}

static void load_started(rz_dbres_t *res, void *u)
{
    load_run_t *r = u;
    char sql[256], pid[16];
    if (rz__svc_dbres_status(res) != RZ_OK) {
        /* 23505: another process is running this job right now. */
        load_violations++;
        rz__svc_job_done(r->job, RZ_JOB_RETRY, rz__svc_dbres_message(res));
        free(r);
        return;
    }
    snprintf(sql, sizeof(sql),
             "WITH d AS (DELETE FROM %s WHERE key = $1) INSERT INTO %s (key, pid) VALUES ($1, "
             "$2::int)",
             load_active, load_runs);
    snprintf(pid, sizeof(pid), "%d", (int)getpid());
    const char *p[] = {r->key, pid};
    if (rz__svc_db_query(&plug, 0, sql, 2, p, load_finished, r) != 0) {
        load_violations++;
        rz__svc_job_done(r->job, RZ_JOB_RETRY, "unavailable");
        free(r);
    }
}

static void h_load(rz_job_t *job, void *u)
{
    load_run_t *r = malloc(sizeof(*r));
    char sql[128];
    r->job = job;
    snprintf(r->key, sizeof(r->key), "%s", rz__svc_job_payload(job));
    snprintf(sql, sizeof(sql), "INSERT INTO %s (key) VALUES ($1)", load_active);
    const char *p[] = {r->key};
    if (rz__svc_db_query(&plug, 0, sql, 1, p, load_started, r) != 0) {
        rz__svc_job_done(job, RZ_JOB_RETRY, "unavailable");
        free(r);
    }
}

static int load_left = -1;
static void on_left(rz_dbres_t *res, void *u)
{
    (void)u;
    if (rz__svc_dbres_status(res) == RZ_OK)
        load_left = atoi(rz__svc_dbres_value(res, 0, 0));
}

static void check_left(evutil_socket_t fd, short what, void *u)
{
    (void)fd, (void)what, (void)u;
    const char *p[] = {pname};
    rz__svc_db_query(NULL, RZ_DB_READONLY,
                     "SELECT count(*) FROM rentezy.jobs WHERE plugin = $1 AND state <> 'done'", 1,
                     p, on_left, NULL);
}

static int load_over(void *p)
{
    (void)p;
    return load_left == 0 && rz__jobs_inflight() == 0 && rz__db_pending() == 0;
}

static int load_child(void)
{
    struct event_base *base = event_base_new();
    if (rz__db_worker_start(base) != 0 || rz__jobs_worker_start(base) != 0)
        return 100;
    struct event *ev = event_new(base, -1, EV_PERSIST, check_left, NULL);
    struct timeval tv = {0, 100000};
    event_add(ev, &tv);
    int ok = t_loop_until(base, load_over, NULL, 50);
    event_free(ev);
    rz__jobs_worker_stop();
    rz__db_worker_stop();
    event_base_free(base);
    return ok ? (load_violations > 99 ? 99 : load_violations) : 101;
}

START_TEST(test_jobs_10000_jobs_four_processes_none_twice_at_once)
{
    rz_jobs_opts_t jo = fast_opts();
    jo.batch = 64;
    setup("tj_load", &jo);
    reg("load", h_load, NULL);
    snprintf(load_active, sizeof(load_active), "tj_active_%d", (int)getpid());
    snprintf(load_runs, sizeof(load_runs), "tj_runs_%d", (int)getpid());
    char sql[512];
    PGconn *c = t_admin();
    snprintf(sql, sizeof(sql), "CREATE TABLE %s (key text PRIMARY KEY)", load_active);
    t_exec(c, sql);
    snprintf(sql, sizeof(sql), "CREATE UNLOGGED TABLE %s (key text, pid int)", load_runs);
    t_exec(c, sql);
    snprintf(sql, sizeof(sql),
             "INSERT INTO rentezy.jobs (plugin, kind, payload, run_at) SELECT '%s', 'load', "
             "jsonb_build_object('n', g), now() - interval '1 second' "
             "FROM generate_series(1, %d) g",
             pname, LOAD_JOBS);
    t_exec(c, sql);

    double t0 = t_now();
    pid_t kids[LOAD_PROCS];
    for (int i = 0; i < LOAD_PROCS; i++)
        if ((kids[i] = fork()) == 0) {
            rz__rt.worker_index = i;
            _exit(load_child());
        }
    for (int i = 0; i < LOAD_PROCS; i++) {
        int st;
        waitpid(kids[i], &st, 0);
        ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child %d: status %d", i,
                      WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st));
    }
    double dt = t_now() - t0;
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", load_runs);
    ck_assert_int_eq(t_scalar(c, sql), LOAD_JOBS); /* every job ran, none twice */
    snprintf(sql, sizeof(sql), "SELECT count(DISTINCT key) FROM %s", load_runs);
    ck_assert_int_eq(t_scalar(c, sql), LOAD_JOBS);
    snprintf(sql, sizeof(sql), "SELECT count(DISTINCT pid) FROM %s", load_runs);
    long long procs = t_scalar(c, sql);
    ck_assert_int_ge(procs, 2); /* the work was shared */
    ck_assert_int_eq(q("SELECT count(*) FROM rentezy.jobs WHERE plugin = '%s' AND state = 'done' "
                       "AND attempts = 1"),
                     LOAD_JOBS);
    printf("jobs: %d jobs, %d processes (%lld took part): %.2f s, %.0f jobs/s\n", LOAD_JOBS,
           LOAD_PROCS, procs, dt, LOAD_JOBS / dt);
    PQfinish(c);
    cleanup();
}
END_TEST

/* ---- schedules over a simulated month -------------------------------------- */

static const struct {
    const char *name, *cron, *tz;
} scheds[] = {{"monthly", "0 9 1 * *", "Europe/Berlin"},
              {"nightly", "30 2 * * *", "Europe/Berlin"},
              {"hourly", "0 * * * *", "UTC"}};
enum { NSCHED = 3 };

static char sched_runs[64];
static void sched_ran(rz_dbres_t *res, void *u)
{
    rz__svc_job_done(u, rz__svc_dbres_status(res) == RZ_OK ? RZ_JOB_DONE : RZ_JOB_RETRY,
                     rz__svc_dbres_message(res));
}

/* Records each occurrence it runs; the primary key catches a second run. */
static void h_sched(rz_job_t *job, void *u)
{
    char sql[160];
    snprintf(sql, sizeof(sql), "INSERT INTO %s (payload) VALUES ($1::jsonb)", sched_runs);
    const char *p[] = {rz__svc_job_payload(job)};
    if (rz__svc_db_query(&plug, 0, sql, 1, p, sched_ran, job) != 0)
        rz__svc_job_done(job, RZ_JOB_RETRY, "unavailable");
}

static volatile sig_atomic_t stop_child;
static void on_term(int sig) { (void)sig, stop_child = 1; }
static int child_stop(void *p) { (void)p; return stop_child; }

static pid_t sched_child(void)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    signal(SIGTERM, on_term);
    struct event_base *base = event_base_new();
    if (rz__db_worker_start(base) != 0 || rz__jobs_worker_start(base) != 0)
        _exit(100);
    t_loop_until(base, child_stop, NULL, 60);
    t_loop_until(base, idle, NULL, 5);
    rz__jobs_worker_stop();
    rz__db_worker_stop();
    event_base_free(base);
    _exit(0);
}

static void reap(pid_t pid)
{
    int st;
    kill(pid, SIGTERM);
    waitpid(pid, &st, 0);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* Occurrences of every schedule in (from[i] - 1, to], from[i] being the
 * first next_run the workers stored. */
static long long expected(const int64_t *from, int64_t to)
{
    long long n = 0;
    for (int i = 0; i < NSCHED; i++) {
        rz_cron_t c;
        char err[128];
        rz__cron_parse(&c, scheds[i].cron, err, sizeof(err));
        for (int64_t t = from[i]; t <= to; t = rz__cron_next(&c, scheds[i].tz, t))
            n++;
    }
    return n;
}

/* Wait (polling: the work happens in other processes) until the table
 * holds want scheduled jobs, all done and recorded. */
static void wait_for(long long want)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", sched_runs);
    PGconn *c = t_admin();
    long long jobs = -1, runs = -1;
    for (double end = t_now() + 20; t_now() < end; usleep(20000)) {
        jobs = q("SELECT count(*) FROM rentezy.jobs WHERE plugin = '%s' AND state = 'done'");
        runs = t_scalar(c, sql);
        if (jobs >= want && runs >= want)
            break;
    }
    if (jobs != want || runs != want) {
        snprintf(sql, sizeof(sql),
                 "SELECT state, count(*), max(attempts), max(last_error) FROM rentezy.jobs "
                 "WHERE plugin = '%s' GROUP BY 1",
                 pname);
        PGresult *r = PQexec(c, sql);
        for (int i = 0; i < PQntuples(r); i++)
            fprintf(stderr, "state %s: %s jobs, attempts <= %s, error %s\n", PQgetvalue(r, i, 0),
                    PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), PQgetvalue(r, i, 3));
        PQclear(r);
    }
    PQfinish(c);
    ck_assert_int_eq(jobs, want);
    ck_assert_int_eq(runs, want);
}

START_TEST(test_jobs_schedules_fire_once_per_occurrence_over_a_month_with_catch_up)
{
    rz_jobs_opts_t jo = fast_opts();
    jo.keep_done_ms = 400 * 86400000LL; /* keep every done job to count it */
    setup("tj_cron", &jo);
    reg("tick", h_sched, NULL);
    rz__rt.in_init = 1;
    for (int i = 0; i < NSCHED; i++)
        ck_assert_int_eq(rz__svc_job_schedule(&plug, scheds[i].name, scheds[i].cron, scheds[i].tz,
                                              "tick"), 0);
    rz__rt.in_init = 0;
    snprintf(sched_runs, sizeof(sched_runs), "tj_runs_%d", (int)getpid());
    char sql[256];
    PGconn *c = t_admin();
    snprintf(sql, sizeof(sql), "CREATE TABLE %s (payload jsonb PRIMARY KEY)", sched_runs);
    t_exec(c, sql);

    /* Two workers tick the same schedules at the same time. */
    pid_t a = sched_child(), b = sched_child();
    for (double end = t_now() + 10;
         q("SELECT count(*) FROM rentezy.schedules WHERE plugin = '%s'") < NSCHED && t_now() < end;)
        usleep(20000);
    int64_t from[NSCHED];
    for (int i = 0; i < NSCHED; i++) {
        snprintf(sql, sizeof(sql),
                 "SELECT (extract(epoch FROM next_run) * 1000)::bigint FROM rentezy.schedules "
                 "WHERE plugin = '%s' AND name = '%s'",
                 pname, scheds[i].name);
        from[i] = t_scalar(c, sql);
    }
    /* A month, a day at a time. */
    for (int day = 1; day <= 31; day++) {
        rz__clock_advance(86400 * 1000);
        wait_for(expected(from, rz__now_ms()));
    }
    long long month = expected(from, rz__now_ms());
    ck_assert_int_ge(month, 31 * 24 + 31 + 1);
    reap(a);
    reap(b);

    /* Ten days with nobody up, then one worker starts and catches up. */
    rz__clock_advance(10 * 86400 * 1000LL);
    pid_t d = sched_child();
    wait_for(expected(from, rz__now_ms()));
    reap(d);
    ck_assert_int_eq(q("SELECT count(*) FROM rentezy.jobs WHERE plugin = '%s' AND dedup_key LIKE "
                       "'%%/monthly@%%'"),
                     expected((int64_t[]){from[0], INT64_MAX, INT64_MAX}, rz__now_ms()));
    printf("schedules: %lld occurrences in 41 simulated days, each run once\n",
           expected(from, rz__now_ms()));
    PQfinish(c);
    cleanup();
}
END_TEST

/* The database outlived a clock that was ahead (a test clock, a restored or
 * shared database): the stored next_run lies a month ahead and the
 * occurrence about to come round ran then.  The worker's sync restarts the
 * schedule from now and forgets that future run, so the occurrence fires,
 * once. */
START_TEST(test_jobs_schedule_stored_by_a_clock_that_was_ahead_restarts_from_now)
{
    rz_jobs_opts_t jo = fast_opts();
    setup("tj_back", &jo);
    seen_t s = {.result = RZ_JOB_DONE};
    reg("tick", h_record, &s);
    rz__rt.in_init = 1;
    ck_assert_int_eq(rz__svc_job_schedule(&plug, "hourly", "0 * * * *", "UTC", "tick"), 0);
    rz__rt.in_init = 0;
    rz_cron_t c;
    char err[128], sql[768];
    ck_assert(rz__cron_parse(&c, "0 * * * *", err, sizeof(err)) == 0);
    int64_t now = rz__now_ms(), occ = rz__cron_next(&c, "UTC", now);
    if (occ - now < 120000) { /* keep the occurrence beyond the host's skew allowance */
        rz__clock_advance(150000);
        now = rz__now_ms(), occ = rz__cron_next(&c, "UTC", now);
    }
    long long month = 30 * 86400000LL;
    PGconn *db = t_admin();
    snprintf(sql, sizeof(sql),
             "INSERT INTO rentezy.schedules (plugin, name, cron, tz, kind, next_run) VALUES "
             "('%s', 'hourly', '0 * * * *', 'UTC', 'tick', to_timestamp(%lld / 1000.0)); "
             "INSERT INTO rentezy.jobs (plugin, kind, run_at, state, dedup_key, attempts, "
             "created_at, updated_at) VALUES ('%s', 'tick', to_timestamp(%lld / 1000.0), 'done', "
             "'%s/hourly@%lld', 1, to_timestamp(%lld / 1000.0), to_timestamp(%lld / 1000.0))",
             pname, (long long)(now + month), pname, (long long)occ, pname, (long long)occ,
             (long long)(now + month), (long long)(now + month));
    t_exec(db, sql);
    struct event_base *base = up();
    for (double end = t_now() + 10; t_now() < end; t_loop_until(base, t_flag_set, &(int){0}, 0.05))
        if (q("SELECT count(*) FROM rentezy.schedules WHERE plugin = '%s' AND next_run < now() + "
              "interval '3 hours'") == 1)
            break;
    snprintf(sql, sizeof(sql),
             "SELECT (extract(epoch FROM next_run) * 1000)::bigint FROM rentezy.schedules "
             "WHERE plugin = '%s'", pname);
    ck_assert_int_eq(t_scalar(db, sql), occ);
    ck_assert_int_eq(q("SELECT count(*) FROM rentezy.jobs WHERE plugin = '%s'"), 0);
    t_loop_until(base, t_flag_set, &(int){0}, 0.2);
    ck_assert_int_eq(s.runs, 0);
    rz__clock_advance(occ - now + 1000);
    rz__jobs_kick();
    ck_assert(t_loop_until(base, runs_at_least, &s, 10));
    settle(base);
    t_loop_until(base, t_flag_set, &(int){0}, 0.2);
    ck_assert_int_eq(s.runs, 1);
    ck_assert_int_eq(q("SELECT count(*) FROM rentezy.jobs WHERE plugin = '%s' AND state = 'done'"),
                     1);
    PQfinish(db);
    down(base);
    cleanup();
}
END_TEST

int main(void)
{
    if (t_skip_without_pg("test_jobs"))
        return 0;
    Suite *s = suite_create("jobs");
    TCase *tc = tcase_create("jobs");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_jobs_registration_rules);
    tcase_add_test(tc, test_jobs_enqueued_job_runs_once_then_done);
    tcase_add_test(tc, test_jobs_future_job_waits_for_the_clock);
    tcase_add_test(tc, test_jobs_retry_backoff_then_dead);
    tcase_add_test(tc, test_jobs_expired_lease_is_claimed_again);
    tcase_add_test(tc, test_jobs_enqueue_in_the_same_transaction);
    tcase_add_test(tc, test_jobs_stop_with_a_handler_still_running);
    tcase_add_test(tc, test_jobs_10000_jobs_four_processes_none_twice_at_once);
    tcase_add_test(tc, test_jobs_schedules_fire_once_per_occurrence_over_a_month_with_catch_up);
    tcase_add_test(tc, test_jobs_schedule_stored_by_a_clock_that_was_ahead_restarts_from_now);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
