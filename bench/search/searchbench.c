/*
 * searchbench — the search core without the daemon, for bench/60_search.sh
 * and for looking at the judged set by hand.  Compiled by the bench script
 * from plugins/search's core files (those not including rentezy/plugin.h)
 * and the .c files of bench/search.
 *
 *   searchbench query DATA_DIR 'q=cafe&lat=...'     real listings, one query, hits
 *   searchbench bench DATA_DIR OUT.json [options]   the benchmark
 *       --sizes 10000,100000,1000000  --queries 1000  --big-queries 1000
 *       --threads 2 --seconds 2 --pg URL --pg-size 100000 --pg-queries 300
 *
 * Timings use CLOCK_MONOTONIC around the index calls only: generating a
 * listing or a query string is not part of what is measured.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "csv.h"
#include "gen.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

/* The clock of the build and one-client timings: wall time, or with
 * SB_CPU=1 the thread's CPU time, which on a machine shared with other
 * work leaves out the time the thread waited for a core. */
static int cpu_clock = -1;
static double clock_s(void)
{
    if (cpu_clock < 0)
        cpu_clock = getenv("SB_CPU") && getenv("SB_CPU")[0] == '1';
    if (!cpu_clock)
        return now_s();
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static const char *qs_get(void *ctx, const char *name)
{
    static __thread char buf[8][2048];
    static __thread int k;
    k = (k + 1) & 7;
    return sx_qs_get(ctx, name, buf[k], sizeof(buf[k]));
}

static int load_real(const char *dir, csv_set_t *set)
{
    static const char *const cities[] = {"dublin", "brisbane", "hongkong"};
    char path[1024];
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/listings-%s.csv.gz", dir, cities[i]);
        if (csv_load(path, set) < 0) {
            fprintf(stderr, "searchbench: cannot read %s\n", path);
            return -1;
        }
    }
    return 0;
}

/* ---- query mode ------------------------------------------------------------------ */

static int cmd_query(const char *dir, const char *raw)
{
    csv_set_t set = {0};
    if (load_real(dir, &set) < 0)
        return 1;
    sx_index_t *ix = sx_index_new();
    for (size_t i = 0; i < set.n; i++) {
        sx_listing_in_t in;
        csv_to_listing(&set.rows[i], &in);
        sx_index_put(ix, &in);
    }
    sx_index_prepare(ix);
    sx_query_t q;
    const char *field;
    char msg[256], snip[512];
    if (sx_params_parse(&q, qs_get, (void *)raw, &field, msg, sizeof(msg)) < 0) {
        printf("400 %s: %s\n", field, msg);
        return 1;
    }
    sx_searcher_t *s = sx_searcher_new();
    sx_result_t *r = malloc(sizeof(*r));
    double t0 = now_s();
    sx_search(ix, s, &q, r);
    printf("total %llu in %.3f ms\n", (unsigned long long)r->total, (now_s() - t0) * 1e3);
    for (int i = 0; i < r->nhits; i++) {
        const sx_listing_t *l = &ix->l[ix->listing[r->hits[i].doc]];
        sx_snippet(ix, r, sx_lstr(l, SX_L_TITLE), 200, snip, sizeof(snip));
        printf("%2d %-20s %7.3f %-16s %s\n", i + 1, sx_lstr(l, SX_L_ID), r->hits[i].score,
               sx_lstr(l, SX_L_HOOD), snip);
    }
    for (int t = 0; t < SX_NTYPES; t++)
        if (r->f_type[t])
            printf("  type %s: %u\n", sx_type_names[t], r->f_type[t]);
    free(r);
    sx_searcher_free(s);
    sx_index_free(ix);
    csv_free(&set);
    return 0;
}

/* ---- bench ------------------------------------------------------------------------- */

typedef struct opts {
    const char *data, *out, *pg;
    uint64_t sizes[8];
    int nsizes, queries, big_queries, threads;
    double seconds;
    uint64_t pg_size;
    int pg_queries;
} opts_t;

typedef struct sized {
    uint64_t n;
    double build_s, build_rate, mem_per, p50, p99, mean, qps;
    int nq;
    double avg_total;
} sized_t;

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
    if (n == 0)
        return 0;
    int i = (int)ceil(p * n) - 1;
    return v[i < 0 ? 0 : i >= n ? n - 1 : i];
}

