/*
 * leases.c — POST /v1/leases (landlord), GET /v1/leases, GET /v1/leases/{id},
 * POST /v1/leases/{id}/accept (tenant), POST /v1/leases/{id}/terminate,
 * GET /v1/leases/{id}/ledger.  Shapes are checked here; rules and writes are
 * the schema's (rent.accept, rent.terminate, rent.ledger).  A lease that is
 * not the caller's answers 404, as if it did not exist.
 */
#include "rent.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ISO 4217 codes accepted; extend as markets open. */
static const char *const currencies[] = {
    "EUR", "USD", "GBP", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK", "HUF", "RON", "BGN",
    "CAD", "AUD", "NZD", "JPY", "CNY", "INR", "BRL", "MXN", "ZAR", "SGD", "HKD", "AED", NULL};

static int currency_ok(const char *c)
{
    for (const char *const *k = currencies; *k; k++)
        if (strcmp(*k, c) == 0)
            return 1;
    return 0;
}

/* A JSON integer in [lo, hi] into *out; 0, or -1. */
static int int_in(const cJSON *j, int64_t lo, int64_t hi, int64_t *out)
{
    if (!cJSON_IsNumber(j) || j->valuedouble != floor(j->valuedouble) || j->valuedouble < lo ||
        j->valuedouble > hi)
        return -1;
    *out = (int64_t)j->valuedouble;
    return 0;
}

typedef struct lreq {
    rz_req_t *req;
    rzu_sql_t q;
    char id[UUID_LEN + 1], now[24], lead[24];
    char amount[24], due[24], grace[24], remind[24], fee_amount[24], fee_bp[24], fee_cap[24];
    char start[11], end[11];
    char nums[5 * 24];
    rzu_page_t page; /* the list */
} lreq_t;

static void reply_lease(rz_dbres_t *res, void *u)
{
    lreq_t *l = u;
    if (rzu_db_failed(l->req, res, "the lease"))
        return;
    const char *out = H->dbres_value(res, 0, 0);
    if (strcmp(out, "ok") == 0)
        rzu_reply_text(l->req, 200, H->dbres_value(res, 0, 2));
    else if (strcmp(out, "not_found") == 0)
        H->reply_error(l->req, 404, "not_found", NULL, "no such lease of yours");
    else if (strcmp(out, "too_early") == 0)
        H->reply_error(l->req, 400, "invalid", "end_date",
                       "end_date must not be before today or the start date");
    else
        H->reply_error(l->req, 409, "state", NULL, "the lease is %s, or not yours to do that",
                       H->dbres_value(res, 0, 1));
}

static void created(rz_dbres_t *res, void *u)
{
    lreq_t *l = u;
    char loc[64];
    if (H->dbres_status(res) == RZ_ERR && H->dbres_sqlstate(res) &&
        strcmp(H->dbres_sqlstate(res), "22023") == 0) {
        H->reply_error(l->req, 400, "invalid", "time_zone", "unknown time zone");
        return;
    }
    if (rzu_db_failed(l->req, res, "creating the lease"))
        return;
    if (H->dbres_rows(res) != 1) {
        H->reply_error(l->req, 400, "invalid", "time_zone", "unknown time zone");
        return;
    }
    snprintf(loc, sizeof(loc), "/v1/leases/%s", l->id);
    H->resp_header(l->req, "Location", loc);
    rzu_reply_text(l->req, 201, H->dbres_value(res, 0, 0));
}

static int bad(rz_req_t *req, const char *field, const char *msg)
{
    H->reply_error(req, 400, "invalid", field, "%s", msg);
    return -1;
}

