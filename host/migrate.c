/*
 * migrate.c — registration and blocking application of migrations (see
 * migrate.h).  Runs in the master only, before any worker exists.
 */
#include "migrate.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <sodium.h>

#include "db.h"
#include "host.h"

/* Any constant will do, as long as every rentezyd uses the same one. */
#define MIGRATE_LOCK_KEY "7529475001"

/* ---- the host's own schema (append only: never edit an entry) ------------- */

static const char host_v1[] =
    "CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA public;\n"
    "CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;\n"
    "CREATE EXTENSION IF NOT EXISTS citext WITH SCHEMA public;\n";

static const char host_v2[] =
    "CREATE TABLE rentezy.jobs (\n"
    "    id bigserial PRIMARY KEY,\n"
    "    plugin text NOT NULL,\n"
    "    kind text NOT NULL,\n"
    "    payload jsonb NOT NULL DEFAULT '{}',\n"
    "    run_at timestamptz NOT NULL DEFAULT now(),\n"
    "    attempts int NOT NULL DEFAULT 0,\n"
    "    max_attempts int,  -- NULL: [jobs] max_attempts\n"
    "    state text NOT NULL DEFAULT 'due'\n"
    "        CHECK (state IN ('due', 'running', 'done', 'dead')),\n"
    "    last_error text,\n"
    "    locked_by text,\n"
    "    locked_until timestamptz,\n"
    "    dedup_key text,    -- schedule occurrences: plugin/name@epoch_ms\n"
    "    created_at timestamptz NOT NULL DEFAULT now(),\n"
    "    updated_at timestamptz NOT NULL DEFAULT now()\n"
    ");\n"
    "CREATE INDEX jobs_due ON rentezy.jobs (run_at) WHERE state = 'due';\n"
    "CREATE INDEX jobs_running ON rentezy.jobs (locked_until) WHERE state = 'running';\n"
    "CREATE INDEX jobs_dead ON rentezy.jobs (updated_at) WHERE state = 'dead';\n"
    "CREATE INDEX jobs_done ON rentezy.jobs (updated_at) WHERE state = 'done';\n"
    "CREATE UNIQUE INDEX jobs_dedup ON rentezy.jobs (dedup_key) WHERE dedup_key IS NOT NULL;\n";

static const char host_v3[] =
    "CREATE TABLE rentezy.schedules (\n"
    "    plugin text NOT NULL,\n"
    "    name text NOT NULL,\n"
    "    cron text NOT NULL,\n"
    "    tz text NOT NULL,\n"
    "    kind text NOT NULL,\n"
    "    next_run timestamptz NOT NULL,\n"
    "    updated_at timestamptz NOT NULL DEFAULT now(),\n"
    "    PRIMARY KEY (plugin, name)\n"
    ");\n";

/* ---- registry ------------------------------------------------------------------ */

typedef struct mig {
    rz_plugin_t *plugin; /* NULL: the host */
    int version;
    char *name;          /* owned */
    char *sql;           /* owned */
    char checksum[65];   /* hex SHA-256 of sql */
} mig_t;

static mig_t *migs; /* owned, in registration order */
static size_t nmigs, cmigs;
static int host_builtin_done;

static const char *owner_name(const rz_plugin_t *p) { return p ? rz__plugin_name(p) : "host"; }
static const char *owner_schema(const rz_plugin_t *p) { return p ? rz__plugin_name(p) : "rentezy"; }

static int valid_name(const char *s)
{
    size_t n = 0;
    if (!s || !*s)
        return 0;
    for (; s[n]; n++)
        if (!isalnum((unsigned char)s[n]) && !strchr("_ .-", s[n]))
            return 0;
    return n <= 63;
}

static int reserved_schema(const char *name)
{
    return strcmp(name, "host") == 0 || strcmp(name, "rentezy") == 0 ||
           strcmp(name, "public") == 0 || strncmp(name, "pg_", 3) == 0 ||
           strcmp(name, "information_schema") == 0;
}

