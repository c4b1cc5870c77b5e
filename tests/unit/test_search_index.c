/* The search core's index and queries: geo, availability, filters, facets,
 * ranking, sorts, cursors, parameters, snippets, suggestions, versions and
 * compaction.  The core is compiled into the test. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/search/mem.c"
#include "../../plugins/search/hmap.c"
#include "../../plugins/search/fold.c"
#include "../../plugins/search/tokenize.c"
#include "../../plugins/search/termdict.c"
#include "../../plugins/search/postings.c"
#include "../../plugins/search/fuzzy.c"
#include "../../plugins/search/geo.c"
#include "../../plugins/search/avail.c"
#include "../../plugins/search/vocab.c"
#include "../../plugins/search/index.c"
#include "../../plugins/search/query.c"
#include "../../plugins/search/params.c"
#include "../../plugins/search/snippet.c"
#include "../../plugins/search/suggest.c"

static sx_index_t *ix;
static sx_searcher_t *se;
static sx_result_t res;

static void setup(void)
{
    ix = sx_index_new();
    se = sx_searcher_new();
}

static void teardown(void)
{
    sx_searcher_free(se);
    sx_index_free(ix);
}

/* A listing in Dublin with sensible defaults; fields overridable by the caller. */
static sx_listing_in_t base(const char *id, const char *title, double lat, double lon)
{
    static const char *const am[] = {"wifi", "kitchen"};
    return (sx_listing_in_t){.id = id, .version = 1, .published = 1, .title = title,
                             .description = "A bright place to stay.", .neighbourhood = "Dublin City",
                             .city = "Dublin", .country = "IE", .type = "apartment", .lat = lat,
                             .lon = lon, .bedrooms = 2, .beds = 2, .bathrooms_x2 = 2,
                             .max_guests = 4, .nightly = 10000, .nightly_cur = "EUR",
                             .instant_book = 0, .amenities = am, .namenities = 2, .listed_at = 1};
}

static void add(sx_listing_in_t in) { ck_assert_int_eq(sx_index_put(ix, &in), SX_OK); }

static const char *qs_getter(void *ctx, const char *name)
{
    static char buf[8][1024];
    static int k;
    k = (k + 1) & 7;
    return sx_qs_get(ctx, name, buf[k], sizeof(buf[k]));
}

/* Run a query string; returns the ids of the hits joined by spaces. */
static const char *run(const char *raw)
{
    static char ids[4096];
    sx_query_t q;
    const char *field;
    char msg[200];
    ck_assert_msg(sx_params_parse(&q, qs_getter, (void *)raw, &field, msg, sizeof(msg)) == SX_OK,
                  "%s: %s", raw, msg);
    ck_assert_int_eq(sx_index_prepare(ix), 0);
    ck_assert_int_eq(sx_search(ix, se, &q, &res), SX_OK);
    size_t o = 0;
    ids[0] = '\0';
    for (int i = 0; i < res.nhits; i++)
        o += (size_t)snprintf(ids + o, sizeof(ids) - o, "%s%s", i ? " " : "",
                              sx_lstr(&ix->l[ix->listing[res.hits[i].doc]], SX_L_ID));
    return ids;
}

static const char *bad(const char *raw)
{
    static char f[64];
    sx_query_t q;
    const char *field = NULL;
    char msg[200];
    if (sx_params_parse(&q, qs_getter, (void *)raw, &field, msg, sizeof(msg)) == SX_OK)
        return "(accepted)";
    snprintf(f, sizeof(f), "%s", field);
    return f;
}

START_TEST(test_haversine_and_polygon)
{
    /* Dublin Spire to Trinity College: about 0.6 km */
    double d = sx_haversine_km(53.3498, -6.2603, 53.3438, -6.2546);
    ck_assert(d > 0.7 && d < 0.85);
    ck_assert(fabs(sx_haversine_km(0, 0, 0, 180) - M_PI * 6371.0088) < 1);
    double la[] = {0, 0, 10, 10}, lo[] = {0, 10, 10, 0};
    ck_assert(sx_point_in_poly(5, 5, la, lo, 4));
    ck_assert(!sx_point_in_poly(11, 5, la, lo, 4));
    ck_assert_uint_ne(sx_cell_key(-1, 0), sx_cell_key(1, 0)); /* floor, not truncation */
}
END_TEST

