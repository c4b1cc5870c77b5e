/*
 * tokenize.c — text to terms.  Words are runs of letters and digits, folded
 * (fold.c); anything else separates them, apostrophes and hyphens included
 * ("Dublin's" gives "dublin" and "s", so "dublin" matches).  Chinese,
 * Japanese and Korean are written without spaces, so each run of those
 * characters gives its unigrams and its bigrams: "銅鑼灣" is 銅, 鑼, 灣, 銅鑼,
 * 鑼灣.  A query then asks for the bigrams (precise) and falls back to the
 * unigram only for a single character.  The token's `run` numbers the CJK
 * run it came from, so a query can tell the two apart.
 */
#include "sx.h"

#include <string.h>

/* Characters beyond ASCII that separate words: punctuation and symbols. */
static int is_separator(uint32_t cp)
{
    if (cp < 0xc0)
        return !(cp == 0xaa || cp == 0xb2 || cp == 0xb3 || cp == 0xb5 || cp == 0xb9 ||
                 cp == 0xba || (cp >= 0xbc && cp <= 0xbe));
    return cp == 0xd7 || cp == 0xf7 || (cp >= 0x2000 && cp <= 0x2bff) ||
           (cp >= 0x2e00 && cp <= 0x2e7f) || (cp >= 0x3000 && cp <= 0x303f) ||
           (cp >= 0xe000 && cp <= 0xf8ff) || (cp >= 0xfe10 && cp <= 0xfe6f) ||
           (cp >= 0xff00 && cp <= 0xff0f) || (cp >= 0xff1a && cp <= 0xff20) ||
           (cp >= 0xff3b && cp <= 0xff40) || (cp >= 0xff5b && cp <= 0xff65) ||
           cp >= 0xfff0 || (cp >= 0x1f000 && cp <= 0x1ffff);
}

typedef struct tokstate {
    sx_token_t w;        /* the word being built */
    int inword;
    sx_token_t c;        /* scratch for CJK tokens */
    char prev[4];        /* the previous CJK character of the run */
    size_t prevlen;
    uint32_t prevstart;
    int run;
} tokstate_t;

static int flush_word(tokstate_t *st, uint32_t end, sx_token_fn fn, void *u)
{
    if (!st->inword)
        return 0;
    st->inword = 0;
    if (st->w.len == 0)
        return 0; /* only combining marks */
    st->w.text[st->w.len] = '\0';
    st->w.end = end;
    return fn(&st->w, u);
}

static int emit_cjk(tokstate_t *st, const char *ch, size_t n, uint32_t start, uint32_t end,
                    sx_token_fn fn, void *u)
{
    int rc;
    sx_token_t *t = &st->c;
    if (!st->prevlen)
        st->run++;
    t->kind = SX_TOK_CJK1;
    t->run = st->run;
    memcpy(t->text, ch, n);
    t->text[n] = '\0';
    t->len = (uint32_t)n;
    t->start = start;
    t->end = end;
    if ((rc = fn(t, u)) != 0)
        return rc;
    if (st->prevlen) {
        t->kind = SX_TOK_CJK2;
        memcpy(t->text, st->prev, st->prevlen);
        memcpy(t->text + st->prevlen, ch, n);
        t->len = (uint32_t)(st->prevlen + n);
        t->text[t->len] = '\0';
        t->start = st->prevstart;
        if ((rc = fn(t, u)) != 0)
            return rc;
    }
    memcpy(st->prev, ch, n);
    st->prevlen = n;
    st->prevstart = start;
    return 0;
}

int sx_tokenize(const char *s, size_t n, sx_token_fn fn, void *u)
{
    tokstate_t st;
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    int rc;
    st.inword = 0;
    st.prevlen = 0;
    st.run = 0;
    st.w.kind = SX_TOK_WORD;
    st.w.run = 0;
    while (i < n) {
        unsigned char b = p[i];
        if (b < 0x80) { /* the hot path: ASCII needs no table */
            int alnum = (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9') || (b >= 'A' && b <= 'Z');
            if (alnum) {
                if (!st.inword) {
                    st.inword = 1;
                    st.w.len = 0;
                    st.w.start = (uint32_t)i;
                }
                if (st.w.len < SX_TOKEN_MAX)
                    st.w.text[st.w.len++] = (char)(b >= 'A' && b <= 'Z' ? b + 32 : b);
            } else if ((rc = flush_word(&st, (uint32_t)i, fn, u)) != 0) {
                return rc;
            }
            st.prevlen = 0;
            i++;
            continue;
        }
        size_t len;
        uint32_t cp = sx_utf8_decode(p + i, n - i, &len);
        if (sx_is_cjk(cp)) {
            if ((rc = flush_word(&st, (uint32_t)i, fn, u)) != 0)
                return rc;
            if ((rc = emit_cjk(&st, s + i, len, (uint32_t)i, (uint32_t)(i + len), fn, u)) != 0)
                return rc;
            i += len;
            continue;
        }
        st.prevlen = 0;
        char f[8];
        size_t k = sx_fold_cp(cp, f);
        int word;
        if (k == 0)
            word = st.inword; /* a combining mark belongs to its letter */
        else if (k == 1 && (unsigned char)f[0] < 0x80)
            word = (f[0] >= 'a' && f[0] <= 'z') || (f[0] >= '0' && f[0] <= '9');
        else
            word = !is_separator(cp);
        if (!word) {
            if ((rc = flush_word(&st, (uint32_t)i, fn, u)) != 0)
                return rc;
        } else {
            if (!st.inword) {
                st.inword = 1;
                st.w.len = 0;
                st.w.start = (uint32_t)i;
            }
            /* keep whole characters only, so a cut token stays valid UTF-8 */
            if (st.w.len + k <= SX_TOKEN_MAX) {
                memcpy(st.w.text + st.w.len, f, k);
                st.w.len += (uint32_t)k;
            }
        }
        i += len;
    }
    return flush_word(&st, (uint32_t)n, fn, u);
}
