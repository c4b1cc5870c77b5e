/*
 * host.h — what the host's modules share about the running process.
 */
#ifndef RZ_HOST_H
#define RZ_HOST_H

#include <stddef.h>

#include "config.h"
#include "rentezy/plugin.h"

struct event_base;
struct rz_timer;

/* One loaded plugin.  Owned by the loader; never freed once started, because
 * a started plugin's code may still be referenced (we never dlclose it). */
struct rz_plugin {
    const rz_plugin_desc_t *desc;
    char *path;      /* the .so file, owned */
    void *dl;        /* dlopen handle */
    void *state;     /* the plugin's own, from init */
    int initialised; /* init returned 0 */
    int started;     /* start returned 0 in this process */
    int stopped;     /* the stop hook ran in this process (no new timers) */
    size_t index;    /* position in rz__rt.plugins: the slot in shared tables */
    struct rz_timer *timers; /* this worker's live timers (timer.c), owned */
};

/* The state of this process.  The master fills cfg and plugins; a worker
 * additionally sets base and worker_index after fork. */
typedef struct rz_runtime {
    rz_config_t *cfg;
    const char *config_dir;
    rz_plugin_t **plugins; /* in load order (requirements first) */
    size_t nplugins;
    struct event_base *base; /* the worker's loop; NULL in the master */
    int worker_index;        /* 0..workers-1 in a worker, -1 in the master */
    int in_init;             /* registration calls are allowed only during init */
} rz_runtime_t;

extern rz_runtime_t rz__rt;

static inline const char *rz__plugin_name(const rz_plugin_t *p)
{
    return p && p->desc && p->desc->name ? p->desc->name : "host";
}

/* The service table handed to plugins (services.c). */
const rz_host_t *rz__host_table(void);

#endif
