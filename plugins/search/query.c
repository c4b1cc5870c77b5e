/*
 * query.c — evaluating a query: text, then one pass over the candidates
 * that applies every filter, counts the facets and keeps the best hits.
 *
 * Text.  Each query word becomes a set of term expansions (the exact term,
 * then typo and prefix variants, each with a weight); a doc must match every
 * word (AND) through any of its expansions.  Words run rarest first: the
 * first sets a bitset of candidates and their scores, each later one keeps
 * the candidates it also matches.  Later words skip whole postings blocks
 * that hold no candidate, so a rare word makes the common ones cheap.
 *
 * Scoring is BM25 with field boosts (title 3, neighbourhood/city 2,
 * amenities 1.5, presence only; the description with its term frequency and
 * length normalisation), times the expansion's weight (exact 1, prefix 0.8,
 * one typo 0.6, two 0.4).
 *
 * Filters and facets.  The candidate pass computes for each doc which
 * filter groups it fails.  A multi-select facet (type) and the range facets
 * (bedrooms, price) count the docs that fail nothing but their own group, so
 * a facet shows what choosing another value would give; amenities are
 * "all of", so their facet counts within the full result (what adding one
 * more would leave).
 *
 * Without text, candidates come from the grid cells the geo shape covers,
 * or from every doc.
 */
#include "sx.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_EXP 32
#define PREFIX_EXP 24
#define FUZZY_EXP 16
#define W_EXACT 1.0f
#define W_PREFIX 0.8f
#define W_TYPO1 0.6f
#define W_TYPO2 0.4f
#define BM25_K1 1.2
#define BM25_B 0.75

typedef struct qexp {
    uint32_t term;
    float weight;
} qexp_t;

typedef struct qword {
    qexp_t e[MAX_EXP];
    int n;
    uint64_t cost;
} qword_t;

struct sx_searcher {
    uint64_t *acc, *cur; /* candidate bitsets */
    uint64_t *grp[3];    /* docs passing the type / bedrooms / price filter (pass_bits) */
    uint64_t *edge;      /* docs of grid cells the map area only partly covers */
    uint32_t words;      /* uint64 words in each */
    uint32_t dense;      /* more candidates than ndocs / dense: pass_bits (0: never) */
    float *score;
    uint32_t scorecap;
    qword_t w[SX_Q_WORDS];
    sx_token_t tok[SX_Q_WORDS * 2];
    int ntok;
};

sx_searcher_t *sx_searcher_new(void)
{
    sx_searcher_t *s = sx_calloc(1, sizeof(sx_searcher_t));
    if (s)
        s->dense = 32; /* about where a popcount over every value bitset costs what visits do */
    return s;
}

void sx_searcher_dense(sx_searcher_t *s, uint32_t ratio) { s->dense = ratio; }

void sx_searcher_free(sx_searcher_t *s)
{
    if (!s)
        return;
    sx_free(s->acc);
    sx_free(s->cur);
    for (int i = 0; i < 3; i++)
        sx_free(s->grp[i]);
    sx_free(s->edge);
    sx_free(s->score);
    sx_free(s);
}

static int searcher_fit(sx_searcher_t *s, uint32_t ndocs)
{
    uint32_t words = ndocs / 64 + 1;
    if (words > s->words) {
        uint64_t *a = sx_realloc(s->acc, (size_t)words * 8), *c;
        if (!a)
            return SX_ENOMEM;
        s->acc = a;
        if (!(c = sx_realloc(s->cur, (size_t)words * 8)))
            return SX_ENOMEM;
        s->cur = c;
        for (int i = 0; i < 3; i++) {
            if (!(c = sx_realloc(s->grp[i], (size_t)words * 8)))
                return SX_ENOMEM;
            s->grp[i] = c;
        }
        if (!(c = sx_realloc(s->edge, (size_t)words * 8)))
            return SX_ENOMEM;
        s->edge = c;
        s->words = words;
    }
    if (ndocs > s->scorecap) {
        float *f = sx_realloc(s->score, (size_t)ndocs * sizeof(float));
        if (!f)
            return SX_ENOMEM;
        s->score = f;
        s->scorecap = ndocs;
    }
    return 0;
}

void sx_query_init(sx_query_t *q)
{
    memset(q, 0, sizeof(*q)); /* padding too: sx_query_hash hashes the bytes */
    q->price_min = q->price_max = -1;
    q->bedrooms_min = q->bathrooms_min_x2 = q->guests = -1;
    q->instant_book = -1;
    q->check_in = q->check_out = -1;
    q->limit = 20;
}

uint32_t sx_query_hash(const sx_query_t *q)
{
    sx_query_t c = *q;
    c.limit = 0;
    c.has_cursor = 0;
    memset(&c.cursor, 0, sizeof(c.cursor));
    return (uint32_t)sx_hash(&c, sizeof(c));
}

int64_t sx_price_bucket_min(int b)
{
    static const int steps[3] = {1, 2, 5};
    if (b <= 0)
        return 0;
    int64_t v = 1000 * steps[(b - 1) % 3];
    for (int i = 0; i < (b - 1) / 3; i++)
        v *= 10;
    return v;
}

int sx_price_bucket(int64_t p)
{
    static int64_t edge[SX_PRICE_BUCKETS];
    if (!edge[1]) /* idempotent: racing threads write the same values */
        for (int b = 0; b < SX_PRICE_BUCKETS; b++)
            edge[b] = sx_price_bucket_min(b);
    int lo = 0, hi = SX_PRICE_BUCKETS - 1;
    while (lo < hi) { /* the last edge <= p */
        int m = (lo + hi + 1) / 2;
        if (edge[m] <= p)
            lo = m;
        else
            hi = m - 1;
    }
    return lo;
}

/* ---- the words of q ------------------------------------------------------ */

static int collect_token(const sx_token_t *t, void *u)
{
    sx_searcher_t *s = u;
    if (s->ntok < (int)(sizeof(s->tok) / sizeof(s->tok[0])))
        s->tok[s->ntok++] = *t;
    return 0;
}

