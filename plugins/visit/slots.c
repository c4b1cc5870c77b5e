/*
 * slots.c — viewing slots.  POST /v1/properties/{id}/slots {starts_at,
 * ends_at} (the listing's landlord; 15 minutes to 4 hours, in the future,
 * never overlapping another open slot of theirs) and GET
 * /v1/properties/{id}/slots (anyone: the open slots ahead, soonest first,
 * in pages (?limit=, ?cursor=), each "available" unless a tenant holds it).
 */
#include "visit.h"

#include <stdio.h>
#include <string.h>

#define SLOT_MIN_MS (15 * 60 * 1000LL)
#define SLOT_MAX_MS (4 * 3600 * 1000LL)
#define SLOT_AHEAD_MS (365 * 86400 * 1000LL)

typedef struct slot {
    rz_req_t *req;
    rzu_sql_t q;
    char id[UUID_LEN + 1], start[24], end[24], now[24];
    rzu_page_t page;
} slot_t;

static void added(rz_dbres_t *res, void *u)
{
    slot_t *s = u;
    if (rzu_db_failed(s->req, res, "adding the slot"))
        return;
    const char *outcome = H->dbres_value(res, 0, 0);
    if (strcmp(outcome, "created") == 0) {
        char loc[128];
        snprintf(loc, sizeof(loc), "/v1/properties/%s/slots/%s", H->req_param(s->req, "id"), s->id);
        H->resp_header(s->req, "Location", loc);
        rzu_reply_text(s->req, 201, H->dbres_value(res, 0, 2));
    } else if (strcmp(outcome, "overlap") == 0) {
        H->reply_error(s->req, 409, "slot_overlap", "starts_at",
                       "you have another open slot at that time (%s)", H->dbres_value(res, 0, 1));
    } else {
        H->reply_error(s->req, 404, "not_found", NULL, "no published listing of yours has this id");
    }
}

static int time_field(rz_req_t *req, cJSON *body, const char *field, int64_t *ms)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(body, field);
    if (!v || cJSON_IsNull(v)) {
        H->reply_error(req, 400, "missing", field, "%s is required", field);
        return -1;
    }
    if (!cJSON_IsString(v) || rzu_time(v->valuestring, ms) < 0) {
        H->reply_error(req, 400, "invalid_time", field,
                       "%s must be a UTC time written YYYY-MM-DDTHH:MM:SSZ", field);
        return -1;
    }
    return 0;
}

void h_slot_add(rz_req_t *req, void *u)
{
    static const char sql[] = "SELECT o_outcome, o_detail, o_body FROM visit.add_slot($1::uuid, "
                              "$2::uuid, $3::uuid, $4::bigint, $5::bigint, $6::bigint)";
    static const char *const allowed[] = {"starts_at", "ends_at", NULL};
    const char *user = rzu_caller(req), *pid = H->req_param(req, "id");
    cJSON *body = user ? rzu_body(req, allowed) : NULL;
    slot_t *s = body ? rzu_alloc(req, sizeof(*s)) : NULL;
    int64_t a, b, now = H->now_ms();
    if (!s || time_field(req, body, "starts_at", &a) < 0 ||
        time_field(req, body, "ends_at", &b) < 0)
        return;
    if (!rzu_is_uuid(pid)) {
        H->reply_error(req, 404, "not_found", NULL, "no such listing");
        return;
    }
    if (b <= a) {
        H->reply_error(req, 400, "invalid_range", "ends_at", "ends_at is not after starts_at");
        return;
    }
    if (b - a < SLOT_MIN_MS || b - a > SLOT_MAX_MS) {
        H->reply_error(req, 400, "invalid_length", "ends_at",
                       "a slot lasts 15 minutes to 4 hours");
        return;
    }
    if (a <= now || a - now > SLOT_AHEAD_MS) {
        H->reply_error(req, 400, a <= now ? "past_time" : "too_far_ahead", "starts_at",
                       "starts_at must be in the coming year");
        return;
    }
    s->req = req;
    rzu_uuid(s->id);
    rzu_i64(a, s->start);
    rzu_i64(b, s->end);
    rzu_i64(now, s->now);
    s->q = (rzu_sql_t){.sql = sql, .n = 6, .p = {s->id, user, pid, s->start, s->end, s->now},
                      .cb = added, .udata = s};
    int rc = rzu_sql_run(&s->q);
    if (rc != RZ_OK)
        rzu_call_failed(req, rc, "the database");
}

static void listed(rz_dbres_t *res, void *u)
{
    slot_t *s = u;
    if (!rzu_db_failed(s->req, res, "listing slots"))
        rzu_page_reply(s->req, res, &s->page);
}

void h_slot_list(rz_req_t *req, void *u)
{
    /* keyset on (start, id); the cursor is "<start in microseconds>.<id>" */
    static const char sql[] =
        "SELECT visit.slot_doc(s, EXISTS (SELECT 1 FROM visit.visits v WHERE v.slot_id = s.id "
        "AND v.status IN ('requested', 'confirmed')))::text, "
        "((extract(epoch FROM lower(s.during)) * 1000000)::bigint)::text || '.' || s.id "
        "FROM visit.slots s WHERE s.property_id = $1::uuid AND s.status = 'open' "
        "AND lower(s.during) > visit.ts($2::bigint) "
        "AND ($3::bigint IS NULL OR (lower(s.during), s.id) > "
        "(to_timestamp($3::bigint / 1000000.0), $4::uuid)) "
        "ORDER BY lower(s.during), s.id LIMIT $5::int + 1";
    const char *pid = H->req_param(req, "id");
    slot_t *s = rzu_alloc(req, sizeof(*s));
    if (!s || rzu_page_args(req, &s->page) < 0)
        return;
    if (!rzu_is_uuid(pid)) {
        H->reply_error(req, 404, "not_found", NULL, "no such listing");
        return;
    }
    s->req = req;
    rzu_i64(H->now_ms(), s->now);
    s->q = (rzu_sql_t){.sql = sql, .n = 5, .flags = RZ_DB_READONLY, .cb = listed, .udata = s,
                      .p = {pid, s->now, s->page.has_cursor ? s->page.cur_us : NULL,
                            s->page.has_cursor ? s->page.cur_id : NULL, s->page.limit}};
    int rc = rzu_sql_run(&s->q);
    if (rc != RZ_OK)
        rzu_call_failed(req, rc, "the database");
}
