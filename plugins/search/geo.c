/*
 * geo.c — distances, polygons and the grid.  The grid files each doc under a
 * 0.01 x 0.01 degree cell (a hash map from cell to a growing list of doc ids,
 * increasing because docs are appended), so a radius or a viewport visits
 * only the cells it covers.  Callers test the exact shape per doc; cells
 * entirely inside a circle could skip that, but the test is a few
 * multiplications after a box check, cheaper than the bookkeeping.
 */
#include "sx.h"

#include <math.h>
#include <string.h>

#define EARTH_KM 6371.0088 /* mean radius (IUGG) */

double sx_haversine_km(double lat1, double lon1, double lat2, double lon2)
{
    const double r = M_PI / 180.0;
    double dlat = (lat2 - lat1) * r, dlon = (lon2 - lon1) * r;
    double s1 = sin(dlat / 2), s2 = sin(dlon / 2);
    double a = s1 * s1 + cos(lat1 * r) * cos(lat2 * r) * s2 * s2;
    if (a > 1.0)
        a = 1.0; /* rounding near antipodes */
    return 2.0 * EARTH_KM * asin(sqrt(a));
}

int sx_point_in_poly(double lat, double lon, const double *plat, const double *plon, int n)
{
    int in = 0;
    for (int i = 0, j = n - 1; i < n; j = i++) {
        if ((plat[i] > lat) != (plat[j] > lat) &&
            lon < (plon[j] - plon[i]) * (lat - plat[i]) / (plat[j] - plat[i]) + plon[i])
            in = !in;
    }
    return in;
}

static int32_t cell_of(int32_t e6)
{
    /* floor division: -0.005 degrees belongs to cell -1, not 0 */
    int32_t c = e6 / 10000;
    return (e6 % 10000 < 0) ? c - 1 : c;
}

uint64_t sx_cell_key(int32_t lat_e6, int32_t lon_e6)
{
    return ((uint64_t)(uint32_t)(cell_of(lat_e6) + 10000) << 32) | (uint32_t)(cell_of(lon_e6) + 20000);
}

static int key_eq(const void *ctx, uint32_t slot, const void *key, size_t len)
{
    (void)len;
    return ((const sx_cells_t *)ctx)->keys[slot] == *(const uint64_t *)key;
}

static uint64_t key_hash(uint64_t k) { return sx_hash(&k, sizeof(k)); }

int sx_cells_add(sx_cells_t *c, int32_t lat_e6, int32_t lon_e6, uint32_t doc)
{
    uint64_t k = sx_cell_key(lat_e6, lon_e6), h = key_hash(k);
    uint32_t s = sx_hmap_get(&c->map, h, key_eq, c, &k, sizeof(k));
    if (s == SX_NONE) {
        if (c->n == c->cap) {
            uint32_t c1 = c->cap, c2 = c->cap, c3 = c->cap, c4 = c->cap;
            if (sx_grow(&c->keys, &c1, c->n + 1, sizeof(*c->keys)) < 0 ||
                sx_grow(&c->docs, &c2, c->n + 1, sizeof(*c->docs)) < 0 ||
                sx_grow(&c->ndocs, &c3, c->n + 1, sizeof(*c->ndocs)) < 0 ||
                sx_grow(&c->capdocs, &c4, c->n + 1, sizeof(*c->capdocs)) < 0)
                return SX_ENOMEM;
            c->cap = c1 < c2 ? c1 : c2;
            c->cap = c->cap < c3 ? c->cap : c3;
            c->cap = c->cap < c4 ? c->cap : c4;
        }
        s = c->n;
        if (sx_hmap_put(&c->map, h, s) < 0)
            return SX_ENOMEM;
        c->keys[s] = k;
        c->docs[s] = NULL;
        c->ndocs[s] = c->capdocs[s] = 0;
        c->n++;
    }
    if (sx_grow(&c->docs[s], &c->capdocs[s], c->ndocs[s] + 1, sizeof(uint32_t)) < 0)
        return SX_ENOMEM;
    c->docs[s][c->ndocs[s]++] = doc;
    return 0;
}

void sx_cells_box(const sx_cells_t *c, double s, double w, double n, double e, sx_cell_fn fn, void *u)
{
    int32_t c0 = cell_of((int32_t)floor(s * 1e6)), c1 = cell_of((int32_t)ceil(n * 1e6));
    int32_t d0 = cell_of((int32_t)floor(w * 1e6)), d1 = cell_of((int32_t)ceil(e * 1e6));
    for (int32_t a = c0; a <= c1; a++) {
        for (int32_t b = d0; b <= d1; b++) {
            uint64_t k = ((uint64_t)(uint32_t)(a + 10000) << 32) | (uint32_t)(b + 20000);
            uint32_t slot = sx_hmap_get(&c->map, key_hash(k), key_eq, c, &k, sizeof(k));
            if (slot != SX_NONE && c->ndocs[slot])
                fn(c->docs[slot], c->ndocs[slot], a, b, u);
        }
    }
}

void sx_cells_free(sx_cells_t *c)
{
    for (uint32_t i = 0; i < c->n; i++)
        sx_free(c->docs[i]);
    sx_free(c->keys);
    sx_free(c->docs);
    sx_free(c->ndocs);
    sx_free(c->capdocs);
    sx_hmap_free(&c->map);
    memset(c, 0, sizeof(*c));
}
