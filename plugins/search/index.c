/*
 * index.c — the `memory` backend's index: listings, docs and their terms.
 *
 * A put tombstones the listing's previous doc and appends a new one, so
 * every structure below only ever appends (postings, grid cells) and doc ids
 * stay increasing — which is what keeps postings delta-encoded and lets a
 * reader trust that a doc's attributes never change under it.  Tombstones
 * cost memory until sx_index_compact renumbers.
 *
 * Ownership: the index owns everything reachable from it; sx_listing_in_t is
 * borrowed for the duration of the call.
 */
#include "sx.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

sx_index_t *sx_index_new(void) { return sx_calloc(1, sizeof(sx_index_t)); }

void sx_index_free(sx_index_t *ix)
{
    if (!ix)
        return;
    sx_termdict_free(&ix->terms);
    sx_termdict_free(&ix->anames);
    sx_free(ix->acode);
    sx_free(ix->aoff);
    sx_free(ix->an);
    sx_free(ix->aterms);
    sx_fuzzy_free(&ix->fuzzy);
    sx_cells_free(&ix->cells);
    void *docarrays[] = {ix->row, ix->listing, ix->nightly, ix->monthly, ix->listed, ix->tie,
                         ix->desclen, ix->dr};
    for (size_t i = 0; i < sizeof(docarrays) / sizeof(docarrays[0]); i++)
        sx_free(docarrays[i]);
    for (int i = 0; i < SX_VB_N; i++)
        sx_free(ix->vb[i]);
    for (uint32_t i = 0; i < ix->nl; i++) {
        sx_free(ix->l[i].blob);
        sx_free(ix->l[i].ranges);
    }
    sx_free(ix->l);
    sx_hmap_free(&ix->lmap);
    sx_free(ix->b);
    sx_hmap_free(&ix->bmap);
    for (uint32_t i = 0; i < ix->nplaces; i++)
        sx_free(ix->places[i].name);
    sx_free(ix->places);
    sx_hmap_free(&ix->pmap);
    sx_free(ix->seen);
    sx_free(ix->dterms);
    sx_free(ix);
}

/* ---- listings ---------------------------------------------------------- */

static int listing_eq(const void *ctx, uint32_t slot, const void *key, size_t len)
{
    const sx_listing_t *l = &((const sx_index_t *)ctx)->l[slot];
    return l->hlen == len && memcmp(l->blob, key, len) == 0;
}

static uint32_t listing_find(const sx_index_t *ix, const char *id)
{
    size_t n = strlen(id);
    return sx_hmap_get(&ix->lmap, sx_hash(id, n), listing_eq, ix, id, n);
}

const sx_listing_t *sx_index_listing(const sx_index_t *ix, const char *id)
{
    uint32_t s = listing_find(ix, id);
    return s == SX_NONE ? NULL : &ix->l[s];
}

/* The slot of id, created empty (version 0, no doc) if unknown. */
static uint32_t listing_slot(sx_index_t *ix, const char *id)
{
    uint32_t s = listing_find(ix, id);
    if (s != SX_NONE)
        return s;
    size_t n = strlen(id);
    if (sx_grow(&ix->l, &ix->lcap, ix->nl + 1, sizeof(*ix->l)) < 0)
        return SX_NONE;
    sx_listing_t *l = &ix->l[ix->nl];
    memset(l, 0, sizeof(*l));
    if (!(l->blob = sx_strndup(id, n)))
        return SX_NONE;
    l->hlen = (uint32_t)n;
    l->doc = SX_NONE;
    for (int f = 1; f < 8; f++)
        l->off[f] = (uint32_t)n; /* every other field: the id's NUL, i.e. "" */
    if (sx_hmap_put(&ix->lmap, sx_hash(id, n), ix->nl) < 0) {
        sx_free(l->blob);
        return SX_NONE;
    }
    return ix->nl++;
}