static void add_exp(qword_t *w, uint32_t term, float weight)
{
    for (int i = 0; i < w->n; i++) {
        if (w->e[i].term == term) {
            if (weight > w->e[i].weight)
                w->e[i].weight = weight;
            return;
        }
    }
    if (w->n < MAX_EXP)
        w->e[w->n++] = (qexp_t){term, weight};
}

typedef struct fuzzctx {
    qexp_t found[FUZZY_EXP];
    int n;
    const sx_termdict_t *d;
} fuzzctx_t;

static void on_fuzzy(uint32_t id, int dist, void *u)
{
    fuzzctx_t *f = u;
    if (dist == 0)
        return;
    qexp_t e = {id, dist == 1 ? W_TYPO1 : W_TYPO2};
    /* keep the best: nearer first, then more frequent */
    int at = f->n;
    if (f->n == FUZZY_EXP) {
        qexp_t *last = &f->found[FUZZY_EXP - 1];
        if (e.weight < last->weight ||
            (e.weight == last->weight && f->d->post[id].n <= f->d->post[last->term].n))
            return;
        at = FUZZY_EXP - 1;
    } else {
        f->n++;
    }
    while (at > 0 && (f->found[at - 1].weight < e.weight ||
                      (f->found[at - 1].weight == e.weight &&
                       f->d->post[f->found[at - 1].term].n < f->d->post[id].n))) {
        f->found[at] = f->found[at - 1];
        at--;
    }
    f->found[at] = e;
}

static int cmp_exp(const void *a, const void *b)
{
    float x = ((const qexp_t *)a)->weight, y = ((const qexp_t *)b)->weight;
    return x < y ? 1 : x > y ? -1 : 0;
}

static int cmp_cost(const void *a, const void *b)
{
    uint64_t x = ((const qword_t *)a)->cost, y = ((const qword_t *)b)->cost;
    return x < y ? -1 : x > y;
}

/* Parse q into s->w; returns the word count, or -1 when a word matches no term. */
static int plan_words(const sx_index_t *ix, sx_searcher_t *s, const char *q, sx_result_t *out)
{
    const sx_termdict_t *d = &ix->terms;
    size_t qn = strlen(q);
    s->ntok = 0;
    sx_tokenize(q, qn, collect_token, s);
    int nw = 0, empty = 0;
    for (int i = 0; i < s->ntok && nw < SX_Q_WORDS; i++) {
        const sx_token_t *t = &s->tok[i];
        if (t->kind == SX_TOK_CJK1) { /* a unigram only for a lone character */
            int lone = 1;
            for (int j = 0; j < s->ntok; j++)
                if (s->tok[j].kind == SX_TOK_CJK2 && s->tok[j].run == t->run)
                    lone = 0;
            if (!lone)
                continue;
        }
        qword_t *w = &s->w[nw];
        w->n = 0;
        uint32_t id = sx_term_find(d, t->text, t->len);
        if (id != SX_NONE)
            add_exp(w, id, W_EXACT);
        if (t->kind == SX_TOK_WORD) {
            int last = i == s->ntok - 1 && t->end == qn; /* still being typed */
            if (last && !d->dirty) {
                uint32_t lo, hi;
                sx_term_prefix_range(d, t->text, t->len, &lo, &hi);
                /* the most frequent completions: what the typist most likely means */
                uint32_t best[PREFIX_EXP];
                int nb = 0;
                for (uint32_t k = lo; k < hi; k++) {
                    uint32_t tid = d->sorted[k], df = d->post[tid].n;
                    if (tid == id || df == 0)
                        continue;
                    if (nb == PREFIX_EXP && d->post[best[nb - 1]].n >= df)
                        continue; /* full, and this one is rarer than the rarest kept */
                    int at = nb < PREFIX_EXP ? nb++ : PREFIX_EXP - 1;
                    while (at > 0 && d->post[best[at - 1]].n < df) {
                        best[at] = best[at - 1];
                        at--;
                    }
                    best[at] = tid;
                }
                for (int k = 0; k < nb; k++)
                    add_exp(w, best[k], W_PREFIX);
            }
            int typos = sx_typos_allowed(t->len);
            if (typos) {
                fuzzctx_t f = {.n = 0, .d = d};
                sx_fuzzy_find(&ix->fuzzy, d, t->text, t->len, typos, on_fuzzy, &f);
                for (int k = 0; k < f.n; k++)
                    add_exp(w, f.found[k].term, f.found[k].weight);
            }
        }
        qsort(w->e, (size_t)w->n, sizeof(w->e[0]), cmp_exp);
        w->cost = 0;
        for (int k = 0; k < w->n; k++) {
            w->cost += d->post[w->e[k].term].n;
            if (out->nhterms < (int)(sizeof(out->hterms) / sizeof(out->hterms[0])))
                out->hterms[out->nhterms++] = w->e[k].term;
        }
        if (w->n == 0)
            empty = 1;
        nw++;
    }
    if (empty)
        return -1;
    qsort(s->w, (size_t)nw, sizeof(s->w[0]), cmp_cost);
    return nw;
}

/* ---- text evaluation ------------------------------------------------------- */

static inline int bit(const uint64_t *b, uint32_t i) { return (int)((b[i >> 6] >> (i & 63)) & 1); }
static inline void setbit(uint64_t *b, uint32_t i) { b[i >> 6] |= 1ull << (i & 63); }

static int any_bits(const uint64_t *b, uint32_t lo, uint32_t hi) /* [lo, hi) */
{
    if (lo >= hi)
        return 0;
    uint32_t wl = lo >> 6, wh = (hi - 1) >> 6;
    uint64_t ml = ~0ull << (lo & 63), mh = ~0ull >> (63 - ((hi - 1) & 63));
    if (wl == wh)
        return (b[wl] & ml & mh) != 0;
    if (b[wl] & ml)
        return 1;
    for (uint32_t w = wl + 1; w < wh; w++)
        if (b[w])
            return 1;
    return (b[wh] & mh) != 0;
}

