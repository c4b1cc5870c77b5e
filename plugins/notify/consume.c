/*
 * consume.c — every topic, one shared group "notify".
 *
 * Per event, one round trip: the read-model statement (user-events,
 * property-events, booking-events) and/or notify.deliver() with the
 * notifications rendered here, in one transaction.  Both are idempotent
 * (read models keep the newest version; every channel has a unique key per
 * event and recipient), so the bus may deliver an event again at no cost.
 * The in-app notifications created by this delivery come back as rows and
 * are pushed over the `notify` WebSocket channel after the commit.
 *
 * Events older than max_event_age only feed the read models.  Unknown
 * types are acknowledged and ignored; data that cannot be applied
 * (not JSON, a user id that is not a UUID) goes to the dead-letter store.
 */
#include "notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct cons {
    rz_event_t *ev;
    cJSON *data;                /* parsed event data, owned */
    char *recipients;           /* JSON text, owned */
    char *stored;               /* the data kept with each notification, owned */
    const char *p_model[8];
    const char *p_deliver[10];
    rz_stmt_t st[2];
    int nst;
    char version[24], now[24];
    char property[UUID_LEN + 1], booking[UUID_LEN + 1];
} cons_t;

static void cons_free(cons_t *c)
{
    cJSON_Delete(c->data);
    free(c->recipients);
    free(c->stored);
    free(c);
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const char *uuid_of(const cJSON *o, const char *k)
{
    const char *s = str(o, k);
    return nt_is_uuid(s) ? s : NULL;
}

/* ---- read models ---------------------------------------------------------------- */

static const char user_sql[] =
    "INSERT INTO notify.users AS u (id, email, name, version) "
    "VALUES ($1::uuid, $2, $3, $4::bigint) ON CONFLICT (id) DO UPDATE SET "
    "email = coalesce(EXCLUDED.email, u.email), name = coalesce(EXCLUDED.name, u.name), "
    "version = EXCLUDED.version WHERE u.version < EXCLUDED.version";

static const char property_sql[] =
    "INSERT INTO notify.properties AS p (id, owner_id, title, status, version) "
    "VALUES ($1::uuid, $2::uuid, $3, $4, $5::bigint) ON CONFLICT (id) DO UPDATE SET "
    "owner_id = coalesce(EXCLUDED.owner_id, p.owner_id), title = coalesce(EXCLUDED.title, p.title), "
    "status = coalesce(EXCLUDED.status, p.status), version = EXCLUDED.version "
    "WHERE p.version < EXCLUDED.version";

static const char stay_sql[] =
    "INSERT INTO notify.stays AS s (id, property_id, tenant_id, landlord_id, check_in, status, "
    "version) VALUES ($1::uuid, $2::uuid, $3::uuid, $4::uuid, $5::date, $6, $7::bigint) "
    "ON CONFLICT (id) DO UPDATE SET property_id = EXCLUDED.property_id, "
    "tenant_id = EXCLUDED.tenant_id, landlord_id = EXCLUDED.landlord_id, "
    "check_in = EXCLUDED.check_in, status = EXCLUDED.status, version = EXCLUDED.version "
    "WHERE s.version < EXCLUDED.version";

static const char deliver_sql[] =
    "SELECT o_user, o_doc FROM notify.deliver($1::uuid, $2, $3, $4::jsonb, $5::jsonb, "
    "$6::uuid, $7::uuid, to_timestamp($8::bigint / 1000.0), $9, $10)";

/* The read-model statement of this event, if any.  -1 with *why when the
 * data is malformed. */
static int model(cons_t *c, const char **why)
{
    const char *topic = H->event_topic(c->ev), *type = H->event_type(c->ev);
    const char *subject = H->event_subject(c->ev);
    const cJSON *d = c->data;
    const char **p = c->p_model;
    if (strcmp(topic, "user-events") == 0 && strncmp(type, "user.", 5) == 0) {
        const char *id = uuid_of(d, "id") ? uuid_of(d, "id") : subject;
        if (!nt_is_uuid(id)) {
            *why = "user event without a user id";
            return -1;
        }
        p[0] = id, p[1] = str(d, "email"), p[2] = str(d, "name"), p[3] = c->version;
        c->st[c->nst++] = (rz_stmt_t){user_sql, 4, p};
    } else if (strcmp(topic, "property-events") == 0 && nt_is_uuid(subject)) {
        p[0] = subject, p[1] = uuid_of(d, "owner_id"), p[2] = str(d, "title");
        p[3] = str(d, "status"), p[4] = c->version;
        c->st[c->nst++] = (rz_stmt_t){property_sql, 5, p};
    } else if (strcmp(topic, "booking-events") == 0 && nt_is_uuid(subject)) {
        /* booking.refund_requested nests the booking's document */
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(d, "booking");
        if (!cJSON_IsObject(b))
            b = d;
        const char *check_in = str(b, "check_in");
        if (!check_in || strlen(check_in) != 10)
            return 0; /* not a booking document: nothing to remember */
        p[0] = subject, p[1] = uuid_of(b, "property_id"), p[2] = uuid_of(b, "tenant_id");
        p[3] = uuid_of(b, "landlord_id"), p[4] = check_in, p[5] = str(b, "status");
        p[6] = c->version;
        c->st[c->nst++] = (rz_stmt_t){stay_sql, 7, p};
    }
    return 0;
}

/* ---- recipients ----------------------------------------------------------------- */

static const char *role_user(const cJSON *d, const char *role)
{
    const char *u = NULL;
    static const char *const tenant[] = {"tenant_id", "payer_id", "user_id", NULL};
    static const char *const landlord[] = {"landlord_id", "payee_id", "owner_id", NULL};
    const char *const *f = strcmp(role, "tenant") == 0     ? tenant
                           : strcmp(role, "landlord") == 0 ? landlord
                                                           : NULL;
    for (int i = 0; f && f[i] && !u; i++)
        u = uuid_of(d, f[i]);
    if (strcmp(role, "recipient") == 0)
        u = uuid_of(d, "recipient_id");
    return u ? u : ""; /* "": notify.deliver resolves it from its read models */
}

static int add_recipient(cJSON *arr, const char *role, const char *user, const nt_tmpl_t *t,
                         const cJSON *d)
{
    char *title = nt_render(t->title, d), *body = nt_render(t->body, d);
    cJSON *o = cJSON_CreateObject();
    int ok = title && body && o && cJSON_AddStringToObject(o, "role", role) &&
             cJSON_AddStringToObject(o, "user_id", user) &&
             cJSON_AddStringToObject(o, "title", title) &&
             cJSON_AddStringToObject(o, "body", body) && cJSON_AddItemToArray(arr, o);
    if (!ok)
        cJSON_Delete(o);
    free(title);
    free(body);
    return ok ? 0 : -1;
}

/* The deliver statement when the type is one we notify about; -1 on ENOMEM. */
static int recipients(cons_t *c)
{
    const char *type = H->event_type(c->ev), *topic = H->event_topic(c->ev);
    const char *subject = H->event_subject(c->ev);
    int n;
    const nt_tmpl_t *t = nt_templates(type, &n);
    if (!t)
        return 0;
    const cJSON *d = c->data;
    /* a chat message for a member who is connected reaches them over the
     * chat channel: only offline members are notified (the chat plugin
     * knows presence and says so in the event) */
    if (strcmp(type, "chat.message_sent") == 0 &&
        cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "recipient_online")))
        return 0;
    cJSON *arr = cJSON_CreateArray();
    if (!arr)
        return -1;
    for (int i = 0; i < n; i++) {
        const cJSON *many = cJSON_GetObjectItemCaseSensitive(d, "recipient_ids");
        if (strcmp(t[i].role, "recipient") == 0 && cJSON_IsArray(many)) {
            const cJSON *it;
            cJSON_ArrayForEach(it, many) {
                if (cJSON_IsString(it) && nt_is_uuid(it->valuestring) &&
                    add_recipient(arr, t[i].role, it->valuestring, &t[i], d) < 0)
                    goto fail;
            }
        } else if (add_recipient(arr, t[i].role, role_user(d, t[i].role), &t[i], d) < 0) {
            goto fail;
        }
    }
    const char *prop = uuid_of(d, "property_id");
    if (!prop && strcmp(topic, "property-events") == 0 && nt_is_uuid(subject))
        prop = subject;
    const char *book = uuid_of(d, "booking_id");
    if (!book && strcmp(topic, "booking-events") == 0 && nt_is_uuid(subject))
        book = subject;
    if (prop)
        memcpy(c->property, prop, UUID_LEN + 1);
    if (book)
        memcpy(c->booking, book, UUID_LEN + 1);
    c->recipients = cJSON_PrintUnformatted(arr);
    cJSON_Delete(arr);
    arr = NULL;
    if (!c->recipients)
        return -1;
    if (strcmp(topic, "property-events") == 0) {
        /* a listing snapshot is large and public: keep the reference only */
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddStringToObject(o, "property_id", c->property)) {
            cJSON_Delete(o);
            return -1;
        }
        c->stored = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
    } else {
        c->stored = cJSON_PrintUnformatted(c->data);
    }
    if (!c->stored)
        return -1;
    const char **p = c->p_deliver;
    p[0] = H->event_id(c->ev), p[1] = type, p[2] = nt_categories[t[0].category];
    p[3] = c->recipients, p[4] = c->stored;
    p[5] = prop ? c->property : NULL, p[6] = book ? c->booking : NULL, p[7] = c->now;
    p[8] = nt_g.kind_email, p[9] = nt_g.kind_webhook;
    c->st[c->nst++] = (rz_stmt_t){deliver_sql, 10, p};
    return 0;
