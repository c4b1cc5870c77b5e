/*
 * test_cron.c — cron parsing and next-occurrence rules, with time zones
 * (pure: no database, no event loop).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cron.h"

static const char *const BERLIN = "Europe/Berlin";

static rz_cron_t parse(const char *expr)
{
    rz_cron_t c;
    char err[256];
    ck_assert_msg(rz__cron_parse(&c, expr, err, sizeof(err)) == 0, "%s: %s", expr, err);
    return c;
}

/* UTC seconds of a UTC civil time. */
static int64_t utc(int y, int mo, int d, int h, int mi)
{
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi};
    return (int64_t)timegm(&tm);
}

static int64_t next_s(const char *expr, const char *tz, int64_t after_s)
{
    rz_cron_t c = parse(expr);
    int64_t ms = rz__cron_next(&c, tz, after_s * 1000);
    return ms < 0 ? -1 : ms / 1000;
}

/* Occurrences in [from, to). */
static int count_between(const char *expr, const char *tz, int64_t from_s, int64_t to_s)
{
    rz_cron_t c = parse(expr);
    int n = 0;
    for (int64_t t = rz__cron_next(&c, tz, from_s * 1000 - 1); t >= 0 && t < to_s * 1000;
         t = rz__cron_next(&c, tz, t))
        n++;
    return n;
}

START_TEST(test_cron_parse_rejects_malformed_fields)
{
    static const char *const bad[] = {"",          "* * * *",     "* * * * * *", "60 * * * *",
                                      "* 24 * * *", "* * 0 * *",  "* * * 13 *",  "* * * * 8",
                                      "*/0 * * * *", "5-1 * * * *", "a * * * *",  "1,,2 * * * *",
                                      "* * * foo *", NULL};
    char err[256];
    rz_cron_t c;
    for (int i = 0; bad[i]; i++)
        ck_assert_msg(rz__cron_parse(&c, bad[i], err, sizeof(err)) == -1, "accepted '%s'", bad[i]);
    ck_assert_int_eq(rz__cron_parse(&c, NULL, err, sizeof(err)), -1);
    ck_assert(rz__cron_parse(&c, "61 * * * *", err, sizeof(err)) == -1 && strstr(err, "minute"));
}
END_TEST

START_TEST(test_cron_parse_lists_ranges_steps_names)
{
    rz_cron_t c = parse("*/15 9-17/4 1,15 jan-mar mon-fri");
    ck_assert(c.minute == ((1ull << 0) | (1ull << 15) | (1ull << 30) | (1ull << 45)));
    ck_assert(c.hour == ((1u << 9) | (1u << 13) | (1u << 17)));
    ck_assert(c.dom == ((1u << 1) | (1u << 15)));
    ck_assert(c.month == ((1u << 1) | (1u << 2) | (1u << 3)));
    ck_assert(c.dow == 0x3e);
    ck_assert(!c.dom_any && !c.dow_any);
    ck_assert(parse("0 0 * * 7").dow == 1); /* 7 is Sunday */
    ck_assert(parse("5/20 * * * *").minute == ((1ull << 5) | (1ull << 25) | (1ull << 45)));
    rz_cron_t m = parse("@monthly"), e = parse("0 0 1 * *");
    ck_assert(memcmp(&m, &e, sizeof(m)) == 0);
}
END_TEST

START_TEST(test_cron_first_of_month_0900_berlin)
{
    /* Winter (CET, +1) then summer (CEST, +2). */
    int64_t t = next_s("0 9 1 * *", BERLIN, utc(2026, 1, 15, 12, 0));
    ck_assert_int_eq(t, 1769932800); /* 2026-02-01 09:00 CET = 08:00Z */
    t = next_s("0 9 1 * *", BERLIN, t);
    ck_assert_int_eq(t, 1772352000); /* 2026-03-01 08:00Z */
    t = next_s("0 9 1 * *", BERLIN, t);
    ck_assert_int_eq(t, 1775026800); /* 2026-04-01 09:00 CEST = 07:00Z */
    ck_assert_int_eq(count_between("0 9 1 * *", BERLIN, utc(2026, 1, 1, 0, 0),
                                   utc(2027, 1, 1, 0, 0)),
                     12);
}
END_TEST

START_TEST(test_cron_spring_forward_gap_fires_once_after_the_change)
{
    /* 2026-03-29: 02:00 CET becomes 03:00 CEST in Berlin (01:00Z). */
    int64_t t = next_s("30 2 * * *", BERLIN, utc(2026, 3, 28, 12, 0));
    ck_assert_int_eq(t, 1774747800); /* 01:30Z = 03:30 CEST: not skipped */
    ck_assert_int_eq(next_s("30 2 * * *", BERLIN, t), 1774830600); /* 2026-03-30 02:30 CEST */
    /* An hourly job runs 23 times on the short day, never twice at once. */
    ck_assert_int_eq(count_between("30 * * * *", BERLIN, utc(2026, 3, 28, 23, 0),
                                   utc(2026, 3, 29, 22, 0)),
                     23);
    ck_assert_int_eq(count_between("* * * * *", BERLIN, utc(2026, 3, 28, 23, 0),
                                   utc(2026, 3, 29, 22, 0)),
                     23 * 60);
}
END_TEST

START_TEST(test_cron_fall_back_repeated_time_fires_once)
{
    /* 2026-10-25: 03:00 CEST becomes 02:00 CET (01:00Z); 02:30 happens twice. */
    int64_t t = next_s("30 2 * * *", BERLIN, utc(2026, 10, 24, 12, 0));
    ck_assert_int_eq(t, 1792888200); /* 00:30Z, the first 02:30 */
    ck_assert_int_eq(next_s("30 2 * * *", BERLIN, t), 1792978200); /* the next day */
    /* Seen from the second 02:10, the 02:30 of today already happened. */
    ck_assert_int_eq(next_s("30 2 * * *", BERLIN, utc(2026, 10, 25, 1, 10)), 1792978200);
    ck_assert_int_eq(count_between("0 * * * *", BERLIN, utc(2026, 10, 24, 22, 0),
                                   utc(2026, 10, 25, 23, 0)),
                     24);
}
END_TEST

