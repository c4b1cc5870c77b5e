/*
 * gen.c — the benchmark's data and queries, both drawn from the real
 * listings so text and geo statistics stay realistic (data/README.md):
 *
 * listings: a real row chosen at random gives the structure (type, rooms,
 *   amenities, price +-20%); its title and description keep their length but
 *   a quarter of their words are swapped for words of other listings of the
 *   same city; the position is another real listing's of that city moved by a
 *   Gaussian of 300 m, so density follows the real city.  30% have 1-3
 *   bookings and 5% a blackout in the 120 days from GEN_TODAY.
 *
 * queries: what people type into a rental site — 1-2 words from real titles
 *   and places (30% with a typo, 20% still being typed), 80% with a map
 *   circle, viewport or polygon around a real listing and the others naming a
 *   place (a search always has a destination), a few filters, dates for a
 *   quarter, facets for 40%, and the sorts a UI offers.
 *
 * A splitmix64 stream per item makes item i the same in every run and size.
 */
#include "gen.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct word {
    const char *s;
    uint32_t n;
} word_t;

typedef struct city {
    const char *name;
    uint32_t *rows; /* indexes into set */
    uint32_t nrows;
    word_t *tw, *dw; /* title and description words */
    uint32_t ntw, ndw, captw, capdw;
} city_t;

struct gen {
    const csv_set_t *set;
    uint64_t seed;
    city_t city[8];
    int ncity;
    uint32_t *city_of; /* row -> city */
    char title[1024], desc[8192], id[32];
    char amen_buf[SX_NAMENITIES][24];
};

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

