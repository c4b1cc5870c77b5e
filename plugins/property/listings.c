/*
 * listings.c — the listing itself: POST/GET/PATCH/DELETE /v1/properties,
 * publish, unpublish, and the owner's list.  Writes go through events.c;
 * reads are one statement each, serving the snapshot text the last write
 * stored (no JSON building or parsing on the hot GET path).
 */
#include "prop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

/* The columns a body may set: keys of v_listing's document. */
#define COLS                                                                       \
    "title, description, property_type, street, city, region, postal_code, country, " \
    "lat, lon, bedrooms, beds, bathrooms, max_guests, area_m2, amenities, "           \
    "nightly_amount, nightly_currency, monthly_amount, monthly_currency, "           \
    "min_nights, max_nights, instant_book, cancellation_policy, house_rules"
#define R_COLS                                                                            \
    "r.title, r.description, r.property_type, r.street, r.city, r.region, r.postal_code, " \
    "r.country, r.lat, r.lon, r.bedrooms, r.beds, r.bathrooms, r.max_guests, r.area_m2, "  \
    "r.amenities, r.nightly_amount, r.nightly_currency, r.monthly_amount, "               \
    "r.monthly_currency, r.min_nights, r.max_nights, r.instant_book, "                    \
    "r.cancellation_policy, r.house_rules"

/* Every write changes version, changed_tx and updated_at together. */
#define BUMP "version = p.version + 1, changed_tx = txid_current(), updated_at = now()"
/* $1 id, $2 caller, $3 If-Match version or NULL */
#define MINE                                                                         \
    "p.id = $1::uuid AND p.owner_id = $2::uuid AND p.status <> 'deleted' AND "        \
    "($3::bigint IS NULL OR p.version = $3::bigint)"

const char prop_read_cols[] =
    "p.owner_id::text, p.status, p.version::text, (p.published_at IS NOT NULL)::int::text, "
    "coalesce(p.snapshot, property.snapshot(p))::text";
enum { R_OWNER, R_STATUS, R_VERSION, R_WAS_PUBLIC, R_SNAP };

void prop_etag(char *out, size_t cap, const char *id, const char *version)
{
    snprintf(out, cap, "\"%s.%s\"", id, version);
}

int prop_visible(rz_req_t *req, rz_dbres_t *res)
{
    if (db_failed(req, res, "reading the listing"))
        return 0;
    if (H->dbres_rows(res) != 1)
        goto not_found;
    const char *status = H->dbres_value(res, 0, R_STATUS);
    const char *user = H->req_user(req);
    if (strcmp(status, "deleted") == 0) {
        /* a listing that was public may have been linked to: say it is gone
         * for good; a deleted draft never existed for anyone else */
        if (strcmp(H->dbres_value(res, 0, R_WAS_PUBLIC), "1") == 0) {
            H->reply_error(req, 410, "gone", NULL, "this listing was removed");
            return 0;
        }
        goto not_found;
    }
    if (strcmp(status, "published") == 0 ||
        (user && strcmp(user, H->dbres_value(res, 0, R_OWNER)) == 0))
        return 1;
not_found:
    H->reply_error(req, 404, "not_found", NULL, "no such listing");
    return 0;
}

/* ---- GET /v1/properties/{id} ------------------------------------------------------ */

/* If-None-Match uses the weak comparison: W/ is ignored; "*" matches. */
static int none_match(const char *header, const char *tag)
{
    size_t tl = strlen(tag);
    const char *p = header;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        if (*p == '*')
            return 1;
        if (p[0] == 'W' && p[1] == '/')
            p += 2;
        if (strncmp(p, tag, tl) == 0 && (p[tl] == '\0' || p[tl] == ',' || p[tl] == ' '))
            return 1;
        while (*p && *p != ',')
            p++;
    }
    return 0;
}

static void got(rz_dbres_t *res, void *u)
{
    rz_req_t *req = u;
    if (!prop_visible(req, res))
        return;
    const char *id = H->req_param(req, "id");
    char tag[UUID_LEN + 32];
    prop_etag(tag, sizeof(tag), id, H->dbres_value(res, 0, R_VERSION));
    H->resp_header(req, "ETag", tag);
    /* a published listing is the same for everyone: shared caches may keep
     * it and revalidate with the ETag; a draft stays private (no-store) */
    if (strcmp(H->dbres_value(res, 0, R_STATUS), "published") == 0)
        H->resp_header(req, "Cache-Control", "public, no-cache");
    const char *inm = H->req_header(req, "If-None-Match");
    if (inm && none_match(inm, tag)) {
        H->reply(req, 304, NULL, NULL, 0);
        return;
    }
    reply_text(req, 200, H->dbres_value(res, 0, R_SNAP));
}

void h_get(rz_req_t *req, void *u)
{
    static char sql[256];
    const char *id = H->req_param(req, "id");
    if (!is_uuid(id)) {
        H->reply_error(req, 404, "not_found", NULL, "no such listing");
        return;
    }
    if (!sql[0])
        snprintf(sql, sizeof(sql), "SELECT %s FROM property.properties p WHERE p.id = $1::uuid",
                 prop_read_cols);
    const char *p[] = {id};
    int rc = H->db_query(prop_g.self, RZ_DB_READONLY, sql, 1, p, got, req);
    if (rc != RZ_OK)
        call_failed(req, rc, "the database");
}