typedef struct thr {
    const sx_index_t *ix;
    sx_query_t *qs;
    int nq;
    double seconds;
    uint64_t done;
    int id;
} thr_t;

static void *thr_run(void *u)
{
    thr_t *t = u;
    sx_searcher_t *s = sx_searcher_new();
    sx_result_t *r = malloc(sizeof(*r));
    double end = now_s() + t->seconds;
    int i = t->id * 97;
    while (now_s() < end) {
        for (int k = 0; k < 16; k++, i++)
            sx_search(t->ix, s, &t->qs[i % t->nq], r);
        t->done += 16;
    }
    free(r);
    sx_searcher_free(s);
    return NULL;
}

static sx_query_t *make_queries(gen_t *g, int n)
{
    sx_query_t *qs = malloc((size_t)n * sizeof(*qs));
    char raw[2048], msg[256];
    const char *field;
    for (int i = 0; i < n; i++) {
        gen_query(g, (uint64_t)i, raw, sizeof(raw));
        if (sx_params_parse(&qs[i], qs_get, raw, &field, msg, sizeof(msg)) < 0) {
            fprintf(stderr, "searchbench: generated query %d refused (%s: %s): %s\n", i, field, msg, raw);
            exit(1);
        }
    }
    return qs;
}

static void build(sx_index_t *ix, gen_t *g, uint64_t n, double *secs)
{
    gen_listing_t gl;
    double t = 0;
    for (uint64_t i = 0; i < n; i++) {
        gen_listing(g, i, &gl);
        double t0 = clock_s();
        if (sx_index_put(ix, &gl.in) != SX_OK) {
            fprintf(stderr, "searchbench: put %llu failed\n", (unsigned long long)i);
            exit(1);
        }
        for (int k = 0; k < gl.nb; k++)
            sx_index_booking(ix, gl.b[k].id, gl.in.id, 1, 1, gl.b[k].start, gl.b[k].end);
        t += clock_s() - t0;
    }
    double t0 = clock_s();
    sx_index_prepare(ix);
    *secs = t + clock_s() - t0;
}

