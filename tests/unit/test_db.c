/*
 * test_db.c — the asynchronous database service against a real PostgreSQL
 * (RZ_TEST_PGURL).  Each test owns its event_base and pool, and its own
 * tables (suffixed with the pid), so it can run beside other suites.
 */
#include "dbtest.h"

#include <sys/wait.h>

#include <event2/buffer.h>

/* What a callback saw, copied out because res dies with the callback. */
typedef struct got {
    int done;
    int status;
    int rows, cols;
    int64_t affected;
    char sqlstate[8];
    char msg[256];
    char v[4][128]; /* row 0, columns 0..3 */
    int isnull[4];
    int seq; /* order of arrival */
} got_t;

static int arrivals;

static void on_res(rz_dbres_t *res, void *u)
{
    got_t *g = u;
    const char *s;
    g->done = 1;
    g->seq = ++arrivals;
    g->status = rz__svc_dbres_status(res);
    g->rows = rz__svc_dbres_rows(res);
    g->cols = rz__svc_dbres_cols(res);
    g->affected = rz__svc_dbres_affected(res);
    snprintf(g->sqlstate, sizeof(g->sqlstate), "%s",
             (s = rz__svc_dbres_sqlstate(res)) ? s : "");
    snprintf(g->msg, sizeof(g->msg), "%s", rz__svc_dbres_message(res));
    for (int c = 0; c < 4; c++) {
        g->isnull[c] = rz__svc_dbres_isnull(res, 0, c);
        snprintf(g->v[c], sizeof(g->v[c]), "%s", (s = rz__svc_dbres_value(res, 0, c)) ? s : "");
    }
}

static got_t query(struct event_base *base, unsigned flags, const char *sql, int n,
                   const char *const *params)
{
    got_t g = {0};
    ck_assert_int_eq(rz__svc_db_query(NULL, flags, sql, n, params, on_res, &g), 0);
    ck_assert_msg(t_loop_until(base, t_flag_set, &g.done, 20), "no callback for %s", sql);
    return g;
}

static got_t tx(struct event_base *base, const rz_stmt_t *s, int n)
{
    got_t g = {0};
    ck_assert_int_eq(rz__svc_db_tx(NULL, s, n, on_res, &g), 0);
    ck_assert(t_loop_until(base, t_flag_set, &g.done, 20));
    return g;
}

START_TEST(test_db_parameterised_query_round_trip)
{
    rz_db_opts_t o = t_db_opts(t_pgurl());
    struct event_base *base = t_db_up(&o);
    const char *p[] = {"40", "2", "it's \"quoted\"", NULL};
    got_t g = query(base, 0, "SELECT $1::int + $2::int AS sum, 'x' || $3, $4::text, 7", 4, p);
    ck_assert_int_eq(g.status, RZ_OK);
    ck_assert_int_eq(g.rows, 1);
    ck_assert_int_eq(g.cols, 4);
    ck_assert_str_eq(g.v[0], "42");
    ck_assert_str_eq(g.v[1], "xit's \"quoted\"");
    ck_assert_int_eq(g.isnull[2], 1); /* a NULL parameter is SQL NULL */
    ck_assert_int_eq(g.isnull[1], 0);
    ck_assert_int_eq(g.affected, 1); /* SELECT reports its row count */
    t_db_down(base);
}
END_TEST

static int colname_ok;
static void on_colname(rz_dbres_t *res, void *u)
{
    colname_ok = strcmp(rz__svc_dbres_colname(res, 0), "answer") == 0 &&
                 rz__svc_dbres_colname(res, 1) == NULL && rz__svc_dbres_colname(res, -1) == NULL &&
                 rz__svc_dbres_value(res, 5, 0) == NULL && rz__svc_dbres_value(res, 0, 9) == NULL &&
                 rz__svc_dbres_isnull(res, 3, 3) == 1 && rz__svc_dbres_constraint(res) == NULL;
    *(int *)u = 1;
}

