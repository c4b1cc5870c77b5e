/*
 * test_jwt.c — the host's bearer token verifier (host/jwtcheck.c) and the
 * [auth] configuration (host/authz.c): every forged or stale token the
 * issue lists, and the three libjwt 1.10 traps of FIELD-NOTES.md.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jwt.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <sodium.h>

#include "authz.h"
#include "config.h"
#include "jwtcheck.h"

#define NOW_S 1800000000L
#define NOW_MS ((int64_t)NOW_S * 1000)

static const char secret[] = "0123456789abcdef0123456789abcdef-test-secret";

/* ---- token builders -------------------------------------------------------------- */

typedef struct claims {
    const char *iss, *aud, *sub, *role;
    long exp, nbf;          /* 0: absent */
    const char *aud_json;   /* an array instead of aud */
    const char *exp_str;    /* exp as a string (a type confusion) */
} claims_t;

static claims_t good(void)
{
    return (claims_t){.iss = "rentezy", .aud = "rentezy-api", .sub = "u-42", .role = "tenant",
                      .exp = NOW_S + 900};
}

/* Sign with libjwt; the caller frees. */
static char *sign(jwt_alg_t alg, const void *key, size_t len, claims_t c)
{
    jwt_t *j = NULL;
    ck_assert_int_eq(jwt_new(&j), 0);
    if (c.iss)
        jwt_add_grant(j, "iss", c.iss);
    if (c.aud)
        jwt_add_grant(j, "aud", c.aud);
    if (c.aud_json) {
        char buf[256];
        snprintf(buf, sizeof(buf), "{\"aud\":%s}", c.aud_json);
        ck_assert_int_eq(jwt_add_grants_json(j, buf), 0);
    }
    if (c.sub)
        jwt_add_grant(j, "sub", c.sub);
    if (c.role)
        jwt_add_grant(j, "role", c.role);
    if (c.exp)
        jwt_add_grant_int(j, "exp", c.exp);
    if (c.exp_str)
        jwt_add_grant(j, "exp", c.exp_str);
    if (c.nbf)
        jwt_add_grant_int(j, "nbf", c.nbf);
    jwt_add_grant_int(j, "iat", NOW_S);
    ck_assert_int_eq(jwt_set_alg(j, alg, key, (int)len), 0);
    char *t = jwt_encode_str(j);
    ck_assert_ptr_nonnull(t);
    jwt_free(j);
    return t;
}

static char *hs(claims_t c) { return sign(JWT_ALG_HS256, secret, strlen(secret), c); }

static void b64url(const char *in, char *out, size_t cap)
{
    sodium_bin2base64(out, cap, (const unsigned char *)in, strlen(in),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static rz_jwt_t *hs_verifier(void)
{
    char err[256];
    rz_jwt_opts_t o = {.alg = RZ_JWT_HS256, .key = secret, .key_len = strlen(secret),
                       .issuer = "rentezy", .audience = "rentezy-api", .leeway_ms = 30000,
                       .cache_size = 64};
    rz_jwt_t *v = rz__jwt_new(&o, err, sizeof(err));
    ck_assert_msg(v != NULL, "%s", err);
    return v;
}

/* Verify and return why (NULL when accepted). */
static const char *check(rz_jwt_t *v, const char *token, int64_t now_ms, rz_identity_t *id)
{
    const char *why = NULL;
    rz_identity_t tmp;
    return rz__jwt_verify(v, token, now_ms, id ? id : &tmp, &why) == 0 ? NULL : why;
}

/* ---- RSA and EC keys, generated per test run ------------------------------------- */

static char *pem_of(EVP_PKEY *pk, int private)
{
    BIO *b = BIO_new(BIO_s_mem());
    ck_assert(private ? PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL)
                      : PEM_write_bio_PUBKEY(b, pk));
    char *data;
    long n = BIO_get_mem_data(b, &data);
    char *out = strndup(data, (size_t)n);
    BIO_free(b);
    return out;
}

typedef struct keypair {
    char *priv, *pub;
} keypair_t;

static keypair_t rsa_keys, ec_keys;

static void gen_keys(void)
{
    if (rsa_keys.pub)
        return;
    EVP_PKEY *rsa = EVP_RSA_gen(2048), *ec = EVP_EC_gen("P-256");
    ck_assert(rsa && ec);
    rsa_keys = (keypair_t){pem_of(rsa, 1), pem_of(rsa, 0)};
    ec_keys = (keypair_t){pem_of(ec, 1), pem_of(ec, 0)};
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec);
}

