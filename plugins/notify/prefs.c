/*
 * prefs.c — GET/PUT /v1/notifications/preferences.
 *
 * The document maps each category to its channels:
 *   {"booking": {"in_app": true, "email": false, "webhook": true}, ...}
 * GET answers every category (a missing row means every channel on).  PUT
 * takes any subset of categories, and of channels within one; what it
 * leaves out keeps its value.  Unknown categories or channels are 400 and
 * named, and nothing is stored.
 */
#include "notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char get_sql[] =
    "SELECT json_object_agg(c.name, json_build_object('in_app', coalesce(p.in_app, true), "
    "'email', coalesce(p.email, true), 'webhook', coalesce(p.webhook, true)) ORDER BY c.ord)::text "
    "FROM unnest($2::text[]) WITH ORDINALITY AS c(name, ord) "
    "LEFT JOIN notify.prefs p ON p.user_id = $1::uuid AND p.category = c.name";

static const char put_sql[] =
    "INSERT INTO notify.prefs AS p (user_id, category, in_app, email, webhook) "
    "SELECT $1::uuid, e.key, coalesce((e.value->>'in_app')::bool, cur.in_app, true), "
    "coalesce((e.value->>'email')::bool, cur.email, true), "
    "coalesce((e.value->>'webhook')::bool, cur.webhook, true) "
    "FROM jsonb_each($2::jsonb) e LEFT JOIN notify.prefs cur "
    "ON cur.user_id = $1::uuid AND cur.category = e.key "
    "ON CONFLICT (user_id, category) DO UPDATE SET in_app = EXCLUDED.in_app, "
    "email = EXCLUDED.email, webhook = EXCLUDED.webhook";

static const char *const channels[] = {"in_app", "email", "webhook", NULL};

/* The categories as a PostgreSQL text[] literal (they need no quoting). */
static const char *category_array(void)
{
    static char lit[256];
    if (!lit[0]) {
        size_t n = 0;
        lit[n++] = '{';
        for (int i = 0; nt_categories[i]; i++)
            n += (size_t)snprintf(lit + n, sizeof(lit) - n, "%s%s", i ? "," : "",
                                  nt_categories[i]);
        snprintf(lit + n, sizeof(lit) - n, "}");
    }
    return lit;
}

static void answered(rz_dbres_t *res, void *u)
{
    rz_req_t *req = u;
    if (nt_db_failed(req, res, "reading preferences"))
        return;
    nt_reply_text(req, 200, H->dbres_value(res, 0, 0));
}

void h_prefs_get(rz_req_t *req, void *u)
{
    const char *user = H->req_user(req);
    if (!nt_is_uuid(user)) {
        H->reply_error(req, 403, "forbidden", NULL, "this account has no preferences here");
        return;
    }
    const char *p[] = {user, category_array()};
    int rc = H->db_query(nt_g.self, 0, get_sql, 2, p, answered, req);
    if (rc != RZ_OK)
        nt_call_failed(req, rc, "the database");
}

static int known_channel(const char *s)
{
    for (int i = 0; channels[i]; i++)
        if (strcmp(channels[i], s) == 0)
            return 1;
    return 0;
}

/* 0, or -1 after answering 400. */
static int validate(rz_req_t *req, const cJSON *body)
{
    char unknown[512] = "";
    const char *first = NULL;
    size_t n = 0;
    const cJSON *cat;
    if (!cJSON_IsObject(body)) {
        H->reply_error(req, 400, "invalid", NULL,
                       "expected an object of categories, e.g. {\"booking\":{\"email\":false}}");
        return -1;
    }
    cJSON_ArrayForEach(cat, body) {
        if (nt_category_index(cat->string) < 0) {
            first = first ? first : cat->string;
            if (n < sizeof(unknown))
                n += (size_t)snprintf(unknown + n, sizeof(unknown) - n, "%s\"%s\"",
                                      n ? ", " : "", cat->string);
        }
    }
    if (first) {
        H->reply_error(req, 400, "unknown_category", first,
                       "unknown categories: %s; known: booking, payment, rent, visit, chat, "
                       "listing", unknown);
        return -1;
    }
    cJSON_ArrayForEach(cat, body) {
        const cJSON *ch;
        if (!cJSON_IsObject(cat)) {
            H->reply_error(req, 400, "invalid", cat->string,
                           "%s: expected an object of channels (in_app, email, webhook)",
                           cat->string);
            return -1;
        }
        cJSON_ArrayForEach(ch, cat) {
            if (!known_channel(ch->string)) {
                H->reply_error(req, 400, "unknown_channel", cat->string,
                               "%s: unknown channel \"%s\"; known: in_app, email, webhook",
                               cat->string, ch->string);
                return -1;
            }
            if (!cJSON_IsBool(ch)) {
                H->reply_error(req, 400, "invalid", cat->string, "%s.%s: expected true or false",
                               cat->string, ch->string);
                return -1;
            }
        }
    }
    return 0;
}

static void stored(rz_dbres_t *res, void *u)
{
    answered(res, u);
}

void h_prefs_put(rz_req_t *req, void *u)
{
    const char *user = H->req_user(req);
    cJSON *body = H->req_json(req);
    if (!body)
        return; /* the host answered 400 */
    if (!nt_is_uuid(user)) {
        H->reply_error(req, 403, "forbidden", NULL, "this account has no preferences here");
        return;
    }
    if (validate(req, body) < 0)
        return;
    char *text = cJSON_PrintUnformatted(body);
    size_t len = text ? strlen(text) + 1 : 0;
    char *copy = text ? H->req_alloc(req, len) : NULL;
    if (!copy) {
        free(text);
        nt_call_failed(req, RZ_ENOMEM, "memory");
        return;
    }
    memcpy(copy, text, len);
    free(text);
    const char **p = H->req_alloc(req, 2 * sizeof(*p));
    if (!p) {
        nt_call_failed(req, RZ_ENOMEM, "memory");
        return;
    }
    p[0] = user;
    p[1] = copy;
    const char **g = H->req_alloc(req, 2 * sizeof(*g));
    if (!g) {
        nt_call_failed(req, RZ_ENOMEM, "memory");
        return;
    }
    g[0] = user;
    g[1] = category_array();
    rz_stmt_t st[] = {{put_sql, 2, p}, {get_sql, 2, g}};
    int rc = H->db_tx(nt_g.self, st, 2, stored, req);
    if (rc != RZ_OK)
        nt_call_failed(req, rc, "the database");
}