typedef struct rng {
    uint64_t s;
} rng_t;
static uint64_t next(rng_t *r) { return mix(r->s++); }
static double unif(rng_t *r) { return (double)(next(r) >> 11) / 9007199254740992.0; }
static uint32_t below(rng_t *r, uint32_t n) { return n ? (uint32_t)(next(r) % n) : 0; }
static double gauss(rng_t *r)
{
    double u = unif(r) + 1e-12, v = unif(r);
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

static void add_words(word_t **w, uint32_t *n, uint32_t *cap, const char *s)
{
    const char *p = s;
    while (*p) {
        while (*p == ' ' || *p == '\n')
            p++;
        const char *b = p;
        while (*p && *p != ' ' && *p != '\n')
            p++;
        if (p > b) {
            if (*n == *cap) {
                *cap = *cap ? *cap * 2 : 4096;
                *w = realloc(*w, *cap * sizeof(**w));
            }
            (*w)[(*n)++] = (word_t){b, (uint32_t)(p - b)};
        }
    }
}

gen_t *gen_new(const csv_set_t *set, uint64_t seed)
{
    gen_t *g = calloc(1, sizeof(*g));
    g->set = set;
    g->seed = seed;
    g->city_of = malloc(set->n * sizeof(*g->city_of));
    for (size_t i = 0; i < set->n; i++) {
        const char *name = set->rows[i].f[CSV_CITY];
        int c = 0;
        while (c < g->ncity && strcmp(g->city[c].name, name) != 0)
            c++;
        if (c == g->ncity) {
            if (g->ncity == 8)
                c = 7;
            else
                g->city[g->ncity++].name = name;
        }
        city_t *ct = &g->city[c];
        g->city_of[i] = (uint32_t)c;
        ct->rows = realloc(ct->rows, (ct->nrows + 1) * sizeof(*ct->rows));
        ct->rows[ct->nrows++] = (uint32_t)i;
        add_words(&ct->tw, &ct->ntw, &ct->captw, set->rows[i].f[CSV_TITLE]);
        add_words(&ct->dw, &ct->ndw, &ct->capdw, set->rows[i].f[CSV_DESC]);
    }
    return g;
}

void gen_free(gen_t *g)
{
    for (int c = 0; c < g->ncity; c++) {
        free(g->city[c].rows);
        free(g->city[c].tw);
        free(g->city[c].dw);
    }
    free(g->city_of);
    free(g);
}

/* Copy s into out, swapping each word for a pool word with probability p. */
static void remix(rng_t *r, const char *s, const word_t *pool, uint32_t npool, double p, char *out,
                  size_t cap)
{
    size_t o = 0;
    const char *q = s;
    while (*q && o + 1 < cap) {
        if (*q == ' ' || *q == '\n') {
            out[o++] = *q++;
            continue;
        }
        const char *b = q;
        while (*q && *q != ' ' && *q != '\n')
            q++;
        const char *w = b;
        size_t n = (size_t)(q - b);
        if (npool && unif(r) < p) {
            const word_t *x = &pool[below(r, npool)];
            w = x->s, n = x->n;
        }
        if (o + n + 1 >= cap)
            break;
        memcpy(out + o, w, n);
        o += n;
    }
    out[o] = '\0';
}

void gen_listing(gen_t *g, uint64_t i, gen_listing_t *out)
{
    rng_t r = {mix(g->seed ^ (i * 0x632be59bd9b4e019ull))};
    const csv_set_t *set = g->set;
    uint32_t row = below(&r, (uint32_t)set->n);
    const csv_row_t *base = &set->rows[row];
    city_t *ct = &g->city[g->city_of[row]];
    const csv_row_t *pos = &set->rows[ct->rows[below(&r, ct->nrows)]];
    csv_to_listing(base, &out->in);
    snprintf(g->id, sizeof(g->id), "g%09llu", (unsigned long long)i);
    out->in.id = g->id;
    remix(&r, base->f[CSV_TITLE], ct->tw, ct->ntw, 0.25, g->title, sizeof(g->title));
    remix(&r, base->f[CSV_DESC], ct->dw, ct->ndw, 0.25, g->desc, sizeof(g->desc));
    out->in.title = g->title;
    out->in.description = g->desc;
    out->in.neighbourhood = pos->f[CSV_HOOD];
    double m = 0.3 / 111.19; /* 300 m in degrees of latitude */
    out->in.lat = pos->lat + gauss(&r) * m;
    out->in.lon = pos->lon + gauss(&r) * m / cos(pos->lat * M_PI / 180);
    out->in.nightly = (int64_t)(base->price * (0.8 + 0.4 * unif(&r)));
    if (out->in.nightly < 100)
        out->in.nightly = 100;
    out->in.monthly = unif(&r) < 0.3 ? out->in.nightly * 22 : 0;
    out->in.monthly_cur = out->in.monthly ? out->in.nightly_cur : NULL;
    out->in.instant_book = unif(&r) < 0.4;
    out->in.listed_at = (int64_t)i;
    out->nb = unif(&r) < 0.3 ? 1 + (int)below(&r, 3) : 0;
    for (int k = 0; k < out->nb; k++) {
        snprintf(out->b[k].id, sizeof(out->b[k].id), "b%09llu-%d", (unsigned long long)i, k);
        out->b[k].start = GEN_TODAY + (int32_t)below(&r, 120);
        out->b[k].end = out->b[k].start + 2 + (int32_t)below(&r, 9);
    }
    out->in.nblocks = 0;
    if (unif(&r) < 0.05) {
        out->block.start = GEN_TODAY + (int32_t)below(&r, 120);
        out->block.end = out->block.start + 7 + (int32_t)below(&r, 24);
        out->block.src = SX_SRC_BLOCK;
        out->in.blocks = &out->block;
        out->in.nblocks = 1;
    }
    out->ncodes = 0;
    uint32_t mask = 0;
    for (int k = 0; k < base->namen; k++) {
        int c = sx_amenity_code(base->amen[k]);
        if (c >= 0 && !(mask & (1u << c))) {
            mask |= 1u << c;
            out->amenity_codes[out->ncodes++] = sx_amenity_names[c];
        }
    }
}

/* ---- queries ------------------------------------------------------------------ */

static const char *const common[] = {
    "apartment", "studio", "house", "room", "garden", "balcony", "view", "beach", "quiet",
    "modern", "cosy", "spacious", "pool", "parking", "family", "central", "harbour",
    "river", "city centre", "bright", "penthouse", "townhouse", "double room", "near airport",
    "walk to", "sea view", "private bathroom", "luxury", "cottage", "kitchen"};

static int good_word(const char *w, size_t n)
{
    if (n < 4 || n > 14)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((w[i] >= 'a' && w[i] <= 'z') || (w[i] >= 'A' && w[i] <= 'Z')))
            return 0;
    return 1;
}

