/*
 * config.c — the merged configuration: drop-in *.conf files, RENTEZY_*
 * environment overrides, and *_file secrets.
 *
 * A configuration is a few dozen keys, so it is kept as plain arrays searched
 * linearly: first-seen order (which --print-config shows) comes for free and
 * there is no hash table to get wrong.  Every string hangs off the
 * rz_config_t and is freed by rz__config_free.
 *
 * Messages follow one shape, "WHERE: [section] key: expected X, found Y",
 * and never quote a value that may be a secret: a value is shown only after
 * the same redaction that rz__config_print applies, and an unparsable line
 * (which has no key yet to judge by) is not shown when it looks like one.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define CFG_MAX_LINE 4096          /* bytes in one line, newline excluded */
#define CFG_MAX_FILE (1u << 20)    /* a bigger config file is a mistake */
#define CFG_MAX_SECRET (64u << 10) /* a bigger secret file is a mistake */
#define CFG_SHOW_MAX 64            /* bytes of a bad value quoted in a message */

/* Sections RENTEZY_* variables may name even when no file mentions them. */
static const char *const host_sections[] = {
    "host", "http", "database", "bus", "jobs", "auth", "log", "websocket", "ratelimit",
    "idempotency", NULL,
};

typedef struct cfg_entry {
    char *key;     /* owned */
    char *value;   /* owned; never NULL */
    char *where;   /* owned: "file:line" or "env NAME" */
    uint64_t seq;  /* when it was set; decides "key" versus "key_file" */
    int from_file; /* value read from the file named by key_file */
    char **items;  /* rz__config_list cache, one allocation, or NULL */
    size_t nitems;
} cfg_entry_t;

typedef struct cfg_section {
    char *name;        /* owned */
    cfg_entry_t *ents; /* owned, first-seen order */
    size_t n, cap;
} cfg_section_t;

struct rz_config {
    cfg_section_t *secs; /* owned, first-seen order */
    size_t n, cap;
    uint64_t seq; /* last sequence number handed out */
};

/* ---- output that goes to a FILE or into a bounded buffer ---------------- */

/* One writer for both --print-config (a FILE) and error messages (a fixed
 * buffer, silently truncated but always NUL-terminated), so redaction is
 * written once. */
typedef struct sink {
    FILE *f;
    char *buf;
    size_t cap, len; /* len counts what was wanted, even past cap */
} sink_t;

static void sk_write(sink_t *k, const char *s, size_t n)
{
    if (k->f) {
        fwrite(s, 1, n, k->f);
        return;
    }
    if (k->cap > 0 && k->len < k->cap - 1) {
        size_t room = k->cap - 1 - k->len;
        memcpy(k->buf + k->len, s, n < room ? n : room);
    }
    k->len += n;
    if (k->cap > 0)
        k->buf[k->len < k->cap ? k->len : k->cap - 1] = '\0';
}

static void sk_puts(sink_t *k, const char *s)
{
    sk_write(k, s, strlen(s));
}

__attribute__((format(printf, 2, 0))) static void sk_vprintf(sink_t *k, const char *fmt, va_list ap)
{
    if (k->f) {
        vfprintf(k->f, fmt, ap);
        return;
    }
    size_t room = k->len < k->cap ? k->cap - k->len : 0;
    int r = vsnprintf(room ? k->buf + k->len : NULL, room, fmt, ap);
    if (r > 0)
        k->len += (size_t)r;
}

__attribute__((format(printf, 2, 3))) static void sk_printf(sink_t *k, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sk_vprintf(k, fmt, ap);
    va_end(ap);
}

static sink_t err_sink(char *err, size_t errlen)
{
    sink_t k = {.buf = err, .cap = err ? errlen : 0};
    if (k.cap)
        err[0] = '\0';
    return k;
}