static void run_size(const opts_t *o, gen_t *g, uint64_t n, sized_t *res)
{
    size_t m0 = sx_mem_used();
    sx_index_t *ix = sx_index_new();
    res->n = n;
    build(ix, g, n, &res->build_s);
    res->build_rate = n / res->build_s;
    res->mem_per = (double)(sx_mem_used() - m0) / n;
    if (getenv("SB_ONE")) { /* one query, again and again: for perf */
        sx_query_t q1;
        const char *field;
        char msg[256];
        if (sx_params_parse(&q1, qs_get, (void *)getenv("SB_ONE"), &field, msg, sizeof(msg)) < 0) {
            fprintf(stderr, "searchbench: SB_ONE refused (%s: %s)\n", field, msg);
            exit(1);
        }
        sx_searcher_t *s1 = sx_searcher_new();
        sx_result_t *r1 = malloc(sizeof(*r1));
        double best = 1e9, t1 = clock_s();
        int reps = getenv("SB_REPS") ? atoi(getenv("SB_REPS")) : 50;
        for (int i = 0; i < reps; i++) {
            double t0 = clock_s();
            sx_search(ix, s1, &q1, r1);
            best = fmin(best, clock_s() - t0);
        }
        fprintf(stderr, "one: %llu hits, best %.3f ms, mean %.3f ms (build %.0f listings/s)\n",
                (unsigned long long)r1->total, best * 1e3, (clock_s() - t1) * 1e3 / reps, res->build_rate);
        exit(0);
    }
    int nq = n >= 1000000 ? o->big_queries : o->queries;
    sx_query_t *qs = make_queries(g, nq);
    sx_searcher_t *s = sx_searcher_new();
    sx_result_t *r = malloc(sizeof(*r));
    double *lat = malloc((size_t)nq * sizeof(*lat)), sum = 0, tot = 0;
    for (int i = 0; i < nq && i < 100; i++) /* warm the caches */
        sx_search(ix, s, &qs[i], r);
    for (int i = 0; i < nq; i++) {
        double t0 = clock_s();
        sx_search(ix, s, &qs[i], r);
        lat[i] = (clock_s() - t0) * 1e3;
        sum += lat[i];
        tot += (double)r->total;
    }
    if (getenv("SB_DIGEST")) { /* what the queries answer, to compare two builds of the core */
        uint64_t all = 0;
        for (int i = 0; i < nq; i++) {
            sx_search(ix, s, &qs[i], r);
            uint64_t h = sx_hash(&r->total, sizeof(r->total)) ^ sx_hash(r->f_type, sizeof(r->f_type)) * 3 ^
                         sx_hash(r->f_bedrooms, sizeof(r->f_bedrooms)) * 5 ^
                         sx_hash(r->f_amen, sizeof(r->f_amen)) * 7 ^ sx_hash(r->f_price, sizeof(r->f_price)) * 11;
            for (int k = 0; k < r->nhits; k++) {
                const char *id = sx_lstr(&ix->l[ix->listing[r->hits[k].doc]], SX_L_ID);
                h = h * 31 + sx_hash(id, strlen(id));
            }
            if (getenv("SB_DIGEST")[0] == 'v')
                fprintf(stderr, "digest %d %016llx\n", i, (unsigned long long)h);
            all = all * 1099511628211ull + h;
        }
        fprintf(stderr, "digest of %d queries at %llu: %016llx\n", nq, (unsigned long long)n,
                (unsigned long long)all);
    }
    if (getenv("SB_SLOW")) { /* the slowest queries, to see what costs */
        for (int k = 0; k < 8; k++) {
            int worst = 0;
            for (int i = 1; i < nq; i++)
                if (lat[i] > lat[worst])
                    worst = i;
            char raw[2048];
            gen_query(g, (uint64_t)worst, raw, sizeof(raw));
            sx_search(ix, s, &qs[worst], r);
            fprintf(stderr, "slow %.3f ms (%llu hits): %s\n", lat[worst], (unsigned long long)r->total, raw);
            lat[worst] = -lat[worst];
        }
        for (int i = 0; i < nq; i++)
            lat[i] = lat[i] < 0 ? -lat[i] : lat[i];
    }
    qsort(lat, (size_t)nq, sizeof(*lat), cmp_d);
    res->nq = nq;
    res->p50 = pct(lat, nq, 0.5);
    res->p99 = pct(lat, nq, 0.99);
    res->mean = sum / nq;
    res->avg_total = tot / nq;
    pthread_t th[64];
    thr_t ts[64];
    int nt = o->threads < 64 ? o->threads : 64;
    for (int i = 0; i < nt; i++) {
        ts[i] = (thr_t){.ix = ix, .qs = qs, .nq = nq, .seconds = o->seconds, .id = i};
        pthread_create(&th[i], NULL, thr_run, &ts[i]);
    }
    uint64_t done = 0;
    for (int i = 0; i < nt; i++) {
        pthread_join(th[i], NULL);
        done += ts[i].done;
    }
    res->qps = done / o->seconds;
    free(lat);
    free(r);
    sx_searcher_free(s);
    free(qs);
    sx_index_free(ix);
}

/* ---- PostgreSQL: the same data and queries, done by hand ------------------------------ */

static PGresult *pgx(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_COPY_IN) {
        fprintf(stderr, "searchbench: PostgreSQL: %s\n  in: %.300s\n", PQerrorMessage(c), sql);
        exit(1);
    }
    return r;
}

/* One COPY text field; NULL is SQL NULL. */
static void copy_text(char *o, size_t *len, const char *s)
{
    if (!s) {
        o[(*len)++] = '\\';
        o[(*len)++] = 'N';
        return;
    }
    for (; *s; s++) {
        switch (*s) {
        case '\\': o[(*len)++] = '\\', o[(*len)++] = '\\'; break;
        case '\t': o[(*len)++] = ' '; break;
        case '\n': o[(*len)++] = '\\', o[(*len)++] = 'n'; break;
        case '\r': break;
        default: o[(*len)++] = *s;
        }
    }
}

static void copy_end(PGconn *c)
{
    PQputCopyEnd(c, NULL);
    PGresult *r = PQgetResult(c);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        fprintf(stderr, "searchbench: COPY failed: %s", PQerrorMessage(c));
        exit(1);
    }
    PQclear(r);
    while ((r = PQgetResult(c)))
        PQclear(r);
}

