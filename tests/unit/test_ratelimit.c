/*
 * test_ratelimit.c — token buckets, rate syntax, trusted proxies and the
 * [ratelimit] configuration (host/ratelimit.c); Idempotency-Key helpers.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "config.h"
#include "idempotency.h"
#include "ratelimit.h"

static rz_rl_rate_t rate(const char *s)
{
    rz_rl_rate_t r;
    char err[256];
    ck_assert_msg(rz__rl_parse_rate(s, &r, err, sizeof(err)) == 0, "%s: %s", s, err);
    return r;
}

START_TEST(test_rate_syntax)
{
    rz_rl_rate_t r = rate("20/s burst 40");
    ck_assert(r.per_ms > 0.0199 && r.per_ms < 0.0201);
    ck_assert(r.burst == 40);
    r = rate("5/m");
    ck_assert(r.burst == 5);
    ck_assert(r.per_ms > 5.0 / 60000 - 1e-12 && r.per_ms < 5.0 / 60000 + 1e-12);
    r = rate("0.5/s");
    ck_assert(r.burst == 1);
    r = rate("100/h burst 10");
    ck_assert(r.burst == 10);
    r = rate("off");
    ck_assert(r.off);
    const char *bad[] = {"", "20", "20/x", "0/s", "-1/s", "20/s burst", "20/s burst 0",
                         "20/s bursts 4", "20/s burst 4 extra", "x/s", NULL};
    char err[256];
    for (int i = 0; bad[i]; i++)
        ck_assert_msg(rz__rl_parse_rate(bad[i], &r, err, sizeof(err)) == -1, "took '%s'",
                      bad[i]);
    ck_assert_ptr_nonnull(strstr(err, "burst"));
}
END_TEST

START_TEST(test_bucket_allows_burst_then_429_then_recovers)
{
    rz_rl_table_t *t = rz__rl_table_new(1024);
    rz_rl_rate_t r = rate("5/m burst 3");
    int64_t retry = 0, now = 1000000;
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(rz__rl_take(t, 0, &r, "a:1.2.3.4", now, &retry), 0);
    ck_assert_int_eq(rz__rl_take(t, 0, &r, "a:1.2.3.4", now, &retry), 1);
    ck_assert_int_eq(retry, 12); /* one token per 12 s */
    ck_assert_int_eq(rz__rl_take(t, 0, &r, "a:1.2.3.4", now + 6000, &retry), 1);
    ck_assert_int_eq(retry, 6);
    ck_assert_int_eq(rz__rl_take(t, 0, &r, "a:1.2.3.4", now + 12000, &retry), 0);
    ck_assert_int_eq(rz__rl_take(t, 0, &r, "a:1.2.3.4", now + 12000, &retry), 1);
    /* a long pause refills to the burst, not beyond */
    now += 3600 * 1000;
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(rz__rl_take(t, 0, &r, "a:1.2.3.4", now, &retry), 0);
    ck_assert_int_eq(rz__rl_take(t, 0, &r, "a:1.2.3.4", now, &retry), 1);
    rz__rl_table_free(t);
}
END_TEST

START_TEST(test_buckets_are_per_key_and_per_class)
{
    rz_rl_table_t *t = rz__rl_table_new(1024);
    rz_rl_rate_t r = rate("1/h burst 1");
    int64_t retry;
    ck_assert_int_eq(rz__rl_take(t, 0, &r, "a:1.1.1.1", 0, &retry), 0);
    ck_assert_int_eq(rz__rl_take(t, 0, &r, "a:1.1.1.1", 0, &retry), 1);
    ck_assert_int_eq(rz__rl_take(t, 0, &r, "a:2.2.2.2", 0, &retry), 0);
    ck_assert_int_eq(rz__rl_take(t, 1, &r, "a:1.1.1.1", 0, &retry), 0);
    ck_assert_int_eq(rz__rl_take(t, 0, &r, "u:1.1.1.1", 0, &retry), 0);
    rz__rl_table_free(t);
}
END_TEST

START_TEST(test_clock_going_back_refills_nothing)
{
    rz_rl_table_t *t = rz__rl_table_new(64);
    rz_rl_rate_t r = rate("1/s burst 1");
    int64_t retry;
    ck_assert_int_eq(rz__rl_take(t, 0, &r, "k", 10000, &retry), 0);
    ck_assert_int_eq(rz__rl_take(t, 0, &r, "k", 5000, &retry), 1);
    ck_assert_int_eq(rz__rl_take(t, 0, &r, "k", 11000, &retry), 0);
    rz__rl_table_free(t);
}
END_TEST

START_TEST(test_full_table_evicts_least_recent)
{
    rz_rl_table_t *t = rz__rl_table_new(64);
    rz_rl_rate_t r = rate("1/h burst 1");
    int64_t retry;
    char key[32];
    /* far more keys than slots: every insert must find a home */
    for (int i = 0; i < 10000; i++) {
        snprintf(key, sizeof(key), "a:%d", i);
        ck_assert_int_eq(rz__rl_take(t, 0, &r, key, i, &retry), 0);
    }
    /* the most recent key is still limited */
    ck_assert_int_eq(rz__rl_take(t, 0, &r, "a:9999", 10000, &retry), 1);
    rz__rl_table_free(t);
}
END_TEST

