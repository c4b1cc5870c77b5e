/*
 * sx.h — the search core: the in-memory index and its query engine.
 *
 * Everything declared here is free of the host: the plugin (plugin.c,
 * http.c, events.c) is a thin layer over it, and the unit tests
 * (tests/unit/test_search_*.c) and the benchmark tool
 * (bench/search/searchbench.c) compile these files directly.
 *
 * Model.  A *listing* is a rental known by its external id (the property
 * plugin's UUID); it lives as long as the index knows anything about it
 * (its latest version, its booked dates).  A *doc* is one indexed
 * incarnation of a published listing: doc ids are handed out in increasing
 * order, so postings are append-only and delta-encoded.  A new version of a
 * listing gets a new doc id and the old one becomes a tombstone; compaction
 * renumbers when tombstones pile up (sx_index_compact).
 *
 * Threads: an index is written by one thread.  Queries only read it, so
 * several threads may query at once, each with its own sx_searcher_t, as
 * long as nobody writes meanwhile and sx_index_prepare() ran after the last
 * write (the plugin runs everything on its loop thread: no locks).
 *
 * Errors: 0 or a positive SX_* status on success, a negative SX_E* code on
 * failure.  Memory: every allocation goes through sx_malloc & co, so
 * sx_mem_used() is the index's footprint (the /v1/search/stats figure).
 */
#ifndef SX_H
#define SX_H

#include <stddef.h>
#include <stdint.h>

enum {
    SX_OK = 0,
    SX_STALE = 1,      /* put/remove: an equal or newer version is already applied */
    SX_ENOMEM = -2,
    SX_EINVAL = -3
};

/* ---- memory (mem.c) -------------------------------------------------------- */

void *sx_malloc(size_t n);
void *sx_calloc(size_t n, size_t size);
void *sx_realloc(void *p, size_t n);
void sx_free(void *p);
char *sx_strndup(const char *s, size_t n);
size_t sx_mem_used(void);
/* Grow *p (of *cap elements of size sz) to hold at least need elements. */
int sx_grow(void *p, uint32_t *cap, uint32_t need, size_t sz);

uint64_t sx_hash(const void *p, size_t n); /* 64-bit FNV-1a mixed; never 0 */

/* ---- hash map: 64-bit hash -> uint32 value (hmap.c) --------------------------
 * Keys are not stored: the caller compares candidates through eq(), usually by
 * looking the key up in its own table with the value as the index.  Values are
 * anything but SX_NONE. */
#define SX_NONE UINT32_MAX
typedef int (*sx_eq_fn)(const void *ctx, uint32_t val, const void *key, size_t len);
typedef struct sx_hslot {
    uint64_t h;       /* 0 = empty */
    uint32_t v;
} sx_hslot_t;         /* hash and value side by side: one cache miss a probe */
typedef struct sx_hmap {
    sx_hslot_t *s;
    uint32_t cap, n;  /* cap a power of two */
} sx_hmap_t;
uint32_t sx_hmap_get(const sx_hmap_t *m, uint64_t h, sx_eq_fn eq, const void *ctx,
                     const void *key, size_t len);
int sx_hmap_put(sx_hmap_t *m, uint64_t h, uint32_t val); /* key must be absent */
/* Remove the entry with hash h and value val; 1 if it was there. */
int sx_hmap_del(sx_hmap_t *m, uint64_t h, uint32_t val);
void sx_hmap_free(sx_hmap_t *m);

/* ---- UTF-8 folding and tokens (fold.c, tokenize.c) ---------------------------- */

#define SX_TOKEN_MAX 64 /* bytes; longer words are cut (at a character boundary) */

/* Decode one code point at s (n bytes left); *len gets its length.  Invalid
 * bytes decode as U+FFFD with length 1, so every input terminates. */
uint32_t sx_utf8_decode(const unsigned char *s, size_t n, size_t *len);
size_t sx_utf8_encode(uint32_t cp, char *out); /* 1..4 bytes */
/* Case and accent folding of one code point: lower case, accents dropped for
 * Latin, Greek and Cyrillic, fullwidth forms to ASCII, ligatures spelled out
 * (ß -> ss).  Writes 0..7 bytes (0 for a combining mark); returns the length. */