__attribute__((format(printf, 3, 4))) static int seterr(char *err, size_t errlen, const char *fmt,
                                                        ...)
{
    sink_t k = err_sink(err, errlen);
    va_list ap;
    va_start(ap, fmt);
    sk_vprintf(&k, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- small string helpers ------------------------------------------------ */

static int is_ws(char c)
{
    return c == ' ' || c == '\t';
}

static void trim(const char **s, size_t *n)
{
    while (*n > 0 && is_ws(**s))
        (*s)++, (*n)--;
    while (*n > 0 && is_ws((*s)[*n - 1]))
        (*n)--;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

/* Section and key names: [a-z0-9_.-]+. */
static int valid_name(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

/* The environment spelling of a name character: upper case, "." and "-" as
 * "_".  ASCII only on purpose: the locale must not change which variable
 * names a key. */
static char env_char(char c)
{
    if (c == '.' || c == '-')
        return '_';
    if (c >= 'a' && c <= 'z')
        return (char)(c - 'a' + 'A');
    return c;
}

/* Case-insensitive "does s[0..n) contain w" for ASCII w. */
static int contains_ci(const char *s, size_t n, const char *w)
{
    size_t m = strlen(w);
    for (size_t i = 0; i + m <= n; i++)
        if (strncasecmp(s + i, w, m) == 0)
            return 1;
    return 0;
}

/* Checks that s[0..n) is UTF-8 text: no NUL, no control character other than
 * tab, no malformed, overlong or surrogate sequence.  Returns n, or the
 * offset of the first bad byte with *why set. */
static size_t text_check(const char *str, size_t n, const char **why)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            if (c == 0) {
                *why = "a NUL byte";
                return i;
            }
            if ((c < 0x20 && c != '\t') || c == 0x7f) {
                *why = "a control character";
                return i;
            }
            i++;
            continue;
        }
        /* The second byte's range excludes overlongs (E0, F0), surrogates
         * (ED) and code points above U+10FFFF (F4). */
        size_t more;
        unsigned lo = 0x80, hi = 0xbf;
        if (c >= 0xc2 && c <= 0xdf)
            more = 1;
        else if (c >= 0xe0 && c <= 0xef) {
            more = 2;
            if (c == 0xe0)
                lo = 0xa0;
            if (c == 0xed)
                hi = 0x9f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            more = 3;
            if (c == 0xf0)
                lo = 0x90;
            if (c == 0xf4)
                hi = 0x8f;
        } else {
            *why = "invalid UTF-8";
            return i;
        }
        if (i + more >= n) {
            *why = "invalid UTF-8";
            return i;
        }
        for (size_t j = 1; j <= more; j++) {
            unsigned b = s[i + j];
            if (b < (j == 1 ? lo : 0x80) || b > (j == 1 ? hi : 0xbf)) {
                *why = "invalid UTF-8";
                return i;
            }
        }
        i += 1 + more;
    }
    return n;
}

/* ---- secrets and redaction ----------------------------------------------- */

static int key_is_secret(const char *key)
{
    static const char *const suffixes[] = {"secret", "password", "_key", "token", NULL};
    for (size_t i = 0; suffixes[i]; i++)
        if (ends_with(key, suffixes[i]))
            return 1;
    return 0;
}

static int entry_is_secret(const cfg_entry_t *e)
{
    return e->from_file || key_is_secret(e->key);
}

/* Text that was not parsed into a key yet may hold a secret: a line missing
 * its "=", a misspelt key.  Err on the side of not showing it. */
static int looks_secret(const char *s, size_t n)
{
    static const char *const words[] = {"secret", "passw", "token", "key", "@", NULL};
    for (size_t i = 0; words[i]; i++)
        if (contains_ci(s, n, words[i]))
            return 1;
    return 0;
}

/* Writes v with the password of every "scheme://user:password@host" and
 * every libpq "password=..." replaced by <redacted>.  The userinfo is taken
 * to end at the last "@" before the next space or comma, not at the first
 * "/": a password with an unescaped "/" is then still hidden, at the cost of
 * sometimes hiding a little more than the password. */
static void redact_urls(sink_t *k, const char *v)
{
    size_t i = 0;
    while (v[i]) {
        if (strncmp(v + i, "://", 3) == 0) {
            size_t a = i + 3, end = a, at = 0, colon = 0;
            while (v[end] && !is_ws(v[end]) && v[end] != ',')
                end++;
            for (size_t j = a; j < end; j++)
                if (v[j] == '@')
                    at = j;
            for (size_t j = a; at && j < at; j++)
                if (v[j] == ':') {
                    colon = j;
                    break;
                }
            if (at && colon) {
                sk_write(k, v + i, colon + 1 - i);
                sk_puts(k, "<redacted>");
                i = at;
            } else {
                sk_write(k, v + i, 3);
                i += 3;
            }
            continue;
        }
        int boundary = i == 0 || is_ws(v[i - 1]) || strchr("?&,;", v[i - 1]) != NULL;
        if (boundary && strncasecmp(v + i, "password=", 9) == 0) {
            sk_write(k, v + i, 9);
            sk_puts(k, "<redacted>");
            i += 9;
            while (v[i] && !is_ws(v[i]) && v[i] != '&' && v[i] != ',')
                i++;
            continue;
        }
        sk_write(k, v + i, 1);
        i++;
    }
}

/* Quotes text for a message, cut to CFG_SHOW_MAX bytes on a character
 * boundary.  With `raw`, text that looks like a secret is described
 * instead of shown. */
static void show_text(sink_t *k, const char *s, size_t n, int raw)
{
    if (raw && looks_secret(s, n)) {
        sk_printf(k, "%zu bytes (not shown: they may hold a secret)", n);
        return;
    }
    char tmp[CFG_SHOW_MAX + 8];
    sink_t t = {.buf = tmp, .cap = sizeof tmp};
    tmp[0] = '\0';
    if (raw) {
        sk_write(&t, s, n);
    } else {
        redact_urls(&t, s);
    }
    int cut = t.len > CFG_SHOW_MAX;
    if (cut) {
        size_t c = CFG_SHOW_MAX;
        while (c > 0 && ((unsigned char)tmp[c] & 0xc0) == 0x80)
            c--;
        tmp[c] = '\0';
    }
    sk_printf(k, "'%s%s'", tmp, cut ? "..." : "");
}

static void show_value(sink_t *k, const cfg_entry_t *e)
{
    if (entry_is_secret(e))
        sk_puts(k, "<redacted>");
    else
        show_text(k, e->value, strlen(e->value), 0);
}

/* Overwrites a secret before freeing it, so it does not linger in freed
 * heap memory that a later bug or a core dump might expose. */
static void free_value(char *v, int secret)
{
    if (v && secret)
        explicit_bzero(v, strlen(v));
    free(v);
}

/* ---- the store ------------------------------------------------------------ */

static int grow(void **p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 8;
    void *q = reallocarray(*p, ncap, size);
    if (!q)
        return -1;
    *p = q;
    *cap = ncap;
    return 0;
}

static cfg_section_t *sec_find(const rz_config_t *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n; i++)
        if (strcmp(cfg->secs[i].name, name) == 0)
            return &cfg->secs[i];
    return NULL;
}

/* Finds or appends section `name`.  The pointer is valid until the next
 * section is added. */
static cfg_section_t *sec_get(rz_config_t *cfg, const char *name)
{
    cfg_section_t *s = sec_find(cfg, name);
    if (s)
        return s;
    char *copy = strdup(name);
    if (!copy || grow((void **)&cfg->secs, &cfg->cap, cfg->n, sizeof *cfg->secs) < 0) {
        free(copy);
        return NULL;
    }
    s = &cfg->secs[cfg->n++];
    memset(s, 0, sizeof *s);
    s->name = copy;
    return s;
}

