/*
 * presence.c — the users of this worker: how many connections each has,
 * their rate limit bucket, and this worker's presence in chat.presence.
 *
 * A worker owns the rows (user, node) of its users.  Changes (a user's
 * first connection here, or last) mark the user dirty; chat.presence_sync
 * then tells the database, one statement at a time so they apply in order,
 * with every change that piled up meanwhile.  The statement also announces:
 * it returns who came online or went offline everywhere, with their
 * contacts, and we push "presence" to those contacts.
 *
 * The lease is renewed by a host timer (ABI 1.2) every presence_ttl/3: the
 * following syncs carry every user here, a few hundred per statement
 * (renewing or restoring their rows), and every sync sweeps the expired
 * rows (a dead worker's or pod's), so a dead pod's users go offline within
 * a TTL and a third even when nobody speaks.  On a 1.1 host there is no timer and the same heartbeat rides on
 * traffic (every open and chat message, at most every ttl/3); clients
 * then had to send {type:"ping"} while idle (docs/decisions/0011-chat.md).
 *
 * Ownership: entries are malloc'd, owned by the table; an entry without
 * connections is freed once its removal has been sent.  Queries copy what
 * they need; no callback touches an entry.
 */
#include "chat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NBUCKETS 16384

static chat_user_t *buckets[NBUCKETS];
static chat_user_t *dirty_head;
static int busy, stopping;

static uint32_t hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

static void mark_dirty(chat_user_t *u)
{
    if (u->dirty)
        return;
    u->dirty = 1;
    u->dirty_next = dirty_head;
    dirty_head = u;
}

static void unlink_user(chat_user_t *u)
{
    chat_user_t **pp = &buckets[hash(u->id) & (NBUCKETS - 1)];
    while (*pp && *pp != u)
        pp = &(*pp)->next;
    if (*pp)
        *pp = u->next;
}

chat_user_t *user_attach(const char *user)
{
    if (!user || strlen(user) >= USER_MAX)
        return NULL;
    uint32_t b = hash(user) & (NBUCKETS - 1);
    chat_user_t *u;
    for (u = buckets[b]; u; u = u->next)
        if (strcmp(u->id, user) == 0)
            break;
    if (!u) {
        if (!(u = calloc(1, sizeof(*u))))
            return NULL;
        memcpy(u->id, user, strlen(user) + 1);
        u->tokens = (double)chat_g.burst;
        u->last_ms = H->now_ms();
        u->next = buckets[b];
        buckets[b] = u;
    }
    if (u->conns++ == 0) {
        chat_g.users++;
        if (!u->in_db)
            mark_dirty(u);
    }
    return u;
}

void user_detach(chat_user_t *u)
{
    if (u && --u->conns == 0) {
        chat_g.users--;
        mark_dirty(u); /* freed by the next sync */
    }
}

int user_allow(chat_user_t *u)
{
    int64_t now = H->now_ms();
    double t = u->tokens + (double)(now - u->last_ms) * (double)chat_g.rate / 1000.0;
    u->last_ms = now;
    u->tokens = t > (double)chat_g.burst ? (double)chat_g.burst : t;
    if (u->tokens < 1.0)
        return 0;
    u->tokens -= 1.0;
    return 1;
}

/* ---- the sync ---------------------------------------------------------------------- */

static void presence_msg(const char *contact, const char *user, int online)
{
    cJSON *m = cJSON_CreateObject();
    if (!m || !cJSON_AddStringToObject(m, "type", "presence") ||
        !cJSON_AddStringToObject(m, "user_id", user) ||
        !cJSON_AddStringToObject(m, "status", online ? "online" : "offline")) {
        cJSON_Delete(m);
        return;
    }
    push_user(contact, m);
}

static void synced(rz_dbres_t *res, void *u)
{
    busy = 0;
    if (H->dbres_status(res) != RZ_OK) {
        H->log(chat_g.self, RZ_LOG_WARN, "presence: %s", H->dbres_message(res));
        chat_g.last_beat_ms = 0; /* the next sync carries everyone: it repairs */
    } else {
        for (int i = 0, n = H->dbres_rows(res); i < n; i++)
            if (!H->dbres_isnull(res, i, 1))
                presence_msg(H->dbres_value(res, i, 1), H->dbres_value(res, i, 0),
                             strcmp(H->dbres_value(res, i, 2), "t") == 0);
    }
    presence_tick();
}