size_t sx_fold_cp(uint32_t cp, char *out);
int sx_is_cjk(uint32_t cp);
/* Fold a whole string into out (NUL-terminated, cut at cap); returns length. */
size_t sx_fold_str(const char *s, size_t n, char *out, size_t cap);

enum { SX_TOK_WORD = 0, SX_TOK_CJK1, SX_TOK_CJK2 };
typedef struct sx_token {
    char text[SX_TOKEN_MAX + 8]; /* folded, NUL-terminated */
    uint32_t len;                /* bytes in text */
    uint32_t start, end;         /* byte span in the source text */
    int kind;                    /* SX_TOK_* */
    int run;                     /* CJK: ordinal of the run this token is from */
} sx_token_t;
/* Calls fn for each token of s: words of letters and digits (folded), and for
 * each run of CJK characters its unigrams and its bigrams.  Stops when fn
 * returns non-zero and returns that value; otherwise 0. */
typedef int (*sx_token_fn)(const sx_token_t *t, void *udata);
int sx_tokenize(const char *s, size_t n, sx_token_fn fn, void *udata);

/* ---- term dictionary (termdict.c) ---------------------------------------- */

typedef struct sx_postings {
    uint8_t *buf;       /* blocks of (varint doc delta, flags byte) */
    uint32_t len, cap;
    uint32_t n;         /* postings, tombstones included (the df of BM25) */
    uint32_t last_doc;  /* last appended doc */
    uint32_t *blk;      /* per block: first doc, byte offset (pairs) */
    uint32_t nblk, blkcap;
    uint8_t inblk;      /* postings in the last block */
} sx_postings_t;

typedef struct sx_termdict {
    char *chars;              /* every term's bytes + NUL, back to back */
    uint32_t nchars, charcap;
    uint32_t *off;            /* term id -> offset in chars */
    uint16_t *len;            /* term id -> length */
    sx_postings_t *post;      /* term id -> postings */
    uint32_t n, cap;
    sx_hmap_t map;            /* term -> id */
    uint32_t *sorted;         /* ids in byte order, for prefixes; valid if !dirty */
    uint32_t nsorted;
    int dirty;
} sx_termdict_t;
uint32_t sx_term_find(const sx_termdict_t *d, const char *t, size_t n);
/* The id of t, added if new (*added set). SX_NONE when out of memory. */
uint32_t sx_term_intern(sx_termdict_t *d, const char *t, size_t n, int *added);
static inline const char *sx_term_str(const sx_termdict_t *d, uint32_t id) { return d->chars + d->off[id]; }
int sx_termdict_sort(sx_termdict_t *d); /* refresh the sorted view */
/* Ids of terms starting with prefix (sorted view must be fresh): [*lo, *hi). */
void sx_term_prefix_range(const sx_termdict_t *d, const char *p, size_t n, uint32_t *lo, uint32_t *hi);
void sx_termdict_free(sx_termdict_t *d);

/* ---- postings (postings.c) -------------------------------------------------
 * flags: which fields hold the term, and its frequency in the description. */
enum { SX_F_TITLE = 1, SX_F_PLACE = 2, SX_F_AMENITY = 4, SX_F_DESC = 8 };
#define SX_TF_SHIFT 3 /* flags >> 3 = description tf, 1..31 (0 = not there) */
#define SX_BLOCK 128  /* postings per block */
int sx_postings_add(sx_postings_t *p, uint32_t doc, uint8_t flags); /* doc > last */
typedef struct sx_piter {
    const sx_postings_t *p;
    uint32_t pos, blk, inblk, doc;
} sx_piter_t;
void sx_piter_init(sx_piter_t *it, const sx_postings_t *p);
/* Next posting: 1 with *doc and *flags, or 0 at the end. */
int sx_piter_next(sx_piter_t *it, uint32_t *doc, uint8_t *flags);
/* Decode block b (< p->nblk) into docs[] and flags[] (room for SX_BLOCK);
 * returns the count.  Block b holds docs from blk[2b] up to, not including,
 * blk[2b+2] (or through last_doc for the last block). */
uint32_t sx_postings_block(const sx_postings_t *p, uint32_t b, uint32_t *docs, uint8_t *flags);
void sx_postings_free(sx_postings_t *p);

/* ---- fuzzy matching (fuzzy.c) ---------------------------------------------------
 * A deletion neighbourhood (SymSpell): each ASCII term of 4+ bytes is filed
 * under the hashes of itself with one letter deleted (and with two deleted for
 * 7+ bytes), so a query word finds the terms within 1 or 2 edits by hashing its
 * own deletions, then confirms with the real distance. */
