/* gen.h — scaled listings and the query mix for the benchmark (see gen.c). */
#ifndef SEARCH_GEN_H
#define SEARCH_GEN_H

#include "csv.h"

#define GEN_TODAY 20454 /* 2026-01-01: bookings and query dates count from here */

typedef struct gen gen_t;
/* Word pools of the real rows, per city; set is borrowed for gen's life. */
gen_t *gen_new(const csv_set_t *set, uint64_t seed);
void gen_free(gen_t *g);

/* The i-th generated listing, deterministic in (seed, i): a real row's
 * structure with words exchanged with other listings of its city, its place
 * moved to another real listing's position plus jitter, a new id.  Strings
 * live in g until the next call. */
typedef struct gen_booking {
    char id[32];
    int32_t start, end;
} gen_booking_t;
typedef struct gen_listing {
    sx_listing_in_t in;
    gen_booking_t b[3];
    int nb;
    sx_range_t block;
    const char *amenity_codes[SX_NAMENITIES]; /* for PostgreSQL: the codes */
    int ncodes;
} gen_listing_t;
void gen_listing(gen_t *g, uint64_t i, gen_listing_t *out);

/* The i-th query of the mix as a URL query string (into buf). */
void gen_query(gen_t *g, uint64_t i, char *buf, size_t cap);

#endif