/* The late fee rule into l; -1 after answering. */
static int late_fee(rz_req_t *req, const cJSON *f, lreq_t *l, const char **type)
{
    static const char *const allowed[] = {"type", "amount", "percent", "cap", NULL};
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(f, "type"), *it;
    int64_t v;
    *type = "none";
    strcpy(l->fee_amount, "0");
    strcpy(l->fee_bp, "0");
    if (!f)
        return 0;
    if (!cJSON_IsObject(f))
        return bad(req, "late_fee", "late_fee: an object {type, amount|percent, cap}");
    cJSON_ArrayForEach(it, f) {
        int ok = 0;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = strcmp(*a, it->string) == 0;
        if (!ok)
            return bad(req, "late_fee", "late_fee: unknown field");
    }
    if (!cJSON_IsString(t) || (strcmp(t->valuestring, "fixed") != 0 &&
                               strcmp(t->valuestring, "percent") != 0 &&
                               strcmp(t->valuestring, "daily") != 0 &&
                               strcmp(t->valuestring, "none") != 0))
        return bad(req, "late_fee.type", "late_fee.type: fixed, percent, daily or none");
    *type = t->valuestring;
    if (strcmp(*type, "percent") == 0) {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(f, "percent");
        double bp = cJSON_IsNumber(p) ? p->valuedouble * 100 : -1;
        if (bp <= 0 || bp > 10000 || fabs(bp - round(bp)) > 1e-6)
            return bad(req, "late_fee.percent", "late_fee.percent: above 0 up to 100, "
                                                "at most 2 decimals");
        rzu_i64((int64_t)round(bp), l->fee_bp);
    } else if (strcmp(*type, "none") != 0) {
        if (int_in(cJSON_GetObjectItemCaseSensitive(f, "amount"), 1, RT_MAX_AMOUNT, &v) < 0)
            return bad(req, "late_fee.amount", "late_fee.amount: a positive integer of minor "
                                               "units");
        rzu_i64(v, l->fee_amount);
    }
    const cJSON *cap = cJSON_GetObjectItemCaseSensitive(f, "cap");
    if (cap) {
        if (int_in(cap, 1, RT_MAX_AMOUNT, &v) < 0)
            return bad(req, "late_fee.cap", "late_fee.cap: a positive integer of minor units");
        rzu_i64(v, l->fee_cap);
    }
    return 0;
}

