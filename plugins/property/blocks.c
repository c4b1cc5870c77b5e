/*
 * blocks.c — blackout dates: the nights a landlord closes for bookings.
 * POST/GET /v1/properties/{id}/blocks, DELETE .../blocks/{block_id}.
 *
 * A block is [start, end): the nights from start up to, not including, end
 * (the stay convention, so a block ending on a check-in day does not clash
 * with it).  Overlapping blocks are refused by the schema's exclusion
 * constraint (409).  Each change bumps the listing's version and publishes
 * property.blocks_changed with the whole snapshot, blocks included.
 */
#include "prop.h"

#include <stdio.h>
#include <string.h>

#define BUMP "version = p.version + 1, changed_tx = txid_current(), updated_at = now()"
#define MINE                                                                         \
    "p.id = $1::uuid AND p.owner_id = $2::uuid AND p.status <> 'deleted' AND "        \
    "($3::bigint IS NULL OR p.version = $3::bigint)"
#define REASON_MAX 200

typedef struct block {
    char id[UUID_LEN + 1];
    const char *start, *end, *reason; /* owned by the request's JSON */
} block_t;

static void block_added(prop_write_t *w, const char *snap, int64_t version)
{
    block_t *b = w->udata;
    char loc[128];
    snprintf(loc, sizeof(loc), "/v1/properties/%s/blocks/%s", w->id, b->id);
    H->resp_header(w->req, "Location", loc);
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddStringToObject(o, "id", b->id) ||
        !cJSON_AddStringToObject(o, "start", b->start) ||
        !cJSON_AddStringToObject(o, "end", b->end) ||
        !cJSON_AddStringToObject(o, "reason", b->reason) ||
        !cJSON_AddNumberToObject(o, "version", (double)version)) {
        cJSON_Delete(o);
        call_failed(w->req, RZ_ENOMEM, "memory");
        return;
    }
    H->reply_json(w->req, 201, o);
}

static int date_field(rz_req_t *req, cJSON *body, const char *field, const char **out,
                      int64_t *days)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(body, field);
    if (!v) {
        H->reply_error(req, 400, "missing", field, "%s is required", field);
        return -1;
    }
    if (!cJSON_IsString(v) || v_date(v->valuestring, days) < 0) {
        H->reply_error(req, 400, "invalid", field, "%s must be a date, YYYY-MM-DD", field);
        return -1;
    }
    *out = v->valuestring;
    return 0;
}

void h_blocks_add(rz_req_t *req, void *u)
{
    static const char sql[] =
        "WITH l AS (UPDATE property.properties p SET " BUMP " WHERE " MINE " RETURNING p.id) "
        "INSERT INTO property.blocks (id, property_id, start_date, end_date, reason) "
        "SELECT $4::uuid, l.id, $5::date, $6::date, $7 FROM l";
    static const char *const allowed[] = {"start", "end", "reason", NULL};
    cJSON *body = v_body(req), *it;
    prop_write_t *w = body ? prop_write_new(req, "property.blocks_changed", 0) : NULL;
    block_t *b = w ? H->req_alloc(req, sizeof(*b)) : NULL;
    int64_t d0, d1;
    if (!w)
        return;
    if (!b) {
        call_failed(req, RZ_ENOMEM, "memory");
        return;
    }
    cJSON_ArrayForEach(it, body) {
        int ok = 0;
        for (int i = 0; allowed[i]; i++)
            ok |= strcmp(allowed[i], it->string) == 0;
        if (!ok) {
            H->reply_error(req, 400, "unknown_field", it->string, "%s is not a field of a block",
                           it->string);
            return;
        }
    }
    if (date_field(req, body, "start", &b->start, &d0) < 0 ||
        date_field(req, body, "end", &b->end, &d1) < 0)
        return;
    if (d1 <= d0) {
        H->reply_error(req, 400, "invalid", "end", "end must be after start");
        return;
    }
    if (d1 <= H->now_ms() / 86400000) {
        H->reply_error(req, 400, "invalid", "end", "the block is over already: end is not after today");
        return;
    }
    if (d1 - d0 > 3 * 366) {
        H->reply_error(req, 400, "invalid", "end", "a block spans at most three years");
        return;
    }
    cJSON *r = cJSON_GetObjectItemCaseSensitive(body, "reason");
    b->reason = "";
    if (r && !cJSON_IsNull(r)) {
        if (!cJSON_IsString(r) || !v_text_ok(r->valuestring, REASON_MAX, 0)) {
            H->reply_error(req, 400, "invalid", "reason",
                           "reason must be text of at most %d characters on one line", REASON_MAX);
            return;
        }
        b->reason = r->valuestring;
    }
    prop_uuid(b->id);
    w->udata = b;
    w->done = block_added;
    const char *p[] = {w->id, H->req_user(req), w->if_match_param, b->id, b->start, b->end,
                       b->reason};
    rz_stmt_t st = {.sql = sql, .nparams = 7, .params = p};
    prop_write_run(w, &st, 1);
}

