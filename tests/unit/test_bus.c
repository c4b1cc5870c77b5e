/*
 * test_bus.c — the event bus, embedded backend, against a real PostgreSQL
 * (RZ_TEST_PGURL).  Each test publishes to its own topic ("tb<pid>-..."),
 * so suites never see each other's events.  The consumer is this process:
 * its own event_base, db pool and bus worker, driven by t_loop_until.
 */
#include "dbtest.h"

#include <signal.h>
#include <stdarg.h>
#include <sys/wait.h>

#include <event2/buffer.h>

#include "bus.h"
#include "bus_int.h"
#include "config.h"
#include "idempotency.h"
#include "migrate.h"

static rz_plugin_desc_t desc = {.magic = RZ_PLUGIN_MAGIC, .name = "bustest"};
static rz_plugin_t plug = {.desc = &desc};
static char topic[64], topic2[64];

/* ---- set-up ------------------------------------------------------------------ */

static void configure(const char *extra)
{
    char err[512], buf[1024];
    rz_config_t *cfg = rz__config_new();
    snprintf(buf, sizeof(buf),
             "[bus]\nlease = 2s\npoll_interval = 200ms\nbackoff_base = 20ms\n"
             "backoff_max = 100ms\nmax_attempts = 3\n%s\n",
             extra ? extra : "");
    ck_assert(rz__config_parse_buffer(cfg, "test.conf", buf, strlen(buf), err, sizeof(err)) == 0);
    rz__migrate_reset();
    ck_assert_msg(rz__idem_configure(cfg, err, sizeof(err)) == 0, "%s", err);
    ck_assert_msg(rz__bus_configure(cfg, err, sizeof(err)) == 0, "%s", err);
    ck_assert_msg(rz__migrate_apply(NULL, err, sizeof(err)) == 0, "%s", err);
    rz__config_free(cfg);
}

static void setup_named(const char *extra)
{
    char err[256];
    snprintf(topic, sizeof(topic), "tb%d-a", (int)getpid());
    snprintf(topic2, sizeof(topic2), "tb%d-b", (int)getpid());
    ck_assert(rz__clock_init() == 0);
    rz_db_opts_t o = t_db_opts(t_pgurl());
    o.pool_size = 4;
    ck_assert(rz__db_configure_opts(&o, err, sizeof(err)) == 0);
    configure(extra);
    rz__bus_reset();
}

static void cleanup(void)
{
    char sql[512];
    PGconn *c = t_admin();
    snprintf(sql, sizeof(sql),
             "DELETE FROM rentezy.outbox WHERE topic LIKE 'tb%d-%%';"
             "DELETE FROM rentezy.outbox_heads WHERE topic LIKE 'tb%d-%%';"
             "DELETE FROM rentezy.bus_positions WHERE topic LIKE 'tb%d-%%';"
             "DELETE FROM rentezy.bus_dead WHERE topic LIKE 'tb%d-%%';"
             "DROP TABLE IF EXISTS tb_counters_%d",
             (int)getpid(), (int)getpid(), (int)getpid(), (int)getpid(), (int)getpid());
    t_exec(c, sql);
    PQfinish(c);
    rz__bus_reset();
}

static void sub(const char *t, const char *group, int mode, rz_bus_fn fn, void *u)
{
    rz__rt.in_init = 1;
    ck_assert_int_eq(rz__svc_bus_subscribe(&plug, t, group, mode, fn, u), RZ_OK);
    rz__rt.in_init = 0;
}

static struct event_base *up(void)
{
    rz_db_opts_t o = t_db_opts(t_pgurl());
    o.pool_size = 4;
    struct event_base *base = t_db_up(&o);
    ck_assert(rz__bus_worker_start(base) == 0);
    return base;
}

static void down(struct event_base *base)
{
    rz__bus_worker_stop();
    t_db_down(base);
}

/* Publish with plain libpq, in one transaction per call. */
static void publish_sql(PGconn *c, const char *t, const char *type, const char *subject,
                        long long version, const char *data)
{
    char v[24];
    snprintf(v, sizeof(v), "%lld", version);
    const char *p[] = {t, type, subject, v, data};
    PGresult *r = PQexecParams(c,
                               "SELECT rentezy.publish($1, $2, 'test', $3, $4::bigint, "
                               "$5::jsonb, '00-abc-def-01')",
                               5, NULL, p, NULL, NULL, 0);
    ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "publish: %s", PQresultErrorMessage(r));
    PQclear(r);
}

/* ---- a recording handler ------------------------------------------------------ */

#define MAXSEEN 4096
typedef struct seen {
    int n, ok;
    int answer;          /* RZ_BUS_OK, RETRY or FAIL */
    int fail_first;      /* answer `answer` only for the first N deliveries of "bad" */
    int twice;           /* call bus_done twice */
    char subject[MAXSEEN][32];
    long long version[MAXSEEN];
    int attempt[MAXSEEN];
    char type[64], id[64], source[32], data[128], topic[64];
    long long time_ms;
} seen_t;

