/*
 * rzu_embed.h — a file of the repository (a schema, an OpenAPI fragment)
 * embedded in a plugin at build time, so the .so is self-contained:
 *
 *   RZU_EMBED(my_sql_001, "plugins/my/schema/001_my.sql");
 *
 * The Makefile assembles with -I. from the repository root, so the path is
 * relative to it.  The bytes end with a NUL (a C string).  Global but
 * hidden: only the plugin's entry is exported.
 */
#ifndef RZU_EMBED_H
#define RZU_EMBED_H

#define RZU_EMBED(sym, file)                                                             \
    __asm__(".section .rodata\n.balign 8\n.globl " #sym "\n.hidden " #sym "\n" #sym ":\n" \
            ".incbin \"" file "\"\n.byte 0\n.previous\n");                               \
    extern const char sym[] __attribute__((visibility("hidden")))

#endif
