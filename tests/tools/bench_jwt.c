/*
 * bench_jwt — nanoseconds per bearer token check (host/jwtcheck.c), for
 * HS256, RS256 and ES256, with the verified-token cache and without it.
 *
 *   bench_jwt [-n ITERATIONS] [-j]     (-j: one JSON object on stdout)
 *
 * "cached" is the cost every request after a token's first pays: a keyed
 * BLAKE2b of the token and one table probe.  "full" is jwt_decode plus our
 * claim checks: what the first request with a token pays.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sodium.h>

#include "jwtcheck.h"

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static char *pem(EVP_PKEY *pk, int private)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (private)
        PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL);
    else
        PEM_write_bio_PUBKEY(b, pk);
    char *data;
    long n = BIO_get_mem_data(b, &data);
    char *out = strndup(data, (size_t)n);
    BIO_free(b);
    return out;
}

static char *sign(jwt_alg_t alg, const char *key, long now)
{
    jwt_t *j = NULL;
    jwt_new(&j);
    jwt_add_grant(j, "iss", "rentezy");
    jwt_add_grant(j, "aud", "rentezy-api");
    jwt_add_grant(j, "sub", "9b2f4c1e-7d3a-4f7e-8a55-0c1d2e3f4a5b");
    jwt_add_grant(j, "role", "tenant");
    jwt_add_grant(j, "sid", "1c9e7a52-3b4d-4e6f-9a8b-7c6d5e4f3a2b");
    jwt_add_grant_int(j, "iat", now);
    jwt_add_grant_int(j, "exp", now + 900);
    jwt_set_alg(j, alg, (const unsigned char *)key, (int)strlen(key));
    char *t = jwt_encode_str(j);
    jwt_free(j);
    return t;
}

/* ns per verification of token over n rounds (cache_size 0 = no cache). */
static double measure(int alg, const char *pub, const char *token, size_t cache, int n)
{
    char err[256];
    rz_jwt_opts_t o = {.alg = alg, .key = pub, .key_len = strlen(pub), .issuer = "rentezy",
                       .audience = "rentezy-api", .leeway_ms = 30000, .cache_size = cache};
    rz_jwt_t *v = rz__jwt_new(&o, err, sizeof(err));
    if (!v) {
        fprintf(stderr, "bench_jwt: %s\n", err);
        exit(1);
    }
    rz_identity_t id;
    const char *why;
    int64_t now_ms = (int64_t)time(NULL) * 1000;
    if (rz__jwt_verify(v, token, now_ms, &id, &why) != 0) { /* warm up; fills the cache */
        fprintf(stderr, "bench_jwt: token refused: %s\n", why);
        exit(1);
    }
    double t0 = now_ns();
    for (int i = 0; i < n; i++)
        if (rz__jwt_verify(v, token, now_ms, &id, &why) != 0)
            exit(1);
    double ns = (now_ns() - t0) / n;
    rz__jwt_free(v);
    return ns;
}

int main(int argc, char **argv)
{
    int n = 20000, json = 0, c;
    while ((c = getopt(argc, argv, "n:j")) != -1) {
        if (c == 'n')
            n = atoi(optarg);
        else if (c == 'j')
            json = 1;
        else
            return 2;
    }
    if (sodium_init() < 0 || n < 10)
        return 1;
    long now = (long)time(NULL);
    const char *secret = "bench-secret-0123456789abcdef0123456789abcdef";
    EVP_PKEY *rsa = EVP_RSA_gen(2048), *ec = EVP_EC_gen("P-256");
    char *rsa_priv = pem(rsa, 1), *rsa_pub = pem(rsa, 0), *ec_priv = pem(ec, 1),
         *ec_pub = pem(ec, 0);
    char *hs = sign(JWT_ALG_HS256, secret, now), *rs = sign(JWT_ALG_RS256, rsa_priv, now),
         *es = sign(JWT_ALG_ES256, ec_priv, now);
    int slow = n / 20 < 10 ? 10 : n / 20; /* RS/ES full checks are ~1000x slower */
    struct { const char *name; double full, cached; } r[] = {
        {"HS256", measure(RZ_JWT_HS256, secret, hs, 0, n), measure(RZ_JWT_HS256, secret, hs, 4096, n)},
        {"RS256", measure(RZ_JWT_RS256, rsa_pub, rs, 0, slow), measure(RZ_JWT_RS256, rsa_pub, rs, 4096, n)},
        {"ES256", measure(RZ_JWT_ES256, ec_pub, es, 0, slow), measure(RZ_JWT_ES256, ec_pub, es, 4096, n)},
    };
    if (json) {
        printf("{");
        for (int i = 0; i < 3; i++)
            printf("%s\"%s\":{\"full_ns\":%.0f,\"cached_ns\":%.0f}", i ? "," : "", r[i].name,
                   r[i].full, r[i].cached);
        printf("}\n");
    } else {
        printf("%-8s %14s %14s\n", "alg", "full ns/check", "cached ns/check");
        for (int i = 0; i < 3; i++)
            printf("%-8s %14.0f %14.0f\n", r[i].name, r[i].full, r[i].cached);
    }
    free(hs);
    free(rs);
    free(es);
    free(rsa_priv);
    free(rsa_pub);
    free(ec_priv);
    free(ec_pub);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec);
    return 0;
}