static int field_match(uint8_t fl, unsigned fields)
{
    return !fields || (fl & fields & 7) || ((fields & SX_F_DESC) && (fl >> SX_TF_SHIFT));
}

static inline float posting_score(const sx_index_t *ix, uint32_t doc, uint8_t fl, float widf, double avgdl)
{
    double f = 0;
    if (fl & SX_F_TITLE)
        f += 3.0;
    if (fl & SX_F_PLACE)
        f += 2.0;
    if (fl & SX_F_AMENITY)
        f += 1.5;
    unsigned tf = fl >> SX_TF_SHIFT;
    if (tf) {
        double norm = BM25_K1 * (1 - BM25_B + BM25_B * ix->desclen[doc] / avgdl);
        f += tf * (BM25_K1 + 1) / (tf + norm);
    }
    return (float)(widf * f);
}

/* AND the words of q (s->w, rarest first) into s->acc with their scores.
 * seeded: s->acc already holds the candidates (the docs of a small map
 * area), so even the first word only keeps and scores those. */
static void eval_text(const sx_index_t *ix, sx_searcher_t *s, int nw, unsigned fields, int seeded)
{
    const sx_termdict_t *d = &ix->terms;
    double n = ix->nlive ? ix->nlive : 1;
    double avgdl = ix->nlive && ix->desclen_sum ? (double)ix->desclen_sum / ix->nlive : 1.0;
    uint32_t docs[SX_BLOCK];
    uint8_t fl[SX_BLOCK];
    if (!seeded)
        memset(s->acc, 0, (size_t)s->words * 8);
    for (int wi = 0; wi < nw; wi++) {
        const qword_t *w = &s->w[wi];
        int filter = wi > 0 || seeded; /* keep only docs already in s->acc */
        uint64_t *dst = filter ? s->cur : s->acc;
        if (filter)
            memset(dst, 0, (size_t)s->words * 8);
        for (int k = 0; k < w->n; k++) {
            const sx_postings_t *p = &d->post[w->e[k].term];
            double df = p->n < n ? p->n : n;
            float widf = (float)(w->e[k].weight * log(1.0 + (n - df + 0.5) / (df + 0.5)));
            for (uint32_t b = 0; b < p->nblk; b++) {
                if (filter) {
                    uint32_t end = b + 1 < p->nblk ? p->blk[2 * (b + 1)] : p->last_doc + 1;
                    if (!any_bits(s->acc, p->blk[2 * b], end))
                        continue; /* no candidate in this block: do not even decode it */
                }
                uint32_t cnt = sx_postings_block(p, b, docs, fl);
                for (uint32_t i = 0; i < cnt; i++) {
                    uint32_t doc = docs[i];
                    if (!field_match(fl[i], fields) || bit(dst, doc))
                        continue; /* a better expansion matched it already */
                    if (!filter) {
                        setbit(dst, doc);
                        s->score[doc] = posting_score(ix, doc, fl[i], widf, avgdl);
                    } else if (bit(s->acc, doc)) {
                        setbit(dst, doc);
                        if (wi == 0)
                            s->score[doc] = posting_score(ix, doc, fl[i], widf, avgdl);
                        else
                            s->score[doc] += posting_score(ix, doc, fl[i], widf, avgdl);
                    }
                }
            }
        }
        if (filter) {
            uint64_t *t = s->acc;
            s->acc = s->cur;
            s->cur = t;
        }
    }
}

/* ---- the candidate pass ---------------------------------------------------- */

enum { FAIL_TYPE = 1, FAIL_BED = 2, FAIL_PRICE = 4 };

typedef struct pass {
    const sx_index_t *ix;
    const sx_query_t *q;
    sx_result_t *out;
    const float *score;
    int sort, text;
    int cap;            /* hits to keep: limit + 1 */
    /* geo prefilter, in microdegrees */
    int32_t glat0, glat1, glon0, glon1;
    int gbox, gwrap;
    int32_t plat0, plat1, plon0, plon1;
    /* the circle, and bounds of the distance that spare most haversines
     * (circle_bounds; fast = 0 when they do not hold) */
    int circle, fast;
    int32_t clat6, clon6;
    double k2;             /* (km per microdegree of latitude)^2 */
    double cx_lo, cx_hi;   /* cos(centre lat) x least / greatest cos(lat) of the band */
    double r_in2, r_out2;  /* (radius x (1 -/+ margin))^2 */
} pass_t;

#define KM_PER_DEG (6371.0088 * M_PI / 180) /* geo.c's mean radius */
#define GEO_MARGIN 0.005

/* Setting up circle_bounds.  With a = sin^2(dlat/2) + cos(lat0)cos(lat)
 * sin^2(dlon/2) the haversine distance is 2R asin(sqrt(a)); for a short
 * distance (radius <= 100 km, so dlon stays under 0.2 rad below 80 degrees)
 * asin(x) ~ x and sin(x) ~ x are within 0.3% on the squares, and cos(lat)
 * lies between its least and greatest value over the circle's latitude
 * band.  So R^2 (dlat^2 + cos(lat0) c dlon^2) with c the least / greatest
 * cos bounds the squared distance from below / above once a 0.5% margin
 * covers the approximations: a doc is surely inside or outside the circle
 * without trigonometry, and only a thin ring near the edge pays for it. */
