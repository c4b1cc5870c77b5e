/*
 * rzu_reason.c — the optional {"reason": "..."} of a decline or a
 * cancellation: 1 to max characters of valid UTF-8 without control
 * characters other than tab and newline (PostgreSQL would refuse invalid
 * UTF-8 with an error; the client gets a 400 naming the field instead).
 */
#include "rzu.h"

#include <stdint.h>

/* Characters of s, or -1 when it is not text as described above. */
static long text_chars(const unsigned char *s)
{
    long n = 0;
    while (*s) {
        uint32_t c = *s;
        int len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3
                : (c & 0xf8) == 0xf0 ? 4 : 0;
        if (!len)
            return -1;
        c &= len == 1 ? 0x7f : 0x3f >> (len - 1);
        for (int i = 1; i < len; i++) {
            if ((s[i] & 0xc0) != 0x80)
                return -1;
            c = c << 6 | (s[i] & 0x3f);
        }
        /* overlong forms, surrogates, beyond Unicode */
        if ((len == 2 && c < 0x80) || (len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
            (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
            return -1;
        if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f)
            return -1;
        s += len;
        n++;
    }
    return n;
}

int rzu_reason(rz_req_t *req, const cJSON *body, long max, const char **out)
{
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(body, "reason");
    *out = NULL;
    if (!r || cJSON_IsNull(r))
        return 0;
    long n = cJSON_IsString(r) ? text_chars((const unsigned char *)r->valuestring) : -1;
    if (n < 1 || n > max) {
        rzu_host->reply_error(req, 400, "invalid", "reason",
                              "reason must be text of 1 to %ld characters without control "
                              "characters", max);
        return -1;
    }
    *out = r->valuestring;
    return 0;
}
