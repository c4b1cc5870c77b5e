/*
 * validate.c — listing bodies, checked before anything reaches the
 * database: every refusal is a 400 naming the field ("address.city",
 * "nightly_price.currency").  What passes becomes a flat JSON object whose
 * keys are the columns of property.properties, so that one static SQL
 * statement (jsonb_populate_record) inserts or patches it.
 *
 * Text is stored as given: HTML is text, never interpreted or escaped here
 * (JSON encoding makes it safe to carry; clients escape when they render).
 */
#include "prop.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- vocabularies (documented in openapi.json and rentezy-property(7)) ------- */

static const char *const property_types[] = {
    "apartment", "house", "studio", "room", "villa", "townhouse", "loft",
    "cottage", "cabin", "bungalow", "chalet", "condo", NULL};

static const char *const amenities[] = {
    "wifi", "parking", "gym", "pool", "washer", "dryer", "dishwasher",
    "air_conditioning", "heating", "kitchen", "tv", "workspace", "elevator",
    "balcony", "garden", "terrace", "fireplace", "hot_tub", "bbq", "ev_charger",
    "crib", "wheelchair_accessible", "pets_allowed", "smoking_allowed",
    "security_system", "sea_view", NULL};
#define AMENITIES_TEXT                                                              \
    "wifi, parking, gym, pool, washer, dryer, dishwasher, air_conditioning, "       \
    "heating, kitchen, tv, workspace, elevator, balcony, garden, terrace, "         \
    "fireplace, hot_tub, bbq, ev_charger, crib, wheelchair_accessible, "            \
    "pets_allowed, smoking_allowed, security_system, sea_view"

static const char *const policies[] = {"flexible", "moderate", "strict", NULL};

/* ISO 4217 currencies in circulation (no funds, metals or test codes). */
static const char currencies[] =
    " AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB"
    " BRL BSD BTN BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUC CUP CVE CZK DJF DKK"
    " DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG"
    " HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT"
    " LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR"
    " MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB"
    " RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT"
    " TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VED VES VND VUV WST XAF XCD XOF"
    " XPF YER ZAR ZMW ZWL ";

/* ISO 3166-1 alpha-2. */
static const char countries[] =
    " AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL"
    " BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV"
    " CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD"
    " GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM"
    " IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK"
    " LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW"
    " MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR"
    " PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS"
    " ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY"
    " UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW ";

static int in_list(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (strcmp(*list, s) == 0)
            return 1;
    return 0;
}

/* code is n upper-case letters and " code " is in the table */
static int in_codes(const char *table, const char *code, size_t n)
{
    char key[8];
    if (strlen(code) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (code[i] < 'A' || code[i] > 'Z')
            return 0;
    snprintf(key, sizeof(key), " %s ", code);
    return strstr(table, key) != NULL;
}

/* ---- primitives ------------------------------------------------------------------- */

int is_uuid(const char *s)
{
    if (!s || strlen(s) != UUID_LEN)
        return 0;
    for (int i = 0; i < UUID_LEN; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return 0;
        } else if (!strchr("0123456789abcdef", s[i]) || s[i] == '\0') {
            return 0;
        }
    }
    return 1;
}

int v_text_ok(const char *s, size_t max_chars, int multiline)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = 0;
    while (*p) {
        unsigned c = *p, cp;
        int len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3
                : (c & 0xf8) == 0xf0 ? 4 : 0;
        if (len == 0)
            return 0;
        cp = len == 1 ? c : c & (0x7f >> len);
        for (int i = 1; i < len; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (p[i] & 0x3f);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0; /* overlong, surrogate or beyond Unicode */
        if ((cp < 0x20 && !(multiline && (cp == '\n' || cp == '\t' || cp == '\r'))) || cp == 0x7f)
            return 0;
        p += len;
        if (++n > max_chars)
            return 0;
    }
    return 1;
}

int v_date(const char *s, int64_t *days)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return -1;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return -1;
    int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    int m = (s[5] - '0') * 10 + (s[6] - '0');
    int d = (s[8] - '0') * 10 + (s[9] - '0');
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1970 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1] + (m == 2 && leap))
        return -1;
    /* days from civil (Howard Hinnant's algorithm) */
    int64_t yy = y - (m <= 2);
    int64_t era = yy / 400, yoe = yy - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    *days = era * 146097 + doe - 719468;
    return 0;
}