static int add(rz_plugin_t *self, int version, const char *name, const char *sql)
{
    int last = 0;
    if (version < 1 || !valid_name(name) || !sql)
        return RZ_EINVAL;
    if (self && reserved_schema(rz__plugin_name(self)))
        return RZ_EINVAL;
    for (size_t i = 0; i < nmigs; i++) {
        if (migs[i].plugin != self)
            continue;
        if (migs[i].version == version)
            return RZ_EEXIST;
        last = migs[i].version;
    }
    if (version != last + 1)
        return RZ_EINVAL; /* a gap, or out of order */
    if (nmigs == cmigs) {
        size_t n = cmigs ? cmigs * 2 : 16;
        mig_t *m = realloc(migs, n * sizeof(*m));
        if (!m)
            return RZ_ENOMEM;
        migs = m;
        cmigs = n;
    }
    mig_t *m = &migs[nmigs];
    m->plugin = self;
    m->version = version;
    m->name = strdup(name);
    m->sql = strdup(sql);
    if (!m->name || !m->sql) {
        free(m->name);
        free(m->sql);
        return RZ_ENOMEM;
    }
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)sql, strlen(sql));
    sodium_bin2hex(m->checksum, sizeof(m->checksum), h, sizeof(h));
    nmigs++;
    return RZ_OK;
}

/* The host's migrations come first in the registry, so they are applied
 * before any plugin's (a plugin may rely on btree_gist, say). */
static int host_builtin(void)
{
    if (host_builtin_done)
        return 0;
    if (add(NULL, 1, "extensions", host_v1) != 0 || add(NULL, 2, "jobs", host_v2) != 0 ||
        add(NULL, 3, "schedules", host_v3) != 0)
        return -1;
    host_builtin_done = 1;
    return 0;
}

int rz__svc_migration(rz_plugin_t *self, int version, const char *name, const char *sql)
{
    if (!rz__rt.in_init)
        return RZ_ESTATE;
    if (!self)
        return RZ_EINVAL;
    if (host_builtin() != 0)
        return RZ_ENOMEM;
    return add(self, version, name, sql);
}

int rz__migrate_host(int version, const char *name, const char *sql)
{
    if (host_builtin() != 0)
        return RZ_ENOMEM;
    return add(NULL, version, name, sql);
}

void rz__migrate_reset(void)
{
    for (size_t i = 0; i < nmigs; i++) {
        free(migs[i].name);
        free(migs[i].sql);
    }
    free(migs);
    migs = NULL;
    nmigs = cmigs = 0;
    host_builtin_done = 0;
}

/* ---- database side ----------------------------------------------------------------- */

static PGconn *connect_blocking(char *err, size_t errlen)
{
    const rz_db_opts_t *o = rz__db_opts();
    if (!o->url) {
        snprintf(err, errlen, "migrations: no [database] url configured");
        return NULL;
    }
    char timeout[24];
    snprintf(timeout, sizeof(timeout), "%lld", (long long)((o->connect_timeout_ms + 999) / 1000));
    const char *const kw[] = {"dbname", "fallback_application_name", "connect_timeout", NULL};
    const char *const val[] = {o->url, "rentezyd-migrate", timeout, NULL};
    PGconn *c = PQconnectdbParams(kw, val, 1);
    if (!c || PQstatus(c) != CONNECTION_OK) {
        snprintf(err, errlen, "migrations: cannot connect to the database: %s",
                 c ? PQerrorMessage(c) : "out of memory");
        err[strcspn(err, "\n")] = '\0';
        PQfinish(c);
        return NULL;
    }
    return c;
}

/* Run sql (simple protocol: several statements allowed).  0 or -1 with the
 * server's message (and the line of the error, when it has a position). */
static int exec(PGconn *c, const char *sql, const char *what, char *err, size_t errlen)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        PQclear(r);
        return 0;
    }
    const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    const char *pos = PQresultErrorField(r, PG_DIAG_STATEMENT_POSITION);
    int line = 0;
    if (pos) {
        long chars = atol(pos); /* 1-based, in characters; counting bytes is close enough */
        line = 1;
        for (long i = 0; i < chars - 1 && sql[i]; i++)
            line += sql[i] == '\n';
    }
    if (line)
        snprintf(err, errlen, "%s failed at line %d: %s", what, line,
                 msg ? msg : PQerrorMessage(c));
    else
        snprintf(err, errlen, "%s failed: %s", what, msg ? msg : PQerrorMessage(c));
    err[strcspn(err, "\n")] = '\0';
    PQclear(r);
    return -1;
}

