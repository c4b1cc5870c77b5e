/*
 * snippet.c — highlighted excerpts.  The text is tokenized again (only for
 * the hits on the page) and tokens whose term is one the query matched are
 * wrapped in <em></em>; everything else is HTML-escaped, so the markup is the
 * only markup.  The excerpt starts a little before the first match, at a word
 * boundary, and never cuts a UTF-8 character.
 */
#include "sx.h"

#include <string.h>

#define MAX_MARKS 32
#define LEAD 60 /* bytes of context before the first match */

typedef struct marks {
    const sx_index_t *ix;
    const sx_result_t *r;
    uint32_t start[MAX_MARKS], end[MAX_MARKS];
    int n;
} marks_t;

static int mark(const sx_token_t *t, void *u)
{
    marks_t *m = u;
    if (t->kind == SX_TOK_CJK1 && m->n > 0 && m->end[m->n - 1] > t->start)
        return 0; /* inside a bigram already marked */
    uint32_t id = sx_term_find(&m->ix->terms, t->text, t->len);
    if (id == SX_NONE)
        return 0;
    for (int i = 0; i < m->r->nhterms; i++) {
        if (m->r->hterms[i] != id)
            continue;
        if (m->n > 0 && t->start < m->end[m->n - 1]) { /* overlapping CJK: merge */
            if (t->end > m->end[m->n - 1])
                m->end[m->n - 1] = t->end;
            return 0;
        }
        m->start[m->n] = t->start;
        m->end[m->n] = t->end;
        return ++m->n == MAX_MARKS;
    }
    return 0;
}

static size_t put(char *out, size_t o, size_t cap, const char *s, size_t n)
{
    if (o + n >= cap)
        return cap; /* full: callers stop */
    memcpy(out + o, s, n);
    return o + n;
}

static size_t put_escaped(char *out, size_t o, size_t cap, const char *s, size_t n)
{
    for (size_t i = 0; i < n && o < cap; i++) {
        switch (s[i]) {
        case '<': o = put(out, o, cap, "&lt;", 4); break;
        case '>': o = put(out, o, cap, "&gt;", 4); break;
        case '&': o = put(out, o, cap, "&amp;", 5); break;
        case '\n': o = put(out, o, cap, " ", 1); break;
        default: o = put(out, o, cap, s + i, 1); break;
        }
    }
    return o;
}

static size_t char_start(const char *s, size_t i)
{
    while (i > 0 && ((unsigned char)s[i] & 0xc0) == 0x80)
        i--;
    return i;
}

size_t sx_snippet(const sx_index_t *ix, const sx_result_t *r, const char *text, size_t maxlen,
                  char *out, size_t cap)
{
    marks_t m = {.ix = ix, .r = r};
    size_t n = strlen(text), o = 0;
    if (cap == 0)
        return 0;
    sx_tokenize(text, n, mark, &m);
    size_t from = 0;
    if (m.n > 0 && m.start[0] > LEAD) {
        from = char_start(text, m.start[0] - LEAD);
        while (from < m.start[0] && text[from] != ' ')
            from++; /* start at a word */
        if (from < m.start[0])
            from++;
    }
    size_t to = from + maxlen < n ? char_start(text, from + maxlen) : n;
    if (from > 0)
        o = put(out, o, cap, "\xe2\x80\xa6", 3); /* … */
    size_t at = from;
    for (int i = 0; i < m.n && o < cap; i++) {
        if (m.end[i] <= from)
            continue;
        if (m.start[i] >= to)
            break;
        o = put_escaped(out, o, cap, text + at, m.start[i] - at);
        o = put(out, o, cap, "<em>", 4);
        size_t e = m.end[i] < to ? m.end[i] : to;
        o = put_escaped(out, o, cap, text + m.start[i], e - m.start[i]);
        o = put(out, o, cap, "</em>", 5);
        at = e;
    }
    if (at < to)
        o = put_escaped(out, o, cap, text + at, to - at);
    if (to < n)
        o = put(out, o, cap, "\xe2\x80\xa6", 3);
    if (o >= cap) { /* ran out of room: cut at the last whole character */
        o = char_start(out, cap - 1);
    }
    out[o] = '\0';
    return o;
}
