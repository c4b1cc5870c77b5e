/*
 * cron.c — cron expressions and civil time in a zone (see cron.h).
 *
 * The search walks civil time field by field (month, day, hour, minute),
 * using timegm() on a struct tm as plain calendar arithmetic: treating a
 * wall-clock time "as if UTC" normalises overflowing fields and gives the
 * weekday without involving any zone.  Only the final civil minute is mapped
 * to UTC, and only that step knows about daylight saving.
 */
#include "cron.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* ---- parsing ---------------------------------------------------------------- */

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                          "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const dow_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

/* A number, or a 3-letter name (names[i] means i + base). */
static int parse_value(const char **p, const char *const *names, int nnames, int base, int *out)
{
    const char *s = *p;
    if (isdigit((unsigned char)*s)) {
        long v = 0;
        while (isdigit((unsigned char)*s) && v < 1000)
            v = v * 10 + (*s++ - '0');
        *out = (int)v;
        *p = s;
        return 0;
    }
    for (int i = 0; names && i < nnames; i++) {
        if (strncasecmp(s, names[i], 3) == 0 && !isalpha((unsigned char)s[3])) {
            *out = i + base;
            *p = s + 3;
            return 0;
        }
    }
    return -1;
}

/* One field into a bit set over [lo, hi]. */
static int parse_field(const char *f, int lo, int hi, const char *const *names, int nnames,
                       int base, uint64_t *bits, int *any)
{
    const char *p = f;
    *bits = 0;
    *any = strcmp(f, "*") == 0;
    for (;;) {
        int a, b, step = 1, single = 0;
        if (*p == '*') {
            a = lo;
            b = hi;
            p++;
        } else {
            if (parse_value(&p, names, nnames, base, &a) != 0)
                return -1;
            b = a;
            single = 1;
            if (*p == '-') {
                p++;
                single = 0;
                if (parse_value(&p, names, nnames, base, &b) != 0)
                    return -1;
            }
        }
        if (*p == '/') {
            p++;
            if (parse_value(&p, NULL, 0, 0, &step) != 0 || step < 1)
                return -1;
            if (single)
                b = hi; /* "5/15" means 5-hi/15, as in Vixie cron */
        }
        if (a < lo || b > hi || a > b)
            return -1;
        for (int v = a; v <= b; v += step)
            *bits |= 1ull << v;
        if (*p == '\0')
            return 0;
        if (*p++ != ',')
            return -1;
    }
}