START_TEST(test_db_accessors_tolerate_bad_indexes)
{
    rz_db_opts_t o = t_db_opts(t_pgurl());
    struct event_base *base = t_db_up(&o);
    int done = 0;
    ck_assert_int_eq(rz__svc_db_query(NULL, 0, "SELECT 1 AS answer", 0, NULL, on_colname, &done), 0);
    ck_assert(t_loop_until(base, t_flag_set, &done, 10));
    ck_assert_int_eq(colname_ok, 1);
    ck_assert_int_eq(rz__svc_dbres_rows(NULL), 0);
    ck_assert_ptr_null(rz__svc_dbres_value(NULL, 0, 0));
    ck_assert_int_eq(rz__svc_dbres_status(NULL), RZ_EINVAL);
    t_db_down(base);
}
END_TEST

START_TEST(test_db_prepared_statement_is_reused)
{
    rz_db_opts_t o = t_db_opts(t_pgurl());
    o.pool_size = 1; /* one session, so pg_prepared_statements sees it all */
    struct event_base *base = t_db_up(&o);
    static const char sql[] = "SELECT $1::int * 3 /* reuse-probe */";
    for (int i = 0; i < 5; i++) {
        char n[16];
        snprintf(n, sizeof(n), "%d", i);
        const char *p[] = {n};
        got_t g = query(base, 0, sql, 1, p);
        ck_assert_int_eq(g.status, RZ_OK);
        ck_assert_int_eq(atoi(g.v[0]), i * 3);
    }
    const char *p[] = {sql};
    got_t g = query(base, 0, "SELECT count(*) FROM pg_prepared_statements WHERE statement = $1", 1,
                    p);
    ck_assert_int_eq(g.status, RZ_OK);
    ck_assert_str_eq(g.v[0], "1");
    t_db_down(base);
}
END_TEST

START_TEST(test_db_bad_input_gives_error_result_not_crash)
{
    rz_db_opts_t o = t_db_opts(t_pgurl());
    o.pool_size = 1;
    struct event_base *base = t_db_up(&o);

    const char *word[] = {"abc"};
    got_t g = query(base, 0, "SELECT $1::int", 1, word);
    ck_assert_int_eq(g.status, RZ_ERR);
    ck_assert_str_eq(g.sqlstate, "22P02"); /* invalid_text_representation */
    ck_assert_int_eq(g.rows, 0);

    const char *two[] = {"1", "2"};
    g = query(base, 0, "SELECT $1::int", 2, two); /* more parameters than the SQL has */
    ck_assert_int_eq(g.status, RZ_ERR);

    g = query(base, 0, "SELEC oops", 0, NULL);
    ck_assert_int_eq(g.status, RZ_ERR);
    ck_assert_str_eq(g.sqlstate, "42601");
    ck_assert(strstr(g.msg, "syntax") != NULL);

    g = query(base, 0, "", 0, NULL); /* empty statement: harmless */
    ck_assert_int_eq(g.status, RZ_OK);

    /* Refused outright, and no callback ever comes. */
    got_t never = {0};
    ck_assert_int_eq(rz__svc_db_query(NULL, 0, NULL, 0, NULL, on_res, &never), RZ_EINVAL);
    ck_assert_int_eq(rz__svc_db_query(NULL, 0, "SELECT 1", -1, NULL, on_res, &never), RZ_EINVAL);
    ck_assert_int_eq(rz__svc_db_query(NULL, 0, "SELECT $1", 1, NULL, on_res, &never), RZ_EINVAL);
    ck_assert_int_eq(rz__svc_db_query(NULL, 0, "SELECT 1", 70000, word, on_res, &never),
                     RZ_EINVAL);
    ck_assert_int_eq(rz__svc_db_tx(NULL, NULL, 1, on_res, &never), RZ_EINVAL);
    rz_stmt_t bad = {NULL, 0, NULL};
    ck_assert_int_eq(rz__svc_db_tx(NULL, &bad, 1, on_res, &never), RZ_EINVAL);

    /* The connection survived all of it. */
    g = query(base, 0, "SELECT 'still fine'", 0, NULL);
    ck_assert_int_eq(g.status, RZ_OK);
    ck_assert_str_eq(g.v[0], "still fine");
    ck_assert_int_eq(never.done, 0);
    t_db_down(base);
}
END_TEST

