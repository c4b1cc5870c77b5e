/*
 * hmap.c — open addressing with linear probing from a 64-bit hash to a
 * uint32 value.  Keys live with the caller (the term dictionary, the listing
 * table), so a slot is 16 bytes and a probe one cache line; eq() settles
 * hash collisions.  Deletion shifts entries back, so there are no tombstones.
 */
#include "sx.h"

#include <string.h>

uint32_t sx_hmap_get(const sx_hmap_t *m, uint64_t h, sx_eq_fn eq, const void *ctx,
                     const void *key, size_t len)
{
    if (!m->cap)
        return SX_NONE;
    uint32_t mask = m->cap - 1;
    for (uint32_t i = (uint32_t)h & mask;; i = (i + 1) & mask) {
        if (m->s[i].h == 0)
            return SX_NONE;
        if (m->s[i].h == h && (!eq || eq(ctx, m->s[i].v, key, len)))
            return m->s[i].v;
    }
}

static int rehash(sx_hmap_t *m, uint32_t cap)
{
    sx_hslot_t *s = sx_calloc(cap, sizeof(*s));
    if (!s)
        return SX_ENOMEM;
    for (uint32_t j = 0; j < m->cap; j++) {
        if (!m->s[j].h)
            continue;
        uint32_t i = (uint32_t)m->s[j].h & (cap - 1);
        while (s[i].h)
            i = (i + 1) & (cap - 1);
        s[i] = m->s[j];
    }
    sx_free(m->s);
    m->s = s;
    m->cap = cap;
    return 0;
}

int sx_hmap_put(sx_hmap_t *m, uint64_t h, uint32_t val)
{
    if ((m->n + 1) * 4 > m->cap * 3 && rehash(m, m->cap ? m->cap * 2 : 16) < 0)
        return SX_ENOMEM; /* load factor 3/4 keeps probes short */
    uint32_t mask = m->cap - 1, i = (uint32_t)h & mask;
    while (m->s[i].h)
        i = (i + 1) & mask;
    m->s[i].h = h;
    m->s[i].v = val;
    m->n++;
    return 0;
}

int sx_hmap_del(sx_hmap_t *m, uint64_t h, uint32_t val)
{
    if (!m->cap)
        return 0;
    uint32_t mask = m->cap - 1, i = (uint32_t)h & mask;
    for (;; i = (i + 1) & mask) {
        if (!m->s[i].h)
            return 0;
        if (m->s[i].h == h && m->s[i].v == val)
            break;
    }
    /* backward shift: pull later entries of the cluster into the hole when
     * their home slot is not between the hole and themselves */
    uint32_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!m->s[j].h)
            break;
        uint32_t home = (uint32_t)m->s[j].h & mask;
        if (((j - home) & mask) >= ((j - i) & mask)) {
            m->s[i] = m->s[j];
            i = j;
        }
    }
    m->s[i].h = 0;
    m->n--;
    return 1;
}

void sx_hmap_free(sx_hmap_t *m)
{
    sx_free(m->s);
    memset(m, 0, sizeof(*m));
}
