/*
 * termdict.c — the term dictionary: term bytes <-> dense term ids.  The
 * bytes sit back to back in one growing buffer (no allocation per term),
 * the hash map finds an id, and a sorted array of ids, rebuilt only when new
 * terms arrived (sx_termdict_sort), answers prefix ranges for
 * search-as-you-type.
 */
#include "sx.h"

#include <stdlib.h>
#include <string.h>

static int term_eq(const void *ctx, uint32_t id, const void *key, size_t len)
{
    const sx_termdict_t *d = ctx;
    return d->len[id] == len && memcmp(d->chars + d->off[id], key, len) == 0;
}

uint32_t sx_term_find(const sx_termdict_t *d, const char *t, size_t n)
{
    return sx_hmap_get(&d->map, sx_hash(t, n), term_eq, d, t, n);
}

uint32_t sx_term_intern(sx_termdict_t *d, const char *t, size_t n, int *added)
{
    uint64_t h = sx_hash(t, n);
    uint32_t id = sx_hmap_get(&d->map, h, term_eq, d, t, n);
    *added = 0;
    if (id != SX_NONE)
        return id;
    if (n > SX_TOKEN_MAX)
        n = SX_TOKEN_MAX;
    if (sx_grow(&d->chars, &d->charcap, d->nchars + (uint32_t)n + 1, 1) < 0)
        return SX_NONE;
    if (d->n == d->cap) {
        uint32_t c1 = d->cap, c2 = d->cap, c3 = d->cap;
        if (sx_grow(&d->off, &c1, d->n + 1, sizeof(*d->off)) < 0 ||
            sx_grow(&d->len, &c2, d->n + 1, sizeof(*d->len)) < 0 ||
            sx_grow(&d->post, &c3, d->n + 1, sizeof(*d->post)) < 0)
            return SX_NONE;
        /* the three grew alike unless one failed; keep the smallest */
        d->cap = c1 < c2 ? (c1 < c3 ? c1 : c3) : (c2 < c3 ? c2 : c3);
    }
    id = d->n;
    if (sx_hmap_put(&d->map, h, id) < 0)
        return SX_NONE;
    memcpy(d->chars + d->nchars, t, n);
    d->chars[d->nchars + n] = '\0';
    d->off[id] = d->nchars;
    d->len[id] = (uint16_t)n;
    memset(&d->post[id], 0, sizeof(d->post[id]));
    d->nchars += (uint32_t)n + 1;
    d->n++;
    d->dirty = 1;
    *added = 1;
    return id;
}

static const sx_termdict_t *sort_dict; /* qsort has no context argument */

static int cmp_terms(const void *a, const void *b)
{
    const sx_termdict_t *d = sort_dict;
    return strcmp(d->chars + d->off[*(const uint32_t *)a], d->chars + d->off[*(const uint32_t *)b]);
}

int sx_termdict_sort(sx_termdict_t *d)
{
    if (!d->dirty)
        return 0;
    uint32_t *s = sx_realloc(d->sorted, (size_t)(d->n ? d->n : 1) * sizeof(*s));
    if (!s)
        return SX_ENOMEM;
    for (uint32_t i = 0; i < d->n; i++)
        s[i] = i;
    sort_dict = d;
    qsort(s, d->n, sizeof(*s), cmp_terms);
    sort_dict = NULL;
    d->sorted = s;
    d->nsorted = d->n;
    d->dirty = 0;
    return 0;
}

void sx_term_prefix_range(const sx_termdict_t *d, const char *p, size_t n, uint32_t *lo,
                          uint32_t *hi)
{
    uint32_t a = 0, b = d->nsorted;
    while (a < b) { /* first term >= p */
        uint32_t m = a + (b - a) / 2;
        if (strncmp(d->chars + d->off[d->sorted[m]], p, n) < 0)
            a = m + 1;
        else
            b = m;
    }
    *lo = a;
    b = d->nsorted;
    while (a < b) { /* first term not starting with p */
        uint32_t m = a + (b - a) / 2;
        if (strncmp(d->chars + d->off[d->sorted[m]], p, n) <= 0)
            a = m + 1;
        else
            b = m;
    }
    *hi = a;
}

void sx_termdict_free(sx_termdict_t *d)
{
    for (uint32_t i = 0; i < d->n; i++)
        sx_postings_free(&d->post[i]);
    sx_free(d->chars);
    sx_free(d->off);
    sx_free(d->len);
    sx_free(d->post);
    sx_free(d->sorted);
    sx_hmap_free(&d->map);
    memset(d, 0, sizeof(*d));
}
