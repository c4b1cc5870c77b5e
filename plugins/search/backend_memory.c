/*
 * backend_memory.c — the `memory` backend: the core index (sx.h) in this
 * worker's memory, answering with JSON.  One index and one searcher per
 * worker; everything runs on the loop thread.
 */
#include "search.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct mem {
    sx_index_t *ix;
    sx_searcher_t *s;
    sx_result_t *r;     /* one result buffer: the loop runs one query at a time */
    int dirty;          /* written since the last prepare */
} mem_t;

static void *m_open(void)
{
    mem_t *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->ix = sx_index_new();
    m->s = sx_searcher_new();
    m->r = sx_malloc(sizeof(*m->r));
    if (!m->ix || !m->s || !m->r) {
        sx_index_free(m->ix);
        sx_searcher_free(m->s);
        sx_free(m->r);
        free(m);
        return NULL;
    }
    return m;
}

static void m_close(void *b)
{
    mem_t *m = b;
    if (!m)
        return;
    sx_index_free(m->ix);
    sx_searcher_free(m->s);
    sx_free(m->r);
    free(m);
}

/* Compact when tombstones outnumber live docs: a put costs O(1) amortised. */
static void maybe_compact(mem_t *m)
{
    if (m->ix->ndocs > 1024 && m->ix->ndocs > 2 * m->ix->nlive)
        sx_index_compact(m->ix); /* on failure the index is as it was */
}

static int m_put(void *b, const sx_listing_in_t *in)
{
    mem_t *m = b;
    int rc = sx_index_put(m->ix, in);
    m->dirty = 1;
    maybe_compact(m);
    return rc;
}

static int m_remove(void *b, const char *id, int64_t version)
{
    mem_t *m = b;
    int rc = sx_index_remove(m->ix, id, version);
    maybe_compact(m);
    return rc;
}

static int m_booking(void *b, const char *bid, const char *lid, int64_t version, int active,
                     int32_t ci, int32_t co)
{
    return sx_index_booking(((mem_t *)b)->ix, bid, lid, version, active, ci, co);
}

static int prepare(mem_t *m)
{
    if (m->dirty && sx_index_prepare(m->ix) < 0)
        return -1;
    m->dirty = 0;
    return 0;
}

static cJSON *money(int64_t amount, const char *cur)
{
    if (amount <= 0)
        return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "amount", (double)amount);
    cJSON_AddStringToObject(o, "currency", cur);
    return o;
}

static cJSON *hit_json(const sx_index_t *ix, const sx_result_t *r, const sx_hit_t *h, int text)
{
    uint32_t d = h->doc;
    const sx_listing_t *l = &ix->l[ix->listing[d]];
    const sx_drow_t *row = &ix->row[d];
    char snip[1024];
    cJSON *o = cJSON_CreateObject(), *a;
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "id", sx_lstr(l, SX_L_ID));
    cJSON_AddStringToObject(o, "title", sx_lstr(l, SX_L_TITLE));
    if (text) {
        sx_snippet(ix, r, sx_lstr(l, SX_L_TITLE), 400, snip, sizeof(snip));
        cJSON_AddStringToObject(o, "title_highlight", snip);
        sx_snippet(ix, r, sx_lstr(l, SX_L_DESC), 200, snip, sizeof(snip));
        cJSON_AddStringToObject(o, "snippet", snip);
    }
    if (row->type != 255)
        cJSON_AddStringToObject(o, "property_type", sx_type_names[row->type]);
    else
        cJSON_AddNullToObject(o, "property_type");
    cJSON_AddStringToObject(o, "city", sx_lstr(l, SX_L_CITY));
    cJSON_AddStringToObject(o, "neighbourhood", sx_lstr(l, SX_L_HOOD));
    cJSON_AddStringToObject(o, "country", sx_lstr(l, SX_L_COUNTRY));
    cJSON *loc = cJSON_AddObjectToObject(o, "location");
    if (loc) {
        cJSON_AddNumberToObject(loc, "lat", row->lat6 / 1e6);
        cJSON_AddNumberToObject(loc, "lon", row->lon6 / 1e6);
    }
    if (row->bedrooms != 255)
        cJSON_AddNumberToObject(o, "bedrooms", row->bedrooms);
    if (row->bath2 != 255)
        cJSON_AddNumberToObject(o, "bathrooms", row->bath2 / 2.0);
    if (row->guests != 255)
        cJSON_AddNumberToObject(o, "max_guests", row->guests);
    cJSON_AddItemToObject(o, "nightly_price", money(ix->nightly[d], sx_lstr(l, SX_L_NCUR)));
    cJSON_AddItemToObject(o, "monthly_rent", money(ix->monthly[d], sx_lstr(l, SX_L_MCUR)));
    cJSON_AddBoolToObject(o, "instant_book", (row->flags & SX_DOC_INSTANT) != 0);
    if ((a = cJSON_AddArrayToObject(o, "amenities")))
        for (uint32_t m = row->amen; m; m &= m - 1)
            cJSON_AddItemToArray(a, cJSON_CreateString(sx_amenity_names[__builtin_ctz(m)]));
    if (text)
        cJSON_AddNumberToObject(o, "score", (double)(int64_t)(h->score * 1000) / 1000);
    if (h->distance_km >= 0)
        cJSON_AddNumberToObject(o, "distance_km", (double)(int64_t)(h->distance_km * 1000) / 1000);
    return o;
}