static const char bootstrap[] =
    "CREATE SCHEMA IF NOT EXISTS rentezy;\n"
    "CREATE TABLE IF NOT EXISTS rentezy.migrations (\n"
    "    plugin text NOT NULL,\n"
    "    version int NOT NULL,\n"
    "    name text NOT NULL,\n"
    "    checksum text NOT NULL,\n"
    "    applied_at timestamptz NOT NULL DEFAULT now(),\n"
    "    PRIMARY KEY (plugin, version)\n"
    ");\n";

/* The recorded migrations, or an empty result when the table is missing.
 * Caller PQclears. */
static PGresult *load_applied(PGconn *c, char *err, size_t errlen)
{
    PGresult *r = PQexec(c, "SELECT to_regclass('rentezy.migrations') IS NOT NULL");
    int exists = PQresultStatus(r) == PGRES_TUPLES_OK && PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    r = PQexec(c, exists ? "SELECT plugin, version, checksum, applied_at::text FROM "
                           "rentezy.migrations"
                         : "SELECT ''::text, 0, ''::text, ''::text WHERE false");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "migrations: cannot read rentezy.migrations: %s",
                 PQresultErrorMessage(r));
        err[strcspn(err, "\n")] = '\0';
        PQclear(r);
        return NULL;
    }
    return r;
}

/* Row of (owner, version) in applied, or -1. */
static int find_applied(PGresult *applied, const char *owner, int version)
{
    for (int i = 0; i < PQntuples(applied); i++)
        if (atoi(PQgetvalue(applied, i, 1)) == version &&
            strcmp(PQgetvalue(applied, i, 0), owner) == 0)
            return i;
    return -1;
}

static int apply_one(PGconn *c, const mig_t *m, FILE *log_out, char *err, size_t errlen)
{
    char what[160], prologue[200];
    const char *owner = owner_name(m->plugin), *schema = owner_schema(m->plugin);
    char *ident = PQescapeIdentifier(c, schema, strlen(schema));
    if (!ident) {
        snprintf(err, errlen, "migrations: out of memory");
        return -1;
    }
    snprintf(what, sizeof(what), "migration %s %d (%s)", owner, m->version, m->name);
    snprintf(prologue, sizeof(prologue), "BEGIN; SET LOCAL search_path = %s, public", ident);
    PQfreemem(ident);
    if (exec(c, prologue, what, err, errlen) != 0)
        return -1;
    if (exec(c, m->sql, what, err, errlen) != 0)
        goto fail;
    char version[16];
    snprintf(version, sizeof(version), "%d", m->version);
    const char *p[] = {owner, version, m->name, m->checksum};
    PGresult *r = PQexecParams(c,
                               "INSERT INTO rentezy.migrations (plugin, version, name, checksum) "
                               "VALUES ($1, $2::int, $3, $4)",
                               4, NULL, p, NULL, NULL, 0);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok) {
        snprintf(err, errlen, "%s: cannot record it: %s", what, PQresultErrorMessage(r));
        err[strcspn(err, "\n")] = '\0';
    }
    PQclear(r);
    if (!ok || exec(c, "COMMIT", what, err, errlen) != 0)
        goto fail;
    if (log_out)
        fprintf(log_out, "migrate: applied %s %d %s\n", owner, m->version, m->name);
    return 0;
fail:
    PQclear(PQexec(c, "ROLLBACK"));
    return -1;
}