cJSON *v_body(rz_req_t *req)
{
    cJSON *body = H->req_json(req);
    if (!body)
        return NULL; /* the host answered 400 invalid_json */
    if (!cJSON_IsObject(body)) {
        H->reply_error(req, 400, "invalid_json", NULL, "the body must be a JSON object");
        return NULL;
    }
    return body;
}

/* ---- field checkers: (req, field name for errors, value, out doc) ---------------- */

#define BAD(code, ...)                                                 \
    do {                                                               \
        H->reply_error(req, 400, code, field, __VA_ARGS__);            \
        return -1;                                                     \
    } while (0)

static int add(rz_req_t *req, cJSON *out, const char *col, cJSON *v)
{
    if (!v || !cJSON_AddItemToObject(out, col, v)) {
        cJSON_Delete(v);
        call_failed(req, RZ_ENOMEM, "memory");
        return -1;
    }
    return 0;
}

enum { T_MULTILINE = 1, T_NULLABLE = 2, T_NONBLANK = 4 };

static int text(rz_req_t *req, const char *field, cJSON *v, size_t max, int flags, cJSON *out,
                const char *col)
{
    if (cJSON_IsNull(v) && (flags & T_NULLABLE))
        return add(req, out, col, cJSON_CreateNull());
    if (!cJSON_IsString(v))
        BAD("invalid_type", "%s must be a string", field);
    if (!v_text_ok(v->valuestring, max, flags & T_MULTILINE))
        BAD("invalid", "%s must be valid UTF-8 text of at most %zu characters%s", field, max,
            (flags & T_MULTILINE) ? "" : " on one line");
    if ((flags & T_NONBLANK) && strspn(v->valuestring, " \t") == strlen(v->valuestring))
        BAD("missing", "%s must not be blank", field);
    return add(req, out, col, cJSON_CreateString(v->valuestring));
}

static int word(rz_req_t *req, const char *field, cJSON *v, const char *const *list,
                const char *listed, cJSON *out, const char *col)
{
    if (!cJSON_IsString(v))
        BAD("invalid_type", "%s must be a string", field);
    if (!in_list(list, v->valuestring))
        BAD("invalid", "%s must be one of: %s", field, listed);
    return add(req, out, col, cJSON_CreateString(v->valuestring));
}

static int integer(rz_req_t *req, const char *field, cJSON *v, double lo, double hi,
                   int nullable, cJSON *out, const char *col)
{
    if (cJSON_IsNull(v) && nullable)
        return add(req, out, col, cJSON_CreateNull());
    if (!cJSON_IsNumber(v))
        BAD("invalid_type", "%s must be an integer", field);
    double d = v->valuedouble;
    if (!isfinite(d) || d != trunc(d))
        BAD("invalid", "%s must be a whole number", field);
    if (d < lo || d > hi)
        BAD("invalid", "%s must be between %.0f and %.0f", field, lo, hi);
    return add(req, out, col, cJSON_CreateNumber(d));
}

static int bathrooms(rz_req_t *req, const char *field, cJSON *v, cJSON *out)
{
    if (!cJSON_IsNumber(v))
        BAD("invalid_type", "%s must be a number", field);
    double d = v->valuedouble;
    if (!isfinite(d) || d * 2 != trunc(d * 2) || d < 0 || d > 50)
        BAD("invalid", "%s must be between 0 and 50 in halves (1, 1.5, 2, ...)", field);
    return add(req, out, "bathrooms", cJSON_CreateNumber(d));
}

static int boolean(rz_req_t *req, const char *field, cJSON *v, cJSON *out, const char *col)
{
    if (!cJSON_IsBool(v))
        BAD("invalid_type", "%s must be true or false", field);
    return add(req, out, col, cJSON_CreateBool(cJSON_IsTrue(v)));
}

static int amenity_list(rz_req_t *req, const char *field, cJSON *v, cJSON *out)
{
    if (!cJSON_IsArray(v))
        BAD("invalid_type", "%s must be an array of strings", field);
    cJSON *arr = cJSON_CreateArray(), *it;
    if (add(req, out, "amenities", arr) < 0)
        return -1;
    cJSON_ArrayForEach(it, v) {
        if (!cJSON_IsString(it))
            BAD("invalid_type", "%s must be an array of strings", field);
        if (!in_list(amenities, it->valuestring))
            BAD("unknown_amenity", "unknown amenity \"%.40s\"; known amenities: " AMENITIES_TEXT,
                it->valuestring);
        cJSON *seen;
        cJSON_ArrayForEach(seen, arr) if (strcmp(seen->valuestring, it->valuestring) == 0)
            BAD("invalid", "%s lists \"%s\" twice", field, it->valuestring);
        cJSON *s = cJSON_CreateString(it->valuestring);
        if (!s || !cJSON_AddItemToArray(arr, s)) {
            cJSON_Delete(s);
            call_failed(req, RZ_ENOMEM, "memory");
            return -1;
        }
    }
    return 0;
}

