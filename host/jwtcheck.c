/*
 * jwtcheck.c — bearer token verification with libjwt 1.10 and a cache of
 * verified tokens.  See jwtcheck.h for the traps this file closes.
 */
#include "jwtcheck.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sodium.h>

#define HASH_LEN 32

/* One verified token.  exp_ms == 0 marks a free slot. */
typedef struct cache_entry {
    unsigned char hash[HASH_LEN];
    int64_t exp_ms;             /* the token's exp, in ms */
    char user[sizeof(((rz_identity_t *)0)->user)];
    char role[sizeof(((rz_identity_t *)0)->role)];
} cache_entry_t;

struct rz_jwt {
    int alg;
    jwt_alg_t jalg;
    unsigned char *key;         /* owned; NUL-terminated copy (PEM parsers like that) */
    size_t key_len;
    char *issuer, *audience;    /* owned */
    int64_t leeway_ms;
    cache_entry_t *cache;       /* owned; cache_mask + 1 entries, or NULL */
    size_t cache_mask;
    unsigned char hash_key[crypto_generichash_KEYBYTES]; /* random per verifier */
    rz_jwt_stats_t stats;
};

int rz__jwt_alg_parse(const char *name)
{
    if (!name)
        return -1;
    if (strcmp(name, "HS256") == 0)
        return RZ_JWT_HS256;
    if (strcmp(name, "RS256") == 0)
        return RZ_JWT_RS256;
    if (strcmp(name, "ES256") == 0)
        return RZ_JWT_ES256;
    return -1;
}

const char *rz__jwt_alg_name(int alg)
{
    switch (alg) {
    case RZ_JWT_HS256: return "HS256";
    case RZ_JWT_RS256: return "RS256";
    case RZ_JWT_ES256: return "ES256";
    default: return "?";
    }
}

/* The PEM must hold a public key of the algorithm's family: a private key,
 * a certificate or an EC key for RS256 is a configuration error we report
 * at start rather than as 401s on every request. */
static int check_public_key(int alg, const unsigned char *pem, size_t len, char *err,
                            size_t errlen)
{
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *pk = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
    int id = pk ? EVP_PKEY_base_id(pk) : 0;
    int ok = 0;
    if (!pk)
        snprintf(err, errlen,
                 "[auth] public_key: not a PEM public key (\"-----BEGIN PUBLIC KEY-----\"); "
                 "the host needs only the public half");
    else if (alg == RZ_JWT_RS256 && id != EVP_PKEY_RSA)
        snprintf(err, errlen, "[auth] public_key: RS256 needs an RSA public key");
    else if (alg == RZ_JWT_ES256 && id != EVP_PKEY_EC)
        snprintf(err, errlen, "[auth] public_key: ES256 needs an EC (P-256) public key");
    else
        ok = 1;
    EVP_PKEY_free(pk);
    BIO_free(bio);
    return ok ? 0 : -1;
}