static void h_record(rz_event_t *ev, void *u)
{
    seen_t *s = u;
    int i = s->n++;
    if (i < MAXSEEN) {
        snprintf(s->subject[i], sizeof(s->subject[i]), "%s", rz__svc_event_subject(ev));
        s->version[i] = rz__svc_event_version(ev);
        s->attempt[i] = rz__svc_event_attempt(ev);
    }
    snprintf(s->type, sizeof(s->type), "%s", rz__svc_event_type(ev));
    snprintf(s->id, sizeof(s->id), "%s", rz__svc_event_id(ev));
    snprintf(s->source, sizeof(s->source), "%s", rz__svc_event_source(ev));
    snprintf(s->data, sizeof(s->data), "%s", rz__svc_event_data(ev));
    snprintf(s->topic, sizeof(s->topic), "%s", rz__svc_event_topic(ev));
    s->time_ms = rz__svc_event_time_ms(ev);
    int res = RZ_BUS_OK;
    if (strcmp(rz__svc_event_subject(ev), "bad") == 0 &&
        (s->fail_first == 0 || rz__svc_event_attempt(ev) <= s->fail_first))
        res = s->answer;
    if (res == RZ_BUS_OK)
        s->ok++;
    rz__svc_bus_done(ev, res, res == RZ_BUS_OK ? NULL : "handler says no");
    if (s->twice)
        rz__svc_bus_done(ev, res, NULL); /* a second call is ignored */
}

typedef struct wait_ok {
    seen_t s;
    int want;
} wait_ok_t;

static int reached(void *p)
{
    wait_ok_t *w = p;
    return w->s.ok >= w->want;
}

static long long q1(const char *fmt)
{
    char sql[512];
    snprintf(sql, sizeof(sql), fmt, topic);
    PGconn *c = t_admin();
    long long v = t_scalar(c, sql);
    PQfinish(c);
    return v;
}

/* ---- tests --------------------------------------------------------------------- */

START_TEST(test_bus_subscribe_rules)
{
    setup_named(NULL);
    seen_t s = {0};
    ck_assert_int_eq(rz__svc_bus_subscribe(&plug, topic, "g", RZ_BUS_SHARED, h_record, &s),
                     RZ_ESTATE);
    rz__rt.in_init = 1;
    ck_assert_int_eq(rz__svc_bus_subscribe(&plug, topic, "g", RZ_BUS_SHARED, h_record, &s), RZ_OK);
    ck_assert_int_eq(rz__svc_bus_subscribe(&plug, topic, "g", RZ_BUS_SHARED, h_record, &s),
                     RZ_EEXIST);
    ck_assert_int_eq(rz__svc_bus_subscribe(&plug, "Bad Topic", "g", 0, h_record, &s), RZ_EINVAL);
    ck_assert_int_eq(rz__svc_bus_subscribe(&plug, topic, "G!", 0, h_record, &s), RZ_EINVAL);
    ck_assert_int_eq(rz__svc_bus_subscribe(&plug, topic, "_relay", 0, h_record, &s), RZ_EINVAL);
    ck_assert_int_eq(rz__svc_bus_subscribe(&plug, topic, "g2", 7, h_record, &s), RZ_EINVAL);
    ck_assert_int_eq(rz__svc_bus_subscribe(&plug, topic, "g2", 0, NULL, &s), RZ_EINVAL);
    ck_assert_int_eq(rz__svc_bus_subscribe(NULL, topic, "g2", 0, h_record, &s), RZ_EINVAL);
    rz__rt.in_init = 0;
    ck_assert(rz__bus_type_ok("booking.confirmed"));
    ck_assert(rz__bus_type_ok("a.b.c_d"));
    ck_assert(!rz__bus_type_ok("booking"));
    ck_assert(!rz__bus_type_ok("booking."));
    ck_assert(!rz__bus_type_ok(".x"));
    ck_assert(!rz__bus_type_ok("Booking.x"));
    ck_assert(rz__bus_topic_ok("booking-events", 0));
    ck_assert(!rz__bus_topic_ok("booking-events.dlq", 0));
    ck_assert(rz__bus_topic_ok("booking-events.dlq", 1));
    ck_assert(!rz__bus_topic_ok("booking--events", 0));
    ck_assert(!rz__bus_topic_ok("-x", 0));
    /* accessors tolerate NULL */
    ck_assert_ptr_null(rz__svc_event_id(NULL));
    ck_assert_int_eq(rz__svc_event_attempt(NULL), 0);
    rz__svc_bus_done(NULL, RZ_BUS_OK, NULL);
    cleanup();
}
END_TEST

START_TEST(test_bus_config_errors_name_the_line)
{
    char err[512];
    const char *bad[] = {"[bus]\nbackend = rabbit\n", "[bus]\nmax_attempts = 0\n",
                         "[bus]\nbackend = kafka\nbrokers =\n", "[bus]\nlease = 10ms\n",
                         "[bus]\nwat = 1\n", "[bus]\ncompacted = Not_A_Topic\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        rz_config_t *cfg = rz__config_new();
        ck_assert(rz__config_parse_buffer(cfg, "x.conf", bad[i], strlen(bad[i]), err,
                                          sizeof(err)) == 0);
        rz__migrate_reset();
        ck_assert(rz__idem_configure(cfg, err, sizeof(err)) == 0);
        ck_assert_msg(rz__bus_configure(cfg, err, sizeof(err)) == -1, "accepted: %s", bad[i]);
        ck_assert_msg(strstr(err, "x.conf:") != NULL, "no file:line in '%s'", err);
        rz__config_free(cfg);
    }
}
END_TEST

static void on_pub(rz_dbres_t *res, void *u)
{
    int *st = u;
    *st = rz__svc_dbres_status(res) == RZ_OK ? 1 : -1;
}

