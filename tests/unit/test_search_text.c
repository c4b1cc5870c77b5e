/* The search core's text parts: folding, tokens, the term dictionary,
 * postings and the fuzzy matcher.  The core is compiled into the test. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/search/mem.c"
#include "../../plugins/search/hmap.c"
#include "../../plugins/search/fold.c"
#include "../../plugins/search/tokenize.c"
#include "../../plugins/search/termdict.c"
#include "../../plugins/search/postings.c"
#include "../../plugins/search/fuzzy.c"

typedef struct toks {
    char t[32][SX_TOKEN_MAX + 8];
    int kind[32];
    int n;
} toks_t;

static int keep(const sx_token_t *t, void *u)
{
    toks_t *k = u;
    if (k->n < 32) {
        memcpy(k->t[k->n], t->text, t->len + 1);
        k->kind[k->n++] = t->kind;
    }
    return 0;
}

static toks_t tok(const char *s)
{
    toks_t k;
    k.n = 0;
    sx_tokenize(s, strlen(s), keep, &k);
    return k;
}

START_TEST(test_folding_drops_case_and_accents)
{
    char out[64];
    sx_fold_str("Café CRÈME Ångström Straße Łódź", strlen("Café CRÈME Ångström Straße Łódź"), out, sizeof(out));
    ck_assert_str_eq(out, "cafe creme angstrom strasse lodz");
    sx_fold_str("ＡＢＣ１", strlen("ＡＢＣ１"), out, sizeof(out)); /* fullwidth forms */
    ck_assert_str_eq(out, "abc1");
    sx_fold_str("ΑΘΗΝΑ Москва", strlen("ΑΘΗΝΑ Москва"), out, sizeof(out));
    ck_assert_str_eq(out, "αθηνα москва");
}
END_TEST

START_TEST(test_decomposed_accent_folds_like_composed)
{
    toks_t k = tok("Cafe\xcc\x81 au lait"); /* e + COMBINING ACUTE */
    ck_assert_int_eq(k.n, 3);
    ck_assert_str_eq(k.t[0], "cafe");
}
END_TEST

START_TEST(test_words_split_on_punctuation_and_apostrophes)
{
    toks_t k = tok("Dublin's best: self-check-in, 2br & wifi!");
    const char *want[] = {"dublin", "s", "best", "self", "check", "in", "2br", "wifi"};
    ck_assert_int_eq(k.n, 8);
    for (int i = 0; i < 8; i++)
        ck_assert_str_eq(k.t[i], want[i]);
}
END_TEST

START_TEST(test_cjk_runs_give_unigrams_and_bigrams)
{
    toks_t k = tok("銅鑼灣 studio");
    /* 銅, 鑼, 銅鑼, 灣, 鑼灣, studio */
    ck_assert_int_eq(k.n, 6);
    ck_assert_str_eq(k.t[0], "銅");
    ck_assert_str_eq(k.t[2], "銅鑼");
    ck_assert_int_eq(k.kind[2], SX_TOK_CJK2);
    ck_assert_str_eq(k.t[4], "鑼灣");
    ck_assert_str_eq(k.t[5], "studio");
}
END_TEST

START_TEST(test_invalid_utf8_never_hangs_or_overreads)
{
    const char bad[] = "ab\xff\xc3 \xe4\xb8 cd\xf0\x9f";
    toks_t k = tok(bad);
    ck_assert_int_ge(k.n, 2);
    ck_assert_str_eq(k.t[0], "ab");
}
END_TEST

START_TEST(test_long_words_are_cut_at_a_character)
{
    char s[300];
    for (int i = 0; i < 100; i++)
        memcpy(s + 2 * i, "é", 2); /* 2 bytes each, folds to 1 */
    s[200] = '\0';
    toks_t k = tok(s);
    ck_assert_int_eq(k.n, 1);
    ck_assert_int_eq((int)strlen(k.t[0]), SX_TOKEN_MAX);
}
END_TEST