int rz__migrate_apply(FILE *log_out, char *err, size_t errlen)
{
    PGresult *applied = NULL;
    int rc = -1;
    if (host_builtin() != 0) {
        snprintf(err, errlen, "migrations: out of memory");
        return -1;
    }
    PGconn *c = connect_blocking(err, errlen);
    if (!c)
        return -1;
    PQclear(PQexec(c, "SET client_min_messages = warning"));
    if (exec(c, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", "migrations: advisory lock",
             err, errlen) != 0 ||
        exec(c, bootstrap, "migrations: creating rentezy.migrations", err, errlen) != 0 ||
        !(applied = load_applied(c, err, errlen)))
        goto done;

    /* Check every recorded checksum before changing anything. */
    for (size_t i = 0; i < nmigs; i++) {
        const mig_t *m = &migs[i];
        int row = find_applied(applied, owner_name(m->plugin), m->version);
        if (row >= 0 && strcmp(PQgetvalue(applied, row, 2), m->checksum) != 0) {
            snprintf(err, errlen,
                     "migration %s %d (%s) changed since it was applied on %s (checksum "
                     "%.12s..., now %.12s...): restore its original SQL and add migration "
                     "%d instead",
                     owner_name(m->plugin), m->version, m->name, PQgetvalue(applied, row, 3),
                     PQgetvalue(applied, row, 2), m->checksum, m->version + 1);
            goto done;
        }
    }
    const rz_plugin_t *schema_done = NULL;
    for (size_t i = 0; i < nmigs; i++) {
        const mig_t *m = &migs[i];
        if (m->plugin && m->plugin != schema_done) {
            char sql[160], what[120];
            char *ident = PQescapeIdentifier(c, owner_schema(m->plugin),
                                             strlen(owner_schema(m->plugin)));
            if (!ident)
                goto done;
            snprintf(sql, sizeof(sql), "CREATE SCHEMA IF NOT EXISTS %s", ident);
            snprintf(what, sizeof(what), "migrations: creating schema %s",
                     owner_schema(m->plugin));
            PQfreemem(ident);
            if (exec(c, sql, what, err, errlen) != 0)
                goto done;
            schema_done = m->plugin;
        }
        if (find_applied(applied, owner_name(m->plugin), m->version) >= 0)
            continue;
        if (apply_one(c, m, log_out, err, errlen) != 0)
            goto done;
    }
    rc = 0;
done:
    PQclear(applied);
    PQfinish(c); /* also releases the advisory lock */
    return rc;
}

int rz__migrate_status(FILE *out, char *err, size_t errlen)
{
    if (host_builtin() != 0) {
        snprintf(err, errlen, "migrations: out of memory");
        return -1;
    }
    PGconn *c = connect_blocking(err, errlen);
    if (!c)
        return -1;
    PGresult *applied = load_applied(c, err, errlen);
    if (!applied) {
        PQfinish(c);
        return -1;
    }
    int changed = 0;
    fprintf(out, "%-16s %7s  %-28s %s\n", "PLUGIN", "VERSION", "NAME", "STATE");
    for (size_t i = 0; i < nmigs; i++) {
        const mig_t *m = &migs[i];
        int row = find_applied(applied, owner_name(m->plugin), m->version);
        char state[96];
        if (row < 0) {
            snprintf(state, sizeof(state), "pending");
        } else if (strcmp(PQgetvalue(applied, row, 2), m->checksum) != 0) {
            snprintf(state, sizeof(state), "CHANGED since applied %s", PQgetvalue(applied, row, 3));
            changed++;
        } else {
            snprintf(state, sizeof(state), "applied %s", PQgetvalue(applied, row, 3));
        }
        fprintf(out, "%-16s %7d  %-28s %s\n", owner_name(m->plugin), m->version, m->name, state);
    }
    PQclear(applied);
    PQfinish(c);
    return changed;
}

int rz__migrate_cli(int argc, char **argv)
{
    char err[1024];
    int status = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--status") == 0) {
            status = 1;
        } else {
            fprintf(stderr, "usage: rentezyd migrate [--status]\n");
            return 2;
        }
    }
    if (!rz__db_configured()) {
        fprintf(stderr, "rentezyd migrate: no [database] url configured\n");
        return 1;
    }
    if (status) {
        int n = rz__migrate_status(stdout, err, sizeof(err));
        if (n < 0)
            fprintf(stderr, "rentezyd migrate: %s\n", err);
        return n == 0 ? 0 : 1;
    }
    if (rz__migrate_apply(stdout, err, sizeof(err)) != 0) {
        fprintf(stderr, "rentezyd migrate: %s\n", err);
        return 1;
    }
    printf("migrate: up to date\n");
    return 0;
}
