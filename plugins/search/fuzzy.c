/*
 * fuzzy.c — typo tolerance over the term dictionary, by deletion
 * neighbourhoods (SymSpell).  If two words are within k edits, deleting at
 * most k letters from each reaches a common string (a substitution is one
 * deletion on each side, a transposition of neighbours too).  So each term is
 * filed under the hashes of its deletion variants once, when it first
 * appears, and a query word probes the hashes of its own variants: a few
 * dozen lookups instead of a scan of the dictionary, then the real distance
 * confirms each candidate.
 *
 * What is filed: ASCII terms (after folding nearly every Latin word is) of 4+
 * bytes with their 1-deletion variants, and with their 2-deletion variants
 * too from 7 bytes — a 9-letter query allowed 2 typos cannot match anything
 * shorter — up to 20 bytes, past which variants explode and words are rare.
 */
#include "sx.h"

#include <string.h>

#define FUZZY_MIN 4
#define FUZZY_TWO_MIN 7
#define FUZZY_TWO_MAX 20

int sx_typos_allowed(size_t len) { return len >= 9 ? 2 : len >= 5 ? 1 : 0; }

static int is_ascii(const char *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)t[i] >= 0x80)
            return 0;
    return 1;
}

static int mm_put(sx_fuzzy_t *f, uint64_t h, uint32_t id)
{
    if ((f->n + 1) * 2 > f->cap) { /* at most half full: probes stay short */
        uint32_t nc = f->cap ? f->cap * 2 : 1024;
        uint64_t *nh = sx_calloc(nc, sizeof(*nh));
        uint32_t *ni = sx_malloc((size_t)nc * sizeof(*ni));
        if (!nh || !ni) {
            sx_free(nh);
            sx_free(ni);
            return SX_ENOMEM;
        }
        for (uint32_t j = 0; j < f->cap; j++) {
            if (!f->h[j])
                continue;
            uint32_t i = (uint32_t)f->h[j] & (nc - 1);
            while (nh[i])
                i = (i + 1) & (nc - 1);
            nh[i] = f->h[j];
            ni[i] = f->id[j];
        }
        sx_free(f->h);
        sx_free(f->id);
        f->h = nh;
        f->id = ni;
        f->cap = nc;
    }
    uint32_t i = (uint32_t)h & (f->cap - 1);
    while (f->h[i])
        i = (i + 1) & (f->cap - 1);
    f->h[i] = h;
    f->id[i] = id;
    f->n++;
    return 0;
}

/* Calls put(variant) for w and its deletion variants up to depth. */
typedef int (*variant_fn)(const char *v, size_t n, void *u);
static int variants(const char *w, size_t n, int depth, variant_fn fn, void *u)
{
    char buf[SX_TOKEN_MAX];
    int rc;
    if ((rc = fn(w, n, u)) != 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && w[i] == w[i - 1])
            continue; /* deleting either of "ll" gives the same string */
        memcpy(buf, w, i);
        memcpy(buf + i, w + i + 1, n - i - 1);
        if ((rc = fn(buf, n - 1, u)) != 0)
            return rc;
        if (depth < 2)
            continue;
        char buf2[SX_TOKEN_MAX];
        for (size_t j = i; j < n - 1; j++) {
            if (j > i && buf[j] == buf[j - 1])
                continue;
            memcpy(buf2, buf, j);
            memcpy(buf2 + j, buf + j + 1, n - 2 - j);
            if ((rc = fn(buf2, n - 2, u)) != 0)
                return rc;
        }
    }
    return 0;
}

typedef struct fuzzadd {
    sx_fuzzy_t *f;
    uint32_t id;
} fuzzadd_t;

static int add_variant(const char *v, size_t n, void *u)
{
    fuzzadd_t *a = u;
    return mm_put(a->f, sx_hash(v, n), a->id);
}

int sx_fuzzy_add(sx_fuzzy_t *f, const char *t, size_t n, uint32_t id)
{
    if (n < FUZZY_MIN || n > SX_TOKEN_MAX || !is_ascii(t, n))
        return 0;
    fuzzadd_t a = {f, id};
    int depth = n >= FUZZY_TWO_MIN && n <= FUZZY_TWO_MAX ? 2 : 1;
    return variants(t, n, depth, add_variant, &a);
}

int sx_osa(const char *a, size_t na, const char *b, size_t nb, int max)
{
    int rows[3][SX_TOKEN_MAX + 2];
    if (na > SX_TOKEN_MAX || nb > SX_TOKEN_MAX)
        return max + 1;
    if ((na > nb ? na - nb : nb - na) > (size_t)max)
        return max + 1;
    int *pp = rows[0], *p = rows[1], *c = rows[2];
    for (size_t j = 0; j <= nb; j++)
        p[j] = (int)j;
    for (size_t i = 1; i <= na; i++) {
        c[0] = (int)i;
        int best = c[0];
        for (size_t j = 1; j <= nb; j++) {
            int cost = a[i - 1] != b[j - 1];
            int v = p[j] + 1;
            if (c[j - 1] + 1 < v)
                v = c[j - 1] + 1;
            if (p[j - 1] + cost < v)
                v = p[j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && pp[j - 2] + 1 < v)
                v = pp[j - 2] + 1;
            c[j] = v;
            if (v < best)
                best = v;
        }
        if (best > max)
            return max + 1; /* every path is already too long */
        int *t = pp;
        pp = p;
        p = c;
        c = t;
    }
    return p[nb] <= max ? p[nb] : max + 1;
}

typedef struct findctx {
    const sx_fuzzy_t *f;
    const sx_termdict_t *d;
    const char *w;
    size_t n;
    int max;
    sx_fuzzy_fn fn;
    void *u;
    uint32_t seen[256];
    int nseen;
} findctx_t;

static int probe(const char *v, size_t n, void *u)
{
    findctx_t *c = u;
    const sx_fuzzy_t *f = c->f;
    uint64_t h = sx_hash(v, n);
    for (uint32_t i = (uint32_t)h & (f->cap - 1); f->h[i]; i = (i + 1) & (f->cap - 1)) {
        if (f->h[i] != h)
            continue;
        uint32_t id = f->id[i];
        int dup = 0;
        for (int k = 0; k < c->nseen && !dup; k++)
            dup = c->seen[k] == id;
        if (dup)
            continue;
        if (c->nseen < (int)(sizeof(c->seen) / sizeof(c->seen[0])))
            c->seen[c->nseen++] = id;
        int dist = sx_osa(c->w, c->n, sx_term_str(c->d, id), c->d->len[id], c->max);
        if (dist <= c->max)
            c->fn(id, dist, c->u);
    }
    return 0;
}

int sx_fuzzy_find(const sx_fuzzy_t *f, const sx_termdict_t *d, const char *w, size_t n, int max,
                  sx_fuzzy_fn fn, void *udata)
{
    if (!f->cap || max <= 0 || n > SX_TOKEN_MAX || !is_ascii(w, n))
        return 0;
    findctx_t c = {.f = f, .d = d, .w = w, .n = n, .max = max, .fn = fn, .u = udata};
    return variants(w, n, max, probe, &c);
}

void sx_fuzzy_free(sx_fuzzy_t *f)
{
    sx_free(f->h);
    sx_free(f->id);
    memset(f, 0, sizeof(*f));
}