fail:
    cJSON_Delete(arr);
    return -1;
}

/* ---- after the commit ----------------------------------------------------------- */

/* The push: {"ch":"notify","type":"notification","notification":{...}}.
 * The host caps a fan-out message at about 7 KiB; a long data object stays
 * behind (GET /v1/notifications has it). */
static void push(const char *user, const char *doc)
{
    cJSON *n = cJSON_Parse(doc), *msg = cJSON_CreateObject();
    if (!n || !msg || !cJSON_AddStringToObject(msg, "type", "notification"))
        goto fail;
    cJSON_AddItemToObject(msg, "notification", n);
    n = NULL;
    char *text = cJSON_PrintUnformatted(msg);
    size_t len = text ? strlen(text) : 0;
    free(text);
    if (len > 6000)
        cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(msg,
                                                "notification"), "data");
    int rc = H->ws_send_user(nt_g.self, user, "notify", msg); /* owns msg */
    if (rc != RZ_OK)
        H->log(nt_g.self, RZ_LOG_WARN, "push to %s failed (error %d)", user, rc);
    return;
fail:
    cJSON_Delete(n);
    cJSON_Delete(msg);
}

static int transient(const char *state)
{
    /* serialization, deadlock, resources, operator intervention, connection */
    return !state || strncmp(state, "40", 2) == 0 || strncmp(state, "53", 2) == 0 ||
           strncmp(state, "57", 2) == 0 || strncmp(state, "08", 2) == 0;
}