/* ---- GET /v1/properties/{id}/blocks ---------------------------------------------- */

static void blocks_got(rz_dbres_t *res, void *u)
{
    rz_req_t *req = u;
    if (!prop_visible(req, res))
        return;
    const char *arr = H->dbres_value(res, 0, 5);
    size_t n = strlen(arr) + 48;
    char *out = H->req_alloc(req, n);
    if (!out) {
        call_failed(req, RZ_ENOMEM, "memory");
        return;
    }
    /* every block fits one page: a listing has few, and the snapshot
     * carries them all anyway */
    snprintf(out, n, "{\"items\":%s,\"next_cursor\":null}", arr);
    reply_text(req, 200, out);
}

void h_blocks_list(rz_req_t *req, void *u)
{
    static char sql[320];
    const char *id = H->req_param(req, "id");
    if (!is_uuid(id)) {
        H->reply_error(req, 404, "not_found", NULL, "no such listing");
        return;
    }
    if (!sql[0]) /* the blocks exactly as the snapshot has them */
        snprintf(sql, sizeof(sql),
                 "SELECT %s, (coalesce(p.snapshot, property.snapshot(p))->'blocks')::text "
                 "FROM property.properties p WHERE p.id = $1::uuid",
                 prop_read_cols);
    const char *p[] = {id};
    int rc = H->db_query(prop_g.self, RZ_DB_READONLY, sql, 1, p, blocks_got, req);
    if (rc != RZ_OK)
        call_failed(req, rc, "the database");
}

/* ---- DELETE /v1/properties/{id}/blocks/{block_id} ---------------------------------- */

static void block_gone(prop_write_t *w, const char *snap, int64_t version)
{
    H->reply(w->req, 204, NULL, NULL, 0);
}

static void no_block(prop_write_t *w, const char *snap)
{
    H->reply_error(w->req, 404, "not_found", NULL, "no such block");
}

void h_blocks_delete(rz_req_t *req, void *u)
{
    static const char sql[] =
        "WITH d AS (DELETE FROM property.blocks b USING property.properties p "
        "WHERE b.id = $4::uuid AND b.property_id = p.id AND " MINE " RETURNING b.property_id) "
        "UPDATE property.properties p SET " BUMP " WHERE p.id IN (SELECT property_id FROM d)";
    prop_write_t *w = prop_write_new(req, "property.blocks_changed", 0);
    if (!w)
        return;
    const char *block = H->req_param(req, "block_id");
    if (!is_uuid(block)) {
        H->reply_error(req, 404, "not_found", NULL, "no such block");
        return;
    }
    w->done = block_gone;
    w->unchanged = no_block;
    const char *p[] = {w->id, H->req_user(req), w->if_match_param, block};
    rz_stmt_t st = {.sql = sql, .nparams = 4, .params = p};
    prop_write_run(w, &st, 1);
}
