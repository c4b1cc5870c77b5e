/*
 * jobs_int.h — what jobs.c, jobs_sched.c and jobs_cli.c share.
 */
#ifndef RZ_JOBS_INT_H
#define RZ_JOBS_INT_H

#include <stddef.h>
#include <stdint.h>

#include "cron.h"
#include "jobs.h"

/* "to_timestamp($n::bigint / 1000.0)": host-clock milliseconds as SQL. */
#define RZ_TS(n) "to_timestamp($" #n "::bigint / 1000.0)"

typedef struct rz_jobkind {
    rz_plugin_t *plugin;
    char *kind;   /* owned */
    char *key;    /* "plugin/kind", owned */
    rz_job_fn fn;
    void *udata;
} rz_jobkind_t;

typedef struct rz_sched {
    rz_plugin_t *plugin;
    char *name;   /* owned */
    char *key;    /* "plugin/name", owned */
    char *cron_text, *tz, *kind; /* owned */
    rz_cron_t cron;
} rz_sched_t;

/* Registries (filled during init in the master, read by workers). */
extern rz_jobkind_t *rz__jobkinds;
extern size_t rz__njobkinds;
extern rz_sched_t *rz__scheds;
extern size_t rz__nscheds;

int rz__jobs_name_ok(const char *s);
const rz_jobkind_t *rz__jobs_find_kind(const rz_plugin_t *p, const char *kind);
/* A PostgreSQL array literal {"a","b"} of n strings (malloc'd, caller
 * frees), or NULL when out of memory. */
char *rz__jobs_text_array(const char *const *items, size_t n);
void rz__jobs_ms_text(char *buf, size_t cap, int64_t ms);

/* jobs_sched.c, worker side: upsert the definitions, then tick.  done(ok)
 * is called once when the upsert finished (not when this returns -1). */
int rz__sched_sync(void (*done)(int ok));
/* Enqueue the due occurrences of every schedule; then calls rz__jobs_kick. */
void rz__sched_tick(void);
void rz__sched_worker_stop(void);
void rz__sched_reset(void);

#endif
