/*
 * jobs_cli.c — `rentezyd jobs list [--dead] [--plugin NAME] [--limit N]` and
 * `rentezyd jobs retry ID`: blocking libpq, run by the master instead of
 * serving.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "clock.h"
#include "db.h"
#include "jobs_int.h"

static const char usage[] = "usage: rentezyd jobs list [--dead] [--plugin NAME] [--limit N]\n"
                            "       rentezyd jobs retry ID\n";

static PGconn *connect_db(void)
{
    const rz_db_opts_t *o = rz__db_opts();
    if (!o->url) {
        fprintf(stderr, "rentezyd jobs: no [database] url configured\n");
        return NULL;
    }
    const char *const kw[] = {"dbname", "fallback_application_name", NULL};
    const char *const val[] = {o->url, "rentezyd-jobs", NULL};
    PGconn *c = PQconnectdbParams(kw, val, 1);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "rentezyd jobs: cannot connect: %s", PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    return c;
}

static int list(PGconn *c, int dead, const char *plugin, const char *limit)
{
    const char *p[] = {dead ? "{dead}" : "{due,running,dead}", plugin, limit};
    PGresult *r = PQexecParams(
        c,
        "SELECT id, plugin, kind, state, attempts, "
        "to_char(run_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), "
        "coalesce(left(replace(last_error, E'\\n', ' '), 60), '') FROM rentezy.jobs "
        "WHERE state = ANY($1::text[]) AND ($2::text IS NULL OR plugin = $2) "
        "ORDER BY id LIMIT $3::int",
        3, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "rentezyd jobs list: %s", PQresultErrorMessage(r));
        PQclear(r);
        return 1;
    }
    printf("%-10s %-14s %-20s %-8s %8s  %-19s  %s\n", "ID", "PLUGIN", "KIND", "STATE", "ATTEMPTS",
           "RUN_AT (UTC)", "LAST_ERROR");
    for (int i = 0; i < PQntuples(r); i++)
        printf("%-10s %-14s %-20s %-8s %8s  %-19s  %s\n", PQgetvalue(r, i, 0),
               PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), PQgetvalue(r, i, 3), PQgetvalue(r, i, 4),
               PQgetvalue(r, i, 5), PQgetvalue(r, i, 6));
    PQclear(r);
    return 0;
}

/* A dead (or waiting) job gets a fresh set of attempts, due now. */
static int retry(PGconn *c, const char *id)
{
    char *end;
    long long v = strtoll(id, &end, 10);
    if (*id == '\0' || *end != '\0' || v <= 0) {
        fprintf(stderr, "rentezyd jobs retry: '%s' is not a job id\n", id);
        return 2;
    }
    char now[24];
    rz__jobs_ms_text(now, sizeof(now), rz__now_ms());
    const char *p[] = {id, now};
    PGresult *r = PQexecParams(
        c,
        "UPDATE rentezy.jobs SET state = 'due', attempts = 0, run_at = " RZ_TS(2) ", "
        "locked_by = NULL, locked_until = NULL, updated_at = " RZ_TS(2) " "
        "WHERE id = $1::bigint AND state IN ('dead', 'due') RETURNING plugin, kind",
        2, NULL, p, NULL, NULL, 0);
    int rc = 1;
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fprintf(stderr, "rentezyd jobs retry: %s", PQresultErrorMessage(r));
    else if (PQntuples(r) == 0)
        fprintf(stderr, "rentezyd jobs retry: no dead or waiting job %s (running or done?)\n", id);
    else {
        printf("job %s (%s/%s) is due again\n", id, PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1));
        rc = 0;
    }
    PQclear(r);
    return rc;
}

int rz__jobs_cli(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    int dead = 0, rc;
    const char *plugin = NULL, *limit = "100";
    if (strcmp(argv[1], "list") == 0) {
        for (int i = 2; i < argc; i++) {
            if (strcmp(argv[i], "--dead") == 0)
                dead = 1;
            else if (strcmp(argv[i], "--plugin") == 0 && i + 1 < argc)
                plugin = argv[++i];
            else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc && atoi(argv[i + 1]) > 0)
                limit = argv[++i];
            else {
                fputs(usage, stderr);
                return 2;
            }
        }
    } else if (strcmp(argv[1], "retry") != 0 || argc != 3) {
        fputs(usage, stderr);
        return 2;
    }
    PGconn *c = connect_db();
    if (!c)
        return 1;
    rc = strcmp(argv[1], "list") == 0 ? list(c, dead, plugin, limit) : retry(c, argv[2]);
    PQfinish(c);
    return rc;
}