/* A random word of 4+ letters from s, or NULL. */
static size_t pick_word(rng_t *r, const char *s, char *out, size_t cap)
{
    const char *starts[64];
    size_t lens[64], k = 0;
    for (const char *p = s; *p && k < 64;) {
        while (*p && !((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
            p++;
        const char *b = p;
        while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))
            p++;
        if (good_word(b, (size_t)(p - b))) {
            starts[k] = b;
            lens[k++] = (size_t)(p - b);
        }
    }
    if (!k)
        return 0;
    size_t j = below(r, (uint32_t)k), n = lens[j] < cap - 1 ? lens[j] : cap - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)(starts[j][i] | 0x20);
    out[n] = '\0';
    return n;
}

static void typo(rng_t *r, char *w)
{
    size_t n = strlen(w);
    if (n < 5)
        return;
    size_t i = 1 + below(r, (uint32_t)(n - 2));
    switch (below(r, 3)) {
    case 0: memmove(w + i, w + i + 1, n - i); break;                  /* deletion */
    case 1: { char t = w[i]; w[i] = w[i + 1]; w[i + 1] = t; break; }  /* transposition */
    default: w[i] = (char)('a' + below(r, 26)); break;                /* substitution */
    }
}

static size_t enc(const char *s, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && o + 4 < cap; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == ',' || *p == ';')
            out[o++] = (char)*p;
        else if (*p == ' ')
            out[o++] = '+';
        else
            out[o++] = '%', out[o++] = hex[*p >> 4], out[o++] = hex[*p & 15];
    }
    out[o] = '\0';
    return o;
}

#define ADD(...) (o += (size_t)snprintf(buf + o, o < cap ? cap - o : 0, __VA_ARGS__))

