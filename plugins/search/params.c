/*
 * params.c — GET /v1/search parameters to an sx_query_t, strictly: a value
 * that is not exactly a number, a date or a known word is a 400 naming its
 * parameter, never a silent default.  Values come through a getter, so the
 * plugin (host req_query) and the tools (a raw query string) share this code.
 */
#include "sx.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const sx_search_params[] = {
    "q", "lat", "lon", "radius_km", "bbox", "polygon", "price_min", "price_max",
    "price_period", "bedrooms_min", "bathrooms_min", "guests", "type", "amenities",
    "instant_book", "check_in", "check_out", "facets", "sort", "limit", "cursor", NULL};

#define FAIL(f, ...)                                   \
    do {                                               \
        *field = (f);                                  \
        snprintf(msg, msglen, __VA_ARGS__);            \
        return SX_EINVAL;                              \
    } while (0)

/* A decimal number and nothing else: no spaces, hex, inf or nan. */
static int parse_num(const char *s, double *out)
{
    if (!*s || strlen(s) > 32)
        return -1;
    for (const char *p = s; *p; p++)
        if (!strchr("0123456789.eE+-", *p))
            return -1;
    char *end;
    double v = strtod(s, &end);
    if (*end || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

static int parse_int(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    if (!*s || strlen(s) > 18)
        return -1;
    for (const char *p = s; *p; p++)
        if (*p < '0' || *p > '9')
            return -1;
    long long v = strtoll(s, NULL, 10);
    if (v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int utf8_valid(const char *s)
{
    size_t n = strlen(s), i = 0;
    while (i < n) {
        size_t len;
        uint32_t cp = sx_utf8_decode((const unsigned char *)s + i, n - i, &len);
        if (cp == 0xfffd && len == 1 && (unsigned char)s[i] >= 0x80)
            return 0;
        if (cp < 0x20 || cp == 0x7f)
            return 0; /* control characters have no business in a query */
        i += len;
    }
    return 1;
}

static int count_words(const sx_token_t *t, void *u)
{
    if (t->kind != SX_TOK_CJK1)
        (*(int *)u)++;
    return 0;
}

/* Split s at commas into items (NUL-terminated in buf). */
static int split(const char *s, char *buf, size_t cap, char **items, int max)
{
    size_t n = strlen(s);
    if (n >= cap)
        return -1;
    memcpy(buf, s, n + 1);
    int k = 0;
    for (char *p = buf;;) {
        if (k == max)
            return -1;
        items[k++] = p;
        char *c = strchr(p, ',');
        if (!c)
            break;
        *c = '\0';
        p = c + 1;
    }
    return k;
}

int sx_params_parse(sx_query_t *q, sx_get_fn getter, void *ctx, const char **field, char *msg,
                    size_t msglen)
{
    const char *v;
    double d;
    int64_t i;
    char buf[2048];
    char *items[SX_POLY_MAX + 1];
    sx_query_init(q);

    if ((v = getter(ctx, "q"))) {
        if (strlen(v) > SX_Q_MAX)
            FAIL("q", "q is at most %d bytes", SX_Q_MAX);
        if (!utf8_valid(v))
            FAIL("q", "q must be UTF-8 text without control characters");
        int words = 0;
        sx_tokenize(v, strlen(v), count_words, &words);
        if (words > SX_Q_WORDS)
            FAIL("q", "q has at most %d words", SX_Q_WORDS);
        memcpy(q->q, v, strlen(v) + 1);
    }
    const char *lat = getter(ctx, "lat"), *lon = getter(ctx, "lon");
    if (lat && (parse_num(lat, &d) < 0 || d < -90 || d > 90))
        FAIL("lat", "lat must be a number of degrees from -90 to 90");
    q->lat = lat ? d : 0;
    if (lon && (parse_num(lon, &d) < 0 || d < -180 || d > 180))
        FAIL("lon", "lon must be a number of degrees from -180 to 180");
    q->lon = lon ? d : 0;
    if (!lat != !lon)
        FAIL(lat ? "lon" : "lat", "lat and lon go together: give both or neither");
    q->has_center = lat != NULL;
    if ((v = getter(ctx, "radius_km"))) {
        if (parse_num(v, &d) < 0 || d <= 0 || d > 500)
            FAIL("radius_km", "radius_km must be a number above 0 and at most 500");
        if (!q->has_center)
            FAIL("radius_km", "radius_km needs a centre: give lat and lon");
        q->radius_km = d;
    }
    if ((v = getter(ctx, "bbox"))) {
        double b[4];
        int k = split(v, buf, sizeof(buf), items, 5);
        if (k != 4)
            FAIL("bbox", "bbox is south,west,north,east in degrees");
        for (int j = 0; j < 4; j++)
            if (parse_num(items[j], &b[j]) < 0)
                FAIL("bbox", "bbox is south,west,north,east in degrees");
        if (b[0] < -90 || b[0] > 90 || b[2] < -90 || b[2] > 90 || b[1] < -180 || b[1] > 180 ||
            b[3] < -180 || b[3] > 180)
            FAIL("bbox", "bbox is out of range: latitudes -90..90, longitudes -180..180");
        if (b[0] > b[2])
            FAIL("bbox", "bbox south is north of its north");
        q->has_bbox = 1;
        q->south = b[0], q->west = b[1], q->north = b[2], q->east = b[3];
    }
    if ((v = getter(ctx, "polygon"))) {
        /* lat,lon;lat,lon;... */
        size_t n = strlen(v);
        if (n >= sizeof(buf))
            FAIL("polygon", "polygon has at most %d points", SX_POLY_MAX);
        memcpy(buf, v, n + 1);
        int k = 0;
        char *save = NULL;
        for (char *pt = strtok_r(buf, ";", &save); pt; pt = strtok_r(NULL, ";", &save)) {
            char *c = strchr(pt, ',');
            if (k == SX_POLY_MAX)
                FAIL("polygon", "polygon has at most %d points", SX_POLY_MAX);
            if (!c)
                FAIL("polygon", "polygon is lat,lon;lat,lon;... (3 to %d points)", SX_POLY_MAX);
            *c = '\0';
            double a, o;
            if (parse_num(pt, &a) < 0 || parse_num(c + 1, &o) < 0 || a < -90 || a > 90 ||
                o < -180 || o > 180)
                FAIL("polygon", "polygon point %d is not lat,lon in range", k + 1);
            q->poly_lat[k] = a, q->poly_lon[k] = o;
            k++;
        }
        if (k < 3)
            FAIL("polygon", "polygon is lat,lon;lat,lon;... (3 to %d points)", SX_POLY_MAX);
        q->npoly = k;
    }
    if ((v = getter(ctx, "price_period"))) {
        if (strcmp(v, "nightly") == 0)
            q->price_period = SX_PERIOD_NIGHTLY;
        else if (strcmp(v, "monthly") == 0)
            q->price_period = SX_PERIOD_MONTHLY;
        else
            FAIL("price_period", "price_period is nightly or monthly");
    }
    if ((v = getter(ctx, "price_min"))) {
        if (parse_int(v, 0, INT64_C(1) << 50, &i) < 0)
            FAIL("price_min", "price_min is an amount in minor units (an integer >= 0)");
        q->price_min = i;
    }
    if ((v = getter(ctx, "price_max"))) {
        if (parse_int(v, 0, INT64_C(1) << 50, &i) < 0)
            FAIL("price_max", "price_max is an amount in minor units (an integer >= 0)");
        if (q->price_min >= 0 && i < q->price_min)
            FAIL("price_max", "price_max is below price_min");
        q->price_max = i;
    }
    if ((v = getter(ctx, "bedrooms_min"))) {
        if (parse_int(v, 0, 50, &i) < 0)
            FAIL("bedrooms_min", "bedrooms_min is an integer from 0 to 50");
        q->bedrooms_min = (int)i;
    }
    if ((v = getter(ctx, "bathrooms_min"))) {
        if (parse_num(v, &d) < 0 || d < 0 || d > 50 || d * 2 != floor(d * 2))
            FAIL("bathrooms_min", "bathrooms_min is a number from 0 to 50 in steps of 0.5");
        q->bathrooms_min_x2 = (int)(d * 2);
    }
    if ((v = getter(ctx, "guests"))) {
        if (parse_int(v, 1, 100, &i) < 0)
            FAIL("guests", "guests is an integer from 1 to 100");
        q->guests = (int)i;
    }
    if ((v = getter(ctx, "type"))) {
        int k = split(v, buf, sizeof(buf), items, SX_NTYPES + 1);
        if (k < 0)
            FAIL("type", "type lists at most %d types", SX_NTYPES);
        for (int j = 0; j < k; j++) {
            int c = sx_type_code(items[j]);
            if (c < 0)
                FAIL("type", "unknown type \"%.40s\"; types: apartment, house, studio, room, villa, "
                             "townhouse, loft, cottage, cabin, bungalow, chalet, condo", items[j]);
            q->types |= 1u << c;
        }
    }
    if ((v = getter(ctx, "amenities"))) {
        int k = split(v, buf, sizeof(buf), items, SX_NAMENITIES + 1);
        if (k < 0)
            FAIL("amenities", "amenities lists at most %d amenities", SX_NAMENITIES);
        for (int j = 0; j < k; j++) {
            int c = -1;
            for (int a = 0; a < SX_NAMENITIES; a++)
                if (strcmp(items[j], sx_amenity_names[a]) == 0)
                    c = a;
            if (c < 0)
                FAIL("amenities", "unknown amenity \"%.40s\" (see the OpenAPI description)", items[j]);
            q->amenities |= 1u << c;
        }
    }
    if ((v = getter(ctx, "instant_book"))) {
        if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
            q->instant_book = 1;
        else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
            q->instant_book = 0;
        else
            FAIL("instant_book", "instant_book is true or false");
    }
    const char *ci = getter(ctx, "check_in"), *co = getter(ctx, "check_out");
    if (ci && sx_parse_date(ci, &q->check_in) < 0)
        FAIL("check_in", "check_in is a date, YYYY-MM-DD");
    if (co && sx_parse_date(co, &q->check_out) < 0)
        FAIL("check_out", "check_out is a date, YYYY-MM-DD");
    if (!ci != !co)
        FAIL(ci ? "check_out" : "check_in", "check_in and check_out go together");
    if (ci && q->check_out <= q->check_in)
        FAIL("check_out", "check_out must be after check_in");
    if (ci && q->check_out - q->check_in > 366)
        FAIL("check_out", "a stay is at most 366 nights");
    if ((v = getter(ctx, "facets"))) {
        static const char *const names[] = {"type", "bedrooms", "amenities", "price"};
        int k = split(v, buf, sizeof(buf), items, 5);
        if (k < 0)
            FAIL("facets", "facets lists type, bedrooms, amenities, price");
        for (int j = 0; j < k; j++) {
            int c = -1;
            for (int a = 0; a < 4; a++)
                if (strcmp(items[j], names[a]) == 0)
                    c = a;
            if (c < 0)
                FAIL("facets", "unknown facet \"%.40s\"; facets: type, bedrooms, amenities, price", items[j]);
            q->facets |= 1u << c;
        }
    }
    if ((v = getter(ctx, "sort"))) {
        static const char *const names[] = {"relevance", "price_asc", "price_desc", "newest", "distance"};
        q->sort = -1;
        for (int a = 0; a < 5; a++)
            if (strcmp(v, names[a]) == 0)
                q->sort = a;
        if (q->sort < 0)
            FAIL("sort", "sort is relevance, price_asc, price_desc, newest or distance");
        if (q->sort == SX_SORT_DISTANCE && !q->has_center)
            FAIL("sort", "sort=distance needs a centre: give lat and lon");
    }
    if ((v = getter(ctx, "limit"))) {
        if (parse_int(v, 1, SX_LIMIT_MAX, &i) < 0)
            FAIL("limit", "limit is an integer from 1 to %d", SX_LIMIT_MAX);
        q->limit = (int)i;
    }
    if ((v = getter(ctx, "cursor"))) {
        if (sx_cursor_decode(v, &q->cursor) < 0)
            FAIL("cursor", "cursor is not one this API returned");
        if (q->cursor.qhash != sx_query_hash(q) || q->cursor.sort != q->sort)
            FAIL("cursor", "cursor belongs to another query; send the same parameters with it");
        q->has_cursor = 1;
    }
    return SX_OK;
}

/* ---- raw query strings ------------------------------------------------------ */

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Percent-decode s[0..n) into out (cap bytes, NUL-terminated); -1 if bad. */
static int decode(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            if (i + 2 >= n)
                return -1;
            int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
            if (h < 0 || l < 0)
                return -1;
            c = (char)(h * 16 + l);
            i += 2;
        }
        if (o + 1 >= cap)
            return -1;
        out[o++] = c;
    }
    out[o] = '\0';
    return 0;
}

const char *sx_qs_get(const char *raw, const char *name, char *buf, size_t cap)
{
    char key[64];
    for (const char *p = raw; p && *p;) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        size_t klen = eq ? (size_t)(eq - p) : len;
        if (decode(p, klen, key, sizeof(key)) == 0 && strcmp(key, name) == 0) {
            if (!eq)
                return buf[0] = '\0', buf;
            return decode(eq + 1, len - klen - 1, buf, cap) == 0 ? buf : NULL;
        }
        p = amp ? amp + 1 : NULL;
    }
    return NULL;
}

const char *sx_params_unknown(const char *raw, const char *const *names)
{
    static __thread char key[64];
    for (const char *p = raw; p && *p;) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        size_t klen = eq ? (size_t)(eq - p) : len;
        if (len > 0) {
            if (decode(p, klen, key, sizeof(key)) < 0) {
                snprintf(key, sizeof(key), "%.*s", (int)(klen < 40 ? klen : 40), p);
                return key;
            }
            int known = 0;
            for (int i = 0; names[i] && !known; i++)
                known = strcmp(names[i], key) == 0;
            if (!known)
                return key;
        }
        p = amp ? amp + 1 : NULL;
    }
    return NULL;
}

