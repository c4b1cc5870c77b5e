/* The HTTP head parser, the chunked decoder, URL decoding, JSON escaping. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_parse.h"
#include "log.h"

static rz_http_head_t h;

static int parse(const char *s) { return rz__http_parse_head(s, strlen(s), 4096, 256, &h); }

START_TEST(test_parses_a_simple_get)
{
    const char *req = "GET /v1/x?a=1 HTTP/1.1\r\nHost: a\r\nX-Y:  z \r\n\r\n";
    ck_assert_int_eq(parse(req), (int)strlen(req));
    ck_assert_int_eq((int)h.method_len, 3);
    ck_assert_int_eq(memcmp(h.target, "/v1/x?a=1", h.target_len), 0);
    ck_assert_int_eq(h.minor, 1);
    ck_assert_int_eq(h.nheaders, 2);
    const rz_http_header_t *x = rz__http_header(&h, "x-y");
    ck_assert_ptr_nonnull(x);
    ck_assert_int_eq((int)x->vlen, 1); /* surrounding spaces trimmed */
    ck_assert_int_eq(h.keepalive, 1);
    ck_assert_int_eq(h.content_length, -1);
}
END_TEST

START_TEST(test_incomplete_head_needs_more)
{
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: a\r\n"), 0);
    ck_assert_int_eq(parse("GE"), 0);
}
END_TEST

START_TEST(test_accepts_bare_lf)
{
    ck_assert_int_gt(parse("GET / HTTP/1.1\nHost: a\n\n"), 0);
}
END_TEST