static rz_jwt_t *pk_verifier(int alg, const char *pub)
{
    char err[256];
    rz_jwt_opts_t o = {.alg = alg, .key = pub, .key_len = strlen(pub), .issuer = "rentezy",
                       .audience = "rentezy-api", .leeway_ms = 30000, .cache_size = 64};
    rz_jwt_t *v = rz__jwt_new(&o, err, sizeof(err));
    ck_assert_msg(v != NULL, "%s", err);
    return v;
}

/* ---- the accepted case --------------------------------------------------------- */

START_TEST(test_valid_hs256_token_names_user_and_role)
{
    rz_jwt_t *v = hs_verifier();
    char *t = hs(good());
    rz_identity_t id;
    ck_assert_ptr_null(check(v, t, NOW_MS, &id));
    ck_assert_str_eq(id.user, "u-42");
    ck_assert_str_eq(id.role, "tenant");
    ck_assert_int_eq(id.exp_ms, (int64_t)(NOW_S + 900) * 1000);
    free(t);
    rz__jwt_free(v);
}
END_TEST

START_TEST(test_audience_may_be_an_array)
{
    rz_jwt_t *v = hs_verifier();
    claims_t c = good();
    c.aud = NULL;
    c.aud_json = "[\"other\",\"rentezy-api\"]";
    char *t = hs(c);
    ck_assert_ptr_null(check(v, t, NOW_MS, NULL));
    free(t);
    c.aud_json = "[\"other\",\"more\"]";
    t = hs(c);
    ck_assert_str_eq(check(v, t, NOW_MS, NULL), "audience mismatch");
    free(t);
    rz__jwt_free(v);
}
END_TEST

/* ---- trap 1: an empty key disables verification ----------------------------------- */

START_TEST(test_verifier_refuses_empty_key)
{
    char err[256];
    rz_jwt_opts_t o = {.alg = RZ_JWT_HS256, .key = "", .key_len = 0, .issuer = "i",
                       .audience = "a"};
    ck_assert_ptr_null(rz__jwt_new(&o, err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "no key"));
    o.key = NULL;
    ck_assert_ptr_null(rz__jwt_new(&o, err, sizeof(err)));
}
END_TEST

START_TEST(test_verifier_refuses_short_secret)
{
    char err[256];
    rz_jwt_opts_t o = {.alg = RZ_JWT_HS256, .key = "short-secret-31-bytes-long-xxxx",
                       .key_len = 31, .issuer = "i", .audience = "a"};
    ck_assert_ptr_null(rz__jwt_new(&o, err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "too short"));
}
END_TEST

START_TEST(test_alg_none_is_rejected)
{
    rz_jwt_t *v = hs_verifier();
    char h[128], p[256], t[512];
    b64url("{\"alg\":\"none\",\"typ\":\"JWT\"}", h, sizeof(h));
    b64url("{\"iss\":\"rentezy\",\"aud\":\"rentezy-api\",\"sub\":\"u-1\",\"role\":\"admin\","
           "\"exp\":1800000900}", p, sizeof(p));
    snprintf(t, sizeof(t), "%s.%s.", h, p);
    ck_assert_ptr_nonnull(check(v, t, NOW_MS, NULL));
    /* with some signature bytes attached, libjwt must still not take it */
    snprintf(t, sizeof(t), "%s.%s.c2lnbmF0dXJl", h, p);
    ck_assert_ptr_nonnull(check(v, t, NOW_MS, NULL));
    /* and an unsigned token without the last dot */
    snprintf(t, sizeof(t), "%s.%s", h, p);
    ck_assert_str_eq(check(v, t, NOW_MS, NULL), "malformed token");
    rz__jwt_free(v);
}
END_TEST