START_TEST(test_db_tx_failing_statement_rolls_back_earlier_ones)
{
    rz_db_opts_t o = t_db_opts(t_pgurl());
    o.pool_size = 1; /* the same session must be clean afterwards */
    struct event_base *base = t_db_up(&o);
    char create[128], ins[128], cnt[128], drop[128];
    int pid = (int)getpid();
    snprintf(create, sizeof(create), "CREATE TABLE IF NOT EXISTS t_tx_%d (n int primary key)", pid);
    snprintf(ins, sizeof(ins), "INSERT INTO t_tx_%d VALUES ($1::int) RETURNING n * 10", pid);
    snprintf(cnt, sizeof(cnt), "SELECT count(*) FROM t_tx_%d", pid);
    snprintf(drop, sizeof(drop), "DROP TABLE t_tx_%d", pid);
    ck_assert_int_eq(query(base, 0, create, 0, NULL).status, RZ_OK);

    const char *one[] = {"1"}, *two[] = {"2"}, *bad[] = {"two"};
    rz_stmt_t failing[] = {{ins, 1, one}, {ins, 1, two}, {ins, 1, bad}};
    got_t g = tx(base, failing, 3);
    ck_assert_int_eq(g.status, RZ_ERR);
    ck_assert_str_eq(g.sqlstate, "22P02");
    g = query(base, 0, cnt, 0, NULL); /* fails with 25P02 if the session stayed aborted */
    ck_assert_int_eq(g.status, RZ_OK);
    ck_assert_str_eq(g.v[0], "0");

    /* A duplicate key in the last statement undoes the first two as well. */
    rz_stmt_t dup[] = {{ins, 1, one}, {ins, 1, two}, {ins, 1, one}};
    g = tx(base, dup, 3);
    ck_assert_int_eq(g.status, RZ_ERR);
    ck_assert_str_eq(g.sqlstate, "23505");
    ck_assert_str_eq(query(base, 0, cnt, 0, NULL).v[0], "0");

    rz_stmt_t good[] = {{ins, 1, one}, {ins, 1, two}};
    g = tx(base, good, 2);
    ck_assert_int_eq(g.status, RZ_OK);
    ck_assert_str_eq(g.v[0], "20"); /* the last statement's result */
    ck_assert_str_eq(query(base, 0, cnt, 0, NULL).v[0], "2");

    /* A plugin's stray BEGIN must not leak into the next request. */
    ck_assert_int_eq(query(base, 0, "BEGIN", 0, NULL).status, RZ_OK);
    g = query(base, 0, "SAVEPOINT rz_probe", 0, NULL); /* works only inside a block */
    ck_assert_int_eq(g.status, RZ_ERR);
    ck_assert_str_eq(g.sqlstate, "25P01");
    ck_assert_int_eq(query(base, 0, drop, 0, NULL).status, RZ_OK);
    t_db_down(base);
}
END_TEST

START_TEST(test_db_requests_wait_in_fifo_order)
{
    rz_db_opts_t o = t_db_opts(t_pgurl());
    o.pool_size = 1;
    struct event_base *base = t_db_up(&o);
    enum { N = 200 };
    static got_t g[N];
    memset(g, 0, sizeof(g));
    arrivals = 0;
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(rz__svc_db_query(NULL, 0, "SELECT 1", 0, NULL, on_res, &g[i]), 0);
    ck_assert_int_eq(rz__db_pending(), N);
    ck_assert(t_loop_until(base, t_flag_set, &g[N - 1].done, 20));
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(g[i].seq, i + 1);
    ck_assert_int_eq(rz__db_pending(), 0);
    t_db_down(base);
}
END_TEST

