/*
 * util.c — what every route of the rent plugin needs: answers for
 * failures, UUIDs, calendar dates, the retrying query.
 */
#include "rent.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

/* ---- the retrying query --------------------------------------------------------- */

static int retryable(rz_dbres_t *res)
{
    const char *st = H->dbres_sqlstate(res);
    return H->dbres_status(res) == RZ_ERR && st &&
           (strcmp(st, "40001") == 0 || strcmp(st, "40P01") == 0);
}

static void sql_done(rz_dbres_t *res, void *u)
{
    rt_sql_t *q = u;
    if (retryable(res) && q->runs < 5) {
        q->runs++;
        if (H->db_query(rt_g.self, q->flags, q->sql, q->n, q->p, sql_done, q) == RZ_OK)
            return;
        /* could not even send it again: the caller sees the last result */
    }
    q->cb(res, q->udata);
}

int rt_sql_run(rt_sql_t *q)
{
    q->runs = 1;
    return H->db_query(rt_g.self, q->flags, q->sql, q->n, q->p, sql_done, q);
}

/* ---- answers ------------------------------------------------------------------------ */

int rt_db_failed(rz_req_t *req, rz_dbres_t *res, const char *what)
{
    int st = H->dbres_status(res);
    if (st == RZ_OK)
        return 0;
    if (st == RZ_EUNAVAIL || retryable(res)) {
        H->resp_header(req, "Retry-After", "1");
        H->reply_error(req, 503, "unavailable", NULL, "the database is busy or unavailable; "
                                                      "retry later");
        return 1;
    }
    H->log(rt_g.self, RZ_LOG_ERROR, "%s failed: %s (%s)", what, H->dbres_message(res),
           H->dbres_sqlstate(res) ? H->dbres_sqlstate(res) : "?");
    H->reply_error(req, 500, "internal", NULL, "%s failed", what);
    return 1;
}

void rt_call_failed(rz_req_t *req, int rc, const char *what)
{
    if (rc == RZ_EUNAVAIL || rc == RZ_ESTATE || rc == RZ_ENOMEM) {
        H->resp_header(req, "Retry-After", "1");
        H->reply_error(req, 503, "unavailable", NULL, "%s is unavailable; retry later", what);
    } else {
        H->reply_error(req, 500, "internal", NULL, "%s failed (error %d)", what, rc);
    }
}

void rt_reply_text(rz_req_t *req, int status, const char *json)
{
    H->reply(req, status, "application/json", json, strlen(json));
}

void *rt_alloc(rz_req_t *req, size_t n)
{
    void *p = H->req_alloc(req, n);
    if (!p) {
        rt_call_failed(req, RZ_ENOMEM, "memory");
        return NULL;
    }
    memset(p, 0, n);
    return p;
}

/* ---- identifiers -------------------------------------------------------------------- */

int rt_is_uuid(const char *s)
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

void rt_uuid(char out[UUID_LEN + 1])
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

const char *rt_caller(rz_req_t *req)
{
    const char *user = H->req_user(req);
    if (!rt_is_uuid(user)) {
        H->reply_error(req, 403, "forbidden", NULL, "this account cannot take part in payments");
        return NULL;
    }
    return user;
}

const char *rt_traceparent(rz_req_t *req)
{
    /* 00-<32 hex>-<16 hex>-<2 hex>: anything else is dropped, not stored */
    const char *t = H->req_header(req, "traceparent");
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

int rt_date(const char *s, int64_t *days)
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

void rt_date_str(int64_t z, char out[11])
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

void rt_i64(int64_t v, char out[24])
{
    snprintf(out, 24, "%lld", (long long)v);
}

/* ---- bodies ----------------------------------------------------------------------------- */

cJSON *rt_body(rz_req_t *req, const char *const *allowed)
{
    cJSON *body = H->req_json(req), *it;
    if (!body)
        return NULL; /* the host answered 400 invalid_json */
    if (!cJSON_IsObject(body)) {
        H->reply_error(req, 400, "invalid_json", NULL, "the body must be a JSON object");
        return NULL;
    }
    cJSON_ArrayForEach(it, body) {
        int ok = 0;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = strcmp(*a, it->string) == 0;
        if (!ok) {
            H->reply_error(req, 400, "unknown_field", it->string, "%.64s is not a field of this "
                                                                  "request", it->string);
            return NULL;
        }
    }
    return body;
}