START_TEST(test_dates_and_overlap_are_half_open)
{
    int32_t a, b;
    ck_assert_int_eq(sx_parse_date("2026-03-01", &a), 0);
    ck_assert_int_eq(sx_parse_date("2026-02-28", &b), 0);
    ck_assert_int_eq(a - b, 1);
    ck_assert_int_eq(sx_parse_date("2024-02-29", &a), 0);
    ck_assert_int_eq(sx_parse_date("2026-02-29", &a), -1);
    ck_assert_int_eq(sx_parse_date("2026-1-01", &a), -1);
    char s[11];
    sx_parse_date("2031-12-31", &a);
    sx_format_date(a, s);
    ck_assert_str_eq(s, "2031-12-31");
    sx_range_t r[2] = {{.start = 10, .end = 15}, {.start = 20, .end = 22}};
    ck_assert(!sx_ranges_overlap(r, 2, 15, 20)); /* check out on the day the next checks in */
    ck_assert(sx_ranges_overlap(r, 2, 14, 16));
    ck_assert(sx_ranges_overlap(r, 2, 0, 30));
    ck_assert(!sx_ranges_overlap(r, 2, 22, 25));
}
END_TEST

START_TEST(test_accents_typos_and_prefixes_match)
{
    add(base("1", "Café by the river", 53.34, -6.26));
    add(base("2", "Quiet apartment near the park", 53.35, -6.27));
    ck_assert_str_eq(run("q=cafe"), "1");
    ck_assert_str_eq(run("q=CAFÉ"), "1");
    ck_assert_str_eq(run("q=apartmnet"), "2");  /* a transposition */
    ck_assert_str_eq(run("q=apar"), "2");       /* still typing */
    ck_assert_str_eq(run("q=apar+"), "");       /* a finished word is not a prefix */
    ck_assert_str_eq(run("q=quiet+park"), "2"); /* every word must match */
    ck_assert_str_eq(run("q=quiet+river"), "");
    ck_assert_str_eq(run("q=quet"), "");        /* 4 letters: no typo allowed */
}
END_TEST

START_TEST(test_title_outranks_description)
{
    sx_listing_in_t a = base("desc", "Flat", 53.34, -6.26), b = base("title", "Garden flat", 53.34, -6.26);
    a.description = "Lovely garden at the back, garden views.";
    add(a);
    add(b);
    ck_assert_str_eq(run("q=garden"), "title desc");
}
END_TEST

START_TEST(test_geo_radius_bbox_polygon_and_distance_sort)
{
    ck_assert_str_eq(run("facets=type,price"), ""); /* an empty index answers too */
    ck_assert_str_eq(run("lat=53.3498&lon=-6.2603&radius_km=2"), "");
    add(base("near", "Flat", 53.3498, -6.2603));
    add(base("mid", "Flat", 53.3600, -6.2603));  /* about 1.1 km north */
    add(base("far", "Flat", 53.2000, -6.2603));  /* about 17 km */
    ck_assert_str_eq(run("lat=53.3498&lon=-6.2603&radius_km=2"), "near mid");
    ck_assert_str_eq(run("lat=53.3498&lon=-6.2603&radius_km=2&sort=distance"), "near mid");
    ck_assert(res.hits[1].distance_km > 1.0 && res.hits[1].distance_km < 1.3);
    run("bbox=53.1,-6.3,53.355,-6.2&sort=newest");
    ck_assert_uint_eq(res.total, 2); /* near and far, not mid (north of the box) */
    ck_assert_str_eq(run("bbox=53.1,-6.3,53.355,-6.2&sort=distance&lat=53.2&lon=-6.26"), "far near");
    ck_assert_str_eq(run("polygon=53.34,-6.27;53.34,-6.25;53.37,-6.25;53.37,-6.27"), "near mid");
    ck_assert_str_eq(run("q=flat&lat=53.3498&lon=-6.2603&sort=distance"), "near mid far");
}
END_TEST

