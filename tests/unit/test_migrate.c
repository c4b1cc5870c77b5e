/*
 * test_migrate.c — per-plugin migrations against a real PostgreSQL
 * (RZ_TEST_PGURL).  Plugin names carry the pid, so runs never collide.
 */
#include "dbtest.h"

#include <sys/wait.h>

#include "migrate.h"

static char name_buf[64];
static rz_plugin_desc_t desc = {.magic = RZ_PLUGIN_MAGIC, .name = name_buf};
static rz_plugin_t plugin = {.desc = &desc};

/* A fresh plugin name for this test, and a clean registry. */
static void fresh(const char *prefix)
{
    char err[256];
    snprintf(name_buf, sizeof(name_buf), "%s_%d", prefix, (int)getpid());
    rz__migrate_reset();
    rz_db_opts_t o = t_db_opts(t_pgurl());
    ck_assert(rz__db_configure_opts(&o, err, sizeof(err)) == 0);
}

static void cleanup(void)
{
    char sql[256];
    PGconn *c = t_admin();
    snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %s CASCADE", name_buf);
    t_exec(c, sql);
    snprintf(sql, sizeof(sql), "DELETE FROM rentezy.migrations WHERE plugin = '%s'", name_buf);
    t_exec(c, sql);
    PQfinish(c);
}

static int reg(int version, const char *name, const char *sql)
{
    rz__rt.in_init = 1;
    int rc = rz__svc_migration(&plugin, version, name, sql);
    rz__rt.in_init = 0;
    return rc;
}

static long long count(const char *fmt)
{
    char sql[256];
    snprintf(sql, sizeof(sql), fmt, name_buf);
    PGconn *c = t_admin();
    long long n = t_scalar(c, sql);
    PQfinish(c);
    return n;
}

START_TEST(test_migration_registration_rules)
{
    fresh("tmig_reg");
    ck_assert_int_eq(rz__svc_migration(&plugin, 1, "init", "SELECT 1"), RZ_ESTATE); /* not in init */
    ck_assert_int_eq(reg(1, "init", "SELECT 1"), RZ_OK);
    ck_assert_int_eq(reg(1, "again", "SELECT 1"), RZ_EEXIST);
    ck_assert_int_eq(reg(3, "gap", "SELECT 1"), RZ_EINVAL);
    ck_assert_int_eq(reg(0, "zero", "SELECT 1"), RZ_EINVAL);
    ck_assert_int_eq(reg(2, "bad;name", "SELECT 1"), RZ_EINVAL);
    ck_assert_int_eq(reg(2, "null_sql", NULL), RZ_EINVAL);
    ck_assert_int_eq(reg(2, NULL, "SELECT 1"), RZ_EINVAL);
    ck_assert_int_eq(reg(2, "second", "SELECT 2"), RZ_OK);
    rz__rt.in_init = 1;
    ck_assert_int_eq(rz__svc_migration(NULL, 1, "x", "SELECT 1"), RZ_EINVAL);
    static rz_plugin_desc_t pub = {.name = "public"};
    static rz_plugin_t pubp = {.desc = &pub};
    ck_assert_int_eq(rz__svc_migration(&pubp, 1, "x", "SELECT 1"), RZ_EINVAL); /* reserved */
    rz__rt.in_init = 0;
    ck_assert_int_eq(rz__migrate_host(3, "dup", "SELECT 1"), RZ_EEXIST); /* built-in 1-3 */
    ck_assert_int_eq(rz__migrate_host(5, "gap", "SELECT 1"), RZ_EINVAL);
    rz__migrate_reset();
}
END_TEST

