/*
 * rentezy/plugin.h — the RentEzy plugin ABI.  This is the ONLY header a
 * plugin includes.
 *
 * A plugin is a shared object that exports exactly one symbol,
 * rentezy_plugin_v1, returning a const descriptor (rz_plugin_desc_t).  The
 * host reaches the plugin through the descriptor's hooks; the plugin reaches
 * the host through the service table (rz_host_t) passed to init.  Plugins
 * never link against host symbols (build with -fvisibility=hidden
 * -Wl,--no-undefined).
 *
 * Versioning (see rentezy-plugin(3), "VERSIONING"):
 *   - RZ_ABI_MAJOR changes only when something is removed or changes meaning.
 *   - RZ_ABI_MINOR grows when services or struct fields are appended.  Every
 *     struct of the ABI carries its size and only grows at its end; each
 *     appended member is labelled with the minor that added it.
 *   - The host loads a plugin when the majors are equal and the plugin's minor
 *     is not newer than the host's.  A plugin built for minor M may use every
 *     member labelled <= M.
 *
 * Threading: every hook and callback runs on the worker's event-loop thread.
 * Plugin code needs no locks.  CPU-heavy work goes to host->work().
 *
 * Error convention: functions return 0 (RZ_OK) or a negative RZ_E* code.  An
 * asynchronous call that fails immediately never also calls its callback.
 */
#ifndef RENTEZY_PLUGIN_H
#define RENTEZY_PLUGIN_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RZ_PLUGIN_MAGIC 0x525a504cu /* "RZPL" */
#define RZ_ABI_MAJOR 1
#define RZ_ABI_MINOR 2

#define RZ_EXPORT __attribute__((visibility("default")))
#define RZ_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Return codes. */
enum {
    RZ_OK = 0,
    RZ_ERR = -1,        /* generic failure; see the log */
    RZ_ENOMEM = -2,
    RZ_EINVAL = -3,     /* bad argument */
    RZ_EUNAVAIL = -4,   /* a dependency (database, bus) is unreachable */
    RZ_EEXIST = -5,     /* duplicate (route, job kind, ...) */
    RZ_ENOTFOUND = -6,
    RZ_ETIMEDOUT = -7,
    RZ_ESTATE = -8      /* called at the wrong time (e.g. route after init) */
};

enum rz_log_level { RZ_LOG_DEBUG = 0, RZ_LOG_INFO, RZ_LOG_WARN, RZ_LOG_ERROR };

typedef struct rz_plugin rz_plugin_t; /* the host's handle for one plugin */
typedef struct rz_req rz_req_t;       /* one HTTP request, owned by the host */
typedef struct rz_dbres rz_dbres_t;   /* a database result, valid in its callback */
typedef struct rz_job rz_job_t;       /* a claimed job, valid in its handler */
typedef struct rz_host rz_host_t;
typedef struct rz_event rz_event_t;   /* a delivered event, valid until bus_done (1.1) */
typedef struct rz_ws rz_ws_t;         /* one WebSocket connection (1.1) */
typedef struct rz_timer rz_timer_t;   /* a timer on the worker's loop (1.2) */

/* ---- Plugin descriptor ------------------------------------------------- */

typedef struct rz_plugin_desc {
    uint32_t magic;      /* RZ_PLUGIN_MAGIC */
    uint16_t abi_major;  /* RZ_ABI_MAJOR the plugin was written for */
    uint16_t abi_minor;  /* RZ_ABI_MINOR the plugin was written for */
    uint32_t size;       /* sizeof(rz_plugin_desc_t) at build time */
    const char *name;    /* [a-z][a-z0-9_]*, unique; names [plugin.NAME] */
    const char *version; /* semantic version of the plugin, "1.2.3" */
    const char *description;
    /* NULL-terminated list: other plugin names, or host capabilities written
     * "cap:NAME" (cap:db, cap:jobs).  May be NULL. */
    const char *const *requires;

    /* init: register routes, migrations, jobs, OpenAPI.  Runs once in the
     * master before workers are forked; must not open sockets or
     * connections.  *state is the plugin's, handed back to every hook. */
    int (*init)(rz_plugin_t *self, const rz_host_t *host, void **state);
    /* start: runs in each worker once its event loop exists. */
    int (*start)(rz_plugin_t *self, void *state);
    /* stop: the worker is draining; stop taking new work. */
    void (*stop)(rz_plugin_t *self, void *state);
    /* destroy: free state; the last call the plugin receives. */
    void (*destroy)(rz_plugin_t *self, void *state);
} rz_plugin_desc_t;