int rz__cron_parse(rz_cron_t *c, const char *expr, char *err, size_t errlen)
{
    static const struct {
        const char *name, *expr;
    } macros[] = {{"@hourly", "0 * * * *"},
                  {"@daily", "0 0 * * *"},
                  {"@midnight", "0 0 * * *"},
                  {"@weekly", "0 0 * * 0"},
                  {"@monthly", "0 0 1 * *"},
                  {"@yearly", "0 0 1 1 *"},
                  {"@annually", "0 0 1 1 *"}};
    static const char *const what[] = {"minute", "hour", "day of month", "month",
                                       "day of week"};
    char buf[256], *fields[5], *save = NULL;
    int n = 0;

    if (!expr) {
        snprintf(err, errlen, "cron: no expression");
        return -1;
    }
    for (size_t i = 0; i < sizeof(macros) / sizeof(macros[0]); i++)
        if (strcasecmp(expr, macros[i].name) == 0)
            expr = macros[i].expr;
    if (strlen(expr) >= sizeof(buf)) {
        snprintf(err, errlen, "cron: expression too long");
        return -1;
    }
    strcpy(buf, expr);
    for (char *t = strtok_r(buf, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
        if (n == 5) {
            n++;
            break;
        }
        fields[n++] = t;
    }
    if (n != 5) {
        snprintf(err, errlen, "cron '%s': expected 5 fields (minute hour day month weekday)",
                 expr);
        return -1;
    }
    uint64_t bits[5];
    int any[5];
    static const int lo[] = {0, 0, 1, 1, 0}, hi[] = {59, 23, 31, 12, 7};
    for (int i = 0; i < 5; i++) {
        const char *const *names = i == 3 ? month_names : i == 4 ? dow_names : NULL;
        int nnames = i == 3 ? 12 : i == 4 ? 7 : 0;
        if (parse_field(fields[i], lo[i], hi[i], names, nnames, i == 3 ? 1 : 0, &bits[i],
                        &any[i]) != 0) {
            snprintf(err, errlen, "cron '%s': bad %s field '%s' (allowed %d-%d, *, a-b, a,b, /n)",
                     expr, what[i], fields[i], lo[i], hi[i]);
            return -1;
        }
    }
    c->minute = bits[0];
    c->hour = (uint32_t)bits[1];
    c->dom = (uint32_t)bits[2];
    c->month = (uint16_t)bits[3];
    c->dow = (uint8_t)((bits[4] | (bits[4] >> 7)) & 0x7f); /* 7 is Sunday too */
    c->dom_any = (uint8_t)any[2];
    c->dow_any = (uint8_t)any[4];
    return 0;
}

/* ---- civil search ------------------------------------------------------------- */

static int day_matches(const rz_cron_t *c, int mday, int wday)
{
    int d = (c->dom >> mday) & 1, w = (c->dow >> wday) & 1;
    if (c->dom_any || c->dow_any)
        return d && w; /* "*" matches everything, so AND is the restricted one */
    return d || w;
}

/* Normalise tm as civil time (no zone): fills tm_wday, tm_yday. */
static void civil_norm(struct tm *tm)
{
    tm->tm_isdst = 0;
    time_t t = timegm(tm);
    gmtime_r(&t, tm);
}

int rz__cron_match(const rz_cron_t *c, const struct tm *in)
{
    struct tm tm = *in;
    civil_norm(&tm);
    return ((c->month >> (tm.tm_mon + 1)) & 1) && day_matches(c, tm.tm_mday, tm.tm_wday) &&
           ((c->hour >> tm.tm_hour) & 1) && ((c->minute >> tm.tm_min) & 1);
}

int rz__cron_next_civil(const rz_cron_t *c, const struct tm *after, struct tm *out)
{
    struct tm tm = *after;
    tm.tm_sec = 0;
    tm.tm_min++;
    civil_norm(&tm);
    int limit = tm.tm_year + 8;
    while (tm.tm_year <= limit) {
        if (!((c->month >> (tm.tm_mon + 1)) & 1)) {
            tm.tm_mon++;
            tm.tm_mday = 1;
            tm.tm_hour = tm.tm_min = 0;
        } else if (!day_matches(c, tm.tm_mday, tm.tm_wday)) {
            tm.tm_mday++;
            tm.tm_hour = tm.tm_min = 0;
        } else if (!((c->hour >> tm.tm_hour) & 1)) {
            tm.tm_hour++;
            tm.tm_min = 0;
        } else if (!((c->minute >> tm.tm_min) & 1)) {
            tm.tm_min++;
        } else {
            *out = tm;
            return 0;
        }
        civil_norm(&tm);
    }
    return -1;
}

/* ---- zones ---------------------------------------------------------------------- */

int rz__tz_valid(const char *tz)
{
    if (!tz || !*tz || strlen(tz) > 200 || tz[0] == '/' || strstr(tz, ".."))
        return 0;
    for (const char *s = tz; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("/_+-", *s))
            return 0;
    if (strcmp(tz, "UTC") == 0)
        return 1;
    const char *dir = getenv("TZDIR");
    char path[512];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", tz);
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Select zone tz for localtime_r; returns the previous TZ (owned, may be
 * NULL) for tz_restore. */
static char *tz_select(const char *tz)
{
    const char *old = getenv("TZ");
    char *saved = old ? strdup(old) : NULL;
    char spec[256];
    /* A leading ':' makes glibc read the file, never parse a POSIX rule. */
    snprintf(spec, sizeof(spec), ":%s", tz);
    setenv("TZ", spec, 1);
    tzset();
    return saved;
}

static void tz_restore(char *saved)
{
    if (saved)
        setenv("TZ", saved, 1);
    else
        unsetenv("TZ");
    tzset();
    free(saved);
}

static long offset_at(int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    localtime_r(&tt, &tm);
    return tm.tm_gmtoff;
}

long rz__tz_offset(const char *tz, int64_t t)
{
    char *saved = tz_select(tz);
    long off = offset_at(t);
    tz_restore(saved);
    return off;
}

void rz__tz_from_utc(const char *tz, int64_t t, struct tm *out)
{
    char *saved = tz_select(tz);
    time_t tt = (time_t)t;
    localtime_r(&tt, out);
    tz_restore(saved);
}

/* With the zone selected.  The instant u we want satisfies
 * u + offset(u) = local.  Offsets stay within +-14 h and change at most once
 * in a day, so the offsets 12 h either side are the only candidates. */
static int64_t to_utc_selected(const struct tm *civil)
{
    struct tm tm = *civil;
    int64_t local = (int64_t)timegm(&tm);
    long before = offset_at(local - 43200), after = offset_at(local + 43200);
    int64_t best = INT64_MAX;
    long cand[2] = {before, after};
    for (int i = 0; i < 2; i++) {
        int64_t u = local - cand[i];
        if (offset_at(u) == cand[i] && u < best)
            best = u; /* both valid: the time repeats; the first wins */
    }
    if (best == INT64_MAX)
        best = local - before; /* skipped: read it with the earlier offset */
    return best;
}

int64_t rz__tz_to_utc(const char *tz, const struct tm *tm)
{
    char *saved = tz_select(tz);
    int64_t u = to_utc_selected(tm);
    tz_restore(saved);
    return u;
}

int64_t rz__cron_next(const rz_cron_t *c, const char *tz, int64_t after_ms)
{
    int64_t after = after_ms >= 0 ? after_ms / 1000 : -((-after_ms + 999) / 1000);
    char *saved = tz_select(tz);
    time_t tt = (time_t)after;
    struct tm civil, next;
    int64_t result = -1;
    localtime_r(&tt, &civil);
    civil.tm_isdst = 0;
    civil.tm_gmtoff = 0;
    /* The instant of a civil time may come before `after` (a time repeated
     * by a backward change, seen from its second pass): skip those, they
     * already fired. */
    for (int guard = 0; guard < 1500 && rz__cron_next_civil(c, &civil, &next) == 0; guard++) {
        int64_t u = to_utc_selected(&next);
        if (u * 1000 > after_ms) {
            result = u * 1000;
            break;
        }
        civil = next;
    }
    tz_restore(saved);
    return result;
}
