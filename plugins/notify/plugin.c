/*
 * notify — every event that concerns a user becomes a notification: stored
 * for the app and pushed over the WebSocket channel `notify`, e-mailed over
 * SMTP, and POSTed to landlords' signed webhooks (docs/decisions/0012-notify.md).
 *
 * Configuration ([plugin.notify]):
 *   smtp_url              smtp://host:port of the relay; unset: e-mails stay
 *                         pending (their jobs retry) — set it in production
 *   from                  "RentEzy <no-reply@rentezy.invalid>"
 *   helo                  the EHLO name, "rentezy.invalid"
 *   smtp_timeout          10s
 *   webhook_timeout       5s per delivery attempt
 *   webhook_max_failures  5 consecutive failed attempts disable a webhook
 *   webhook_max_per_owner 10
 *   webhook_allow_private false: loopback, private and link-local targets
 *                         are refused at delivery (SSRF); tests turn it on
 *   webhook_allow_http    true: plain http:// URLs are accepted
 *   max_event_age         1d: older events update the read models but notify
 *                         nobody (a new deployment, a replay or a dead
 *                         letter retried days later must not mail history)
 *   group                 "notify": the bus consumer group and the job kinds'
 *                         suffix (tests use their own, with [bus]
 *                         start_latest naming it), so deployments sharing a
 *                         database never run each other's jobs
 *
 * Retries and backoff are those of the host's job queue ([jobs]
 * backoff_base, backoff_max, max_attempts).
 */
#include "notify.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "rzu_embed.h"

nt_t nt_g;

RZU_EMBED(nt_sql_001, "plugins/notify/schema/001_notify.sql");
RZU_EMBED(nt_sql_002, "plugins/notify/schema/002_job_kinds.sql");
RZU_EMBED(nt_openapi, "plugins/notify/openapi.json");

#define R(m, p, a, h, s)                                                                 \
    {.size = sizeof(rz_route_t), .method = m, .path = p, .access = a, .handler = h,      \
     .summary = s}

static const rz_route_t routes[] = {
    R("GET", "/v1/notifications", RZ_ACCESS_USER, h_list, "the caller's notifications"),
    R("GET", "/v1/notifications/unread_count", RZ_ACCESS_USER, h_unread, "unread count"),
    R("POST", "/v1/notifications/{id}/read", RZ_ACCESS_USER, h_read, "mark one read"),
    R("POST", "/v1/notifications/read_all", RZ_ACCESS_USER, h_read_all, "mark all read"),
    R("GET", "/v1/notifications/preferences", RZ_ACCESS_USER, h_prefs_get, "preferences"),
    R("PUT", "/v1/notifications/preferences", RZ_ACCESS_USER, h_prefs_put,
      "change preferences"),
    R("POST", "/v1/webhooks", RZ_ACCESS_LANDLORD, h_hook_create, "register a webhook"),
    R("GET", "/v1/webhooks", RZ_ACCESS_LANDLORD, h_hook_list, "the caller's webhooks"),
    R("GET", "/v1/webhooks/{id}", RZ_ACCESS_LANDLORD, h_hook_get, "one webhook"),
    R("DELETE", "/v1/webhooks/{id}", RZ_ACCESS_LANDLORD, h_hook_delete, "remove a webhook"),
    R("GET", "/v1/webhooks/{id}/deliveries", RZ_ACCESS_LANDLORD, h_hook_deliveries,
      "a webhook's delivery log"),
};

static const char *const topics[] = {"user-events",    "property-events", "booking-events",
                                     "payment-events", "rent-events",     "visit-events",
                                     "chat-events",    NULL};

static int fail(const char *msg)
{
    nt_g.host->log(nt_g.self, RZ_LOG_ERROR, "%s", msg);
    return RZ_EINVAL;
}

