/*
 * chat — tenant–landlord conversations: persisted, acknowledged, resumable
 * messages over the WebSocket channel "chat", delivered to every connection
 * of a member on any worker or pod (ws_send_user), with read receipts,
 * typing indicators and presence; REST for history and as a fallback.
 * Publishes chat.message_sent on chat-events; reads property-events.
 *
 * Configuration ([plugin.chat]):
 *   max_message_size  4KiB  largest message body (bytes of UTF-8)
 *   rate              10    messages per user per second (per worker)
 *   burst             20    messages a user may send at once
 *   presence_ttl      30s   lease of a worker's presence rows; renewed every
 *                           third of it by a timer (ABI 1.2 hosts)
 *
 * See docs/decisions/0011-chat.md for the channel's messages.
 */
#include "chat.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "rzu_embed.h"

chat_t chat_g;

RZU_EMBED(chat_sql_001, "plugins/chat/schema/001_chat.sql");
RZU_EMBED(chat_openapi, "plugins/chat/openapi.json");

#define R(m, p, a, h, s)                                                                 \
    {.size = sizeof(rz_route_t), .method = m, .path = p, .access = a, .handler = h,      \
     .summary = s}

static const rz_route_t routes[] = {
    R("POST", "/v1/chat/conversations", RZ_ACCESS_TENANT, h_conv_open,
      "start (or find) the caller's conversation about a listing"),
    R("GET", "/v1/chat/conversations", RZ_ACCESS_USER, h_conv_list,
      "the caller's conversations, last message and unread count"),
    R("GET", "/v1/chat/conversations/{id}/messages", RZ_ACCESS_USER, h_msg_list,
      "history, newest first"),
    R("POST", "/v1/chat/conversations/{id}/messages", RZ_ACCESS_USER, h_msg_post,
      "send a message without WebSocket"),
};

static const rz_channel_t channel = {.size = sizeof(rz_channel_t), .name = "chat",
                                     .on_open = ch_open, .on_message = ch_message,
                                     .on_close = ch_close};

static int fail(const char *msg)
{
    H->log(chat_g.self, RZ_LOG_ERROR, "%s", msg);
    return RZ_EINVAL;
}

static int configure(void)
{
    rz_plugin_t *self = chat_g.self;
    if (H->config_size(self, "max_message_size", 4096, &chat_g.max_message_size) ||
        H->config_int(self, "rate", 10, &chat_g.rate) ||
        H->config_int(self, "burst", 20, &chat_g.burst) ||
        H->config_duration_ms(self, "presence_ttl", 30000, &chat_g.presence_ttl_ms))
        return RZ_EINVAL; /* the host logged file:line */
    /* a delivered message must fit the 7 KiB fan-out with its envelope */
    if (chat_g.max_message_size < 16 || chat_g.max_message_size > 6144)
        return fail("[plugin.chat] max_message_size: expected 16 to 6KiB (the fan-out limit)");
    if (chat_g.rate < 1 || chat_g.rate > 100000)
        return fail("[plugin.chat] rate: expected 1 to 100000 messages per second");
    if (chat_g.burst < 1 || chat_g.burst > 1000000)
        return fail("[plugin.chat] burst: expected 1 to 1000000");
    if (chat_g.presence_ttl_ms < 3000 || chat_g.presence_ttl_ms > 3600000)
        return fail("[plugin.chat] presence_ttl: expected 3s to 1h");
    return RZ_OK;
}

static int chat_init(rz_plugin_t *self, const rz_host_t *host, void **state)
{
    int rc;
    chat_g.host = host;
    chat_g.self = self;
    if (host->abi_minor < 1 || !host->ws_channel || !host->bus_subscribe)
        return fail("chat needs a host of ABI 1.1 or later (events and WebSocket)");
    if ((rc = configure()) != RZ_OK)
        return rc;
    if ((rc = host->migration(self, 1, "chat", chat_sql_001)) != RZ_OK)
        return rc;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        if ((rc = host->route(self, &routes[i])) != RZ_OK)
            return rc;
    if ((rc = host->ws_channel(self, &channel)) != RZ_OK)
        return rc;
    if ((rc = host->bus_subscribe(self, "property-events", "chat", RZ_BUS_SHARED,
                                  on_property_event, NULL)) != RZ_OK)
        return rc;
    *state = &chat_g;
    return host->openapi(self, chat_openapi);
}

/* start runs in every worker: re-read settings, name this worker. */
static int chat_start(rz_plugin_t *self, void *state)
{
    char host[64] = "";
    if (gethostname(host, sizeof(host) - 1) != 0)
        strcpy(host, "unknown");
    snprintf(chat_g.node, sizeof(chat_g.node), "%s:%d:%lld", host, (int)getpid(),
             (long long)H->now_ms());
    chat_g.last_beat_ms = 0;
    chat_g.users = 0;
    int rc = configure();
    if (rc == RZ_OK)
        presence_start();
    return rc;
}

static void chat_stop(rz_plugin_t *self, void *state)
{
    presence_stop();
}

static const char *const chat_requires[] = {"cap:db", "cap:bus", "cap:ws", NULL};

RZ_PLUGIN_DEFINE(.name = "chat", .version = "1.0.0",
                 .description = "Tenant-landlord conversations in real time; publishes chat-events",
                 .requires = chat_requires, .init = chat_init, .start = chat_start,
                 .stop = chat_stop)