/* ---- cursors: 22 bytes, base64url ---------------------------------------------- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int sx_cursor_encode(const sx_cursor_t *c, char *out, size_t cap)
{
    unsigned char b[24] = {1}; /* format version 1 */
    uint64_t k;
    memcpy(&k, &c->key, 8);
    for (int i = 0; i < 8; i++) {
        b[1 + i] = (unsigned char)(k >> (8 * i));
        b[9 + i] = (unsigned char)(c->tie >> (8 * i));
    }
    for (int i = 0; i < 4; i++)
        b[17 + i] = (unsigned char)(c->qhash >> (8 * i));
    b[21] = (unsigned char)c->sort;
    b[22] = b[23] = 0;
    if (cap < 33)
        return -1;
    size_t o = 0;
    for (int i = 0; i < 24; i += 3) {
        uint32_t v = (uint32_t)b[i] << 16 | (uint32_t)b[i + 1] << 8 | b[i + 2];
        out[o++] = b64[v >> 18];
        out[o++] = b64[(v >> 12) & 63];
        out[o++] = b64[(v >> 6) & 63];
        out[o++] = b64[v & 63];
    }
    out[o] = '\0';
    return 0;
}

int sx_cursor_decode(const char *s, sx_cursor_t *c)
{
    unsigned char b[24];
    if (strlen(s) != 32)
        return -1;
    for (int i = 0; i < 32; i += 4) {
        uint32_t v = 0;
        for (int j = 0; j < 4; j++) {
            const char *p = strchr(b64, s[i + j]);
            if (!p || !s[i + j])
                return -1;
            v = v << 6 | (uint32_t)(p - b64);
        }
        b[i / 4 * 3] = (unsigned char)(v >> 16);
        b[i / 4 * 3 + 1] = (unsigned char)(v >> 8);
        b[i / 4 * 3 + 2] = (unsigned char)v;
    }
    if (b[0] != 1 || b[21] > SX_SORT_DISTANCE || b[22] || b[23])
        return -1;
    uint64_t k = 0, t = 0;
    uint32_t h = 0;
    for (int i = 7; i >= 0; i--) {
        k = k << 8 | b[1 + i];
        t = t << 8 | b[9 + i];
    }
    for (int i = 3; i >= 0; i--)
        h = h << 8 | b[17 + i];
    memcpy(&c->key, &k, 8);
    if (isnan(c->key))
        return -1;
    c->tie = t;
    c->qhash = h;
    c->sort = b[21];
    return 0;
}