static int set_blob(sx_listing_t *l, const sx_listing_in_t *in)
{
    const char *f[8] = {in->id, in->title, in->description, in->neighbourhood, in->city,
                        in->country, in->nightly_cur, in->monthly_cur};
    size_t len[8], total = 0;
    for (int i = 0; i < 8; i++) {
        len[i] = f[i] ? strlen(f[i]) : 0;
        total += len[i] + 1;
    }
    char *b = sx_malloc(total), *o = b;
    if (!b)
        return SX_ENOMEM;
    for (int i = 0; i < 8; i++) {
        l->off[i] = (uint32_t)(o - b);
        if (len[i])
            memcpy(o, f[i], len[i]);
        o[len[i]] = '\0';
        o += len[i] + 1;
    }
    sx_free(l->blob);
    l->blob = b;
    return 0;
}

/* ---- places (suggest) ------------------------------------------------------ */

static int place_eq(const void *ctx, uint32_t slot, const void *key, size_t len)
{
    const struct sx_place *p = &((const sx_index_t *)ctx)->places[slot];
    return strlen(p->name) == len && memcmp(p->name, key, len) == 0;
}

/* Count one more (delta 1) or one less (-1) live doc in place name. */
static int place_count(sx_index_t *ix, const char *name, uint8_t kind, int delta)
{
    char key[200];
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > 150)
        return 0;
    key[0] = (char)('0' + kind); /* "Brisbane" the city and the suburb are two places */
    memcpy(key + 1, name, n);
    n++;
    uint64_t h = sx_hash(key, n);
    uint32_t s = sx_hmap_get(&ix->pmap, h, place_eq, ix, key, n);
    if (s == SX_NONE) {
        if (delta < 0)
            return 0;
        if (sx_grow(&ix->places, &ix->placecap, ix->nplaces + 1, sizeof(*ix->places)) < 0)
            return SX_ENOMEM;
        char *nm = sx_strndup(key, n);
        if (!nm || sx_hmap_put(&ix->pmap, h, ix->nplaces) < 0) {
            sx_free(nm);
            return SX_ENOMEM;
        }
        s = ix->nplaces++;
        ix->places[s] = (struct sx_place){.name = nm, .count = 0, .kind = kind};
    }
    ix->places[s].count += (uint32_t)delta;
    return 0;
}

/* ---- docs ------------------------------------------------------------------- */

static inline void vb_set(sx_index_t *ix, int v, uint32_t doc) { ix->vb[v][doc >> 6] |= 1ull << (doc & 63); }
static inline void vb_clear(sx_index_t *ix, int v, uint32_t doc) { ix->vb[v][doc >> 6] &= ~(1ull << (doc & 63)); }

/* Room in every value bitset for doccap docs. */
static int grow_bits(sx_index_t *ix, uint32_t doccap)
{
    uint32_t words = doccap / 64 + 1;
    if (words <= ix->vbwords)
        return 0;
    for (int i = 0; i < SX_VB_N; i++) {
        uint64_t *b = sx_realloc(ix->vb[i], (size_t)words * 8);
        if (!b)
            return SX_ENOMEM; /* those grown so far are zeroed again next time */
        memset(b + ix->vbwords, 0, (size_t)(words - ix->vbwords) * 8);
        ix->vb[i] = b;
    }
    ix->vbwords = words;
    return 0;
}

/* Set the value bits of a live doc from its row. */
static void vb_fill(sx_index_t *ix, uint32_t doc)
{
    const sx_drow_t *r = &ix->row[doc];
    vb_set(ix, SX_VB_LIVE, doc);
    if (r->flags & SX_DOC_INSTANT)
        vb_set(ix, SX_VB_INSTANT, doc);
    if (r->nr)
        vb_set(ix, SX_VB_RANGES, doc);
    if (r->type != 255)
        vb_set(ix, SX_VB_TYPE + r->type, doc);
    if (r->bedrooms != 255)
        vb_set(ix, SX_VB_BED + (r->bedrooms < SX_BED_VALUES ? r->bedrooms : SX_BED_VALUES - 1), doc);
    for (uint32_t m = r->amen; m; m &= m - 1)
        vb_set(ix, SX_VB_AMEN + __builtin_ctz(m), doc);
    if (r->pbn != SX_NO_BUCKET)
        vb_set(ix, SX_VB_PBN + r->pbn, doc);
    if (r->pbm != SX_NO_BUCKET)
        vb_set(ix, SX_VB_PBM + r->pbm, doc);
}