/* Names a sub-field: "address" + "city" -> "address.city" (request memory). */
static const char *sub(rz_req_t *req, const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *s = H->req_alloc(req, n);
    if (s)
        snprintf(s, n, "%s.%s", a, b);
    return s ? s : a;
}

/* Only keys of allowed[] (NULL-terminated) in the object v. */
static int only(rz_req_t *req, const char *field, cJSON *v, const char *const *allowed)
{
    cJSON *it;
    cJSON_ArrayForEach(it, v) if (!in_list(allowed, it->string)) {
        field = sub(req, field, it->string);
        BAD("unknown_field", "%s is not a field", field);
    }
    return 0;
}

static int money(rz_req_t *req, const char *field, cJSON *v, cJSON *out, const char *amount_col,
                 const char *currency_col)
{
    static const char *const keys[] = {"amount", "currency", NULL};
    if (cJSON_IsNull(v)) /* removing the price; the schema keeps one of the two */
        return add(req, out, amount_col, cJSON_CreateNull()) < 0 ||
                       add(req, out, currency_col, cJSON_CreateNull()) < 0
                   ? -1
                   : 0;
    if (!cJSON_IsObject(v))
        BAD("invalid_type", "%s must be {\"amount\": <integer minor units>, \"currency\": \"EUR\"}",
            field);
    if (only(req, field, v, keys) < 0)
        return -1;
    cJSON *a = cJSON_GetObjectItemCaseSensitive(v, "amount");
    cJSON *c = cJSON_GetObjectItemCaseSensitive(v, "currency");
    const char *fa = sub(req, field, "amount"), *fc = sub(req, field, "currency");
    if (!a) {
        field = fa;
        BAD("missing", "%s is required", field);
    }
    /* minor units are integers; 1e12 keeps every amount exact in a double */
    if (integer(req, fa, a, 1, 1e12, 0, out, amount_col) < 0)
        return -1;
    field = fc;
    if (!c)
        BAD("missing", "%s is required", field);
    if (!cJSON_IsString(c))
        BAD("invalid_type", "%s must be a string", field);
    if (!in_codes(currencies, c->valuestring, 3))
        BAD("invalid", "%s must be an ISO 4217 code in upper case, such as EUR", field);
    return add(req, out, currency_col, cJSON_CreateString(c->valuestring));
}

static int address(rz_req_t *req, const char *field, cJSON *v, cJSON *out)
{
    static const char *const keys[] = {"street", "city", "region", "postal_code", "country", NULL};
    static const struct { const char *key; size_t max; int required; } parts[] = {
        {"street", 200, 1}, {"city", 100, 1}, {"region", 100, 0}, {"postal_code", 20, 0}};
    if (!cJSON_IsObject(v))
        BAD("invalid_type", "%s must be an object", field);
    if (only(req, field, v, keys) < 0)
        return -1;
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        cJSON *p = cJSON_GetObjectItemCaseSensitive(v, parts[i].key);
        const char *f = sub(req, field, parts[i].key);
        if (!p && parts[i].required) {
            field = f;
            BAD("missing", "%s is required", field);
        }
        if (!p) { /* an absent optional part is stored as NULL */
            if (add(req, out, parts[i].key, cJSON_CreateNull()) < 0)
                return -1;
            continue;
        }
        if (text(req, f, p, parts[i].max, parts[i].required ? T_NONBLANK : T_NULLABLE, out,
                 parts[i].key) < 0)
            return -1;
    }
    cJSON *c = cJSON_GetObjectItemCaseSensitive(v, "country");
    field = sub(req, field, "country");
    if (!c)
        BAD("missing", "%s is required", field);
    if (!cJSON_IsString(c) || !in_codes(countries, c->valuestring, 2))
        BAD("invalid", "%s must be an ISO 3166-1 alpha-2 code in upper case, such as DE", field);
    return add(req, out, "country", cJSON_CreateString(c->valuestring));
}

