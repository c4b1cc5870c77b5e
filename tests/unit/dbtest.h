/*
 * dbtest.h — helpers shared by the tests that run against the real
 * PostgreSQL named by RZ_TEST_PGURL (test_db, test_migrate, test_jobs).
 * Header-only so each test binary stays one file for the Makefile.
 */
#ifndef RZ_DBTEST_H
#define RZ_DBTEST_H

#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "clock.h"
#include "db.h"
#include "host.h"

static inline const char *t_pgurl(void) { return getenv("RZ_TEST_PGURL"); }

/* Tests skip (exit 0 with a message) when there is no database to use. */
static inline int t_skip_without_pg(const char *suite)
{
    if (t_pgurl() && *t_pgurl())
        return 0;
    printf("%s: SKIPPED (RZ_TEST_PGURL is not set; `scripts/pg.sh url` gives one)\n", suite);
    return 1;
}

static inline double t_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void t_wake(evutil_socket_t fd, short what, void *arg) { (void)fd, (void)what, (void)arg; }

/* Run base until cond(arg) holds or timeout_s passes; 1 when it held.  A
 * short periodic timer keeps EVLOOP_ONCE from blocking past the deadline. */
static inline int t_loop_until(struct event_base *base, int (*cond)(void *), void *arg,
                               double timeout_s)
{
    struct timeval tick = {0, 20000};
    struct event *ev = event_new(base, -1, EV_PERSIST, t_wake, NULL);
    event_add(ev, &tick);
    double end = t_now() + timeout_s;
    int ok;
    while (!(ok = cond(arg)) && t_now() < end)
        event_base_loop(base, EVLOOP_ONCE);
    event_free(ev);
    return ok;
}

static inline int t_flag_set(void *p) { return *(int *)p != 0; }
static inline int t_db_is_ready(void *p) { (void)p; return rz__db_ready(); }
static inline int t_db_is_unready(void *p) { (void)p; return !rz__db_ready(); }

/* A blocking connection for set-up and checks. */
static inline PGconn *t_admin(void)
{
    PGconn *c = PQconnectdb(t_pgurl());
    ck_assert_msg(PQstatus(c) == CONNECTION_OK, "admin connection: %s", PQerrorMessage(c));
    PQclear(PQexec(c, "SET client_min_messages = warning"));
    return c;
}

static inline void t_exec(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK,
                  "%s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
}

/* The first column of the first row as an integer. */
static inline long long t_scalar(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1, "%s: %s", sql,
                  PQresultErrorMessage(r));
    long long v = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

/* A TCP port on 127.0.0.1 where nothing listens (bound, then closed). */
static inline int t_closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    ck_assert(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
    ck_assert(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* RZ_TEST_PGURL with extra "&key=value" parameters appended. */
static inline const char *t_url_with(const char *extra)
{
    static char buf[8][1024];
    static int n;
    char *b = buf[n++ % 8];
    const char *u = t_pgurl();
    snprintf(b, 1024, "%s%s%s", u, strchr(u, '?') ? "&" : "?", extra);
    return b;
}

/* Options for tests: small pools, short timeouts. */
static inline rz_db_opts_t t_db_opts(const char *url)
{
    return (rz_db_opts_t){.url = url,
                          .pool_size = 2,
                          .connect_timeout_ms = 2000,
                          .statement_timeout_ms = 10000,
                          .query_timeout_ms = 15000,
                          .slow_query_ms = 1000};
}

/* Configure and start the pool on a fresh base; wait until it is up. */
static inline struct event_base *t_db_up(const rz_db_opts_t *o)
{
    char err[256];
    struct event_base *base = event_base_new();
    ck_assert_msg(rz__db_configure_opts(o, err, sizeof(err)) == 0, "%s", err);
    ck_assert(rz__db_worker_start(base) == 0);
    rz__rt.base = base;
    ck_assert_msg(t_loop_until(base, t_db_is_ready, NULL, 10), "pool did not come up");
    return base;
}

static inline void t_db_down(struct event_base *base)
{
    rz__db_worker_stop();
    rz__rt.base = NULL;
    event_base_free(base);
}

#endif