START_TEST(test_db_readonly_goes_to_replica_with_fallback)
{
    /* The "replica" is the same server under another application_name, so
     * a query can tell where it ran. */
    const char *replicas[] = {t_url_with("application_name=rz_test_replica"), NULL};
    rz_db_opts_t o = t_db_opts(t_pgurl());
    o.replicas = replicas;
    struct event_base *base = t_db_up(&o);
    static const char who[] = "SELECT current_setting('application_name')";
    got_t g = query(base, 0, who, 0, NULL);
    ck_assert_str_eq(g.v[0], "rentezyd");
    /* The replica pool may still be connecting (slowly under sanitizers):
     * give it up to five seconds to answer. */
    for (int i = 0; i < 250 && strcmp(g.v[0], "rz_test_replica") != 0; i++) {
        g = query(base, RZ_DB_READONLY, who, 0, NULL);
        if (strcmp(g.v[0], "rz_test_replica") != 0)
            usleep(20000);
    }
    ck_assert_str_eq(g.v[0], "rz_test_replica");
    t_db_down(base);

    /* A replica that is down: read-only queries fall back to the primary. */
    char dead[256];
    snprintf(dead, sizeof(dead), "postgresql://postgres@127.0.0.1:%d/rentezy", t_closed_port());
    const char *dead_replicas[] = {dead, NULL};
    o.replicas = dead_replicas;
    base = t_db_up(&o);
    for (int i = 0; i < 20; i++) {
        g = query(base, RZ_DB_READONLY, who, 0, NULL);
        ck_assert_int_eq(g.status, RZ_OK);
        ck_assert_str_eq(g.v[0], "rentezyd");
    }
    t_db_down(base);
}
END_TEST

START_TEST(test_db_fails_fast_when_server_unreachable)
{
    char url[256];
    snprintf(url, sizeof(url), "postgresql://postgres@127.0.0.1:%d/rentezy", t_closed_port());
    rz_db_opts_t o = t_db_opts(url);
    char err[256];
    struct event_base *base = event_base_new();
    ck_assert(rz__db_configure_opts(&o, err, sizeof(err)) == 0);
    ck_assert(rz__db_worker_start(base) == 0);
    ck_assert_int_eq(rz__db_ready(), 0);
    /* Made while the first attempts are under way: waits, then fails. */
    got_t g = {0};
    double t0 = t_now();
    ck_assert_int_eq(rz__svc_db_query(NULL, 0, "SELECT 1", 0, NULL, on_res, &g), 0);
    ck_assert(t_loop_until(base, t_flag_set, &g.done, 5));
    ck_assert_int_eq(g.status, RZ_EUNAVAIL);
    ck_assert(t_now() - t0 < 1.0);
    ck_assert(strstr(g.msg, "unavailable") != NULL);
    /* Now known to be down: refused at once, no callback. */
    got_t never = {0};
    ck_assert_int_eq(rz__svc_db_query(NULL, 0, "SELECT 1", 0, NULL, on_res, &never), RZ_EUNAVAIL);
    ck_assert_int_eq(rz__db_ready(), 0);
    rz__db_worker_stop();
    event_base_free(base);
    ck_assert_int_eq(never.done, 0);
}
END_TEST

START_TEST(test_db_query_timeout_and_statement_timeout)
{
    rz_db_opts_t o = t_db_opts(t_pgurl());
    o.statement_timeout_ms = 200;
    o.query_timeout_ms = 2000;
    struct event_base *base = t_db_up(&o);
    got_t g = query(base, 0, "SELECT pg_sleep(5)", 0, NULL);
    ck_assert_int_eq(g.status, RZ_ERR);
    ck_assert_str_eq(g.sqlstate, "57014"); /* canceled by statement_timeout */
    t_db_down(base);

    /* The host-side bound holds even when the server would let it run. */
    o.statement_timeout_ms = 0;
    o.query_timeout_ms = 300;
    base = t_db_up(&o);
    double t0 = t_now();
    g = query(base, 0, "SELECT pg_sleep(5)", 0, NULL);
    ck_assert_int_eq(g.status, RZ_EUNAVAIL);
    ck_assert(strstr(g.msg, "timed out") != NULL);
    ck_assert(t_now() - t0 < 1.5);
    ck_assert(t_loop_until(base, t_db_is_ready, NULL, 5));
    ck_assert_int_eq(query(base, 0, "SELECT 1", 0, NULL).status, RZ_OK);
    t_db_down(base);
}
END_TEST