typedef const rz_plugin_desc_t *(*rz_plugin_entry_fn)(void);
#define RZ_PLUGIN_ENTRY_SYMBOL "rentezy_plugin_v1"

/* Define the entry point with designated initializers, so fields added in
 * later minors default to zero in older plugin sources:
 *
 *   RZ_PLUGIN_DEFINE(.name = "hello", .version = "1.0.0", .init = hello_init)
 */
#define RZ_PLUGIN_DEFINE(...)                                              \
    RZ_EXPORT const rz_plugin_desc_t *rentezy_plugin_v1(void);             \
    RZ_EXPORT const rz_plugin_desc_t *rentezy_plugin_v1(void)              \
    {                                                                      \
        static const rz_plugin_desc_t desc_ = {                            \
            .magic = RZ_PLUGIN_MAGIC, .abi_major = RZ_ABI_MAJOR,           \
            .abi_minor = RZ_ABI_MINOR,                                     \
            .size = (uint32_t)sizeof(rz_plugin_desc_t), __VA_ARGS__};      \
        return &desc_;                                                     \
    }

/* ---- Routes ------------------------------------------------------------ */

/* Who may call a route.  The host checks it before the handler runs. */
enum rz_access {
    RZ_ACCESS_PUBLIC = 0,
    RZ_ACCESS_USER,     /* any authenticated user */
    RZ_ACCESS_TENANT,
    RZ_ACCESS_LANDLORD,
    RZ_ACCESS_ADMIN
};

/* A handler must eventually call exactly one rz_host_t reply function for
 * req, now or later (after a database callback).  The request stays valid
 * until then, even if the client went away (the reply is then discarded). */
typedef void (*rz_handler_fn)(rz_req_t *req, void *udata);

typedef struct rz_route {
    uint32_t size;        /* sizeof(rz_route_t) */
    const char *method;   /* "GET", "POST", ... */
    const char *path;     /* "/v1/properties/{id}"; {name} matches one segment */
    int access;           /* enum rz_access */
    rz_handler_fn handler;
    void *udata;
    const char *summary;  /* one line for logs and docs; may be NULL */
    /* since 1.2: the largest request body this route accepts, in bytes; 0
     * means [http] max_body_size.  The host answers 413 (body_too_large)
     * before buffering a larger body, so a photo upload route can take 8 MiB
     * while every other route keeps the small global limit.  At most 2 GiB
     * (route() answers RZ_EINVAL above).  Read only when size covers it. */
    uint64_t max_body;
} rz_route_t;

/* ---- Database ------------------------------------------------------------ */

enum rz_db_flags {
    RZ_DB_READONLY = 1u << 0  /* may run on a replica */
};

/* One statement of a transaction.  params are text values; NULL is SQL NULL. */
typedef struct rz_stmt {
    const char *sql;
    int nparams;
    const char *const *params;
} rz_stmt_t;

/* Called once with the result; res is valid only during the call. */
typedef void (*rz_db_cb)(rz_dbres_t *res, void *udata);

/* ---- Jobs ---------------------------------------------------------------- */

/* DONE: finished.  RETRY: back off and run again (dead after [jobs]
 * max_attempts).  FAIL: retrying cannot help; the job is dead now and stays
 * visible with its error (rentezyd jobs list --dead). */
enum rz_job_result { RZ_JOB_DONE = 0, RZ_JOB_RETRY, RZ_JOB_FAIL };

/* A job handler finishes by calling host->job_done(job, result, error) once,
 * now or later. */
typedef void (*rz_job_fn)(rz_job_t *job, void *udata);

/* ---- Background work ----------------------------------------------------- */

typedef void (*rz_work_fn)(void *udata);  /* runs on a pool thread */
typedef void (*rz_after_fn)(void *udata); /* then runs on the loop thread */

/* ---- Events (since 1.1) ------------------------------------------------------ */

enum rz_bus_mode {
    RZ_BUS_SHARED = 0,   /* one member of the group gets each event (work queues) */
    RZ_BUS_BROADCAST     /* every worker and pod gets every event (read models) */
};
enum rz_bus_result { RZ_BUS_OK = 0, RZ_BUS_RETRY, RZ_BUS_FAIL };

/* An event handler finishes by calling host->bus_done(ev, result, error)
 * once, now or later.  Delivery is at least once and in order per subject:
 * handlers must be idempotent (event id, or aggregate version). */
typedef void (*rz_bus_fn)(rz_event_t *ev, void *udata);

/* ---- WebSocket channels (since 1.1) ------------------------------------------- */

