/*
 * config.h — the merged configuration from /etc/rentezy.d/ *.conf.
 *
 * Files are read in lexical order; INI style "[section]" and "key = value";
 * later files override earlier ones.  "#" and ";" start comments (whole
 * lines only, so values may contain them).  Section names are
 * [a-z0-9_.-]+ (e.g. "host", "database", "plugin.search").  Keys are
 * [a-z0-9_.-]+.
 *
 * Environment overrides: RENTEZY_<SECTION>_<KEY> (upper case, "." and "-"
 * become "_"), e.g. RENTEZY_HOST_WORKERS=2, RENTEZY_PLUGIN_SEARCH_LIMIT=5.
 * They override file values and may add keys to known sections.
 *
 * Secrets: a key ending in "_file" names a file whose contents (trailing
 * newline removed) become the value of the key without "_file":
 * jwt_secret_file = /run/secrets/jwt gives jwt_secret.  Values of secret keys
 * (ending in _secret, _password, _key, secret, password, token, or read from a
 * _file, and passwords inside URLs) are redacted by rz__config_print.
 *
 * Every value remembers where it came from ("file:line" or "env NAME") so
 * errors can name it.
 */
#ifndef RZ_CONFIG_H
#define RZ_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct rz_config rz_config_t;

/* Load dir/ *.conf, then apply the RENTEZY_* variables of the process
 * environment, then read the *_file secrets (in that order, so a variable
 * can point a secret elsewhere).  On failure returns NULL and writes one line
 * to err, e.g.
 * "/etc/rentezy.d/10-db.conf:7: expected 'key = value' or '[section]', found 'foo'".
 * The result is owned by the caller: rz__config_free. */
rz_config_t *rz__config_load(const char *dir, char *err, size_t errlen);
/* rz__config_load with envp (NULL-terminated "NAME=value", may be NULL) in
 * place of the process environment; for tests. */
rz_config_t *rz__config_load_env(const char *dir, char *const *envp, char *err, size_t errlen);
/* Parse one buffer as if it were a file named `name` (for tests, fuzzing).
 * Returns 0 or -1 with err set.  Applies no environment overrides. */
int rz__config_parse_buffer(rz_config_t *cfg, const char *name, const char *buf, size_t len,
                            char *err, size_t errlen);
rz_config_t *rz__config_new(void);
/* Apply RENTEZY_* variables from envp (NULL-terminated "NAME=value" list).
 * Reads no secret files: call rz__config_resolve_secrets afterwards. */
int rz__config_apply_env(rz_config_t *cfg, char *const *envp, char *err, size_t errlen);
/* For every "KEY_file = PATH", set KEY to the contents of PATH (at most
 * 64 KiB, trailing newlines removed) unless KEY was set after KEY_file.  An
 * empty PATH names no file.  0, or -1 with err naming file:line and errno. */
int rz__config_resolve_secrets(rz_config_t *cfg, char *err, size_t errlen);
void rz__config_free(rz_config_t *cfg);

/* Raw lookup: the value or NULL; *where (may be NULL) gets "file:line".
 * Strings returned by any getter are owned by cfg and stay valid until the
 * key is set again or cfg is freed. */
const char *rz__config_get(const rz_config_t *cfg, const char *section, const char *key,
                           const char **where);

/* Typed getters: 0 with *out set (or the default when absent or set to an
 * empty value), -1 with *out = def and err
 * naming where the value came from and what was expected, e.g.
 * "00-host.conf:3: [host] workers: expected an integer or 'auto', found 'x'". */
int rz__config_string(const rz_config_t *cfg, const char *section, const char *key,
                      const char *def, const char **out, char *err, size_t errlen);
int rz__config_int(const rz_config_t *cfg, const char *section, const char *key, int64_t def,
                   int64_t *out, char *err, size_t errlen);
int rz__config_bool(const rz_config_t *cfg, const char *section, const char *key, int def,
                    int *out, char *err, size_t errlen);
int rz__config_duration_ms(const rz_config_t *cfg, const char *section, const char *key,
                           int64_t def, int64_t *out, char *err, size_t errlen);
int rz__config_size(const rz_config_t *cfg, const char *section, const char *key, uint64_t def,
                    uint64_t *out, char *err, size_t errlen);
/* Items separated by spaces and/or commas; *items NULL-terminated, owned by cfg. */
int rz__config_list(const rz_config_t *cfg, const char *section, const char *key,
                    const char *const **items, size_t *n, char *err, size_t errlen);

/* Fail when `section` holds a key not in known (NULL-terminated):
 * "10-x.conf:4: [host] unknown key 'wrokers' (known: listen, workers, ...)". */
int rz__config_check_keys(const rz_config_t *cfg, const char *section,
                          const char *const *known, char *err, size_t errlen);
/* Calls fn for each section name in first-seen order. */
void rz__config_each_section(const rz_config_t *cfg, void (*fn)(const char *section, void *u),
                             void *u);

/* Calls fn for each key of `section` in first-seen order (values unredacted:
 * never log them). */
void rz__config_each_key(const rz_config_t *cfg, const char *section,
                         void (*fn)(const char *key, const char *value, const char *where,
                                    void *u),
                         void *u);

/* Print the merged configuration, secrets redacted as "<redacted>". */
void rz__config_print(const rz_config_t *cfg, FILE *out);

/* Value parsers, exposed for tests and fuzzing.  0 or -1. */
int rz__parse_bool(const char *s, int *out);        /* true/false/yes/no/on/off/1/0 */
int rz__parse_int(const char *s, int64_t *out);     /* decimal, optional sign, no junk */
int rz__parse_duration_ms(const char *s, int64_t *out);
int rz__parse_size(const char *s, uint64_t *out);

#endif