START_TEST(test_filters_each_exclude)
{
    sx_listing_in_t a = base("a", "Flat", 53.34, -6.26), b = base("b", "Flat", 53.34, -6.26);
    static const char *const pool[] = {"Pool", "Free parking on premises"};
    b.type = "house", b.bedrooms = 4, b.bathrooms_x2 = 5, b.max_guests = 8, b.nightly = 30000;
    b.instant_book = 1, b.amenities = pool, b.namenities = 2, b.monthly = 500000, b.monthly_cur = "EUR";
    add(a);
    add(b);
    ck_assert_str_eq(run("type=house&sort=newest"), "b");
    ck_assert_str_eq(run("type=house,apartment&sort=price_asc"), "a b");
    ck_assert_str_eq(run("bedrooms_min=3"), "b");
    ck_assert_str_eq(run("bathrooms_min=2.5"), "b");
    ck_assert_str_eq(run("guests=5"), "b");
    ck_assert_str_eq(run("price_min=20000"), "b");
    ck_assert_str_eq(run("price_max=20000"), "a");
    ck_assert_str_eq(run("price_period=monthly&price_min=1"), "b");
    ck_assert_str_eq(run("amenities=pool,parking"), "b");
    ck_assert_str_eq(run("amenities=wifi"), "a");
    ck_assert_str_eq(run("instant_book=true"), "b");
    ck_assert_str_eq(run("instant_book=false"), "a");
    ck_assert_str_eq(run("sort=price_desc"), "b a");
}
END_TEST

START_TEST(test_availability_excludes_booked_and_blocked_dates)
{
    sx_listing_in_t a = base("a", "Flat", 53.34, -6.26), b = base("b", "Flat", 53.34, -6.26);
    int32_t s, e;
    sx_parse_date("2026-05-10", &s);
    sx_parse_date("2026-05-20", &e);
    sx_range_t blk = {.start = s, .end = e};
    b.blocks = &blk, b.nblocks = 1, b.nightly = 20000;
    add(a);
    add(b);
    ck_assert_str_eq(run("check_in=2026-05-12&check_out=2026-05-14&sort=price_asc"), "a");
    ck_assert_str_eq(run("check_in=2026-05-20&check_out=2026-05-22&sort=price_asc"), "a b");
    /* a booking held, then confirmed (newer version), then cancelled */
    ck_assert_int_eq(sx_index_booking(ix, "bk1", "a", 1, 1, s, s + 3), SX_OK);
    ck_assert_str_eq(run("check_in=2026-05-11&check_out=2026-05-12"), "");
    ck_assert_int_eq(sx_index_booking(ix, "bk1", "a", 2, 1, s, s + 3), SX_OK);
    ck_assert_int_eq(sx_index_booking(ix, "bk1", "a", 2, 1, s, s + 3), SX_STALE);
    ck_assert_int_eq(sx_index_booking(ix, "bk1", "a", 3, 0, s, s + 3), SX_OK);
    ck_assert_str_eq(run("check_in=2026-05-11&check_out=2026-05-12"), "a");
    ck_assert_int_eq(sx_index_booking(ix, "bk1", "a", 2, 1, s, s + 3), SX_STALE); /* late redelivery */
    ck_assert_str_eq(run("check_in=2026-05-11&check_out=2026-05-12"), "a");
    /* a booking arriving before its listing is kept for it */
    ck_assert_int_eq(sx_index_booking(ix, "bk2", "c", 1, 1, s, e), SX_OK);
    add(base("c", "Flat", 53.34, -6.26));
    ck_assert_str_eq(run("check_in=2026-05-11&check_out=2026-05-12&sort=price_asc"), "a");
}
END_TEST