/* Clients send JSON objects {"ch": "<channel>", ...} over GET /v1/ws.  The
 * host authenticates the connection, then calls on_open of every channel;
 * on_message gets each message addressed to the channel (msg is owned by the
 * host and valid during the call); on_close when the connection ends. */
typedef struct rz_channel {
    uint32_t size;        /* sizeof(rz_channel_t) */
    const char *name;     /* [a-z][a-z0-9_]* */
    void (*on_open)(rz_ws_t *ws, void *udata);
    void (*on_message)(rz_ws_t *ws, cJSON *msg, void *udata);
    void (*on_close)(rz_ws_t *ws, void *udata);
    void *udata;
} rz_channel_t;

/* ---- Timers (since 1.2) ---------------------------------------------------- */

/* Runs on the worker's event-loop thread. */
typedef void (*rz_timer_fn)(void *udata);

/* ---- The host service table --------------------------------------------- */

struct rz_host {
    uint32_t size;      /* sizeof(rz_host_t) of the host */
    uint16_t abi_major;
    uint16_t abi_minor;

    /* == since 1.0: logging ==================================================
     * One JSON line on stderr tagged with the plugin's name. */
    void (*log)(rz_plugin_t *self, int level, const char *fmt, ...) RZ_PRINTF(3, 4);

    /* == since 1.0: configuration of [plugin.NAME] ===========================
     * Each getter returns 0 and sets *out, returns 0 with the default when the
     * key is absent, or RZ_EINVAL (logged with file:line) when the value has
     * the wrong type.  Strings are owned by the host and live until destroy. */
    int (*config_string)(rz_plugin_t *self, const char *key, const char *def, const char **out);
    int (*config_int)(rz_plugin_t *self, const char *key, int64_t def, int64_t *out);
    int (*config_bool)(rz_plugin_t *self, const char *key, int def, int *out);
    /* "250ms", "15s", "15m", "2h", "7d"; a bare number is seconds. */
    int (*config_duration_ms)(rz_plugin_t *self, const char *key, int64_t def, int64_t *out);
    /* "512", "64KiB", "1MiB", "2GiB", "1kB", "1MB". */
    int (*config_size)(rz_plugin_t *self, const char *key, uint64_t def, uint64_t *out);
    /* Space- or comma-separated; *items is NULL-terminated, owned by host. */
    int (*config_list)(rz_plugin_t *self, const char *key, const char *const **items, size_t *n);

    /* == since 1.0: routes (init only) ====================================== */
    int (*route)(rz_plugin_t *self, const rz_route_t *route);
    /* An OpenAPI 3 "paths" object as JSON text, merged into /openapi.json.
     * Every registered route must be documented. */
    int (*openapi)(rz_plugin_t *self, const char *paths_json);

    /* == since 1.0: the request ============================================= */
    const char *(*req_method)(rz_req_t *req);
    const char *(*req_path)(rz_req_t *req);     /* without the query string */
    const char *(*req_param)(rz_req_t *req, const char *name);  /* {name} */
    const char *(*req_query)(rz_req_t *req, const char *name);  /* decoded */
    const char *(*req_header)(rz_req_t *req, const char *name); /* case-insensitive */
    const void *(*req_body)(rz_req_t *req, size_t *len);
    /* Parse the body as JSON.  On failure the host has already answered 400
     * (invalid_json) and returns NULL: the handler just returns.  The tree is
     * owned by the request. */
    cJSON *(*req_json)(rz_req_t *req);
    const char *(*req_id)(rz_req_t *req);       /* X-Request-Id */
    const char *(*req_user)(rz_req_t *req);     /* caller's user id or NULL */
    const char *(*req_role)(rz_req_t *req);     /* caller's role or NULL */
    /* Memory freed when the response has been sent. */
    void *(*req_alloc)(rz_req_t *req, size_t n);

    /* == since 1.0: the response ============================================ */
    int (*resp_header)(rz_req_t *req, const char *name, const char *value);
    void (*reply)(rz_req_t *req, int status, const char *content_type,
                  const void *body, size_t len);
    /* Takes ownership of body (may be NULL for an empty body). */
    void (*reply_json)(rz_req_t *req, int status, cJSON *body);
    /* {"error":{"code":code,"message":...,"field":field}}; field may be NULL. */
    void (*reply_error)(rz_req_t *req, int status, const char *code,
                        const char *field, const char *fmt, ...) RZ_PRINTF(5, 6);

    /* == since 1.0: time and work =========================================== */
    /* The host clock in milliseconds since the epoch (tests can move it). */
    int64_t (*now_ms)(void);
    /* Run fn on the host's thread pool, then after on the loop thread. */
    int (*work)(rz_plugin_t *self, rz_work_fn fn, rz_after_fn after, void *udata);