START_TEST(test_authz_refuses_empty_secret_file)
{
    char dir[] = "/tmp/rz-jwt-XXXXXX", path[300], text[600], err[512];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/secret", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f); /* empty */
    snprintf(text, sizeof(text), "[auth]\nalgorithm = HS256\njwt_secret_file = %s\n", path);
    rz_config_t *cfg = rz__config_new();
    ck_assert_int_eq(rz__config_parse_buffer(cfg, "t.conf", text, strlen(text), err, sizeof(err)),
                     0);
    ck_assert_int_eq(rz__config_resolve_secrets(cfg, err, sizeof(err)), 0);
    ck_assert_int_eq(rz__authz_configure(cfg, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "no key"));
    rz__config_free(cfg);
    unlink(path);
    rmdir(dir);
}
END_TEST

START_TEST(test_authz_refuses_alg_none_and_unknown_keys)
{
    char err[512];
    const char *bad[] = {
        "[auth]\nalgorithm = none\njwt_secret = 0123456789abcdef0123456789abcdef\n",
        "[auth]\nalgorithm = HS512\njwt_secret = 0123456789abcdef0123456789abcdef\n",
        "[auth]\njwt_secret = 0123456789abcdef0123456789abcdef\nleway = 10s\n",
        "[auth]\nalgorithm = RS256\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        rz_config_t *cfg = rz__config_new();
        ck_assert_int_eq(rz__config_parse_buffer(cfg, "t.conf", bad[i], strlen(bad[i]), err,
                                                 sizeof(err)), 0);
        ck_assert_msg(rz__authz_configure(cfg, err, sizeof(err)) == -1, "accepted: %s", bad[i]);
        rz__config_free(cfg);
    }
}
END_TEST

START_TEST(test_authz_without_auth_section_verifies_nothing)
{
    char err[512];
    const char *why = NULL;
    rz_identity_t id;
    rz_config_t *cfg = rz__config_new();
    ck_assert_int_eq(rz__authz_configure(cfg, err, sizeof(err)), 0);
    char *t = hs(good());
    ck_assert_int_eq(rz__authz_verify(t, &id, &why), -1);
    free(t);
    rz__config_free(cfg);
    rz__authz_shutdown();
}
END_TEST

/* ---- trap 2: no algorithm pinning ---------------------------------------------------- */

START_TEST(test_hs256_signed_with_rsa_public_key_is_rejected)
{
    gen_keys();
    rz_jwt_t *v = pk_verifier(RZ_JWT_RS256, rsa_keys.pub);
    /* The classic confusion: the public PEM used as an HMAC secret. */
    char *t = sign(JWT_ALG_HS256, rsa_keys.pub, strlen(rsa_keys.pub), good());
    const char *why = check(v, t, NOW_MS, NULL);
    ck_assert_ptr_nonnull(why);
    ck_assert_str_eq(why, "algorithm not allowed");
    free(t);
    /* and the genuine RS256 token passes */
    t = sign(JWT_ALG_RS256, rsa_keys.priv, strlen(rsa_keys.priv), good());
    ck_assert_ptr_null(check(v, t, NOW_MS, NULL));
    free(t);
    rz__jwt_free(v);
}
END_TEST

START_TEST(test_es256_token_is_rejected_by_hs256_verifier_and_vice_versa)
{
    gen_keys();
    rz_jwt_t *hsv = hs_verifier(), *esv = pk_verifier(RZ_JWT_ES256, ec_keys.pub);
    char *es = sign(JWT_ALG_ES256, ec_keys.priv, strlen(ec_keys.priv), good());
    char *h = hs(good());
    ck_assert_ptr_null(check(esv, es, NOW_MS, NULL));
    ck_assert_ptr_nonnull(check(hsv, es, NOW_MS, NULL));
    ck_assert_ptr_nonnull(check(esv, h, NOW_MS, NULL));
    free(es);
    free(h);
    rz__jwt_free(hsv);
    rz__jwt_free(esv);
}
END_TEST

