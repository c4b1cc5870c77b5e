/*
 * render.c — who hears about what, and in which words.
 *
 * The table below is the whole policy: one row per (event type, recipient
 * role).  Roles name fields of the event data (tenant: tenant_id or
 * user_id; landlord: landlord_id or owner_id; recipient: recipient_id);
 * when the field is missing notify.deliver resolves the role from its read
 * models (schema/001_notify.sql).  Event types that are not in the table
 * are acknowledged and ignored.
 */
#include "notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const nt_categories[NT_NCAT + 1] = {"booking", "payment", "rent", "visit",
                                                "chat",    "listing", NULL};

int nt_category_index(const char *name)
{
    for (int i = 0; i < NT_NCAT; i++)
        if (strcmp(nt_categories[i], name) == 0)
            return i;
    return -1;
}

#define B NT_CAT_BOOKING
#define STAY "{check_in} to {check_out}"

/* Grouped by type: nt_templates returns a run of consecutive rows. */
static const nt_tmpl_t tmpl[] = {
    {"booking.requested", "landlord", B, "New booking request for {property}",
     "A guest asks to stay " STAY " ({nights} nights, {guests} guests) for {total}. "
     "Accept or decline before {expires_at}."},
    {"booking.requested", "tenant", B, "Booking request sent",
     "Your request for {property}, " STAY ", was sent to the landlord."},
    {"booking.held", "tenant", B, "Your dates are held: pay to confirm",
     "{property} is held for you " STAY ". Pay {total} before {expires_at} to confirm."},
    {"booking.held", "landlord", B, "Dates held at {property}",
     "A guest holds " STAY " ({nights} nights) and is paying {total}."},
    {"booking.confirmed", "tenant", B, "Booking confirmed",
     "Your stay at {property}, " STAY ", is confirmed."},
    {"booking.confirmed", "landlord", B, "New confirmed booking at {property}",
     "A guest will stay " STAY " ({nights} nights, {guests} guests). You receive {total}."},
    {"booking.declined", "tenant", B, "Booking request declined",
     "The landlord declined your request for {property}, " STAY "."},
    {"booking.expired", "tenant", B, "Booking expired",
     "Your booking of {property}, " STAY ", expired before it was completed."},
    {"booking.expired", "landlord", B, "Booking request expired",
     "The request for " STAY " at {property} expired; the dates are free again."},
    {"booking.cancelled", "tenant", B, "Booking cancelled",
     "The booking of {property}, " STAY ", was cancelled by the {cancelled_by|landlord}. "
     "Refund: {refund|none}."},
    {"booking.cancelled", "landlord", B, "Booking cancelled at {property}",
     "The booking " STAY " was cancelled by the {cancelled_by|tenant}. "
     "Refund to the guest: {refund|none}."},
    {"booking.refund_requested", "tenant", B, "Your payment arrived too late",
     "The hold had ended; {refund} will be refunded."},

    {"payment.succeeded", "tenant", NT_CAT_PAYMENT, "Payment received",
     "We received your payment of {amount}."},
    {"payment.failed", "tenant", NT_CAT_PAYMENT, "Payment failed",
     "Your payment of {amount} failed ({failure_code|declined}). "
     "Check your payment method."},
    {"payment.refunded", "tenant", NT_CAT_PAYMENT, "Refund issued",
     "{refunded} was refunded to you."},

    {"rent.reminder_due", "tenant", NT_CAT_RENT, "Rent due {charge.due_date}",
     "Your rent of {charge.amount} for {property} is due on {charge.due_date}."},
    {"rent.late_fee_applied", "tenant", NT_CAT_RENT, "Late fee applied",
     "A late fee of {charge.amount} was added for the rent of {property}."},
    {"rent.late_fee_applied", "landlord", NT_CAT_RENT, "Late fee applied at {property}",
     "A late fee of {charge.amount} was charged to your tenant."},
    {"rent.lease_offered", "tenant", NT_CAT_RENT, "A lease is offered to you",
     "You are offered a lease of {property} from {start_date} at {monthly_rent} a month."},
    {"rent.lease_accepted", "landlord", NT_CAT_RENT, "Lease accepted for {property}",
     "Your tenant accepted the lease from {start_date} at {monthly_rent} a month."},

    {"visit.requested", "landlord", NT_CAT_VISIT, "Visit requested at {property}",
     "A visitor asks to see {property} on {starts_at}."},
    {"visit.confirmed", "tenant", NT_CAT_VISIT, "Visit confirmed",
     "Your visit of {property} on {starts_at} is confirmed."},
    {"visit.declined", "tenant", NT_CAT_VISIT, "Visit declined",
     "The landlord declined your visit of {property} on {starts_at}."},
    {"visit.cancelled", "tenant", NT_CAT_VISIT, "Visit cancelled",
     "The visit of {property} on {starts_at} was cancelled by the {cancelled_by|landlord}."},
    {"visit.cancelled", "landlord", NT_CAT_VISIT, "Visit cancelled at {property}",
     "The visit on {starts_at} was cancelled by the {cancelled_by|tenant}."},
    {"visit.reminder", "tenant", NT_CAT_VISIT, "Visit reminder",
     "Your visit of {property} is on {starts_at}."},
    {"visit.reminder", "landlord", NT_CAT_VISIT, "Visit reminder",
     "A visit of {property} is on {starts_at}."},

    {"chat.message_sent", "recipient", NT_CAT_CHAT, "New message",
     "{preview|You have a new message.}"},

    {"property.unpublished", "holders", NT_CAT_LISTING, "{property} was unpublished",
     "The landlord unpublished {property}. Your booking still stands; contact the landlord "
     "with any question."},
};
#undef B