typedef struct sx_fuzzy {
    uint64_t *h;    /* open addressing multimap: hash (0 empty) -> term id */
    uint32_t *id;
    uint32_t cap, n;
} sx_fuzzy_t;
int sx_fuzzy_add(sx_fuzzy_t *f, const char *t, size_t n, uint32_t id);
/* Optimal string alignment distance (Damerau-Levenshtein with adjacent
 * transpositions), or max+1 when it exceeds max. */
int sx_osa(const char *a, size_t na, const char *b, size_t nb, int max);
int sx_typos_allowed(size_t len); /* 0 below 5 letters, 1 from 5, 2 from 9 */
typedef void (*sx_fuzzy_fn)(uint32_t id, int dist, void *udata);
/* Every term id within max edits of w (each once; w itself included). */
int sx_fuzzy_find(const sx_fuzzy_t *f, const sx_termdict_t *d, const char *w, size_t n, int max,
                  sx_fuzzy_fn fn, void *udata);
void sx_fuzzy_free(sx_fuzzy_t *f);

/* ---- geo (geo.c) ---------------------------------------------------------------- */

#define SX_POLY_MAX 64
#define SX_CELL_DEG 0.01 /* grid cell: 0.01 degree (about 1.1 km north-south) */
double sx_haversine_km(double lat1, double lon1, double lat2, double lon2);
/* Point in polygon (even-odd rule); vertices as lat[i], lon[i]. */
int sx_point_in_poly(double lat, double lon, const double *plat, const double *plon, int n);
typedef struct sx_cells {
    sx_hmap_t map;     /* cell key -> slot */
    uint64_t *keys;    /* slot -> cell key (for eq) */
    uint32_t **docs;   /* slot -> doc ids, increasing */
    uint32_t *ndocs, *capdocs;
    uint32_t n, cap;
} sx_cells_t;
uint64_t sx_cell_key(int32_t lat_e6, int32_t lon_e6);
int sx_cells_add(sx_cells_t *c, int32_t lat_e6, int32_t lon_e6, uint32_t doc);
/* Cells of the box [s,n]x[w,e] (w <= e), with the doc list of each. */
typedef void (*sx_cell_fn)(const uint32_t *docs, uint32_t n, int32_t clat, int32_t clon, void *u);
void sx_cells_box(const sx_cells_t *c, double s, double w, double n, double e, sx_cell_fn fn, void *u);
void sx_cells_free(sx_cells_t *c);

/* ---- dates (avail.c) ------------------------------------------------------- */

/* "YYYY-MM-DD" (exactly) to days since 1970-01-01; 0, or -1 if invalid. */
int sx_parse_date(const char *s, int32_t *days);
void sx_format_date(int32_t days, char out[11]);
typedef struct sx_range {
    int32_t start, end; /* nights [start, end) in days since the epoch */
    uint64_t src;       /* booking id hash, or SX_SRC_BLOCK for a blackout */
} sx_range_t;
#define SX_SRC_BLOCK 1u
/* Ranges kept sorted by start.  Overlap: is any range sharing a night with
 * [ci, co)? */
int sx_ranges_overlap(const sx_range_t *r, uint32_t n, int32_t ci, int32_t co);
int sx_ranges_insert(sx_range_t **r, uint32_t *n, uint32_t *cap, sx_range_t x);
void sx_ranges_remove_src(sx_range_t *r, uint32_t *n, uint64_t src);

/* ---- vocabularies (vocab.c): the property plugin's types and amenities ---- */

#define SX_NTYPES 12
#define SX_NAMENITIES 26
#define SX_PRICE_BUCKETS 24 /* price facet: 1-2-5 steps, see sx_price_bucket_min */
#define SX_BED_VALUES 6      /* bedrooms facet: 0, 1, 2, 3, 4, 5+ */
extern const char *const sx_type_names[SX_NTYPES];
extern const char *const sx_amenity_names[SX_NAMENITIES];
int sx_type_code(const char *s);     /* index in sx_type_names, or -1 */
int sx_amenity_code(const char *s);  /* code, or a free-text name's code, or -1 */

/* ---- the index (index.c) --------------------------------------------------- */