/* ---- POST /v1/properties ------------------------------------------------------------ */

static void created(prop_write_t *w, const char *snap, int64_t version)
{
    char loc[64], tag[UUID_LEN + 32], v[24];
    snprintf(loc, sizeof(loc), "/v1/properties/%s", w->id);
    snprintf(v, sizeof(v), "%lld", (long long)version);
    prop_etag(tag, sizeof(tag), w->id, v);
    H->resp_header(w->req, "Location", loc);
    H->resp_header(w->req, "ETag", tag);
    reply_text(w->req, 201, snap);
}

/* Serialise the validated document into request memory (the host copies
 * parameters, but they must live until the call returns). */
static const char *doc_text(rz_req_t *req, cJSON *doc)
{
    char *s = cJSON_PrintUnformatted(doc), *copy = NULL;
    cJSON_Delete(doc);
    if (s && (copy = H->req_alloc(req, strlen(s) + 1)))
        memcpy(copy, s, strlen(s) + 1);
    cJSON_free(s);
    if (!copy)
        call_failed(req, RZ_ENOMEM, "memory");
    return copy;
}

void h_create(rz_req_t *req, void *u)
{
    static const char sql[] =
        "INSERT INTO property.properties (id, owner_id, changed_tx, " COLS ") "
        "SELECT $1::uuid, $2::uuid, txid_current(), " R_COLS " "
        "FROM jsonb_populate_record(NULL::property.properties, $3::jsonb) r";
    cJSON *body = v_body(req), *doc;
    if (!body || v_listing(req, body, 1, &doc) < 0)
        return;
    const char *text = doc_text(req, doc);
    prop_write_t *w = text ? prop_write_new(req, "property.created", 0) : NULL;
    if (!w)
        return;
    w->done = created;
    const char *p[] = {w->id, H->req_user(req), text};
    rz_stmt_t st = {.sql = sql, .nparams = 3, .params = p};
    prop_write_run(w, &st, 1);
}

/* ---- PATCH /v1/properties/{id} -------------------------------------------------------- */

void h_patch(rz_req_t *req, void *u)
{
    /* jsonb_populate_record(p, patch) keeps p's value for every column the
     * patch does not name: exactly a merge of the top-level fields */
    static const char sql[] =
        "UPDATE property.properties p SET (" COLS ") = (SELECT " R_COLS
        " FROM jsonb_populate_record(p, $4::jsonb) r), " BUMP " WHERE " MINE;
    cJSON *body = v_body(req), *doc;
    prop_write_t *w = body ? prop_write_new(req, "property.updated", 1) : NULL;
    if (!w || v_listing(req, body, 0, &doc) < 0)
        return;
    const char *text = doc_text(req, doc);
    if (!text)
        return;
    const char *p[] = {w->id, H->req_user(req), w->if_match_param, text};
    rz_stmt_t st = {.sql = sql, .nparams = 4, .params = p};
    prop_write_run(w, &st, 1);
}

/* ---- DELETE, publish, unpublish -------------------------------------------------------- */

static void no_content(prop_write_t *w, const char *snap, int64_t version)
{
    H->reply(w->req, 204, NULL, NULL, 0);
}

static void status_change(rz_req_t *req, const char *type, const char *sql, prop_done_fn done)
{
    prop_write_t *w = prop_write_new(req, type, 0);
    if (!w)
        return;
    w->done = done;
    const char *p[] = {w->id, H->req_user(req), w->if_match_param};
    rz_stmt_t st = {.sql = sql, .nparams = 3, .params = p};
    prop_write_run(w, &st, 1);
}

void h_delete(rz_req_t *req, void *u)
{
    /* soft: the row stays for the event history, photos and audits; the
     * listing is gone from every reader for good */
    status_change(req, "property.deleted",
                  "UPDATE property.properties p SET status = 'deleted', deleted_at = now(), " BUMP
                  " WHERE " MINE,
                  no_content);
}

void h_publish(rz_req_t *req, void *u)
{
    /* publishing a published listing changes nothing: 200, no event */
    status_change(req, "property.published",
                  "UPDATE property.properties p SET status = 'published', published_at = now(), "
                  BUMP " WHERE " MINE " AND p.status = 'draft'",
                  NULL);
}

void h_unpublish(rz_req_t *req, void *u)
{
    status_change(req, "property.unpublished",
                  "UPDATE property.properties p SET status = 'draft', published_at = NULL, " BUMP
                  " WHERE " MINE " AND p.status = 'published'",
                  NULL);
}

/* ---- GET /v1/properties?owner=me ----------------------------------------------------- */

#define CURSOR_TS 27 /* 2026-11-25T14:23:02.123456Z */

typedef struct list {
    rz_req_t *req;
    int limit;
} list_t;