rz_jwt_t *rz__jwt_new(const rz_jwt_opts_t *o, char *err, size_t errlen)
{
    rz_jwt_t *v = NULL;
    if (!o || (o->alg != RZ_JWT_HS256 && o->alg != RZ_JWT_RS256 && o->alg != RZ_JWT_ES256)) {
        snprintf(err, errlen, "[auth] algorithm: expected HS256, RS256 or ES256");
        return NULL;
    }
    /* Trap 1: never let an empty key reach jwt_decode. */
    if (!o->key || o->key_len == 0) {
        snprintf(err, errlen, "[auth] %s: no key configured (set %s)",
                 o->alg == RZ_JWT_HS256 ? "jwt_secret" : "public_key",
                 o->alg == RZ_JWT_HS256 ? "jwt_secret_file" : "public_key_file");
        return NULL;
    }
    if (o->alg == RZ_JWT_HS256 && o->key_len < RZ_JWT_MIN_SECRET) {
        snprintf(err, errlen, "[auth] jwt_secret: %zu bytes is too short; HS256 needs at least %d "
                 "random bytes (e.g. `head -c 48 /dev/urandom | base64`)",
                 o->key_len, RZ_JWT_MIN_SECRET);
        return NULL;
    }
    if (o->key_len > 65536) {
        snprintf(err, errlen, "[auth] key: larger than 64 KiB");
        return NULL;
    }
    if (o->alg != RZ_JWT_HS256 && check_public_key(o->alg, o->key, o->key_len, err, errlen) < 0)
        return NULL;
    if (!o->issuer || !*o->issuer || !o->audience || !*o->audience) {
        snprintf(err, errlen, "[auth] issuer and audience must not be empty");
        return NULL;
    }
    if (o->leeway_ms < 0 || o->leeway_ms > 300000) {
        snprintf(err, errlen, "[auth] leeway: expected 0 to 5m");
        return NULL;
    }
    if (!(v = calloc(1, sizeof(*v))))
        goto nomem;
    v->alg = o->alg;
    v->jalg = o->alg == RZ_JWT_HS256 ? JWT_ALG_HS256
              : o->alg == RZ_JWT_RS256 ? JWT_ALG_RS256 : JWT_ALG_ES256;
    v->leeway_ms = o->leeway_ms;
    v->key_len = o->key_len;
    if (!(v->key = malloc(o->key_len + 1)) || !(v->issuer = strdup(o->issuer)) ||
        !(v->audience = strdup(o->audience)))
        goto nomem;
    memcpy(v->key, o->key, o->key_len);
    v->key[o->key_len] = '\0';
    if (o->cache_size > 0) {
        size_t n = 1;
        while (n < o->cache_size && n < ((size_t)1 << 24))
            n <<= 1;
        if (!(v->cache = calloc(n, sizeof(*v->cache))))
            goto nomem;
        v->cache_mask = n - 1;
    }
    randombytes_buf(v->hash_key, sizeof(v->hash_key));
    return v;
nomem:
    snprintf(err, errlen, "out of memory");
    rz__jwt_free(v);
    return NULL;
}

void rz__jwt_free(rz_jwt_t *v)
{
    if (!v)
        return;
    if (v->key)
        sodium_memzero(v->key, v->key_len);
    free(v->key);
    free(v->issuer);
    free(v->audience);
    free(v->cache);
    free(v);
}

void rz__jwt_stats(const rz_jwt_t *v, rz_jwt_stats_t *out)
{
    if (v)
        *out = v->stats;
    else
        memset(out, 0, sizeof(*out));
}

/* header.payload.signature, base64url only, all three parts present: an
 * unsigned token (alg "none" has an empty signature) never reaches libjwt. */
static int well_formed(const char *t, size_t len)
{
    size_t dots = 0, seg = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = t[i];
        if (ch == '.') {
            if (seg == 0)
                return 0;
            dots++;
            seg = 0;
        } else if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                   (ch >= '0' && ch <= '9') || ch == '-' || ch == '_') {
            seg++;
        } else {
            return 0;
        }
    }
    return dots == 2 && seg > 0;
}

/* aud is a string or an array of strings (RFC 7519 4.1.3). */
static int audience_ok(jwt_t *j, const char *want)
{
    const char *s = jwt_get_grant(j, "aud");
    if (s)
        return strcmp(s, want) == 0;
    char *json = jwt_get_grants_json(j, "aud");
    if (!json)
        return 0;
    cJSON *arr = cJSON_Parse(json), *it;
    int ok = 0;
    free(json);
    if (cJSON_IsArray(arr)) {
        cJSON_ArrayForEach(it, arr)
        {
            if (cJSON_IsString(it) && strcmp(it->valuestring, want) == 0)
                ok = 1;
        }
    }
    cJSON_Delete(arr);
    return ok;
}

static int role_ok(const char *r)
{
    return r && (strcmp(r, "tenant") == 0 || strcmp(r, "landlord") == 0 ||
                 strcmp(r, "admin") == 0);
}

static int subject_ok(const char *s, size_t cap)
{
    if (!s || !*s || strlen(s) >= cap)
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f || *s == '"' || *s == '\\')
            return 0;
    return 1;
}

