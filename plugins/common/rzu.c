/*
 * rzu.c — helpers every domain plugin needs: answers for failures, UUIDs,
 * calendar dates and times, a query that retries serialization failures.
 * Compiled into each plugin's .so (hidden), so plugins still share nothing
 * at run time and reach the host only through its table.
 */
#include "rzu.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

const rz_host_t *rzu_host;
rz_plugin_t *rzu_self;

void rzu_init(const rz_host_t *host, rz_plugin_t *self)
{
    rzu_host = host;
    rzu_self = self;
}

/* ---- the retrying query --------------------------------------------------------- */

static int retryable(rz_dbres_t *res)
{
    const char *st = rzu_host->dbres_sqlstate(res);
    return rzu_host->dbres_status(res) == RZ_ERR && st &&
           (strcmp(st, "40001") == 0 || strcmp(st, "40P01") == 0);
}

static void sql_done(rz_dbres_t *res, void *u)
{
    rzu_sql_t *q = u;
    if (retryable(res) && q->runs < 5) {
        q->runs++;
        if (rzu_host->db_query(rzu_self, q->flags, q->sql, q->n, q->p, sql_done, q) == RZ_OK)
            return;
        /* could not even send it again: the caller sees the last result */
    }
    q->cb(res, q->udata);
}

int rzu_sql_run(rzu_sql_t *q)
{
    q->runs = 1;
    return rzu_host->db_query(rzu_self, q->flags, q->sql, q->n, q->p, sql_done, q);
}

/* ---- answers ------------------------------------------------------------------------ */

int rzu_db_failed(rz_req_t *req, rz_dbres_t *res, const char *what)
{
    int st = rzu_host->dbres_status(res);
    if (st == RZ_OK)
        return 0;
    if (st == RZ_EUNAVAIL || retryable(res)) {
        rzu_host->resp_header(req, "Retry-After", "1");
        rzu_host->reply_error(req, 503, "unavailable", NULL, "the database is busy or unavailable; "
                                                      "retry later");
        return 1;
    }
    rzu_host->log(rzu_self, RZ_LOG_ERROR, "%s failed: %s (%s)", what, rzu_host->dbres_message(res),
           rzu_host->dbres_sqlstate(res) ? rzu_host->dbres_sqlstate(res) : "?");
    rzu_host->reply_error(req, 500, "internal", NULL, "%s failed", what);
    return 1;
}

void rzu_call_failed(rz_req_t *req, int rc, const char *what)
{
    if (rc == RZ_EUNAVAIL || rc == RZ_ESTATE || rc == RZ_ENOMEM) {
        rzu_host->resp_header(req, "Retry-After", "1");
        rzu_host->reply_error(req, 503, "unavailable", NULL, "%s is unavailable; retry later", what);
    } else {
        rzu_host->reply_error(req, 500, "internal", NULL, "%s failed (error %d)", what, rc);
    }
}

void rzu_reply_text(rz_req_t *req, int status, const char *json)
{
    rzu_host->reply(req, status, "application/json", json, strlen(json));
}

void *rzu_alloc(rz_req_t *req, size_t n)
{
    void *p = rzu_host->req_alloc(req, n);
    if (!p) {
        rzu_call_failed(req, RZ_ENOMEM, "memory");
        return NULL;
    }
    memset(p, 0, n);
    return p;
}

/* ---- identifiers -------------------------------------------------------------------- */

int rzu_is_uuid(const char *s)
{
    if (!s || strlen(s) != UUID_LEN)
        return 0;
    for (int i = 0; i < UUID_LEN; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return 0;
        } else if (!strchr("0123456789abcdefABCDEF", s[i]) || s[i] == '\0') {
            return 0;
        }
    }
    return 1;
}

void rzu_uuid(char out[UUID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[16];
    randombytes_buf(b, sizeof(b));
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    char *o = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *o++ = '-';
        *o++ = hex[b[i] >> 4];
        *o++ = hex[b[i] & 15];
    }
    *o = '\0';
}

const char *rzu_caller(rz_req_t *req)
{
    const char *user = rzu_host->req_user(req);
    if (!rzu_is_uuid(user)) {
        rzu_host->reply_error(req, 403, "forbidden", NULL, "this account cannot use this route");
        return NULL;
    }
    return user;
}

const char *rzu_traceparent(rz_req_t *req)
{
    /* 00-<32 hex>-<16 hex>-<2 hex>: anything else is dropped, not stored */
    const char *t = rzu_host->req_header(req, "traceparent");
    if (!t || strlen(t) != 55 || t[2] != '-' || t[35] != '-' || t[52] != '-')
        return NULL;
    for (int i = 0; i < 55; i++)
        if (i != 2 && i != 35 && i != 52 && !strchr("0123456789abcdef", t[i]))
            return NULL;
    return t;
}

/* ---- dates: days since 1970-01-01 (Howard Hinnant's civil algorithms) ------------------ */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

int rzu_date(const char *s, int64_t *days)
{
    static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return -1;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return -1;
    unsigned y = (unsigned)((s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 +
                            (s[3] - '0'));
    unsigned m = (unsigned)((s[5] - '0') * 10 + (s[6] - '0'));
    unsigned d = (unsigned)((s[8] - '0') * 10 + (s[9] - '0'));
    if (y < 1970 || m < 1 || m > 12 || d < 1)
        return -1;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[m - 1] + (m == 2 && leap))
        return -1;
    *days = days_from_civil(y, m, d);
    return 0;
}

void rzu_date_str(int64_t z, char out[11])
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    unsigned yy = (unsigned)(y % 10000);
    out[0] = (char)('0' + yy / 1000), out[1] = (char)('0' + yy / 100 % 10);
    out[2] = (char)('0' + yy / 10 % 10), out[3] = (char)('0' + yy % 10), out[4] = '-';
    out[5] = (char)('0' + m / 10 % 10), out[6] = (char)('0' + m % 10), out[7] = '-';
    out[8] = (char)('0' + d / 10 % 10), out[9] = (char)('0' + d % 10), out[10] = '\0';
}

void rzu_i64(int64_t v, char out[24])
{
    snprintf(out, 24, "%lld", (long long)v);
}

/* ---- bodies ----------------------------------------------------------------------------- */

cJSON *rzu_body(rz_req_t *req, const char *const *allowed)
{
    cJSON *body = rzu_host->req_json(req), *it;
    if (!body)
        return NULL; /* the host answered 400 invalid_json */
    if (!cJSON_IsObject(body)) {
        rzu_host->reply_error(req, 400, "invalid_json", NULL, "the body must be a JSON object");
        return NULL;
    }
    cJSON_ArrayForEach(it, body) {
        int ok = 0;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = strcmp(*a, it->string) == 0;
        if (!ok) {
            rzu_host->reply_error(req, 400, "unknown_field", it->string, "%.64s is not a field of this "
                                                                  "request", it->string);
            return NULL;
        }
    }
    return body;
}

int rzu_time(const char *s, int64_t *ms)
{
    int64_t days;
    char date[11];
    if (!s || strlen(s) != 20 || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z')
        return -1;
    memcpy(date, s, 10);
    date[10] = '\0';
    if (rzu_date(date, &days) < 0)
        return -1;
    int v[3];
    for (int i = 0; i < 3; i++) {
        const char *p = s + 11 + 3 * i;
        if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
            return -1;
        v[i] = (p[0] - '0') * 10 + (p[1] - '0');
    }
    if (v[0] > 23 || v[1] > 59 || v[2] > 59)
        return -1;
    *ms = ((days * 24 + v[0]) * 60 + v[1]) * 60000 + (int64_t)v[2] * 1000;
    return 0;
}