START_TEST(test_cron_feb_29_only_in_leap_years)
{
    ck_assert_int_eq(next_s("0 0 29 2 *", "UTC", utc(2026, 3, 1, 0, 0)), utc(2028, 2, 29, 0, 0));
    ck_assert_int_eq(next_s("0 0 29 2 *", "UTC", utc(2028, 2, 29, 0, 0)), utc(2032, 2, 29, 0, 0));
    ck_assert_int_eq(next_s("0 0 30 2 *", "UTC", utc(2026, 1, 1, 0, 0)), -1); /* never */
    ck_assert_int_eq(next_s("0 12 31 * *", "UTC", utc(2026, 4, 1, 0, 0)), utc(2026, 5, 31, 12, 0));
}
END_TEST

START_TEST(test_cron_dom_and_dow_restricted_means_either)
{
    /* 2026-02-01 is a Sunday; 2026-02-13 a Friday. */
    int64_t from = utc(2026, 2, 1, 0, 0);
    ck_assert_int_eq(next_s("0 0 13 * 5", "UTC", from), utc(2026, 2, 6, 0, 0)); /* a Friday */
    ck_assert_int_eq(next_s("0 0 10 * 5", "UTC", utc(2026, 2, 6, 0, 0)), utc(2026, 2, 10, 0, 0));
    ck_assert_int_eq(next_s("0 0 13 * *", "UTC", from), utc(2026, 2, 13, 0, 0));
    ck_assert_int_eq(next_s("0 0 * * 5", "UTC", from), utc(2026, 2, 6, 0, 0));
    ck_assert_int_eq(next_s("0 0 * * sun", "UTC", from), utc(2026, 2, 8, 0, 0)); /* strictly after */
    ck_assert_int_eq(count_between("0 0 * * mon-fri", "UTC", from, utc(2026, 3, 1, 0, 0)), 20);
}
END_TEST

START_TEST(test_cron_steps_and_minutes)
{
    int64_t from = utc(2026, 5, 5, 10, 7);
    ck_assert_int_eq(next_s("*/15 * * * *", "UTC", from), utc(2026, 5, 5, 10, 15));
    ck_assert_int_eq(next_s("*/15 * * * *", "UTC", utc(2026, 5, 5, 23, 50)), utc(2026, 5, 6, 0, 0));
    ck_assert_int_eq(next_s("0 0 1 1 *", "UTC", from), utc(2027, 1, 1, 0, 0));
    ck_assert_int_eq(count_between("*/10 * * * *", "UTC", utc(2026, 5, 5, 0, 0), utc(2026, 5, 6, 0, 0)), 144);
    /* Results are whole minutes strictly after a millisecond input. */
    rz_cron_t c = parse("* * * * *");
    ck_assert_int_eq(rz__cron_next(&c, "UTC", utc(2026, 5, 5, 10, 7) * 1000 + 1), (utc(2026, 5, 5, 10, 8)) * 1000);
}
END_TEST

START_TEST(test_tz_validation_and_offsets)
{
    ck_assert(rz__tz_valid("Europe/Berlin"));
    ck_assert(rz__tz_valid("UTC"));
    ck_assert(rz__tz_valid("America/New_York"));
    ck_assert(!rz__tz_valid("Mars/Olympus_Mons"));
    ck_assert(!rz__tz_valid("../../etc/passwd"));
    ck_assert(!rz__tz_valid("/etc/localtime"));
    ck_assert(!rz__tz_valid(""));
    ck_assert(!rz__tz_valid(NULL));
    ck_assert_int_eq(rz__tz_offset(BERLIN, utc(2026, 1, 1, 0, 0)), 3600);
    ck_assert_int_eq(rz__tz_offset(BERLIN, utc(2026, 7, 1, 0, 0)), 7200);
    ck_assert_int_eq(rz__tz_offset("America/New_York", utc(2026, 1, 1, 0, 0)), -5 * 3600);
    /* The process's own TZ is left alone. */
    setenv("TZ", "Asia/Tokyo", 1);
    rz__tz_offset(BERLIN, 0);
    ck_assert_str_eq(getenv("TZ"), "Asia/Tokyo");
    struct tm tm = {.tm_year = 126, .tm_mon = 6, .tm_mday = 1, .tm_hour = 12};
    ck_assert_int_eq(rz__tz_to_utc(BERLIN, &tm), utc(2026, 7, 1, 10, 0));
    struct tm back;
    rz__tz_from_utc(BERLIN, utc(2026, 7, 1, 10, 0), &back);
    ck_assert_int_eq(back.tm_hour, 12);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cron");
    TCase *tc = tcase_create("cron");
    tcase_add_test(tc, test_cron_parse_rejects_malformed_fields);
    tcase_add_test(tc, test_cron_parse_lists_ranges_steps_names);
    tcase_add_test(tc, test_cron_first_of_month_0900_berlin);
    tcase_add_test(tc, test_cron_spring_forward_gap_fires_once_after_the_change);
    tcase_add_test(tc, test_cron_fall_back_repeated_time_fires_once);
    tcase_add_test(tc, test_cron_feb_29_only_in_leap_years);
    tcase_add_test(tc, test_cron_dom_and_dow_restricted_means_either);
    tcase_add_test(tc, test_cron_steps_and_minutes);
    tcase_add_test(tc, test_tz_validation_and_offsets);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
