/*
 * api.c — GET /v1/search, /v1/search/suggest and /v1/search/stats.  Input
 * is validated by the core (params.c) before the index sees it; every
 * refusal is a 400 naming the parameter.
 *
 * Unknown parameters are refused from the raw query string
 * (req_query_string), so a misspelt filter is a 400, not a silent no-op.
 */
#include "search.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static const char *get(void *req, const char *name) { return H->req_query(req, name); }

static int ready(rz_req_t *req)
{
    if (search_g.b)
        return 1;
    H->resp_header(req, "Retry-After", "1");
    H->reply_error(req, 503, "unavailable", NULL, "the search index is not loaded in this worker");
    return 0;
}

void h_search(rz_req_t *req, void *udata)
{
    (void)udata;
    double t0 = mono_ms();
    sx_query_t *q = H->req_alloc(req, sizeof(*q)); /* 3 KB: not on the loop's stack */
    const char *field = NULL;
    char msg[200];
    if (!q) {
        H->reply_error(req, 503, "unavailable", NULL, "out of memory");
        return;
    }
    const char *unknown = sx_params_unknown(H->req_query_string(req), sx_search_params);
    if (unknown) {
        H->reply_error(req, 400, "unknown_parameter", unknown, "unknown parameter '%s'", unknown);
        return;
    }
    if (sx_params_parse(q, get, req, &field, msg, sizeof(msg)) < 0) {
        H->reply_error(req, 400, strcmp(field, "q") == 0 && strstr(msg, "at most") ? "too_long"
                                                                                      : "invalid",
                       field, "%s", msg);
        return;
    }
    if (!ready(req))
        return;
    cJSON *out = search_g.be->search(search_g.b, q);
    if (!out) {
        H->reply_error(req, 503, "unavailable", NULL, "out of memory");
        return;
    }
    cJSON_AddNumberToObject(out, "took_ms", (double)(int64_t)((mono_ms() - t0) * 1000) / 1000);
    H->reply_json(req, 200, out);
}

void h_suggest(rz_req_t *req, void *udata)
{
    (void)udata;
    static const char *const known[] = {"q", "limit", NULL};
    const char *unknown = sx_params_unknown(H->req_query_string(req), known);
    if (unknown) {
        H->reply_error(req, 400, "unknown_parameter", unknown, "unknown parameter '%s'", unknown);
        return;
    }
    const char *q = H->req_query(req, "q"), *lim = H->req_query(req, "limit");
    int limit = 8;
    if (!q || !*q) {
        H->reply_error(req, 400, "missing", "q", "q is required: the text typed so far");
        return;
    }
    if (strlen(q) > 100) {
        H->reply_error(req, 400, "too_long", "q", "q is at most 100 bytes");
        return;
    }
    if (lim) {
        char *end;
        long v = strtol(lim, &end, 10);
        if (*end || end == lim || v < 1 || v > 20 || lim[0] == '+' || lim[0] == '-') {
            H->reply_error(req, 400, "invalid", "limit", "limit is an integer from 1 to 20");
            return;
        }
        limit = (int)v;
    }
    if (!ready(req))
        return;
    double t0 = mono_ms();
    cJSON *out = search_g.be->suggest(search_g.b, q, limit);
    if (!out) {
        H->reply_error(req, 503, "unavailable", NULL, "out of memory");
        return;
    }
    cJSON_AddNumberToObject(out, "took_ms", (double)(int64_t)((mono_ms() - t0) * 1000) / 1000);
    H->reply_json(req, 200, out);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

void h_stats(rz_req_t *req, void *udata)
{
    (void)udata;
    if (!ready(req))
        return;
    cJSON *out = search_g.be->stats(search_g.b);
    if (!out) {
        H->reply_error(req, 503, "unavailable", NULL, "out of memory");
        return;
    }
    search_t *g = &search_g;
    cJSON *ev = cJSON_AddObjectToObject(out, "events");
    if (ev) {
        cJSON_AddBoolToObject(ev, "subscribed", g->bus);
        cJSON_AddNumberToObject(ev, "applied", (double)g->applied);
        cJSON_AddNumberToObject(ev, "stale", (double)g->stale);
        cJSON_AddNumberToObject(ev, "rejected", (double)g->rejected);
        uint32_t n = g->nlag < FRESH_RING ? g->nlag : FRESH_RING;
        int64_t lags[FRESH_RING];
        memcpy(lags, g->lag, n * sizeof(lags[0]));
        qsort(lags, n, sizeof(lags[0]), cmp_i64);
        cJSON *fr = cJSON_AddObjectToObject(ev, "freshness_ms");
        if (fr) {
            cJSON_AddNumberToObject(fr, "samples", n);
            cJSON_AddNumberToObject(fr, "p50", n ? (double)lags[n / 2] : 0);
            cJSON_AddNumberToObject(fr, "p99", n ? (double)lags[(n * 99) / 100] : 0);
            cJSON_AddNumberToObject(fr, "max", n ? (double)lags[n - 1] : 0);
            /* the newest sample: after a replay, the one that says "live" */
            cJSON_AddNumberToObject(fr, "last", n ? (double)g->lag[(g->nlag - 1) % FRESH_RING] : 0);
        }
        /* The bus gives no "caught up" signal: the best available sign is that
         * the last event applied was recent when it was applied. */
        int64_t last_lag = n ? g->lag[(g->nlag - 1) % FRESH_RING] : 0;
        cJSON_AddBoolToObject(ev, "caught_up", g->bus && (n == 0 || last_lag < 1000));
        cJSON_AddBoolToObject(ev, "ready", g->ready || !g->timer); /* what /readyz says of us */
        if (g->last_event_ms)
            cJSON_AddNumberToObject(ev, "last_event_ms", (double)g->last_event_ms);
    }
    H->reply_json(req, 200, out);
}
