/*
 * services.c — the rz_host_t table handed to plugins: thin wrappers that
 * name the calling plugin, and pointers to the modules that do the work.
 * Entries are only ever appended (see plugin.h, "Versioning").
 */
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "db.h"
#include "host.h"
#include "http.h"
#include "iface.h"
#include "jobs.h"
#include "loader.h"
#include "log.h"
#include "migrate.h"
#include "openapi.h"
#include "pmetrics.h"
#include "readiness.h"
#include "timer.h"
#include "workpool.h"
#include "ws.h"
#include "bus.h"

static void svc_log(rz_plugin_t *self, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rz__logv(level, rz__plugin_name(self), fmt, ap);
    va_end(ap);
}

static const char *section(rz_plugin_t *self, char *buf, size_t len)
{
    snprintf(buf, len, "plugin.%s", rz__plugin_name(self));
    return buf;
}

/* The getters log a bad value with its file:line and return RZ_EINVAL. */
#define CONFIG_GETTER(fname, type, getter)                                                   \
    static int fname(rz_plugin_t *self, const char *key, type def, type *out)                \
    {                                                                                        \
        char sec[64], err[512];                                                              \
        if (!key || !out)                                                                    \
            return RZ_EINVAL;                                                                \
        if (getter(rz__rt.cfg, section(self, sec, sizeof(sec)), key, def, out, err,          \
                   sizeof(err)) < 0) {                                                       \
            rz__log(RZ_LOG_ERROR, rz__plugin_name(self), "%s", err);                         \
            return RZ_EINVAL;                                                                \
        }                                                                                    \
        return RZ_OK;                                                                        \
    }

CONFIG_GETTER(svc_config_int, int64_t, rz__config_int)
CONFIG_GETTER(svc_config_bool, int, rz__config_bool)
CONFIG_GETTER(svc_config_duration, int64_t, rz__config_duration_ms)
CONFIG_GETTER(svc_config_size, uint64_t, rz__config_size)

static int svc_config_string(rz_plugin_t *self, const char *key, const char *def,
                             const char **out)
{
    char sec[64], err[512];
    if (!key || !out)
        return RZ_EINVAL;
    if (rz__config_string(rz__rt.cfg, section(self, sec, sizeof(sec)), key, def, out, err,
                          sizeof(err)) < 0) {
        rz__log(RZ_LOG_ERROR, rz__plugin_name(self), "%s", err);
        return RZ_EINVAL;
    }
    return RZ_OK;
}

static int svc_config_list(rz_plugin_t *self, const char *key, const char *const **items,
                           size_t *n)
{
    char sec[64], err[512];
    if (!key || !items || !n)
        return RZ_EINVAL;
    if (rz__config_list(rz__rt.cfg, section(self, sec, sizeof(sec)), key, items, n, err,
                        sizeof(err)) < 0) {
        rz__log(RZ_LOG_ERROR, rz__plugin_name(self), "%s", err);
        return RZ_EINVAL;
    }
    return RZ_OK;
}

/* The smallest rz_route_t a 1.0 plugin passes: everything up to udata. */
#define ROUTE_MIN_SIZE (offsetof(rz_route_t, udata) + sizeof(void *))
/* The same ceiling as [http] max_body_size. */
#define ROUTE_MAX_BODY (1ull << 31)

static int svc_route(rz_plugin_t *self, const rz_route_t *r)
{
    char err[512];
    if (!rz__rt.in_init) {
        rz__log(RZ_LOG_ERROR, rz__plugin_name(self), "route() is only allowed during init");
        return RZ_ESTATE;
    }
    if (!r || r->size < ROUTE_MIN_SIZE) {
        rz__plugins_init_error("route() got a NULL or too small rz_route_t (set .size)");
        return RZ_EINVAL;
    }
    const char *summary = r->size >= offsetof(rz_route_t, summary) + sizeof(char *) ? r->summary
                                                                                     : NULL;
    if (r->access < RZ_ACCESS_PUBLIC || r->access > RZ_ACCESS_ADMIN) {
        rz__plugins_init_error("route %s %s: unknown access %d", r->method, r->path, r->access);
        return RZ_EINVAL;
    }
    /* since 1.2; an older plugin's smaller struct has no such field */
    uint64_t max_body = r->size >= offsetof(rz_route_t, max_body) + sizeof(uint64_t) ? r->max_body
                                                                                       : 0;
    if (max_body > ROUTE_MAX_BODY) {
        rz__plugins_init_error("route %s %s: max_body %llu is over the 2GiB limit", r->method,
                               r->path, (unsigned long long)max_body);
        return RZ_EINVAL;
    }
    int rc = rz__router_add(rz__router, r->method, r->path, r->access, r->handler, r->udata, self,
                            summary, err, sizeof(err));
    if (rc < 0) {
        rz__plugins_init_error("%s", err);
        return rc;
    }
    if (max_body)
        rz__router_set_max_body(rz__router, rz__router_count(rz__router) - 1, max_body);
    return RZ_OK;
}