static int grow_docs(sx_index_t *ix)
{
    if (grow_bits(ix, ix->doccap) < 0)
        return SX_ENOMEM;
    if (ix->ndocs < ix->doccap)
        return 0;
    uint32_t need = ix->ndocs + 1, cap = ix->doccap, c;
#define G(a)                                                                \
    c = cap;                                                                \
    if (sx_grow(&ix->a, &c, need, sizeof(*ix->a)) < 0)                      \
        return SX_ENOMEM;
    G(row) G(listing) G(nightly) G(monthly) G(listed) G(tie) G(desclen)
#undef G
    ix->doccap = c; /* every array grew by the same rule */
    return grow_bits(ix, c);
}

/* ---- taken nights of docs ------------------------------------------------- */

/* Drop the stale copies: every live doc's ranges move to a fresh array. */
static int dr_compact(sx_index_t *ix)
{
    uint32_t n = 0, cap = 0;
    for (uint32_t d = 0; d < ix->ndocs; d++)
        if ((ix->row[d].flags & SX_DOC_LIVE) && ix->row[d].nr != SX_NR_MANY)
            n += ix->row[d].nr;
    sx_span_t *dr = NULL;
    if (sx_grow(&dr, &cap, n + 64, sizeof(*dr)) < 0)
        return SX_ENOMEM;
    n = 0;
    for (uint32_t d = 0; d < ix->ndocs; d++) {
        sx_drow_t *r = &ix->row[d];
        if (!(r->flags & SX_DOC_LIVE) || r->nr == SX_NR_MANY)
            continue;
        memcpy(dr + n, ix->dr + r->roff, (size_t)r->nr * sizeof(*dr));
        r->roff = n;
        n += r->nr;
    }
    sx_free(ix->dr);
    ix->dr = dr;
    ix->ndr = n;
    ix->drcap = cap;
    ix->drdead = 0;
    return 0;
}

/* Copy listing l's taken ranges next to its doc's row (and keep the row's
 * SX_DOC_RANGES bit equal to "has taken dates"). */
static int doc_ranges_set(sx_index_t *ix, uint32_t doc, const sx_listing_t *l)
{
    sx_drow_t *r = &ix->row[doc];
    if (r->nr != SX_NR_MANY)
        ix->drdead += r->nr;
    r->nr = 0;
    r->roff = 0;
    if (!l->nranges) {
        r->flags &= (uint8_t)~SX_DOC_RANGES;
        vb_clear(ix, SX_VB_RANGES, doc);
        return 0;
    }
    r->flags |= SX_DOC_RANGES;
    vb_set(ix, SX_VB_RANGES, doc);
    if (l->nranges >= SX_NR_MANY) {
        r->nr = SX_NR_MANY;
        return 0;
    }
    if (ix->drdead > 4096 && ix->drdead > ix->ndr / 2 && dr_compact(ix) < 0)
        return SX_ENOMEM;
    if (sx_grow(&ix->dr, &ix->drcap, ix->ndr + l->nranges, sizeof(*ix->dr)) < 0) {
        r->nr = SX_NR_MANY; /* still right: queries read the listing's ranges */
        return SX_ENOMEM;
    }
    for (uint32_t i = 0; i < l->nranges; i++)
        ix->dr[ix->ndr + i] = (sx_span_t){l->ranges[i].start, l->ranges[i].end};
    r->roff = ix->ndr;
    r->nr = (uint8_t)l->nranges;
    ix->ndr += l->nranges;
    return 0;
}

