/* The router: methods, parameters, precedence, 404/405, refusals. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "router.h"

static void h1(rz_req_t *r, void *u) { (void)r, (void)u; }
static void h2(rz_req_t *r, void *u) { (void)r, (void)u; }

static rz_router_t *r;
static char err[256];

static void setup(void)
{
    r = rz__router_new();
    ck_assert_ptr_nonnull(r);
}
static void teardown(void) { rz__router_free(r); }

static int add(const char *m, const char *p, rz_handler_fn h)
{
    return rz__router_add(r, m, p, RZ_ACCESS_PUBLIC, h, NULL, NULL, NULL, err, sizeof(err));
}

static int match(const char *m, const char *path, rz_match_t *out)
{
    return rz__router_match(r, m, path, strlen(path), out);
}

static const char *param(const char *path, const rz_match_t *m, int i, char *buf)
{
    memcpy(buf, path + m->params[i].off, m->params[i].len);
    buf[m->params[i].len] = '\0';
    return buf;
}

START_TEST(test_literal_route_matches)
{
    rz_match_t m;
    ck_assert_int_eq(add("GET", "/v1/hello", h1), 0);
    ck_assert_int_eq(match("GET", "/v1/hello", &m), 200);
    ck_assert_ptr_eq((void *)m.route->handler, (void *)h1);
    ck_assert_int_eq(m.nparams, 0);
}
END_TEST

START_TEST(test_parameters_are_captured)
{
    rz_match_t m;
    char buf[64];
    const char *path = "/v1/properties/abc/photos/7";
    ck_assert_int_eq(add("GET", "/v1/properties/{id}/photos/{photo}", h1), 0);
    ck_assert_int_eq(match("GET", path, &m), 200);
    ck_assert_int_eq(m.nparams, 2);
    ck_assert_str_eq(param(path, &m, 0, buf), "abc");
    ck_assert_str_eq(param(path, &m, 1, buf), "7");
    ck_assert_str_eq(m.route->param_names[1], "photo");
}
END_TEST

START_TEST(test_literal_wins_over_parameter)
{
    rz_match_t m;
    ck_assert_int_eq(add("GET", "/v1/properties/{id}", h1), 0);
    ck_assert_int_eq(add("GET", "/v1/properties/mine", h2), 0);
    ck_assert_int_eq(match("GET", "/v1/properties/mine", &m), 200);
    ck_assert_ptr_eq((void *)m.route->handler, (void *)h2);
    ck_assert_int_eq(match("GET", "/v1/properties/other", &m), 200);
    ck_assert_ptr_eq((void *)m.route->handler, (void *)h1);
}
END_TEST

START_TEST(test_backtracks_from_a_dead_literal_branch)
{
    rz_match_t m;
    ck_assert_int_eq(add("GET", "/a/b/c", h1), 0);
    ck_assert_int_eq(add("GET", "/a/{x}/d", h2), 0);
    ck_assert_int_eq(match("GET", "/a/b/d", &m), 200);
    ck_assert_ptr_eq((void *)m.route->handler, (void *)h2);
    ck_assert_int_eq(m.nparams, 1);
}
END_TEST

START_TEST(test_unknown_path_is_404)
{
    rz_match_t m;
    add("GET", "/v1/hello", h1);
    ck_assert_int_eq(match("GET", "/v1/hellox", &m), 404);
    ck_assert_int_eq(match("GET", "/v1", &m), 404);
    ck_assert_int_eq(match("GET", "/v1/hello/", &m), 404);
    ck_assert_int_eq(match("GET", "//v1/hello", &m), 404);
    ck_assert_int_eq(match("GET", "", &m), 404);
}
END_TEST

START_TEST(test_wrong_method_is_405_with_allow)
{
    rz_match_t m;
    add("GET", "/v1/x", h1);
    add("POST", "/v1/x", h2);
    ck_assert_int_eq(match("DELETE", "/v1/x", &m), 405);
    ck_assert_str_eq(m.allow, "GET, POST");
    ck_assert_int_eq(match("BREW", "/v1/x", &m), 405);
}
END_TEST

START_TEST(test_head_falls_back_to_get)
{
    rz_match_t m;
    add("GET", "/v1/x", h1);
    ck_assert_int_eq(match("HEAD", "/v1/x", &m), 200);
}
END_TEST

START_TEST(test_duplicate_route_is_refused_naming_owner)
{
    ck_assert_int_eq(add("GET", "/v1/p/{id}", h1), 0);
    ck_assert_int_eq(add("GET", "/v1/p/{other}", h2), RZ_EEXIST);
    ck_assert_ptr_nonnull(strstr(err, "duplicate route GET /v1/p/{other}"));
    ck_assert_ptr_nonnull(strstr(err, "by host"));
    ck_assert_int_eq(add("POST", "/v1/p/{id}", h2), 0); /* another method is fine */
}
END_TEST

START_TEST(test_bad_patterns_are_refused)
{
    ck_assert_int_eq(add("GET", "v1/x", h1), RZ_EINVAL);
    ck_assert_int_eq(add("GET", "/v1//x", h1), RZ_EINVAL);
    ck_assert_int_eq(add("GET", "/v1/{Bad}", h1), RZ_EINVAL);
    ck_assert_int_eq(add("GET", "/v1/{}", h1), RZ_EINVAL);
    ck_assert_int_eq(add("GET", "/v1/{id", h1), RZ_EINVAL);
    ck_assert_int_eq(add("GET", "/v1/a b", h1), RZ_EINVAL);
    ck_assert_int_eq(add("FETCH", "/v1/x", h1), RZ_EINVAL);
    ck_assert_int_eq(add("GET", "/v1/x", NULL), RZ_EINVAL);
    ck_assert_int_eq(add("GET", "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}", h1), RZ_EINVAL);
    ck_assert_uint_eq(rz__router_count(r), 0);
}
END_TEST

START_TEST(test_root_path_routes)
{
    rz_match_t m;
    ck_assert_int_eq(match("GET", "/", &m), 404);
    add("GET", "/", h1);
    ck_assert_int_eq(match("GET", "/", &m), 200);
}
END_TEST

START_TEST(test_route_indexes_are_dense)
{
    add("GET", "/a", h1);
    add("GET", "/b", h1);
    ck_assert_int_eq(rz__router_at(r, 1)->index, 1);
    ck_assert_str_eq(rz__router_at(r, 1)->pattern, "/b");
    ck_assert_ptr_null(rz__router_at(r, 2));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("router");
    TCase *tc = tcase_create("router");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_literal_route_matches);
    tcase_add_test(tc, test_parameters_are_captured);
    tcase_add_test(tc, test_literal_wins_over_parameter);
    tcase_add_test(tc, test_backtracks_from_a_dead_literal_branch);
    tcase_add_test(tc, test_unknown_path_is_404);
    tcase_add_test(tc, test_wrong_method_is_405_with_allow);
    tcase_add_test(tc, test_head_falls_back_to_get);
    tcase_add_test(tc, test_duplicate_route_is_refused_naming_owner);
    tcase_add_test(tc, test_bad_patterns_are_refused);
    tcase_add_test(tc, test_root_path_routes);
    tcase_add_test(tc, test_route_indexes_are_dense);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