void gen_query(gen_t *g, uint64_t i, char *buf, size_t cap)
{
    rng_t r = {mix(g->seed ^ 0x5eed ^ (i * 0x9e3779b97f4a7c15ull))};
    const csv_row_t *row = &g->set->rows[below(&r, (uint32_t)g->set->n)];
    size_t o = 0;
    char q[200] = "", w[64], e[600];
    buf[0] = '\0';
    double u = unif(&r);
    if (u < 0.55) { /* text */
        double v = unif(&r);
        if (v < 0.45) {
            if (pick_word(&r, row->f[CSV_TITLE], w, sizeof(w)))
                snprintf(q, sizeof(q), "%s", w);
        } else if (v < 0.75) {
            snprintf(q, sizeof(q), "%s", common[below(&r, sizeof(common) / sizeof(common[0]))]);
        } else if (v < 0.9) {
            if (pick_word(&r, row->f[CSV_HOOD], w, sizeof(w)))
                snprintf(q, sizeof(q), "%s", w);
        } else {
            /* two title words */
            char w2[64];
            if (pick_word(&r, row->f[CSV_TITLE], w, sizeof(w)) &&
                pick_word(&r, row->f[CSV_DESC], w2, sizeof(w2)))
                snprintf(q, sizeof(q), "%s %s", w, w2);
        }
        if (q[0] && unif(&r) < 0.3) {
            char *last = strrchr(q, ' ');
            typo(&r, last ? last + 1 : q);
        } else if (q[0] && unif(&r) < 0.25) {
            size_t n = strlen(q);
            char *last = strrchr(q, ' ');
            size_t wl = last ? n - (size_t)(last + 1 - q) : n;
            if (wl > 4)
                q[n - (wl - 3 - below(&r, (uint32_t)(wl - 3)))] = '\0'; /* still typing */
        }
        if (q[0]) {
            enc(q, e, sizeof(e));
            ADD("q=%s", e);
        }
    }
    double gsel = unif(&r);
    int center = 0;
    if (gsel < 0.4) {
        ADD("%slat=%.5f&lon=%.5f&radius_km=%.1f", o ? "&" : "", row->lat, row->lon, 0.5 + 4.5 * unif(&r));
        center = 1;
    } else if (gsel < 0.75) {
        double h = 0.01 + 0.03 * unif(&r), wd = h * 1.6;
        ADD("%sbbox=%.5f,%.5f,%.5f,%.5f", o ? "&" : "", row->lat - h, row->lon - wd, row->lat + h, row->lon + wd);
    } else if (gsel < 0.8) {
        double h = 0.01 + 0.02 * unif(&r);
        ADD("%spolygon=%.5f,%.5f;%.5f,%.5f;%.5f,%.5f;%.5f,%.5f;%.5f,%.5f", o ? "&" : "",
            row->lat - h, row->lon, row->lat, row->lon + h * 1.5, row->lat + h, row->lon + h * 0.3,
            row->lat + h * 0.5, row->lon - h * 1.2, row->lat - h * 0.3, row->lon - h);
    }
    if (gsel >= 0.8 && !q[0]) {
        /* no map: people name the place instead (a search always has a destination) */
        if (!pick_word(&r, row->f[CSV_HOOD], w, sizeof(w)))
            snprintf(w, sizeof(w), "%s", row->f[CSV_CITY]);
        enc(w, e, sizeof(e));
        ADD("%sq=%s", o ? "&" : "", e);
    }
    if (unif(&r) < 0.25) {
        int64_t lo = row->price / 2, hi = row->price * 3 / 2;
        ADD("%sprice_min=%lld&price_max=%lld", o ? "&" : "", (long long)lo, (long long)hi);
    }
    if (unif(&r) < 0.2)
        ADD("%sbedrooms_min=%d", o ? "&" : "", 1 + (int)below(&r, 3));
    if (unif(&r) < 0.15)
        ADD("%sguests=%d", o ? "&" : "", 2 + (int)below(&r, 4));
    if (unif(&r) < 0.2)
        ADD("%stype=%s", o ? "&" : "", unif(&r) < 0.5 ? "apartment" : "apartment,house,condo");
    if (unif(&r) < 0.2) {
        static const char *const a[] = {"wifi", "kitchen", "washer", "parking", "pool",
                                        "air_conditioning", "workspace", "balcony"};
        ADD("%samenities=%s", o ? "&" : "", a[below(&r, 8)]);
        if (unif(&r) < 0.4)
            ADD(",%s", a[below(&r, 8)][0] == 'w' ? "kitchen" : "wifi");
    }
    if (unif(&r) < 0.1)
        ADD("%sinstant_book=true", o ? "&" : "");
    if (unif(&r) < 0.25) {
        char ci[11], co[11];
        int32_t d = GEN_TODAY + (int32_t)below(&r, 90);
        sx_format_date(d, ci);
        sx_format_date(d + 2 + (int32_t)below(&r, 6), co);
        ADD("%scheck_in=%s&check_out=%s", o ? "&" : "", ci, co);
    }
    if (unif(&r) < 0.4)
        ADD("%sfacets=type,bedrooms,amenities,price", o ? "&" : "");
    double s = unif(&r);
    if (s < 0.15)
        ADD("%ssort=price_asc", o ? "&" : "");
    else if (s < 0.2)
        ADD("%ssort=price_desc", o ? "&" : "");
    else if (s < 0.3)
        ADD("%ssort=newest", o ? "&" : "");
    else if (s < 0.4 && center)
        ADD("%ssort=distance", o ? "&" : "");
    ADD("%slimit=20", o ? "&" : "");
}