void h_lease_create(rz_req_t *req, void *u)
{
    static const char *const allowed[] = {"tenant_id", "property_id", "monthly_rent",
                                          "start_date", "end_date", "due_day", "grace_days",
                                          "reminder_days", "late_fee", "time_zone", NULL};
    static const char sql[] =
        "WITH i AS (INSERT INTO rent.leases AS l (id, landlord_id, tenant_id, property_id, amount, currency, "
        "start_date, end_date, due_day, grace_days, reminder_days, fee_type, fee_amount, fee_bp, "
        "fee_cap, time_zone, status, ev_version, created_at, updated_at) "
        "SELECT $1::uuid, $2::uuid, $3::uuid, $4::uuid, n[1]::bigint, $6, $7::date, $8::date, "
        "n[2]::int, n[3]::int, n[4]::int, f[1], f[2]::bigint, f[3]::int, f[4]::bigint, z.name, "
        "'proposed', 1, rent.ts(n[5]::bigint), rent.ts(n[5]::bigint) "
        "FROM pg_timezone_names z, (SELECT string_to_array($9, '|') AS f, "
        "string_to_array($5, '|') AS n) r WHERE z.name = $10 LIMIT 1 "
        "RETURNING l) "
        /* the tenant hears of the offer (notify), in the same statement */
        "SELECT rent.lease_doc(i.l)::text FROM i CROSS JOIN LATERAL "
        "rentezy.publish('rent-events', 'rent.lease_offered', 'rent', (i.l).id::text, 1, "
        "rent.lease_doc(i.l)::jsonb, NULL) e";
    const char *user = rzu_caller(req);
    cJSON *b, *tenant, *prop, *money, *amount, *cur, *start, *end, *tz;
    lreq_t *l;
    int64_t v, sd, ed = 0;
    const char *fee_type;
    char *fee;
    int rc;
    if (!user || !(b = rzu_body(req, allowed)) || !(l = rzu_alloc(req, sizeof(*l))))
        return;
    l->req = req;
    tenant = cJSON_GetObjectItemCaseSensitive(b, "tenant_id");
    prop = cJSON_GetObjectItemCaseSensitive(b, "property_id");
    money = cJSON_GetObjectItemCaseSensitive(b, "monthly_rent");
    amount = cJSON_GetObjectItemCaseSensitive(money, "amount");
    cur = cJSON_GetObjectItemCaseSensitive(money, "currency");
    start = cJSON_GetObjectItemCaseSensitive(b, "start_date");
    end = cJSON_GetObjectItemCaseSensitive(b, "end_date");
    tz = cJSON_GetObjectItemCaseSensitive(b, "time_zone");
    if (!cJSON_IsString(tenant) || !rzu_is_uuid(tenant->valuestring) ||
        strcmp(tenant->valuestring, user) == 0) {
        bad(req, "tenant_id", "tenant_id: another user's UUID");
        return;
    }
    if (!cJSON_IsString(prop) || !rzu_is_uuid(prop->valuestring)) {
        bad(req, "property_id", "property_id: a UUID");
        return;
    }
    if (int_in(amount, 1, RT_MAX_AMOUNT, &v) < 0) {
        bad(req, "monthly_rent.amount", "monthly_rent.amount: a positive integer of minor units");
        return;
    }
    rzu_i64(v, l->amount);
    if (!cJSON_IsString(cur) || !currency_ok(cur->valuestring)) {
        bad(req, "monthly_rent.currency", "monthly_rent.currency: an ISO 4217 code we accept");
        return;
    }
    if (!cJSON_IsString(start) || rzu_date(start->valuestring, &sd) < 0) {
        bad(req, "start_date", "start_date: YYYY-MM-DD");
        return;
    }
    rzu_date_str(sd, l->start);
    if (end && !cJSON_IsNull(end)) {
        if (!cJSON_IsString(end) || rzu_date(end->valuestring, &ed) < 0) {
            bad(req, "end_date", "end_date: YYYY-MM-DD");
            return;
        }
        if (ed < sd) {
            bad(req, "end_date", "end_date is before start_date");
            return;
        }
        rzu_date_str(ed, l->end);
    }
    if (int_in(cJSON_GetObjectItemCaseSensitive(b, "due_day"), 1, 28, &v) < 0) {
        bad(req, "due_day", "due_day: 1 to 28");
        return;
    }
    rzu_i64(v, l->due);
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(b, "grace_days");
    if (g ? int_in(g, 0, 27, &v) < 0 : (v = 3, 0)) {
        bad(req, "grace_days", "grace_days: 0 to 27");
        return;
    }
    rzu_i64(v, l->grace);
    g = cJSON_GetObjectItemCaseSensitive(b, "reminder_days");
    if (g ? int_in(g, 0, 27, &v) < 0 : (v = 3, 0)) {
        bad(req, "reminder_days", "reminder_days: 0 to 27");
        return;
    }
    rzu_i64(v, l->remind);
    if (late_fee(req, cJSON_GetObjectItemCaseSensitive(b, "late_fee"), l, &fee_type) < 0)
        return;
    if (!cJSON_IsString(tz) || strlen(tz->valuestring) > 64 || !tz->valuestring[0]) {
        bad(req, "time_zone", "time_zone: an IANA name such as Europe/Berlin");
        return;
    }
    size_t fl = strlen(fee_type) + strlen(l->fee_amount) + strlen(l->fee_bp) +
                strlen(l->fee_cap) + 4;
    if (!(fee = rzu_alloc(req, fl)))
        return;
    snprintf(fee, fl, "%s|%s|%s|%s", fee_type, l->fee_amount, l->fee_bp, l->fee_cap);
    rzu_uuid(l->id);
    rzu_i64(H->now_ms(), l->now);
    /* the numbers travel as one "amount|due|grace|remind|now" parameter
     * (a statement takes RZU_MAXP parameters at most) */
    snprintf(l->nums, sizeof(l->nums), "%s|%s|%s|%s|%s", l->amount, l->due, l->grace,
             l->remind, l->now);
    l->q = (rzu_sql_t){.sql = sql, .n = 10,
                      .p = {l->id, user, tenant->valuestring, prop->valuestring, l->nums,
                            cur->valuestring, l->start, l->end[0] ? l->end : NULL, fee,
                            tz->valuestring},
                      .cb = created, .udata = l};
    if (!l->fee_cap[0]) /* string_to_array keeps '' — make the cap NULL */
        snprintf(fee, fl, "%s|%s|%s", fee_type, l->fee_amount, l->fee_bp);
    if ((rc = rzu_sql_run(&l->q)) != RZ_OK)
        rzu_call_failed(req, rc, "the database");
}

