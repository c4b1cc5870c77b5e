/*
 * calendar.c — GET /v1/properties/{id}/calendar.ics: the nights a listing
 * is not available, as an iCalendar (RFC 5545) for other calendars to
 * subscribe to.  Public like the listing itself, so it names no one: each
 * booked stay is "Booked" (TENTATIVE while it is a hold or a request), each
 * blackout "Blocked".  All-day events: DTEND is the check-out day, which
 * iCalendar treats as exclusive, the same half-open range a stay is.
 *
 * Lines end in CRLF and are folded at 75 octets (RFC 5545 3.1).
 */
#include "booking.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct cal {
    rz_req_t *req;
    rzu_sql_t q;
    char now[24];
} cal_t;

typedef struct buf {
    char *p; /* owned; malloc'd */
    size_t len, cap;
    int oom;
} buf_t;

static void put(buf_t *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* One content line: folded at 75 octets, never inside a UTF-8 sequence. */
static void line(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void line(buf_t *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t len = (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1, at = 0, room = 75;
    while (len - at > room) {
        size_t cut = at + room;
        while (cut > at && ((unsigned char)tmp[cut] & 0xc0) == 0x80)
            cut--;
        put(b, tmp + at, cut - at);
        put(b, "\r\n ", 3);
        at = cut;
        room = 74; /* the leading space counts */
    }
    put(b, tmp + at, len - at);
    put(b, "\r\n", 2);
}

/* "2031-01-05" -> "20310105" */
static void ical_date(const char *iso, char out[9])
{
    snprintf(out, 9, "%.4s%.2s%.2s", iso, iso + 5, iso + 8);
}

static void listed(rz_dbres_t *res, void *u)
{
    cal_t *c = u;
    rz_req_t *req = c->req;
    if (rzu_db_failed(req, res, "reading the calendar"))
        return;
    int rows = H->dbres_rows(res);
    /* row 0 is the listing itself (kind 'listing'), when it is known */
    if (rows < 1 || strcmp(H->dbres_value(res, 0, 0), "listing") != 0 ||
        strcmp(H->dbres_value(res, 0, 4), "deleted") == 0) {
        H->reply_error(req, 404, "not_found", NULL, "no such listing");
        return;
    }
    const char *pid = H->req_param(req, "id");
    char stamp[32];
    int64_t now = H->now_ms() / 1000;
    int64_t day = now / 86400, sec = now % 86400;
    char d[11];
    rzu_date_str(day, d);
    snprintf(stamp, sizeof(stamp), "%.4s%.2s%.2sT%02d%02d%02dZ", d, d + 5, d + 8,
             (int)(sec / 3600), (int)(sec / 60 % 60), (int)(sec % 60));
    buf_t b = {0};
    line(&b, "BEGIN:VCALENDAR");
    line(&b, "VERSION:2.0");
    line(&b, "PRODID:-//RentEzy//Booking Calendar 1.0//EN");
    line(&b, "CALSCALE:GREGORIAN");
    line(&b, "METHOD:PUBLISH");
    line(&b, "X-WR-CALNAME:RentEzy %s", pid);
    for (int i = 1; i < rows; i++) {
        const char *kind = H->dbres_value(res, i, 0), *uid = H->dbres_value(res, i, 1);
        const char *status = H->dbres_value(res, i, 4);
        char ds[9], de[9];
        ical_date(H->dbres_value(res, i, 2), ds);
        ical_date(H->dbres_value(res, i, 3), de);
        int booked = strcmp(kind, "booking") == 0;
        line(&b, "BEGIN:VEVENT");
        line(&b, "UID:%s@%s.rentezy", uid, booked ? "booking" : "block");
        line(&b, "DTSTAMP:%s", stamp);
        line(&b, "DTSTART;VALUE=DATE:%s", ds);
        line(&b, "DTEND;VALUE=DATE:%s", de);
        line(&b, "SUMMARY:%s", booked ? "Booked" : "Blocked");
        line(&b, "STATUS:%s",
             booked && (strcmp(status, "requested") == 0 || strcmp(status, "pending_payment") == 0)
                 ? "TENTATIVE"
                 : "CONFIRMED");
        line(&b, "TRANSP:OPAQUE");
        line(&b, "END:VEVENT");
    }
    line(&b, "END:VCALENDAR");
    if (b.oom) {
        free(b.p);
        rzu_call_failed(req, RZ_ENOMEM, "memory");
        return;
    }
    H->resp_header(req, "Cache-Control", "no-cache");
    H->reply(req, 200, "text/calendar; charset=utf-8", b.p, b.len);
    free(b.p);
}

void h_calendar(rz_req_t *req, void *u)
{
    /* the listing, then the stays that hold dates (a hold past its deadline
     * no longer does), then the blackouts; no past stays beyond 90 days */
    static const char sql[] =
        "SELECT 'listing', l.id::text, '', '', l.status, 0 AS k, NULL::date AS d "
        "FROM booking.listings l WHERE l.id = $1::uuid "
        "UNION ALL "
        "SELECT 'booking', b.id::text, lower(b.stay)::text, upper(b.stay)::text, b.status, 1, "
        "lower(b.stay) FROM booking.bookings b "
        "WHERE b.property_id = $1::uuid "
        "AND b.status IN ('requested', 'pending_payment', 'confirmed', 'completed') "
        "AND (NOT booking.holds(b.status) OR b.expires_at > booking.ts($2::bigint)) "
        "AND upper(b.stay) >= (booking.ts($2::bigint) AT TIME ZONE 'UTC')::date - 90 "
        "UNION ALL "
        "SELECT 'block', md5(l.id::text || r::text), lower(r)::text, upper(r)::text, '', 2, "
        "lower(r) FROM booking.listings l, unnest(l.blocks) r WHERE l.id = $1::uuid "
        "ORDER BY k, d";
    const char *id = H->req_param(req, "id");
    cal_t *c = rzu_alloc(req, sizeof(*c));
    if (!c)
        return;
    if (!rzu_is_uuid(id)) {
        H->reply_error(req, 404, "not_found", NULL, "no such listing");
        return;
    }
    c->req = req;
    rzu_i64(H->now_ms(), c->now);
    c->q = (rzu_sql_t){.sql = sql, .n = 2, .p = {id, c->now}, .flags = RZ_DB_READONLY,
                      .cb = listed, .udata = c};
    int rc = rzu_sql_run(&c->q);
    if (rc != RZ_OK)
        rzu_call_failed(req, rc, "the database");
}
