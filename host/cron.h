/*
 * cron.h — five-field cron expressions evaluated in an IANA time zone.
 *
 *   minute hour day-of-month month day-of-week
 *   0-59   0-23 1-31         1-12  0-7 (0 and 7 are Sunday)
 *
 * Each field is "*", a number, a range "a-b", a list "a,b,c", or a step
 * "*\/n" or "a-b/n"; months and weekdays also take names (jan, mon).
 * "@hourly", "@daily", "@weekly", "@monthly", "@yearly" are shorthands.
 * As in Vixie cron, when both day-of-month and day-of-week are restricted
 * (neither is "*"), a day matches when EITHER matches.
 *
 * Time zones.  A schedule fires once per matching local wall-clock minute:
 *   - a local time that does not exist (the hour skipped when clocks go
 *     forward) fires at the same instant as that time read with the offset
 *     in force just before the change (02:30 on a Berlin spring-forward day
 *     fires at 03:30 CEST), so a daily job is never skipped;
 *   - a local time that happens twice (clocks go back) fires only the first
 *     time.
 * Offsets come from the system tz database: the zone is selected by setting
 * TZ and calling tzset() around localtime_r(), then restored.  That touches
 * process-wide state, so call these functions from the loop thread only (the
 * schedule tick), never from the work pool.
 */
#ifndef RZ_CRON_H
#define RZ_CRON_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

typedef struct rz_cron {
    uint64_t minute; /* bit m: minute m matches */
    uint32_t hour;   /* bit h */
    uint32_t dom;    /* bit d, 1..31 */
    uint16_t month;  /* bit m, 1..12 */
    uint8_t dow;     /* bit d, 0..6 (Sunday = 0) */
    uint8_t dom_any; /* the field was "*" */
    uint8_t dow_any;
} rz_cron_t;

/* Parse expr.  0, or -1 with a message in err naming the bad field. */
int rz__cron_parse(rz_cron_t *c, const char *expr, char *err, size_t errlen);

/* Does the civil (wall-clock) minute tm match?  Uses tm_year, tm_mon,
 * tm_mday, tm_hour, tm_min; computes the weekday itself. */
int rz__cron_match(const rz_cron_t *c, const struct tm *tm);

/* The first civil minute strictly after `after` (a civil time, seconds
 * ignored) that matches, in *out.  0, or -1 when none exists within 8 years
 * ("0 0 30 2 *" never does).  Pure: no time zone involved. */
int rz__cron_next_civil(const rz_cron_t *c, const struct tm *after, struct tm *out);

/* 1 when tz names a zone of the system tz database ("UTC" included). */
int rz__tz_valid(const char *tz);

/* Offset from UTC in seconds (east positive) of zone tz at UTC second t. */
long rz__tz_offset(const char *tz, int64_t t);

/* The UTC second at which civil time tm happens in tz, following the rules
 * above for skipped and repeated times. */
int64_t rz__tz_to_utc(const char *tz, const struct tm *tm);

/* The civil time in tz at UTC second t. */
void rz__tz_from_utc(const char *tz, int64_t t, struct tm *out);

/* The next occurrence strictly after after_ms (UTC milliseconds since the
 * epoch), in UTC milliseconds (always a whole minute), or -1 when none. */
int64_t rz__cron_next(const rz_cron_t *c, const char *tz, int64_t after_ms);

#endif