static cfg_entry_t *ent_find(const cfg_section_t *s, const char *key)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->ents[i].key, key) == 0)
            return &s->ents[i];
    return NULL;
}

static void ent_clear(cfg_entry_t *e)
{
    free_value(e->value, entry_is_secret(e));
    free(e->where);
    free(e->items);
    e->value = e->where = NULL;
    e->items = NULL;
    e->nitems = 0;
}

/* Sets key in s, keeping its first-seen position.  Takes ownership of value
 * and where, which are freed on failure too; both may be NULL on entry (a
 * failed strdup) and then count as out of memory.  Pointers previously
 * returned for this key (value, list) become invalid. */
static int ent_put(cfg_section_t *s, const char *key, char *value, char *where, uint64_t seq,
                   int from_file)
{
    cfg_entry_t *e = ent_find(s, key);
    if (!value || !where)
        goto fail;
    if (!e) {
        char *k = strdup(key);
        if (!k || grow((void **)&s->ents, &s->cap, s->n, sizeof *s->ents) < 0) {
            free(k);
            goto fail;
        }
        e = &s->ents[s->n++];
        memset(e, 0, sizeof *e);
        e->key = k;
    } else {
        ent_clear(e);
    }
    e->value = value;
    e->where = where;
    e->seq = seq;
    e->from_file = from_file;
    return 0;
fail:
    free_value(value, from_file || key_is_secret(key));
    free(where);
    return -1;
}

static void ent_remove(cfg_section_t *s, size_t i)
{
    ent_clear(&s->ents[i]);
    free(s->ents[i].key);
    memmove(&s->ents[i], &s->ents[i + 1], (s->n - i - 1) * sizeof *s->ents);
    s->n--;
}

static const cfg_entry_t *lookup(const rz_config_t *cfg, const char *section, const char *key)
{
    if (!cfg || !section || !key)
        return NULL;
    const cfg_section_t *s = sec_find(cfg, section);
    return s ? ent_find(s, key) : NULL;
}

rz_config_t *rz__config_new(void)
{
    return calloc(1, sizeof(rz_config_t));
}

void rz__config_free(rz_config_t *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->n; i++) {
        cfg_section_t *s = &cfg->secs[i];
        for (size_t j = 0; j < s->n; j++) {
            ent_clear(&s->ents[j]);
            free(s->ents[j].key);
        }
        free(s->ents);
        free(s->name);
    }
    free(cfg->secs);
    free(cfg);
}

/* ---- parsing one file ---------------------------------------------------- */

typedef struct parser {
    rz_config_t *cfg;
    const char *name;
    unsigned long line;
    const char *section; /* owned by cfg; NULL before the first [section] */
    char *err;
    size_t errlen;
} parser_t;

__attribute__((format(printf, 2, 3))) static sink_t perr_begin(parser_t *p, const char *fmt, ...)
{
    sink_t k = err_sink(p->err, p->errlen);
    va_list ap;
    sk_printf(&k, "%s:%lu: ", p->name, p->line);
    va_start(ap, fmt);
    sk_vprintf(&k, fmt, ap);
    va_end(ap);
    return k;
}

/* "NAME:LINE: <what>, found <text>" for unparsed text. */
static int perr_found(parser_t *p, const char *what, const char *s, size_t n)
{
    sink_t k = perr_begin(p, "%s, found ", what);
    show_text(&k, s, n, 1);
    return -1;
}

static int parse_section(parser_t *p, const char *s, size_t n)
{
    const char *close = memchr(s, ']', n);
    if (!close)
        return perr_found(p, "unterminated '[': expected ']' at the end of the line", s, n);
    const char *rest = close + 1;
    size_t restn = n - (size_t)(rest - s);
    trim(&rest, &restn);
    if (restn > 0)
        return perr_found(p, "expected the end of the line after ']'", rest, restn);

    const char *name = s + 1;
    size_t namen = (size_t)(close - name);
    trim(&name, &namen);
    if (!valid_name(name, namen))
        return perr_found(p, "bad section name: expected [a-z0-9_.-]+", name, namen);

    char *copy = strndup(name, namen);
    cfg_section_t *sec = copy ? sec_get(p->cfg, copy) : NULL;
    free(copy);
    if (!sec) {
        perr_begin(p, "out of memory");
        return -1;
    }
    p->section = sec->name;
    return 0;
}

static int parse_pair(parser_t *p, const char *s, size_t n)
{
    const char *eq = memchr(s, '=', n);
    if (!eq)
        return perr_found(p, "expected 'key = value' or '[section]'", s, n);
    const char *key = s, *val = eq + 1;
    size_t keyn = (size_t)(eq - s), valn = n - keyn - 1;
    trim(&key, &keyn);
    trim(&val, &valn);
    if (keyn == 0) {
        perr_begin(p, "expected a key before '=', found nothing");
        return -1;
    }
    if (!valid_name(key, keyn))
        return perr_found(p, "bad key: expected [a-z0-9_.-]+", key, keyn);
    if (!p->section) {
        perr_begin(p, "expected a '[section]' line before the first key, found key '%.*s'",
                   (int)keyn, key);
        return -1;
    }

    char *k = strndup(key, keyn);
    char *where = NULL;
    if (asprintf(&where, "%s:%lu", p->name, p->line) < 0)
        where = NULL;
    int rc = -1;
    /* The section exists: sec_get cannot allocate here. */
    cfg_section_t *sec = sec_find(p->cfg, p->section);
    if (k)
        rc = ent_put(sec, k, strndup(val, valn), where, ++p->cfg->seq, 0);
    else
        free(where);
    free(k);
    if (rc < 0)
        perr_begin(p, "out of memory");
    return rc;
}