START_TEST(test_bus_publish_rejects_bad_input)
{
    setup_named(NULL);
    struct event_base *base = up();
    ck_assert_int_eq(rz__svc_bus_publish(&plug, "Bad", "x.y", "s", 1, "{}", NULL, NULL),
                     RZ_EINVAL);
    ck_assert_int_eq(rz__svc_bus_publish(&plug, topic, "nodot", "s", 1, "{}", NULL, NULL),
                     RZ_EINVAL);
    ck_assert_int_eq(rz__svc_bus_publish(&plug, topic, "x.y", "", 1, "{}", NULL, NULL),
                     RZ_EINVAL);
    ck_assert_int_eq(rz__svc_bus_publish(&plug, topic, "x.y", "s", 1, "{not json", NULL, NULL),
                     RZ_EINVAL);
    int st = 0;
    ck_assert_int_eq(rz__svc_bus_publish(&plug, topic, "x.y", "s", 1, "{\"a\":1}", on_pub, &st),
                     RZ_OK);
    ck_assert(t_loop_until(base, t_flag_set, &st, 10));
    ck_assert_int_eq(st, 1);
    ck_assert_int_eq(q1("SELECT count(*) FROM rentezy.outbox WHERE topic = '%s' AND source = "
                        "'bustest' AND data = '{\"a\":1}'"),
                     1);
    /* The SQL function refuses what the C service refuses. */
    PGconn *c = t_admin();
    PGresult *r = PQexec(c, "SELECT rentezy.publish('ok-topic', 'Bad Type', 'x', 's', 1, '{}')");
    ck_assert_str_eq(PQresultErrorField(r, PG_DIAG_SQLSTATE), "22023");
    PQclear(r);
    PQfinish(c);
    down(base);
    cleanup();
}
END_TEST

START_TEST(test_bus_rolled_back_transaction_leaves_no_event)
{
    setup_named(NULL);
    wait_ok_t w = {.want = 1};
    sub(topic, "atom", RZ_BUS_SHARED, h_record, &w.s);
    struct event_base *base = up();
    char pub[256];
    snprintf(pub, sizeof(pub), "SELECT rentezy.publish('%s', 'x.rolled_back', 'test', 's1', 1, '{}')",
             topic);
    rz_stmt_t st[] = {{pub, 0, NULL}, {"SELECT 1/0", 0, NULL}};
    int done = 0;
    ck_assert_int_eq(rz__svc_db_tx(NULL, st, 2, on_pub, &done), 0);
    ck_assert(t_loop_until(base, t_flag_set, &done, 10));
    ck_assert_int_eq(done, -1);
    ck_assert_int_eq(q1("SELECT count(*) FROM rentezy.outbox WHERE topic = '%s'"), 0);
    /* and the one after it, committed, is the only one delivered */
    PGconn *c = t_admin();
    publish_sql(c, topic, "x.committed", "s1", 2, "{}");
    PQfinish(c);
    ck_assert(t_loop_until(base, reached, &w, 10));
    t_loop_until(base, t_flag_set, &(int){0}, 0.3);
    ck_assert_int_eq(w.s.n, 1);
    ck_assert_str_eq(w.s.type, "x.committed");
    down(base);
    cleanup();
}
END_TEST

START_TEST(test_bus_delivers_in_order_with_the_envelope)
{
    setup_named(NULL);
    wait_ok_t w = {.want = 300, .s = {.twice = 1}};
    sub(topic, "order", RZ_BUS_SHARED, h_record, &w.s);
    struct event_base *base = up();
    PGconn *c = t_admin();
    PQclear(PQexec(c, "BEGIN"));
    for (int i = 1; i <= 100; i++)
        for (int k = 0; k < 3; k++) {
            char subj[16];
            snprintf(subj, sizeof(subj), "s%d", k);
            publish_sql(c, topic, "thing.changed", subj, i, "{\"n\": 1}");
        }
    PQclear(PQexec(c, "COMMIT"));
    PQfinish(c);
    ck_assert(t_loop_until(base, reached, &w, 20));
    long long last[3] = {0, 0, 0};
    for (int i = 0; i < w.s.n; i++) {
        int k = w.s.subject[i][1] - '0';
        ck_assert_msg(w.s.version[i] == last[k] + 1, "subject %s: %lld after %lld",
                      w.s.subject[i], w.s.version[i], last[k]);
        last[k] = w.s.version[i];
        ck_assert_int_eq(w.s.attempt[i], 1);
    }
    ck_assert_str_eq(w.s.type, "thing.changed");
    ck_assert_str_eq(w.s.source, "test");
    ck_assert_str_eq(w.s.topic, topic);
    ck_assert_str_eq(w.s.data, "{\"n\": 1}");
    ck_assert_int_eq(strlen(w.s.id), 36);
    ck_assert(llabs(w.s.time_ms - rz__now_ms()) < 60000);
    /* positions committed: nothing comes twice */
    t_loop_until(base, t_flag_set, &(int){0}, 0.5);
    ck_assert_int_eq(w.s.n, 300);
    down(base);
    cleanup();
}
END_TEST

static int idle(void *p)
{
    (void)p;
    return rz__bus_pending() == 0;
}

START_TEST(test_bus_late_commit_is_not_skipped)
{
    /* T1 publishes first (lower seq) and commits last; T2's event must wait
     * for T1, and both must arrive, T1's included. */
    setup_named(NULL);
    wait_ok_t w = {.want = 2};
    sub(topic, "late", RZ_BUS_SHARED, h_record, &w.s);
    struct event_base *base = up();
    PGconn *t1 = t_admin(), *t2 = t_admin();
    PQclear(PQexec(t1, "BEGIN"));
    publish_sql(t1, topic, "x.first", "a", 1, "{}");
    publish_sql(t2, topic, "x.second", "b", 1, "{}"); /* autocommit */
    /* Rows exist and are visible for b, but a is still open. */
    ck_assert(!t_loop_until(base, reached, &w, 0.6));
    ck_assert_int_eq(w.s.n, 0);
    PQclear(PQexec(t1, "COMMIT"));
    ck_assert(t_loop_until(base, reached, &w, 10));
    /* different subjects: any order, but both */
    ck_assert(strcmp(w.s.subject[0], w.s.subject[1]) != 0);
    ck_assert(strchr("ab", w.s.subject[0][0]) && strchr("ab", w.s.subject[1][0]));
    /* The other way round: a later transaction's event committed first is
     * delivered, the earlier one still comes once it commits. */
    PQclear(PQexec(t1, "BEGIN"));
    PQclear(PQexec(t1, "SELECT pg_current_xact_id()"));
    PQclear(PQexec(t2, "BEGIN"));
    publish_sql(t2, topic, "x.third", "c", 1, "{}");
    PQclear(PQexec(t2, "COMMIT"));
    publish_sql(t1, topic, "x.fourth", "d", 1, "{}");
    PQclear(PQexec(t1, "COMMIT"));
    w.want = 4;
    ck_assert(t_loop_until(base, reached, &w, 10));
    ck_assert(t_loop_until(base, idle, NULL, 5));
    ck_assert_int_eq(w.s.n, 4);
    PQfinish(t1);
    PQfinish(t2);
    down(base);
    cleanup();
}
END_TEST