START_TEST(test_facets_count_multi_select_without_their_own_filter)
{
    sx_listing_in_t a = base("a", "Flat", 53.34, -6.26), b = base("b", "Flat", 53.34, -6.26),
                    c = base("c", "Flat", 53.34, -6.26);
    b.type = "house", b.bedrooms = 3;
    c.type = "house", c.bedrooms = 7, c.nightly = 25000;
    add(a);
    add(b);
    add(c);
    run("type=house&facets=type,bedrooms,amenities,price");
    ck_assert_uint_eq(res.total, 2);
    ck_assert_uint_eq(res.f_type[sx_type_code("apartment")], 1); /* as if type were not chosen */
    ck_assert_uint_eq(res.f_type[sx_type_code("house")], 2);
    ck_assert_uint_eq(res.f_bedrooms[3], 1);
    ck_assert_uint_eq(res.f_bedrooms[5], 1); /* 5+ */
    ck_assert_uint_eq(res.f_bedrooms[2], 0); /* type applies to the bedrooms facet */
    ck_assert_uint_eq(res.f_amen[sx_amenity_code("wifi")], 2);
    int bucket100 = 0;
    for (int i = 0; i < SX_PRICE_BUCKETS; i++)
        if (sx_price_bucket_min(i) == 10000)
            bucket100 = i;
    ck_assert_uint_eq(res.f_price[bucket100], 1);     /* b at 100.00 */
    ck_assert_uint_eq(res.f_price[bucket100 + 1], 1); /* c at 250.00 */
}
END_TEST

START_TEST(test_cursor_pages_through_everything_once)
{
    char id[16];
    for (int i = 0; i < 45; i++) {
        snprintf(id, sizeof(id), "l%02d", i);
        sx_listing_in_t in = base(id, "Flat", 53.34, -6.26);
        in.nightly = 10000 + (i % 5) * 100; /* ties on purpose */
        add(in);
    }
    char raw[256] = "sort=price_asc&limit=20", seen[64] = {0};
    int pages = 0, total = 0;
    for (;;) {
        run(raw);
        pages++;
        for (int i = 0; i < res.nhits; i++) {
            int n = atoi(sx_lstr(&ix->l[ix->listing[res.hits[i].doc]], SX_L_ID) + 1);
            ck_assert_int_eq(seen[n], 0);
            seen[n] = 1;
            total++;
        }
        if (!res.has_next)
            break;
        char cur[40];
        sx_cursor_encode(&res.next, cur, sizeof(cur));
        snprintf(raw, sizeof(raw), "sort=price_asc&limit=20&cursor=%s", cur);
    }
    ck_assert_int_eq(pages, 3);
    ck_assert_int_eq(total, 45);
    char cur[40];
    run("sort=price_asc&limit=20");
    sx_cursor_encode(&res.next, cur, sizeof(cur));
    snprintf(raw, sizeof(raw), "sort=price_desc&limit=20&cursor=%s", cur);
    ck_assert_str_eq(bad(raw), "cursor"); /* another query's cursor */
}
END_TEST

START_TEST(test_versions_apply_only_forward)
{
    sx_listing_in_t v2 = base("x", "New title", 53.34, -6.26), v1 = base("x", "Old title", 53.34, -6.26);
    v2.version = 2;
    add(v2);
    ck_assert_int_eq(sx_index_put(ix, &v1), SX_STALE);
    ck_assert_str_eq(run("q=new"), "x");
    ck_assert_str_eq(run("q=old"), "");
    sx_listing_in_t draft = base("x", "New title", 53.34, -6.26);
    draft.version = 3, draft.published = 0;
    add(draft);
    ck_assert_str_eq(run("q=new"), ""); /* unpublished: gone */
    ck_assert_int_eq(sx_index_remove(ix, "x", 3), SX_STALE);
    ck_assert_int_eq(sx_index_remove(ix, "x", 4), SX_OK);
    sx_listing_in_t late = base("x", "New title", 53.34, -6.26);
    late.version = 3;
    ck_assert_int_eq(sx_index_put(ix, &late), SX_STALE); /* deleted stays deleted */
    ck_assert_uint_eq(ix->nlive, 0);
}
END_TEST

