/*
 * rzu_page.c — the lists' pages (docs/api-conventions.md): ?limit= (20 by
 * default, 1 to 100) and ?cursor=, the opaque "next_cursor" of the page
 * before, which is "<microseconds>.<id>" of that page's last item, as in
 * booking's lists.  The queries return (document, cursor) rows ordered by
 * the list's key and at most limit + 1 of them: a row beyond the limit
 * means there is a next page.
 */
#include "rzu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int rzu_page_args(rz_req_t *req, rzu_page_t *pg)
{
    const char *limit = rzu_host->req_query(req, "limit"), *c = rzu_host->req_query(req, "cursor");
    memset(pg, 0, sizeof(*pg));
    pg->lim = 20;
    if (limit) {
        char *end;
        long l = strtol(limit, &end, 10);
        if (end == limit || *end || l < 1 || l > 100) {
            rzu_host->reply_error(req, 400, "invalid", "limit", "limit must be from 1 to 100");
            return -1;
        }
        pg->lim = (int)l;
    }
    snprintf(pg->limit, sizeof(pg->limit), "%d", pg->lim);
    if (!c)
        return 0;
    const char *dot = strchr(c, '.');
    size_t n = dot ? (size_t)(dot - c) : 0;
    int ok = dot && n > 0 && n < sizeof(pg->cur_us) && rzu_is_uuid(dot + 1);
    for (size_t i = 0; ok && i < n; i++)
        ok = c[i] >= '0' && c[i] <= '9';
    if (!ok) {
        rzu_host->reply_error(req, 400, "invalid", "cursor", "cursor is not one this API gave out");
        return -1;
    }
    memcpy(pg->cur_us, c, n);
    memcpy(pg->cur_id, dot + 1, UUID_LEN + 1);
    pg->has_cursor = 1;
    return 0;
}

void rzu_page_reply(rz_req_t *req, rz_dbres_t *res, const rzu_page_t *pg)
{
    int rows = rzu_host->dbres_rows(res), n = rows > pg->lim ? pg->lim : rows;
    size_t len = 64 + (rows > pg->lim ? strlen(rzu_host->dbres_value(res, n - 1, 1)) : 0);
    for (int i = 0; i < n; i++)
        len += strlen(rzu_host->dbres_value(res, i, 0)) + 1;
    char *out = rzu_host->req_alloc(req, len), *w = out;
    if (!out) {
        rzu_call_failed(req, RZ_ENOMEM, "memory");
        return;
    }
    /* the documents are JSON already: splice them, no re-parsing */
    w += sprintf(w, "{\"items\":[");
    for (int i = 0; i < n; i++)
        w += sprintf(w, "%s%s", i ? "," : "", rzu_host->dbres_value(res, i, 0));
    if (rows > pg->lim)
        sprintf(w, "],\"next_cursor\":\"%s\"}", rzu_host->dbres_value(res, n - 1, 1));
    else
        sprintf(w, "],\"next_cursor\":null}");
    rzu_reply_text(req, 200, out);
}
