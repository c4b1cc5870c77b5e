/*
 * fold.c — UTF-8 decoding and folding.  Folding is what makes "Café",
 * "CAFE" and "cafe" one term: lower case, accents dropped, fullwidth forms
 * (common in Hong Kong text) turned into ASCII, ligatures spelled out.  The
 * table for everything beyond ASCII is generated from Unicode data (see
 * foldtab.h); ASCII never reaches it, which is the hot path.
 */
#include "sx.h"

#include <string.h>

#include "foldtab.h"

uint32_t sx_utf8_decode(const unsigned char *s, size_t n, size_t *len)
{
    uint32_t c = s[0], cp, min;
    size_t need;
    if (c < 0x80) {
        *len = 1;
        return c;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        need = 2, cp = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 3, cp = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 4, cp = c & 0x07, min = 0x10000;
    } else {
        goto bad;
    }
    if (n < need)
        goto bad;
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xc0) != 0x80)
            goto bad;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        goto bad; /* overlong forms and surrogates are not characters */
    *len = need;
    return cp;
bad:
    *len = 1;
    return 0xfffd;
}

size_t sx_utf8_encode(uint32_t cp, char *o)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

size_t sx_fold_cp(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
        return 1;
    }
    if ((cp >= 0x300 && cp <= 0x36f) || (cp >= 0x1ab0 && cp <= 0x1aff) ||
        (cp >= 0x1dc0 && cp <= 0x1dff) || (cp >= 0xfe20 && cp <= 0xfe2f))
        return 0; /* combining marks: the accent of a decomposed letter */
    size_t lo = 0, hi = sizeof(fold_tab) / sizeof(fold_tab[0]);
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (fold_tab[mid].cp < cp)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < sizeof(fold_tab) / sizeof(fold_tab[0]) && fold_tab[lo].cp == cp) {
        size_t n = strlen(fold_tab[lo].out);
        memcpy(out, fold_tab[lo].out, n);
        return n;
    }
    return sx_utf8_encode(cp, out);
}

int sx_is_cjk(uint32_t cp)
{
    return (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) ||
           (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0x3040 && cp <= 0x30ff) ||
           (cp >= 0xac00 && cp <= 0xd7af) || (cp >= 0x20000 && cp <= 0x2ffff);
}

size_t sx_fold_str(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0, i = 0;
    char buf[8];
    if (!cap)
        return 0;
    while (i < n) {
        size_t len;
        uint32_t cp = sx_utf8_decode((const unsigned char *)s + i, n - i, &len);
        size_t k = sx_fold_cp(cp, buf);
        if (o + k >= cap)
            break;
        memcpy(out + o, buf, k);
        o += k;
        i += len;
    }
    out[o] = '\0';
    return o;
}