static void circle_setup(pass_t *p, const sx_query_t *q)
{
    p->circle = q->has_center && q->radius_km > 0;
    if (!p->circle)
        return;
    double band = q->radius_km / KM_PER_DEG + 1e-6;
    double a0 = fabs(q->lat) - band, a1 = fabs(q->lat) + band; /* |lat| over the band */
    p->fast = q->radius_km <= 100 && a1 <= 80;
    if (!p->fast)
        return;
    double c0 = cos(q->lat * M_PI / 180);
    p->clat6 = (int32_t)lround(q->lat * 1e6);
    p->clon6 = (int32_t)lround(q->lon * 1e6);
    p->k2 = (KM_PER_DEG / 1e6) * (KM_PER_DEG / 1e6);
    p->cx_lo = c0 * cos(a1 * M_PI / 180);
    p->cx_hi = c0 * (a0 <= 0 ? 1.0 : cos(a0 * M_PI / 180));
    p->r_in2 = q->radius_km * (1 - GEO_MARGIN) * q->radius_km * (1 - GEO_MARGIN);
    p->r_out2 = q->radius_km * (1 + GEO_MARGIN) * q->radius_km * (1 + GEO_MARGIN);
}

/* Squared distance bounds (km^2) of a doc in the circle's latitude band
 * (the box prefilter made sure); the centre's rounding to a microdegree
 * is far inside the margin. */
static inline void circle_bounds(const pass_t *p, int32_t la, int32_t lo, double *lo2, double *hi2)
{
    double dy = (double)la - p->clat6;
    int64_t dx = (int64_t)lo - p->clon6;
    if (dx > 180000000)
        dx -= 360000000;
    else if (dx < -180000000)
        dx += 360000000;
    double y2 = dy * dy, x2 = (double)dx * (double)dx;
    *lo2 = (y2 + x2 * p->cx_lo) * p->k2;
    *hi2 = (y2 + x2 * p->cx_hi) * p->k2;
}

static inline int before(double ka, uint64_t ta, double kb, uint64_t tb)
{
    return ka < kb || (ka == kb && ta < tb);
}

/* hits[0..n) is a max-heap on (key, tie): the worst kept hit on top */
static void heap_push(pass_t *p, sx_hit_t h)
{
    sx_result_t *r = p->out;
    sx_hit_t *a = r->hits;
    if (r->nhits == p->cap) {
        if (!before(h.key, h.tie, a[0].key, a[0].tie))
            return;
        int i = 0; /* replace the top and sift down */
        for (;;) {
            int l = 2 * i + 1, m = i;
            sx_hit_t *cand = &h;
            if (l < r->nhits && before(cand->key, cand->tie, a[l].key, a[l].tie))
                m = l, cand = &a[l];
            if (l + 1 < r->nhits && before(cand->key, cand->tie, a[l + 1].key, a[l + 1].tie))
                m = l + 1;
            if (m == i)
                break;
            a[i] = a[m];
            i = m;
        }
        a[i] = h;
        return;
    }
    int i = r->nhits++;
    while (i > 0) {
        int up = (i - 1) / 2;
        if (!before(a[up].key, a[up].tie, h.key, h.tie))
            break;
        a[i] = a[up];
        i = up;
    }
    a[i] = h;
}

/* Any of the spans (the doc's taken nights) sharing a night with [ci, co)? */
static inline int spans_overlap(const sx_span_t *r, uint32_t n, int32_t ci, int32_t co)
{
    for (uint32_t i = 0; i < n; i++)
        if (r[i].start < co && r[i].end > ci)
            return 1;
    return 0;
}

/* Keep doc among the best hits if it sorts before the worst kept; dist is
 * its distance when known (else -1) and lo2 circle_bounds' lower bound. */
static inline void consider(pass_t *p, uint32_t doc, int64_t price, double dist, double lo2)
{
    const sx_index_t *ix = p->ix;
    const sx_query_t *q = p->q;
    const sx_drow_t *row = &ix->row[doc];
    sx_result_t *r = p->out;
    int full = r->nhits == p->cap;
    double key;
    switch (p->sort) {
    case SX_SORT_PRICE_ASC: key = price > 0 ? (double)price : INFINITY; break;
    case SX_SORT_PRICE_DESC: key = price > 0 ? -(double)price : INFINITY; break;
    case SX_SORT_NEWEST: key = -(double)ix->listed[doc]; break;
    case SX_SORT_DISTANCE:
        if (dist < 0) {
            if (full && p->fast && r->hits[0].key < INFINITY) {
                double w = r->hits[0].key * (1 + GEO_MARGIN);
                if (lo2 > w * w)
                    return; /* surely farther than the farthest kept */
            }
            dist = sx_haversine_km(q->lat, q->lon, row->lat6 / 1e6, row->lon6 / 1e6);
        }
        key = dist;
        break;
    default: key = -(double)p->score[doc]; break;
    }
    if (full && (key > r->hits[0].key || (key == r->hits[0].key && ix->tie[doc] >= r->hits[0].tie)))
        return; /* not better than the worst kept: the common case, decided early */
    uint64_t tie = ix->tie[doc];
    if (q->has_cursor && !before(q->cursor.key, q->cursor.tie, key, tie))
        return; /* on an earlier page */
    heap_push(p, (sx_hit_t){.doc = doc, .key = key, .tie = tie,
                            .score = p->text ? p->score[doc] : 0});
}


/* The filters that are no facet group: map area, instant booking,
 * amenities, bathrooms, guests, dates.  *dist gets the distance if the
 * circle test computed it (else stays -1), *lo2 its lower bound. */