/* A listing as the index takes it; every pointer is borrowed for the call. */
typedef struct sx_listing_in {
    const char *id;
    int64_t version;
    int published;            /* 0: the listing leaves the results */
    const char *title, *description, *neighbourhood, *city, *country;
    const char *type;         /* a vocabulary code, or NULL */
    double lat, lon;
    int bedrooms, beds, bathrooms_x2, max_guests; /* -1 when unknown */
    int64_t nightly, monthly; /* minor units; 0 when there is none */
    const char *nightly_cur, *monthly_cur;
    int instant_book;
    const char *const *amenities; /* codes or free-text names */
    size_t namenities;
    int64_t listed_at;        /* sort key of "newest" (ms since the epoch) */
    const sx_range_t *blocks; /* blackouts (src ignored) */
    size_t nblocks;
} sx_listing_in_t;

/* A listing record: every listing the index has heard of. */
typedef struct sx_listing {
    char *blob;               /* id, title, description, neighbourhood, city, country,
                                 nightly currency, monthly currency: NUL-separated; owned */
    uint32_t off[8];          /* offsets of those in blob */
    int64_t version;          /* newest version applied (0: only bookings known) */
    uint32_t doc;             /* current doc, or SX_NONE */
    uint32_t nranges, rangecap;
    sx_range_t *ranges;       /* blackouts and active bookings, by start; owned */
    uint32_t hlen;            /* length of the id (for the map) */
} sx_listing_t;
enum { SX_L_ID, SX_L_TITLE, SX_L_DESC, SX_L_HOOD, SX_L_CITY, SX_L_COUNTRY, SX_L_NCUR, SX_L_MCUR };
static inline const char *sx_lstr(const sx_listing_t *l, int f) { return l->blob ? l->blob + l->off[f] : ""; }

#define SX_DOC_LIVE 1u
#define SX_DOC_INSTANT 2u
#define SX_DOC_RANGES 4u  /* the listing has taken dates: check them */
#define SX_PRICE_BIG UINT32_MAX /* the price does not fit a row: read ix->nightly/monthly */
#define SX_NR_MANY 255    /* more taken ranges than a row counts: read the listing's */
#define SX_NO_BUCKET 255
/* The value bitsets: one per filter or facet value, bit d for doc d. */
enum {
    SX_VB_LIVE = 0,
    SX_VB_INSTANT,
    SX_VB_RANGES,                             /* has taken nights */
    SX_VB_TYPE,                               /* + type code */
    SX_VB_BED = SX_VB_TYPE + SX_NTYPES,       /* + min(bedrooms, 5) */
    SX_VB_AMEN = SX_VB_BED + SX_BED_VALUES,   /* + amenity code */
    SX_VB_PBN = SX_VB_AMEN + SX_NAMENITIES,   /* + nightly price bucket */
    SX_VB_PBM = SX_VB_PBN + SX_PRICE_BUCKETS, /* + monthly price bucket */
    SX_VB_N = SX_VB_PBM + SX_PRICE_BUCKETS
};
/* A doc's filter attributes side by side, so the candidate pass of a query
 * reads one 32-byte row a doc rather than a cache line from each of a dozen
 * arrays (at a million docs every one of those is a miss). */