START_TEST(test_migration_applied_once_in_plugin_schema)
{
    char err[512];
    fresh("tmig_once");
    ck_assert_int_eq(reg(1, "create", "CREATE TABLE t (n int);\nINSERT INTO t VALUES (1);"), 0);
    ck_assert_int_eq(reg(2, "add_row", "INSERT INTO t VALUES (2)"), 0);

    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    ck_assert_int_eq(rz__migrate_status(out, err, sizeof(err)), 0);
    fclose(out);
    ck_assert_msg(strstr(buf, "pending") != NULL, "%s", buf);
    free(buf);

    ck_assert_msg(rz__migrate_apply(NULL, err, sizeof(err)) == 0, "%s", err);
    ck_assert_msg(rz__migrate_apply(NULL, err, sizeof(err)) == 0, "%s", err); /* no-op */
    ck_assert_int_eq(count("SELECT count(*) FROM %s.t"), 2);
    ck_assert_int_eq(count("SELECT count(*) FROM rentezy.migrations WHERE plugin = '%s'"), 2);
    ck_assert_int_eq(count("SELECT count(*) FROM rentezy.migrations WHERE plugin = 'host' "
                           "AND version <= 3 AND '%s' <> ''"),
                     3);
    ck_assert_int_eq(count("SELECT count(*) FROM pg_tables WHERE schemaname = 'rentezy' AND "
                           "tablename IN ('jobs', 'schedules', 'migrations') AND '%s' <> ''"),
                     3);

    /* A third migration later: only it runs. */
    ck_assert_int_eq(reg(3, "add_another", "INSERT INTO t VALUES (3)"), 0);
    ck_assert_msg(rz__migrate_apply(NULL, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_eq(count("SELECT count(*) FROM %s.t"), 3);

    out = open_memstream(&buf, &len);
    ck_assert_int_eq(rz__migrate_status(out, err, sizeof(err)), 0);
    fclose(out);
    ck_assert_msg(strstr(buf, "pending") == NULL && strstr(buf, "add_another") != NULL, "%s", buf);
    free(buf);
    cleanup();
    rz__migrate_reset();
}
END_TEST

START_TEST(test_migration_changed_checksum_refuses_to_start)
{
    char err[512];
    fresh("tmig_sum");
    ck_assert_int_eq(reg(1, "create", "CREATE TABLE t (n int)"), 0);
    ck_assert_int_eq(reg(2, "seed", "INSERT INTO t VALUES (1)"), 0);
    ck_assert_msg(rz__migrate_apply(NULL, err, sizeof(err)) == 0, "%s", err);

    /* A new build whose migration 2 was edited in place, plus a new 3. */
    rz__migrate_reset();
    ck_assert_int_eq(reg(1, "create", "CREATE TABLE t (n int)"), 0);
    ck_assert_int_eq(reg(2, "seed", "INSERT INTO t VALUES (42)"), 0);
    ck_assert_int_eq(reg(3, "more", "INSERT INTO t VALUES (3)"), 0);
    ck_assert_int_eq(rz__migrate_apply(NULL, err, sizeof(err)), -1);
    char want[128];
    snprintf(want, sizeof(want), "migration %s 2 (seed) changed", name_buf);
    ck_assert_msg(strstr(err, want) != NULL, "%s", err);
    ck_assert_int_eq(count("SELECT count(*) FROM %s.t"), 1); /* 3 did not run either */

    FILE *devnull = fopen("/dev/null", "w");
    ck_assert_int_eq(rz__migrate_status(devnull, err, sizeof(err)), 1);
    fclose(devnull);
    cleanup();
    rz__migrate_reset();
}
END_TEST

START_TEST(test_migration_failure_rolls_back_and_names_line)
{
    char err[512];
    fresh("tmig_fail");
    ck_assert_int_eq(reg(1, "create", "CREATE TABLE t (n int)"), 0);
    ck_assert_int_eq(reg(2, "broken", "INSERT INTO t VALUES (1);\nINSERT INTO nowhere VALUES (2);"),
                     0);
    ck_assert_int_eq(rz__migrate_apply(NULL, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "(broken)") && strstr(err, "line 2") && strstr(err, "nowhere"), "%s",
                  err);
    ck_assert_int_eq(count("SELECT count(*) FROM %s.t"), 0);
    ck_assert_int_eq(count("SELECT count(*) FROM rentezy.migrations WHERE plugin = '%s'"), 1);
    cleanup();
    rz__migrate_reset();
}
END_TEST

START_TEST(test_migration_four_masters_at_once_apply_each_once)
{
    enum { N = 4 };
    char err[512];
    fresh("tmig_race");
    /* Not idempotent on purpose: a second run of 1 fails, of 2 adds a row. */
    ck_assert_int_eq(reg(1, "create", "CREATE TABLE t (n int)"), 0);
    ck_assert_int_eq(reg(2, "seed", "INSERT INTO t SELECT 1 FROM pg_sleep(0.05)"), 0);
    pid_t kids[N];
    for (int i = 0; i < N; i++) {
        kids[i] = fork();
        if (kids[i] == 0) {
            int rc = rz__migrate_apply(NULL, err, sizeof(err));
            if (rc)
                fprintf(stderr, "child: %s\n", err);
            _exit(rc ? 1 : 0);
        }
    }
    for (int i = 0; i < N; i++) {
        int st;
        waitpid(kids[i], &st, 0);
        ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    ck_assert_int_eq(count("SELECT count(*) FROM %s.t"), 1);
    ck_assert_int_eq(count("SELECT count(*) FROM rentezy.migrations WHERE plugin = '%s'"), 2);
    cleanup();
    rz__migrate_reset();
}
END_TEST

START_TEST(test_migrate_cli_status_and_apply)
{
    fresh("tmig_cli");
    ck_assert_int_eq(reg(1, "create", "CREATE TABLE t (n int)"), 0);
    char *st[] = {"migrate", "--status", NULL}, *ap[] = {"migrate", NULL}, *bad[] = {"migrate", "-x", NULL};
    ck_assert_int_eq(rz__migrate_cli(2, st), 0);
    ck_assert_int_eq(rz__migrate_cli(1, ap), 0);
    ck_assert_int_eq(rz__migrate_cli(2, bad), 2);
    ck_assert_int_eq(count("SELECT count(*) FROM rentezy.migrations WHERE plugin = '%s'"), 1);
    cleanup();
    rz__migrate_reset();
}
END_TEST

int main(void)
{
    if (t_skip_without_pg("test_migrate"))
        return 0;
    Suite *s = suite_create("migrate");
    TCase *tc = tcase_create("migrate");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_migration_registration_rules);
    tcase_add_test(tc, test_migration_applied_once_in_plugin_schema);
    tcase_add_test(tc, test_migration_changed_checksum_refuses_to_start);
    tcase_add_test(tc, test_migration_failure_rolls_back_and_names_line);
    tcase_add_test(tc, test_migration_four_masters_at_once_apply_each_once);
    tcase_add_test(tc, test_migrate_cli_status_and_apply);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