static void applied(rz_dbres_t *res, void *u)
{
    cons_t *c = u;
    int st = H->dbres_status(res);
    if (st == RZ_EUNAVAIL) {
        H->bus_done(c->ev, RZ_BUS_RETRY, "the database is unavailable");
    } else if (st != RZ_OK) {
        const char *state = H->dbres_sqlstate(res);
        H->log(nt_g.self, RZ_LOG_WARN, "%s %s: %s (%s)", H->event_type(c->ev),
               H->event_id(c->ev), H->dbres_message(res), state ? state : "?");
        H->bus_done(c->ev, transient(state) ? RZ_BUS_RETRY : RZ_BUS_FAIL, H->dbres_message(res));
    } else {
        int rows = c->p_deliver[0] ? H->dbres_rows(res) : 0;
        for (int i = 0; i < rows; i++)
            push(H->dbres_value(res, i, 0), H->dbres_value(res, i, 1));
        H->bus_done(c->ev, RZ_BUS_OK, NULL);
    }
    cons_free(c);
}

void nt_on_event(rz_event_t *ev, void *udata)
{
    const char *why = "out of memory";
    int result = RZ_BUS_RETRY;
    const char *data = H->event_data(ev);
    cons_t *c = calloc(1, sizeof(*c));
    if (!c)
        goto fail;
    c->ev = ev;
    c->data = cJSON_Parse(data ? data : "{}");
    if (!c->data || !cJSON_IsObject(c->data)) {
        result = RZ_BUS_FAIL;
        why = "the event's data is not a JSON object";
        goto fail;
    }
    snprintf(c->version, sizeof(c->version), "%lld", (long long)H->event_version(ev));
    nt_ms_text(H->now_ms(), c->now);
    if (model(c, &why) < 0) {
        result = RZ_BUS_FAIL;
        goto fail;
    }
    why = "out of memory";
    int64_t age = H->now_ms() - H->event_time_ms(ev);
    if (age > nt_g.max_age_ms)
        H->log(nt_g.self, RZ_LOG_DEBUG, "%s %s is %llds old: nobody is notified",
               H->event_type(ev), H->event_id(ev), (long long)(age / 1000));
    else if (recipients(c) < 0)
        goto fail;
    if (c->nst == 0) { /* not ours: acknowledged and ignored */
        H->bus_done(ev, RZ_BUS_OK, NULL);
        cons_free(c);
        return;
    }
    int rc = c->nst == 1
                 ? H->db_query(nt_g.self, 0, c->st[0].sql, c->st[0].nparams, c->st[0].params,
                               applied, c)
                 : H->db_tx(nt_g.self, c->st, c->nst, applied, c);
    if (rc != RZ_OK) {
        why = "the database is unavailable";
        goto fail;
    }
    return;
fail:
    H->bus_done(ev, result, why);
    if (c)
        cons_free(c);
}