typedef struct sx_drow {
    int32_t lat6, lon6;       /* microdegrees */
    uint32_t amen;            /* amenity code bits */
    uint32_t pn, pm;          /* nightly and monthly price, minor units; 0 none, or SX_PRICE_BIG */
    uint32_t roff;            /* taken nights: ix->dr[roff, roff + nr) */
    uint8_t flags;            /* SX_DOC_* */
    uint8_t type, bedrooms, bath2, guests; /* 255 = unknown/none */
    uint8_t pbn, pbm;         /* price facet bucket of pn, pm; SX_NO_BUCKET without a price */
    uint8_t nr;               /* ranges in dr, or SX_NR_MANY */
} sx_drow_t;
typedef struct sx_span {
    int32_t start, end;       /* nights [start, end) */
} sx_span_t;
typedef struct sx_index {
    sx_termdict_t terms;
    sx_fuzzy_t fuzzy;
    sx_cells_t cells;
    /* docs: rows for the filters, and arrays for the rest, indexed by doc id */
    uint32_t ndocs, doccap, nlive;
    sx_drow_t *row;
    uint32_t *listing;        /* doc -> listing slot */
    int64_t *nightly, *monthly, *listed;
    uint64_t *tie;            /* hash of the listing id: the stable tie-break */
    uint16_t *desclen;        /* description tokens (BM25 length norm) */
    uint64_t desclen_sum;     /* over live docs */
    /* taken nights of live docs, copied from their listing's ranges so a
     * query with dates reads them next to the row; rewritten (appended) on
     * every change, the stale copies (drdead) dropped now and then */
    sx_span_t *dr;
    uint32_t ndr, drcap, drdead;
    /* value bitsets (SX_VB_*) of vbwords words each: a query matching much
     * of the index filters and counts its facets a 64-doc word at a time.
     * Only LIVE and RANGES are cleared when a doc dies or changes; queries
     * AND with LIVE first. */
    uint64_t *vb[SX_VB_N];
    uint32_t vbwords;
    /* listings */
    sx_listing_t *l;
    uint32_t nl, lcap;
    sx_hmap_t lmap;           /* id -> listing slot */
    /* bookings: id hash -> slot; each remembers its listing, range, version */
    struct sx_booking { uint64_t h; uint32_t listing; int32_t start, end; int64_t version; int active; } *b;
    uint32_t nb, bcap;
    sx_hmap_t bmap;
    /* places for suggest: folded name -> count of live docs */
    struct sx_place { char *name; uint32_t count; uint8_t kind; } *places;
    uint32_t nplaces, placecap;
    sx_hmap_t pmap;
    /* amenity names seen -> code (-1: none) and their term ids: a listing has
     * dozens of amenities drawn from a few thousand names, so the keyword rules
     * and the tokenizer run once a name, not once a listing */
    sx_termdict_t anames;
    int8_t *acode;
    uint32_t *aoff, *an;      /* name id -> its terms in aterms[aoff, aoff + an) */
    uint32_t acodecap, aoffcap, ancap;
    uint32_t *aterms, naterms, atermcap;
    /* scratch of the writer */
    uint32_t *seen, seencap;  /* term id -> 1 + position in the doc's term list */
    struct sx_dterm { uint32_t term; uint8_t flags; } *dterms;
    uint32_t ndterms, dtermcap;
} sx_index_t;

sx_index_t *sx_index_new(void);
void sx_index_free(sx_index_t *ix);
/* Apply a snapshot: SX_OK, SX_STALE (version not newer), or SX_E*. */
int sx_index_put(sx_index_t *ix, const sx_listing_in_t *in);
/* Forget the listing's doc (deleted); its version is remembered. */
int sx_index_remove(sx_index_t *ix, const char *id, int64_t version);
/* A booking took (active) or freed its dates; idempotent by version. */
int sx_index_booking(sx_index_t *ix, const char *booking_id, const char *listing_id,
                     int64_t version, int active, int32_t check_in, int32_t check_out);
/* Make the index ready for queries after writes (sorted term view). */
int sx_index_prepare(sx_index_t *ix);
/* Renumber the docs without tombstones; worth it when ndocs >> nlive. */
int sx_index_compact(sx_index_t *ix);
const sx_listing_t *sx_index_listing(const sx_index_t *ix, const char *id);

/* ---- queries (query.c, params.c) --------------------------------------------- */

#define SX_LIMIT_MAX 100
#define SX_Q_MAX 256       /* bytes of q */
#define SX_Q_WORDS 16
enum { SX_SORT_RELEVANCE = 0, SX_SORT_PRICE_ASC, SX_SORT_PRICE_DESC, SX_SORT_NEWEST, SX_SORT_DISTANCE };
enum { SX_FACET_TYPE = 1, SX_FACET_BEDROOMS = 2, SX_FACET_AMENITIES = 4, SX_FACET_PRICE = 8 };
enum { SX_PERIOD_NIGHTLY = 0, SX_PERIOD_MONTHLY };

typedef struct sx_cursor {
    double key;       /* the last hit's sort key (smaller first) */
    uint64_t tie;     /* and its tie-break */
    uint32_t qhash;   /* the query it belongs to */
    int sort;
} sx_cursor_t;