START_TEST(test_http10_closes_unless_keep_alive)
{
    ck_assert_int_gt(parse("GET / HTTP/1.0\r\n\r\n"), 0);
    ck_assert_int_eq(h.keepalive, 0);
    ck_assert_int_gt(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"), 0);
    ck_assert_int_eq(h.keepalive, 1);
    ck_assert_int_gt(parse("GET / HTTP/1.1\r\nConnection: foo, close\r\n\r\n"), 0);
    ck_assert_int_eq(h.keepalive, 0);
}
END_TEST

START_TEST(test_malformed_heads_are_400)
{
    ck_assert_int_eq(parse("GET\r\n\r\n"), -400);
    ck_assert_int_eq(parse("GET  / HTTP/1.1\r\n\r\n"), -400);
    ck_assert_int_eq(parse("GET nope HTTP/1.1\r\n\r\n"), -400);
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nNo colon\r\n\r\n"), -400);
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n"), -400);
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n"), -400);
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"), -400);
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"), -400);
    ck_assert_int_eq(parse("POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"), -400);
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nA: b\x01\r\n\r\n"), -400);
}
END_TEST

START_TEST(test_versions_other_than_1x_are_505)
{
    ck_assert_int_eq(parse("GET / HTTP/2.0\r\n\r\n"), -505);
    ck_assert_int_eq(parse("GET / HTTP/1.2\r\n\r\n"), -505);
}
END_TEST

START_TEST(test_unknown_transfer_coding_is_501)
{
    ck_assert_int_eq(parse("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"), -501);
}
END_TEST

START_TEST(test_limits_give_414_and_431)
{
    char buf[8192];
    memset(buf, 'a', sizeof(buf));
    memcpy(buf, "GET /", 5);
    memcpy(buf + 300, " HTTP/1.1\r\n\r\n", 13);
    ck_assert_int_eq(rz__http_parse_head(buf, 313, 4096, 256, &h), -414);
    /* a target still arriving, already over the limit */
    ck_assert_int_eq(rz__http_parse_head(buf, 400, 4096, 256, &h), -414);
    char big[6000];
    int n = snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nX: %05000d\r\n\r\n", 1);
    ck_assert_int_eq(rz__http_parse_head(big, (size_t)n, 4096, 256, &h), -431);
    /* too many headers */
    char many[4096] = "GET / HTTP/1.1\r\n";
    for (int i = 0; i < 70; i++)
        strcat(many, "A: b\r\n");
    strcat(many, "\r\n");
    ck_assert_int_eq(rz__http_parse_head(many, strlen(many), 4096, 256, &h), -431);
}
END_TEST

START_TEST(test_upgrade_and_expect_are_flagged)
{
    ck_assert_int_gt(parse("GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                           "Expect: 100-continue\r\n\r\n"), 0);
    ck_assert_int_eq(h.upgrade, 1);
    ck_assert_int_eq(h.expect_continue, 1);
}
END_TEST

START_TEST(test_dechunk_decodes_and_reports_consumed)
{
    const char *body = "4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\nTrailer: x\r\n\r\nNEXT";
    char out[64];
    size_t n = 0;
    long used = rz__http_dechunk(body, strlen(body), out, sizeof(out), &n);
    ck_assert_int_eq(used, (long)(strlen(body) - 4));
    ck_assert_uint_eq(n, 9);
    ck_assert_int_eq(memcmp(out, "Wikipedia", 9), 0);
}
END_TEST

START_TEST(test_dechunk_partial_bad_and_too_large)
{
    char out[8];
    size_t n;
    ck_assert_int_eq(rz__http_dechunk("4\r\nWi", 5, out, sizeof(out), &n), 0);
    ck_assert_int_eq(rz__http_dechunk("zz\r\n", 4, out, sizeof(out), &n), -400);
    ck_assert_int_eq(rz__http_dechunk("4\r\nWikiXX", 9, out, sizeof(out), &n), -400);
    ck_assert_int_eq(rz__http_dechunk("9\r\n", 3, out, sizeof(out), &n), -413);
    ck_assert_int_eq(rz__http_dechunk("fffffffff\r\n", 11, out, sizeof(out), &n), -413);
}
END_TEST

/* A chunk-size line after the first 4 KiB of a body is fine: only an
 * extension longer than 4 KiB is refused (the limit once applied to the
 * offset in the body, refusing every multi-chunk body over 4 KiB). */
START_TEST(test_dechunk_many_chunks_past_4k)
{
    static char body[40000], out[20000];
    size_t o = 0, n = 0;
    for (int i = 0; i < 10; i++) {
        o += (size_t)sprintf(body + o, "7d0\r\n"); /* 2000 bytes */
        memset(body + o, 'a' + i, 2000);
        o += 2000;
        o += (size_t)sprintf(body + o, "\r\n");
    }
    o += (size_t)sprintf(body + o, "0\r\n\r\n");
    ck_assert_int_eq(rz__http_dechunk(body, o, out, sizeof(out), &n), (long)o);
    ck_assert_uint_eq(n, 20000);
    ck_assert_int_eq(out[19999], 'j');
    char ext[6000];
    memset(ext, 'x', sizeof(ext));
    memcpy(ext, "1;", 2);
    ck_assert_int_eq(rz__http_dechunk(ext, sizeof(ext), out, sizeof(out), &n), -400);
}
END_TEST

START_TEST(test_url_decode)
{
    char out[32];
    ck_assert_int_eq(rz__url_decode("a%20b+c", 7, out, 1), 5);
    ck_assert_str_eq(out, "a b c");
    ck_assert_int_eq(rz__url_decode("a+c", 3, out, 0), 3);
    ck_assert_str_eq(out, "a+c");
    ck_assert_int_eq(rz__url_decode("%zz", 3, out, 0), -1);
    ck_assert_int_eq(rz__url_decode("%2", 2, out, 0), -1);
    ck_assert_int_eq(rz__url_decode("a%00", 4, out, 0), -1);
}
END_TEST

START_TEST(test_json_escape)
{
    char out[64];
    rz__json_escape(out, sizeof(out), "a\"b\\c\nd\x01");
    ck_assert_str_eq(out, "a\\\"b\\\\c\\nd\\u0001");
    char tiny[4];
    rz__json_escape(tiny, sizeof(tiny), "\"\"\"\"");
    ck_assert_str_eq(tiny, "\\\""); /* never cuts an escape in half */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("http_parse");
    TCase *tc = tcase_create("http_parse");
    tcase_add_test(tc, test_parses_a_simple_get);
    tcase_add_test(tc, test_incomplete_head_needs_more);
    tcase_add_test(tc, test_accepts_bare_lf);
    tcase_add_test(tc, test_http10_closes_unless_keep_alive);
    tcase_add_test(tc, test_malformed_heads_are_400);
    tcase_add_test(tc, test_versions_other_than_1x_are_505);
    tcase_add_test(tc, test_unknown_transfer_coding_is_501);
    tcase_add_test(tc, test_limits_give_414_and_431);
    tcase_add_test(tc, test_upgrade_and_expect_are_flagged);
    tcase_add_test(tc, test_dechunk_decodes_and_reports_consumed);
    tcase_add_test(tc, test_dechunk_partial_bad_and_too_large);
    tcase_add_test(tc, test_dechunk_many_chunks_past_4k);
    tcase_add_test(tc, test_url_decode);
    tcase_add_test(tc, test_json_escape);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