static void kill_doc(sx_index_t *ix, uint32_t doc)
{
    sx_drow_t *r = &ix->row[doc];
    if (!(r->flags & SX_DOC_LIVE))
        return;
    r->flags &= (uint8_t)~SX_DOC_LIVE;
    vb_clear(ix, SX_VB_LIVE, doc);
    if (r->nr != SX_NR_MANY)
        ix->drdead += r->nr;
    r->nr = 0;
    ix->nlive--;
    ix->desclen_sum -= ix->desclen[doc];
    const sx_listing_t *l = &ix->l[ix->listing[doc]];
    place_count(ix, sx_lstr(l, SX_L_CITY), 0, -1);
    place_count(ix, sx_lstr(l, SX_L_HOOD), 1, -1);
}

typedef struct addctx {
    sx_index_t *ix;
    uint8_t field;
    uint32_t ntok;
    int err;
    int collect;       /* amenity names: append term ids to ix->aterms instead */
} addctx_t;

/* The id of a term of a doc being added, interned (and filed for typos) if new. */
static uint32_t intern(sx_index_t *ix, const char *t, size_t n)
{
    int added;
    uint32_t id = sx_term_intern(&ix->terms, t, n, &added);
    if (id == SX_NONE)
        return SX_NONE;
    if (added) {
        if (sx_fuzzy_add(&ix->fuzzy, t, n, id) < 0)
            return SX_NONE;
        uint32_t old = ix->seencap;
        if (sx_grow(&ix->seen, &ix->seencap, ix->terms.n, sizeof(*ix->seen)) < 0)
            return SX_NONE;
        memset(ix->seen + old, 0, (size_t)(ix->seencap - old) * sizeof(*ix->seen));
    }
    return id;
}

/* Count term id in field for the doc being added. */
static int note(sx_index_t *ix, uint32_t id, uint8_t field)
{
    uint32_t at = ix->seen[id];
    if (!at) {
        if (sx_grow(&ix->dterms, &ix->dtermcap, ix->ndterms + 1, sizeof(*ix->dterms)) < 0)
            return SX_ENOMEM;
        ix->dterms[ix->ndterms] = (struct sx_dterm){.term = id, .flags = 0};
        ix->seen[id] = at = ++ix->ndterms;
    }
    uint8_t *f = &ix->dterms[at - 1].flags;
    if (field == SX_F_DESC) {
        if ((*f >> SX_TF_SHIFT) < 31)
            *f = (uint8_t)(*f + (1 << SX_TF_SHIFT));
    } else {
        *f |= field;
    }
    return 0;
}

static int add_token(const sx_token_t *t, void *u)
{
    addctx_t *a = u;
    sx_index_t *ix = a->ix;
    uint32_t id = intern(ix, t->text, t->len);
    if (id == SX_NONE)
        goto nomem;
    a->ntok++;
    if (a->collect) {
        if (sx_grow(&ix->aterms, &ix->atermcap, ix->naterms + 1, sizeof(*ix->aterms)) < 0)
            goto nomem;
        ix->aterms[ix->naterms++] = id;
        return 0;
    }
    if (note(ix, id, a->field) < 0)
        goto nomem;
    return 0;
nomem:
    a->err = SX_ENOMEM;
    return 1;
}

static int tokenize_field(addctx_t *a, const char *s, uint8_t field)
{
    if (!s)
        return 0;
    a->field = field;
    sx_tokenize(s, strlen(s), add_token, a);
    return a->err;
}

/* Note the terms of amenity name for the doc being added and return its
 * code (-1: none), tokenizing and classifying each name only once. */
static int amenity(sx_index_t *ix, const char *name)
{
    int added;
    uint32_t id = sx_term_intern(&ix->anames, name, strlen(name), &added);
    if (id == SX_NONE || sx_grow(&ix->acode, &ix->acodecap, id + 1, 1) < 0 ||
        sx_grow(&ix->aoff, &ix->aoffcap, id + 1, sizeof(*ix->aoff)) < 0 ||
        sx_grow(&ix->an, &ix->ancap, id + 1, sizeof(*ix->an)) < 0)
        return SX_ENOMEM;
    if (added) {
        addctx_t a = {.ix = ix, .collect = 1};
        ix->aoff[id] = ix->naterms;
        sx_tokenize(name, strlen(name), add_token, &a);
        if (a.err) {
            ix->an[id] = 0; /* a later doc with this name lacks its words: out of memory anyway */
            return SX_ENOMEM;
        }
        ix->an[id] = ix->naterms - ix->aoff[id];
        ix->acode[id] = (int8_t)sx_amenity_code(name);
    }
    for (uint32_t i = 0; i < ix->an[id]; i++)
        if (note(ix, ix->aterms[ix->aoff[id] + i], SX_F_AMENITY) < 0)
            return SX_ENOMEM;
    return ix->acode[id];
}