static int parse_line(parser_t *p, const char *s, size_t n)
{
    if (n > CFG_MAX_LINE) {
        perr_begin(p, "line too long: expected at most %d bytes, found %zu", CFG_MAX_LINE, n);
        return -1;
    }
    if (n > 0 && s[n - 1] == '\r') /* CRLF files from other systems */
        n--;
    const char *why = NULL;
    size_t bad = text_check(s, n, &why);
    if (bad < n) {
        perr_begin(p, "expected UTF-8 text, found %s (byte 0x%02x) at column %zu", why,
                   (unsigned char)s[bad], bad + 1);
        return -1;
    }
    trim(&s, &n);
    if (n == 0 || s[0] == '#' || s[0] == ';')
        return 0;
    if (s[0] == '[')
        return parse_section(p, s, n);
    return parse_pair(p, s, n);
}

int rz__config_parse_buffer(rz_config_t *cfg, const char *name, const char *buf, size_t len,
                            char *err, size_t errlen)
{
    parser_t p = {.cfg = cfg, .name = name ? name : "(buffer)", .err = err, .errlen = errlen};
    if (!cfg)
        return seterr(err, errlen, "%s: no configuration to parse into", p.name);
    const char *s = buf ? buf : "", *end = s + (buf ? len : 0);
    /* Windows editors put a byte-order mark first; it is not part of a key. */
    if (end - s >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
        s += 3;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *eol = nl ? nl : end;
        p.line++;
        if (parse_line(&p, s, (size_t)(eol - s)) < 0)
            return -1;
        s = nl ? nl + 1 : end;
    }
    return 0;
}

/* ---- environment ----------------------------------------------------------- */

/* Length of sec's environment spelling when `rest` starts with it followed by
 * "_" and at least one more character; else 0. */
static size_t env_match(const char *sec, const char *rest, size_t restn)
{
    size_t i;
    for (i = 0; sec[i]; i++)
        if (i >= restn || rest[i] != env_char(sec[i]))
            return 0;
    return i + 1 < restn && rest[i] == '_' ? i : 0;
}

/* Offers one candidate section to the longest-match search.  Two different
 * names with the same spelling ("a.b" and "a-b") make the match ambiguous. */
static void env_consider(const char *sec, const char *rest, size_t restn, const char **best,
                         size_t *bestn, const char **other)
{
    size_t m = env_match(sec, rest, restn);
    if (m == 0 || m < *bestn)
        return;
    if (m == *bestn && *best && strcmp(*best, sec) != 0) {
        *other = sec;
        return;
    }
    if (m > *bestn)
        *other = NULL;
    *best = sec;
    *bestn = m;
}

static void sk_env_name(sink_t *k, const char *name)
{
    for (; *name; name++) {
        char c = env_char(*name);
        sk_write(k, &c, 1);
    }
}

static int env_err_nosection(const rz_config_t *cfg, const char *name, size_t namen, char *err,
                             size_t errlen)
{
    sink_t k = err_sink(err, errlen);
    sk_printf(&k, "env %.*s: expected RENTEZY_<SECTION>_<KEY> with a known section (", (int)namen,
              name);
    for (size_t i = 0; host_sections[i]; i++) {
        sk_puts(&k, i ? ", " : "");
        sk_env_name(&k, host_sections[i]);
    }
    for (size_t i = 0; i < cfg->n; i++) {
        int fixed = 0;
        for (size_t j = 0; host_sections[j]; j++)
            fixed |= strcmp(host_sections[j], cfg->secs[i].name) == 0;
        if (fixed)
            continue;
        sk_puts(&k, ", ");
        sk_env_name(&k, cfg->secs[i].name);
    }
    sk_printf(&k, "), found '%.*s'", (int)namen - 8, name + 8);
    return -1;
}

/* The key an environment variable sets: an existing key of the section
 * with the same spelling (so RENTEZY_X_MAX_ITEMS reaches "max-items"), else
 * the lower-cased rest of the name. */
static char *env_key(const cfg_section_t *s, const char *rest, size_t n)
{
    for (size_t i = 0; s && i < s->n; i++) {
        const char *k = s->ents[i].key;
        size_t j = 0;
        while (j < n && k[j] && env_char(k[j]) == rest[j])
            j++;
        if (j == n && !k[j])
            return strdup(k);
    }
    char *key = strndup(rest, n);
    for (size_t j = 0; key && j < n; j++)
        if (key[j] >= 'A' && key[j] <= 'Z')
            key[j] = (char)(key[j] - 'A' + 'a');
    return key;
}

