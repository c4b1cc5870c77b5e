#include "arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct rz_arena_block {
    rz_arena_block_t *next;
};

#define ALIGN 16
#define BLOCK (8 * 1024)

static size_t pad(uintptr_t p) { return (ALIGN - (p & (ALIGN - 1))) & (ALIGN - 1); }

void rz__arena_init(rz_arena_t *a, void *first, size_t len)
{
    a->head = NULL;
    a->ptr = first;
    a->left = first ? len : 0;
}

void *rz__arena_alloc(rz_arena_t *a, size_t n)
{
    size_t skip = a->ptr ? pad((uintptr_t)a->ptr) : 0;
    if (a->ptr && a->left >= skip && a->left - skip >= n) {
        char *p = a->ptr + skip;
        a->ptr = p + n;
        a->left -= skip + n;
        return p;
    }
    if (n > SIZE_MAX - BLOCK - sizeof(rz_arena_block_t) - ALIGN)
        return NULL;
    size_t size = n + ALIGN > BLOCK ? n + ALIGN : BLOCK;
    rz_arena_block_t *b = malloc(sizeof(*b) + ALIGN + size);
    if (!b)
        return NULL;
    b->next = a->head;
    a->head = b;
    char *start = (char *)(b + 1);
    start += pad((uintptr_t)start);
    a->ptr = start + n;
    a->left = size - n;
    return start;
}

char *rz__arena_strndup(rz_arena_t *a, const char *s, size_t n)
{
    char *p = rz__arena_alloc(a, n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

void rz__arena_free(rz_arena_t *a)
{
    rz_arena_block_t *b = a->head;
    while (b) {
        rz_arena_block_t *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
    a->ptr = NULL;
    a->left = 0;
}