static inline int hard_ok(const pass_t *p, uint32_t doc, const sx_drow_t *row, double *dist, double *lo2)
{
    const sx_index_t *ix = p->ix;
    const sx_query_t *q = p->q;
    uint8_t fl = row->flags;
    int32_t la = row->lat6, lo = row->lon6;
    if (p->gbox) {
        if (la < p->glat0 || la > p->glat1)
            return 0;
        if (p->gwrap ? (lo < p->glon0 && lo > p->glon1) : (lo < p->glon0 || lo > p->glon1))
            return 0;
    }
    if (p->circle) {
        int inside = 0;
        if (p->fast) {
            double hi2;
            circle_bounds(p, la, lo, lo2, &hi2);
            if (*lo2 > p->r_out2)
                return 0;
            inside = hi2 <= p->r_in2;
        }
        if (!inside) {
            *dist = sx_haversine_km(q->lat, q->lon, la / 1e6, lo / 1e6);
            if (*dist > q->radius_km)
                return 0;
        }
    }
    if (q->npoly) {
        if (la < p->plat0 || la > p->plat1 || lo < p->plon0 || lo > p->plon1)
            return 0;
        if (!sx_point_in_poly(la / 1e6, lo / 1e6, q->poly_lat, q->poly_lon, q->npoly))
            return 0;
    }
    if (q->instant_book >= 0 && !!(fl & SX_DOC_INSTANT) != q->instant_book)
        return 0;
    if (q->amenities && (row->amen & q->amenities) != q->amenities)
        return 0;
    if (q->bathrooms_min_x2 >= 0 && (row->bath2 == 255 || row->bath2 < q->bathrooms_min_x2))
        return 0;
    if (q->guests >= 0 && (row->guests == 255 || row->guests < q->guests))
        return 0;
    if (q->check_in >= 0 && row->nr) {
        if (row->nr != SX_NR_MANY)
            return !spans_overlap(ix->dr + row->roff, row->nr, q->check_in, q->check_out);
        const sx_listing_t *l = &ix->l[ix->listing[doc]];
        return !(l->nranges && sx_ranges_overlap(l->ranges, l->nranges, q->check_in, q->check_out));
    }
    return 1;
}

/* The doc's price for the query's period (0: none). */
static inline int64_t doc_price(const sx_index_t *ix, const sx_query_t *q, uint32_t doc, const sx_drow_t *row)
{
    int monthly = q->price_period == SX_PERIOD_MONTHLY;
    uint32_t rp = monthly ? row->pm : row->pn;
    return rp != SX_PRICE_BIG ? (int64_t)rp : monthly ? ix->monthly[doc] : ix->nightly[doc];
}

static inline int price_ok(const sx_query_t *q, int64_t price)
{
    return !((q->price_min >= 0 && (price <= 0 || price < q->price_min)) ||
             (q->price_max >= 0 && (price <= 0 || price > q->price_max)));
}

/* One candidate, decided and counted on its own (few candidates). */
static inline void visit(pass_t *p, uint32_t doc)
{
    const sx_index_t *ix = p->ix;
    const sx_query_t *q = p->q;
    const sx_drow_t *row = &ix->row[doc];
    if (!(row->flags & SX_DOC_LIVE))
        return;
    double dist = -1, lo2 = 0;
    if (!hard_ok(p, doc, row, &dist, &lo2))
        return;
    unsigned fails = 0;
    uint8_t t = row->type, bed = row->bedrooms;
    int64_t price = doc_price(ix, q, doc, row);
    if (q->types && (t == 255 || !((q->types >> t) & 1)))
        fails |= FAIL_TYPE;
    if (q->bedrooms_min >= 0 && (bed == 255 || bed < q->bedrooms_min))
        fails |= FAIL_BED;
    if (!price_ok(q, price))
        fails |= FAIL_PRICE;
    sx_result_t *r = p->out;
    if (q->facets) {
        if ((q->facets & SX_FACET_TYPE) && !(fails & ~FAIL_TYPE) && t != 255)
            r->f_type[t]++;
        if ((q->facets & SX_FACET_BEDROOMS) && !(fails & ~FAIL_BED) && bed != 255)
            r->f_bedrooms[bed > 5 ? 5 : bed]++;
        if ((q->facets & SX_FACET_PRICE) && !(fails & ~FAIL_PRICE) && price > 0)
            r->f_price[q->price_period == SX_PERIOD_MONTHLY ? row->pbm : row->pbn]++;
    }
    if (fails)
        return;
    r->total++;
    if (q->facets & SX_FACET_AMENITIES)
        for (uint32_t m = row->amen; m; m &= m - 1)
            r->f_amen[__builtin_ctz(m)]++;
    consider(p, doc, price, dist, lo2);
}

/* Visit docs[0, n), fetching rows a few docs ahead: the docs of a cell or of
 * a text match are scattered over the doc space, so each row is a cache miss
 * that is better started early. */
#define PREFETCH_AHEAD 12
static void visit_docs(pass_t *p, const uint32_t *docs, uint32_t n)
{
    const sx_drow_t *row = p->ix->row;
    for (uint32_t i = 0; i < n; i++) {
        if (i + PREFETCH_AHEAD < n)
            __builtin_prefetch(&row[docs[i + PREFETCH_AHEAD]]);
        visit(p, docs[i]);
    }
}

/* Visit the docs of a bitset a batch at a time: in increasing order, or
 * decreasing for the newest first (see pass_bits). */
static void visit_bits(pass_t *p, const uint64_t *bits, uint32_t words)
{
    uint32_t batch[256], n = 0;
    int down = p->sort == SX_SORT_NEWEST;
    for (uint32_t i = 0; i < words; i++) {
        uint32_t w = down ? words - 1 - i : i;
        for (uint64_t m = bits[w]; m;) {
            uint32_t bitno = down ? 63 - (uint32_t)__builtin_clzll(m) : (uint32_t)__builtin_ctzll(m);
            m &= ~(1ull << bitno);
            batch[n++] = w * 64 + bitno;
            if (n == sizeof(batch) / sizeof(batch[0])) {
                visit_docs(p, batch, n);
                n = 0;
            }
        }
    }
    visit_docs(p, batch, n);
}

/* ---- many candidates: bitsets ---------------------------------------------
 * When the candidates are a good part of the index, the filters that have
 * value bitsets (instant booking, amenities, types, bedrooms) are word-wise
 * ANDs, the facets popcounts of (candidates AND value), and only the hits'
 * ranking reads per-doc data.  Same results as visit(), a 64th of the work
 * for those parts. */

static inline uint64_t or_range(uint64_t *const *vb, int from, int to, uint32_t w)
{
    uint64_t x = 0;
    for (int v = from; v < to; v++)
        x |= vb[v][w];
    return x;
}

/* Clear from c the docs failing fn, taking the docs of c AND mask (all of
 * c when mask is NULL) a batch at a time with their rows prefetched. */