static int64_t svc_now_ms(void) { return rz__now_ms(); }

static const rz_host_t table = {
    .size = sizeof(rz_host_t),
    .abi_major = RZ_ABI_MAJOR,
    .abi_minor = RZ_ABI_MINOR,
    .log = svc_log,
    .config_string = svc_config_string,
    .config_int = svc_config_int,
    .config_bool = svc_config_bool,
    .config_duration_ms = svc_config_duration,
    .config_size = svc_config_size,
    .config_list = svc_config_list,
    .route = svc_route,
    .openapi = rz__svc_openapi,
    .req_method = rz__svc_req_method,
    .req_path = rz__svc_req_path,
    .req_param = rz__svc_req_param,
    .req_query = rz__svc_req_query,
    .req_header = rz__svc_req_header,
    .req_body = rz__svc_req_body,
    .req_json = rz__svc_req_json,
    .req_id = rz__svc_req_id,
    .req_user = rz__svc_req_user,
    .req_role = rz__svc_req_role,
    .req_alloc = rz__svc_req_alloc,
    .resp_header = rz__svc_resp_header,
    .reply = rz__svc_reply,
    .reply_json = rz__svc_reply_json,
    .reply_error = rz__svc_reply_error,
    .now_ms = svc_now_ms,
    .work = rz__svc_work,
    .db_query = rz__svc_db_query,
    .db_tx = rz__svc_db_tx,
    .dbres_status = rz__svc_dbres_status,
    .dbres_sqlstate = rz__svc_dbres_sqlstate,
    .dbres_message = rz__svc_dbres_message,
    .dbres_constraint = rz__svc_dbres_constraint,
    .dbres_rows = rz__svc_dbres_rows,
    .dbres_cols = rz__svc_dbres_cols,
    .dbres_colname = rz__svc_dbres_colname,
    .dbres_value = rz__svc_dbres_value,
    .dbres_isnull = rz__svc_dbres_isnull,
    .dbres_affected = rz__svc_dbres_affected,
    .migration = rz__svc_migration,
    .job_register = rz__svc_job_register,
    .job_enqueue = rz__svc_job_enqueue,
    .job_schedule = rz__svc_job_schedule,
    .job_kind = rz__svc_job_kind,
    .job_payload = rz__svc_job_payload,
    .job_attempt = rz__svc_job_attempt,
    .job_done = rz__svc_job_done,
    .bus_publish = rz__svc_bus_publish,
    .bus_subscribe = rz__svc_bus_subscribe,
    .event_id = rz__svc_event_id,
    .event_type = rz__svc_event_type,
    .event_topic = rz__svc_event_topic,
    .event_source = rz__svc_event_source,
    .event_subject = rz__svc_event_subject,
    .event_version = rz__svc_event_version,
    .event_time_ms = rz__svc_event_time_ms,
    .event_data = rz__svc_event_data,
    .event_attempt = rz__svc_event_attempt,
    .bus_done = rz__svc_bus_done,
    .ws_channel = rz__svc_ws_channel,
    .ws_send = rz__svc_ws_send,
    .ws_send_user = rz__svc_ws_send_user,
    .ws_user = rz__svc_ws_user,
    .ws_role = rz__svc_ws_role,
    .ws_get_data = rz__svc_ws_get_data,
    .ws_set_data = rz__svc_ws_set_data,
    .ws_close = rz__svc_ws_close,
    .req_query_string = rz__svc_req_query_string,
    .timer_start = rz__svc_timer_start,
    .timer_stop = rz__svc_timer_stop,
    .gauge_set = rz__svc_gauge_set,
    .counter_add = rz__svc_counter_add,
    .ready_set = rz__svc_ready_set,
    .iface_provide = rz__svc_iface_provide,
    .iface_lookup = rz__svc_iface_lookup,
};

const rz_host_t *rz__host_table(void) { return &table; }