static uint8_t small(int v) { return v < 0 ? 255 : v > 254 ? 254 : (uint8_t)v; }

static uint32_t row_price(int64_t v) { return v <= 0 ? 0 : v >= SX_PRICE_BIG ? SX_PRICE_BIG : (uint32_t)v; }
static uint8_t row_bucket(int64_t v) { return v > 0 ? (uint8_t)sx_price_bucket(v) : SX_NO_BUCKET; }

static int add_doc(sx_index_t *ix, uint32_t slot, const sx_listing_in_t *in)
{
    int rc;
    if ((rc = grow_docs(ix)) < 0)
        return rc;
    uint32_t doc = ix->ndocs;
    addctx_t a = {.ix = ix};
    ix->ndterms = 0;
    if (tokenize_field(&a, in->title, SX_F_TITLE) < 0 ||
        tokenize_field(&a, in->neighbourhood, SX_F_PLACE) < 0 ||
        tokenize_field(&a, in->city, SX_F_PLACE) < 0)
        goto fail;
    uint32_t amen = 0;
    for (size_t i = 0; i < in->namenities; i++) {
        int c = amenity(ix, in->amenities[i]);
        if (c == SX_ENOMEM)
            goto fail;
        if (c >= 0)
            amen |= 1u << c;
    }
    a.ntok = 0;
    if (tokenize_field(&a, in->description, SX_F_DESC) < 0)
        goto fail;
    for (uint32_t i = 0; i < ix->ndterms; i++) {
        ix->seen[ix->dterms[i].term] = 0;
        if (sx_postings_add(&ix->terms.post[ix->dterms[i].term], doc, ix->dterms[i].flags) < 0)
            goto nomem; /* the postings added so far point at a doc that is not live: harmless */
    }
    if (sx_cells_add(&ix->cells, (int32_t)lround(in->lat * 1e6), (int32_t)lround(in->lon * 1e6), doc) < 0)
        goto nomem;
    int type = in->type ? sx_type_code(in->type) : -1;
    ix->listing[doc] = slot;
    ix->nightly[doc] = in->nightly;
    ix->monthly[doc] = in->monthly;
    ix->listed[doc] = in->listed_at;
    ix->tie[doc] = sx_hash(in->id, strlen(in->id));
    ix->desclen[doc] = (uint16_t)(a.ntok > 65535 ? 65535 : a.ntok);
    ix->row[doc] = (sx_drow_t){
        .lat6 = (int32_t)lround(in->lat * 1e6), .lon6 = (int32_t)lround(in->lon * 1e6),
        .amen = amen, .pn = row_price(in->nightly), .pm = row_price(in->monthly),
        .flags = (uint8_t)(SX_DOC_LIVE | (in->instant_book ? SX_DOC_INSTANT : 0)),
        .type = type < 0 ? 255 : (uint8_t)type, .bedrooms = small(in->bedrooms),
        .bath2 = small(in->bathrooms_x2), .guests = small(in->max_guests),
        .pbn = row_bucket(in->nightly), .pbm = row_bucket(in->monthly)};
    if (doc_ranges_set(ix, doc, &ix->l[slot]) < 0)
        ix->row[doc].nr = SX_NR_MANY; /* out of memory: the listing's ranges still answer */
    vb_fill(ix, doc);
    ix->ndocs++;
    ix->nlive++;
    ix->desclen_sum += ix->desclen[doc];
    ix->l[slot].doc = doc;
    place_count(ix, in->city, 0, 1);
    place_count(ix, in->neighbourhood, 1, 1);
    return 0;
fail:
nomem:
    for (uint32_t i = 0; i < ix->ndterms; i++)
        ix->seen[ix->dterms[i].term] = 0;
    /* some postings may name this doc already: burn its id as a dead doc so
     * the next one stays greater, as postings need */
    memset(&ix->row[doc], 0, sizeof(ix->row[doc]));
    ix->listing[doc] = slot;
    ix->desclen[doc] = 0;
    ix->ndocs++;
    return SX_ENOMEM;
}