    /* == since 1.0: database (requires "cap:db") ============================
     * Parameterised statements only; prepared and cached per connection. */
    int (*db_query)(rz_plugin_t *self, unsigned flags, const char *sql, int nparams,
                    const char *const *params, rz_db_cb cb, void *udata);
    /* Run stmts atomically (BEGIN ... COMMIT in one pipelined round trip).
     * The callback sees the last statement's result, or the first error. */
    int (*db_tx)(rz_plugin_t *self, const rz_stmt_t *stmts, int n, rz_db_cb cb, void *udata);
    /* 0 when the statement succeeded, else RZ_EUNAVAIL (no connection) or
     * RZ_ERR (the server refused it: see sqlstate and message). */
    int (*dbres_status)(rz_dbres_t *res);
    const char *(*dbres_sqlstate)(rz_dbres_t *res);   /* "23505", or NULL */
    const char *(*dbres_message)(rz_dbres_t *res);
    const char *(*dbres_constraint)(rz_dbres_t *res); /* violated constraint */
    int (*dbres_rows)(rz_dbres_t *res);
    int (*dbres_cols)(rz_dbres_t *res);
    const char *(*dbres_colname)(rz_dbres_t *res, int col);
    const char *(*dbres_value)(rz_dbres_t *res, int row, int col); /* text */
    int (*dbres_isnull)(rz_dbres_t *res, int row, int col);
    int64_t (*dbres_affected)(rz_dbres_t *res);
    /* Register migration `version` (1, 2, ...) of this plugin's schema (init
     * only).  The SQL runs once, in a transaction, with search_path set to
     * the plugin's schema. */
    int (*migration)(rz_plugin_t *self, int version, const char *name, const char *sql);

    /* == since 1.0: durable jobs (requires "cap:jobs") =======================
     * Jobs live in rentezy.jobs.  To enqueue in the same transaction as a
     * domain write, insert into rentezy.jobs (plugin, kind, payload, run_at)
     * in that transaction; job_enqueue does it on its own. */
    int (*job_register)(rz_plugin_t *self, const char *kind, rz_job_fn fn, void *udata); /* init */
    int (*job_enqueue)(rz_plugin_t *self, const char *kind, const char *payload_json,
                       int64_t run_at_ms, rz_db_cb cb, void *udata); /* cb may be NULL */
    /* A recurring schedule (init only): cron "m h dom mon dow" in time zone
     * tz ("Europe/Berlin"); each occurrence enqueues kind once, with the
     * occurrence time in the payload, including ones missed while down. */
    int (*job_schedule)(rz_plugin_t *self, const char *name, const char *cron,
                        const char *tz, const char *kind);
    const char *(*job_kind)(rz_job_t *job);
    const char *(*job_payload)(rz_job_t *job);   /* JSON text */
    int (*job_attempt)(rz_job_t *job);           /* 1 on the first run */
    void (*job_done)(rz_job_t *job, int result, const char *error);

    /* == since 1.1: events (requires "cap:bus") ==============================
     * Publish inside the transaction of the state change: run the statement
     *   SELECT rentezy.publish(topic, type, source, subject, version, data::jsonb, traceparent)
     * in the same db_tx (or CTE) as the write, so the event exists if and
     * only if the change committed.  bus_publish does it on its own. */
    int (*bus_publish)(rz_plugin_t *self, const char *topic, const char *type,
                       const char *subject, int64_t version, const char *data_json,
                       rz_db_cb cb, void *udata); /* cb may be NULL */
    /* init only; group names the consumer group (e.g. "notify"). */
    int (*bus_subscribe)(rz_plugin_t *self, const char *topic, const char *group, int mode,
                         rz_bus_fn fn, void *udata);
    const char *(*event_id)(rz_event_t *ev);        /* UUID */
    const char *(*event_type)(rz_event_t *ev);      /* "booking.confirmed" */
    const char *(*event_topic)(rz_event_t *ev);
    const char *(*event_source)(rz_event_t *ev);    /* publishing plugin */
    const char *(*event_subject)(rz_event_t *ev);   /* aggregate id */
    int64_t (*event_version)(rz_event_t *ev);       /* aggregate version */
    int64_t (*event_time_ms)(rz_event_t *ev);
    const char *(*event_data)(rz_event_t *ev);      /* JSON text */
    int (*event_attempt)(rz_event_t *ev);           /* 1 on first delivery */
    void (*bus_done)(rz_event_t *ev, int result, const char *error);