START_TEST(test_compaction_keeps_results)
{
    char id[16];
    for (int round = 1; round <= 3; round++)
        for (int i = 0; i < 200; i++) {
            snprintf(id, sizeof(id), "c%03d", i);
            sx_listing_in_t in = base(id, i % 2 ? "Harbour view loft" : "Garden studio", 53.34, -6.26 + i * 1e-4);
            in.version = round;
            add(in);
        }
    ck_assert_uint_eq(ix->ndocs, 600);
    run("q=harbour&limit=100");
    uint64_t before = res.total;
    ck_assert_int_eq(sx_index_compact(ix), 0);
    ck_assert_uint_eq(ix->ndocs, 200);
    run("q=harbour&limit=100");
    ck_assert_uint_eq(res.total, before);
    ck_assert_uint_eq(res.total, 100);
    run("lat=53.34&lon=-6.25&radius_km=0.5");
    ck_assert_uint_gt(res.total, 0);
    add((sx_listing_in_t){.id = "c000", .version = 9, .published = 1, .title = "Harbour",
                          .lat = 53.34, .lon = -6.26, .bedrooms = -1, .bathrooms_x2 = -1,
                          .max_guests = -1});
    run("q=harbour&limit=100");
    ck_assert_uint_eq(res.total, 101);
}
END_TEST

START_TEST(test_parameters_are_refused_by_name)
{
    ck_assert_str_eq(bad("radius_km=3"), "radius_km");
    ck_assert_str_eq(bad("lat=1"), "lon");
    ck_assert_str_eq(bad("lat=1e400&lon=1"), "lat");
    ck_assert_str_eq(bad("lat=0x10&lon=1"), "lat");
    ck_assert_str_eq(bad("lat=+nan&lon=1"), "lat");
    ck_assert_str_eq(bad("bbox=1,2,3,181"), "bbox");
    ck_assert_str_eq(bad("check_in=2026-01-05&check_out=2026-01-05"), "check_out");
    ck_assert_str_eq(bad("limit=0"), "limit");
    ck_assert_str_eq(bad("price_min=-1"), "price_min");
    ck_assert_str_eq(bad("q=%FF%FE"), "q");
    ck_assert_str_eq(bad("bbox=1,-179,2,179&type=house,villa&amenities=wifi&facets=price"), "(accepted)");
    ck_assert_ptr_null(sx_params_unknown("q=a&lat=1&lon=2&limit=5", sx_search_params));
    ck_assert_str_eq(sx_params_unknown("q=a&colour=red", sx_search_params), "colour");
    char buf[64];
    ck_assert_str_eq(sx_qs_get("a=1&q=caf%C3%A9+au+lait", "q", buf, sizeof(buf)), "café au lait");
    ck_assert_ptr_null(sx_qs_get("a=1", "q", buf, sizeof(buf)));
}
END_TEST

START_TEST(test_snippet_highlights_and_escapes)
{
    sx_listing_in_t a = base("a", "Café <Lux> & co", 53.34, -6.26);
    a.description = "Far from everything else in the world, a long preamble that goes on and on "
                    "until finally the cafe appears near the harbour.";
    add(a);
    run("q=cafe");
    char out[512];
    sx_snippet(ix, &res, "Café <Lux> & co", 100, out, sizeof(out));
    ck_assert_str_eq(out, "<em>Café</em> &lt;Lux&gt; &amp; co");
    sx_snippet(ix, &res, a.description, 80, out, sizeof(out));
    ck_assert_ptr_nonnull(strstr(out, "<em>cafe</em>"));
    ck_assert(strncmp(out, "\xe2\x80\xa6", 3) == 0); /* cut before: an ellipsis */
}
END_TEST

