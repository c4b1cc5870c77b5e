/*
 * process.h — the master and its workers.
 *
 * The master loads and initialises plugins, applies migrations, reserves the
 * ports, then forks `workers` processes.  Each worker runs one event loop
 * with every plugin's callbacks on it.  The master restarts a worker that
 * dies (with a growing backoff, never a tight loop), drains them on
 * SIGTERM/SIGINT and replaces them with a new configuration on SIGHUP.
 */
#ifndef RZ_PROCESS_H
#define RZ_PROCESS_H

#include <stddef.h>

#include "config.h"

/* Apply a configuration to every host module (master, at start and on
 * SIGHUP).  0 or -1 with err naming file:line. */
typedef int (*rz_configure_fn)(rz_config_t *cfg, char *err, size_t errlen);

/* Run the master until SIGTERM/SIGINT; returns the exit status. */
int rz__master_run(rz_configure_fn configure);
/* Run one worker; never returns. */
void rz__worker_run(int index) __attribute__((noreturn));

#endif
