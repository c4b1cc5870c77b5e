/*
 * avail.c — dates and per-listing taken ranges.  A range is the half-open
 * set of nights [start, end), the same as a stay and a blackout in the
 * property and booking schemas, so checking out on the day another stay
 * checks in is no overlap.  Ranges stay sorted by start; a listing has a few
 * dozen at most, so a scan after the binary search costs nothing.
 */
#include "sx.h"

#include <string.h>

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; Howard Hinnant's
 * days_from_civil). */
static int32_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int sx_parse_date(const char *s, int32_t *days)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    for (int i = 0; i < 10; i++) {
        if (i == 4 || i == 7) {
            if (s[i] != '-')
                return -1;
        } else if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
    }
    if (s[10] != '\0')
        return -1;
    int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    int m = (s[5] - '0') * 10 + (s[6] - '0');
    int d = (s[8] - '0') * 10 + (s[9] - '0');
    if (y < 1970 || m < 1 || m > 12 || d < 1)
        return -1;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[m - 1] + (m == 2 && leap))
        return -1;
    *days = days_from_civil(y, m, d);
    return 0;
}

void sx_format_date(int32_t z, char out[11])
{
    z += 719468;
    int era = (z >= 0 ? z : z - 146096) / 146097;
    int doe = z - era * 146097;
    int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int mp = (5 * doy + 2) / 153, d = doy - (153 * mp + 2) / 5 + 1;
    int m = mp + (mp < 10 ? 3 : -9);
    y += m <= 2;
    out[0] = (char)('0' + y / 1000 % 10);
    out[1] = (char)('0' + y / 100 % 10);
    out[2] = (char)('0' + y / 10 % 10);
    out[3] = (char)('0' + y % 10);
    out[4] = '-';
    out[5] = (char)('0' + m / 10);
    out[6] = (char)('0' + m % 10);
    out[7] = '-';
    out[8] = (char)('0' + d / 10);
    out[9] = (char)('0' + d % 10);
    out[10] = '\0';
}

int sx_ranges_overlap(const sx_range_t *r, uint32_t n, int32_t ci, int32_t co)
{
    /* ranges starting at or after co cannot overlap: find the first of them */
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t m = lo + (hi - lo) / 2;
        if (r[m].start < co)
            lo = m + 1;
        else
            hi = m;
    }
    /* every range before lo starts before co; any ending after ci overlaps
     * (ranges may nest, e.g. a blackout over a booking, so scan them all) */
    for (uint32_t i = lo; i-- > 0;)
        if (r[i].end > ci)
            return 1;
    return 0;
}

int sx_ranges_insert(sx_range_t **r, uint32_t *n, uint32_t *cap, sx_range_t x)
{
    if (sx_grow(r, cap, *n + 1, sizeof(**r)) < 0)
        return SX_ENOMEM;
    uint32_t i = *n;
    while (i > 0 && (*r)[i - 1].start > x.start) {
        (*r)[i] = (*r)[i - 1];
        i--;
    }
    (*r)[i] = x;
    (*n)++;
    return 0;
}

void sx_ranges_remove_src(sx_range_t *r, uint32_t *n, uint64_t src)
{
    uint32_t o = 0;
    for (uint32_t i = 0; i < *n; i++)
        if (r[i].src != src)
            r[o++] = r[i];
    *n = o;
}