/* Take up to SYNC_USERS of the dirty list into up and down (the rest waits
 * for the next sync, right after this one); free the entries that are gone.
 * A sync is a write transaction, and no bus consumer passes an open one: a
 * burst of thousands of connections in one statement held every WebSocket
 * push back for its 0.2-0.5 s. */
#define SYNC_USERS 500
static int take_dirty(arr_t *up, arr_t *down)
{
    chat_user_t *u = dirty_head;
    int taken = 0;
    for (; u && taken < SYNC_USERS; taken++) {
        chat_user_t *next = u->dirty_next;
        u->dirty = 0;
        u->dirty_next = NULL;
        if (u->conns > 0 && !u->in_db) {
            arr_add(up, u->id);
            u->in_db = 1;
        } else if (u->conns == 0) {
            if (u->in_db)
                arr_add(down, u->id);
            unlink_user(u);
            free(u);
        }
        u = next;
    }
    dirty_head = u;
    return taken;
}

/* The heartbeat renews every user here, SYNC_USERS per statement (as "up":
 * renewed, or restored when a row had expired), walking the buckets from
 * beat_at; NBUCKETS when no heartbeat is under way.  A row this worker no
 * longer renews expires within a TTL and the sweep announces it. */
static size_t beat_at = NBUCKETS;

static void beat_users(arr_t *up, int room)
{
    for (; beat_at < NBUCKETS && room > 0; beat_at++)
        for (chat_user_t *u = buckets[beat_at]; u; u = u->next)
            if (u->conns > 0) {
                arr_add(up, u->id);
                u->in_db = 1;
                room--; /* a crowded bucket may overshoot a little */
            }
}

void presence_tick(void)
{
    static const char sql[] = "SELECT user_id, contact, online FROM "
                              "chat.presence_sync($1, $2::bigint, $3::text[], $4::text[], NULL)";
    int64_t now = H->now_ms();
    if (!busy && beat_at == NBUCKETS &&
        (chat_g.beat_due || now - chat_g.last_beat_ms >= chat_g.presence_ttl_ms / 3)) {
        beat_at = 0; /* a heartbeat starts */
        chat_g.last_beat_ms = now;
        chat_g.beat_due = 0;
    }
    if (busy || (beat_at == NBUCKETS && !dirty_head) || (stopping && !dirty_head))
        return;
    arr_t up = {0}, down = {0};
    char ttl[24];
    beat_users(&up, SYNC_USERS - take_dirty(&up, &down));
    i64_text(chat_g.presence_ttl_ms, ttl);
    const char *p[] = {chat_g.node, ttl, arr_end(&up), arr_end(&down)};
    if (!p[2] || !p[3]) {
        H->log(chat_g.self, RZ_LOG_WARN, "presence: out of memory; the next heartbeat repairs");
        chat_g.last_beat_ms = 0;
    } else if (H->db_query(chat_g.self, 0, sql, 4, p, synced, NULL) == RZ_OK) {
        busy = 1;
    } else {
        chat_g.last_beat_ms = 0; /* the database is away: the next heartbeat repairs */
        beat_at = NBUCKETS;
    }
    free(up.s);
    free(down.s);
}

/* The heartbeat timer: renew now (or right after the sync in flight). */
static void on_beat(void *udata)
{
    (void)udata;
    chat_g.beat_due = 1;
    H->gauge_set(chat_g.self, "users", "Chat users with a connection in this worker.",
                     (double)chat_g.users);
    presence_tick();
}

void presence_start(void)
{
    stopping = 0;
    beat_at = NBUCKETS;
    chat_g.beat = NULL;
    int64_t every = chat_g.presence_ttl_ms / 3;
    if (H->abi_minor >= 2 && H->timer_start &&
        !(chat_g.beat = H->timer_start(chat_g.self, every, every, on_beat, NULL)))
        H->log(chat_g.self, RZ_LOG_WARN, "presence: no heartbeat timer; leases follow traffic");
}

void presence_stop(void)
{
    stopping = 1;
    if (chat_g.beat)
        H->timer_stop(chat_g.beat);
    chat_g.beat = NULL;
}