static int apply_one_env(rz_config_t *cfg, const char *var, char *err, size_t errlen)
{
    const char *eq = strchr(var, '=');
    size_t namen = (size_t)(eq - var);
    const char *rest = var + 8, *value = eq + 1;
    size_t restn = namen - 8;

    const char *best = NULL, *other = NULL;
    size_t bestn = 0;
    for (size_t i = 0; host_sections[i]; i++)
        env_consider(host_sections[i], rest, restn, &best, &bestn, &other);
    for (size_t i = 0; i < cfg->n; i++)
        env_consider(cfg->secs[i].name, rest, restn, &best, &bestn, &other);
    if (!best)
        return env_err_nosection(cfg, var, namen, err, errlen);
    if (other)
        return seterr(err, errlen,
                      "env %.*s: expected a name that matches one section, found one that "
                      "matches both [%s] and [%s]",
                      (int)namen, var, best, other);

    const char *kp = rest + bestn + 1;
    size_t kn = restn - bestn - 1;
    for (size_t i = 0; i < kn; i++) {
        char c = kp[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return seterr(err, errlen,
                          "env %.*s: bad key: expected [A-Z0-9_]+ after RENTEZY_%.*s_, "
                          "found '%.*s'",
                          (int)namen, var, (int)bestn, rest, (int)kn, kp);
    }
    const char *why = NULL;
    size_t vn = strlen(value), bad = text_check(value, vn, &why);
    if (bad < vn)
        return seterr(err, errlen,
                      "env %.*s: expected UTF-8 text on one line, found %s at "
                      "byte %zu of the value",
                      (int)namen, var, why, bad + 1);

    cfg_section_t *s = sec_get(cfg, best);
    char *key = s ? env_key(s, kp, kn) : NULL;
    char *where = NULL;
    if (asprintf(&where, "env %.*s", (int)namen, var) < 0)
        where = NULL;
    /* Applying the same environment twice changes nothing, not even the order
     * that decides between "key" and "key_file". */
    const cfg_entry_t *cur = key && where ? ent_find(s, key) : NULL;
    if (cur && strcmp(cur->where, where) == 0 && strcmp(cur->value, value) == 0) {
        free(key);
        free(where);
        return 0;
    }
    int rc = -1;
    if (key)
        rc = ent_put(s, key, strdup(value), where, ++cfg->seq, 0);
    else
        free(where);
    free(key);
    if (rc < 0)
        return seterr(err, errlen, "env %.*s: out of memory", (int)namen, var);
    return 0;
}

int rz__config_apply_env(rz_config_t *cfg, char *const *envp, char *err, size_t errlen)
{
    if (!cfg)
        return seterr(err, errlen, "environment: no configuration to apply it to");
    for (size_t i = 0; envp && envp[i]; i++) {
        const char *var = envp[i], *eq = strchr(var, '=');
        if (strncmp(var, "RENTEZY_", 8) != 0 || !eq)
            continue;
        /* Read by main to find the directory, not a setting. */
        if ((size_t)(eq - var) == 18 && strncmp(var, "RENTEZY_CONFIG_DIR", 18) == 0)
            continue;
        if (apply_one_env(cfg, var, err, errlen) < 0)
            return -1;
    }
    return 0;
}

/* ---- secret files ---------------------------------------------------------- */

/* Reads all of fd into a NUL-terminated heap buffer.  0; -1 with errno set;
 * -2 when it holds more than max bytes. */
static int read_all(int fd, size_t max, char **out, size_t *outlen)
{
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap + 1);
    if (!buf)
        return -1;
    for (;;) {
        if (len == cap) {
            char *nb = realloc(buf, cap * 2 + 1);
            if (!nb)
                goto fail;
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            goto fail;
        if (r == 0)
            break;
        len += (size_t)r;
        if (len > max) {
            explicit_bzero(buf, len);
            free(buf);
            return -2;
        }
    }
    buf[len] = '\0';
    *out = buf;
    *outlen = len;
    return 0;
fail:;
    int saved = errno;
    explicit_bzero(buf, len);
    free(buf);
    errno = saved;
    return -1;
}

/* Reads the secret named by entry e (of section sec) into *out. */
static int read_secret(const char *sec, const cfg_entry_t *e, char **out, char *err, size_t errlen)
{
    const char *path = e->value;
    char *buf = NULL;
    size_t len = 0;
    struct stat st;
    int rc;
    /* O_NONBLOCK: opening a FIFO must not hang the daemon's start. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        goto fail_errno;
    if (fstat(fd, &st) < 0)
        goto fail_errno;
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return seterr(err, errlen,
                      "%s: [%s] %s: expected '%s' to be a regular file, found another kind of "
                      "file",
                      e->where, sec, e->key, path);
    }
    rc = read_all(fd, CFG_MAX_SECRET, &buf, &len);
    if (rc == -1)
        goto fail_errno;
    close(fd);
    if (rc == -2)
        return seterr(err, errlen,
                      "%s: [%s] %s: expected '%s' to hold at most %u bytes, found more", e->where,
                      sec, e->key, path, CFG_MAX_SECRET);
    if (memchr(buf, '\0', len)) {
        explicit_bzero(buf, len);
        free(buf);
        return seterr(err, errlen, "%s: [%s] %s: expected text in '%s', found a NUL byte", e->where,
                      sec, e->key, path);
    }
    /* "echo secret > file" adds a newline nobody means as part of the secret. */
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        buf[--len] = '\0';
    *out = buf;
    return 0;
fail_errno:;
    int saved = errno;
    if (fd >= 0)
        close(fd);
    return seterr(err, errlen, "%s: [%s] %s: cannot read '%s': %s", e->where, sec, e->key, path,
                  strerror(saved));
}

/* Resolves s->ents[i], a "*_file" key.  Returns 0, -1 on error, or 1 when it
 * removed an entry (so the caller's indexes moved). */
static int resolve_one(cfg_section_t *s, size_t i, char *err, size_t errlen)
{
    const cfg_entry_t *e = &s->ents[i];
    char *base = strndup(e->key, strlen(e->key) - 5);
    if (!base)
        return seterr(err, errlen, "%s: [%s] %s: out of memory", e->where, s->name, e->key);
    cfg_entry_t *d = ent_find(s, base);
    int rc = 0;
    /* Already read for this very setting, or the plain key was set after
     * the _file key (a later file, the environment): the later one wins. */
    if (d && (d->from_file ? d->seq == e->seq : d->seq > e->seq))
        goto out;
    if (e->value[0] == '\0') {
        /* "key_file =" names no file: it withdraws an earlier secret. */
        if (d && d->from_file) {
            ent_remove(s, (size_t)(d - s->ents));
            rc = 1;
        }
        goto out;
    }
    char *value = NULL;
    if (read_secret(s->name, e, &value, err, errlen) < 0) {
        rc = -1;
        goto out;
    }
    uint64_t seq = e->seq;
    char *where = strdup(e->where);
    if (ent_put(s, base, value, where, seq, 1) < 0) /* e is invalid from here */
        rc = seterr(err, errlen, "[%s] %s_file: out of memory", s->name, base);
out:
    free(base);
    return rc;
}

int rz__config_resolve_secrets(rz_config_t *cfg, char *err, size_t errlen)
{
    if (!cfg)
        return seterr(err, errlen, "secrets: no configuration");
    for (size_t si = 0; si < cfg->n; si++) {
        cfg_section_t *s = &cfg->secs[si];
        for (size_t i = 0; i < s->n;) {
            const cfg_entry_t *e = &s->ents[i];
            /* A value read from a file is never itself taken as a path. */
            if (e->from_file || strlen(e->key) <= 5 || !ends_with(e->key, "_file")) {
                i++;
                continue;
            }
            int rc = resolve_one(s, i, err, errlen);
            if (rc < 0)
                return -1;
            /* When entries moved, start the section again: what is done is
             * skipped quickly, as resolving is idempotent. */
            i = rc > 0 ? 0 : i + 1;
        }
    }
    return 0;
}

/* ---- loading a directory ------------------------------------------------- */

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* The *.conf regular files of dir, sorted.  Hidden files are skipped: editors
 * leave ".#00-host.conf" lock files behind. */
static int list_conf(const char *dir, char ***out, size_t *outn, char *err, size_t errlen)
{
    char **names = NULL;
    size_t n = 0, cap = 0;
    DIR *d = opendir(dir);
    if (!d)
        return seterr(err, errlen, "%s: cannot open the configuration directory: %s", dir,
                      strerror(errno));
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de) {
            if (errno) {
                seterr(err, errlen, "%s: cannot read the directory: %s", dir, strerror(errno));
                goto fail;
            }
            break;
        }
        const char *nm = de->d_name;
        size_t len = strlen(nm);
        if (nm[0] == '.' || len <= 5 || strcmp(nm + len - 5, ".conf") != 0)
            continue;
        struct stat st;
        if (fstatat(dirfd(d), nm, &st, 0) < 0) {
            seterr(err, errlen, "%s/%s: cannot read: %s", dir, nm, strerror(errno));
            goto fail;
        }
        if (!S_ISREG(st.st_mode))
            continue;
        char *copy = strdup(nm);
        if (!copy || grow((void **)&names, &cap, n, sizeof *names) < 0) {
            free(copy);
            seterr(err, errlen, "%s: out of memory", dir);
            goto fail;
        }
        names[n++] = copy;
    }
    closedir(d);
    if (n > 1)
        qsort(names, n, sizeof *names, name_cmp);
    *out = names;
    *outn = n;
    return 0;