    /* == since 1.1: WebSocket =============================================== */
    int (*ws_channel)(rz_plugin_t *self, const rz_channel_t *channel); /* init only */
    /* Send {"ch": channel, ...msg} to one connection; takes ownership of msg. */
    int (*ws_send)(rz_ws_t *ws, const char *channel, cJSON *msg);
    /* Send to every connection of user_id on every worker and pod. */
    int (*ws_send_user)(rz_plugin_t *self, const char *user_id, const char *channel, cJSON *msg);
    const char *(*ws_user)(rz_ws_t *ws);
    const char *(*ws_role)(rz_ws_t *ws);
    /* Per-connection, per-plugin state slot. */
    void *(*ws_get_data)(rz_ws_t *ws, rz_plugin_t *self);
    void (*ws_set_data)(rz_ws_t *ws, rz_plugin_t *self, void *data);
    void (*ws_close)(rz_ws_t *ws, int code, const char *reason);

    /* == since 1.1: the request, continued ===================================
     * The raw query string (after '?', not decoded), "" when there is none:
     * lets a route refuse parameters it does not know. */
    const char *(*req_query_string)(rz_req_t *req);

    /* == since 1.2: timers ===================================================
     * Calls fn on this worker's event loop after after_ms, then every
     * every_ms (0 = once), measured on the monotonic clock (not now_ms).
     * From start until stop (init runs in the master, which has no loop).
     * NULL on error: a negative time, fn NULL, called in init or after stop,
     * out of memory.  Every timer a plugin still holds is stopped and freed
     * after the plugin's stop hook returns.
     * Ownership: a repeating timer lives until timer_stop.  A one-shot timer
     * (every_ms == 0) is freed by the host right after fn returns, so nobody
     * may use its pointer after that; fn may call timer_stop on it (freed at
     * once), and timer_stop before it fires cancels it. */
    rz_timer_t *(*timer_start)(rz_plugin_t *self, int64_t after_ms, int64_t every_ms,
                               rz_timer_fn fn, void *udata);
    /* Stops and frees t; safe inside its own callback; NULL is a no-op. */
    void (*timer_stop)(rz_timer_t *t);

    /* == since 1.2: plugin metrics ===========================================
     * Per-worker figures in /metrics, kept in shared memory like the host's:
     * rendered as rentezy_plugin_<plugin>_<name>{worker="N"} with # HELP and
     * # TYPE once per metric.  name matches [a-z][a-z0-9_]{0,47}; help is
     * kept from the first call (may be NULL).  start or later.  Returns
     * RZ_EINVAL on a bad name, a negative or non-finite counter delta, or a
     * name already used with the other type; RZ_ESTATE before start;
     * RZ_ENOMEM when the table is full (RZ_PLUGIN_METRICS_MAX distinct
     * metrics across all plugins; a known name still updates).  A worker
     * that is replaced keeps its index: counters continue, gauges hold the
     * last value until set again. */
    int (*gauge_set)(rz_plugin_t *self, const char *name, const char *help, double value);
    int (*counter_add)(rz_plugin_t *self, const char *name, const char *help, double delta);

    /* == since 1.2: readiness ================================================
     * While any running worker has a plugin that is not ready, /readyz on
     * every worker answers 503 and names the plugin and reason (e.g. the
     * search index catching up).  Ready by default, and again when a worker
     * is replaced.  From start until stop (ignored otherwise); reason may be
     * NULL and is cut to 127 bytes. */
    void (*ready_set)(rz_plugin_t *self, int ready, const char *reason);

    /* == since 1.2: interfaces between plugins ===============================
     * A plugin provides a named vtable (defined by an SDK or the providing
     * plugin's header), e.g. "payment.provider.acme"; another plugin looks
     * it up.  Names match [a-z][a-z0-9_.-]{0,62}.
     * provide: init only; iface must stay valid until destroy; RZ_EEXIST when
     * the name is taken, RZ_ESTATE outside init, RZ_EINVAL on a bad name.
     * lookup: start or later (every provider has run init); NULL when absent
     * or when called earlier.  A plugin that must have an interface lists its
     * provider in requires. */
    int (*iface_provide)(rz_plugin_t *self, const char *name, const void *iface);
    const void *(*iface_lookup)(rz_plugin_t *self, const char *name);
};

/* The capacity of the plugin metric table shared by every plugin (1.2). */
#define RZ_PLUGIN_METRICS_MAX 256

#ifdef __cplusplus
}
#endif
#endif /* RENTEZY_PLUGIN_H */