/* cursor = base64url("<created_at with microseconds>|<id>") of the last item */
static int cursor_parse(const char *c, char *ts, char *id)
{
    unsigned char raw[CURSOR_TS + 1 + UUID_LEN + 1];
    size_t n;
    if (strlen(c) > 128 ||
        sodium_base642bin(raw, sizeof(raw), c, strlen(c), NULL, &n, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        n != CURSOR_TS + 1 + UUID_LEN || raw[CURSOR_TS] != '|')
        return -1;
    memcpy(ts, raw, CURSOR_TS);
    ts[CURSOR_TS] = '\0';
    memcpy(id, raw + CURSOR_TS + 1, UUID_LEN);
    id[UUID_LEN] = '\0';
    int64_t days;
    char date[11];
    memcpy(date, ts, 10);
    date[10] = '\0';
    if (v_date(date, &days) < 0 || ts[10] != 'T' || ts[19] != '.' || ts[26] != 'Z' || !is_uuid(id))
        return -1;
    for (int i = 11; i < 26; i++)
        if (i != 13 && i != 16 && i != 19 && (ts[i] < '0' || ts[i] > '9'))
            return -1;
    return 0;
}

static void listed(rz_dbres_t *res, void *u)
{
    list_t *l = u;
    rz_req_t *req = l->req;
    if (db_failed(req, res, "listing"))
        return;
    int rows = H->dbres_rows(res), n = rows > l->limit ? l->limit : rows;
    size_t len = 64;
    for (int i = 0; i < n; i++)
        len += strlen(H->dbres_value(res, i, 2)) + 1;
    char cursor[128] = "null";
    if (rows > l->limit) {
        char raw[CURSOR_TS + 1 + UUID_LEN + 1];
        snprintf(raw, sizeof(raw), "%s|%s", H->dbres_value(res, n - 1, 0),
                 H->dbres_value(res, n - 1, 1));
        cursor[0] = '"';
        sodium_bin2base64(cursor + 1, sizeof(cursor) - 2, (const unsigned char *)raw, strlen(raw),
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        strcat(cursor, "\"");
    }
    len += strlen(cursor);
    char *out = H->req_alloc(req, len), *o = out;
    if (!out) {
        call_failed(req, RZ_ENOMEM, "memory");
        return;
    }
    o += sprintf(o, "{\"items\":[");
    for (int i = 0; i < n; i++)
        o += sprintf(o, "%s%s", i ? "," : "", H->dbres_value(res, i, 2));
    sprintf(o, "],\"next_cursor\":%s}", cursor);
    reply_text(req, 200, out);
}

void h_list(rz_req_t *req, void *u)
{
    static const char sql[] =
        "SELECT to_char(p.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), "
        "p.id::text, coalesce(p.snapshot, property.snapshot(p))::text FROM property.properties p "
        "WHERE p.owner_id = $1::uuid AND p.status <> 'deleted' "
        "AND ($2::text IS NULL OR p.status = $2) "
        "AND ($3::timestamptz IS NULL OR (p.created_at, p.id) < ($3::timestamptz, $4::uuid)) "
        "ORDER BY p.created_at DESC, p.id DESC LIMIT $5::int";
    const char *owner = H->req_query(req, "owner");
    const char *status = H->req_query(req, "status");
    const char *lim = H->req_query(req, "limit");
    const char *cur = H->req_query(req, "cursor");
    const char *user = H->req_user(req);
    list_t *l = H->req_alloc(req, sizeof(*l));
    char *ts = H->req_alloc(req, CURSOR_TS + 1), *after = H->req_alloc(req, UUID_LEN + 1);
    char *limit1 = H->req_alloc(req, 16);
    if (!l || !ts || !after || !limit1) {
        call_failed(req, RZ_ENOMEM, "memory");
        return;
    }
    l->req = req;
    l->limit = 20;
    if (!owner || strcmp(owner, "me") != 0) {
        /* searching everyone's listings is the search plugin's job */
        H->reply_error(req, 400, "invalid", "owner", "owner=me is required");
        return;
    }
    if (status && strcmp(status, "draft") != 0 && strcmp(status, "published") != 0) {
        H->reply_error(req, 400, "invalid", "status", "status must be draft or published");
        return;
    }
    if (lim) {
        char *end;
        long v = strtol(lim, &end, 10);
        if (end == lim || *end || v < 1 || v > 100) {
            H->reply_error(req, 400, "invalid", "limit", "limit must be 1 to 100");
            return;
        }
        l->limit = (int)v;
    }
    if (cur && cursor_parse(cur, ts, after) < 0) {
        H->reply_error(req, 400, "invalid", "cursor", "cursor is not one this API gave");
        return;
    }
    if (!is_uuid(user)) {
        reply_text(req, 200, "{\"items\":[],\"next_cursor\":null}");
        return;
    }
    snprintf(limit1, 16, "%d", l->limit + 1); /* one more tells whether a page follows */
    const char *p[] = {user, status, cur ? ts : NULL, cur ? after : NULL, limit1};
    int rc = H->db_query(prop_g.self, RZ_DB_READONLY, sql, 5, p, listed, l);
    if (rc != RZ_OK)
        call_failed(req, rc, "the database");
}
