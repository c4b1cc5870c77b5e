/* csv.h — the real listings for tests and benchmarks (see csv.c). */
#ifndef SEARCH_CSV_H
#define SEARCH_CSV_H

#include <stddef.h>
#include <stdint.h>

#include "../../plugins/search/sx.h"

enum { CSV_ID, CSV_TITLE, CSV_DESC, CSV_HOOD, CSV_CITY, CSV_COUNTRY, CSV_LAT, CSV_LON,
       CSV_PTYPE, CSV_RTYPE, CSV_BEDROOMS, CSV_BEDS, CSV_BATHROOMS, CSV_PRICE, CSV_CUR,
       CSV_AMENITIES, CSV_NF };
#define CSV_MAXAMEN 128

typedef struct csv_row {
    char *f[CSV_NF];      /* owned */
    double lat, lon;
    int bedrooms, beds, bath2;
    int64_t price;
    const char *type;     /* vocabulary code or NULL */
    char *amen[CSV_MAXAMEN]; /* into f[CSV_AMENITIES] */
    int namen;
} csv_row_t;

typedef struct csv_set {
    csv_row_t *rows;
    size_t n, cap;
} csv_set_t;

/* Append the rows of a .csv.gz file; 0 or -1. */
int csv_load(const char *path, csv_set_t *set);
/* A view of r as an index input (borrows r's strings). */
void csv_to_listing(const csv_row_t *r, sx_listing_in_t *in);
const char *csv_type(const char *property_type);
void csv_free(csv_set_t *set);

#endif