START_TEST(test_suggest_places_then_titles)
{
    sx_listing_in_t a = base("a", "Brilliant Brighton flat", 53.34, -6.26), b = base("b", "Flat", 53.34, -6.26);
    b.neighbourhood = "Brighton Hill";
    add(a);
    add(b);
    sx_suggestion_t s[8];
    ck_assert_int_eq(sx_index_prepare(ix), 0);
    int n = sx_suggest(ix, se, "brigh", s, 8);
    ck_assert_int_ge(n, 2);
    ck_assert_str_eq(s[0].text, "Brighton Hill");
    ck_assert_str_eq(s[0].kind, "neighbourhood");
    ck_assert_str_eq(s[1].text, "Brilliant Brighton flat");
    ck_assert_str_eq(s[1].kind, "title");
    n = sx_suggest(ix, se, "dub", s, 8);
    ck_assert_str_eq(s[0].text, "Dublin");
    ck_assert_uint_eq(s[0].count, 2);
}
END_TEST

/* The circle test skips the haversine for docs surely inside or outside:
 * around the edge, at several latitudes and sizes, the result must be what
 * the haversine alone decides, and the distance sort its order. */
START_TEST(test_circle_agrees_with_haversine_at_the_edge)
{
    static const double lats[] = {0.0, 22.3, 53.35, -33.9, 76.0};
    static const double radii[] = {0.7, 5.0, 60.0};
    char id[32], raw[200];
    uint64_t x = 12345;
    for (size_t li = 0; li < sizeof(lats) / sizeof(lats[0]); li++) {
        for (size_t ri = 0; ri < sizeof(radii) / sizeof(radii[0]); ri++) {
            teardown();
            setup();
            double lat0 = lats[li], lon0 = 179.99, r = radii[ri]; /* across the antimeridian too */
            double dlat = r / 111.195, dlon = dlat / cos(lat0 * M_PI / 180);
            int inside = 0;
            for (int i = 0; i < 600; i++) {
                x = x * 6364136223846793005ull + 1442695040888963407ull;
                double u = (double)(x >> 11) / 9007199254740992.0;
                x = x * 6364136223846793005ull + 1442695040888963407ull;
                double v = (double)(x >> 11) / 9007199254740992.0;
                /* most on a thin ring around the edge */
                double f = i % 3 ? 0.99 + 0.02 * u : 1.3 * u, ang = 2 * M_PI * v;
                double la = lat0 + f * dlat * sin(ang), lo = lon0 + f * dlon * cos(ang);
                if (lo > 180)
                    lo -= 360;
                snprintf(id, sizeof(id), "p%d", i);
                sx_listing_in_t in = base(id, "Flat", la, lo);
                add(in);
                if (sx_haversine_km(lat0, lon0, round(la * 1e6) / 1e6, round(lo * 1e6) / 1e6) <= r)
                    inside++;
            }
            snprintf(raw, sizeof(raw), "lat=%.6f&lon=%.6f&radius_km=%g&sort=distance&limit=100", lat0,
                     lon0, r);
            run(raw);
            ck_assert_msg(res.total == (uint64_t)inside, "lat %g radius %g: %llu, haversine %d", lat0, r,
                          (unsigned long long)res.total, inside);
            for (int i = 1; i < res.nhits; i++)
                ck_assert(res.hits[i - 1].distance_km <= res.hits[i].distance_km);
            ck_assert(res.nhits == 0 || res.hits[res.nhits - 1].distance_km <= r);
        }
    }
}
END_TEST

/* Taken dates are copied next to each doc's row: bookings coming and going
 * by the thousand (the stale copies get dropped) and a listing with more
 * ranges than a row counts must all still answer right. */