START_TEST(test_db_reconnects_after_backends_are_terminated)
{
    char app[64], kill[256];
    snprintf(app, sizeof(app), "application_name=rz_term_%d", (int)getpid());
    snprintf(kill, sizeof(kill),
             "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
             "WHERE application_name = 'rz_term_%d'",
             (int)getpid());
    rz_db_opts_t o = t_db_opts(t_url_with(app));
    struct event_base *base = t_db_up(&o);
    ck_assert_int_eq(query(base, 0, "SELECT 1", 0, NULL).status, RZ_OK);

    /* One request in flight when its backend dies: it fails, quickly. */
    got_t inflight = {0};
    ck_assert_int_eq(rz__svc_db_query(NULL, 0, "SELECT pg_sleep(10)", 0, NULL, on_res, &inflight), 0);
    event_base_loop(base, EVLOOP_NONBLOCK); /* send it */
    PGconn *admin = t_admin();
    usleep(100 * 1000); /* let the sleep start server-side (not awaitable from here) */
    double t0 = t_now();
    ck_assert(t_scalar(admin, kill) >= 1);
    ck_assert(t_loop_until(base, t_flag_set, &inflight.done, 5));
    ck_assert_int_eq(inflight.status, RZ_EUNAVAIL);
    ck_assert(t_now() - t0 < 2.0);

    /* Kill everything again; the pool comes back by itself. */
    t_scalar(admin, kill);
    ck_assert(t_loop_until(base, t_db_is_ready, NULL, 10));
    got_t g = {0};
    for (int i = 0; i < 50; i++) { /* the first tries may meet a dying session */
        g = query(base, 0, "SELECT 'back'", 0, NULL);
        if (g.status == RZ_OK)
            break;
        t_loop_until(base, t_db_is_ready, NULL, 5);
    }
    ck_assert_int_eq(g.status, RZ_OK);
    ck_assert_str_eq(g.v[0], "back");
    PQfinish(admin);
    t_db_down(base);
}
END_TEST

START_TEST(test_db_metrics_text)
{
    rz_db_opts_t o = t_db_opts(t_pgurl());
    struct event_base *base = t_db_up(&o);
    query(base, 0, "SELECT 1", 0, NULL);
    query(base, 0, "SELECT 1/0", 0, NULL);
    struct evbuffer *b = evbuffer_new();
    rz__db_metrics(b, 3);
    evbuffer_add(b, "", 1);
    const char *t = (const char *)evbuffer_pullup(b, -1);
    ck_assert(strstr(t, "rentezy_db_connections{worker=\"3\",pool=\"primary\",state=\"idle\"}"));
    ck_assert(strstr(t, "rentezy_db_queries_waiting{worker=\"3\",pool=\"primary\"} 0"));
    ck_assert(strstr(t, "rentezy_db_errors_total{worker=\"3\",pool=\"primary\",kind=\"server\"} 1"));
    ck_assert(strstr(t, "le=\"+Inf\"} 2"));
    ck_assert(strstr(t, "rentezy_db_query_duration_seconds_count{worker=\"3\",pool=\"primary\"} 2"));
    evbuffer_free(b);
    t_db_down(base);
}
END_TEST

START_TEST(test_db_slow_query_is_logged_without_parameters)
{
    rz_db_opts_t o = t_db_opts(t_pgurl());
    o.slow_query_ms = 20;
    struct event_base *base = t_db_up(&o);
    static rz_plugin_desc_t d = {.name = "slowpoke"};
    static rz_plugin_t p = {.desc = &d};
    FILE *cap = tmpfile();
    int saved = dup(2);
    dup2(fileno(cap), 2);
    const char *params[] = {"s3cret-token"};
    got_t g = {0};
    ck_assert_int_eq(rz__svc_db_query(&p, 0, "SELECT pg_sleep(0.05), $1::text", 1, params, on_res, &g), 0);
    ck_assert(t_loop_until(base, t_flag_set, &g.done, 10));
    dup2(saved, 2);
    close(saved);
    char buf[4096] = "";
    rewind(cap);
    size_t n = fread(buf, 1, sizeof(buf) - 1, cap);
    buf[n] = '\0';
    fclose(cap);
    ck_assert_msg(strstr(buf, "slow query") && strstr(buf, "slowpoke") &&
                      strstr(buf, "SELECT pg_sleep(0.05), $1::text") && strstr(buf, "\"warn\""),
                  "%s", buf);
    ck_assert(strstr(buf, "s3cret") == NULL);
    t_db_down(base);
}
END_TEST

