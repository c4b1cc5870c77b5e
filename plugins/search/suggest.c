/*
 * suggest.c — autocomplete: places (cities and neighbourhoods with live
 * listings, most listings first) whose name has a word starting with what was
 * typed, then titles found by the ordinary query engine restricted to the
 * title field (so typos and the prefix of the last word work the same way).
 */
#include "sx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int word_prefix(const char *name, const char *q, size_t qn)
{
    for (const char *p = name; *p; p++)
        if ((p == name || p[-1] == ' ' || p[-1] == '-' || p[-1] == '\'') && strncmp(p, q, qn) == 0)
            return 1;
    return 0;
}

int sx_suggest(const sx_index_t *ix, sx_searcher_t *s, const char *q, sx_suggestion_t *out, int max)
{
    char fq[SX_Q_MAX * 2 + 8], fname[400];
    size_t qn = sx_fold_str(q, strlen(q), fq, sizeof(fq));
    int n = 0;
    while (qn > 0 && fq[qn - 1] == ' ')
        fq[--qn] = '\0';
    if (qn == 0 || max <= 0)
        return 0;
    /* places: the few hundred there are, scanned; the most listed first */
    for (uint32_t i = 0; i < ix->nplaces; i++) {
        const struct sx_place *p = &ix->places[i];
        if (p->count == 0)
            continue;
        sx_fold_str(p->name + 1, strlen(p->name + 1), fname, sizeof(fname));
        if (!word_prefix(fname, fq, qn))
            continue;
        if (n == max && out[n - 1].count >= p->count)
            continue;
        int at = n < max ? n++ : max - 1;
        while (at > 0 && out[at - 1].count < p->count) {
            out[at] = out[at - 1];
            at--;
        }
        snprintf(out[at].text, sizeof(out[at].text), "%s", p->name + 1);
        out[at].kind = p->kind == 0 ? "city" : "neighbourhood";
        out[at].count = p->count;
        out[at].doc = SX_NONE;
    }
    int places = n < (max + 1) / 2 ? n : (max + 1) / 2; /* leave room for titles */
    n = places;
    sx_query_t qq;
    sx_query_init(&qq);
    snprintf(qq.q, sizeof(qq.q), "%s", q);
    qq.fields = SX_F_TITLE;
    qq.limit = max - n;
    sx_result_t *r = sx_malloc(sizeof(*r));
    if (!r)
        return SX_ENOMEM;
    if (qq.limit > 0 && sx_search(ix, s, &qq, r) == SX_OK) {
        for (int i = 0; i < r->nhits && n < max; i++) {
            const sx_listing_t *l = &ix->l[ix->listing[r->hits[i].doc]];
            const char *t = sx_lstr(l, SX_L_TITLE);
            int dup = 0;
            for (int j = places; j < n && !dup; j++)
                dup = strcmp(out[j].text, t) == 0;
            if (dup)
                continue;
            snprintf(out[n].text, sizeof(out[n].text), "%s", t);
            out[n].kind = "title";
            out[n].count = 1;
            out[n].doc = r->hits[i].doc;
            n++;
        }
    }
    sx_free(r);
    return n;
}