fail:
    closedir(d);
    free_names(names, n);
    return -1;
}

static int load_file(rz_config_t *cfg, const char *path, char *err, size_t errlen)
{
    char *buf = NULL;
    size_t len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return seterr(err, errlen, "%s: cannot read: %s", path, strerror(errno));
    int rc = read_all(fd, CFG_MAX_FILE, &buf, &len);
    int saved = errno;
    close(fd);
    if (rc == -1)
        return seterr(err, errlen, "%s: cannot read: %s", path, strerror(saved));
    if (rc == -2)
        return seterr(err, errlen, "%s: expected at most %u bytes, found a bigger file", path,
                      CFG_MAX_FILE);
    rc = rz__config_parse_buffer(cfg, path, buf, len, err, errlen);
    explicit_bzero(buf, len); /* a config file may hold a secret inline */
    free(buf);
    return rc;
}

rz_config_t *rz__config_load_env(const char *dir, char *const *envp, char *err, size_t errlen)
{
    char **names = NULL, *path = NULL;
    size_t n = 0;
    rz_config_t *cfg = rz__config_new();
    if (!cfg) {
        seterr(err, errlen, "%s: out of memory", dir);
        return NULL;
    }
    if (list_conf(dir, &names, &n, err, errlen) < 0)
        goto fail;
    size_t dlen = strlen(dir);
    const char *slash = dlen > 0 && dir[dlen - 1] == '/' ? "" : "/";
    for (size_t i = 0; i < n; i++) {
        if (asprintf(&path, "%s%s%s", dir, slash, names[i]) < 0) {
            path = NULL;
            seterr(err, errlen, "%s: out of memory", dir);
            goto fail;
        }
        if (load_file(cfg, path, err, errlen) < 0)
            goto fail;
        free(path);
        path = NULL;
    }
    /* Environment before secrets, so RENTEZY_..._FILE can point elsewhere. */
    if (rz__config_apply_env(cfg, envp, err, errlen) < 0 ||
        rz__config_resolve_secrets(cfg, err, errlen) < 0)
        goto fail;
    free_names(names, n);
    return cfg;
fail:
    free(path);
    free_names(names, n);
    rz__config_free(cfg);
    return NULL;
}

rz_config_t *rz__config_load(const char *dir, char *err, size_t errlen)
{
    return rz__config_load_env(dir, environ, err, errlen);
}

/* ---- lookups -------------------------------------------------------------- */

const char *rz__config_get(const rz_config_t *cfg, const char *section, const char *key,
                           const char **where)
{
    const cfg_entry_t *e = lookup(cfg, section, key);
    if (where)
        *where = e ? e->where : NULL;
    return e ? e->value : NULL;
}

void rz__config_each_section(const rz_config_t *cfg, void (*fn)(const char *section, void *u),
                             void *u)
{
    for (size_t i = 0; cfg && i < cfg->n; i++)
        fn(cfg->secs[i].name, u);
}

void rz__config_each_key(const rz_config_t *cfg, const char *section,
                         void (*fn)(const char *key, const char *value, const char *where, void *u),
                         void *u)
{
    const cfg_section_t *s = cfg && section ? sec_find(cfg, section) : NULL;
    for (size_t i = 0; s && i < s->n; i++)
        fn(s->ents[i].key, s->ents[i].value, s->ents[i].where, u);
}

/* ---- value parsers --------------------------------------------------------- */

enum { PV_OK = 0, PV_SYNTAX = -1, PV_RANGE = -2, PV_NEGATIVE = -3 };