START_TEST(test_db_stop_fails_pending_requests)
{
    rz_db_opts_t o = t_db_opts(t_pgurl());
    o.pool_size = 1;
    struct event_base *base = t_db_up(&o);
    got_t a = {0}, b = {0};
    ck_assert_int_eq(rz__svc_db_query(NULL, 0, "SELECT pg_sleep(5)", 0, NULL, on_res, &a), 0);
    ck_assert_int_eq(rz__svc_db_query(NULL, 0, "SELECT 2", 0, NULL, on_res, &b), 0);
    event_base_loop(base, EVLOOP_NONBLOCK);
    rz__db_worker_stop();
    ck_assert(a.done && b.done);
    ck_assert_int_eq(a.status, RZ_EUNAVAIL);
    ck_assert_int_eq(b.status, RZ_EUNAVAIL);
    ck_assert_int_eq(rz__svc_db_query(NULL, 0, "SELECT 1", 0, NULL, on_res, &a), RZ_ESTATE);
    event_base_free(base);
}
END_TEST

START_TEST(test_db_configure_rejects_bad_url)
{
    char err[256];
    rz_db_opts_t o = t_db_opts("postgresql://u:secret@host:notaport/db?bogus=1");
    ck_assert_int_eq(rz__db_configure_opts(&o, err, sizeof(err)), -1);
    ck_assert(strstr(err, "[database] url") != NULL);
    ck_assert(strstr(err, "secret") == NULL); /* never echo credentials */
    o = t_db_opts(t_pgurl());
    o.pool_size = 0;
    ck_assert_int_eq(rz__db_configure_opts(&o, err, sizeof(err)), -1);
}
END_TEST

START_TEST(test_db_configure_from_config)
{
    char err[256];
    rz_config_t *cfg = rz__config_new();
    static const char conf[] = "[database]\nurl = postgresql:///x?host=/tmp\nreplicas = "
                               "postgresql:///r1 postgresql:///r2\npool_size = 3\nslow_query = "
                               "50ms\n";
    ck_assert(rz__config_parse_buffer(cfg, "10-db.conf", conf, sizeof(conf) - 1, err,
                                      sizeof(err)) == 0);
    ck_assert_msg(rz__db_configure(cfg, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_eq(rz__db_configured(), 1);
    ck_assert_int_eq(rz__db_opts()->pool_size, 3);
    ck_assert_int_eq(rz__db_opts()->slow_query_ms, 50);
    ck_assert_str_eq(rz__db_opts()->replicas[1], "postgresql:///r2");
    ck_assert_int_eq(rz__db_opts()->query_timeout_ms, 35000);
    static const char typo[] = "[database]\npool_szie = 3\n";
    rz_config_t *cfg2 = rz__config_new();
    ck_assert(rz__config_parse_buffer(cfg2, "11-db.conf", typo, sizeof(typo) - 1, err,
                                      sizeof(err)) == 0);
    ck_assert_int_eq(rz__db_configure(cfg2, err, sizeof(err)), -1);
    ck_assert(strstr(err, "pool_szie") != NULL);
    rz__config_free(cfg2);
    rz__config_free(cfg);
}
END_TEST

int main(void)
{
    if (t_skip_without_pg("test_db"))
        return 0;
    Suite *s = suite_create("db");
    TCase *tc = tcase_create("db");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_db_parameterised_query_round_trip);
    tcase_add_test(tc, test_db_accessors_tolerate_bad_indexes);
    tcase_add_test(tc, test_db_prepared_statement_is_reused);
    tcase_add_test(tc, test_db_bad_input_gives_error_result_not_crash);
    tcase_add_test(tc, test_db_tx_failing_statement_rolls_back_earlier_ones);
    tcase_add_test(tc, test_db_requests_wait_in_fifo_order);
    tcase_add_test(tc, test_db_readonly_goes_to_replica_with_fallback);
    tcase_add_test(tc, test_db_fails_fast_when_server_unreachable);
    tcase_add_test(tc, test_db_query_timeout_and_statement_timeout);
    tcase_add_test(tc, test_db_reconnects_after_backends_are_terminated);
    tcase_add_test(tc, test_db_metrics_text);
    tcase_add_test(tc, test_db_slow_query_is_logged_without_parameters);
    tcase_add_test(tc, test_db_stop_fails_pending_requests);
    tcase_add_test(tc, test_db_configure_rejects_bad_url);
    tcase_add_test(tc, test_db_configure_from_config);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