static int location(rz_req_t *req, const char *field, cJSON *v, cJSON *out)
{
    static const char *const keys[] = {"lat", "lon", NULL};
    static const struct { const char *key; double lim; } parts[] = {{"lat", 90}, {"lon", 180}};
    if (!cJSON_IsObject(v))
        BAD("invalid_type", "%s must be {\"lat\": <number>, \"lon\": <number>}", field);
    if (only(req, field, v, keys) < 0)
        return -1;
    for (int i = 0; i < 2; i++) {
        cJSON *p = cJSON_GetObjectItemCaseSensitive(v, parts[i].key);
        const char *f = sub(req, field, parts[i].key);
        if (!p) {
            field = f;
            BAD("missing", "%s is required", field);
        }
        if (!cJSON_IsNumber(p)) {
            field = f;
            BAD("invalid_type", "%s must be a number", field);
        }
        if (!isfinite(p->valuedouble) || fabs(p->valuedouble) > parts[i].lim) {
            field = f;
            BAD("invalid", "%s must be between %.0f and %.0f", field, -parts[i].lim, parts[i].lim);
        }
        if (add(req, out, parts[i].key, cJSON_CreateNumber(p->valuedouble)) < 0)
            return -1;
    }
    return 0;
}

/* ---- the listing ------------------------------------------------------------------ */

enum { F_TITLE, F_DESCRIPTION, F_TYPE, F_ADDRESS, F_LOCATION, F_BEDROOMS, F_BEDS, F_BATHROOMS,
       F_GUESTS, F_AREA, F_AMENITIES, F_NIGHTLY, F_MONTHLY, F_MIN_NIGHTS, F_MAX_NIGHTS,
       F_INSTANT, F_POLICY, F_RULES, F_COUNT };

static const struct field {
    const char *name;
    int required;         /* on create */
    const char *dflt;     /* JSON of the column(s) when absent on create */
} fields[F_COUNT] = {
    [F_TITLE] = {"title", 1, NULL},
    [F_DESCRIPTION] = {"description", 0, "{\"description\":\"\"}"},
    [F_TYPE] = {"property_type", 1, NULL},
    [F_ADDRESS] = {"address", 1, NULL},
    [F_LOCATION] = {"location", 1, NULL},
    [F_BEDROOMS] = {"bedrooms", 1, NULL},
    [F_BEDS] = {"beds", 1, NULL},
    [F_BATHROOMS] = {"bathrooms", 1, NULL},
    [F_GUESTS] = {"max_guests", 1, NULL},
    [F_AREA] = {"area_m2", 0, "{\"area_m2\":null}"},
    [F_AMENITIES] = {"amenities", 0, "{\"amenities\":[]}"},
    [F_NIGHTLY] = {"nightly_price", 0, "{\"nightly_amount\":null,\"nightly_currency\":null}"},
    [F_MONTHLY] = {"monthly_rent", 0, "{\"monthly_amount\":null,\"monthly_currency\":null}"},
    [F_MIN_NIGHTS] = {"min_nights", 0, "{\"min_nights\":1}"},
    [F_MAX_NIGHTS] = {"max_nights", 0, "{\"max_nights\":null}"},
    [F_INSTANT] = {"instant_book", 0, "{\"instant_book\":false}"},
    [F_POLICY] = {"cancellation_policy", 0, "{\"cancellation_policy\":\"moderate\"}"},
    [F_RULES] = {"house_rules", 0, "{\"house_rules\":\"\"}"},
};

/* Fields the server owns: named in the refusal so the client learns why. */
static const char *const read_only[] = {
    "id", "owner_id", "status", "version", "photos", "blocks", "created_at", "updated_at",
    "published_at", "deleted_at", NULL};

static int field_index(const char *name)
{
    for (int i = 0; i < F_COUNT; i++)
        if (strcmp(fields[i].name, name) == 0)
            return i;
    return -1;
}

static int check_field(rz_req_t *req, int f, cJSON *v, cJSON *out)
{
    const char *n = fields[f].name;
    switch (f) {
    case F_TITLE: return text(req, n, v, 200, T_NONBLANK, out, "title");
    case F_DESCRIPTION: return text(req, n, v, 10000, T_MULTILINE, out, "description");
    case F_RULES: return text(req, n, v, 5000, T_MULTILINE, out, "house_rules");
    case F_TYPE:
        return word(req, n, v, property_types,
                    "apartment, house, studio, room, villa, townhouse, loft, cottage, cabin, "
                    "bungalow, chalet, condo", out, "property_type");
    case F_POLICY:
        return word(req, n, v, policies, "flexible, moderate, strict", out, "cancellation_policy");
    case F_ADDRESS: return address(req, n, v, out);
    case F_LOCATION: return location(req, n, v, out);
    case F_BEDROOMS: return integer(req, n, v, 0, 100, 0, out, "bedrooms");
    case F_BEDS: return integer(req, n, v, 0, 200, 0, out, "beds");
    case F_BATHROOMS: return bathrooms(req, n, v, out);
    case F_GUESTS: return integer(req, n, v, 1, 100, 0, out, "max_guests");
    case F_AREA: return integer(req, n, v, 1, 100000, 1, out, "area_m2");
    case F_AMENITIES: return amenity_list(req, n, v, out);
    case F_NIGHTLY: return money(req, n, v, out, "nightly_amount", "nightly_currency");
    case F_MONTHLY: return money(req, n, v, out, "monthly_amount", "monthly_currency");
    case F_MIN_NIGHTS: return integer(req, n, v, 1, 1000, 0, out, "min_nights");
    case F_MAX_NIGHTS: return integer(req, n, v, 1, 10000, 1, out, "max_nights");
    case F_INSTANT: return boolean(req, n, v, out, "instant_book");
    }
    return -1;
}