static void pg_load(PGconn *c, gen_t *g, uint64_t n, double *load_s, double *index_s)
{
    double t0 = now_s();
    PQclear(pgx(c, "DROP TABLE IF EXISTS sb_bookings, sb_listings"));
    PQclear(pgx(c, "CREATE EXTENSION IF NOT EXISTS pg_trgm"));
    PQclear(pgx(c, "CREATE EXTENSION IF NOT EXISTS cube"));
    PQclear(pgx(c, "CREATE EXTENSION IF NOT EXISTS earthdistance"));
    PQclear(pgx(c, "CREATE EXTENSION IF NOT EXISTS btree_gist"));
    PQclear(pgx(c, "CREATE TABLE sb_listings (id text PRIMARY KEY, title text, description text, "
                   "neighbourhood text, city text, lat float8, lon float8, type text, bedrooms int, "
                   "bath2 int, guests int, nightly bigint, monthly bigint, instant bool, "
                   "amenities text[], listed bigint, doc text)"));
    PQclear(pgx(c, "CREATE TABLE sb_bookings (listing_id text, stay daterange)"));
    PQclear(pgx(c, "COPY sb_listings FROM STDIN"));
    char *buf = malloc(1 << 16), num[64];
    gen_listing_t gl;
    for (uint64_t i = 0; i < n; i++) {
        gen_listing(g, i, &gl);
        const sx_listing_in_t *in = &gl.in;
        size_t len = 0;
        copy_text(buf, &len, in->id); buf[len++] = '\t';
        copy_text(buf, &len, in->title); buf[len++] = '\t';
        copy_text(buf, &len, in->description); buf[len++] = '\t';
        copy_text(buf, &len, in->neighbourhood); buf[len++] = '\t';
        copy_text(buf, &len, in->city); buf[len++] = '\t';
        len += (size_t)sprintf(buf + len, "%.6f\t%.6f\t", in->lat, in->lon);
        copy_text(buf, &len, in->type); buf[len++] = '\t';
#define NUM(v) (v < 0 ? NULL : (snprintf(num, sizeof(num), "%lld", (long long)(v)), num))
        copy_text(buf, &len, NUM(in->bedrooms)); buf[len++] = '\t';
        copy_text(buf, &len, NUM(in->bathrooms_x2)); buf[len++] = '\t';
        copy_text(buf, &len, NUM(in->max_guests)); buf[len++] = '\t';
        copy_text(buf, &len, NUM(in->nightly)); buf[len++] = '\t';
        copy_text(buf, &len, in->monthly ? NUM(in->monthly) : NULL); buf[len++] = '\t';
        copy_text(buf, &len, in->instant_book ? "t" : "f"); buf[len++] = '\t';
        buf[len++] = '{';
        for (int k = 0; k < gl.ncodes; k++) {
            if (k)
                buf[len++] = ',';
            copy_text(buf, &len, gl.amenity_codes[k]);
        }
        buf[len++] = '}';
        buf[len++] = '\t';
        copy_text(buf, &len, NUM(in->listed_at)); buf[len++] = '\t';
        /* the searchable text: what our index reads, lower-cased by the index expression */
        copy_text(buf, &len, in->title); buf[len++] = ' ';
        copy_text(buf, &len, in->neighbourhood); buf[len++] = ' ';
        copy_text(buf, &len, in->city); buf[len++] = ' ';
        for (size_t k = 0; k < in->namenities; k++) {
            copy_text(buf, &len, in->amenities[k]);
            buf[len++] = ' ';
        }
        copy_text(buf, &len, in->description);
        buf[len++] = '\n';
        PQputCopyData(c, buf, (int)len);
    }
    copy_end(c);
    PQclear(pgx(c, "COPY sb_bookings FROM STDIN"));
    for (uint64_t i = 0; i < n; i++) {
        gen_listing(g, i, &gl);
        char ci[11], co[11];
        for (int k = 0; k < gl.nb; k++) {
            sx_format_date(gl.b[k].start, ci);
            sx_format_date(gl.b[k].end, co);
            int len = snprintf(buf, 1 << 16, "%s\t[%s,%s)\n", gl.in.id, ci, co);
            PQputCopyData(c, buf, len);
        }
        if (gl.in.nblocks) {
            sx_format_date(gl.block.start, ci);
            sx_format_date(gl.block.end, co);
            int len = snprintf(buf, 1 << 16, "%s\t[%s,%s)\n", gl.in.id, ci, co);
            PQputCopyData(c, buf, len);
        }
    }
    copy_end(c);
    free(buf);
    *load_s = now_s() - t0;
    t0 = now_s();
    PQclear(pgx(c, "SET maintenance_work_mem = '512MB'"));
    PQclear(pgx(c, "CREATE INDEX ON sb_listings USING gin (lower(doc) gin_trgm_ops)"));
    PQclear(pgx(c, "CREATE INDEX ON sb_listings USING gist (ll_to_earth(lat, lon))"));
    PQclear(pgx(c, "CREATE INDEX ON sb_listings (lat, lon)"));
    PQclear(pgx(c, "CREATE INDEX ON sb_listings USING gist (point(lon, lat))"));
    PQclear(pgx(c, "CREATE INDEX ON sb_listings USING gin (amenities)"));
    PQclear(pgx(c, "CREATE INDEX ON sb_listings (nightly)"));
    PQclear(pgx(c, "CREATE INDEX ON sb_bookings USING gist (listing_id, stay)"));
    PQclear(pgx(c, "ANALYZE sb_listings"));
    PQclear(pgx(c, "ANALYZE sb_bookings"));
    *index_s = now_s() - t0;
}

