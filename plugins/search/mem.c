/*
 * mem.c — the index's allocator: malloc with a running total, so the
 * footprint reported by /v1/search/stats is measured, not estimated.  The
 * total uses malloc_usable_size (what the allocator really handed out) and a
 * relaxed atomic, because benchmark threads may allocate scratch at once.
 */
#include "sx.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

static size_t used;

static void account(void *p, int sign)
{
    if (p)
        __atomic_fetch_add(&used, sign * (long)malloc_usable_size(p), __ATOMIC_RELAXED);
}

void *sx_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    account(p, 1);
    return p;
}

void *sx_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    account(p, 1);
    return p;
}

void *sx_realloc(void *p, size_t n)
{
    size_t old = p ? malloc_usable_size(p) : 0;
    void *q = realloc(p, n ? n : 1);
    if (!q)
        return NULL; /* p is untouched and still counted */
    __atomic_fetch_add(&used, (long)malloc_usable_size(q) - (long)old, __ATOMIC_RELAXED);
    return q;
}

void sx_free(void *p)
{
    account(p, -1);
    free(p);
}

char *sx_strndup(const char *s, size_t n)
{
    char *d = sx_malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

size_t sx_mem_used(void) { return __atomic_load_n(&used, __ATOMIC_RELAXED); }

int sx_grow(void *pp, uint32_t *cap, uint32_t need, size_t sz)
{
    if (need <= *cap)
        return 0;
    uint64_t nc = *cap ? *cap : 4;
    while (nc < need)
        nc += nc / 2 + 4; /* 1.5x: the doc arrays are large at a million */
    if (nc > UINT32_MAX)
        return SX_ENOMEM;
    void **p = pp;
    void *q = sx_realloc(*p, (size_t)nc * sz);
    if (!q)
        return SX_ENOMEM;
    *p = q;
    *cap = (uint32_t)nc;
    return 0;
}

uint64_t sx_hash(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 0x100000001b3ull;
    /* FNV's low bits are weak for short keys: finish with a murmur mix */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h ? h : 1; /* 0 marks an empty slot */
}