typedef int (*doc_test_fn)(const pass_t *p, uint32_t doc);
static void refine(const pass_t *p, uint64_t *c, const uint64_t *mask, uint32_t words, doc_test_fn fn)
{
    const sx_drow_t *row = p->ix->row;
    uint32_t batch[256];
    for (uint32_t w0 = 0; w0 < words; w0 += 4) {
        uint32_t n = 0;
        for (uint32_t w = w0; w < w0 + 4 && w < words; w++)
            for (uint64_t m = mask ? c[w] & mask[w] : c[w]; m; m &= m - 1)
                batch[n++] = w * 64 + (uint32_t)__builtin_ctzll(m);
        for (uint32_t i = 0; i < n; i++) {
            if (i + PREFETCH_AHEAD < n)
                __builtin_prefetch(&row[batch[i + PREFETCH_AHEAD]]);
            if (!fn(p, batch[i]))
                c[batch[i] >> 6] &= ~(1ull << (batch[i] & 63));
        }
    }
}

static int test_hard(const pass_t *p, uint32_t doc)
{
    double dist = -1, lo2 = 0;
    return hard_ok(p, doc, &p->ix->row[doc], &dist, &lo2);
}

static int test_price(const pass_t *p, uint32_t doc)
{
    return price_ok(p->q, doc_price(p->ix, p->q, doc, &p->ix->row[doc]));
}

/* Bits set in b[0, words). */
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target_clones("popcnt", "default")))
#endif
static uint64_t count_bits(const uint64_t *b, uint32_t words)
{
    uint64_t n = 0;
    for (uint32_t w = 0; w < words; w++)
        n += (uint64_t)__builtin_popcountll(b[w]);
    return n;
}

/* Facet counts and the total over the candidates c, which are then cut to
 * the docs passing every group filter (gt, gb, gp; NULL when absent).  The
 * popcounts are most of a big query's time: built twice, with and without
 * the popcount instruction, the loader picking what the CPU has. */
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target_clones("popcnt", "default")))
#endif
static void count_facets(const sx_index_t *ix, const sx_query_t *q, sx_result_t *r, uint64_t *c,
                         const uint64_t *gt, const uint64_t *gb, const uint64_t *gp, uint32_t words)
{
    uint64_t *const *vb = ix->vb;
    int pbase = q->price_period == SX_PERIOD_MONTHLY ? SX_VB_PBM : SX_VB_PBN;
    for (uint32_t w = 0; w < words; w++) {
        uint64_t x = c[w];
        if (!x)
            continue;
        uint64_t t = gt ? gt[w] : ~0ull, b = gb ? gb[w] : ~0ull, pr = gp ? gp[w] : ~0ull;
        if (q->facets & SX_FACET_TYPE) {
            uint64_t y = x & b & pr;
            for (int v = 0; y && v < SX_NTYPES; v++)
                r->f_type[v] += (uint32_t)__builtin_popcountll(y & vb[SX_VB_TYPE + v][w]);
        }
        if (q->facets & SX_FACET_BEDROOMS) {
            uint64_t y = x & t & pr;
            for (int v = 0; y && v < SX_BED_VALUES; v++)
                r->f_bedrooms[v] += (uint32_t)__builtin_popcountll(y & vb[SX_VB_BED + v][w]);
        }
        if (q->facets & SX_FACET_PRICE) {
            uint64_t y = x & t & b;
            for (int v = 0; y && v < SX_PRICE_BUCKETS; v++)
                r->f_price[v] += (uint32_t)__builtin_popcountll(y & vb[pbase + v][w]);
        }
        x &= t & b & pr;
        c[w] = x;
        if (!x)
            continue;
        r->total += (uint64_t)__builtin_popcountll(x);
        if (q->facets & SX_FACET_AMENITIES)
            for (int v = 0; v < SX_NAMENITIES; v++)
                r->f_amen[v] += (uint32_t)__builtin_popcountll(x & vb[SX_VB_AMEN + v][w]);
    }
}

/* Whether pass_bits can answer q: bedrooms above the last facet value
 * have no bitset of their own. */
static int bits_fit(const sx_query_t *q) { return q->bedrooms_min < SX_BED_VALUES; }