static size_t esc(char *o, const char *s)
{
    size_t n = 0;
    for (; *s; s++) {
        if (*s == '\'')
            o[n++] = '\'';
        o[n++] = *s;
    }
    o[n] = '\0';
    return n;
}

#define S(...) (o += (size_t)snprintf(sql + o, cap - o, __VA_ARGS__))

/* The query as a careful developer writes it without a search engine: the
 * filters in WHERE, pg_trgm word similarity for typo-tolerant words (GIN),
 * earthdistance for circles (GiST), NOT EXISTS for dates, one statement with
 * the facets as grouped counts over a materialized candidate set. */
static void to_sql(const sx_query_t *q, char *sql, size_t cap)
{
    size_t o = 0;
    char w[SX_Q_MAX * 2 + 8], rel[4096] = "0", where[8192] = "true";
    size_t ro = 1, wo = 4;
    /* words: the folded tokens of q */
    char folded[SX_Q_MAX * 4];
    sx_fold_str(q->q, strlen(q->q), folded, sizeof(folded));
    char *save = NULL;
    for (char *t = strtok_r(folded, " ,.'-", &save); t; t = strtok_r(NULL, " ,.'-", &save)) {
        esc(w, t);
        wo += (size_t)snprintf(where + wo, sizeof(where) - wo, " AND '%s' <%% lower(doc)", w);
        ro += (size_t)snprintf(rel + ro, sizeof(rel) - ro, " + word_similarity('%s', lower(title)) * 3 + word_similarity('%s', lower(doc))", w, w);
    }
    if (q->has_center && q->radius_km > 0)
        wo += (size_t)snprintf(where + wo, sizeof(where) - wo,
                               " AND earth_box(ll_to_earth(%.6f, %.6f), %.1f) @> ll_to_earth(lat, lon)"
                               " AND earth_distance(ll_to_earth(%.6f, %.6f), ll_to_earth(lat, lon)) <= %.1f",
                               q->lat, q->lon, q->radius_km * 1000, q->lat, q->lon, q->radius_km * 1000);
    if (q->has_bbox)
        wo += (size_t)snprintf(where + wo, sizeof(where) - wo,
                               " AND lat BETWEEN %.6f AND %.6f AND lon BETWEEN %.6f AND %.6f",
                               q->south, q->north, q->west, q->east);
    if (q->npoly) {
        wo += (size_t)snprintf(where + wo, sizeof(where) - wo, " AND point(lon, lat) <@ polygon '(");
        for (int i = 0; i < q->npoly; i++)
            wo += (size_t)snprintf(where + wo, sizeof(where) - wo, "%s(%.6f,%.6f)", i ? "," : "",
                                   q->poly_lon[i], q->poly_lat[i]);
        wo += (size_t)snprintf(where + wo, sizeof(where) - wo, ")'");
    }
    if (q->amenities) {
        wo += (size_t)snprintf(where + wo, sizeof(where) - wo, " AND amenities @> ARRAY[");
        int first = 1;
        for (int a = 0; a < SX_NAMENITIES; a++)
            if (q->amenities & (1u << a)) {
                wo += (size_t)snprintf(where + wo, sizeof(where) - wo, "%s'%s'", first ? "" : ",", sx_amenity_names[a]);
                first = 0;
            }
        wo += (size_t)snprintf(where + wo, sizeof(where) - wo, "]");
    }
    if (q->guests >= 0)
        wo += (size_t)snprintf(where + wo, sizeof(where) - wo, " AND guests >= %d", q->guests);
    if (q->bathrooms_min_x2 >= 0)
        wo += (size_t)snprintf(where + wo, sizeof(where) - wo, " AND bath2 >= %d", q->bathrooms_min_x2);
    if (q->instant_book >= 0)
        wo += (size_t)snprintf(where + wo, sizeof(where) - wo, " AND instant = %s", q->instant_book ? "true" : "false");
    if (q->check_in >= 0) {
        char ci[11], co[11];
        sx_format_date(q->check_in, ci);
        sx_format_date(q->check_out, co);
        wo += (size_t)snprintf(where + wo, sizeof(where) - wo,
                               " AND NOT EXISTS (SELECT 1 FROM sb_bookings b WHERE b.listing_id = l.id"
                               " AND b.stay && daterange('%s', '%s'))", ci, co);
    }
    char type_ok[512] = "true", bed_ok[64] = "true", price_ok[128] = "true";
    if (q->types) {
        size_t k = (size_t)snprintf(type_ok, sizeof(type_ok), "type IN (");
        int first = 1;
        for (int t = 0; t < SX_NTYPES; t++)
            if (q->types & (1u << t)) {
                k += (size_t)snprintf(type_ok + k, sizeof(type_ok) - k, "%s'%s'", first ? "" : ",", sx_type_names[t]);
                first = 0;
            }
        snprintf(type_ok + k, sizeof(type_ok) - k, ")");
    }
    if (q->bedrooms_min >= 0)
        snprintf(bed_ok, sizeof(bed_ok), "bedrooms >= %d", q->bedrooms_min);
    const char *pcol = q->price_period == SX_PERIOD_MONTHLY ? "monthly" : "nightly";
    if (q->price_min >= 0 || q->price_max >= 0)
        snprintf(price_ok, sizeof(price_ok), "%s BETWEEN %lld AND %lld", pcol,
                 (long long)(q->price_min >= 0 ? q->price_min : 0),
                 (long long)(q->price_max >= 0 ? q->price_max : INT64_C(1) << 50));
    const char *order;
    char dist[200] = "0";
    if (q->has_center)
        snprintf(dist, sizeof(dist), "earth_distance(ll_to_earth(%.6f, %.6f), ll_to_earth(lat, lon))", q->lat, q->lon);
    int sort = q->sort;
    if (sort == SX_SORT_RELEVANCE && !q->q[0])
        sort = q->has_center ? SX_SORT_DISTANCE : SX_SORT_NEWEST;
    switch (sort) {
    case SX_SORT_PRICE_ASC: order = "price ASC, id"; break;
    case SX_SORT_PRICE_DESC: order = "price DESC, id"; break;
    case SX_SORT_NEWEST: order = "listed DESC, id"; break;
    case SX_SORT_DISTANCE: order = "dist ASC, id"; break;
    default: order = "score DESC, id"; break;
    }
    S("WITH base AS MATERIALIZED (SELECT id, type, bedrooms, %s AS price, amenities, listed, "
      "%s AS score, %s AS dist, (%s) AS type_ok, (%s) AS bed_ok, (%s) AS price_ok "
      "FROM sb_listings l WHERE %s) ", pcol, q->q[0] ? rel : "0", dist, type_ok, bed_ok, price_ok, where);
    S("SELECT (SELECT json_agg(id) FROM (SELECT id FROM base WHERE type_ok AND bed_ok AND price_ok "
      "ORDER BY %s LIMIT %d) h), (SELECT count(*) FROM base WHERE type_ok AND bed_ok AND price_ok)",
      order, q->limit);
    if (q->facets & SX_FACET_TYPE)
        S(", (SELECT json_object_agg(coalesce(type, '?'), n) FROM (SELECT type, count(*) n FROM base "
          "WHERE bed_ok AND price_ok GROUP BY type) f)");
    if (q->facets & SX_FACET_BEDROOMS)
        S(", (SELECT json_object_agg(b, n) FROM (SELECT least(bedrooms, 5) b, count(*) n FROM base "
          "WHERE type_ok AND price_ok AND bedrooms IS NOT NULL GROUP BY 1) f)");
    if (q->facets & SX_FACET_PRICE)
        S(", (SELECT json_object_agg(b, n) FROM (SELECT floor(log(greatest(price, 1)) * 3) b, "
          "count(*) n FROM base WHERE type_ok AND bed_ok AND price IS NOT NULL GROUP BY 1) f)");
    if (q->facets & SX_FACET_AMENITIES)
        S(", (SELECT json_object_agg(a, n) FROM (SELECT a, count(*) n FROM base, unnest(amenities) a "
          "WHERE type_ok AND bed_ok AND price_ok GROUP BY a) f)");
}

