/*
 * arena.h — request-scoped memory (nginx's pools): many allocations, one
 * free when the response has been sent, so a handler cannot leak on an error
 * path.
 */
#ifndef RZ_ARENA_H
#define RZ_ARENA_H

#include <stddef.h>

typedef struct rz_arena_block rz_arena_block_t;

typedef struct rz_arena {
    rz_arena_block_t *head;   /* blocks from malloc, newest first */
    char *ptr;                /* free space in the current block */
    size_t left;
} rz_arena_t;

/* Use the caller's buffer as the first block (may be NULL, 0). */
void rz__arena_init(rz_arena_t *a, void *first, size_t len);
/* 16-byte aligned; NULL when out of memory. */
void *rz__arena_alloc(rz_arena_t *a, size_t n);
char *rz__arena_strndup(rz_arena_t *a, const char *s, size_t n);
void rz__arena_free(rz_arena_t *a);

#endif