/* edge: when not NULL, the candidates outside it are surely in the map area. */
static void pass_bits(pass_t *p, sx_searcher_t *s, const uint64_t *edge)
{
    const sx_index_t *ix = p->ix;
    const sx_query_t *q = p->q;
    uint64_t *const *vb = ix->vb;
    sx_result_t *r = p->out;
    uint32_t words = ix->ndocs / 64 + 1;
    uint64_t *c = s->acc;
    for (uint32_t w = 0; w < words; w++) {
        uint64_t x = c[w] & vb[SX_VB_LIVE][w];
        if (q->instant_book == 1)
            x &= vb[SX_VB_INSTANT][w];
        else if (q->instant_book == 0)
            x &= ~vb[SX_VB_INSTANT][w];
        for (uint32_t m = q->amenities; m && x; m &= m - 1)
            x &= vb[SX_VB_AMEN + __builtin_ctz(m)][w];
        c[w] = x;
    }
    /* the rest of the non-group filters need the rows, of the docs they
     * may fail only: near the edge of the map area, with taken nights */
    int geo = p->gbox || p->circle || q->npoly;
    if (q->bathrooms_min_x2 >= 0 || q->guests >= 0 || (geo && !edge)) {
        refine(p, c, NULL, words, test_hard);
    } else if (geo || q->check_in >= 0) {
        uint64_t *mask = s->cur;
        for (uint32_t w = 0; w < words; w++)
            mask[w] = (geo ? edge[w] : 0) | (q->check_in >= 0 ? vb[SX_VB_RANGES][w] : 0);
        refine(p, c, mask, words, test_hard);
    }
    /* the facet groups: docs passing each group's own filter (NULL: all) */
    uint64_t *gt = NULL, *gb = NULL, *gp = NULL;
    if (q->types) {
        gt = s->grp[0];
        for (uint32_t w = 0; w < words; w++) {
            uint64_t x = 0;
            for (uint32_t m = q->types; m; m &= m - 1)
                x |= vb[SX_VB_TYPE + __builtin_ctz(m)][w];
            gt[w] = x;
        }
    }
    if (q->bedrooms_min >= 0) {
        gb = s->grp[1];
        for (uint32_t w = 0; w < words; w++)
            gb[w] = or_range(vb, SX_VB_BED + q->bedrooms_min, SX_VB_BED + SX_BED_VALUES, w);
    }
    int pbase = q->price_period == SX_PERIOD_MONTHLY ? SX_VB_PBM : SX_VB_PBN;
    if (q->price_min >= 0 || q->price_max >= 0) {
        /* price buckets wholly in the range pass, those wholly out fail
         * (and docs without a price, in no bucket); only the docs of the
         * one or two buckets the range cuts are compared one by one */
        uint32_t in = 0, cut = 0;
        for (int b = 0; b < SX_PRICE_BUCKETS; b++) {
            int64_t lo = sx_price_bucket_min(b);
            int64_t hi = b + 1 < SX_PRICE_BUCKETS ? sx_price_bucket_min(b + 1) - 1 : INT64_MAX;
            int below = q->price_min >= 0 && hi < q->price_min, above = q->price_max >= 0 && lo > q->price_max;
            if (below || above)
                continue;
            if ((q->price_min < 0 || lo >= q->price_min) && (q->price_max < 0 || hi <= q->price_max))
                in |= 1u << b;
            else
                cut |= 1u << b;
        }
        gp = s->grp[2];
        uint64_t *mask = s->cur;
        for (uint32_t w = 0; w < words; w++) {
            uint64_t x = 0, y = 0;
            for (uint32_t m = in; m; m &= m - 1)
                x |= vb[pbase + __builtin_ctz(m)][w];
            for (uint32_t m = cut; m; m &= m - 1)
                y |= vb[pbase + __builtin_ctz(m)][w];
            gp[w] = c[w] & (x | y);
            mask[w] = y;
        }
        refine(p, gp, mask, words, test_price);
    }
    count_facets(ix, q, r, c, gt, gb, gp, words);
    /* the hits: only now per doc, and only what the sort needs */
    int need_price = p->sort == SX_SORT_PRICE_ASC || p->sort == SX_SORT_PRICE_DESC;
    int need_lo2 = p->sort == SX_SORT_DISTANCE && p->fast;
    /* newest first: newer docs mostly have greater ids, so going down the
     * ids fills the heap with the winners at once and then rejects */
    int down = p->sort == SX_SORT_NEWEST;
    for (uint32_t i = 0; i < words; i++) {
        uint32_t w = down ? words - 1 - i : i;
        for (uint64_t m = c[w]; m;) {
            uint32_t bitno = down ? 63 - (uint32_t)__builtin_clzll(m) : (uint32_t)__builtin_ctzll(m);
            m &= ~(1ull << bitno);
            uint32_t doc = w * 64 + bitno;
            const sx_drow_t *row = &ix->row[doc];
            double lo2 = 0, hi2;
            if (need_lo2)
                circle_bounds(p, row->lat6, row->lon6, &lo2, &hi2);
            consider(p, doc, need_price ? doc_price(ix, q, doc, row) : 0, -1, lo2);
        }
    }
}

static int cmp_hits(const void *a, const void *b)
{
    const sx_hit_t *x = a, *y = b;
    return before(x->key, x->tie, y->key, y->tie) ? -1 : 1;
}

/* The grid cells of the box [bs, bn] x [bw, be], across the antimeridian
 * when bw > be. */
static void for_cells(const sx_index_t *ix, double bs, double bw, double bn, double be, sx_cell_fn fn,
                      void *u)
{
    if (bw > be) {
        sx_cells_box(&ix->cells, bs, bw, bn, 180, fn, u);
        sx_cells_box(&ix->cells, bs, -180, bn, be, fn, u);
    } else {
        sx_cells_box(&ix->cells, bs, bw, bn, be, fn, u);
    }
}

static void count_cell(const uint32_t *docs, uint32_t n, int32_t clat, int32_t clon, void *u)
{
    (void)docs, (void)clat, (void)clon;
    *(uint64_t *)u += n;
}

typedef struct seed {
    const pass_t *p;
    uint64_t *acc, *edge;
} seed_t;

/* Is grid cell (clat, clon) wholly inside the map area?  For the circle
 * the bound of the distance is convex, so the farthest point of the cell
 * is one of its corners. */
static int cell_inside(const pass_t *p, int32_t clat, int32_t clon)
{
    int32_t la0 = clat * 10000, la1 = la0 + 9999, lo0 = clon * 10000, lo1 = lo0 + 9999;
    if (p->q->npoly || (p->circle && !p->fast))
        return 0;
    if (p->gbox) {
        if (la0 < p->glat0 || la1 > p->glat1)
            return 0;
        if (p->gwrap ? !(lo0 >= p->glon0 || lo1 <= p->glon1) || (lo0 < p->glon0 && lo1 > p->glon1)
                     : lo0 < p->glon0 || lo1 > p->glon1)
            return 0;
    }
    if (p->circle) {
        const int32_t la[4] = {la0, la0, la1, la1}, lo[4] = {lo0, lo1, lo0, lo1};
        for (int i = 0; i < 4; i++) {
            double lo2, hi2;
            circle_bounds(p, la[i], lo[i], &lo2, &hi2);
            if (hi2 > p->r_in2)
                return 0;
        }
    }
    return 1;
}

static void seed_cell(const uint32_t *docs, uint32_t n, int32_t clat, int32_t clon, void *u)
{
    seed_t *sd = u;
    int inside = cell_inside(sd->p, clat, clon);
    for (uint32_t i = 0; i < n; i++) {
        setbit(sd->acc, docs[i]);
        if (!inside)
            setbit(sd->edge, docs[i]);
    }
}

