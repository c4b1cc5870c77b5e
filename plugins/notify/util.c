/*
 * util.c — answers for failures, UUIDs, paging.
 */
#include "notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int nt_db_failed(rz_req_t *req, rz_dbres_t *res, const char *what)
{
    int st = H->dbres_status(res);
    if (st == RZ_OK)
        return 0;
    if (st == RZ_EUNAVAIL) {
        H->resp_header(req, "Retry-After", "1");
        H->reply_error(req, 503, "unavailable", NULL, "the database is unavailable; retry later");
        return 1;
    }
    H->log(nt_g.self, RZ_LOG_ERROR, "%s failed: %s (%s)", what, H->dbres_message(res),
           H->dbres_sqlstate(res) ? H->dbres_sqlstate(res) : "?");
    H->reply_error(req, 500, "internal", NULL, "%s failed", what);
    return 1;
}

void nt_call_failed(rz_req_t *req, int rc, const char *what)
{
    if (rc == RZ_EUNAVAIL || rc == RZ_ESTATE || rc == RZ_ENOMEM) {
        H->resp_header(req, "Retry-After", "1");
        H->reply_error(req, 503, "unavailable", NULL, "%s is unavailable; retry later", what);
    } else {
        H->reply_error(req, 500, "internal", NULL, "%s failed (error %d)", what, rc);
    }
}

void nt_reply_text(rz_req_t *req, int status, const char *json)
{
    H->reply(req, status, "application/json", json, strlen(json));
}

int nt_is_uuid(const char *s)
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

void nt_ms_text(int64_t ms, char out[24])
{
    snprintf(out, 24, "%lld", (long long)ms);
}

static int digits(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

int nt_page(rz_req_t *req, char limit[8], const char **cursor)
{
    const char *l = H->req_query(req, "limit");
    const char *c = H->req_query(req, "cursor");
    long n = 20;
    if (l) {
        n = digits(l, 3) ? strtol(l, NULL, 10) : 0;
        if (n < 1 || n > 100) {
            H->reply_error(req, 400, "invalid", "limit", "limit must be 1 to 100");
            return -1;
        }
    }
    if (c && !digits(c, 18)) {
        H->reply_error(req, 400, "invalid", "cursor", "cursor is not one this API gave out");
        return -1;
    }
    snprintf(limit, 8, "%ld", n);
    *cursor = c;
    return 0;
}