/* ---- reading ----------------------------------------------------------------------- */

static void got_text(rz_dbres_t *res, void *u)
{
    rz_req_t *req = u;
    if (rzu_db_failed(req, res, "reading the lease"))
        return;
    if (H->dbres_rows(res) == 0 || H->dbres_isnull(res, 0, 0)) {
        H->reply_error(req, 404, "not_found", NULL, "no such lease of yours");
        return;
    }
    rzu_reply_text(req, 200, H->dbres_value(res, 0, 0));
}

static void read_one(rz_req_t *req, const char *sql)
{
    const char *user = rzu_caller(req), *id = H->req_param(req, "id");
    int rc;
    if (!user)
        return;
    if (!rzu_is_uuid(id)) {
        H->reply_error(req, 404, "not_found", NULL, "no such lease of yours");
        return;
    }
    const char *p[] = {id, user};
    if ((rc = H->db_query(rt_g.self, RZ_DB_READONLY, sql, 2, p, got_text, req)) != RZ_OK)
        rzu_call_failed(req, rc, "the database");
}

void h_lease_get(rz_req_t *req, void *u)
{
    read_one(req, "SELECT rent.lease_doc(l)::text FROM rent.leases l WHERE id = $1::uuid "
                  "AND (tenant_id = $2::uuid OR landlord_id = $2::uuid)");
}

static void listed(rz_dbres_t *res, void *u)
{
    lreq_t *l = u;
    if (!rzu_db_failed(l->req, res, "listing leases"))
        rzu_page_reply(l->req, res, &l->page);
}

/* The caller's leases, as tenant or landlord, newest first; ?status= narrows. */
void h_lease_list(rz_req_t *req, void *u)
{
    static const char sql[] =
        "SELECT rent.lease_doc(l)::text, "
        "((extract(epoch FROM l.created_at) * 1000000)::bigint)::text || '.' || l.id "
        "FROM rent.leases l WHERE (l.tenant_id = $1::uuid OR l.landlord_id = $1::uuid) "
        "AND ($2::text IS NULL OR l.status = $2) "
        "AND ($3::bigint IS NULL OR (l.created_at, l.id) < "
        "(to_timestamp($3::bigint / 1000000.0), $4::uuid)) "
        "ORDER BY l.created_at DESC, l.id DESC LIMIT $5::int + 1";
    const char *user = rzu_caller(req), *status;
    lreq_t *l = user ? rzu_alloc(req, sizeof(*l)) : NULL;
    int rc;
    if (!l || rzu_page_args(req, &l->page) < 0)
        return;
    status = H->req_query(req, "status");
    if (status && strcmp(status, "proposed") != 0 && strcmp(status, "active") != 0 &&
        strcmp(status, "terminated") != 0) {
        bad(req, "status", "status: proposed, active or terminated");
        return;
    }
    l->req = req;
    l->q = (rzu_sql_t){.sql = sql, .n = 5, .flags = RZ_DB_READONLY, .cb = listed, .udata = l,
                      .p = {user, status, l->page.has_cursor ? l->page.cur_us : NULL,
                            l->page.has_cursor ? l->page.cur_id : NULL, l->page.limit}};
    if ((rc = rzu_sql_run(&l->q)) != RZ_OK)
        rzu_call_failed(req, rc, "the database");
}

