/*
 * test_bus_kafka.c — the kafka backend against librdkafka's mock cluster
 * (build/tests/tools/kafka_mock, real Kafka protocol on loopback) and the
 * real PostgreSQL.  The relay and the consumer run in separate processes,
 * as they would in separate pods.  Brokers go down for 8 s here; the 30 s
 * outage of the issue, with daemons, is tests/process/40_bus_kafka.sh.
 */
#include "dbtest.h"

#include <signal.h>
#include <stdarg.h>
#include <sys/wait.h>

#include <librdkafka/rdkafka.h>

#include "bus.h"
#include "bus_int.h"
#include "config.h"
#include "idempotency.h"
#include "migrate.h"

static rz_plugin_desc_t desc = {.magic = RZ_PLUGIN_MAGIC, .name = "bustest"};
static rz_plugin_t plug = {.desc = &desc};
static char topic[64], brokers[512], seen_table[64];
static pid_t mock_pid;

static const char *extra_kafka = ""; /* more [bus.kafka] lines for the next spawn */

static void configure(int relay)
{
    char err[512], buf[1024];
    rz_config_t *cfg = rz__config_new();
    snprintf(buf, sizeof(buf),
             "[bus]\nbackend = kafka\nbrokers = %s\nrelay = %s\nlease = 2s\n"
             "poll_interval = 200ms\nbackoff_base = 20ms\nbackoff_max = 100ms\nmax_attempts = 3\n"
             "[bus.kafka]\nsession.timeout.ms = 6000\nlog_level = 2\n%s",
             brokers, relay ? "true" : "false", extra_kafka);
    ck_assert(rz__config_parse_buffer(cfg, "test.conf", buf, strlen(buf), err, sizeof(err)) == 0);
    rz__migrate_reset();
    ck_assert_msg(rz__idem_configure(cfg, err, sizeof(err)) == 0, "%s", err);
    ck_assert_msg(rz__bus_configure(cfg, err, sizeof(err)) == 0, "%s", err);
    ck_assert_msg(rz__migrate_apply(NULL, err, sizeof(err)) == 0, "%s", err);
    rz__config_free(cfg);
}

static void setup(void)
{
    char err[256];
    snprintf(topic, sizeof(topic), "tk%d-a", (int)getpid());
    snprintf(seen_table, sizeof(seen_table), "tk_seen_%d", (int)getpid());
    ck_assert(rz__clock_init() == 0);
    rz_db_opts_t o = t_db_opts(t_pgurl());
    ck_assert(rz__db_configure_opts(&o, err, sizeof(err)) == 0);
    configure(0);
    rz__bus_reset();
    char sql[256];
    PGconn *c = t_admin();
    snprintf(sql, sizeof(sql), "CREATE TABLE %s (n bigserial, id text, subject text, version bigint)",
             seen_table);
    t_exec(c, sql);
    PQfinish(c);
}

static void cleanup(void)
{
    char sql[512];
    PGconn *c = t_admin();
    snprintf(sql, sizeof(sql),
             "DELETE FROM rentezy.outbox WHERE topic LIKE 'tk%d-%%';"
             "DELETE FROM rentezy.outbox_heads WHERE topic LIKE 'tk%d-%%';"
             "DELETE FROM rentezy.bus_dead WHERE topic LIKE 'tk%d-%%';"
             "DELETE FROM rentezy.bus_members WHERE grp LIKE 'kafka/%%' AND member LIKE 'tk%d-%%';"
             "DROP TABLE IF EXISTS %s",
             (int)getpid(), (int)getpid(), (int)getpid(), (int)getpid(), seen_table);
    t_exec(c, sql);
    PQfinish(c);
}

/* fmt uses %1$s for the table of seen events, %2$s for the topic. */
static long long q(const char *fmt)
{
    char sql[640], f[512];
    snprintf(f, sizeof(f), "/* %%1$s %%2$s */ %s", fmt);
    snprintf(sql, sizeof(sql), f, seen_table, topic);
    PGconn *c = t_admin();
    long long v = t_scalar(c, sql);
    PQfinish(c);
    return v;
}