START_TEST(test_bus_xid_inversion_on_one_subject_is_refused)
{
    /* T1 takes its xid first, T2 publishes subject s and commits, then T1
     * publishes s: reading in xid order would put T1's event first although
     * it committed last, so publish refuses it with 40001 (retry). */
    setup_named(NULL);
    PGconn *t1 = t_admin(), *t2 = t_admin();
    PQclear(PQexec(t1, "BEGIN"));
    PQclear(PQexec(t1, "SELECT pg_current_xact_id()"));
    publish_sql(t2, topic, "x.a", "s", 1, "{}");
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT rentezy.publish('%s', 'x.b', 'test', 's', 2, '{}')", topic);
    PGresult *r = PQexec(t1, sql);
    ck_assert_ptr_nonnull(PQresultErrorField(r, PG_DIAG_SQLSTATE));
    ck_assert_str_eq(PQresultErrorField(r, PG_DIAG_SQLSTATE), "40001");
    PQclear(r);
    PQclear(PQexec(t1, "ROLLBACK"));
    /* Retried, with a new xid, it goes through. */
    PQclear(PQexec(t1, "BEGIN"));
    r = PQexec(t1, sql);
    ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
    PQclear(r);
    PQclear(PQexec(t1, "COMMIT"));
    PQfinish(t1);
    PQfinish(t2);
    cleanup();
}
END_TEST

START_TEST(test_bus_fail_goes_to_dead_letters_and_later_events_flow)
{
    setup_named(NULL);
    wait_ok_t w = {.want = 3, .s = {.answer = RZ_BUS_FAIL}};
    sub(topic, "dlq", RZ_BUS_SHARED, h_record, &w.s);
    struct event_base *base = up();
    PGconn *c = t_admin();
    publish_sql(c, topic, "x.one", "good", 1, "{}");
    publish_sql(c, topic, "x.poison", "bad", 1, "{\"p\": true}");
    publish_sql(c, topic, "x.two", "good", 2, "{}");
    publish_sql(c, topic, "x.three", "other", 1, "{}");
    /* unknown type: inserted behind publish's back, never reaches the handler */
    char sql[512];
    snprintf(sql, sizeof(sql),
             "INSERT INTO rentezy.outbox (topic, type, source, subject, data) "
             "VALUES ('%s', 'NoSuchType', 'test', 'weird', '{}')", topic);
    t_exec(c, sql);
    PQfinish(c);
    ck_assert(t_loop_until(base, reached, &w, 10));
    ck_assert(t_loop_until(base, idle, NULL, 10));
    for (int i = 0; i < 100 && q1("SELECT count(*) FROM rentezy.bus_dead WHERE topic = '%s'") < 2; i++)
        t_loop_until(base, t_flag_set, &(int){0}, 0.05);
    ck_assert_int_eq(q1("SELECT count(*) FROM rentezy.bus_dead WHERE topic = '%s' AND grp = 'dlq' "
                        "AND subject = 'bad' AND attempts = 3 AND error = 'handler says no' "
                        "AND type = 'x.poison'"),
                     1);
    ck_assert_int_eq(q1("SELECT count(*) FROM rentezy.bus_dead WHERE topic = '%s' AND "
                        "subject = 'weird' AND error LIKE 'unknown event type%%'"),
                     1);
    int bad = 0, weird = 0;
    for (int i = 0; i < w.s.n; i++) {
        bad += strcmp(w.s.subject[i], "bad") == 0;
        weird += strcmp(w.s.subject[i], "weird") == 0;
    }
    ck_assert_int_eq(bad, 3);   /* max_attempts */
    ck_assert_int_eq(weird, 0); /* never reached the handler */
    ck_assert_int_eq(w.s.ok, 3);
    down(base);
    cleanup();
}
END_TEST

START_TEST(test_bus_retry_redelivers_until_ok)
{
    setup_named(NULL);
    wait_ok_t w = {.want = 2, .s = {.answer = RZ_BUS_RETRY, .fail_first = 5}};
    sub(topic, "retry", RZ_BUS_SHARED, h_record, &w.s);
    struct event_base *base = up();
    PGconn *c = t_admin();
    publish_sql(c, topic, "x.flaky", "bad", 1, "{}");
    publish_sql(c, topic, "x.after", "bad", 2, "{}");
    PQfinish(c);
    ck_assert(t_loop_until(base, reached, &w, 20));
    /* RETRY is not counted against max_attempts (3): each took 6
     * deliveries, and the second waited for the first (same subject) */
    ck_assert_int_eq(w.s.n, 12);
    for (int i = 0; i < 12; i++) {
        ck_assert_int_eq(w.s.attempt[i], i % 6 + 1);
        ck_assert_int_eq(w.s.version[i], i / 6 + 1);
    }
    ck_assert_int_eq(q1("SELECT count(*) FROM rentezy.bus_dead WHERE topic = '%s'"), 0);
    down(base);
    cleanup();
}
END_TEST