START_TEST(test_availability_survives_booking_churn)
{
    char id[32], bk[64];
    add(base("busy", "Flat", 53.34, -6.26));
    for (int i = 0; i < 50; i++) {
        snprintf(id, sizeof(id), "l%d", i);
        add(base(id, "Flat", 53.34, -6.26));
    }
    int32_t d0;
    sx_parse_date("2026-01-01", &d0);
    for (int i = 0; i < 300; i++) { /* every other night of 600 */
        snprintf(bk, sizeof(bk), "busy-%d", i);
        ck_assert_int_eq(sx_index_booking(ix, bk, "busy", 1, 1, d0 + 2 * i, d0 + 2 * i + 1), SX_OK);
    }
    for (int round = 0; round < 40; round++) { /* each l<i> booked then freed: copies pile up */
        for (int i = 0; i < 50; i++) {
            snprintf(id, sizeof(id), "l%d", i);
            snprintf(bk, sizeof(bk), "%s-%d", id, round);
            ck_assert_int_eq(sx_index_booking(ix, bk, id, 1, 1, d0 + round, d0 + round + 3), SX_OK);
            if (round < 39)
                ck_assert_int_eq(sx_index_booking(ix, bk, id, 2, 0, 0, 0), SX_OK);
        }
    }
    run("check_in=2026-01-03&check_out=2026-01-04&limit=100");
    ck_assert_uint_eq(res.total, 50); /* night 2 is booked for busy only */
    run("check_in=2026-01-02&check_out=2026-01-03&limit=100");
    ck_assert_uint_eq(res.total, 51); /* night 1 is free everywhere */
    /* nights 39-41 are held by every l<i>'s last booking; busy has the even ones */
    ck_assert_str_eq(run("check_in=2026-02-11&check_out=2026-02-12"), "busy");
    ck_assert_str_eq(run("check_in=2026-02-10&check_out=2026-02-11"), "");
    run("check_in=2026-02-13&check_out=2026-02-14&limit=100");
    ck_assert_uint_eq(res.total, 51);
}
END_TEST

static uint32_t rnd(uint64_t *x)
{
    *x = *x * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(*x >> 33);
}
#define RND() rnd(&x)

/* A query gives the same answer whether its candidates are filtered and
 * counted one by one or on the value bitsets (sx_searcher_dense). */
