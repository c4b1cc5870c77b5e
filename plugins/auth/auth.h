/*
 * auth.h — what the files of the auth plugin share.  Not part of the SDK.
 *
 * plugin.c     descriptor, configuration, migrations, routes
 * validate.c   request bodies: fields, e-mail, password policy, names
 * passwords.c  argon2id on the host's thread pool
 * tokens.c     access JWTs (libjwt), refresh tokens (random, stored hashed)
 * users.c      register, GET/PATCH /v1/me
 * sessions.c   login, refresh, logout, password change
 *
 * Every handler keeps its per-request state in host->req_alloc memory, so
 * nothing leaks whichever way the request ends; the state lives until the
 * reply, and the reply is always the last thing a callback does.
 */
#ifndef AUTH_H
#define AUTH_H

#include <rentezy/plugin.h>

#include <stddef.h>
#include <stdint.h>

#define AUTH_HIDDEN __attribute__((visibility("hidden")))

#define EMAIL_MAX 254          /* RFC 5321 path limit */
#define NAME_MAX_CHARS 100
#define PASSWORD_MIN 10        /* characters */
#define PASSWORD_MAX 128       /* characters */
#define PASSWORD_MAX_BYTES 512 /* 128 four-byte characters */
#define REFRESH_LEN 43         /* 32 random bytes, base64url without padding */
#define UUID_LEN 36

typedef struct auth {
    const rz_host_t *host;  /* valid until destroy */
    rz_plugin_t *self;
    /* [plugin.auth]; strings owned by the host's configuration */
    int alg;                /* 1 HS256, 2 RS256, 3 ES256 */
    const char *key;        /* HS256 secret, or the private key PEM */
    size_t key_len;
    const char *issuer, *audience;
    int64_t access_ttl_ms, refresh_ttl_ms;
    unsigned long long opslimit;
    size_t memlimit;
    /* a hash of a random password, verified for unknown e-mails so that
     * "no such user" costs what "wrong password" costs */
    char dummy_hash[128];
} auth_t;

extern auth_t auth_g AUTH_HIDDEN;

/* ---- validate.c ---------------------------------------------------------------
 * Each returns 0, or -1 after answering 400 {"error":{"code","message","field"}}. */
AUTH_HIDDEN cJSON *v_body(rz_req_t *req); /* the body, a JSON object, or NULL (answered) */
/* A string field: required, or optional (*out = NULL when absent or null). */
AUTH_HIDDEN int v_string(rz_req_t *req, cJSON *body, const char *field, int required,
                         size_t max_bytes, const char **out);
/* Trim and lower-case into out[EMAIL_MAX + 1]; check the shape. */
AUTH_HIDDEN int v_email(rz_req_t *req, const char *field, const char *in, char *out);
AUTH_HIDDEN int v_password_policy(rz_req_t *req, const char *field, const char *pw);
/* Trim into out (NAME_MAX_CHARS characters at most, no control characters). */
AUTH_HIDDEN int v_name(rz_req_t *req, const char *field, const char *in, char *out, size_t cap);
/* Fields other than allowed[] (NULL-terminated) are refused, naming them. */
AUTH_HIDDEN int v_only(rz_req_t *req, cJSON *body, const char *const *allowed,
                       const char *const *why);
AUTH_HIDDEN int utf8_valid(const char *s, size_t *chars);

/* ---- passwords.c -------------------------------------------------------------- */
/* crypto_pwhash_str with the configured limits; 0 or -1 (out of memory). */
AUTH_HIDDEN int pw_hash(const char *password, char out[128]);
/* 1 when password matches hash; constant time in the password. */
AUTH_HIDDEN int pw_verify(const char *hash, const char *password);
AUTH_HIDDEN int pw_init(char *err, size_t errlen);

/* ---- tokens.c ----------------------------------------------------------------- */
/* Sign an access token for (user, role, session family).  malloc'd (free()),
 * or NULL.  Safe on a pool thread (touches no host service). */
AUTH_HIDDEN char *tok_access(const char *user, const char *role, const char *sid, int64_t now_ms);
/* A new refresh token (out[REFRESH_LEN + 1]) and its SHA-256 as hex (hash[65]). */
AUTH_HIDDEN void tok_refresh_new(char *out, char *hash);
/* SHA-256 hex of a presented refresh token; -1 when it has not the shape. */
AUTH_HIDDEN int tok_refresh_hash(const char *token, char *hash);
/* A random UUID v4 into out[UUID_LEN + 1]. */
AUTH_HIDDEN void tok_uuid(char *out);
AUTH_HIDDEN int tok_is_uuid(const char *s);
/* The "sid" claim of the caller's access token (already verified by the
 * host) into out[UUID_LEN + 1]; -1 when absent. */
AUTH_HIDDEN int tok_caller_sid(rz_req_t *req, char *out);
/* Build the OAuth 2.0 token response and reply 200. */
AUTH_HIDDEN void tok_reply(rz_req_t *req, const char *access, const char *refresh);
AUTH_HIDDEN int tok_init(char *err, size_t errlen);

/* ---- users.c / sessions.c: route handlers ------------------------------------- */
AUTH_HIDDEN void h_register(rz_req_t *req, void *u);
AUTH_HIDDEN void h_me_get(rz_req_t *req, void *u);
AUTH_HIDDEN void h_me_patch(rz_req_t *req, void *u);
AUTH_HIDDEN void h_login(rz_req_t *req, void *u);
AUTH_HIDDEN void h_refresh(rz_req_t *req, void *u);
AUTH_HIDDEN void h_logout(rz_req_t *req, void *u);
AUTH_HIDDEN void h_password(rz_req_t *req, void *u);

/* ---- shared helpers (users.c) ------------------------------------------------- */
/* Answer a failed database result: 503 when unavailable, 500 otherwise
 * (logged); returns 1 when it answered, 0 when res is fine. */
AUTH_HIDDEN int db_failed(rz_req_t *req, rz_dbres_t *res, const char *what);
/* Answer a call that failed at once (no callback will come). */
AUTH_HIDDEN void call_failed(rz_req_t *req, int rc, const char *what);
/* {"id","email","name","role","created_at"} from columns 0..4 of row 0. */
AUTH_HIDDEN cJSON *user_json(rz_dbres_t *res);

#endif