START_TEST(test_term_dictionary_interns_and_finds_prefixes)
{
    sx_termdict_t d;
    memset(&d, 0, sizeof(d));
    int added;
    const char *w[] = {"apartment", "apart", "apple", "banana", "app"};
    for (int i = 0; i < 5; i++)
        ck_assert_uint_eq(sx_term_intern(&d, w[i], strlen(w[i]), &added), (uint32_t)i);
    ck_assert_uint_eq(sx_term_intern(&d, "apple", 5, &added), 2);
    ck_assert_int_eq(added, 0);
    ck_assert_uint_eq(sx_term_find(&d, "pear", 4), SX_NONE);
    ck_assert_int_eq(sx_termdict_sort(&d), 0);
    uint32_t lo, hi;
    sx_term_prefix_range(&d, "ap", 2, &lo, &hi);
    ck_assert_uint_eq(hi - lo, 4);
    sx_term_prefix_range(&d, "apa", 3, &lo, &hi);
    ck_assert_uint_eq(hi - lo, 2);
    sx_term_prefix_range(&d, "z", 1, &lo, &hi);
    ck_assert_uint_eq(hi - lo, 0);
    sx_termdict_free(&d);
}
END_TEST

START_TEST(test_postings_round_trip_across_blocks_with_large_gaps)
{
    sx_postings_t p;
    memset(&p, 0, sizeof(p));
    uint32_t doc = 0;
    for (uint32_t i = 0; i < 1000; i++) {
        doc += 1 + (i % 7 == 0 ? 300000 : i % 3);
        ck_assert_int_eq(sx_postings_add(&p, doc, (uint8_t)(i & 0xff)), 0);
    }
    ck_assert_uint_eq(p.nblk, (1000 + SX_BLOCK - 1) / SX_BLOCK);
    ck_assert_uint_lt(p.len, 1000 * 4); /* compact: gaps mostly one byte */
    uint32_t docs[SX_BLOCK], k = 0, want = 0;
    uint8_t fl[SX_BLOCK];
    for (uint32_t b = 0; b < p.nblk; b++) {
        uint32_t n = sx_postings_block(&p, b, docs, fl);
        for (uint32_t i = 0; i < n; i++, k++) {
            want += 1 + (k % 7 == 0 ? 300000 : k % 3);
            ck_assert_uint_eq(docs[i], want);
            ck_assert_uint_eq(fl[i], k & 0xff);
        }
    }
    ck_assert_uint_eq(k, 1000);
    sx_piter_t it;
    uint32_t d;
    uint8_t f;
    sx_piter_init(&it, &p);
    for (k = 0; sx_piter_next(&it, &d, &f); k++)
        ;
    ck_assert_uint_eq(k, 1000);
    sx_postings_free(&p);
}
END_TEST

START_TEST(test_osa_counts_a_transposition_as_one_edit)
{
    ck_assert_int_eq(sx_osa("apartment", 9, "apartmnet", 9, 2), 1);
    ck_assert_int_eq(sx_osa("kitchen", 7, "kichen", 6, 2), 1);
    ck_assert_int_eq(sx_osa("balcony", 7, "bakony", 6, 2), 2);
    ck_assert_int_eq(sx_osa("house", 5, "mouse", 5, 0), 1); /* over the bound: max + 1 */
    ck_assert_int_eq(sx_osa("abc", 3, "abcdef", 6, 2), 3);
}
END_TEST

START_TEST(test_typos_allowed_follow_word_length)
{
    ck_assert_int_eq(sx_typos_allowed(4), 0);
    ck_assert_int_eq(sx_typos_allowed(5), 1);
    ck_assert_int_eq(sx_typos_allowed(8), 1);
    ck_assert_int_eq(sx_typos_allowed(9), 2);
}
END_TEST

typedef struct found {
    uint32_t id[16];
    int dist[16];
    int n;
} found_t;

static void on_found(uint32_t id, int dist, void *u)
{
    found_t *f = u;
    if (f->n < 16) {
        f->id[f->n] = id;
        f->dist[f->n++] = dist;
    }
}

static int has(const found_t *f, uint32_t id, int dist)
{
    for (int i = 0; i < f->n; i++)
        if (f->id[i] == id && f->dist[i] == dist)
            return 1;
    return 0;
}