START_TEST(test_cidr_parse_and_match)
{
    rz_cidr_t l[4];
    ck_assert_int_eq(rz__cidr_parse("10.0.0.0/8", &l[0]), 0);
    ck_assert_int_eq(rz__cidr_parse("192.168.1.7", &l[1]), 0);
    ck_assert_int_eq(rz__cidr_parse("fd00::/8", &l[2]), 0);
    ck_assert_int_eq(rz__cidr_parse("172.16.0.0/12", &l[3]), 0);
    ck_assert(rz__cidr_match(l, 4, "10.200.3.4"));
    ck_assert(rz__cidr_match(l, 4, "192.168.1.7"));
    ck_assert(!rz__cidr_match(l, 4, "192.168.1.8"));
    ck_assert(rz__cidr_match(l, 4, "fd12::1"));
    ck_assert(!rz__cidr_match(l, 4, "fe80::1"));
    ck_assert(rz__cidr_match(l, 4, "172.31.255.255"));
    ck_assert(!rz__cidr_match(l, 4, "172.32.0.0"));
    ck_assert(rz__cidr_match(l, 4, "::ffff:10.1.2.3")); /* v4-mapped */
    ck_assert(!rz__cidr_match(l, 4, "garbage"));
    rz_cidr_t x;
    ck_assert_int_eq(rz__cidr_parse("10.0.0.0/33", &x), -1);
    ck_assert_int_eq(rz__cidr_parse("10.0.0/8", &x), -1);
    ck_assert_int_eq(rz__cidr_parse("/8", &x), -1);
    ck_assert_int_eq(rz__cidr_parse("::/129", &x), -1);
    ck_assert_int_eq(rz__cidr_parse("10.0.0.0/", &x), -1);
}
END_TEST

START_TEST(test_forwarded_for_believed_only_from_trusted_proxies)
{
    rz_cidr_t p[1];
    char out[64];
    ck_assert_int_eq(rz__cidr_parse("10.0.0.0/8", &p[0]), 0);
    /* an untrusted peer: its header is ignored */
    rz__rl_client_addr(p, 1, "203.0.113.9", "1.2.3.4", out, sizeof(out));
    ck_assert_str_eq(out, "203.0.113.9");
    /* a trusted proxy: the rightmost untrusted address is the client */
    rz__rl_client_addr(p, 1, "10.0.0.2", "6.6.6.6, 198.51.100.7, 10.0.0.5", out, sizeof(out));
    ck_assert_str_eq(out, "198.51.100.7");
    rz__rl_client_addr(p, 1, "10.0.0.2", "198.51.100.7", out, sizeof(out));
    ck_assert_str_eq(out, "198.51.100.7");
    /* garbage in the header: keep the last address we could trust */
    rz__rl_client_addr(p, 1, "10.0.0.2", "bogus, 10.0.0.9", out, sizeof(out));
    ck_assert_str_eq(out, "10.0.0.9");
    rz__rl_client_addr(p, 1, "10.0.0.2", "", out, sizeof(out));
    ck_assert_str_eq(out, "10.0.0.2");
    /* no trusted proxies: never believed */
    rz__rl_client_addr(p, 0, "10.0.0.2", "1.2.3.4", out, sizeof(out));
    ck_assert_str_eq(out, "10.0.0.2");
}
END_TEST

static rz_config_t *conf_of(const char *text)
{
    char err[512];
    rz_config_t *cfg = rz__config_new();
    ck_assert_int_eq(rz__config_parse_buffer(cfg, "t.conf", text, strlen(text), err, sizeof(err)),
                     0);
    return cfg;
}