static int32_t e6(double deg) { return (int32_t)floor(deg * 1e6); }

int sx_search(const sx_index_t *ix, sx_searcher_t *s, const sx_query_t *q, sx_result_t *out)
{
    memset(out, 0, offsetof(sx_result_t, hits));
    out->nhits = 0;
    out->has_next = 0;
    memset(out->f_type, 0, sizeof(*out) - offsetof(sx_result_t, f_type));
    if (searcher_fit(s, ix->ndocs) < 0)
        return SX_ENOMEM;
    pass_t p = {.ix = ix, .q = q, .out = out, .score = s->score, .cap = q->limit + 1};
    int nw = 0;
    if (q->q[0]) {
        nw = plan_words(ix, s, q->q, out);
        if (nw < 0)
            goto done; /* a word with no match anywhere: nothing matches */
    }
    p.text = nw > 0;
    p.sort = q->sort;
    if (p.sort == SX_SORT_RELEVANCE && !p.text)
        p.sort = q->has_center ? SX_SORT_DISTANCE : SX_SORT_NEWEST;
    /* the geo prefilter box: the circle's, else the viewport's */
    double bs = 0, bw = 0, bn = 0, be = 0;
    if (q->has_center && q->radius_km > 0) {
        double dlat = q->radius_km / 111.19 + 1e-6, c = cos(q->lat * M_PI / 180);
        double dlon = c > 1e-6 ? q->radius_km / (111.19 * c) + 1e-6 : 360;
        bs = q->lat - dlat, bn = q->lat + dlat, bw = q->lon - dlon, be = q->lon + dlon;
        if (bs < -90)
            bs = -90;
        if (bn > 90)
            bn = 90;
        if (dlon >= 180)
            bw = -180, be = 180;
        else if (bw < -180)
            bw += 360; /* crosses the antimeridian: wraps */
        else if (be > 180)
            be -= 360;
        p.gbox = 1;
    } else if (q->has_bbox) {
        bs = q->south, bn = q->north, bw = q->west, be = q->east;
        p.gbox = 1;
    }
    if (p.gbox) {
        p.glat0 = e6(bs), p.glat1 = e6(bn) + 1, p.glon0 = e6(bw), p.glon1 = e6(be) + 1;
        p.gwrap = bw > be;
    }
    circle_setup(&p, q);
    if (q->npoly) {
        double a0 = 90, a1 = -90, o0 = 180, o1 = -180;
        for (int i = 0; i < q->npoly; i++) {
            a0 = fmin(a0, q->poly_lat[i]), a1 = fmax(a1, q->poly_lat[i]);
            o0 = fmin(o0, q->poly_lon[i]), o1 = fmax(o1, q->poly_lon[i]);
        }
        p.plat0 = e6(a0), p.plat1 = e6(a1) + 1, p.plon0 = e6(o0), p.plon1 = e6(o1) + 1;
        if (!p.gbox) /* the cells to visit; visit() checks the polygon's box itself */
            bs = a0, bn = a1, bw = o0, be = o1;
    }
    /* the cells of the map area, unless it spans more cells than there are docs */
    int geo = p.gbox || q->npoly, use_cells = 0;
    if (geo) {
        double cells = ((bn - bs) / SX_CELL_DEG + 1) *
                       ((bw > be ? be + 360 - bw : be - bw) / SX_CELL_DEG + 1);
        use_cells = cells <= ix->ndocs / 4.0 + 64;
    }
    /* the candidates, as a bitset in s->acc; from the grid, with the docs
     * of cells the area only partly covers in s->edge */
    const uint64_t *edge = NULL;
    seed_t sd = {.p = &p, .acc = s->acc, .edge = s->edge};
    if (p.text) {
        /* a map area holding fewer docs than the rarest word's postings
         * makes the candidates: the words then only score docs in it */
        if (use_cells) {
            uint64_t in_area = 0;
            for_cells(ix, bs, bw, bn, be, count_cell, &in_area);
            if (in_area < s->w[0].cost) {
                memset(s->acc, 0, (size_t)s->words * 8);
                memset(s->edge, 0, (size_t)s->words * 8);
                for_cells(ix, bs, bw, bn, be, seed_cell, &sd);
                edge = s->edge;
            }
        }
        eval_text(ix, s, nw, q->fields, edge != NULL);
    } else if (use_cells) {
        memset(s->acc, 0, (size_t)s->words * 8);
        memset(s->edge, 0, (size_t)s->words * 8);
        for_cells(ix, bs, bw, bn, be, seed_cell, &sd);
        edge = s->edge;
    } else {
        memset(s->acc, 0, (size_t)s->words * 8);
        if (ix->vbwords) /* none before the first doc */
            memcpy(s->acc, ix->vb[SX_VB_LIVE], (size_t)(ix->ndocs / 64 + 1) * 8);
    }
    uint64_t ncand = count_bits(s->acc, ix->ndocs / 64 + 1);
    if (bits_fit(q) && s->dense && ncand * s->dense > ix->ndocs)
        pass_bits(&p, s, edge);
    else
        visit_bits(&p, s->acc, s->words);
done:
    qsort(out->hits, (size_t)out->nhits, sizeof(out->hits[0]), cmp_hits);
    if (out->nhits > q->limit) {
        out->nhits = q->limit;
        out->has_next = 1;
        const sx_hit_t *last = &out->hits[q->limit - 1];
        out->next = (sx_cursor_t){.key = last->key, .tie = last->tie,
                                  .qhash = sx_query_hash(q), .sort = q->sort};
    }
    for (int i = 0; i < out->nhits; i++) {
        sx_hit_t *h = &out->hits[i];
        h->distance_km = q->has_center ? sx_haversine_km(q->lat, q->lon, ix->row[h->doc].lat6 / 1e6,
                                                         ix->row[h->doc].lon6 / 1e6)
                                       : -1;
    }
    return SX_OK;
}