int v_listing(rz_req_t *req, cJSON *body, int full, cJSON **out_p)
{
    const char *field = NULL;
    int seen[F_COUNT] = {0};
    cJSON *out = cJSON_CreateObject(), *it;
    *out_p = NULL;
    if (!out) {
        call_failed(req, RZ_ENOMEM, "memory");
        return -1;
    }
    cJSON_ArrayForEach(it, body) {
        int f = field_index(it->string);
        field = it->string;
        if (f < 0 && in_list(read_only, field)) {
            H->reply_error(req, 400, "read_only", field, "%s is set by the server", field);
            goto fail;
        }
        if (f < 0) {
            H->reply_error(req, 400, "unknown_field", field, "%s is not a field of a listing",
                           field);
            goto fail;
        }
        if (seen[f]++) {
            H->reply_error(req, 400, "invalid", field, "%s is given twice", field);
            goto fail;
        }
        if (check_field(req, f, it, out) < 0)
            goto fail;
    }
    if (!full) {
        if (!out->child) {
            H->reply_error(req, 400, "missing", NULL, "the patch changes no field");
            goto fail;
        }
        *out_p = out;
        return 0;
    }
    for (int f = 0; f < F_COUNT; f++) {
        if (seen[f])
            continue;
        field = fields[f].name;
        if (fields[f].required) {
            H->reply_error(req, 400, "missing", field, "%s is required", field);
            goto fail;
        }
        cJSON *d = cJSON_Parse(fields[f].dflt), *kv;
        if (!d) {
            call_failed(req, RZ_ENOMEM, "memory");
            goto fail;
        }
        while ((kv = d->child)) {
            cJSON_DetachItemViaPointer(d, kv);
            cJSON_AddItemToObject(out, kv->string, kv);
        }
        cJSON_Delete(d);
    }
    /* rules across fields; the schema holds them too, for PATCH */
    if (cJSON_IsNull(cJSON_GetObjectItem(out, "nightly_amount")) &&
        cJSON_IsNull(cJSON_GetObjectItem(out, "monthly_amount"))) {
        H->reply_error(req, 400, "missing", "nightly_price",
                       "give nightly_price, monthly_rent or both");
        goto fail;
    }
    cJSON *mn = cJSON_GetObjectItem(out, "min_nights"), *mx = cJSON_GetObjectItem(out, "max_nights");
    if (cJSON_IsNumber(mx) && mx->valuedouble < mn->valuedouble) {
        H->reply_error(req, 400, "invalid", "max_nights", "max_nights must be at least min_nights");
        goto fail;
    }
    *out_p = out;
    return 0;
fail:
    cJSON_Delete(out);
    return -1;
}

/* The constraints of schema/001_properties.sql that a PATCH can meet, and
 * the field each one is about. */
int v_constraint(rz_req_t *req, rz_dbres_t *res)
{
    static const struct { const char *name, *field, *msg; } map[] = {
        {"properties_price_required", "nightly_price",
         "a listing keeps nightly_price, monthly_rent or both"},
        {"properties_max_nights", "max_nights", "max_nights must be at least min_nights"},
        {"properties_nightly_pair", "nightly_price", "nightly_price needs amount and currency"},
        {"properties_monthly_pair", "monthly_rent", "monthly_rent needs amount and currency"},
    };
    const char *st = H->dbres_sqlstate(res), *c = H->dbres_constraint(res);
    if (!st || strcmp(st, "23514") != 0 || !c)
        return 0;
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(map[i].name, c) == 0) {
            H->reply_error(req, 400, "invalid", map[i].field, "%s", map[i].msg);
            return 1;
        }
    return 0;
}