/* Parses [0-9]+ at *sp, advancing it past every digit.  PV_RANGE when the
 * number exceeds max (the digits are still consumed, so the caller can tell
 * "too big" from "junk after"). */
static int parse_digits(const char **sp, uint64_t max, uint64_t *out)
{
    const char *s = *sp;
    uint64_t v = 0;
    int range = 0;
    if (*s < '0' || *s > '9')
        return PV_SYNTAX;
    for (; *s >= '0' && *s <= '9'; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (range || v > (max - d) / 10)
            range = 1;
        else
            v = v * 10 + d;
    }
    *sp = s;
    *out = v;
    return range ? PV_RANGE : PV_OK;
}

static int parse_int(const char *s, int64_t *out)
{
    int neg = *s == '-';
    uint64_t v;
    if (*s == '-' || *s == '+')
        s++;
    int rc = parse_digits(&s, neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, &v);
    if (rc == PV_SYNTAX || *s)
        return PV_SYNTAX;
    if (rc != PV_OK)
        return rc;
    /* -(INT64_MAX + 1) does not fit before negation: spell it out. */
    *out = !neg ? (int64_t)v : v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    return PV_OK;
}

typedef struct unit {
    const char *name;
    uint64_t mult;
} unit_t;

/* A number, optional blanks, then one of units; the result is number * mult
 * and must not exceed max. */
static int parse_scaled(const char *s, const unit_t *units, uint64_t max, uint64_t *out)
{
    uint64_t v;
    if (*s == '-') {
        /* Say "negative" only for what would otherwise be a valid value. */
        int rc = parse_scaled(s + 1, units, max, &v);
        return rc == PV_OK || rc == PV_RANGE ? PV_NEGATIVE : PV_SYNTAX;
    }
    int rc = parse_digits(&s, UINT64_MAX, &v);
    if (rc == PV_SYNTAX)
        return rc;
    /* "5 s" reads well; a blank with no unit after it is a typo. */
    const char *blank = s;
    while (is_ws(*s))
        s++;
    if (s != blank && !*s)
        return PV_SYNTAX;
    for (size_t i = 0; units[i].name; i++) {
        if (strcmp(s, units[i].name) != 0)
            continue;
        if (rc == PV_RANGE || v > max / units[i].mult)
            return PV_RANGE;
        *out = v * units[i].mult;
        return PV_OK;
    }
    return PV_SYNTAX;
}

static const unit_t duration_units[] = {
    {"", 1000}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}, {NULL, 0},
};

static const unit_t size_units[] = {
    {"", 1},           {"B", 1},           {"k", 1000},         {"kB", 1000},
    {"KiB", 1024},     {"M", 1000000},     {"MB", 1000000},     {"MiB", 1048576},
    {"G", 1000000000}, {"GB", 1000000000}, {"GiB", 1073741824}, {NULL, 0},
};

static int parse_duration(const char *s, int64_t *out)
{
    uint64_t v;
    int rc = parse_scaled(s, duration_units, INT64_MAX, &v);
    if (rc == PV_OK)
        *out = (int64_t)v;
    return rc;
}

static int parse_bool(const char *s, int *out)
{
    static const struct {
        const char *name;
        int value;
    } words[] = {
        {"true", 1}, {"yes", 1}, {"on", 1}, {"1", 1}, {"false", 0}, {"no", 0}, {"off", 0}, {"0", 0},
    };
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strcasecmp(s, words[i].name) == 0) {
            *out = words[i].value;
            return PV_OK;
        }
    return PV_SYNTAX;
}

int rz__parse_bool(const char *s, int *out)
{
    return s && out && parse_bool(s, out) == PV_OK ? 0 : -1;
}

int rz__parse_int(const char *s, int64_t *out)
{
    return s && out && parse_int(s, out) == PV_OK ? 0 : -1;
}

int rz__parse_duration_ms(const char *s, int64_t *out)
{
    return s && out && parse_duration(s, out) == PV_OK ? 0 : -1;
}

int rz__parse_size(const char *s, uint64_t *out)
{
    return s && out && parse_scaled(s, size_units, UINT64_MAX, out) == PV_OK ? 0 : -1;
}

/* ---- typed getters --------------------------------------------------------- */

/* "WHERE: [section] key: EXPECTED, found VALUE" — the value redacted as
 * --print-config would show it. */
static int bad_value(const cfg_entry_t *e, const char *section, const char *expected, char *err,
                     size_t errlen)
{
    sink_t k = err_sink(err, errlen);
    sk_printf(&k, "%s: [%s] %s: %s, found ", e->where, section, e->key, expected);
    show_value(&k, e);
    return -1;
}

/* The entry to parse, or NULL when the default applies: the key is absent,
 * or set to nothing, which is how a later file or a variable restores the
 * default. */
static const cfg_entry_t *typed_lookup(const rz_config_t *cfg, const char *section, const char *key)
{
    const cfg_entry_t *e = lookup(cfg, section, key);
    return e && e->value[0] ? e : NULL;
}

int rz__config_string(const rz_config_t *cfg, const char *section, const char *key, const char *def,
                      const char **out, char *err, size_t errlen)
{
    const cfg_entry_t *e = typed_lookup(cfg, section, key);
    *out = e ? e->value : def;
    return 0;
}

int rz__config_int(const rz_config_t *cfg, const char *section, const char *key, int64_t def,
                   int64_t *out, char *err, size_t errlen)
{
    const cfg_entry_t *e = typed_lookup(cfg, section, key);
    *out = def;
    if (!e)
        return 0;
    switch (parse_int(e->value, out)) {
    case PV_OK:
        return 0;
    case PV_RANGE:
        return bad_value(e, section,
                         "expected an integer from -9223372036854775808 to 9223372036854775807",
                         err, errlen);
    default:
        return bad_value(e, section, "expected an integer", err, errlen);
    }
}

