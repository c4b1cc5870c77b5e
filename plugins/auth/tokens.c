/*
 * tokens.c — the two tokens a login hands out.
 *
 * Access token: a JWT signed with libjwt (HS256 by default; RS256/ES256 with
 * a private key only auth pods hold), claims iss, aud, sub (user id), role,
 * sid (the session: the refresh-token family), iat, exp, jti.  The host
 * verifies it on every request (host/jwtcheck.c) without calling us.
 *
 * Refresh token: 32 random bytes, base64url.  Only its SHA-256 is stored,
 * so a copy of the database does not hold usable tokens; lookups go by the
 * hash (an index probe), so there is no secret-dependent comparison to time.
 */
#include "auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jwt.h>
#include <sodium.h>

#define H (auth_g.host)

static jwt_alg_t jwt_alg(void)
{
    return auth_g.alg == 2 ? JWT_ALG_RS256 : auth_g.alg == 3 ? JWT_ALG_ES256 : JWT_ALG_HS256;
}

char *tok_access(const char *user, const char *role, const char *sid, int64_t now_ms)
{
    jwt_t *j = NULL;
    char *out = NULL, jti[33];
    unsigned char rnd[16];
    long now = (long)(now_ms / 1000);
    randombytes_buf(rnd, sizeof(rnd));
    sodium_bin2hex(jti, sizeof(jti), rnd, sizeof(rnd));
    if (jwt_new(&j) != 0)
        return NULL;
    if (jwt_add_grant(j, "iss", auth_g.issuer) || jwt_add_grant(j, "aud", auth_g.audience) ||
        jwt_add_grant(j, "sub", user) || jwt_add_grant(j, "role", role) ||
        (sid && jwt_add_grant(j, "sid", sid)) || jwt_add_grant(j, "jti", jti) ||
        jwt_add_grant_int(j, "iat", now) ||
        jwt_add_grant_int(j, "exp", now + (long)(auth_g.access_ttl_ms / 1000)) ||
        jwt_set_alg(j, jwt_alg(), (const unsigned char *)auth_g.key, (int)auth_g.key_len))
        goto out;
    out = jwt_encode_str(j);
out:
    jwt_free(j);
    return out;
}

void tok_refresh_new(char *out, char *hash)
{
    unsigned char rnd[32];
    randombytes_buf(rnd, sizeof(rnd));
    sodium_bin2base64(out, REFRESH_LEN + 1, rnd, sizeof(rnd),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(rnd, sizeof(rnd));
    tok_refresh_hash(out, hash);
}

int tok_refresh_hash(const char *token, char *hash)
{
    unsigned char h[crypto_hash_sha256_BYTES];
    if (strlen(token) != REFRESH_LEN)
        return -1;
    for (const char *p = token; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_'))
            return -1;
    crypto_hash_sha256(h, (const unsigned char *)token, REFRESH_LEN);
    sodium_bin2hex(hash, 65, h, sizeof(h));
    return 0;
}

void tok_uuid(char *out)
{
    unsigned char b[16];
    randombytes_buf(b, sizeof(b));
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    snprintf(out, UUID_LEN + 1,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
}

int tok_is_uuid(const char *s)
{
    if (!s || strlen(s) != UUID_LEN)
        return 0;
    for (int i = 0; i < UUID_LEN; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        char c = s[i];
        if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return 0;
    }
    return 1;
}

int tok_caller_sid(rz_req_t *req, char *out)
{
    /* The host verified this token before the handler ran; we only read a
     * claim the host does not expose. */
    const char *h = H->req_header(req, "Authorization");
    const char *dot1 = h ? strchr(h, '.') : NULL, *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    unsigned char *json = NULL;
    size_t len = 0;
    int rc = -1;
    if (!dot2 || dot2 - dot1 > 4096)
        return -1;
    if (!(json = H->req_alloc(req, (size_t)(dot2 - dot1) + 1)) ||
        sodium_base642bin(json, (size_t)(dot2 - dot1), dot1 + 1, (size_t)(dot2 - dot1 - 1), NULL,
                          &len, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return -1;
    cJSON *claims = cJSON_ParseWithLength((const char *)json, len);
    cJSON *sid = cJSON_GetObjectItemCaseSensitive(claims, "sid");
    if (cJSON_IsString(sid) && tok_is_uuid(sid->valuestring)) {
        memcpy(out, sid->valuestring, UUID_LEN + 1);
        rc = 0;
    }
    cJSON_Delete(claims);
    return rc;
}

void tok_reply(rz_req_t *req, const char *access, const char *refresh)
{
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddStringToObject(o, "access_token", access) ||
        !cJSON_AddStringToObject(o, "token_type", "Bearer") ||
        !cJSON_AddNumberToObject(o, "expires_in", (double)(auth_g.access_ttl_ms / 1000)) ||
        !cJSON_AddStringToObject(o, "refresh_token", refresh)) {
        cJSON_Delete(o);
        H->reply_error(req, 500, "internal", NULL, "out of memory");
        return;
    }
    H->resp_header(req, "Pragma", "no-cache"); /* RFC 6749 5.1, with the host's no-store */
    H->reply_json(req, 200, o);
}

int tok_init(char *err, size_t errlen)
{
    /* Sign one token now, so a bad key stops the start instead of failing
     * every login. */
    char *t = tok_access("00000000-0000-4000-8000-000000000000", "tenant", NULL, 0);
    if (!t) {
        snprintf(err, errlen, "[plugin.auth] cannot sign a token with the configured %s key",
                 auth_g.alg == 1 ? "HS256 secret" : "private");
        return -1;
    }
    free(t);
    return 0;
}
