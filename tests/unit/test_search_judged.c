/* The judged query set (tests/search/judged.tsv) over the real listings of
 * tests/data: each query's listed ids must come within its first k hits.
 * The data directory is $RZ_DATA_DIR, else tests/data (run from the checkout). */
#include <check.h>
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
#include "../../bench/search/csv.c"

static const char *qs_getter(void *ctx, const char *name)
{
    static char buf[8][2048];
    static int k;
    k = (k + 1) & 7;
    return sx_qs_get(ctx, name, buf[k], sizeof(buf[k]));
}

START_TEST(test_judged_queries_put_the_right_listings_first)
{
    const char *dir = getenv("RZ_DATA_DIR") ? getenv("RZ_DATA_DIR") : "tests/data";
    static const char *const cities[] = {"dublin", "brisbane", "hongkong"};
    csv_set_t set = {0};
    char path[1024];
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/listings-%s.csv.gz", dir, cities[i]);
        ck_assert_msg(csv_load(path, &set) == 0, "cannot read %s (set RZ_DATA_DIR)", path);
    }
    ck_assert_uint_gt(set.n, 17000);
    sx_index_t *ix = sx_index_new();
    for (size_t i = 0; i < set.n; i++) {
        sx_listing_in_t in;
        csv_to_listing(&set.rows[i], &in);
        ck_assert_int_eq(sx_index_put(ix, &in), SX_OK);
    }
    ck_assert_int_eq(sx_index_prepare(ix), 0);
    sx_searcher_t *se = sx_searcher_new();
    sx_result_t *r = malloc(sizeof(*r));
    FILE *f = fopen("tests/search/judged.tsv", "r");
    ck_assert_msg(f != NULL, "tests/search/judged.tsv: run from the checkout");
    char line[4096];
    int queries = 0, failed = 0;
    while (fgets(line, sizeof(line), f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        line[strcspn(line, "\n")] = '\0';
        char *save, *qs = strtok_r(line, "\t", &save), *ks = strtok_r(NULL, "\t", &save);
        char *ids = strtok_r(NULL, "\t", &save), *note = strtok_r(NULL, "\t", &save);
        ck_assert_msg(qs && ks && ids, "judged.tsv: bad line");
        sx_query_t q;
        const char *field;
        char msg[200];
        ck_assert_msg(sx_params_parse(&q, qs_getter, qs, &field, msg, sizeof(msg)) == SX_OK,
                      "%s: %s", qs, msg);
        q.limit = atoi(ks);
        ck_assert_int_eq(sx_search(ix, se, &q, r), SX_OK);
        queries++;
        char *s2, *want;
        for (want = strtok_r(ids, " ", &s2); want; want = strtok_r(NULL, " ", &s2)) {
            int found = 0;
            for (int i = 0; i < r->nhits && !found; i++)
                found = strcmp(sx_lstr(&ix->l[ix->listing[r->hits[i].doc]], SX_L_ID), want) == 0;
            if (!found) {
                failed++;
                fprintf(stderr, "judged: %s (%s): %s is not in the first %s\n", qs,
                        note ? note : "", want, ks);
            }
        }
    }
    fclose(f);
    ck_assert_int_ge(queries, 15);
    ck_assert_int_eq(failed, 0);
    free(r);
    sx_searcher_free(se);
    sx_index_free(ix);
    csv_free(&set);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("search_judged");
    TCase *tc = tcase_create("judged");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_judged_queries_put_the_right_listings_first);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