START_TEST(test_public_key_must_match_algorithm)
{
    gen_keys();
    char err[256];
    rz_jwt_opts_t o = {.alg = RZ_JWT_RS256, .key = ec_keys.pub, .key_len = strlen(ec_keys.pub),
                       .issuer = "i", .audience = "a"};
    ck_assert_ptr_null(rz__jwt_new(&o, err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "RSA"));
    o.key = rsa_keys.priv; /* the host must never be given the private key */
    o.key_len = strlen(rsa_keys.priv);
    ck_assert_ptr_null(rz__jwt_new(&o, err, sizeof(err)));
    o.key = "not a pem";
    o.key_len = 9;
    ck_assert_ptr_null(rz__jwt_new(&o, err, sizeof(err)));
}
END_TEST

/* ---- tampering --------------------------------------------------------------------- */

START_TEST(test_tampered_payload_is_rejected)
{
    rz_jwt_t *v = hs_verifier();
    char *t = hs(good());
    char *dot1 = strchr(t, '.'), *dot2 = strchr(dot1 + 1, '.');
    char p[256], forged[1024];
    b64url("{\"iss\":\"rentezy\",\"aud\":\"rentezy-api\",\"sub\":\"u-42\",\"role\":\"admin\","
           "\"exp\":1800000900}", p, sizeof(p));
    snprintf(forged, sizeof(forged), "%.*s.%s%s", (int)(dot1 - t), t, p, dot2);
    ck_assert_str_eq(check(v, forged, NOW_MS, NULL), "signature or format is invalid");
    /* one flipped bit in the signature */
    snprintf(forged, sizeof(forged), "%s", t);
    char *last = forged + strlen(forged) - 2;
    *last = *last == 'A' ? 'B' : 'A';
    ck_assert_ptr_nonnull(check(v, forged, NOW_MS, NULL));
    free(t);
    rz__jwt_free(v);
}
END_TEST

START_TEST(test_token_signed_with_another_secret_is_rejected)
{
    rz_jwt_t *v = hs_verifier();
    const char other[] = "another-secret-that-is-long-enough-for-hs256!!";
    char *t = sign(JWT_ALG_HS256, other, strlen(other), good());
    ck_assert_ptr_nonnull(check(v, t, NOW_MS, NULL));
    free(t);
    rz__jwt_free(v);
}
END_TEST

START_TEST(test_garbage_is_malformed)
{
    rz_jwt_t *v = hs_verifier();
    const char *bad[] = {"", "a", "a.b", "a.b.c.d", "..", "a..c", "a.b.c d", "a.b.c\n",
                         "eyJ.eyJ.sig%", NULL};
    for (int i = 0; bad[i]; i++)
        ck_assert_msg(check(v, bad[i], NOW_MS, NULL) != NULL, "accepted '%s'", bad[i]);
    char *huge = malloc(RZ_JWT_MAX_TOKEN + 10);
    memset(huge, 'a', RZ_JWT_MAX_TOKEN + 9);
    huge[10] = '.';
    huge[20] = '.';
    huge[RZ_JWT_MAX_TOKEN + 9] = '\0';
    ck_assert_str_eq(check(v, huge, NOW_MS, NULL), "malformed token");
    free(huge);
    rz__jwt_free(v);
}
END_TEST

/* ---- trap 3: exp, nbf; iss, aud ------------------------------------------------------- */