typedef struct sx_query {
    char q[SX_Q_MAX + 1];
    int has_center;
    double lat, lon, radius_km;         /* radius 0: no circle */
    int has_bbox;
    double south, west, north, east;    /* west > east crosses the antimeridian */
    int npoly;
    double poly_lat[SX_POLY_MAX], poly_lon[SX_POLY_MAX];
    int price_period;
    int64_t price_min, price_max;       /* -1: none */
    int bedrooms_min, bathrooms_min_x2, guests; /* -1: none */
    uint32_t types;                     /* bits of type codes; 0: any */
    uint32_t amenities;                 /* all of these bits */
    int instant_book;                   /* -1: any */
    int32_t check_in, check_out;        /* check_in < check_out, or both -1 */
    unsigned facets;
    int sort;
    int limit;
    int has_cursor;
    sx_cursor_t cursor;
    unsigned fields;                    /* text fields to match; 0: all */
} sx_query_t;
void sx_query_init(sx_query_t *q);
uint32_t sx_query_hash(const sx_query_t *q); /* everything but limit and cursor */

typedef struct sx_hit {
    uint32_t doc;
    float score;
    double key;
    uint64_t tie;       /* the doc's tie-break, kept here so the heap reads no array */
    double distance_km; /* when the query has a centre */
} sx_hit_t;
typedef struct sx_result {
    uint64_t total;                 /* docs matching everything */
    sx_hit_t hits[SX_LIMIT_MAX + 1]; /* one more while searching: is there a next page? */
    int nhits;
    int has_next;
    sx_cursor_t next;
    uint32_t f_type[SX_NTYPES];
    uint32_t f_bedrooms[SX_BED_VALUES]; /* 0, 1, 2, 3, 4, 5+ */
    uint32_t f_amen[SX_NAMENITIES];
    uint32_t f_price[SX_PRICE_BUCKETS]; /* 1-2-5 steps: see sx_price_bucket_min */
    /* the query's matched terms, for highlighting */
    uint32_t hterms[64];
    int nhterms;
} sx_result_t;
int64_t sx_price_bucket_min(int b); /* lower edge (minor units) of bucket b */
int sx_price_bucket(int64_t p);     /* the bucket of price p > 0 */

typedef struct sx_searcher sx_searcher_t; /* per-thread scratch */
sx_searcher_t *sx_searcher_new(void);
void sx_searcher_free(sx_searcher_t *s);
/* Candidates above ndocs / ratio are filtered and counted on bitsets,
 * fewer one by one (default 32; 0: always one by one, UINT32_MAX: on
 * bitsets whenever it can).  Both give the same results; this is only a cost trade-off. */
void sx_searcher_dense(sx_searcher_t *s, uint32_t ratio);
int sx_search(const sx_index_t *ix, sx_searcher_t *s, const sx_query_t *q, sx_result_t *out);

/* Parameters of GET /v1/search from a getter (params.c).  On error returns
 * SX_EINVAL with *field naming the parameter and msg a sentence. */
typedef const char *(*sx_get_fn)(void *ctx, const char *name);
int sx_params_parse(sx_query_t *q, sx_get_fn get, void *ctx, const char **field, char *msg,
                    size_t msglen);
/* The first parameter of a raw query string that is not one of names[]
 * (NULL-terminated); NULL when all are known.  Returns a pointer into a
 * static buffer. */
const char *sx_params_unknown(const char *raw, const char *const *names);
extern const char *const sx_search_params[];
/* Value of name in a raw query string, percent-decoded into buf; NULL if absent. */
const char *sx_qs_get(const char *raw, const char *name, char *buf, size_t cap);
int sx_cursor_encode(const sx_cursor_t *c, char *out, size_t cap);
int sx_cursor_decode(const char *s, sx_cursor_t *c);

/* ---- snippets (snippet.c) ---------------------------------------------------- */

/* Up to cap bytes of text around the first matched term, matches wrapped in
 * <em></em>, the rest HTML-escaped; returns the length written. */
size_t sx_snippet(const sx_index_t *ix, const sx_result_t *r, const char *text, size_t maxlen,
                  char *out, size_t cap);

/* ---- suggestions (suggest.c) -------------------------------------------------- */

typedef struct sx_suggestion {
    char text[160];
    const char *kind;   /* "city", "neighbourhood", "title" */
    uint32_t count;     /* listings (places) */
    uint32_t doc;       /* titles */
} sx_suggestion_t;
int sx_suggest(const sx_index_t *ix, sx_searcher_t *s, const char *q, sx_suggestion_t *out, int max);

#endif