/* ---- two consumer processes ------------------------------------------------------ */

/* Child: consume topic in group/mode until `expect` events or 20 s, then
 * write "count distinct" lines to fd and exit. */
static int counted;
static void h_count(rz_event_t *ev, void *u)
{
    counted++;
    rz__svc_bus_done(ev, RZ_BUS_OK, NULL);
}
static volatile sig_atomic_t stop_flag;
static void on_term(int sig) { stop_flag = 1; }
static int count_reached(void *p) { return stop_flag || counted >= *(int *)p; }

static pid_t spawn_consumer(const char *group, int mode, int expect, int fd, double linger)
{
    pid_t pid = fork();
    ck_assert(pid >= 0);
    if (pid)
        return pid;
    signal(SIGTERM, on_term);
    rz__bus_reset();
    sub(topic, group, mode, h_count, NULL);
    struct event_base *base = up();
    t_loop_until(base, count_reached, &expect, 20);
    t_loop_until(base, t_flag_set, &(int){0}, linger);
    dprintf(fd, "%c %d\n", mode == RZ_BUS_SHARED ? 'S' : 'B', counted);
    rz__bus_worker_drain();
    t_loop_until(base, idle, NULL, 5);
    down(base);
    _exit(0);
}

START_TEST(test_bus_shared_splits_broadcast_copies)
{
    setup_named(NULL);
    int fds[2];
    ck_assert(pipe(fds) == 0);
    /* 2 shared members, 2 broadcast instances */
    pid_t p[4];
    p[0] = spawn_consumer("work", RZ_BUS_SHARED, 1 << 30, fds[1], 0);
    p[1] = spawn_consumer("work", RZ_BUS_SHARED, 1 << 30, fds[1], 0);
    p[2] = spawn_consumer("view", RZ_BUS_BROADCAST, 400, fds[1], 0.5);
    p[3] = spawn_consumer("view", RZ_BUS_BROADCAST, 400, fds[1], 0.5);
    /* let the shared members split the partitions (lease 2 s) */
    usleep(2500 * 1000);
    PGconn *c = t_admin();
    PQclear(PQexec(c, "BEGIN"));
    for (int i = 0; i < 400; i++) {
        char subj[16];
        snprintf(subj, sizeof(subj), "s%d", i % 97);
        publish_sql(c, topic, "x.y", subj, i, "{}");
    }
    PQclear(PQexec(c, "COMMIT"));
    PQfinish(c);
    /* broadcast instances exit when each has seen 400 */
    int st;
    ck_assert(waitpid(p[2], &st, 0) == p[2] && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    ck_assert(waitpid(p[3], &st, 0) == p[3] && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    /* the shared group: every event, across both members, positions at the end */
    const char *behind = "SELECT count(*) FROM rentezy.outbox o WHERE o.topic = '%s' AND "
                         "NOT EXISTS (SELECT 1 FROM rentezy.bus_positions p WHERE p.grp = 'work' "
                         "AND p.topic = o.topic AND p.part = o.part AND (p.pos_xid, p.pos_seq) >= "
                         "(o.xid, o.seq))";
    for (int i = 0; i < 200 && q1(behind) > 0; i++)
        usleep(50000);
    ck_assert_int_eq(q1(behind), 0);
    ck_assert_int_eq(q1("SELECT count(DISTINCT owner) FROM rentezy.bus_positions WHERE grp = "
                        "'work' AND topic = '%s'"),
                     2);
    kill(p[0], SIGTERM);
    kill(p[1], SIGTERM);
    waitpid(p[0], &st, 0);
    waitpid(p[1], &st, 0);
    close(fds[1]);
    char buf[256] = {0}, *line = buf;
    ssize_t got = 0, n;
    while ((n = read(fds[0], buf + got, sizeof(buf) - 1 - (size_t)got)) > 0)
        got += n;
    close(fds[0]);
    int shared = 0, members = 0, copies = 0;
    for (; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        int v = atoi(line + 2);
        if (line[0] == 'S') {
            shared += v;
            members += v > 0;
        } else {
            ck_assert_int_eq(v, 400);
            copies++;
        }
    }
    ck_assert_int_eq(copies, 2);
    ck_assert_int_eq(shared, 400); /* no crash, no rebalance mid-stream: exactly once */
    ck_assert_int_eq(members, 2);
    cleanup();
}
END_TEST

/* ---- 8 writers, 100,000 events, out-of-order commits ------------------------------- */

#define NWRITERS 8
#define NEVENTS 100000
#define NSUBJECTS 500

/* Each writer: transactions of 1..16 events on random subjects (locked in
 * sorted order, as a domain would lock its aggregates), version = the
 * subject's counter + 1, a random pause before COMMIT so commits overlap
 * and land out of sequence order.  Serialization failures and deadlocks
 * are retried, as an application would. */
static void writer(int w, int events, int *retries_fd)
{
    PGconn *c = PQconnectdb(t_pgurl());
    if (PQstatus(c) != CONNECTION_OK)
        _exit(2);
    unsigned seed = (unsigned)(getpid() * 7919 + w);
    int done = 0, retries = 0;
    char upd[256], pub[256];
    snprintf(upd, sizeof(upd),
             "UPDATE tb_counters_%d SET v = v + 1 WHERE subject = $1 RETURNING v::text",
             (int)getppid());
    snprintf(pub, sizeof(pub),
             "SELECT rentezy.publish('%s', 'load.tick', 'writer', $1, $2::bigint, "
             "jsonb_build_object('w', %d))", topic, w);
    while (done < events) {
        int m = 1 + (int)(rand_r(&seed) % 16);
        if (m > events - done)
            m = events - done;
        int subj[16];
        for (int i = 0; i < m; i++)
            subj[i] = (int)(rand_r(&seed) % NSUBJECTS);
        for (int i = 1; i < m; i++) /* sorted: no deadlocks between writers */
            for (int j = i; j > 0 && subj[j - 1] > subj[j]; j--) {
                int t = subj[j];
                subj[j] = subj[j - 1];
                subj[j - 1] = t;
            }
        int ok = 1;
        PQclear(PQexec(c, "BEGIN"));
        for (int i = 0; i < m && ok; i++) {
            char s[16];
            snprintf(s, sizeof(s), "s%d", subj[i]);
            const char *p1[] = {s};
            PGresult *r = PQexecParams(c, upd, 1, NULL, p1, NULL, NULL, 0);
            ok = PQresultStatus(r) == PGRES_TUPLES_OK;
            char v[24];
            snprintf(v, sizeof(v), "%s", ok ? PQgetvalue(r, 0, 0) : "0");
            PQclear(r);
            if (!ok)
                break;
            const char *p2[] = {s, v};
            r = PQexecParams(c, pub, 2, NULL, p2, NULL, NULL, 0);
            ok = PQresultStatus(r) == PGRES_TUPLES_OK;
            if (!ok && !strstr("40001 40P01", PQresultErrorField(r, PG_DIAG_SQLSTATE)
                                                  ? PQresultErrorField(r, PG_DIAG_SQLSTATE)
                                                  : "x")) {
                fprintf(stderr, "writer %d: %s", w, PQresultErrorMessage(r));
                _exit(3);
            }
            PQclear(r);
        }
        if (ok && rand_r(&seed) % 4 == 0)
            usleep(rand_r(&seed) % 3000);
        PGresult *r = PQexec(c, ok ? "COMMIT" : "ROLLBACK");
        PQclear(r);
        if (ok)
            done += m;
        else
            retries++;
    }
    dprintf(*retries_fd, "%d\n", retries);
    PQfinish(c);
    _exit(0);
}

typedef struct load {
    int ok;
    int violations;
    long long last[NSUBJECTS];
} load_t;

static void h_load(rz_event_t *ev, void *u)
{
    load_t *l = u;
    int s = atoi(rz__svc_event_subject(ev) + 1);
    long long v = rz__svc_event_version(ev);
    if (v != l->last[s] + 1)
        l->violations++;
    if (v > l->last[s])
        l->last[s] = v;
    l->ok++;
    rz__svc_bus_done(ev, RZ_BUS_OK, NULL);
}

static int load_done(void *p)
{
    load_t *l = p;
    return l[0].ok >= NEVENTS && l[1].ok >= NEVENTS;
}

START_TEST(test_bus_eight_writers_out_of_order_commits_skip_nothing)
{
    setup_named("batch = 512");
    static load_t l[2];
    memset(l, 0, sizeof(l));
    sub(topic, "load_a", RZ_BUS_SHARED, h_load, &l[0]);
    sub(topic, "load_b", RZ_BUS_BROADCAST, h_load, &l[1]);
    PGconn *c = t_admin();
    char sql[256];
    snprintf(sql, sizeof(sql),
             "CREATE TABLE tb_counters_%d AS SELECT 's' || g AS subject, 0::bigint AS v "
             "FROM generate_series(0, %d) g; ALTER TABLE tb_counters_%d ADD PRIMARY KEY (subject)",
             (int)getpid(), NSUBJECTS - 1, (int)getpid());
    t_exec(c, sql);
    PQfinish(c);
    struct event_base *base = up();
    int fds[2];
    ck_assert(pipe(fds) == 0);
    double t0 = t_now();
    pid_t w[NWRITERS];
    for (int i = 0; i < NWRITERS; i++) {
        w[i] = fork();
        ck_assert(w[i] >= 0);
        if (w[i] == 0)
            writer(i, NEVENTS / NWRITERS, &fds[1]);
    }
    close(fds[1]);
    ck_assert_msg(t_loop_until(base, load_done, l, 150), "seen %d and %d of %d", l[0].ok,
                  l[1].ok, NEVENTS);
    double took = t_now() - t0;
    for (int i = 0; i < NWRITERS; i++) {
        int st;
        ck_assert(waitpid(w[i], &st, 0) == w[i]);
        ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "writer %d failed", i);
    }
    char buf[256] = {0};
    int retries = 0;
    ssize_t n = read(fds[0], buf, sizeof(buf) - 1);
    for (char *p = buf; n > 0 && *p; p = strchr(p, '\n') + 1) {
        retries += atoi(p);
        if (!strchr(p, '\n'))
            break;
    }
    close(fds[0]);
    /* nothing more arrives: exactly once here, since nobody crashed */
    t_loop_until(base, t_flag_set, &(int){0}, 0.5);
    printf("8 writers, %d events: consumed by 2 groups in %.1f s (%.0f events/s per group), "
           "%d transactions retried\n",
           NEVENTS, took, NEVENTS / took, retries);
    ck_assert_int_eq(l[0].ok, NEVENTS);
    ck_assert_int_eq(l[1].ok, NEVENTS);
    ck_assert_int_eq(l[0].violations, 0);
    ck_assert_int_eq(l[1].violations, 0);
    long long total = 0;
    for (int s = 0; s < NSUBJECTS; s++)
        total += l[0].last[s];
    ck_assert_int_eq(total, NEVENTS);
    down(base);
    cleanup();
}
END_TEST


/* ---- kill -9 mid-stream ------------------------------------------------------------- */

/* The handler records each event in a table, and answers OK only once the
 * row is stored: what a real idempotent handler does. */
static void on_recorded(rz_dbres_t *res, void *u)
{
    rz_event_t *ev = u;
    rz__svc_bus_done(ev, rz__svc_dbres_status(res) == RZ_OK ? RZ_BUS_OK : RZ_BUS_RETRY,
                     rz__svc_dbres_message(res));
}

static void h_store(rz_event_t *ev, void *u)
{
    const char *sql = u;
    const char *p[] = {rz__svc_event_id(ev)};
    if (rz__svc_db_query(NULL, 0, sql, 1, p, on_recorded, ev) != RZ_OK)
        rz__svc_bus_done(ev, RZ_BUS_RETRY, "database unavailable");
}

static pid_t spawn_storer(const char *sql)
{
    pid_t pid = fork();
    ck_assert(pid >= 0);
    if (pid)
        return pid;
    rz__bus_reset();
    sub(topic, "crash", RZ_BUS_SHARED, h_store, (void *)sql);
    struct event_base *base = up();
    t_loop_until(base, t_flag_set, &(int){0}, 120); /* until killed */
    _exit(0);
}

START_TEST(test_bus_kill_9_mid_stream_loses_nothing)
{
    setup_named("lease = 1s");
    char mk[256], ins[256], cnt[256];
    snprintf(mk, sizeof(mk), "CREATE TABLE tb_seen_%d (id uuid, at timestamptz DEFAULT clock_timestamp())",
             (int)getpid());
    snprintf(ins, sizeof(ins), "INSERT INTO tb_seen_%d (id) VALUES ($1::uuid)", (int)getpid());
    snprintf(cnt, sizeof(cnt), "SELECT count(DISTINCT id) FROM tb_seen_%d", (int)getpid());
    PGconn *c = t_admin();
    t_exec(c, mk);
    pid_t child = spawn_storer(ins);
    /* 20,000 events in 200 transactions, while the consumer runs */
    const int total = 20000;
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT count(rentezy.publish('%s', 'x.y', 'test', 's' || (g %% 50), g, '{}')) "
             "FROM generate_series($1::int, $1::int + 99) g", topic);
    int killed = 0;
    for (int b = 0; b < total / 100; b++) {
        char from[16];
        snprintf(from, sizeof(from), "%d", b * 100);
        const char *p[] = {from};
        PQclear(PQexecParams(c, sql, 1, NULL, p, NULL, NULL, 0));
        if (!killed && t_scalar(c, cnt) > 2000) {
            kill(child, SIGKILL);
            waitpid(child, NULL, 0);
            killed = 1;
            child = spawn_storer(ins); /* the master would restart it */
        }
        usleep(2000);
    }
    ck_assert(killed);
    long long seen = 0;
    for (int i = 0; i < 300 && (seen = t_scalar(c, cnt)) < total; i++)
        usleep(100000);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    snprintf(sql, sizeof(sql), "SELECT count(*) - count(DISTINCT id) FROM tb_seen_%d", (int)getpid());
    printf("kill -9 mid-stream: %lld of %d events after restart, %lld duplicates\n", seen, total,
           t_scalar(c, sql));
    ck_assert_int_eq(seen, total);
    snprintf(sql, sizeof(sql), "DROP TABLE tb_seen_%d", (int)getpid());
    t_exec(c, sql);
    PQfinish(c);
    cleanup();
}
END_TEST