/* The full check: signature by libjwt, everything else here. */
static int verify_full(rz_jwt_t *v, const char *token, int64_t now_ms, rz_identity_t *id,
                       const char **why)
{
    jwt_t *j = NULL;
    int rc = -1;
    /* key_len > 0 always (rz__jwt_new): trap 1 cannot happen here. */
    if (jwt_decode(&j, token, v->key, (int)v->key_len) != 0 || !j) {
        *why = "signature or format is invalid";
        goto out;
    }
    /* Trap 2: libjwt verified with whatever algorithm the token named. */
    if (jwt_get_alg(j) != v->jalg) {
        *why = "algorithm not allowed";
        goto out;
    }
    const char *iss = jwt_get_grant(j, "iss");
    if (!iss || strcmp(iss, v->issuer) != 0) {
        *why = "issuer mismatch";
        goto out;
    }
    if (!audience_ok(j, v->audience)) {
        *why = "audience mismatch";
        goto out;
    }
    /* Trap 3: exp is ours to check.  A missing exp is ENOENT; a string or a
     * float reads as 0, which is in the past. */
    errno = 0;
    long exp = jwt_get_grant_int(j, "exp");
    if (errno == ENOENT) {
        *why = "no expiry (exp)";
        goto out;
    }
    if (exp <= 0 || exp > 4102444800L /* 2100 */ || (int64_t)exp * 1000 + v->leeway_ms <= now_ms) {
        *why = "expired";
        goto out;
    }
    errno = 0;
    long nbf = jwt_get_grant_int(j, "nbf");
    if (errno != ENOENT && (int64_t)nbf * 1000 - v->leeway_ms > now_ms) {
        *why = "not yet valid (nbf)";
        goto out;
    }
    const char *sub = jwt_get_grant(j, "sub"), *role = jwt_get_grant(j, "role");
    if (!subject_ok(sub, sizeof(id->user))) {
        *why = "no valid subject (sub)";
        goto out;
    }
    if (!role_ok(role)) {
        *why = "no valid role";
        goto out;
    }
    snprintf(id->user, sizeof(id->user), "%s", sub);
    snprintf(id->role, sizeof(id->role), "%s", role);
    id->exp_ms = (int64_t)exp * 1000;
    rc = 0;
out:
    jwt_free(j);
    return rc;
}

int rz__jwt_verify(rz_jwt_t *v, const char *token, int64_t now_ms, rz_identity_t *id,
                   const char **why)
{
    size_t len = token ? strlen(token) : 0;
    if (!v) {
        *why = "no token verifier is configured";
        return -1;
    }
    if (len == 0 || len > RZ_JWT_MAX_TOKEN || !well_formed(token, len)) {
        v->stats.rejected++;
        *why = "malformed token";
        return -1;
    }
    unsigned char h[HASH_LEN];
    cache_entry_t *e = NULL;
    if (v->cache) {
        crypto_generichash(h, sizeof(h), (const unsigned char *)token, len, v->hash_key,
                           sizeof(v->hash_key));
        uint64_t slot;
        memcpy(&slot, h, sizeof(slot));
        e = &v->cache[slot & v->cache_mask];
        /* Hashes are not secret (the key is), but compare in constant time
         * anyway: it costs nothing at 32 bytes. */
        if (e->exp_ms != 0 && sodium_memcmp(e->hash, h, sizeof(h)) == 0) {
            if (e->exp_ms + v->leeway_ms > now_ms) {
                v->stats.hits++;
                memcpy(id->user, e->user, sizeof(id->user));
                memcpy(id->role, e->role, sizeof(id->role));
                id->exp_ms = e->exp_ms;
                return 0;
            }
            e->exp_ms = 0; /* expired: the slot is free again */
            v->stats.rejected++;
            *why = "expired";
            return -1;
        }
        v->stats.misses++;
    }
    if (verify_full(v, token, now_ms, id, why) < 0) {
        v->stats.rejected++;
        return -1;
    }
    v->stats.verified++;
    /* Only tokens valid now are cached, so nbf needs no check on a hit.
     * A collision of slots just evicts: the next use verifies again. */
    if (e) {
        memcpy(e->hash, h, sizeof(h));
        e->exp_ms = id->exp_ms;
        memcpy(e->user, id->user, sizeof(e->user));
        memcpy(e->role, id->role, sizeof(e->role));
    }
    return 0;
}