static int wait_q(const char *fmt, long long want, double secs)
{
    for (double end = t_now() + secs; t_now() < end; usleep(100000))
        if (q(fmt) >= want)
            return 1;
    return 0;
}

/* ---- child processes: a relay, a consumer ---------------------------------------- */

static void on_recorded(rz_dbres_t *res, void *u)
{
    rz__svc_bus_done(u, rz__svc_dbres_status(res) == RZ_OK ? RZ_BUS_OK : RZ_BUS_RETRY, NULL);
}

static void h_store(rz_event_t *ev, void *u)
{
    char sql[160], v[24];
    if (strncmp(rz__svc_event_subject(ev), "bad", 3) == 0) {
        rz__svc_bus_done(ev, RZ_BUS_FAIL, "poison pill");
        return;
    }
    snprintf(sql, sizeof(sql), "INSERT INTO %s (id, subject, version) VALUES ($1, $2, $3::bigint)", seen_table);
    snprintf(v, sizeof(v), "%lld", (long long)rz__svc_event_version(ev));
    const char *p[] = {rz__svc_event_id(ev), rz__svc_event_subject(ev), v};
    if (rz__svc_db_query(NULL, 0, sql, 3, p, on_recorded, ev) != RZ_OK)
        rz__svc_bus_done(ev, RZ_BUS_RETRY, "db");
}

static volatile sig_atomic_t stop_flag;
static void on_term(int sig) { stop_flag = 1; }
static int stopped(void *p) { return stop_flag; }

static pid_t spawn(int relay, int consume)
{
    pid_t pid = fork();
    ck_assert(pid >= 0);
    if (pid)
        return pid;
    signal(SIGTERM, on_term);
    configure(relay);
    rz__bus_reset();
    if (consume) {
        rz__rt.in_init = 1;
        rz__svc_bus_subscribe(&plug, topic, "kc", RZ_BUS_SHARED, h_store, NULL);
        rz__rt.in_init = 0;
    }
    rz_db_opts_t o = t_db_opts(t_pgurl());
    struct event_base *base = t_db_up(&o);
    if (rz__bus_worker_start(base) != 0)
        _exit(3);
    t_loop_until(base, stopped, NULL, 170);
    rz__bus_worker_drain();
    rz__bus_worker_stop();
    t_db_down(base);
    _exit(0);
}

static void stop(pid_t pid)
{
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

static void publish_many(int from, int n, const char *subject_prefix)
{
    char sql[512], a[16], b[16];
    snprintf(sql, sizeof(sql),
             "SELECT count(rentezy.publish('%s', 'x.y', 'test', '%s' || (g %% 20), g, "
             "jsonb_build_object('g', g))) FROM generate_series($1::int, $2::int) g",
             topic, subject_prefix);
    snprintf(a, sizeof(a), "%d", from);
    snprintf(b, sizeof(b), "%d", from + n - 1);
    const char *p[] = {a, b};
    PGconn *c = t_admin();
    PGresult *r = PQexecParams(c, sql, 2, NULL, p, NULL, NULL, 0);
    ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "%s", PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(c);
}

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

/* Produce raw messages behind the relay's back (bad input from elsewhere). */
static void produce_raw(const char *value, const char *type)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err, sizeof(err));
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    ck_assert_ptr_nonnull(rk);
    rd_kafka_headers_t *h = rd_kafka_headers_new(2);
    if (type)
        rd_kafka_header_add(h, "rz-type", -1, type, -1);
    ck_assert_int_eq(rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY("raw", 3),
                                       RD_KAFKA_V_VALUE((void *)value, strlen(value)),
                                       RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                       RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END),
                     0);
    ck_assert_int_eq(rd_kafka_flush(rk, 10000), 0);
    rd_kafka_destroy(rk);
}

/* ---- the test --------------------------------------------------------------------- */