void h_lease_ledger(rz_req_t *req, void *u)
{
    read_one(req, "SELECT rent.ledger($1::uuid, $2::uuid)");
}

/* ---- accept, terminate --------------------------------------------------------------- */

/* Common start: caller, lease id, body; NULL after answering. */
static lreq_t *change(rz_req_t *req, const char *const *allowed, cJSON **body,
                      const char **user)
{
    const char *id = H->req_param(req, "id");
    lreq_t *l;
    if (!(*user = rzu_caller(req)))
        return NULL;
    if (!rzu_is_uuid(id)) {
        H->reply_error(req, 404, "not_found", NULL, "no such lease of yours");
        return NULL;
    }
    size_t len = 0;
    H->req_body(req, &len);
    if (len == 0) {
        *body = NULL;
    } else if (!(*body = rzu_body(req, allowed))) {
        return NULL;
    }
    if (!(l = rzu_alloc(req, sizeof(*l))))
        return NULL;
    l->req = req;
    memcpy(l->id, id, UUID_LEN + 1);
    rzu_i64(H->now_ms(), l->now);
    return l;
}

void h_lease_accept(rz_req_t *req, void *u)
{
    static const char *const allowed[] = {"autopay_payment_method", NULL};
    static const char sql[] =
        "SELECT * FROM rent.accept($1::uuid, $2::uuid, $3, $4::bigint, $5::int)";
    const char *user, *method = NULL;
    cJSON *b = NULL, *m;
    lreq_t *l = change(req, allowed, &b, &user);
    int rc;
    if (!l)
        return;
    if ((m = cJSON_GetObjectItemCaseSensitive(b, "autopay_payment_method")) && !cJSON_IsNull(m)) {
        size_t n = cJSON_IsString(m) ? strlen(m->valuestring) : 0;
        if (n < 1 || n > 64 ||
            strspn(m->valuestring, "abcdefghijklmnopqrstuvwxyz0123456789_") != n) {
            bad(req, "autopay_payment_method", "autopay_payment_method: a token of [a-z0-9_]");
            return;
        }
        method = m->valuestring;
    }
    rzu_i64(rt_g.lead_days, l->lead);
    l->q = (rzu_sql_t){.sql = sql, .n = 5, .p = {l->id, user, method, l->now, l->lead},
                      .cb = reply_lease, .udata = l};
    if ((rc = rzu_sql_run(&l->q)) != RZ_OK)
        rzu_call_failed(req, rc, "the database");
}

void h_lease_terminate(rz_req_t *req, void *u)
{
    static const char *const allowed[] = {"end_date", NULL};
    static const char sql[] =
        "SELECT * FROM rent.terminate($1::uuid, $2::uuid, $3::date, $4::bigint)";
    const char *user;
    cJSON *b = NULL, *e;
    int64_t d;
    lreq_t *l = change(req, allowed, &b, &user);
    int rc;
    if (!l)
        return;
    e = cJSON_GetObjectItemCaseSensitive(b, "end_date");
    if (!cJSON_IsString(e) || rzu_date(e->valuestring, &d) < 0) {
        H->reply_error(req, 400, e ? "invalid" : "missing", "end_date", "end_date: YYYY-MM-DD");
        return;
    }
    rzu_date_str(d, l->end);
    l->q = (rzu_sql_t){.sql = sql, .n = 4, .p = {l->id, user, l->end, l->now},
                      .cb = reply_lease, .udata = l};
    if ((rc = rzu_sql_run(&l->q)) != RZ_OK)
        rzu_call_failed(req, rc, "the database");
}