START_TEST(test_expired_token_is_rejected_beyond_leeway)
{
    rz_jwt_t *v = hs_verifier();
    claims_t c = good();
    c.exp = NOW_S - 31; /* leeway is 30 s */
    char *t = hs(c);
    ck_assert_str_eq(check(v, t, NOW_MS, NULL), "expired");
    free(t);
    c.exp = NOW_S - 10; /* within the leeway */
    t = hs(c);
    ck_assert_ptr_null(check(v, t, NOW_MS, NULL));
    free(t);
    rz__jwt_free(v);
}
END_TEST

START_TEST(test_missing_or_mistyped_exp_is_rejected)
{
    rz_jwt_t *v = hs_verifier();
    claims_t c = good();
    c.exp = 0;
    char *t = hs(c);
    ck_assert_str_eq(check(v, t, NOW_MS, NULL), "no expiry (exp)");
    free(t);
    c.exp_str = "1900000000"; /* a string reads as 0 */
    t = hs(c);
    ck_assert_str_eq(check(v, t, NOW_MS, NULL), "expired");
    free(t);
    rz__jwt_free(v);
}
END_TEST

START_TEST(test_nbf_in_the_future_is_rejected)
{
    rz_jwt_t *v = hs_verifier();
    claims_t c = good();
    c.nbf = NOW_S + 120;
    char *t = hs(c);
    ck_assert_str_eq(check(v, t, NOW_MS, NULL), "not yet valid (nbf)");
    /* not cached while refused: valid once the time comes */
    ck_assert_ptr_null(check(v, t, NOW_MS + 121000, NULL));
    free(t);
    c.nbf = NOW_S + 10; /* within the leeway */
    t = hs(c);
    ck_assert_ptr_null(check(v, t, NOW_MS, NULL));
    free(t);
    rz__jwt_free(v);
}
END_TEST

START_TEST(test_wrong_issuer_or_audience_is_rejected)
{
    rz_jwt_t *v = hs_verifier();
    claims_t c = good();
    c.iss = "evil";
    char *t = hs(c);
    ck_assert_str_eq(check(v, t, NOW_MS, NULL), "issuer mismatch");
    free(t);
    c = good();
    c.iss = NULL;
    t = hs(c);
    ck_assert_str_eq(check(v, t, NOW_MS, NULL), "issuer mismatch");
    free(t);
    c = good();
    c.aud = "another-api";
    t = hs(c);
    ck_assert_str_eq(check(v, t, NOW_MS, NULL), "audience mismatch");
    free(t);
    c.aud = NULL;
    t = hs(c);
    ck_assert_str_eq(check(v, t, NOW_MS, NULL), "audience mismatch");
    free(t);
    rz__jwt_free(v);
}
END_TEST

START_TEST(test_subject_and_role_are_required)
{
    rz_jwt_t *v = hs_verifier();
    claims_t c = good();
    c.role = "superuser";
    char *t = hs(c);
    ck_assert_str_eq(check(v, t, NOW_MS, NULL), "no valid role");
    free(t);
    c = good();
    c.sub = NULL;
    t = hs(c);
    ck_assert_str_eq(check(v, t, NOW_MS, NULL), "no valid subject (sub)");
    free(t);
    c.sub = "has space";
    t = hs(c);
    ck_assert_str_eq(check(v, t, NOW_MS, NULL), "no valid subject (sub)");
    free(t);
    rz__jwt_free(v);
}
END_TEST

/* ---- the cache ----------------------------------------------------------------------- */

START_TEST(test_cache_hits_and_honours_exp)
{
    gen_keys();
    rz_jwt_t *v = pk_verifier(RZ_JWT_RS256, rsa_keys.pub);
    char *t = sign(JWT_ALG_RS256, rsa_keys.priv, strlen(rsa_keys.priv), good());
    rz_identity_t id;
    rz_jwt_stats_t st;
    ck_assert_ptr_null(check(v, t, NOW_MS, &id));
    ck_assert_ptr_null(check(v, t, NOW_MS + 1000, &id));
    ck_assert_ptr_null(check(v, t, NOW_MS + 2000, &id));
    ck_assert_str_eq(id.user, "u-42");
    rz__jwt_stats(v, &st);
    ck_assert_int_eq(st.verified, 1);
    ck_assert_int_eq(st.hits, 2);
    /* past exp + leeway the cached entry is refused too */
    ck_assert_str_eq(check(v, t, (int64_t)(NOW_S + 900 + 31) * 1000, NULL), "expired");
    /* a cached token is not a template: one changed byte misses and fails */
    t[strlen(t) - 3] ^= 1;
    ck_assert_ptr_nonnull(check(v, t, NOW_MS, NULL));
    free(t);
    rz__jwt_free(v);
}
END_TEST