static void run_pg(const opts_t *o, gen_t *g, FILE *js, sized_t *ours)
{
    PGconn *c = PQconnectdb(o->pg);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "searchbench: PostgreSQL: %s", PQerrorMessage(c));
        exit(1);
    }
    double load_s, index_s;
    pg_load(c, g, o->pg_size, &load_s, &index_s);
    int nq = o->pg_queries;
    sx_query_t *qs = make_queries(g, nq);
    double *lat = malloc((size_t)nq * sizeof(*lat));
    char *sql = malloc(1 << 16);
    PQclear(pgx(c, "SELECT count(*) FROM sb_listings")); /* warm the buffer cache */
    /* a query that runs past the timeout counts as the timeout: the table
     * then understates PostgreSQL's worst case, never ours */
    PQclear(pgx(c, "SET statement_timeout = '5s'"));
    double sum = 0, hits = 0;
    int timeouts = 0;
    for (int i = 0; i < nq; i++) {
        to_sql(&qs[i], sql, 1 << 16);
        double t0 = now_s();
        PGresult *r = PQexec(c, sql);
        lat[i] = (now_s() - t0) * 1e3;
        if (PQresultStatus(r) == PGRES_TUPLES_OK) {
            hits += atof(PQgetvalue(r, 0, 1));
        } else if (strcmp(PQresultErrorField(r, PG_DIAG_SQLSTATE), "57014") == 0) {
            timeouts++;
        } else {
            fprintf(stderr, "searchbench: PostgreSQL: %s\n  in: %.300s\n", PQerrorMessage(c), sql);
            exit(1);
        }
        PQclear(r);
        sum += lat[i];
    }
    qsort(lat, (size_t)nq, sizeof(*lat), cmp_d);
    double p50 = pct(lat, nq, 0.5), p99 = pct(lat, nq, 0.99);
    printf("%-12s %10llu %12s %10s %9.3f %9.3f %10s   (%d queries, mean %.3f ms, %.0f hits, %d timeouts "
           "at 5 s; load %.1fs, indexes %.1fs)\n", "postgresql", (unsigned long long)o->pg_size, "-", "-",
           p50, p99, "-", nq, sum / nq, hits / (nq - timeouts > 0 ? nq - timeouts : 1), timeouts, load_s, index_s);
    printf("ratio at %llu listings (PostgreSQL / in-memory index): p50 %.0fx, p99 %.0fx, mean %.0fx\n",
           (unsigned long long)o->pg_size, p50 / ours->p50, p99 / ours->p99, (sum / nq) / ours->mean);
    fprintf(js, ",\n \"postgresql\":{\"listings\":%llu,\"queries\":%d,\"timeouts_5s\":%d,\"load_s\":%.2f,\"index_s\":%.2f,"
                "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"mean_ms\":%.3f,"
                "\"ratio_p50\":%.1f,\"ratio_p99\":%.1f,\"ratio_mean\":%.1f}",
            (unsigned long long)o->pg_size, nq, timeouts, load_s, index_s, p50, p99, sum / nq, p50 / ours->p50,
            p99 / ours->p99, (sum / nq) / ours->mean);
    PQclear(pgx(c, "DROP TABLE IF EXISTS sb_bookings, sb_listings"));
    PQfinish(c);
    free(sql);
    free(lat);
    free(qs);
}

