/*
 * jwtcheck.h — bearer token verification for the host (libjwt 1.10).
 *
 * libjwt 1.10.2 has three traps (FIELD-NOTES.md), each closed here:
 *   1. an empty key makes jwt_decode accept alg "none" and skip signature
 *      checks: a verifier cannot be built without a key, and HS256 secrets
 *      shorter than RZ_JWT_MIN_SECRET bytes are refused;
 *   2. no algorithm pinning (an HS256 token signed with the RSA public key's
 *      PEM verifies): after decoding, the token's alg must equal the
 *      configured one;
 *   3. exp is not checked: we check exp (required), nbf (optional), iss and
 *      aud ourselves, with a small leeway for clock skew.
 *
 * RS256/ES256 cost 0.5-1 ms per jwt_decode because libjwt parses the PEM
 * key on every call, so verified tokens are cached, keyed by a keyed
 * BLAKE2b hash of the whole token, until they expire.  A cached entry is
 * only ever produced by a full verification with the same verifier, so the
 * cache cannot make a token valid that was not.
 *
 * A verifier is used from one thread (the worker's loop): no locks.
 * (Not named jwt.h: with -Ihost it would shadow libjwt's <jwt.h>.)
 */
#ifndef RZ_JWTCHECK_H
#define RZ_JWTCHECK_H

#include <stddef.h>
#include <stdint.h>

#include "authz.h"

#define RZ_JWT_MIN_SECRET 32   /* bytes; RFC 7518 3.2: key >= hash output */
#define RZ_JWT_MAX_TOKEN 8192  /* longer Authorization values are refused */

enum rz_jwt_alg { RZ_JWT_HS256 = 1, RZ_JWT_RS256, RZ_JWT_ES256 };

typedef struct rz_jwt_opts {
    int alg;                 /* enum rz_jwt_alg */
    const void *key;         /* HS256: the secret; RS/ES256: public key PEM */
    size_t key_len;
    const char *issuer;      /* required: the "iss" every token must carry */
    const char *audience;    /* required: must be "aud" or one of its items */
    int64_t leeway_ms;       /* clock skew allowed on exp and nbf */
    size_t cache_size;       /* verified tokens kept; 0 disables the cache */
} rz_jwt_opts_t;

typedef struct rz_jwt rz_jwt_t;

/* "HS256" -> RZ_JWT_HS256 ...; -1 for anything else (including "none"). */
int rz__jwt_alg_parse(const char *name);
const char *rz__jwt_alg_name(int alg);

/* Build a verifier; every option is copied.  NULL with err set when an
 * option is missing or unsafe (no key, a short secret, a PEM that does not
 * hold a public key of the algorithm's type).  Free with rz__jwt_free. */
rz_jwt_t *rz__jwt_new(const rz_jwt_opts_t *opts, char *err, size_t errlen);
void rz__jwt_free(rz_jwt_t *v);

/* Verify token (the compact form, without "Bearer ") at time now_ms.
 * 0 with *id filled, or -1 with *why set to a static, client-safe reason
 * ("expired", "signature or format is invalid", "audience mismatch", ...). */
int rz__jwt_verify(rz_jwt_t *v, const char *token, int64_t now_ms, rz_identity_t *id,
                   const char **why);

/* Cache figures since rz__jwt_new, for /metrics and tests. */
typedef struct rz_jwt_stats {
    uint64_t hits, misses, verified, rejected;
} rz_jwt_stats_t;
void rz__jwt_stats(const rz_jwt_t *v, rz_jwt_stats_t *out);

#endif