const nt_tmpl_t *nt_templates(const char *type, int *n)
{
    size_t count = sizeof(tmpl) / sizeof(tmpl[0]);
    for (size_t i = 0; i < count; i++) {
        if (strcmp(tmpl[i].type, type) != 0)
            continue;
        size_t j = i;
        while (j < count && strcmp(tmpl[j].type, type) == 0)
            j++;
        *n = (int)(j - i);
        return &tmpl[i];
    }
    *n = 0;
    return NULL;
}

/* ---- the renderer -------------------------------------------------------------- */

typedef struct buf {
    char *p;
    size_t len, cap;
    int oom;
} buf_t;

static void put(buf_t *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->cap ? b->cap : 128);
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

/* Minor units per major unit of ISO 4217 currencies without two decimals. */
static int exponent(const char *cur)
{
    static const char *const zero[] = {"JPY", "KRW", "VND", "CLP", "ISK", "XAF", "XOF", NULL};
    static const char *const three[] = {"BHD", "KWD", "OMR", "JOD", "TND", NULL};
    for (int i = 0; zero[i]; i++)
        if (strcmp(cur, zero[i]) == 0)
            return 0;
    for (int i = 0; three[i]; i++)
        if (strcmp(cur, three[i]) == 0)
            return 3;
    return 2;
}

static const cJSON *lookup(const cJSON *data, const char *path, size_t n)
{
    char key[64];
    const cJSON *cur = data;
    while (n > 0 && cur) {
        const char *dot = memchr(path, '.', n);
        size_t k = dot ? (size_t)(dot - path) : n;
        if (k == 0 || k >= sizeof(key) || !cJSON_IsObject(cur))
            return NULL;
        memcpy(key, path, k);
        key[k] = '\0';
        cur = cJSON_GetObjectItemCaseSensitive(cur, key);
        path += k;
        n -= k;
        if (n > 0) { /* skip the dot */
            path++;
            n--;
        }
    }
    return cur;
}

/* Append the value; 0 when it was absent or null (nothing appended). */
static int put_value(buf_t *b, const cJSON *v)
{
    char tmp[64];
    if (!v || cJSON_IsNull(v))
        return 0;
    if (cJSON_IsString(v)) {
        put(b, v->valuestring, strlen(v->valuestring));
        return 1;
    }
    if (cJSON_IsBool(v)) {
        put(b, cJSON_IsTrue(v) ? "yes" : "no", cJSON_IsTrue(v) ? 3 : 2);
        return 1;
    }
    if (cJSON_IsNumber(v)) {
        int len = snprintf(tmp, sizeof(tmp), "%.15g", v->valuedouble);
        put(b, tmp, (size_t)len);
        return 1;
    }
    const cJSON *amt = cJSON_GetObjectItemCaseSensitive(v, "amount");
    const cJSON *cur = cJSON_GetObjectItemCaseSensitive(v, "currency");
    if (cJSON_IsNumber(amt) && cJSON_IsString(cur) && strlen(cur->valuestring) == 3) {
        /* integer minor units: never through floating point for the digits */
        long long a = (long long)amt->valuedouble;
        int e = exponent(cur->valuestring);
        long long div = e == 0 ? 1 : e == 3 ? 1000 : 100;
        unsigned long long abs_a = a < 0 ? 0ULL - (unsigned long long)a : (unsigned long long)a;
        int len;
        if (e == 0)
            len = snprintf(tmp, sizeof(tmp), "%s%llu %s", a < 0 ? "-" : "", abs_a,
                           cur->valuestring);
        else
            len = snprintf(tmp, sizeof(tmp), "%s%llu.%0*llu %s", a < 0 ? "-" : "",
                           abs_a / (unsigned long long)div, e,
                           abs_a % (unsigned long long)div, cur->valuestring);
        put(b, tmp, (size_t)len);
        return 1;
    }
    return 0; /* other objects and arrays have no text form */
}

char *nt_render(const char *text, const cJSON *data)
{
    buf_t b = {0};
    const char *s = text;
    put(&b, "", 0);
    while (*s) {
        const char *open = strchr(s, '{');
        const char *close = open ? strchr(open, '}') : NULL;
        if (!open || !close) {
            put(&b, s, strlen(s));
            break;
        }
        put(&b, s, (size_t)(open - s));
        const char *name = open + 1;
        size_t n = (size_t)(close - name);
        const char *bar = memchr(name, '|', n);
        size_t key = bar ? (size_t)(bar - name) : n;
        if (key == 8 && memcmp(name, "property", 8) == 0) {
            put(&b, open, (size_t)(close - open + 1)); /* notify.deliver fills it */
        } else if (!put_value(&b, lookup(data, name, key)) && bar) {
            put(&b, bar + 1, (size_t)(close - bar - 1));
        }
        s = close + 1;
    }
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}