#define SEEN "SELECT count(DISTINCT id) FROM %1$s"
#define ROWS "SELECT count(*) FROM %1$s"

START_TEST(test_kafka_relay_consumers_outage_poison_and_replay)
{
    setup();
    pid_t relay = spawn(1, 0), cons = spawn(0, 1);
    double t0 = t_now();
    publish_many(1, 1000, "s");
    ck_assert_msg(wait_q(SEEN, 1000, 40), "only %lld of 1000 arrived", q(SEEN));
    printf("kafka: first 1000 events through relay and consumer group in %.1f s "
           "(includes the mock's 3 s group join)\n", t_now() - t0);

    /* brokers down: events wait in the outbox, the relay position stays */
    kill(mock_pid, SIGUSR1);
    usleep(500 * 1000);
    publish_many(1001, 1000, "s");
    usleep(8000 * 1000);
    ck_assert_int_eq(q(SEEN), 1000);
    ck_assert(q("SELECT count(*) FROM rentezy.outbox o WHERE o.topic = '%2$s' AND NOT EXISTS ("
                "SELECT 1 FROM rentezy.bus_positions r WHERE r.grp = '_relay' AND "
                "(r.pos_xid, r.pos_seq) >= (o.xid, o.seq))") > 0);
    kill(mock_pid, SIGUSR2);
    t0 = t_now();
    ck_assert_msg(wait_q(SEEN, 2000, 60), "after the outage only %lld of 2000", q(SEEN));
    printf("kafka: 1000 events held during an 8 s outage arrived %.1f s after the brokers "
           "came back\n", t_now() - t0);

    /* the relay dies: another takes over (lock released with its connection) */
    kill(relay, SIGKILL);
    waitpid(relay, NULL, 0);
    relay = spawn(1, 0);
    publish_many(2001, 500, "s");
    ck_assert_msg(wait_q(SEEN, 2500, 40), "after relay takeover %lld of 2500", q(SEEN));

    /* a poison event and bad input: dead letters, later events flow */
    publish_many(1, 1, "bad");
    produce_raw("{not json", "x.y");
    produce_raw("{}", NULL);
    publish_many(2501, 100, "s");
    ck_assert_msg(wait_q(SEEN, 2600, 30), "after the poison %lld of 2600", q(SEEN));
    ck_assert(wait_q("SELECT count(*) FROM rentezy.bus_dead WHERE topic = '%2$s'", 3, 20));
    ck_assert_int_eq(q("SELECT count(*) FROM rentezy.bus_dead WHERE topic = '%2$s' AND "
                       "error = 'poison pill' AND attempts = 3"),
                     1);
    ck_assert_int_eq(q("SELECT count(*) FROM rentezy.bus_dead WHERE topic = '%2$s' AND "
                       "error LIKE 'data is not valid JSON%%%%'"),
                     1);
    ck_assert_int_eq(q("SELECT count(*) FROM rentezy.bus_dead WHERE topic = '%2$s' AND "
                       "error LIKE 'unknown event type%%%%'"),
                     1);

    /* order per subject: the first delivery of each version of a subject
     * came after the first delivery of the version before it (duplicates
     * from the relay's takeover are allowed: at least once) */
    ck_assert_int_eq(q("SELECT count(*) FROM (SELECT version < lag(version) OVER (PARTITION BY "
                       "subject ORDER BY first) AS back FROM (SELECT subject, version, min(n) AS "
                       "first FROM %1$s GROUP BY subject, version) f) x WHERE back"),
                     0);

    /* replay from the start rebuilds: every event comes again */
    long long rows = q(ROWS);
    ck_assert_int_eq(cli("bus", "replay", "--group", "kc", "--topic", topic, "--from-start", NULL),
                     0);
    ck_assert_msg(wait_q(ROWS, rows + 2600, 60), "replay: %lld rows, want %lld", q(ROWS),
                  rows + 2600);
    ck_assert_int_eq(cli("bus", "status", NULL), 0);
    stop(cons);
    stop(relay);
    cleanup();
}
END_TEST