START_TEST(test_fuzzy_finds_terms_within_the_allowed_edits)
{
    sx_termdict_t d;
    sx_fuzzy_t z;
    memset(&d, 0, sizeof(d));
    memset(&z, 0, sizeof(z));
    const char *w[] = {"apartment", "department", "balcony", "kitchen", "studio", "accommodation"};
    int added;
    for (uint32_t i = 0; i < 6; i++) {
        uint32_t id = sx_term_intern(&d, w[i], strlen(w[i]), &added);
        ck_assert_int_eq(sx_fuzzy_add(&z, w[i], strlen(w[i]), id), 0);
    }
    found_t f = {.n = 0};
    sx_fuzzy_find(&z, &d, "apartmnet", 9, 2, on_found, &f);
    ck_assert(has(&f, 0, 1));
    ck_assert(has(&f, 1, 2) || !has(&f, 1, 3)); /* department is 2 away from apartment, 3 from the typo */
    f.n = 0;
    sx_fuzzy_find(&z, &d, "balcny", 6, 1, on_found, &f);
    ck_assert(has(&f, 2, 1));
    f.n = 0;
    sx_fuzzy_find(&z, &d, "acomodation", 11, 2, on_found, &f); /* two deletions */
    ck_assert(has(&f, 5, 2));
    f.n = 0;
    sx_fuzzy_find(&z, &d, "stdio", 5, 1, on_found, &f);
    ck_assert(has(&f, 4, 1));
    f.n = 0;
    sx_fuzzy_find(&z, &d, "kitxhen", 7, 1, on_found, &f); /* substitution */
    ck_assert(has(&f, 3, 1));
    f.n = 0;
    sx_fuzzy_find(&z, &d, "ktichne", 7, 1, on_found, &f); /* two edits: not for 7 letters */
    ck_assert_int_eq(f.n, 0);
    sx_fuzzy_free(&z);
    sx_termdict_free(&d);
}
END_TEST

START_TEST(test_memory_is_accounted)
{
    size_t before = sx_mem_used();
    void *p = sx_malloc(1000);
    ck_assert_uint_ge(sx_mem_used(), before + 1000);
    p = sx_realloc(p, 5000);
    ck_assert_uint_ge(sx_mem_used(), before + 5000);
    sx_free(p);
    ck_assert_uint_eq(sx_mem_used(), before);
}
END_TEST

START_TEST(test_hash_map_deletes_without_breaking_probe_chains)
{
    sx_hmap_t m;
    memset(&m, 0, sizeof(m));
    for (uint32_t i = 0; i < 1000; i++)
        ck_assert_int_eq(sx_hmap_put(&m, (uint64_t)i * 64 + 1, i), 0); /* clustered */
    for (uint32_t i = 0; i < 1000; i += 2)
        ck_assert_int_eq(sx_hmap_del(&m, (uint64_t)i * 64 + 1, i), 1);
    for (uint32_t i = 0; i < 1000; i++)
        ck_assert_uint_eq(sx_hmap_get(&m, (uint64_t)i * 64 + 1, NULL, NULL, NULL, 0), i % 2 ? i : SX_NONE);
    sx_hmap_free(&m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("search_text");
    TCase *tc = tcase_create("text");
    tcase_add_test(tc, test_folding_drops_case_and_accents);
    tcase_add_test(tc, test_decomposed_accent_folds_like_composed);
    tcase_add_test(tc, test_words_split_on_punctuation_and_apostrophes);
    tcase_add_test(tc, test_cjk_runs_give_unigrams_and_bigrams);
    tcase_add_test(tc, test_invalid_utf8_never_hangs_or_overreads);
    tcase_add_test(tc, test_long_words_are_cut_at_a_character);
    tcase_add_test(tc, test_term_dictionary_interns_and_finds_prefixes);
    tcase_add_test(tc, test_postings_round_trip_across_blocks_with_large_gaps);
    tcase_add_test(tc, test_osa_counts_a_transposition_as_one_edit);
    tcase_add_test(tc, test_typos_allowed_follow_word_length);
    tcase_add_test(tc, test_fuzzy_finds_terms_within_the_allowed_edits);
    tcase_add_test(tc, test_memory_is_accounted);
    tcase_add_test(tc, test_hash_map_deletes_without_breaking_probe_chains);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