/* ---- operations: replay and dead letters ------------------------------------------ */

static int cli(const char *a0, ...)
{
    char *argv[16];
    int argc = 0;
    va_list ap;
    va_start(ap, a0);
    for (const char *a = a0; a && argc < 15; a = va_arg(ap, const char *))
        argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    fflush(stdout);
    return rz__bus_cli(argc, argv);
}

START_TEST(test_bus_replay_from_start_and_dead_letter_retry)
{
    setup_named(NULL);
    wait_ok_t w = {.want = 5, .s = {.answer = RZ_BUS_FAIL}};
    sub(topic, "ops", RZ_BUS_SHARED, h_record, &w.s);
    sub(topic, "other", RZ_BUS_SHARED, h_count, NULL);
    struct event_base *base = up();
    PGconn *c = t_admin();
    for (int i = 1; i <= 5; i++)
        publish_sql(c, topic, "x.y", "s", i, "{}");
    publish_sql(c, topic, "x.poison", "bad", 1, "{}");
    ck_assert(t_loop_until(base, reached, &w, 10));
    ck_assert(t_loop_until(base, idle, NULL, 10));
    const char *dead = "SELECT count(*) FROM rentezy.bus_dead WHERE topic = '%s' AND grp = 'ops'";
    for (int i = 0; i < 100 && q1(dead) < 1; i++)
        t_loop_until(base, t_flag_set, &(int){0}, 0.05);
    ck_assert_int_eq(q1(dead), 1);
    ck_assert_int_eq(cli("bus", "status", NULL), 0);
    ck_assert_int_eq(cli("bus", "dlq", "list", "--group", "ops", NULL), 0);
    /* replay from the start: the five come again (the poison too, and fails again) */
    ck_assert_int_eq(cli("bus", "replay", "--group", "ops", "--topic", topic, "--from-start", NULL), 0);
    w.want = 10;
    ck_assert(t_loop_until(base, reached, &w, 10));
    for (int i = 0, k = 0; i < w.s.n; i++)
        if (strcmp(w.s.subject[i], "s") == 0)
            ck_assert_int_eq(w.s.version[i], k++ % 5 + 1); /* 1..5, then 1..5 again */
    ck_assert(t_loop_until(base, idle, NULL, 10));
    for (int i = 0; i < 100 && q1(dead) < 2; i++)
        t_loop_until(base, t_flag_set, &(int){0}, 0.05);
    ck_assert_int_eq(q1(dead), 2);
    /* drop one, retry the other for its group only: now the handler takes it */
    char id[24];
    snprintf(id, sizeof(id), "%lld",
             q1("SELECT min(id) FROM rentezy.bus_dead WHERE topic = '%s' AND grp = 'ops'"));
    ck_assert_int_eq(cli("bus", "dlq", "drop", id, NULL), 0);
    ck_assert_int_eq(cli("bus", "dlq", "drop", "x1", NULL), 2);
    ck_assert_int_eq(cli("bus", "dlq", "retry", NULL), 2);
    int other_before = counted;
    w.s.answer = RZ_BUS_OK;
    w.want = w.s.ok + 1;
    ck_assert_int_eq(cli("bus", "dlq", "retry", "--all", "--group", "ops", "--topic", topic, NULL), 0);
    ck_assert(t_loop_until(base, reached, &w, 10));
    ck_assert_str_eq(w.s.type, "x.poison");
    ck_assert_int_eq(q1(dead), 0);
    t_loop_until(base, t_flag_set, &(int){0}, 0.3);
    ck_assert_int_eq(counted, other_before); /* the other group skipped it */
    ck_assert_int_eq(cli("bus", "replay", "--group", "nope", "--topic", topic, "--from", "yesterday", NULL), 1);
    ck_assert_int_eq(cli("bus", "replay", "--group", "ops", NULL), 2);
    ck_assert_int_eq(cli("bus", "frobnicate", NULL), 2);
    PQfinish(c);
    down(base);
    cleanup();
}
END_TEST