START_TEST(test_bitset_pass_matches_one_by_one)
{
    static const char *const types[] = {"apartment", "house", "condo", "loft", NULL};
    static const char *const am[] = {"wifi", "kitchen", "pool", "washer", "parking"};
    static const char *const words[] = {"cosy", "garden", "harbour", "studio", "bright"};
    char id[32], title[64], bk[48];
    uint64_t x = 99;
    int32_t d0;
    sx_parse_date("2026-05-01", &d0);
    for (int i = 0; i < 3000; i++) {
        snprintf(id, sizeof(id), "d%d", i);
        snprintf(title, sizeof(title), "%s %s flat", words[RND() % 5], words[RND() % 5]);
        double la = 53.30 + (RND() % 10000) / 1e5, lo = -6.30 + (RND() % 10000) / 1e5;
        sx_listing_in_t in = base(id, title, la, lo);
        in.type = types[RND() % 5];
        in.bedrooms = (int)(RND() % 9) - 1;
        in.bathrooms_x2 = (int)(RND() % 6);
        in.max_guests = (int)(RND() % 10);
        in.nightly = RND() % 7 ? 2000 + RND() % 60000 : (RND() % 2 ? 0 : INT64_C(9000000000));
        in.monthly = RND() % 3 ? 0 : 100000 + RND() % 900000;
        in.monthly_cur = "EUR";
        in.instant_book = RND() % 2;
        in.amenities = am + RND() % 3;
        in.namenities = RND() % 3;
        in.listed_at = RND() % 500;
        add(in);
        for (int k = 0; k < (int)(RND() % 3); k++) {
            snprintf(bk, sizeof(bk), "%s-%d", id, k);
            int32_t st = d0 + (int32_t)(RND() % 30);
            sx_index_booking(ix, bk, id, 1, 1, st, st + 2 + (int32_t)(RND() % 5));
        }
        if (RND() % 10 == 0) /* a newer version: a tombstone and a new doc */
            in.version = 2, in.nightly = 5000, add(in);
    }
    static const char *const qs[] = {
        "facets=type,bedrooms,amenities,price&limit=30",
        "q=garden&facets=type,bedrooms,amenities,price&sort=newest",
        "q=cosy+harb&type=house,loft&bedrooms_min=2&facets=type,bedrooms,price&sort=price_asc",
        "price_min=10000&price_max=30000&facets=price,type&sort=price_desc&limit=50",
        "price_period=monthly&price_min=300000&facets=price,bedrooms",
        "price_max=3000&facets=price",
        "price_min=8000000000&facets=price",
        "lat=53.35&lon=-6.25&radius_km=2.5&facets=type,amenities&sort=distance&limit=40",
        "lat=53.35&lon=-6.25&radius_km=2.5&q=flat&instant_book=true",
        "bbox=53.31,-6.29,53.36,-6.24&amenities=wifi&guests=3&facets=bedrooms",
        "polygon=53.31,-6.29;53.38,-6.29;53.38,-6.22&bathrooms_min=1&sort=newest",
        "check_in=2026-05-10&check_out=2026-05-14&facets=type,bedrooms,amenities,price",
        "check_in=2026-05-10&check_out=2026-05-14&q=bright&instant_book=false&sort=price_asc",
        "bedrooms_min=5&facets=bedrooms", "bedrooms_min=7&facets=bedrooms",
        "amenities=wifi,kitchen&facets=amenities&sort=newest&limit=100",
    };
    sx_result_t *one = malloc(sizeof(*one));
    for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
        sx_searcher_dense(se, 0);
        run(qs[i]);
        *one = res;
        sx_searcher_dense(se, UINT32_MAX);
        run(qs[i]);
        ck_assert_msg(res.total == one->total && res.nhits == one->nhits && res.has_next == one->has_next,
                      "%s: total %llu / %llu", qs[i], (unsigned long long)res.total,
                      (unsigned long long)one->total);
        for (int k = 0; k < res.nhits; k++)
            ck_assert_msg(res.hits[k].doc == one->hits[k].doc, "%s: hit %d", qs[i], k);
        ck_assert_msg(memcmp(res.f_type, one->f_type, sizeof(res.f_type)) == 0 &&
                          memcmp(res.f_bedrooms, one->f_bedrooms, sizeof(res.f_bedrooms)) == 0 &&
                          memcmp(res.f_amen, one->f_amen, sizeof(res.f_amen)) == 0 &&
                          memcmp(res.f_price, one->f_price, sizeof(res.f_price)) == 0,
                      "%s: facets differ", qs[i]);
        ck_assert_msg(res.total > 0 || strstr(qs[i], "8000000000") || strstr(qs[i], "bedrooms_min=7"),
                      "%s: nothing to compare", qs[i]);
    }
    ck_assert_int_eq(sx_index_compact(ix), 0); /* and again after renumbering */
    sx_searcher_dense(se, 0);
    run(qs[0]);
    *one = res;
    sx_searcher_dense(se, UINT32_MAX);
    run(qs[0]);
    ck_assert(res.total == one->total && memcmp(res.f_price, one->f_price, sizeof(res.f_price)) == 0);
    free(one);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("search_index");
    TCase *tc = tcase_create("index");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_haversine_and_polygon);
    tcase_add_test(tc, test_dates_and_overlap_are_half_open);
    tcase_add_test(tc, test_accents_typos_and_prefixes_match);
    tcase_add_test(tc, test_title_outranks_description);
    tcase_add_test(tc, test_geo_radius_bbox_polygon_and_distance_sort);
    tcase_add_test(tc, test_filters_each_exclude);
    tcase_add_test(tc, test_availability_excludes_booked_and_blocked_dates);
    tcase_add_test(tc, test_facets_count_multi_select_without_their_own_filter);
    tcase_add_test(tc, test_cursor_pages_through_everything_once);
    tcase_add_test(tc, test_versions_apply_only_forward);
    tcase_add_test(tc, test_compaction_keeps_results);
    tcase_add_test(tc, test_parameters_are_refused_by_name);
    tcase_add_test(tc, test_snippet_highlights_and_escapes);
    tcase_add_test(tc, test_suggest_places_then_titles);
    tcase_add_test(tc, test_circle_agrees_with_haversine_at_the_edge);
    tcase_add_test(tc, test_availability_survives_booking_churn);
    tcase_add_test(tc, test_bitset_pass_matches_one_by_one);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