static cJSON *facets_json(const sx_query_t *q, const sx_result_t *r)
{
    cJSON *f = cJSON_CreateObject(), *o;
    if (!f)
        return NULL;
    if ((q->facets & SX_FACET_TYPE) && (o = cJSON_AddObjectToObject(f, "type")))
        for (int t = 0; t < SX_NTYPES; t++)
            if (r->f_type[t])
                cJSON_AddNumberToObject(o, sx_type_names[t], r->f_type[t]);
    if ((q->facets & SX_FACET_BEDROOMS) && (o = cJSON_AddObjectToObject(f, "bedrooms"))) {
        static const char *const k[6] = {"0", "1", "2", "3", "4", "5+"};
        for (int b = 0; b < 6; b++)
            cJSON_AddNumberToObject(o, k[b], r->f_bedrooms[b]);
    }
    if ((q->facets & SX_FACET_AMENITIES) && (o = cJSON_AddObjectToObject(f, "amenities")))
        for (int a = 0; a < SX_NAMENITIES; a++)
            if (r->f_amen[a])
                cJSON_AddNumberToObject(o, sx_amenity_names[a], r->f_amen[a]);
    if ((q->facets & SX_FACET_PRICE) && (o = cJSON_AddArrayToObject(f, "price"))) {
        for (int b = 0; b < SX_PRICE_BUCKETS; b++) {
            if (!r->f_price[b])
                continue;
            cJSON *x = cJSON_CreateObject();
            cJSON_AddNumberToObject(x, "min", (double)sx_price_bucket_min(b));
            if (b + 1 < SX_PRICE_BUCKETS)
                cJSON_AddNumberToObject(x, "max", (double)sx_price_bucket_min(b + 1));
            cJSON_AddNumberToObject(x, "count", r->f_price[b]);
            cJSON_AddItemToArray(o, x);
        }
    }
    return f;
}

static cJSON *m_search(void *b, const sx_query_t *q)
{
    mem_t *m = b;
    sx_result_t *r = m->r;
    if (prepare(m) < 0 || sx_search(m->ix, m->s, q, r) < 0)
        return NULL;
    cJSON *out = cJSON_CreateObject(), *items;
    if (!out || !(items = cJSON_AddArrayToObject(out, "items")))
        goto fail;
    for (int i = 0; i < r->nhits; i++) {
        cJSON *h = hit_json(m->ix, r, &r->hits[i], q->q[0] != '\0');
        if (!h)
            goto fail;
        cJSON_AddItemToArray(items, h);
    }
    if (r->has_next) {
        char cur[40];
        sx_cursor_encode(&r->next, cur, sizeof(cur));
        cJSON_AddStringToObject(out, "next_cursor", cur);
    } else {
        cJSON_AddNullToObject(out, "next_cursor");
    }
    cJSON_AddNumberToObject(out, "total", (double)r->total);
    if (q->facets)
        cJSON_AddItemToObject(out, "facets", facets_json(q, r));
    return out;
fail:
    cJSON_Delete(out);
    return NULL;
}

static cJSON *m_suggest(void *b, const char *q, int limit)
{
    mem_t *m = b;
    sx_suggestion_t sug[20];
    if (limit > 20)
        limit = 20;
    if (prepare(m) < 0)
        return NULL;
    int n = sx_suggest(m->ix, m->s, q, sug, limit);
    if (n < 0)
        return NULL;
    cJSON *out = cJSON_CreateObject(), *items = cJSON_AddArrayToObject(out, "items");
    if (!items) {
        cJSON_Delete(out);
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "text", sug[i].text);
        cJSON_AddStringToObject(o, "kind", sug[i].kind);
        if (sug[i].doc != SX_NONE)
            cJSON_AddStringToObject(o, "id", sx_lstr(&m->ix->l[m->ix->listing[sug[i].doc]], SX_L_ID));
        else
            cJSON_AddNumberToObject(o, "listings", sug[i].count);
        cJSON_AddItemToArray(items, o);
    }
    return out;
}

static cJSON *m_stats(void *b)
{
    mem_t *m = b;
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "backend", "memory");
    cJSON_AddNumberToObject(o, "listings_indexed", m->ix->nlive);
    cJSON_AddNumberToObject(o, "listings_known", m->ix->nl);
    cJSON_AddNumberToObject(o, "docs", m->ix->ndocs);
    cJSON_AddNumberToObject(o, "terms", m->ix->terms.n);
    cJSON_AddNumberToObject(o, "bookings", m->ix->nb);
    cJSON_AddNumberToObject(o, "memory_bytes", (double)sx_mem_used());
    return o;
}

static void m_figures(void *b, uint64_t *listings, uint64_t *bytes)
{
    mem_t *m = b;
    *listings = m->ix->nlive;
    *bytes = sx_mem_used();
}

const search_backend_t search_backend_memory = {
    .name = "memory",
    .open = m_open,
    .close = m_close,
    .put = m_put,
    .remove = m_remove,
    .booking = m_booking,
    .search = m_search,
    .suggest = m_suggest,
    .stats = m_stats,
    .figures = m_figures,
};