int sx_index_put(sx_index_t *ix, const sx_listing_in_t *in)
{
    if (!in->id || !in->id[0])
        return SX_EINVAL;
    uint32_t slot = listing_slot(ix, in->id);
    if (slot == SX_NONE)
        return SX_ENOMEM;
    sx_listing_t *l = &ix->l[slot];
    if (in->version <= l->version && l->version > 0)
        return SX_STALE;
    if (l->doc != SX_NONE) {
        kill_doc(ix, l->doc);
        l->doc = SX_NONE;
    }
    l->version = in->version;
    if (set_blob(l, in) < 0)
        return SX_ENOMEM;
    sx_ranges_remove_src(l->ranges, &l->nranges, SX_SRC_BLOCK);
    for (size_t i = 0; i < in->nblocks; i++) {
        sx_range_t r = in->blocks[i];
        r.src = SX_SRC_BLOCK;
        if (r.end > r.start && sx_ranges_insert(&l->ranges, &l->nranges, &l->rangecap, r) < 0)
            return SX_ENOMEM;
    }
    if (!in->published)
        return SX_OK;
    return add_doc(ix, slot, in);
}

int sx_index_remove(sx_index_t *ix, const char *id, int64_t version)
{
    uint32_t slot = listing_slot(ix, id); /* remembered, so a late older put is stale */
    if (slot == SX_NONE)
        return SX_ENOMEM;
    sx_listing_t *l = &ix->l[slot];
    if (version <= l->version && l->version > 0)
        return SX_STALE;
    l->version = version;
    if (l->doc != SX_NONE) {
        kill_doc(ix, l->doc);
        l->doc = SX_NONE;
    }
    return SX_OK;
}

/* The listing's taken dates changed: refresh its doc's copy. */
static void sync_ranges(sx_index_t *ix, const sx_listing_t *l)
{
    if (l->doc != SX_NONE)
        doc_ranges_set(ix, l->doc, l); /* out of memory: SX_NR_MANY, still right */
}

/* ---- bookings ------------------------------------------------------------ */

static int booking_eq(const void *ctx, uint32_t slot, const void *key, size_t len)
{
    (void)len;
    return ((const sx_index_t *)ctx)->b[slot].h == *(const uint64_t *)key;
}

int sx_index_booking(sx_index_t *ix, const char *booking_id, const char *listing_id,
                     int64_t version, int active, int32_t ci, int32_t co)
{
    /* bookings are known by a 64-bit hash of their id: a collision needs about
     * 4 billion bookings for a one-in-a-billion chance */
    uint64_t h = sx_hash(booking_id, strlen(booking_id));
    uint32_t s = sx_hmap_get(&ix->bmap, h, booking_eq, ix, &h, sizeof(h));
    if (s == SX_NONE) {
        if (!active && version <= 0)
            return SX_OK; /* freeing what we never saw taken */
        if (sx_grow(&ix->b, &ix->bcap, ix->nb + 1, sizeof(*ix->b)) < 0 ||
            sx_hmap_put(&ix->bmap, h, ix->nb) < 0)
            return SX_ENOMEM;
        s = ix->nb++;
        ix->b[s] = (struct sx_booking){.h = h, .listing = SX_NONE, .version = -1};
    }
    struct sx_booking *b = &ix->b[s];
    if (version > 0 && version <= b->version)
        return SX_STALE;
    if (b->active && b->listing != SX_NONE) {
        sx_listing_t *old = &ix->l[b->listing];
        sx_ranges_remove_src(old->ranges, &old->nranges, h);
        sync_ranges(ix, old);
    }
    b->version = version;
    b->active = 0;
    if (!active || co <= ci)
        return SX_OK;
    uint32_t slot = listing_slot(ix, listing_id);
    if (slot == SX_NONE)
        return SX_ENOMEM;
    b = &ix->b[s];
    sx_listing_t *l = &ix->l[slot];
    sx_range_t r = {.start = ci, .end = co, .src = h};
    if (sx_ranges_insert(&l->ranges, &l->nranges, &l->rangecap, r) < 0)
        return SX_ENOMEM;
    sync_ranges(ix, l);
    b->listing = slot;
    b->start = ci;
    b->end = co;
    b->active = 1;
    return SX_OK;
}