/* ---- retention ---------------------------------------------------------------------- */

START_TEST(test_bus_retention_prunes_consumed_and_keeps_newest_of_compacted)
{
    char extra[128];
    snprintf(extra, sizeof(extra), "retention = 1s\ncompacted = tb%d-b", (int)getpid());
    setup_named(extra);
    wait_ok_t w = {.want = 6};
    sub(topic, "ret", RZ_BUS_SHARED, h_record, &w.s);
    sub(topic2, "ret", RZ_BUS_SHARED, h_record, &w.s);
    struct event_base *base = up();
    PGconn *c = t_admin();
    for (int i = 1; i <= 3; i++) {
        publish_sql(c, topic, "x.y", "s", i, "{}");
        publish_sql(c, topic2, "x.y", "s", i, "{}");
    }
    ck_assert(t_loop_until(base, reached, &w, 10));
    ck_assert(t_loop_until(base, idle, NULL, 10));
    /* one unconsumed, old event in topic: another group has not read it */
    t_loop_until(base, t_flag_set, &(int){0}, 1.2);
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT rentezy.bus_prune(1000, ARRAY['%s'], 3600000, false)", topic2);
    /* each call deletes at most 5,000 (other suites' old events may go too) */
    while (t_scalar(c, sql) >= 5000)
        ;
    ck_assert_int_eq(q1("SELECT count(*) FROM rentezy.outbox WHERE topic = '%s'"), 0);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM rentezy.outbox WHERE topic = '%s' AND version = 3",
             topic2);
    ck_assert_int_eq(t_scalar(c, sql), 1);
    /* a group that has not consumed holds events back */
    snprintf(sql, sizeof(sql),
             "INSERT INTO rentezy.bus_positions (grp, topic, part) SELECT 'slow', '%s', g "
             "FROM generate_series(0, 15) g", topic);
    t_exec(c, sql);
    publish_sql(c, topic, "x.y", "s", 4, "{}");
    t_loop_until(base, t_flag_set, &(int){0}, 1.2);
    snprintf(sql, sizeof(sql), "SELECT rentezy.bus_prune(1000, '{}', 3600000, false)");
    while (t_scalar(c, sql) >= 5000)
        ;
    ck_assert_int_eq(q1("SELECT count(*) FROM rentezy.outbox WHERE topic = '%s'"), 1);
    PQfinish(c);
    down(base);
    cleanup();
}
END_TEST