/* A delivery that fails must never be marked relayed: with brokers down
 * longer than message.timeout.ms every delivery report of the relay fails;
 * its position stays, and once the brokers are back every event arrives,
 * in order per subject. */
START_TEST(test_kafka_relay_never_marks_a_failed_delivery)
{
    setup();
    extra_kafka = "message.timeout.ms = 2000\n";
    pid_t relay = spawn(1, 0);
    extra_kafka = "";
    pid_t cons = spawn(0, 1);
    publish_many(1, 200, "s");
    ck_assert_msg(wait_q(SEEN, 200, 40), "only %lld of 200 arrived", q(SEEN));
    const char *pos = "SELECT pos_seq FROM rentezy.bus_positions WHERE grp = '_relay'";
    const char *last = "SELECT max(seq) FROM rentezy.outbox WHERE topic = '%2$s'";
    ck_assert_msg(wait_q("SELECT (" "SELECT pos_seq FROM rentezy.bus_positions WHERE grp = "
                         "'_relay') - (SELECT max(seq) FROM rentezy.outbox WHERE topic = '%2$s')",
                         0, 10),
                  "the relay position did not reach the last event");
    long long before = q(pos);

    kill(mock_pid, SIGUSR1);
    usleep(300 * 1000);
    publish_many(201, 300, "s");
    usleep(6000 * 1000); /* three message timeouts: every report failed */
    ck_assert_int_eq(q(pos), before);
    ck_assert_int_eq(q(SEEN), 200);
    kill(mock_pid, SIGUSR2);
    ck_assert_msg(wait_q(SEEN, 500, 60), "after failed deliveries only %lld of 500", q(SEEN));
    ck_assert_msg(wait_q("SELECT (SELECT pos_seq FROM rentezy.bus_positions WHERE grp = "
                         "'_relay') - (SELECT max(seq) FROM rentezy.outbox WHERE topic = '%2$s')",
                         0, 10),
                  "the relay position did not move on: %lld, last %lld", q(pos), q(last));
    ck_assert_int_eq(q("SELECT count(*) FROM (SELECT version < lag(version) OVER (PARTITION BY "
                       "subject ORDER BY first) AS back FROM (SELECT subject, version, min(n) AS "
                       "first FROM %1$s GROUP BY subject, version) f) x WHERE back"),
                     0);
    stop(cons);
    stop(relay);
    cleanup();
}
END_TEST

int main(void)
{
    if (t_skip_without_pg("bus_kafka"))
        return 0;
    const char *build = getenv("BUILD") ? getenv("BUILD") : "build";
    char tool[512], file[128];
    snprintf(tool, sizeof(tool), "%s/tests/tools/kafka_mock", build);
    snprintf(file, sizeof(file), "/tmp/rz-kafka-mock-%d", (int)getpid());
    if (access(tool, X_OK) != 0) {
        printf("bus_kafka: SKIPPED (%s is not built)\n", tool);
        return 0;
    }
    unlink(file);
    mock_pid = fork();
    if (mock_pid == 0) {
        execl(tool, tool, file, NULL);
        _exit(127);
    }
    FILE *f = NULL;
    for (int i = 0; i < 100 && !(f = fopen(file, "r")); i++)
        usleep(50000);
    if (!f || !fgets(brokers, sizeof(brokers), f)) {
        printf("bus_kafka: the mock cluster did not start\n");
        kill(mock_pid, SIGTERM);
        return 1;
    }
    fclose(f);
    brokers[strcspn(brokers, "\n")] = '\0';
    Suite *s = suite_create("bus_kafka");
    TCase *tc = tcase_create("kafka");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, test_kafka_relay_consumers_outage_poison_and_replay);
    tcase_add_test(tc, test_kafka_relay_never_marks_a_failed_delivery);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    kill(mock_pid, SIGTERM);
    waitpid(mock_pid, NULL, 0);
    unlink(file);
    return failed ? 1 : 0;
}