START_TEST(test_config_maps_routes_to_classes)
{
    char err[512];
    rz_config_t *cfg = conf_of("[ratelimit]\n"
                               "default = 100/s burst 200\n"
                               "tight = 3/m burst 3\n"
                               "routes = POST /v1/auth/login=tight, GET /v1/things/{id}=tight\n"
                               "trusted_proxies = 127.0.0.1/32, ::1\n");
    ck_assert_msg(rz__ratelimit_configure(cfg, err, sizeof(err)) == 0, "%s", err);
    int tight = rz__ratelimit_class("POST", "/v1/auth/login");
    ck_assert_int_ge(tight, 0);
    ck_assert_int_eq(rz__ratelimit_class("GET", "/v1/things/{id}"), tight);
    int def = rz__ratelimit_class("GET", "/v1/other");
    ck_assert_int_ge(def, 0);
    ck_assert_int_ne(def, tight);
    /* the built-in mapping is replaced, not extended */
    ck_assert_int_eq(rz__ratelimit_class("POST", "/v1/auth/register"), def);
    int64_t retry;
    const char *which;
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(rz__ratelimit_check(tight, "127.0.0.1", "192.0.2.1", NULL, 0, &retry,
                                             &which), 0);
    ck_assert_int_eq(rz__ratelimit_check(tight, "127.0.0.1", "192.0.2.1", NULL, 0, &retry, &which),
                     1);
    ck_assert_str_eq(which, "address");
    ck_assert_int_eq(retry, 20);
    /* another forwarded client has its own bucket... */
    ck_assert_int_eq(rz__ratelimit_check(tight, "127.0.0.1", "192.0.2.2", "user-1", 0, &retry,
                                         &which), 0);
    /* ...but the user's bucket follows the user across addresses */
    for (int i = 3; i < 6; i++) {
        char xff[32];
        snprintf(xff, sizeof(xff), "192.0.2.%d", i);
        int rc = rz__ratelimit_check(tight, "127.0.0.1", xff, "user-1", 0, &retry, &which);
        ck_assert_int_eq(rc, i < 5 ? 0 : 1);
    }
    ck_assert_str_eq(which, "user");
    rz__ratelimit_shutdown();
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_builtin_defaults_limit_only_login_and_register)
{
    char err[512];
    rz_config_t *cfg = rz__config_new();
    ck_assert_int_eq(rz__ratelimit_configure(cfg, err, sizeof(err)), 0);
    ck_assert_int_ge(rz__ratelimit_class("POST", "/v1/auth/login"), 0);
    ck_assert_int_ge(rz__ratelimit_class("POST", "/v1/auth/register"), 0);
    ck_assert_int_eq(rz__ratelimit_class("GET", "/v1/me"), -1);
    rz__config_free(cfg);
    /* and "auth = off" switches them off */
    cfg = conf_of("[ratelimit]\nauth = off\n");
    ck_assert_int_eq(rz__ratelimit_configure(cfg, err, sizeof(err)), 0);
    ck_assert_int_eq(rz__ratelimit_class("POST", "/v1/auth/login"), -1);
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_config_errors_name_the_line)
{
    const char *bad[] = {
        "[ratelimit]\ndefault = 20 per second\n",
        "[ratelimit]\nroutes = POST /v1/x=nosuchclass\n",
        "[ratelimit]\nroutes = /v1/x\n",
        "[ratelimit]\ntrusted_proxies = 10.0.0.0/99\n",
        "[ratelimit]\nmax_keys = 3\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[512] = "";
        rz_config_t *cfg = conf_of(bad[i]);
        ck_assert_msg(rz__ratelimit_configure(cfg, err, sizeof(err)) == -1, "took %s", bad[i]);
        ck_assert_msg(strstr(err, "t.conf:") != NULL, "no file:line in '%s'", err);
        rz__config_free(cfg);
    }
}
END_TEST

START_TEST(test_idempotency_hash_covers_method_path_and_body)
{
    char a[65], b[65], c[65], d[65];
    rz__idem_request_hash("POST", "/v1/x", "{}", 2, a);
    rz__idem_request_hash("POST", "/v1/x", "{ }", 3, b);
    rz__idem_request_hash("PATCH", "/v1/x", "{}", 2, c);
    rz__idem_request_hash("POST", "/v1/y", "{}", 2, d);
    ck_assert_int_eq(strlen(a), 64);
    ck_assert_str_ne(a, b);
    ck_assert_str_ne(a, c);
    ck_assert_str_ne(a, d);
    rz__idem_request_hash("POST", "/v1/x", "{}", 2, b);
    ck_assert_str_eq(a, b);
    ck_assert(rz__idem_key_ok("4f1c-22"));
    ck_assert(!rz__idem_key_ok(""));
    ck_assert(!rz__idem_key_ok("has space"));
    char long_key[300];
    memset(long_key, 'k', 256);
    long_key[256] = '\0';
    ck_assert(!rz__idem_key_ok(long_key));
    long_key[255] = '\0';
    ck_assert(rz__idem_key_ok(long_key));
}
END_TEST

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    Suite *s = suite_create("ratelimit");
    TCase *tc = tcase_create("buckets");
    tcase_add_test(tc, test_rate_syntax);
    tcase_add_test(tc, test_bucket_allows_burst_then_429_then_recovers);
    tcase_add_test(tc, test_buckets_are_per_key_and_per_class);
    tcase_add_test(tc, test_clock_going_back_refills_nothing);
    tcase_add_test(tc, test_full_table_evicts_least_recent);
    tcase_add_test(tc, test_cidr_parse_and_match);
    tcase_add_test(tc, test_forwarded_for_believed_only_from_trusted_proxies);
    tcase_add_test(tc, test_config_maps_routes_to_classes);
    tcase_add_test(tc, test_builtin_defaults_limit_only_login_and_register);
    tcase_add_test(tc, test_config_errors_name_the_line);
    tcase_add_test(tc, test_idempotency_hash_covers_method_path_and_body);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
