/*
 * migrate.h — per-plugin SQL migrations, applied by the master before it
 * forks (blocking libpq is fine there).
 *
 * Each plugin owns the schema named after it; its migrations are numbered
 * 1, 2, 3... and registered in that order during init.  The host's own
 * tables (rentezy.jobs, rentezy.schedules, ...) are migrations of the owner
 * "host" in schema "rentezy".  Every applied migration is recorded in
 * rentezy.migrations with the SHA-256 of its SQL; a recorded migration whose
 * SQL changed stops the start (fix: restore the original SQL and add a new
 * migration).  Many masters may start at once: pg_advisory_lock serialises
 * them, and each migration commits together with its record, so each one is
 * applied exactly once.
 */
#ifndef RZ_MIGRATE_H
#define RZ_MIGRATE_H

#include <stdio.h>

#include "rentezy/plugin.h"

/* plugin.h `migration` (init only).  name is [A-Za-z0-9_ .-], at most 63
 * characters; sql is copied.  RZ_ESTATE outside init, RZ_EEXIST for a
 * version already registered, RZ_EINVAL for a gap (versions must be
 * registered as 1, 2, 3, ...) or a bad argument. */
int rz__svc_migration(rz_plugin_t *self, int version, const char *name, const char *sql);

/* The same for host modules (owner "host", schema "rentezy").  The built-in
 * host migrations (extensions, jobs, schedules) are versions 1-3; another
 * host module appends 4, 5, ... before rz__migrate_apply runs. */
int rz__migrate_host(int version, const char *name, const char *sql);

/* Apply what is missing, using [database] url (rz__db_configure first).
 * Progress lines go to log_out (may be NULL).  0, or -1 with err, e.g.
 * "migration booking 3 (add_holds) changed since it was applied ...". */
int rz__migrate_apply(FILE *log_out, char *err, size_t errlen);

/* Print applied / pending / CHANGED per plugin and version.  Returns the
 * number of changed migrations (0 when all is well), or -1 with err. */
int rz__migrate_status(FILE *out, char *err, size_t errlen);

/* `rentezyd migrate [--status]`; argv[0] is "migrate".  Exit status. */
int rz__migrate_cli(int argc, char **argv);

/* Forget every registration (tests; a master re-running init). */
void rz__migrate_reset(void);

#endif