int main(void)
{
    if (t_skip_without_pg("bus"))
        return 0;
    Suite *s = suite_create("bus");
    TCase *tc = tcase_create("embedded");
    tcase_set_timeout(tc, 200);
    tcase_add_test(tc, test_bus_subscribe_rules);
    tcase_add_test(tc, test_bus_config_errors_name_the_line);
    tcase_add_test(tc, test_bus_publish_rejects_bad_input);
    tcase_add_test(tc, test_bus_rolled_back_transaction_leaves_no_event);
    tcase_add_test(tc, test_bus_delivers_in_order_with_the_envelope);
    tcase_add_test(tc, test_bus_late_commit_is_not_skipped);
    tcase_add_test(tc, test_bus_xid_inversion_on_one_subject_is_refused);
    tcase_add_test(tc, test_bus_fail_goes_to_dead_letters_and_later_events_flow);
    tcase_add_test(tc, test_bus_retry_redelivers_until_ok);
    tcase_add_test(tc, test_bus_shared_splits_broadcast_copies);
    tcase_add_test(tc, test_bus_retention_prunes_consumed_and_keeps_newest_of_compacted);
    tcase_add_test(tc, test_bus_replay_from_start_and_dead_letter_retry);
    tcase_add_test(tc, test_bus_kill_9_mid_stream_loses_nothing);
    tcase_add_test(tc, test_bus_eight_writers_out_of_order_commits_skip_nothing);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