/* ---- maintenance ---------------------------------------------------------- */

int sx_index_prepare(sx_index_t *ix) { return sx_termdict_sort(&ix->terms); }

int sx_index_compact(sx_index_t *ix)
{
    uint32_t *remap = sx_malloc((size_t)(ix->ndocs ? ix->ndocs : 1) * sizeof(*remap));
    uint32_t docs[SX_BLOCK];
    uint8_t fl[SX_BLOCK];
    if (!remap)
        return SX_ENOMEM;
    sx_postings_t *np = NULL;
    uint32_t n = 0;
    for (uint32_t d = 0; d < ix->ndocs; d++)
        remap[d] = (ix->row[d].flags & SX_DOC_LIVE) ? n++ : SX_NONE;
    /* postings: rewrite every list keeping live docs, renumbered (order kept);
     * all new lists first, so running out of memory leaves the index as it was */
    np = sx_calloc(ix->terms.n ? ix->terms.n : 1, sizeof(*np));
    if (!np)
        goto nomem;
    for (uint32_t t = 0; t < ix->terms.n; t++) {
        const sx_postings_t *old = &ix->terms.post[t];
        for (uint32_t b = 0; b < old->nblk; b++) {
            uint32_t k = sx_postings_block(old, b, docs, fl);
            for (uint32_t i = 0; i < k; i++)
                if (remap[docs[i]] != SX_NONE && sx_postings_add(&np[t], remap[docs[i]], fl[i]) < 0)
                    goto nomem;
        }
    }
    for (uint32_t t = 0; t < ix->terms.n; t++) {
        sx_postings_free(&ix->terms.post[t]);
        ix->terms.post[t] = np[t];
    }
    sx_free(np);
    for (uint32_t c = 0; c < ix->cells.n; c++) {
        uint32_t o = 0;
        for (uint32_t i = 0; i < ix->cells.ndocs[c]; i++) {
            uint32_t d = remap[ix->cells.docs[c][i]];
            if (d != SX_NONE)
                ix->cells.docs[c][o++] = d;
        }
        ix->cells.ndocs[c] = o;
    }
    for (uint32_t d = 0; d < ix->ndocs; d++) {
        uint32_t to = remap[d];
        if (to == SX_NONE)
            continue;
        ix->row[to] = ix->row[d];
        ix->listing[to] = ix->listing[d];
        ix->nightly[to] = ix->nightly[d];
        ix->monthly[to] = ix->monthly[d];
        ix->listed[to] = ix->listed[d];
        ix->tie[to] = ix->tie[d];
        ix->desclen[to] = ix->desclen[d];
        ix->l[ix->listing[to]].doc = to;
    }
    ix->ndocs = n;
    for (int v = 0; v < SX_VB_N; v++)
        memset(ix->vb[v], 0, (size_t)ix->vbwords * 8);
    for (uint32_t d = 0; d < n; d++)
        vb_fill(ix, d);
    sx_free(remap);
    return 0;
nomem:
    for (uint32_t t = 0; np && t < ix->terms.n; t++)
        sx_postings_free(&np[t]);
    sx_free(np);
    sx_free(remap);
    return SX_ENOMEM;
}