static int cmd_bench(int argc, char **argv)
{
    opts_t o = {.data = argv[2], .out = argv[3], .queries = 1000, .big_queries = 1000,
                .threads = 2, .seconds = 2, .pg_size = 100000, .pg_queries = 300};
    o.sizes[0] = 10000, o.sizes[1] = 100000, o.sizes[2] = 1000000, o.nsizes = 3;
    for (int i = 4; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--sizes")) {
            o.nsizes = 0;
            for (char *p = (char *)v; *p && o.nsizes < 8; p = strchr(p, ',') ? strchr(p, ',') + 1 : p + strlen(p))
                o.sizes[o.nsizes++] = strtoull(p, NULL, 10);
        } else if (!strcmp(k, "--queries")) o.queries = atoi(v);
        else if (!strcmp(k, "--big-queries")) o.big_queries = atoi(v);
        else if (!strcmp(k, "--threads")) o.threads = atoi(v);
        else if (!strcmp(k, "--seconds")) o.seconds = atof(v);
        else if (!strcmp(k, "--pg")) o.pg = v;
        else if (!strcmp(k, "--pg-size")) o.pg_size = strtoull(v, NULL, 10);
        else if (!strcmp(k, "--pg-queries")) o.pg_queries = atoi(v);
        else {
            fprintf(stderr, "searchbench: unknown option %s\n", k);
            return 2;
        }
    }
    csv_set_t set = {0};
    if (load_real(o.data, &set) < 0)
        return 1;
    gen_t *g = gen_new(&set, 42);
    FILE *js = fopen(o.out, "w");
    if (!js) {
        perror(o.out);
        return 1;
    }
    clock_s();
    fprintf(js, "{\"bench\":\"search\",\"data\":\"Data from Inside Airbnb (insideairbnb.com), licensed CC BY 4.0; "
                "scaled and varied for RentEzy\",\"threads\":%d,\"clock\":\"%s\",\"sizes\":[", o.threads,
            cpu_clock ? "thread cpu" : "wall");
    printf("%-12s %10s %12s %10s %9s %9s %10s %s\n", "index", "listings", "build/s", "B/listing",
           "p50 ms", "p99 ms", "queries/s", "(1 client; saturation with threads)");
    sized_t ref = {0};
    for (int i = 0; i < o.nsizes; i++) {
        sized_t r;
        run_size(&o, g, o.sizes[i], &r);
        printf("%-12s %10llu %12.0f %10.0f %9.3f %9.3f %10.0f   (%d queries, mean %.3f ms, %.0f hits)\n",
               "memory", (unsigned long long)r.n, r.build_rate, r.mem_per, r.p50, r.p99, r.qps, r.nq,
               r.mean, r.avg_total);
        fflush(stdout);
        fprintf(js, "%s\n {\"listings\":%llu,\"build_s\":%.3f,\"build_per_s\":%.0f,\"bytes_per_listing\":%.0f,"
                    "\"queries\":%d,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"mean_ms\":%.3f,\"qps\":%.0f,\"avg_hits\":%.0f}",
                i ? "," : "", (unsigned long long)r.n, r.build_s, r.build_rate, r.mem_per, r.nq, r.p50,
                r.p99, r.mean, r.qps, r.avg_total);
        if (r.n == o.pg_size)
            ref = r;
    }
    fprintf(js, "]");
    if (o.pg) {
        if (!ref.n) /* the ratio needs our figures at PostgreSQL's size */
            run_size(&o, g, o.pg_size, &ref);
        run_pg(&o, g, js, &ref);
    }
    fprintf(js, "}\n");
    fclose(js);
    gen_free(g);
    csv_free(&set);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "query") == 0)
        return cmd_query(argv[2], argv[3]);
    if (argc >= 4 && strcmp(argv[1], "bench") == 0)
        return cmd_bench(argc, argv);
    fprintf(stderr, "usage: searchbench query DATA_DIR QUERY | bench DATA_DIR OUT.json [options]\n");
    return 2;
}
