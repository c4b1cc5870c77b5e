/*
 * validate.c — checking request bodies before anything reaches the
 * database or the thread pool.  Every refusal is a 400 naming the field.
 */
#include "auth.h"

#include <ctype.h>
#include <string.h>

#define H (auth_g.host)

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

/* Valid UTF-8 without overlongs or surrogates; *chars counts code points. */
int utf8_valid(const char *s, size_t *chars)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = 0;
    while (*p) {
        unsigned c = *p;
        int len;
        unsigned cp;
        if (c < 0x80) {
            len = 1;
            cp = c;
        } else if ((c & 0xe0) == 0xc0) {
            len = 2;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4;
            cp = c & 0x07;
        } else {
            return 0;
        }
        for (int i = 1; i < len; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (p[i] & 0x3f);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        p += len;
        n++;
    }
    if (chars)
        *chars = n;
    return 1;
}

int v_string(rz_req_t *req, cJSON *body, const char *field, int required, size_t max_bytes,
             const char **out)
{
    cJSON *it = cJSON_GetObjectItemCaseSensitive(body, field);
    *out = NULL;
    if (!it || cJSON_IsNull(it)) {
        if (!required)
            return 0;
        H->reply_error(req, 400, "missing", field, "%s is required", field);
        return -1;
    }
    if (!cJSON_IsString(it) || !it->valuestring) {
        H->reply_error(req, 400, "invalid_type", field, "%s must be a string", field);
        return -1;
    }
    if (strlen(it->valuestring) > max_bytes) {
        H->reply_error(req, 400, "too_long", field, "%s is longer than %zu bytes", field,
                       max_bytes);
        return -1;
    }
    if (!utf8_valid(it->valuestring, NULL)) {
        H->reply_error(req, 400, "invalid", field, "%s is not valid UTF-8", field);
        return -1;
    }
    *out = it->valuestring;
    return 0;
}

static int email_local_char(int c)
{
    return isalnum(c) || strchr(".!#$%&'*+/=?^_`{|}~-", c) != NULL;
}

int v_email(rz_req_t *req, const char *field, const char *in, char *out)
{
    size_t len = strlen(in);
    while (len && isspace((unsigned char)*in))
        in++, len--;
    while (len && isspace((unsigned char)in[len - 1]))
        len--;
    if (len > EMAIL_MAX)
        goto bad;
    for (size_t i = 0; i < len; i++)
        out[i] = (char)tolower((unsigned char)in[i]);
    out[len] = '\0';
    const char *at = strchr(out, '@');
    if (!at || at == out || strchr(at + 1, '@') || at - out > 64)
        goto bad;
    for (const char *p = out; p < at; p++)
        if (!email_local_char((unsigned char)*p))
            goto bad;
    if (out[0] == '.' || at[-1] == '.' || strstr(out, ".."))
        goto bad;
    /* domain: dot-separated labels of [a-z0-9-], no label starting or
     * ending with '-', at least two labels, the last alphabetic */
    const char *d = at + 1, *label = d, *last = NULL;
    size_t dots = 0;
    for (const char *p = d;; p++) {
        if (*p == '.' || *p == '\0') {
            size_t l = (size_t)(p - label);
            if (l == 0 || l > 63 || label[0] == '-' || p[-1] == '-')
                goto bad;
            last = label;
            if (*p == '\0')
                break;
            dots++;
            label = p + 1;
        } else if (!(isalnum((unsigned char)*p) || *p == '-')) {
            goto bad;
        }
    }
    if (dots == 0 || strlen(last) < 2)
        goto bad;
    for (const char *p = last; *p; p++)
        if (!isalpha((unsigned char)*p))
            goto bad;
    return 0;
bad:
    H->reply_error(req, 400, "invalid_email", field, "%s is not a valid e-mail address", field);
    return -1;
}

int v_password_policy(rz_req_t *req, const char *field, const char *pw)
{
    size_t chars = 0;
    int lower = 0, upper = 0, digit = 0, other = 0;
    if (!utf8_valid(pw, &chars))
        chars = 0;
    for (const unsigned char *p = (const unsigned char *)pw; *p; p++) {
        if (*p >= 'a' && *p <= 'z')
            lower = 1;
        else if (*p >= 'A' && *p <= 'Z')
            upper = 1;
        else if (*p >= '0' && *p <= '9')
            digit = 1;
        else
            other = 1;
    }
    if (chars < PASSWORD_MIN || chars > PASSWORD_MAX || lower + upper + digit + other < 2) {
        H->reply_error(req, 400, "weak_password", field,
                       "%s must be %d to %d characters and mix at least two of: lower-case "
                       "letters, upper-case letters, digits, other characters",
                       field, PASSWORD_MIN, PASSWORD_MAX);
        return -1;
    }
    return 0;
}

int v_name(rz_req_t *req, const char *field, const char *in, char *out, size_t cap)
{
    size_t len = strlen(in), chars = 0;
    while (len && isspace((unsigned char)*in))
        in++, len--;
    while (len && isspace((unsigned char)in[len - 1]))
        len--;
    if (len == 0) {
        H->reply_error(req, 400, "missing", field, "%s must not be empty", field);
        return -1;
    }
    if (len >= cap)
        goto too_long;
    memcpy(out, in, len);
    out[len] = '\0';
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f) {
            H->reply_error(req, 400, "invalid", field, "%s must not contain control characters",
                           field);
            return -1;
        }
    if (!utf8_valid(out, &chars) || chars > NAME_MAX_CHARS)
        goto too_long;
    return 0;
too_long:
    H->reply_error(req, 400, "too_long", field, "%s is longer than %d characters", field,
                   NAME_MAX_CHARS);
    return -1;
}

int v_only(rz_req_t *req, cJSON *body, const char *const *allowed, const char *const *why)
{
    cJSON *it;
    cJSON_ArrayForEach(it, body)
    {
        int ok = 0;
        for (size_t i = 0; allowed[i] && !ok; i++)
            ok = strcmp(it->string, allowed[i]) == 0;
        if (ok)
            continue;
        const char *reason = NULL;
        for (size_t i = 0; why && why[i] && !reason; i += 2)
            if (strcmp(it->string, why[i]) == 0)
                reason = why[i + 1];
        H->reply_error(req, 400, "unknown_field", it->string, "%s",
                       reason ? reason : "this field is not accepted here");
        return -1;
    }
    return 0;
}
