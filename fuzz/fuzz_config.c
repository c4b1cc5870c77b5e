/*
 * fuzz_config.c — libFuzzer target for the configuration parser.
 *
 * The input is parsed as a config file; then every key of every section goes
 * through every typed getter and list splitting (twice, to exercise the
 * cache), the value parsers see every line of the input, lines that look
 * like "NAME=value" are applied as RENTEZY_NAME=value variables, and the
 * printed configuration must parse back to the same printout: print is the
 * --print-config a user pipes into a file, and redaction must be stable.
 *
 * Secret files are never read here (rz__config_resolve_secrets is not
 * called): the input must not choose files to open.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

typedef struct walk {
    const rz_config_t *cfg;
    const char *section;
} walk_t;

static void each_value(const char *key, const char *value, const char *where, void *u)
{
    const walk_t *w = u;
    char err[256];
    const char *s, *const *items;
    int64_t i;
    uint64_t z;
    int b;
    size_t n, n2;

    if (!where || strcmp(rz__config_get(w->cfg, w->section, key, NULL), value) != 0)
        abort();
    rz__config_string(w->cfg, w->section, key, "d", &s, err, sizeof err);
    rz__config_int(w->cfg, w->section, key, 1, &i, err, sizeof err);
    rz__config_bool(w->cfg, w->section, key, 1, &b, err, sizeof err);
    rz__config_duration_ms(w->cfg, w->section, key, 1, &i, err, sizeof err);
    if (rz__config_size(w->cfg, w->section, key, 1, &z, err, sizeof err) < 0 &&
        strlen(err) >= sizeof err)
        abort();
    if (rz__config_list(w->cfg, w->section, key, &items, &n, err, sizeof err) == 0) {
        const char *const *again;
        for (size_t k = 0; k < n; k++)
            if (!items[k] || !items[k][0] || strpbrk(items[k], " \t,"))
                abort();
        if (items[n] != NULL)
            abort();
        if (rz__config_list(w->cfg, w->section, key, &again, &n2, err, sizeof err) != 0 ||
            again != items || n2 != n)
            abort();
    }
}

static void each_section(const char *section, void *u)
{
    static const char *const known[] = {"listen", "workers", "url", NULL};
    walk_t w = {.cfg = u, .section = section};
    char err[128];
    rz__config_each_key(w.cfg, section, each_value, &w);
    rz__config_check_keys(w.cfg, section, known, err, sizeof err);
}

/* The printout without "# from" lines, which name lines that differ. */
static char *printout(const rz_config_t *cfg)
{
    char *buf = NULL, *line, *save = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        abort();
    rz__config_print(cfg, f);
    fclose(f);
    char *out = calloc(1, len + 1), *o = out;
    if (!out)
        abort();
    for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "# from ", 7) == 0)
            continue;
        o += sprintf(o, "%s\n", line);
    }
    free(buf);
    return out;
}

static void parsers(const char *s)
{
    int64_t i;
    uint64_t z;
    int b;
    if (rz__parse_int(s, &i) == 0) {
        char back[32];
        snprintf(back, sizeof back, "%lld", (long long)i);
        /* Only canonical spellings print back the same; the value must. */
        int64_t j;
        if (rz__parse_int(back, &j) != 0 || j != i)
            abort();
    }
    if (rz__parse_duration_ms(s, &i) == 0 && i < 0)
        abort();
    rz__parse_size(s, &z);
    rz__parse_bool(s, &b);
}

/* Lines "NAME=value" of the input become RENTEZY_NAME=value variables. */
static char **make_env(const char *text)
{
    size_t n = 0, cap = 8;
    char **env = calloc(cap, sizeof *env);
    const char *p = text;
    while (env && *p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (memchr(p, '=', len) && n + 2 < cap) {
            char *v = malloc(len + 9);
            if (v) {
                memcpy(v, "RENTEZY_", 8);
                memcpy(v + 8, p, len);
                v[len + 8] = '\0';
                env[n++] = v;
            }
        }
        p = nl ? nl + 1 : p + len;
    }
    return env;
}

static void free_env(char **env)
{
    for (size_t i = 0; env && env[i]; i++)
        free(env[i]);
    free(env);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    /* Every line (and the whole input) as a value. */
    parsers(text);
    for (char *line = text, *nl; line; line = nl ? nl + 1 : NULL) {
        nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        parsers(line);
        if (nl)
            *nl = '\n';
    }

    rz_config_t *cfg = rz__config_new();
    if (!cfg)
        goto out;
    err[0] = '\0';
    if (rz__config_parse_buffer(cfg, "fuzz.conf", (const char *)data, size, err, sizeof err) < 0) {
        /* Every error names the file and line. */
        if (strncmp(err, "fuzz.conf:", 10) != 0)
            abort();
        goto out;
    }
    rz__config_each_section(cfg, each_section, cfg);

    char *first = printout(cfg);
    rz_config_t *again = rz__config_new();
    if (!again)
        abort();
    if (rz__config_parse_buffer(again, "print.conf", first, strlen(first), err, sizeof err) < 0) {
        /* "k=v" printed as "k = v", or a one-byte password printed as
         * <redacted>, may push a line past the limit: fine for a printout. */
        if (!strstr(err, ": line too long: ")) {
            fprintf(stderr, "printout does not parse: %s\n---\n%s", err, first);
            abort();
        }
    } else {
        char *second = printout(again);
        if (strcmp(first, second) != 0) {
            fprintf(stderr, "printout changed:\n---\n%s---\n%s", first, second);
            abort();
        }
        free(second);
    }
    free(first);
    rz__config_free(again);

    char **env = make_env(text);
    if (env && rz__config_apply_env(cfg, env, err, sizeof err) == 0)
        rz__config_each_section(cfg, each_section, cfg);
    free_env(env);

out:
    rz__config_free(cfg);
    free(text);
    return 0;
}