START_TEST(test_verifier_without_cache_still_verifies)
{
    char err[256];
    rz_jwt_opts_t o = {.alg = RZ_JWT_HS256, .key = secret, .key_len = strlen(secret),
                       .issuer = "rentezy", .audience = "rentezy-api", .cache_size = 0};
    rz_jwt_t *v = rz__jwt_new(&o, err, sizeof(err));
    char *t = hs(good());
    ck_assert_ptr_null(check(v, t, NOW_MS, NULL));
    ck_assert_ptr_null(check(v, t, NOW_MS, NULL));
    rz_jwt_stats_t st;
    rz__jwt_stats(v, &st);
    ck_assert_int_eq(st.verified, 2);
    free(t);
    rz__jwt_free(v);
}
END_TEST

START_TEST(test_alg_names)
{
    ck_assert_int_eq(rz__jwt_alg_parse("HS256"), RZ_JWT_HS256);
    ck_assert_int_eq(rz__jwt_alg_parse("RS256"), RZ_JWT_RS256);
    ck_assert_int_eq(rz__jwt_alg_parse("ES256"), RZ_JWT_ES256);
    ck_assert_int_eq(rz__jwt_alg_parse("none"), -1);
    ck_assert_int_eq(rz__jwt_alg_parse("hs256"), -1);
    ck_assert_int_eq(rz__jwt_alg_parse(NULL), -1);
}
END_TEST

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    Suite *s = suite_create("jwt");
    TCase *tc = tcase_create("verify");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_valid_hs256_token_names_user_and_role);
    tcase_add_test(tc, test_audience_may_be_an_array);
    tcase_add_test(tc, test_verifier_refuses_empty_key);
    tcase_add_test(tc, test_verifier_refuses_short_secret);
    tcase_add_test(tc, test_alg_none_is_rejected);
    tcase_add_test(tc, test_authz_refuses_empty_secret_file);
    tcase_add_test(tc, test_authz_refuses_alg_none_and_unknown_keys);
    tcase_add_test(tc, test_authz_without_auth_section_verifies_nothing);
    tcase_add_test(tc, test_hs256_signed_with_rsa_public_key_is_rejected);
    tcase_add_test(tc, test_es256_token_is_rejected_by_hs256_verifier_and_vice_versa);
    tcase_add_test(tc, test_public_key_must_match_algorithm);
    tcase_add_test(tc, test_tampered_payload_is_rejected);
    tcase_add_test(tc, test_token_signed_with_another_secret_is_rejected);
    tcase_add_test(tc, test_garbage_is_malformed);
    tcase_add_test(tc, test_expired_token_is_rejected_beyond_leeway);
    tcase_add_test(tc, test_missing_or_mistyped_exp_is_rejected);
    tcase_add_test(tc, test_nbf_in_the_future_is_rejected);
    tcase_add_test(tc, test_wrong_issuer_or_audience_is_rejected);
    tcase_add_test(tc, test_subject_and_role_are_required);
    tcase_add_test(tc, test_cache_hits_and_honours_exp);
    tcase_add_test(tc, test_verifier_without_cache_still_verifies);
    tcase_add_test(tc, test_alg_names);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    for (keypair_t *k = &rsa_keys; k; k = k == &rsa_keys ? &ec_keys : NULL) {
        free(k->priv);
        free(k->pub);
    }
    return failed ? 1 : 0;
}
