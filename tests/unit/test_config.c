/*
 * test_config.c — the configuration module: drop-in files, errors with
 * file:line, RENTEZY_* overrides, secret files, redaction, typed getters.
 *
 * Every test gets a fresh directory from mkdtemp (removed afterwards) and
 * passes its own environment array, so the real environment never leaks in.
 */
#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

static char dir[64];
static char err[2048];
static char *no_env[] = {NULL};

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void setup(void)
{
    strcpy(dir, "/tmp/rz-config-test.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    err[0] = '\0';
}

static void teardown(void)
{
    nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* Writes dir/name with len bytes of data; returns the full path, valid until
 * the next call. */
static const char *put_bytes(const char *name, const char *data, size_t len)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
    return path;
}

static const char *put(const char *name, const char *text)
{
    return put_bytes(name, text, strlen(text));
}

static rz_config_t *load(void)
{
    return rz__config_load_env(dir, no_env, err, sizeof err);
}

/* Parses text as "t.conf"; the test fails if it does not parse. */
static rz_config_t *parse(const char *text)
{
    rz_config_t *cfg = rz__config_new();
    ck_assert_ptr_nonnull(cfg);
    int rc = rz__config_parse_buffer(cfg, "t.conf", text, strlen(text), err, sizeof err);
    ck_assert_msg(rc == 0, "parse failed: %s", err);
    return cfg;
}

/* Parses len bytes as "t.conf", expecting an error; the message is in err. */
static void parse_fails_n(const char *text, size_t len)
{
    rz_config_t *cfg = rz__config_new();
    ck_assert_ptr_nonnull(cfg);
    ck_assert_int_eq(rz__config_parse_buffer(cfg, "t.conf", text, len, err, sizeof err), -1);
    rz__config_free(cfg);
}

static void parse_fails(const char *text)
{
    parse_fails_n(text, strlen(text));
}

/* rz__config_print into a heap string the caller frees. */
static char *printed(const rz_config_t *cfg)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(f);
    rz__config_print(cfg, f);
    ck_assert_int_eq(fclose(f), 0);
    return buf;
}

/* The test fails unless err starts with prefix. */
#define ck_assert_err_starts(prefix)                                                               \
    ck_assert_msg(strncmp(err, prefix, strlen(prefix)) == 0, "'%s' does not start with '%s'", err, \
                  prefix)

static const char *get(const rz_config_t *cfg, const char *section, const char *key)
{
    return rz__config_get(cfg, section, key, NULL);
}

/* ---- files ---------------------------------------------------------------- */