int rz__config_bool(const rz_config_t *cfg, const char *section, const char *key, int def, int *out,
                    char *err, size_t errlen)
{
    const cfg_entry_t *e = typed_lookup(cfg, section, key);
    *out = def;
    if (!e || parse_bool(e->value, out) == PV_OK)
        return 0;
    return bad_value(e, section, "expected true/false, yes/no, on/off or 1/0", err, errlen);
}

int rz__config_duration_ms(const rz_config_t *cfg, const char *section, const char *key,
                           int64_t def, int64_t *out, char *err, size_t errlen)
{
    const cfg_entry_t *e = typed_lookup(cfg, section, key);
    *out = def;
    if (!e)
        return 0;
    switch (parse_duration(e->value, out)) {
    case PV_OK:
        return 0;
    case PV_NEGATIVE:
        return bad_value(e, section, "expected a duration of zero or more", err, errlen);
    case PV_RANGE:
        return bad_value(e, section, "expected a duration of at most 9223372036854775807ms", err,
                         errlen);
    default:
        return bad_value(e, section,
                         "expected a duration: a whole number with unit ms, s, m, h or d "
                         "(seconds when none)",
                         err, errlen);
    }
}

int rz__config_size(const rz_config_t *cfg, const char *section, const char *key, uint64_t def,
                    uint64_t *out, char *err, size_t errlen)
{
    const cfg_entry_t *e = typed_lookup(cfg, section, key);
    *out = def;
    if (!e)
        return 0;
    switch (parse_scaled(e->value, size_units, UINT64_MAX, out)) {
    case PV_OK:
        return 0;
    case PV_NEGATIVE:
        return bad_value(e, section, "expected a size of zero or more", err, errlen);
    case PV_RANGE:
        return bad_value(e, section, "expected a size of at most 18446744073709551615 bytes", err,
                         errlen);
    default:
        return bad_value(e, section,
                         "expected a size: a whole number with unit B, k, kB, KiB, M, MB, MiB, "
                         "G, GB or GiB (bytes when none)",
                         err, errlen);
    }
}

static int is_list_sep(char c)
{
    return is_ws(c) || c == ',';
}

/* Splits e->value into e->items: one allocation, the pointer array followed
 * by a copy of the value with separators turned into NULs. */
static int build_items(cfg_entry_t *e)
{
    const char *v = e->value;
    size_t n = 0, len = strlen(v);
    for (size_t i = 0; i < len; i++)
        if (!is_list_sep(v[i]) && (i == 0 || is_list_sep(v[i - 1])))
            n++;
    char **items = malloc((n + 1) * sizeof *items + len + 1);
    if (!items)
        return -1;
    char *text = (char *)(items + n + 1);
    memcpy(text, v, len + 1);
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        if (is_list_sep(text[i]))
            text[i] = '\0';
        else if (i == 0 || text[i - 1] == '\0')
            items[k++] = text + i;
    }
    items[k] = NULL;
    e->items = items;
    e->nitems = n;
    return 0;
}

int rz__config_list(const rz_config_t *cfg, const char *section, const char *key,
                    const char *const **items, size_t *n, char *err, size_t errlen)
{
    static const char *const none[] = {NULL};
    const cfg_entry_t *ce = lookup(cfg, section, key);
    *items = none;
    if (n)
        *n = 0;
    if (!ce)
        return 0;
    /* The cache is written through a const config: it is a pure function of
     * the value, and a config is used from one thread only (each worker is a
     * process), so callers may treat the config as read-only. */
    cfg_entry_t *e = (cfg_entry_t *)ce;
    if (!e->items && build_items(e) < 0)
        return seterr(err, errlen, "%s: [%s] %s: out of memory", e->where, section, key);
    *items = (const char *const *)e->items;
    if (n)
        *n = e->nitems;
    return 0;
}

/* ---- checks and printing --------------------------------------------------- */

/* "key_file" is known whenever "key" is: any key may come from a file. */
static int key_known(const char *key, const char *const *known)
{
    size_t klen = strlen(key);
    size_t base = klen > 5 && ends_with(key, "_file") ? klen - 5 : klen;
    for (size_t i = 0; known && known[i]; i++) {
        if (strcmp(known[i], key) == 0)
            return 1;
        if (base < klen && strncmp(known[i], key, base) == 0 && known[i][base] == '\0')
            return 1;
    }
    return 0;
}

int rz__config_check_keys(const rz_config_t *cfg, const char *section, const char *const *known,
                          char *err, size_t errlen)
{
    const cfg_section_t *s = cfg && section ? sec_find(cfg, section) : NULL;
    for (size_t i = 0; s && i < s->n; i++) {
        const cfg_entry_t *e = &s->ents[i];
        /* A value read from a file is judged by its "_file" key. */
        if (e->from_file || key_known(e->key, known))
            continue;
        sink_t k = err_sink(err, errlen);
        sk_printf(&k, "%s: [%s] unknown key '%s' (known: ", e->where, section, e->key);
        for (size_t j = 0; known && known[j]; j++)
            sk_printf(&k, "%s%s", j ? ", " : "", known[j]);
        sk_puts(&k, known && known[0] ? ")" : "none)");
        return -1;
    }
    return 0;
}

void rz__config_print(const rz_config_t *cfg, FILE *out)
{
    sink_t k = {.f = out};
    for (size_t i = 0; cfg && i < cfg->n; i++) {
        const cfg_section_t *s = &cfg->secs[i];
        fprintf(out, "%s[%s]\n", i ? "\n" : "", s->name);
        for (size_t j = 0; j < s->n; j++) {
            const cfg_entry_t *e = &s->ents[j];
            fprintf(out, "# from %s\n%s = ", e->where, e->key);
            if (e->value[0] && entry_is_secret(e))
                fputs("<redacted>", out);
            else
                redact_urls(&k, e->value);
            fputc('\n', out);
        }
    }
}