static int configure(void)
{
    rz_plugin_t *self = nt_g.self;
    if (H->config_string(self, "smtp_url", NULL, &nt_g.smtp_url) ||
        H->config_string(self, "from", "RentEzy <no-reply@rentezy.invalid>", &nt_g.from) ||
        H->config_string(self, "helo", "rentezy.invalid", &nt_g.helo) ||
        H->config_duration_ms(self, "smtp_timeout", 10000, &nt_g.smtp_timeout_ms) ||
        H->config_duration_ms(self, "webhook_timeout", 5000, &nt_g.hook_timeout_ms) ||
        H->config_int(self, "webhook_max_failures", 5, &nt_g.hook_max_failures) ||
        H->config_int(self, "webhook_max_per_owner", 10, &nt_g.hook_max_per_owner) ||
        H->config_bool(self, "webhook_allow_private", 0, &nt_g.allow_private) ||
        H->config_bool(self, "webhook_allow_http", 1, &nt_g.allow_http) ||
        H->config_string(self, "group", "notify", &nt_g.group) ||
        H->config_duration_ms(self, "max_event_age", 86400000, &nt_g.max_age_ms))
        return RZ_EINVAL; /* the host logged file:line */
    if (nt_g.smtp_url && *nt_g.smtp_url && strncmp(nt_g.smtp_url, "smtp://", 7) != 0)
        return fail("[plugin.notify] smtp_url: expected smtp://host:port");
    if (nt_g.smtp_url && !*nt_g.smtp_url)
        nt_g.smtp_url = NULL;
    if (strpbrk(nt_g.from, "\r\n") || !strchr(nt_g.from, '@'))
        return fail("[plugin.notify] from: expected an address such as "
                    "\"RentEzy <no-reply@example.com>\"");
    if (strpbrk(nt_g.helo, "\r\n <>") || !*nt_g.helo)
        return fail("[plugin.notify] helo: expected a host name");
    if (nt_g.smtp_timeout_ms < 100 || nt_g.hook_timeout_ms < 100 ||
        nt_g.smtp_timeout_ms > 600000 || nt_g.hook_timeout_ms > 600000)
        return fail("[plugin.notify] smtp_timeout and webhook_timeout: expected 100ms to 10m");
    if (nt_g.max_age_ms < 1000)
        return fail("[plugin.notify] max_event_age: expected at least 1s");
    size_t glen = strlen(nt_g.group);
    if (glen == 0 || glen > 50 ||
        strspn(nt_g.group, "abcdefghijklmnopqrstuvwxyz0123456789_-") != glen)
        return fail("[plugin.notify] group: expected 1 to 50 of a-z, 0-9, _ and -");
    /* the default deployment's jobs are plain "email" and "webhook" */
    int plain = strcmp(nt_g.group, "notify") == 0;
    snprintf(nt_g.kind_email, sizeof(nt_g.kind_email), "email%s%s", plain ? "" : ".",
             plain ? "" : nt_g.group);
    snprintf(nt_g.kind_webhook, sizeof(nt_g.kind_webhook), "webhook%s%s", plain ? "" : ".",
             plain ? "" : nt_g.group);
    if (nt_g.hook_max_failures < 1 || nt_g.hook_max_failures > 1000)
        return fail("[plugin.notify] webhook_max_failures: expected 1 to 1000");
    if (nt_g.hook_max_per_owner < 1 || nt_g.hook_max_per_owner > 1000)
        return fail("[plugin.notify] webhook_max_per_owner: expected 1 to 1000");
    return RZ_OK;
}

static void ws_open(rz_ws_t *ws, void *u)
{
}

static void ws_message(rz_ws_t *ws, cJSON *msg, void *u)
{
    /* the channel only pushes; answer pings so clients can check it */
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(msg, "type");
    if (cJSON_IsString(t) && strcmp(t->valuestring, "ping") == 0) {
        cJSON *o = cJSON_CreateObject();
        if (o && cJSON_AddStringToObject(o, "type", "pong"))
            H->ws_send(ws, "notify", o);
        else
            cJSON_Delete(o);
    }
}

static void ws_close(rz_ws_t *ws, void *u)
{
}

static const rz_channel_t channel = {.size = sizeof(rz_channel_t), .name = "notify",
                                     .on_open = ws_open, .on_message = ws_message,
                                     .on_close = ws_close};

static int nt_init(rz_plugin_t *self, const rz_host_t *host, void **state)
{
    nt_g.host = host;
    nt_g.self = self;
    int rc;
    if (host->abi_minor < 1 || !host->bus_subscribe || !host->ws_send_user)
        return fail("notify needs a host with ABI 1.1 (event bus and WebSocket); "
                    "update rentezyd");
    if (sodium_init() < 0)
        return fail("libsodium failed to initialise");
    if ((rc = configure()) != RZ_OK)
        return rc;
    if ((rc = host->migration(self, 1, "notify", nt_sql_001)) != RZ_OK ||
        (rc = host->migration(self, 2, "job_kinds", nt_sql_002)) != RZ_OK)
        return rc;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        if ((rc = host->route(self, &routes[i])) != RZ_OK)
            return rc;
    for (int i = 0; topics[i]; i++)
        if ((rc = host->bus_subscribe(self, topics[i], nt_g.group, RZ_BUS_SHARED, nt_on_event,
                                      NULL)) != RZ_OK)
            return rc;
    if ((rc = host->job_register(self, nt_g.kind_email, nt_job_email, NULL)) != RZ_OK ||
        (rc = host->job_register(self, nt_g.kind_webhook, nt_job_webhook, NULL)) != RZ_OK ||
        (rc = host->ws_channel(self, &channel)) != RZ_OK)
        return rc;
    *state = &nt_g;
    return host->openapi(self, nt_openapi);
}

static const char *const nt_requires[] = {"cap:db", "cap:bus", "cap:jobs", NULL};

RZ_PLUGIN_DEFINE(.name = "notify", .version = "1.0.0",
                 .description = "Notifications in the app, over WebSocket, by e-mail and by "
                                "signed webhook, from every topic",
                 .requires = nt_requires, .init = nt_init)