START_TEST(test_parses_sections_and_keys)
{
    rz_config_t *cfg = parse("[host]\nworkers = 4\n[http]\nmax_body_size = 1MiB\n");
    ck_assert_str_eq(get(cfg, "host", "workers"), "4");
    ck_assert_str_eq(get(cfg, "http", "max_body_size"), "1MiB");
    ck_assert_ptr_null(get(cfg, "http", "workers"));
    ck_assert_ptr_null(get(cfg, "nope", "workers"));
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_trims_whitespace_around_key_and_value)
{
    rz_config_t *cfg = parse("  [ host ]  \n\t workers \t=\t 4  \nplugins=a b\n");
    ck_assert_str_eq(get(cfg, "host", "workers"), "4");
    ck_assert_str_eq(get(cfg, "host", "plugins"), "a b");
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_skips_comments_and_blank_lines)
{
    rz_config_t *cfg = parse("# comment\n; other comment\n\n   \n[host]\n  # indented\n"
                             "\t; indented\nworkers = 2\n");
    ck_assert_str_eq(get(cfg, "host", "workers"), "2");
    char *out = printed(cfg);
    ck_assert_str_eq(out, "[host]\n# from t.conf:8\nworkers = 2\n");
    free(out);
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_value_may_be_empty)
{
    rz_config_t *cfg = parse("[host]\nplugins =\nlisten =   \n");
    ck_assert_str_eq(get(cfg, "host", "plugins"), "");
    ck_assert_str_eq(get(cfg, "host", "listen"), "");
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_value_keeps_hash_semicolon_and_equals)
{
    rz_config_t *cfg = parse("[database]\nurl = host=db # not a comment ; nor this\n");
    ck_assert_str_eq(get(cfg, "database", "url"), "host=db # not a comment ; nor this");
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_last_line_without_newline_is_read)
{
    rz_config_t *cfg = parse("[host]\nworkers = 4");
    ck_assert_str_eq(get(cfg, "host", "workers"), "4");
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_crlf_line_endings_accepted)
{
    rz_config_t *cfg = parse("[host]\r\nworkers = 4\r\n\r\n");
    ck_assert_str_eq(get(cfg, "host", "workers"), "4");
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_utf8_byte_order_mark_skipped)
{
    rz_config_t *cfg = parse("\xef\xbb\xbf[host]\nworkers = 4\n");
    ck_assert_str_eq(get(cfg, "host", "workers"), "4");
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_utf8_values_accepted)
{
    rz_config_t *cfg =
        parse("[plugin.notify]\nsender = Ren\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8f\xa0\n");
    ck_assert_str_eq(get(cfg, "plugin.notify", "sender"),
                     "Ren\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8f\xa0");
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_later_line_overrides_earlier)
{
    rz_config_t *cfg = parse("[host]\nworkers = 4\n[http]\n[host]\nworkers = 8\n");
    const char *where;
    ck_assert_str_eq(rz__config_get(cfg, "host", "workers", &where), "8");
    ck_assert_str_eq(where, "t.conf:5");
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_later_file_overrides_earlier)
{
    put("00-host.conf", "[host]\nworkers = 4\nlisten = 127.0.0.1:8080\n");
    put("50-roles.conf", "[host]\nworkers = 2\n");
    rz_config_t *cfg = load();
    ck_assert_msg(cfg != NULL, "%s", err);
    const char *where;
    char want[256];
    ck_assert_str_eq(rz__config_get(cfg, "host", "workers", &where), "2");
    snprintf(want, sizeof want, "%s/50-roles.conf:2", dir);
    ck_assert_str_eq(where, want);
    ck_assert_str_eq(get(cfg, "host", "listen"), "127.0.0.1:8080");
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_files_read_in_lexical_order)
{
    /* strcmp order: "10-b.conf" < "9-a.conf", so 9-a.conf is read last. */
    put("9-a.conf", "[host]\nworkers = nine\n");
    put("10-b.conf", "[host]\nworkers = ten\n");
    rz_config_t *cfg = load();
    ck_assert_msg(cfg != NULL, "%s", err);
    ck_assert_str_eq(get(cfg, "host", "workers"), "nine");
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_files_other_than_conf_are_ignored)
{
    char sub[128];
    put("00-host.conf", "[host]\nworkers = 4\n");
    put("README", "not a config file\n");
    put("10-host.conf.bak", "garbage\n");
    put(".#10-host.conf", "garbage\n");
    put(".conf", "garbage\n");
    snprintf(sub, sizeof sub, "%s/20-dir.conf", dir);
    ck_assert_int_eq(mkdir(sub, 0700), 0);
    rz_config_t *cfg = load();
    ck_assert_msg(cfg != NULL, "%s", err);
    ck_assert_str_eq(get(cfg, "host", "workers"), "4");
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_empty_directory_gives_empty_config)
{
    rz_config_t *cfg = load();
    ck_assert_msg(cfg != NULL, "%s", err);
    ck_assert_ptr_null(get(cfg, "host", "workers"));
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_directory_with_trailing_slash)
{
    char d[128], want[256];
    put("00-host.conf", "[host]\nworkers = 4\n");
    snprintf(d, sizeof d, "%s/", dir);
    rz_config_t *cfg = rz__config_load_env(d, no_env, err, sizeof err);
    ck_assert_msg(cfg != NULL, "%s", err);
    const char *where;
    rz__config_get(cfg, "host", "workers", &where);
    snprintf(want, sizeof want, "%s/00-host.conf:2", dir);
    ck_assert_str_eq(where, want);
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_missing_directory_is_an_error_naming_it)
{
    char missing[128], want[256];
    snprintf(missing, sizeof missing, "%s/nope", dir);
    ck_assert_ptr_null(rz__config_load_env(missing, no_env, err, sizeof err));
    snprintf(want, sizeof want,
             "%s: cannot open the configuration directory: No such file or directory", missing);
    ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(test_where_names_file_and_line)
{
    rz_config_t *cfg = parse("[host]\n\n# c\nworkers = 4\n");
    const char *where = "x";
    rz__config_get(cfg, "host", "workers", &where);
    ck_assert_str_eq(where, "t.conf:4");
    ck_assert_ptr_null(rz__config_get(cfg, "host", "listen", &where));
    ck_assert_ptr_null(where);
    rz__config_free(cfg);
}
END_TEST

static void collect(const char *section, void *u)
{
    strcat(u, section);
    strcat(u, " ");
}

START_TEST(test_sections_in_first_seen_order)
{
    char seen[256] = "";
    rz_config_t *cfg = parse("[jobs]\n[host]\na = 1\n[jobs]\n[plugin.x]\n");
    rz__config_each_section(cfg, collect, seen);
    ck_assert_str_eq(seen, "jobs host plugin.x ");
    rz__config_free(cfg);
}
END_TEST

static void collect_key(const char *key, const char *value, const char *where, void *u)
{
    char *s = u;
    sprintf(s + strlen(s), "%s=%s@%s ", key, value, where);
}

START_TEST(test_each_key_in_first_seen_order)
{
    char seen[256] = "";
    rz_config_t *cfg = parse("[host]\nb = 1\na = 2\nb = 3\n");
    rz__config_each_key(cfg, "host", collect_key, seen);
    ck_assert_str_eq(seen, "b=3@t.conf:4 a=2@t.conf:3 ");
    rz__config_free(cfg);
}
END_TEST

/* ---- bad files ------------------------------------------------------------ */

START_TEST(test_error_line_without_equals_names_file_and_line)
{
    char want[256];
    put("00-host.conf", "[host]\nworkers = 4\n");
    put("10-db.conf", "[database]\n# c\n\n\n\n\nfoo\n");
    ck_assert_ptr_null(load());
    snprintf(want, sizeof want,
             "%s/10-db.conf:7: expected 'key = value' or '[section]', found 'foo'", dir);
    ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(test_error_key_before_any_section)
{
    parse_fails("# c\nworkers = 4\n");
    ck_assert_str_eq(err, "t.conf:2: expected a '[section]' line before the first key, found key "
                          "'workers'");
}
END_TEST

START_TEST(test_error_bad_section_name)
{
    parse_fails("[Host]\n");
    ck_assert_str_eq(err, "t.conf:1: bad section name: expected [a-z0-9_.-]+, found 'Host'");
}
END_TEST

START_TEST(test_error_empty_section_name)
{
    parse_fails("[host]\n[ ]\n");
    ck_assert_str_eq(err, "t.conf:2: bad section name: expected [a-z0-9_.-]+, found ''");
}
END_TEST

START_TEST(test_error_unterminated_section)
{
    parse_fails("[host\n");
    ck_assert_str_eq(err, "t.conf:1: unterminated '[': expected ']' at the end of the line, "
                          "found '[host'");
}
END_TEST

START_TEST(test_error_text_after_section)
{
    parse_fails("[host] x\n");
    ck_assert_str_eq(err, "t.conf:1: expected the end of the line after ']', found 'x'");
}
END_TEST

START_TEST(test_error_bad_key)
{
    parse_fails("[host]\nmax body = 1\n");
    ck_assert_str_eq(err, "t.conf:2: bad key: expected [a-z0-9_.-]+, found 'max body'");
}
END_TEST

START_TEST(test_error_missing_key)
{
    parse_fails("[host]\n = 1\n");
    ck_assert_str_eq(err, "t.conf:2: expected a key before '=', found nothing");
}
END_TEST

static char *line_of(size_t n, const char *prefix)
{
    char *s = malloc(n + 2);
    ck_assert_ptr_nonnull(s);
    memset(s, 'a', n);
    memcpy(s, prefix, strlen(prefix));
    s[n] = '\n';
    s[n + 1] = '\0';
    return s;
}

START_TEST(test_error_line_too_long)
{
    char *line = line_of(4097, "k = ");
    char *text = NULL;
    ck_assert_int_ge(asprintf(&text, "[host]\n%s", line), 0);
    parse_fails(text);
    ck_assert_str_eq(err, "t.conf:2: line too long: expected at most 4096 bytes, found 4097");
    free(text);
    free(line);
}
END_TEST

START_TEST(test_line_of_4096_bytes_accepted)
{
    char *line = line_of(4096, "k = ");
    char *text = NULL;
    ck_assert_int_ge(asprintf(&text, "[host]\n%s", line), 0);
    rz_config_t *cfg = parse(text);
    ck_assert_uint_eq(strlen(get(cfg, "host", "k")), 4092);
    rz__config_free(cfg);
    free(text);
    free(line);
}
END_TEST

START_TEST(test_error_nul_byte)
{
    static const char text[] = "[host]\nk = a\0b\n";
    parse_fails_n(text, sizeof text - 1);
    ck_assert_str_eq(err,
                     "t.conf:2: expected UTF-8 text, found a NUL byte (byte 0x00) at column 6");
}
END_TEST

START_TEST(test_error_invalid_utf8)
{
    parse_fails("[host]\nk = \xff\n");
    ck_assert_str_eq(err,
                     "t.conf:2: expected UTF-8 text, found invalid UTF-8 (byte 0xff) at column 5");
}
END_TEST

START_TEST(test_error_overlong_surrogate_and_truncated_utf8)
{
    parse_fails("[host]\nk = \xc0\xaf\n"); /* overlong "/" */
    ck_assert_str_eq(err,
                     "t.conf:2: expected UTF-8 text, found invalid UTF-8 (byte 0xc0) at column 5");
    parse_fails("[host]\nk = \xe0\x80\xaf\n"); /* overlong "/" in three bytes */
    ck_assert_str_eq(err,
                     "t.conf:2: expected UTF-8 text, found invalid UTF-8 (byte 0xe0) at column 5");
    parse_fails("[host]\nk = x\xed\xa0\x80\n"); /* U+D800 */
    ck_assert_str_eq(err,
                     "t.conf:2: expected UTF-8 text, found invalid UTF-8 (byte 0xed) at column 6");
    parse_fails("[host]\nk = \xe2\x82\n"); /* cut short by the newline */
    ck_assert_str_eq(err,
                     "t.conf:2: expected UTF-8 text, found invalid UTF-8 (byte 0xe2) at column 5");
    parse_fails("[host]\nk = \xf4\x90\x80\x80\n"); /* above U+10FFFF */
    ck_assert_str_eq(err,
                     "t.conf:2: expected UTF-8 text, found invalid UTF-8 (byte 0xf4) at column 5");
}
END_TEST

START_TEST(test_error_control_character)
{
    parse_fails("[host]\nk = \x1b[31m\n");
    ck_assert_str_eq(err, "t.conf:2: expected UTF-8 text, found a control character (byte 0x1b) at "
                          "column 5");
}
END_TEST

START_TEST(test_error_hides_a_line_that_may_hold_a_secret)
{
    parse_fails("[auth]\njwt_secret hunter2\n");
    ck_assert_str_eq(err, "t.conf:2: expected 'key = value' or '[section]', found 18 bytes "
                          "(not shown: they may hold a secret)");
    ck_assert_ptr_null(strstr(err, "hunter2"));
    parse_fails("[database]\nurl: postgresql://u:hunter2@h/db\n");
    ck_assert_ptr_null(strstr(err, "hunter2"));
}
END_TEST

START_TEST(test_error_quotes_at_most_64_bytes)
{
    char *line = line_of(100, "x"), want[256];
    parse_fails(line);
    snprintf(want, sizeof want, "t.conf:1: expected 'key = value' or '[section]', found '%.64s...'",
             line);
    ck_assert_str_eq(err, want);
    free(line);
}
END_TEST

START_TEST(test_error_quote_is_cut_on_a_character_boundary)
{
    int64_t v;
    char text[256], want[256];
    /* 63 ASCII bytes, then a two-byte character that would straddle byte 64. */
    snprintf(text, sizeof text, "[host]\nworkers = %.63s\xc3\xa9tail\n",
             "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    rz_config_t *cfg = parse(text);
    ck_assert_int_eq(rz__config_int(cfg, "host", "workers", 1, &v, err, sizeof err), -1);
    snprintf(want, sizeof want, "t.conf:2: [host] workers: expected an integer, found '%.63s...'",
             get(cfg, "host", "workers"));
    ck_assert_str_eq(err, want);
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_error_dangling_conf_symlink_names_it)
{
    char link[256], want[512];
    snprintf(link, sizeof link, "%s/50-gone.conf", dir);
    ck_assert_int_eq(symlink("/nonexistent/rentezy.conf", link), 0);
    ck_assert_ptr_null(load());
    snprintf(want, sizeof want, "%s: cannot read: No such file or directory", link);
    ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(test_error_file_larger_than_1_mib)
{
    char want[512];
    size_t n = (1u << 20) + 1;
    char *big = malloc(n);
    ck_assert_ptr_nonnull(big);
    memset(big, '\n', n);
    put_bytes("00-big.conf", big, n);
    free(big);
    ck_assert_ptr_null(load());
    snprintf(want, sizeof want,
             "%s/00-big.conf: expected at most 1048576 bytes, found a bigger file", dir);
    ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(test_error_in_second_file_names_that_file)
{
    char want[256];
    put("00-host.conf", "[host]\nworkers = 4\n");
    put("10-http.conf", "[http]\n[bad\n");
    ck_assert_ptr_null(load());
    snprintf(want, sizeof want, "%s/10-http.conf:2: ", dir);
    ck_assert_err_starts(want);
}
END_TEST

/* ---- environment ---------------------------------------------------------- */

START_TEST(test_env_overrides_file_value)
{
    char *env[] = {"RENTEZY_HOST_WORKERS=2", NULL};
    rz_config_t *cfg = parse("[host]\nworkers = 4\n");
    ck_assert_int_eq(rz__config_apply_env(cfg, env, err, sizeof err), 0);
    const char *where;
    ck_assert_str_eq(rz__config_get(cfg, "host", "workers", &where), "2");
    ck_assert_str_eq(where, "env RENTEZY_HOST_WORKERS");
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_env_adds_key_to_a_host_section_no_file_mentions)
{
    char *env[] = {"RENTEZY_DATABASE_POOL_SIZE=8", "RENTEZY_WEBSOCKET_MAX_FRAME=1MiB", NULL};
    rz_config_t *cfg = rz__config_new();
    ck_assert_int_eq(rz__config_apply_env(cfg, env, err, sizeof err), 0);
    ck_assert_str_eq(get(cfg, "database", "pool_size"), "8");
    ck_assert_str_eq(get(cfg, "websocket", "max_frame"), "1MiB");
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_env_matches_the_longest_section)
{
    char *env[] = {"RENTEZY_PLUGIN_SEARCH_LIMIT=5", "RENTEZY_PLUGIN_OTHER=1", NULL};
    rz_config_t *cfg = parse("[plugin]\na = 1\n[plugin.search]\nlimit = 1\n");
    ck_assert_int_eq(rz__config_apply_env(cfg, env, err, sizeof err), 0);
    ck_assert_str_eq(get(cfg, "plugin.search", "limit"), "5");
    ck_assert_ptr_null(get(cfg, "plugin", "search_limit"));
    ck_assert_str_eq(get(cfg, "plugin", "other"), "1");
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_env_section_dots_and_dashes_become_underscores)
{
    char *env[] = {"RENTEZY_PLUGIN_MY_THING_MAX_ITEMS=7", NULL};
    rz_config_t *cfg = parse("[plugin.my-thing]\n");
    ck_assert_int_eq(rz__config_apply_env(cfg, env, err, sizeof err), 0);
    ck_assert_str_eq(get(cfg, "plugin.my-thing", "max_items"), "7");
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_env_reaches_an_existing_dashed_key)
{
    char *env[] = {"RENTEZY_PLUGIN_X_MAX_ITEMS=9", NULL};
    rz_config_t *cfg = parse("[plugin.x]\nmax-items = 1\n");
    ck_assert_int_eq(rz__config_apply_env(cfg, env, err, sizeof err), 0);
    ck_assert_str_eq(get(cfg, "plugin.x", "max-items"), "9");
    ck_assert_ptr_null(get(cfg, "plugin.x", "max_items"));
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_env_unknown_section_is_an_error_naming_it)
{
    char *env[] = {"RENTEZY_NOPE_X=1", NULL};
    rz_config_t *cfg = parse("[host]\n[plugin.search]\n");
    ck_assert_int_eq(rz__config_apply_env(cfg, env, err, sizeof err), -1);
    ck_assert_str_eq(err, "env RENTEZY_NOPE_X: expected RENTEZY_<SECTION>_<KEY> with a known "
                          "section (HOST, HTTP, DATABASE, BUS, JOBS, AUTH, LOG, WEBSOCKET, RATELIMIT, IDEMPOTENCY, "
                          "PLUGIN_SEARCH), found 'NOPE_X'");
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_env_plugin_section_must_exist_in_a_file)
{
    char *env[] = {"RENTEZY_PLUGIN_AUTH_TTL=1", NULL};
    rz_config_t *cfg = rz__config_new();
    ck_assert_int_eq(rz__config_apply_env(cfg, env, err, sizeof err), -1);
    ck_assert_err_starts("env RENTEZY_PLUGIN_AUTH_TTL: expected RENTEZY_<SECTION>_<KEY>");
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_env_without_key_is_an_error)
{
    char *env1[] = {"RENTEZY_HOST_=1", NULL};
    char *env2[] = {"RENTEZY_HOST=1", NULL};
    rz_config_t *cfg = rz__config_new();
    ck_assert_int_eq(rz__config_apply_env(cfg, env1, err, sizeof err), -1);
    ck_assert_err_starts("env RENTEZY_HOST_: expected RENTEZY_<SECTION>_<KEY>");
    ck_assert_int_eq(rz__config_apply_env(cfg, env2, err, sizeof err), -1);
    ck_assert_err_starts("env RENTEZY_HOST: expected RENTEZY_<SECTION>_<KEY>");
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_env_bad_key_is_an_error)
{
    char *env[] = {"RENTEZY_HOST_A.B=1", NULL};
    rz_config_t *cfg = rz__config_new();
    ck_assert_int_eq(rz__config_apply_env(cfg, env, err, sizeof err), -1);
    ck_assert_str_eq(err, "env RENTEZY_HOST_A.B: bad key: expected [A-Z0-9_]+ after "
                          "RENTEZY_HOST_, found 'A.B'");
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_env_ambiguous_section_is_an_error)
{
    char *env[] = {"RENTEZY_A_B_C=1", NULL};
    rz_config_t *cfg = parse("[a.b]\n[a-b]\n");
    ck_assert_int_eq(rz__config_apply_env(cfg, env, err, sizeof err), -1);
    ck_assert_str_eq(err, "env RENTEZY_A_B_C: expected a name that matches one section, found "
                          "one that matches both [a.b] and [a-b]");
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_env_value_on_several_lines_is_an_error_without_the_value)
{
    char *env[] = {"RENTEZY_AUTH_JWT_SECRET=abc\ndef", NULL};
    rz_config_t *cfg = rz__config_new();
    ck_assert_int_eq(rz__config_apply_env(cfg, env, err, sizeof err), -1);
    ck_assert_str_eq(err, "env RENTEZY_AUTH_JWT_SECRET: expected UTF-8 text on one line, found a "
                          "control character at byte 4 of the value");
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_env_config_dir_and_other_variables_ignored)
{
    char *env[] = {"RENTEZY_CONFIG_DIR=/etc/rentezy.d",
                   "PATH=/bin",
                   "RENTEZYX_HOST_A=1",
                   "RENTEZY_HOST_NOVALUE",
                   "rentezy_host_a=1",
                   NULL};
    rz_config_t *cfg = rz__config_new();
    ck_assert_int_eq(rz__config_apply_env(cfg, env, err, sizeof err), 0);
    char *out = printed(cfg);
    ck_assert_str_eq(out, "");
    free(out);
    ck_assert_int_eq(rz__config_apply_env(cfg, NULL, err, sizeof err), 0);
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_env_empty_value_sets_an_empty_value)
{
    char *env[] = {"RENTEZY_HOST_PLUGINS=", NULL};
    rz_config_t *cfg = parse("[host]\nplugins = hello\n");
    ck_assert_int_eq(rz__config_apply_env(cfg, env, err, sizeof err), 0);
    ck_assert_str_eq(get(cfg, "host", "plugins"), "");
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_load_applies_env_after_all_files)
{
    char *env[] = {"RENTEZY_HOST_WORKERS=2", NULL};
    put("00-host.conf", "[host]\nworkers = 4\n");
    put("90-late.conf", "[host]\nworkers = 8\n");
    rz_config_t *cfg = rz__config_load_env(dir, env, err, sizeof err);
    ck_assert_msg(cfg != NULL, "%s", err);
    ck_assert_str_eq(get(cfg, "host", "workers"), "2");
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_load_reports_env_errors)
{
    char *env[] = {"RENTEZY_NOPE_X=1", NULL};
    ck_assert_ptr_null(rz__config_load_env(dir, env, err, sizeof err));
    ck_assert_err_starts("env RENTEZY_NOPE_X: ");
}
END_TEST

/* ---- secret files ------------------------------------------------------- */

/* Writes a secret and a config naming it in [auth] jwt_secret_file. */
static void put_secret_conf(const char *secret, size_t len)
{
    char conf[512];
    const char *path = put_bytes("jwt", secret, len);
    snprintf(conf, sizeof conf, "[auth]\njwt_secret_file = %s\n", path);
    put("40-auth.conf", conf);
}

START_TEST(test_secret_file_defines_the_key_without_suffix)
{
    char path[256], want[256];
    put_secret_conf("s3cret", 6);
    snprintf(path, sizeof path, "%s/jwt", dir);
    rz_config_t *cfg = load();
    ck_assert_msg(cfg != NULL, "%s", err);
    const char *where;
    ck_assert_str_eq(rz__config_get(cfg, "auth", "jwt_secret", &where), "s3cret");
    snprintf(want, sizeof want, "%s/40-auth.conf:2", dir);
    ck_assert_str_eq(where, want);
    ck_assert_str_eq(get(cfg, "auth", "jwt_secret_file"), path);
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_secret_file_trailing_newlines_removed)
{
    put_secret_conf("line1\nline2\r\n\n\n", 15);
    rz_config_t *cfg = load();
    ck_assert_msg(cfg != NULL, "%s", err);
    ck_assert_str_eq(get(cfg, "auth", "jwt_secret"), "line1\nline2");
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_secret_file_missing_names_where_and_errno)
{
    char conf[512], want[512];
    snprintf(conf, sizeof conf, "[auth]\n\njwt_secret_file = %s/nope\n", dir);
    put("40-auth.conf", conf);
    ck_assert_ptr_null(load());
    snprintf(want, sizeof want,
             "%s/40-auth.conf:3: [auth] jwt_secret_file: cannot read '%s/nope': No such file or "
             "directory",
             dir, dir);
    ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(test_secret_file_must_be_a_regular_file)
{
    char conf[512], want[512];
    snprintf(conf, sizeof conf, "[auth]\njwt_secret_file = %s\n", dir);
    put("40-auth.conf", conf);
    ck_assert_ptr_null(load());
    snprintf(want, sizeof want,
             "%s/40-auth.conf:2: [auth] jwt_secret_file: expected '%s' to be a regular file, "
             "found another kind of file",
             dir, dir);
    ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(test_secret_file_of_64_kib_accepted)
{
    char *big = malloc(65536);
    ck_assert_ptr_nonnull(big);
    memset(big, 'x', 65536);
    put_secret_conf(big, 65536);
    rz_config_t *cfg = load();
    ck_assert_msg(cfg != NULL, "%s", err);
    ck_assert_uint_eq(strlen(get(cfg, "auth", "jwt_secret")), 65536);
    rz__config_free(cfg);
    free(big);
}
END_TEST

START_TEST(test_secret_file_larger_than_64_kib_rejected)
{
    char want[512];
    char *big = malloc(65537);
    ck_assert_ptr_nonnull(big);
    memset(big, 'x', 65537);
    put_secret_conf(big, 65537);
    free(big);
    ck_assert_ptr_null(load());
    snprintf(want, sizeof want,
             "%s/40-auth.conf:2: [auth] jwt_secret_file: expected '%s/jwt' to hold at most "
             "65536 bytes, found more",
             dir, dir);
    ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(test_secret_file_with_nul_rejected_without_showing_it)
{
    put_secret_conf("hunter2\0x", 9);
    ck_assert_ptr_null(load());
    ck_assert_ptr_nonnull(strstr(err, "expected text in '"));
    ck_assert_ptr_nonnull(strstr(err, "found a NUL byte"));
    ck_assert_ptr_null(strstr(err, "hunter2"));
}
END_TEST

START_TEST(test_secret_file_empty_path_defines_nothing)
{
    rz_config_t *cfg = parse("[auth]\njwt_secret_file =\n");
    ck_assert_int_eq(rz__config_resolve_secrets(cfg, err, sizeof err), 0);
    ck_assert_ptr_null(get(cfg, "auth", "jwt_secret"));
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_secret_plain_key_set_later_wins)
{
    char conf[512];
    const char *path = put("jwt", "from-file\n");
    snprintf(conf, sizeof conf, "[auth]\njwt_secret_file = %s\n", path);
    put("40-auth.conf", conf);
    put("90-local.conf", "[auth]\njwt_secret = inline\n");
    rz_config_t *cfg = load();
    ck_assert_msg(cfg != NULL, "%s", err);
    ck_assert_str_eq(get(cfg, "auth", "jwt_secret"), "inline");
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_secret_file_set_later_wins)
{
    char conf[512];
    const char *path = put("jwt", "from-file\n");
    snprintf(conf, sizeof conf, "[auth]\njwt_secret_file = %s\n", path);
    put("40-auth.conf", "[auth]\njwt_secret = inline\n");
    put("90-local.conf", conf);
    rz_config_t *cfg = load();
    ck_assert_msg(cfg != NULL, "%s", err);
    ck_assert_str_eq(get(cfg, "auth", "jwt_secret"), "from-file");
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_secret_file_named_by_env)
{
    char var[256];
    const char *path = put("jwt", "from-env-file\n");
    snprintf(var, sizeof var, "RENTEZY_AUTH_JWT_SECRET_FILE=%s", path);
    char *env[] = {var, NULL};
    put("40-auth.conf", "[auth]\njwt_secret_file = /nonexistent/should-not-be-read\n");
    rz_config_t *cfg = rz__config_load_env(dir, env, err, sizeof err);
    ck_assert_msg(cfg != NULL, "%s", err);
    const char *where;
    ck_assert_str_eq(rz__config_get(cfg, "auth", "jwt_secret", &where), "from-env-file");
    ck_assert_str_eq(where, "env RENTEZY_AUTH_JWT_SECRET_FILE");
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_env_plain_secret_beats_file_secret)
{
    char *env[] = {"RENTEZY_AUTH_JWT_SECRET=from-env", NULL};
    put_secret_conf("from-file", 9);
    rz_config_t *cfg = rz__config_load_env(dir, env, err, sizeof err);
    ck_assert_msg(cfg != NULL, "%s", err);
    ck_assert_str_eq(get(cfg, "auth", "jwt_secret"), "from-env");
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_parse_reads_no_secret_until_resolved)
{
    char conf[512];
    const char *path = put("jwt", "s3cret\n");
    snprintf(conf, sizeof conf, "[auth]\njwt_secret_file = %s\n", path);
    rz_config_t *cfg = parse(conf);
    ck_assert_ptr_null(get(cfg, "auth", "jwt_secret"));
    ck_assert_int_eq(rz__config_resolve_secrets(cfg, err, sizeof err), 0);
    ck_assert_str_eq(get(cfg, "auth", "jwt_secret"), "s3cret");
    /* Resolving again reads nothing new and changes nothing. */
    ck_assert_int_eq(rz__config_resolve_secrets(cfg, err, sizeof err), 0);
    ck_assert_str_eq(get(cfg, "auth", "jwt_secret"), "s3cret");
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_secret_withdrawn_by_empty_file_key)
{
    char conf[512];
    char *env[] = {"RENTEZY_AUTH_JWT_SECRET_FILE=", NULL};
    const char *path = put("jwt", "s3cret\n");
    snprintf(conf, sizeof conf, "[auth]\njwt_secret_file = %s\n", path);
    rz_config_t *cfg = parse(conf);
    ck_assert_int_eq(rz__config_resolve_secrets(cfg, err, sizeof err), 0);
    ck_assert_int_eq(rz__config_apply_env(cfg, env, err, sizeof err), 0);
    ck_assert_int_eq(rz__config_resolve_secrets(cfg, err, sizeof err), 0);
    ck_assert_ptr_null(get(cfg, "auth", "jwt_secret"));
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_applying_env_twice_changes_nothing)
{
    char var[256];
    const char *path = put("jwt", "s3cret\n");
    snprintf(var, sizeof var, "RENTEZY_AUTH_JWT_SECRET_FILE=%s", path);
    char *env[] = {var, "RENTEZY_HOST_WORKERS=2", NULL};
    rz_config_t *cfg = rz__config_load_env(dir, env, err, sizeof err);
    ck_assert_msg(cfg != NULL, "%s", err);
    char *before = printed(cfg);
    ck_assert_int_eq(rz__config_apply_env(cfg, env, err, sizeof err), 0);
    char *after = printed(cfg);
    ck_assert_str_eq(before, after);
    ck_assert_str_eq(get(cfg, "auth", "jwt_secret"), "s3cret");
    free(before);
    free(after);
    rz__config_free(cfg);
}
END_TEST

/* ---- printing and redaction ---------------------------------------------- */

START_TEST(test_print_in_first_seen_order)
{
    rz_config_t *cfg = parse("[b]\nz = 1\na = 2\n[a]\nk = v\n[b]\nz = 3\n[empty]\n");
    char *out = printed(cfg);
    ck_assert_str_eq(out, "[b]\n# from t.conf:7\nz = 3\n# from t.conf:3\na = 2\n\n"
                          "[a]\n# from t.conf:5\nk = v\n\n[empty]\n");
    free(out);
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_print_redacts_secret_named_keys)
{
    rz_config_t *cfg = parse("[auth]\njwt_secret = s1\ndb_password = s2\napi_key = s3\n"
                             "refresh_token = s4\nsecret = s5\npassword = s6\n"
                             "keyring = public\nempty_token =\n");
    char *out = printed(cfg);
    for (int i = 1; i <= 6; i++) {
        char s[16];
        snprintf(s, sizeof s, "s%d", i);
        ck_assert_msg(strstr(out, s) == NULL, "%s leaked in:\n%s", s, out);
    }
    ck_assert_ptr_nonnull(strstr(out, "\njwt_secret = <redacted>\n"));
    ck_assert_ptr_nonnull(strstr(out, "\napi_key = <redacted>\n"));
    ck_assert_ptr_nonnull(strstr(out, "\nkeyring = public\n"));
    ck_assert_ptr_nonnull(strstr(out, "\nempty_token = \n"));
    free(out);
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_print_redacts_values_read_from_files)
{
    char conf[512], line[512];
    const char *path = put("ca", "-----BEGIN CERTIFICATE-----\nMIIB\n");
    snprintf(conf, sizeof conf, "[tls]\nca_cert_file = %s\n", path);
    rz_config_t *cfg = parse(conf);
    ck_assert_int_eq(rz__config_resolve_secrets(cfg, err, sizeof err), 0);
    char *out = printed(cfg);
    ck_assert_ptr_null(strstr(out, "MIIB"));
    ck_assert_ptr_nonnull(strstr(out, "\nca_cert = <redacted>\n"));
    snprintf(line, sizeof line, "\nca_cert_file = %s/ca\n", dir);
    ck_assert_ptr_nonnull(strstr(out, line));
    free(out);
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_print_redacts_url_passwords)
{
    rz_config_t *cfg = parse("[database]\nurl = postgresql://user:pass@host/db\n"
                             "replicas = postgresql://u:p1@r1/db, postgresql://u:p2@r2:5432/db\n"
                             "plain = postgresql://user@host/db http://[::1]:8080/x\n");
    char *out = printed(cfg);
    ck_assert_ptr_nonnull(strstr(out, "\nurl = postgresql://user:<redacted>@host/db\n"));
    ck_assert_ptr_nonnull(strstr(out, "\nreplicas = postgresql://u:<redacted>@r1/db, "
                                      "postgresql://u:<redacted>@r2:5432/db\n"));
    ck_assert_ptr_nonnull(strstr(out, "\nplain = postgresql://user@host/db http://[::1]:8080/x\n"));
    free(out);
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_print_redacts_password_with_slash_or_at)
{
    rz_config_t *cfg = parse("[database]\nurl = postgresql://u:a/b@c@host/db\n");
    char *out = printed(cfg);
    ck_assert_ptr_nonnull(strstr(out, "\nurl = postgresql://u:<redacted>@host/db\n"));
    free(out);
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_print_redacts_libpq_password_parameters)
{
    rz_config_t *cfg = parse("[database]\nurl = host=db user=u password=pw dbname=x\n"
                             "url2 = postgresql://h/db?sslmode=require&password=pw2&x=1\n");
    char *out = printed(cfg);
    ck_assert_ptr_nonnull(strstr(out, "\nurl = host=db user=u password=<redacted> dbname=x\n"));
    ck_assert_ptr_nonnull(
        strstr(out, "\nurl2 = postgresql://h/db?sslmode=require&password=<redacted>&x=1\n"));
    free(out);
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_print_output_parses_back_to_the_same_values)
{
    rz_config_t *cfg = parse("[host]\nworkers = 4\nplugins = a, b\n[http]\nmax_body_size =\n");
    char *out = printed(cfg);
    rz_config_t *again = parse(out);
    ck_assert_str_eq(get(again, "host", "workers"), "4");
    ck_assert_str_eq(get(again, "host", "plugins"), "a, b");
    ck_assert_str_eq(get(again, "http", "max_body_size"), "");
    free(out);
    rz__config_free(again);
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_getter_error_redacts_secret_values)
{
    int64_t v;
    rz_config_t *cfg =
        parse("[auth]\napi_token = abc\n[database]\npool_size = postgresql://u:pw@h/d\n");
    ck_assert_int_eq(rz__config_int(cfg, "auth", "api_token", 0, &v, err, sizeof err), -1);
    ck_assert_str_eq(err, "t.conf:2: [auth] api_token: expected an integer, found <redacted>");
    ck_assert_int_eq(rz__config_int(cfg, "database", "pool_size", 4, &v, err, sizeof err), -1);
    ck_assert_str_eq(err, "t.conf:4: [database] pool_size: expected an integer, found "
                          "'postgresql://u:<redacted>@h/d'");
    ck_assert_int_eq(v, 4);
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_getter_error_redacts_values_read_from_files)
{
    char conf[512];
    int64_t v;
    const char *path = put("n", "not-a-number\n");
    snprintf(conf, sizeof conf, "[plugin.x]\nlimit_file = %s\n", path);
    rz_config_t *cfg = parse(conf);
    ck_assert_int_eq(rz__config_resolve_secrets(cfg, err, sizeof err), 0);
    ck_assert_int_eq(rz__config_int(cfg, "plugin.x", "limit", 0, &v, err, sizeof err), -1);
    ck_assert_str_eq(err, "t.conf:2: [plugin.x] limit: expected an integer, found <redacted>");
    rz__config_free(cfg);
}
END_TEST

/* ---- typed getters ------------------------------------------------------ */

START_TEST(test_string_getter_uses_default_when_absent_or_empty)
{
    const char *s;
    rz_config_t *cfg = parse("[host]\nplugin_dir = /opt/p\nplugins =\n");
    ck_assert_int_eq(rz__config_string(cfg, "host", "plugin_dir", "/d", &s, err, sizeof err), 0);
    ck_assert_str_eq(s, "/opt/p");
    ck_assert_int_eq(rz__config_string(cfg, "host", "plugins", "x", &s, err, sizeof err), 0);
    ck_assert_str_eq(s, "x");
    ck_assert_str_eq(get(cfg, "host", "plugins"), "");
    ck_assert_int_eq(rz__config_string(cfg, "host", "absent", "/d", &s, err, sizeof err), 0);
    ck_assert_str_eq(s, "/d");
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_typed_getters_use_default_when_absent_or_empty)
{
    int64_t i;
    int b;
    uint64_t z;
    rz_config_t *cfg = parse("[http]\nmax_connections =\nmax_body_size =\nread_timeout =\n"
                             "[host]\naccess_log =\n");
    ck_assert_int_eq(rz__config_int(cfg, "http", "max_connections", 10000, &i, err, sizeof err), 0);
    ck_assert_int_eq(i, 10000);
    ck_assert_int_eq(rz__config_int(cfg, "http", "absent", -3, &i, err, sizeof err), 0);
    ck_assert_int_eq(i, -3);
    ck_assert_int_eq(rz__config_size(cfg, "http", "max_body_size", 1 << 20, &z, err, sizeof err),
                     0);
    ck_assert_uint_eq(z, 1 << 20);
    ck_assert_int_eq(
        rz__config_duration_ms(cfg, "http", "read_timeout", 30000, &i, err, sizeof err), 0);
    ck_assert_int_eq(i, 30000);
    ck_assert_int_eq(rz__config_bool(cfg, "host", "access_log", 1, &b, err, sizeof err), 0);
    ck_assert_int_eq(b, 1);
    ck_assert_int_eq(rz__config_bool(NULL, "host", "access_log", 0, &b, err, sizeof err), 0);
    ck_assert_int_eq(b, 0);
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_int_getter_reads_a_value)
{
    int64_t v;
    rz_config_t *cfg = parse("[host]\nworkers = -12\n");
    ck_assert_int_eq(rz__config_int(cfg, "host", "workers", 1, &v, err, sizeof err), 0);
    ck_assert_int_eq(v, -12);
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_int_getter_rejects_bad_value)
{
    int64_t v;
    rz_config_t *cfg = parse("[host]\n\nworkers = x\n");
    ck_assert_int_eq(rz__config_int(cfg, "host", "workers", 1, &v, err, sizeof err), -1);
    ck_assert_str_eq(err, "t.conf:3: [host] workers: expected an integer, found 'x'");
    ck_assert_int_eq(v, 1);
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_int_getter_rejects_overflow)
{
    int64_t v;
    rz_config_t *cfg = parse("[host]\na = 9223372036854775808\nb = -9223372036854775809\n");
    ck_assert_int_eq(rz__config_int(cfg, "host", "a", 1, &v, err, sizeof err), -1);
    ck_assert_str_eq(err, "t.conf:2: [host] a: expected an integer from -9223372036854775808 to "
                          "9223372036854775807, found '9223372036854775808'");
    ck_assert_int_eq(rz__config_int(cfg, "host", "b", 1, &v, err, sizeof err), -1);
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_parse_int)
{
    int64_t v;
    ck_assert_int_eq(rz__parse_int("9223372036854775807", &v), 0);
    ck_assert_int_eq(v, INT64_MAX);
    ck_assert_int_eq(rz__parse_int("-9223372036854775808", &v), 0);
    ck_assert_int_eq(v, INT64_MIN);
    ck_assert_int_eq(rz__parse_int("+7", &v), 0);
    ck_assert_int_eq(v, 7);
    ck_assert_int_eq(rz__parse_int("007", &v), 0);
    ck_assert_int_eq(v, 7);
    ck_assert_int_eq(rz__parse_int("-0", &v), 0);
    ck_assert_int_eq(v, 0);
    static const char *const bad[] = {"",
                                      "+",
                                      "-",
                                      " 1",
                                      "1 ",
                                      "12a",
                                      "0x10",
                                      "1e3",
                                      "1.0",
                                      "--1",
                                      "9223372036854775808",
                                      "-9223372036854775809",
                                      "99999999999999999999999",
                                      NULL};
    for (size_t i = 0; bad[i]; i++)
        ck_assert_msg(rz__parse_int(bad[i], &v) == -1, "accepted '%s'", bad[i]);
    ck_assert_int_eq(rz__parse_int(NULL, &v), -1);
}
END_TEST

START_TEST(test_parse_bool_accepts_every_spelling)
{
    static const char *const yes[] = {"true", "TRUE", "yes", "Yes", "on", "oN", "1", NULL};
    static const char *const no[] = {"false", "False", "no", "NO", "off", "Off", "0", NULL};
    int b;
    for (size_t i = 0; yes[i]; i++) {
        b = -1;
        ck_assert_int_eq(rz__parse_bool(yes[i], &b), 0);
        ck_assert_int_eq(b, 1);
    }
    for (size_t i = 0; no[i]; i++) {
        b = -1;
        ck_assert_int_eq(rz__parse_bool(no[i], &b), 0);
        ck_assert_int_eq(b, 0);
    }
    static const char *const bad[] = {"", "maybe", "2", "y", "n", "truee", " true", NULL};
    for (size_t i = 0; bad[i]; i++)
        ck_assert_msg(rz__parse_bool(bad[i], &b) == -1, "accepted '%s'", bad[i]);
}
END_TEST

START_TEST(test_bool_getter_rejects_bad_value)
{
    int b;
    rz_config_t *cfg = parse("[host]\naccess_log = maybe\n");
    ck_assert_int_eq(rz__config_bool(cfg, "host", "access_log", 1, &b, err, sizeof err), -1);
    ck_assert_str_eq(err, "t.conf:2: [host] access_log: expected true/false, yes/no, on/off or "
                          "1/0, found 'maybe'");
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_parse_duration_units)
{
    static const struct {
        const char *s;
        int64_t ms;
    } ok[] = {
        {"250ms", 250},
        {"30", 30000},
        {"30s", 30000},
        {"15m", 900000},
        {"1h", 3600000},
        {"7d", 604800000},
        {"0", 0},
        {"0ms", 0},
        {"5 s", 5000},
        {"1\th", 3600000},
        {"9223372036854775807ms", INT64_MAX},
        {"106751991167d", 106751991167LL * 86400000},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t v = -1;
        ck_assert_msg(rz__parse_duration_ms(ok[i].s, &v) == 0, "rejected '%s'", ok[i].s);
        ck_assert_int_eq(v, ok[i].ms);
    }
}
END_TEST

START_TEST(test_parse_duration_rejects_bad_values)
{
    static const char *const bad[] = {"",
                                      "s",
                                      "ms",
                                      "1h30m",
                                      "1.5s",
                                      "-5s",
                                      "-0",
                                      "+5s",
                                      "5S",
                                      "5 sec",
                                      "5us",
                                      " 5s",
                                      "5s ",
                                      "5 ",
                                      "5 5s",
                                      "9223372036854775808ms",
                                      "106751991168d",
                                      "9223372036854775807s",
                                      "99999999999999999999999",
                                      NULL};
    int64_t v;
    for (size_t i = 0; bad[i]; i++)
        ck_assert_msg(rz__parse_duration_ms(bad[i], &v) == -1, "accepted '%s'", bad[i]);
}
END_TEST

START_TEST(test_duration_getter_messages)
{
    int64_t v;
    rz_config_t *cfg = parse("[jobs]\na = soon\nb = -5s\nc = 106751991168d\nd = 2m\n");
    ck_assert_int_eq(rz__config_duration_ms(cfg, "jobs", "a", 1, &v, err, sizeof err), -1);
    ck_assert_str_eq(err, "t.conf:2: [jobs] a: expected a duration: a whole number with unit ms, "
                          "s, m, h or d (seconds when none), found 'soon'");
    ck_assert_int_eq(rz__config_duration_ms(cfg, "jobs", "b", 1, &v, err, sizeof err), -1);
    ck_assert_str_eq(err, "t.conf:3: [jobs] b: expected a duration of zero or more, found '-5s'");
    ck_assert_int_eq(rz__config_duration_ms(cfg, "jobs", "c", 1, &v, err, sizeof err), -1);
    ck_assert_str_eq(err, "t.conf:4: [jobs] c: expected a duration of at most "
                          "9223372036854775807ms, found '106751991168d'");
    ck_assert_int_eq(rz__config_duration_ms(cfg, "jobs", "d", 1, &v, err, sizeof err), 0);
    ck_assert_int_eq(v, 120000);
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_parse_size_units)
{
    static const struct {
        const char *s;
        uint64_t n;
    } ok[] = {
        {"512", 512},
        {"512B", 512},
        {"1k", 1000},
        {"1kB", 1000},
        {"1KiB", 1024},
        {"16KiB", 16384},
        {"1M", 1000000},
        {"1MB", 1000000},
        {"1MiB", 1048576},
        {"2G", 2000000000},
        {"2GB", 2000000000},
        {"1GiB", 1073741824},
        {"1 MiB", 1048576},
        {"0", 0},
        {"18446744073709551615", UINT64_MAX},
        {"17179869183GiB", 17179869183ULL << 30},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        uint64_t v = 1;
        ck_assert_msg(rz__parse_size(ok[i].s, &v) == 0, "rejected '%s'", ok[i].s);
        ck_assert_uint_eq(v, ok[i].n);
    }
}
END_TEST

START_TEST(test_parse_size_rejects_bad_values)
{
    static const char *const bad[] = {"",
                                      "B",
                                      "1K",
                                      "1kb",
                                      "1mb",
                                      "1TiB",
                                      "1.5MiB",
                                      "-1",
                                      "+1",
                                      "1 M B",
                                      "18446744073709551616",
                                      "17179869184GiB",
                                      "18446744073709551615B1",
                                      NULL};
    uint64_t v;
    for (size_t i = 0; bad[i]; i++)
        ck_assert_msg(rz__parse_size(bad[i], &v) == -1, "accepted '%s'", bad[i]);
}
END_TEST

START_TEST(test_size_getter_messages)
{
    uint64_t v;
    rz_config_t *cfg = parse("[http]\na = big\nb = -1KiB\nc = 17179869184GiB\n");
    ck_assert_int_eq(rz__config_size(cfg, "http", "a", 1, &v, err, sizeof err), -1);
    ck_assert_str_eq(err, "t.conf:2: [http] a: expected a size: a whole number with unit B, k, "
                          "kB, KiB, M, MB, MiB, G, GB or GiB (bytes when none), found 'big'");
    ck_assert_int_eq(rz__config_size(cfg, "http", "b", 1, &v, err, sizeof err), -1);
    ck_assert_str_eq(err, "t.conf:3: [http] b: expected a size of zero or more, found '-1KiB'");
    ck_assert_int_eq(rz__config_size(cfg, "http", "c", 1, &v, err, sizeof err), -1);
    ck_assert_str_eq(err, "t.conf:4: [http] c: expected a size of at most 18446744073709551615 "
                          "bytes, found '17179869184GiB'");
    ck_assert_uint_eq(v, 1);
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_list_splits_on_spaces_and_commas)
{
    const char *const *items;
    size_t n;
    rz_config_t *cfg = parse("[host]\nlisten = 127.0.0.1:8080, [::1]:8080  ,,  a\tb,\n");
    ck_assert_int_eq(rz__config_list(cfg, "host", "listen", &items, &n, err, sizeof err), 0);
    ck_assert_uint_eq(n, 4);
    ck_assert_str_eq(items[0], "127.0.0.1:8080");
    ck_assert_str_eq(items[1], "[::1]:8080");
    ck_assert_str_eq(items[2], "a");
    ck_assert_str_eq(items[3], "b");
    ck_assert_ptr_null(items[4]);
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_list_empty_or_absent_has_no_items)
{
    const char *const *items;
    size_t n = 9;
    rz_config_t *cfg = parse("[host]\nplugins =\nsep = , ,\n");
    ck_assert_int_eq(rz__config_list(cfg, "host", "plugins", &items, &n, err, sizeof err), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_ptr_null(items[0]);
    ck_assert_int_eq(rz__config_list(cfg, "host", "sep", &items, &n, err, sizeof err), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_ptr_null(items[0]);
    n = 9;
    ck_assert_int_eq(rz__config_list(cfg, "host", "absent", &items, &n, err, sizeof err), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_ptr_null(items[0]);
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_list_is_cached_until_the_value_changes)
{
    const char *const *a, *const *b;
    size_t n;
    char *env[] = {"RENTEZY_HOST_PLUGINS=x y z", NULL};
    rz_config_t *cfg = parse("[host]\nplugins = hello\n");
    ck_assert_int_eq(rz__config_list(cfg, "host", "plugins", &a, &n, err, sizeof err), 0);
    ck_assert_int_eq(rz__config_list(cfg, "host", "plugins", &b, &n, err, sizeof err), 0);
    ck_assert_ptr_eq(a, b);
    ck_assert_int_eq(rz__config_apply_env(cfg, env, err, sizeof err), 0);
    ck_assert_int_eq(rz__config_list(cfg, "host", "plugins", &b, &n, err, sizeof err), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(b[2], "z");
    rz__config_free(cfg);
}
END_TEST

/* ---- unknown keys ------------------------------------------------------- */

static const char *const tiny_keys[] = {"listen", "workers", NULL};

START_TEST(test_check_keys_accepts_known_keys)
{
    rz_config_t *cfg = parse("[host]\nworkers = 2\nlisten = :1\n");
    ck_assert_int_eq(rz__config_check_keys(cfg, "host", tiny_keys, err, sizeof err), 0);
    ck_assert_int_eq(rz__config_check_keys(cfg, "absent", tiny_keys, err, sizeof err), 0);
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_check_keys_reports_unknown_key_and_lists_known)
{
    rz_config_t *cfg = parse("[host]\nworkers = 2\n\nwrokers = 3\n");
    ck_assert_int_eq(rz__config_check_keys(cfg, "host", tiny_keys, err, sizeof err), -1);
    ck_assert_str_eq(err, "t.conf:4: [host] unknown key 'wrokers' (known: listen, workers)");
    static const char *const none[] = {NULL};
    ck_assert_int_eq(rz__config_check_keys(cfg, "host", none, err, sizeof err), -1);
    ck_assert_str_eq(err, "t.conf:2: [host] unknown key 'workers' (known: none)");
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_check_keys_accepts_file_form_of_known_key)
{
    char conf[512];
    const char *path = put("w", "3\n");
    snprintf(conf, sizeof conf, "[host]\nworkers_file = %s\n", path);
    rz_config_t *cfg = parse(conf);
    ck_assert_int_eq(rz__config_resolve_secrets(cfg, err, sizeof err), 0);
    ck_assert_int_eq(rz__config_check_keys(cfg, "host", tiny_keys, err, sizeof err), 0);
    rz__config_free(cfg);
}
END_TEST

START_TEST(test_check_keys_names_env_variable)
{
    char *env[] = {"RENTEZY_HOST_WROKERS=3", NULL};
    rz_config_t *cfg = rz__config_new();
    ck_assert_int_eq(rz__config_apply_env(cfg, env, err, sizeof err), 0);
    ck_assert_int_eq(rz__config_check_keys(cfg, "host", tiny_keys, err, sizeof err), -1);
    ck_assert_str_eq(err, "env RENTEZY_HOST_WROKERS: [host] unknown key 'wrokers' (known: "
                          "listen, workers)");
    rz__config_free(cfg);
}
END_TEST

/* ---- the shipped etc/rentezy.d ------------------------------------------ */

static const char *const host_keys[] = {"listen",     "workers",          "plugins",
                                        "plugin_dir", "shutdown_timeout", "restart_backoff_max",
                                        "test_clock", "log_level",        "access_log",
                                        "work_threads", NULL};
static const char *const http_keys[] = {"max_body_size",
                                        "max_header_size",
                                        "max_uri_length",
                                        "read_timeout",
                                        "keepalive_timeout",
                                        "max_connections",
                                        "cors_origins",
                                        "cors_max_age",
                                        NULL};
static const char *const database_keys[] = {
    "url", "replicas", "pool_size", "connect_timeout", "statement_timeout", "slow_query", NULL};
static const char *const jobs_keys[] = {"poll_interval", "batch",       "max_attempts",
                                        "backoff_base",  "backoff_max", NULL};

START_TEST(test_shipped_defaults_parse_and_use_only_known_keys)
{
    rz_config_t *cfg = rz__config_load_env("etc/rentezy.d", no_env, err, sizeof err);
    ck_assert_msg(cfg != NULL, "%s", err);
    ck_assert_msg(rz__config_check_keys(cfg, "host", host_keys, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(rz__config_check_keys(cfg, "http", http_keys, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(rz__config_check_keys(cfg, "database", database_keys, err, sizeof err) == 0, "%s",
                  err);
    ck_assert_msg(rz__config_check_keys(cfg, "jobs", jobs_keys, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(get(cfg, "host", "plugins"), "hello");
    ck_assert_str_eq(get(cfg, "host", "plugin_dir"), "/usr/lib/rentezy/plugins");
    rz__config_free(cfg);
}
END_TEST

/* The commented-out defaults, uncommented, must parse and pass the typed
 * getters with exactly the documented values. */
static void uncomment(const char *src, const char *dst)
{
    char line[4200];
    FILE *in = fopen(src, "r"), *out = fopen(dst, "w");
    ck_assert_ptr_nonnull(in);
    ck_assert_ptr_nonnull(out);
    while (fgets(line, sizeof line, in)) {
        /* "#key = value" lines are defaults; "# text" lines are prose. */
        const char *p = line;
        if (p[0] == '#' && p[1] >= 'a' && p[1] <= 'z' && strchr(p, '='))
            p++;
        fputs(p, out);
    }
    fclose(in);
    ck_assert_int_eq(fclose(out), 0);
}

START_TEST(test_shipped_commented_defaults_have_documented_values)
{
    static const char *const files[] = {"00-host.conf", "10-http.conf", "20-database.conf",
                                        "30-jobs.conf", NULL};
    char src[256], dst[256];
    for (size_t i = 0; files[i]; i++) {
        snprintf(src, sizeof src, "etc/rentezy.d/%s", files[i]);
        snprintf(dst, sizeof dst, "%s/%s", dir, files[i]);
        uncomment(src, dst);
    }
    rz_config_t *cfg = load();
    ck_assert_msg(cfg != NULL, "%s", err);
    ck_assert_msg(rz__config_check_keys(cfg, "host", host_keys, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(rz__config_check_keys(cfg, "http", http_keys, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(rz__config_check_keys(cfg, "database", database_keys, err, sizeof err) == 0, "%s",
                  err);
    ck_assert_msg(rz__config_check_keys(cfg, "jobs", jobs_keys, err, sizeof err) == 0, "%s", err);

    int64_t i;
    uint64_t z;
    int b;
    const char *s;
    ck_assert_str_eq(get(cfg, "host", "listen"), "127.0.0.1:8080");
    ck_assert_str_eq(get(cfg, "host", "workers"), "auto");
    ck_assert_str_eq(get(cfg, "host", "log_level"), "info");
#define DUR(sec, key, want)                                                                        \
    ck_assert_msg(rz__config_duration_ms(cfg, sec, key, -1, &i, err, sizeof err) == 0, "%s", err); \
    ck_assert_int_eq(i, want)
#define SIZE(sec, key, want)                                                                       \
    ck_assert_msg(rz__config_size(cfg, sec, key, 1, &z, err, sizeof err) == 0, "%s", err);         \
    ck_assert_uint_eq(z, want)
#define INT(sec, key, want)                                                                        \
    ck_assert_msg(rz__config_int(cfg, sec, key, -1, &i, err, sizeof err) == 0, "%s", err);         \
    ck_assert_int_eq(i, want)
    DUR("host", "shutdown_timeout", 10000);
    DUR("host", "restart_backoff_max", 30000);
    ck_assert_int_eq(rz__config_bool(cfg, "host", "test_clock", 1, &b, err, sizeof err), 0);
    ck_assert_int_eq(b, 0);
    ck_assert_int_eq(rz__config_bool(cfg, "host", "access_log", 0, &b, err, sizeof err), 0);
    ck_assert_int_eq(b, 1);
    SIZE("http", "max_body_size", 1048576);
    SIZE("http", "max_header_size", 16384);
    SIZE("http", "max_uri_length", 8192);
    DUR("http", "read_timeout", 30000);
    DUR("http", "keepalive_timeout", 75000);
    INT("http", "max_connections", 10000);
    INT("database", "pool_size", 4);
    DUR("database", "connect_timeout", 5000);
    DUR("database", "statement_timeout", 30000);
    DUR("database", "slow_query", 200);
    DUR("jobs", "poll_interval", 1000);
    INT("jobs", "batch", 32);
    INT("jobs", "max_attempts", 10);
    DUR("jobs", "backoff_base", 2000);
    DUR("jobs", "backoff_max", 3600000);
    ck_assert_int_eq(rz__config_string(cfg, "host", "plugins", NULL, &s, err, sizeof err), 0);
    ck_assert_str_eq(s, "hello");
#undef DUR
#undef SIZE
#undef INT
    rz__config_free(cfg);
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc;

    tc = tcase_create("files");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_parses_sections_and_keys);
    tcase_add_test(tc, test_trims_whitespace_around_key_and_value);
    tcase_add_test(tc, test_skips_comments_and_blank_lines);
    tcase_add_test(tc, test_value_may_be_empty);
    tcase_add_test(tc, test_value_keeps_hash_semicolon_and_equals);
    tcase_add_test(tc, test_last_line_without_newline_is_read);
    tcase_add_test(tc, test_crlf_line_endings_accepted);
    tcase_add_test(tc, test_utf8_byte_order_mark_skipped);
    tcase_add_test(tc, test_utf8_values_accepted);
    tcase_add_test(tc, test_later_line_overrides_earlier);
    tcase_add_test(tc, test_later_file_overrides_earlier);
    tcase_add_test(tc, test_files_read_in_lexical_order);
    tcase_add_test(tc, test_files_other_than_conf_are_ignored);
    tcase_add_test(tc, test_empty_directory_gives_empty_config);
    tcase_add_test(tc, test_directory_with_trailing_slash);
    tcase_add_test(tc, test_missing_directory_is_an_error_naming_it);
    tcase_add_test(tc, test_where_names_file_and_line);
    tcase_add_test(tc, test_sections_in_first_seen_order);
    tcase_add_test(tc, test_each_key_in_first_seen_order);
    suite_add_tcase(s, tc);

    tc = tcase_create("errors");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_error_line_without_equals_names_file_and_line);
    tcase_add_test(tc, test_error_key_before_any_section);
    tcase_add_test(tc, test_error_bad_section_name);
    tcase_add_test(tc, test_error_empty_section_name);
    tcase_add_test(tc, test_error_unterminated_section);
    tcase_add_test(tc, test_error_text_after_section);
    tcase_add_test(tc, test_error_bad_key);
    tcase_add_test(tc, test_error_missing_key);
    tcase_add_test(tc, test_error_line_too_long);
    tcase_add_test(tc, test_line_of_4096_bytes_accepted);
    tcase_add_test(tc, test_error_nul_byte);
    tcase_add_test(tc, test_error_invalid_utf8);
    tcase_add_test(tc, test_error_overlong_surrogate_and_truncated_utf8);
    tcase_add_test(tc, test_error_control_character);
    tcase_add_test(tc, test_error_hides_a_line_that_may_hold_a_secret);
    tcase_add_test(tc, test_error_quotes_at_most_64_bytes);
    tcase_add_test(tc, test_error_quote_is_cut_on_a_character_boundary);
    tcase_add_test(tc, test_error_dangling_conf_symlink_names_it);
    tcase_add_test(tc, test_error_file_larger_than_1_mib);
    tcase_add_test(tc, test_error_in_second_file_names_that_file);
    suite_add_tcase(s, tc);

    tc = tcase_create("env");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_env_overrides_file_value);
    tcase_add_test(tc, test_env_adds_key_to_a_host_section_no_file_mentions);
    tcase_add_test(tc, test_env_matches_the_longest_section);
    tcase_add_test(tc, test_env_section_dots_and_dashes_become_underscores);
    tcase_add_test(tc, test_env_reaches_an_existing_dashed_key);
    tcase_add_test(tc, test_env_unknown_section_is_an_error_naming_it);
    tcase_add_test(tc, test_env_plugin_section_must_exist_in_a_file);
    tcase_add_test(tc, test_env_without_key_is_an_error);
    tcase_add_test(tc, test_env_bad_key_is_an_error);
    tcase_add_test(tc, test_env_ambiguous_section_is_an_error);
    tcase_add_test(tc, test_env_value_on_several_lines_is_an_error_without_the_value);
    tcase_add_test(tc, test_env_config_dir_and_other_variables_ignored);
    tcase_add_test(tc, test_env_empty_value_sets_an_empty_value);
    tcase_add_test(tc, test_load_applies_env_after_all_files);
    tcase_add_test(tc, test_load_reports_env_errors);
    suite_add_tcase(s, tc);

    tc = tcase_create("secrets");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_secret_file_defines_the_key_without_suffix);
    tcase_add_test(tc, test_secret_file_trailing_newlines_removed);
    tcase_add_test(tc, test_secret_file_missing_names_where_and_errno);
    tcase_add_test(tc, test_secret_file_must_be_a_regular_file);
    tcase_add_test(tc, test_secret_file_of_64_kib_accepted);
    tcase_add_test(tc, test_secret_file_larger_than_64_kib_rejected);
    tcase_add_test(tc, test_secret_file_with_nul_rejected_without_showing_it);
    tcase_add_test(tc, test_secret_file_empty_path_defines_nothing);
    tcase_add_test(tc, test_secret_plain_key_set_later_wins);
    tcase_add_test(tc, test_secret_file_set_later_wins);
    tcase_add_test(tc, test_secret_file_named_by_env);
    tcase_add_test(tc, test_env_plain_secret_beats_file_secret);
    tcase_add_test(tc, test_parse_reads_no_secret_until_resolved);
    tcase_add_test(tc, test_secret_withdrawn_by_empty_file_key);
    tcase_add_test(tc, test_applying_env_twice_changes_nothing);
    suite_add_tcase(s, tc);

    tc = tcase_create("print");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_print_in_first_seen_order);
    tcase_add_test(tc, test_print_redacts_secret_named_keys);
    tcase_add_test(tc, test_print_redacts_values_read_from_files);
    tcase_add_test(tc, test_print_redacts_url_passwords);
    tcase_add_test(tc, test_print_redacts_password_with_slash_or_at);
    tcase_add_test(tc, test_print_redacts_libpq_password_parameters);
    tcase_add_test(tc, test_print_output_parses_back_to_the_same_values);
    tcase_add_test(tc, test_getter_error_redacts_secret_values);
    tcase_add_test(tc, test_getter_error_redacts_values_read_from_files);
    suite_add_tcase(s, tc);

    tc = tcase_create("getters");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_string_getter_uses_default_when_absent_or_empty);
    tcase_add_test(tc, test_typed_getters_use_default_when_absent_or_empty);
    tcase_add_test(tc, test_int_getter_reads_a_value);
    tcase_add_test(tc, test_int_getter_rejects_bad_value);
    tcase_add_test(tc, test_int_getter_rejects_overflow);
    tcase_add_test(tc, test_parse_int);
    tcase_add_test(tc, test_parse_bool_accepts_every_spelling);
    tcase_add_test(tc, test_bool_getter_rejects_bad_value);
    tcase_add_test(tc, test_parse_duration_units);
    tcase_add_test(tc, test_parse_duration_rejects_bad_values);
    tcase_add_test(tc, test_duration_getter_messages);
    tcase_add_test(tc, test_parse_size_units);
    tcase_add_test(tc, test_parse_size_rejects_bad_values);
    tcase_add_test(tc, test_size_getter_messages);
    tcase_add_test(tc, test_list_splits_on_spaces_and_commas);
    tcase_add_test(tc, test_list_empty_or_absent_has_no_items);
    tcase_add_test(tc, test_list_is_cached_until_the_value_changes);
    suite_add_tcase(s, tc);

    tc = tcase_create("keys");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_check_keys_accepts_known_keys);
    tcase_add_test(tc, test_check_keys_reports_unknown_key_and_lists_known);
    tcase_add_test(tc, test_check_keys_accepts_file_form_of_known_key);
    tcase_add_test(tc, test_check_keys_names_env_variable);
    tcase_add_test(tc, test_shipped_defaults_parse_and_use_only_known_keys);
    tcase_add_test(tc, test_shipped_commented_defaults_have_documented_values);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(config_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
