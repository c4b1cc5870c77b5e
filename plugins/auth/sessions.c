/*
 * sessions.c — login, refresh (rotation with reuse detection), logout and
 * password change.
 *
 * A session is a refresh-token family: login starts one (its id is the
 * access token's "sid"), every refresh replaces the family's live token,
 * and presenting a token that was already replaced revokes the whole family
 * (OAuth 2.0 Security BCP 4.14: whoever holds the newer token, thief or
 * owner, loses it, and both must log in again).
 */
#include "auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define H (auth_g.host)

static const char bad_credentials[] = "the e-mail or password is wrong";

static void ms_text(char *buf, size_t cap, int64_t v) { snprintf(buf, cap, "%lld", (long long)v); }

/* ---- POST /v1/auth/login ----------------------------------------------------------- */

typedef struct login {
    rz_req_t *req;
    char email[EMAIL_MAX + 1];
    char password[PASSWORD_MAX_BYTES + 1];
    char hash[128];              /* the user's, or the dummy */
    char user[UUID_LEN + 1];     /* empty: unknown e-mail */
    char role[16];
    char sid[UUID_LEN + 1];
    char refresh[REFRESH_LEN + 1], refresh_hash[65];
    char *access;                /* malloc'd by the pool thread; freed in finish */
    int64_t now_ms;
    int ok;
} login_t;

static void login_work(void *u)
{
    login_t *l = u;
    /* Always one full argon2id verification, user or not. */
    int ok = pw_verify(l->hash, l->password);
    sodium_memzero(l->password, sizeof(l->password));
    l->ok = ok && l->user[0];
    if (l->ok) /* RS256/ES256 signing costs a millisecond: do it here too */
        l->access = tok_access(l->user, l->role, l->sid, l->now_ms);
}

static void login_stored(rz_dbres_t *res, void *u)
{
    login_t *l = u;
    char *access = l->access;
    l->access = NULL;
    if (!db_failed(l->req, res, "starting the session"))
        tok_reply(l->req, access, l->refresh);
    sodium_memzero(access, strlen(access));
    free(access);
}

static void login_verified(void *u)
{
    login_t *l = u;
    if (!l->ok) {
        H->resp_header(l->req, "WWW-Authenticate", "Bearer realm=\"rentezy\"");
        H->reply_error(l->req, 401, "invalid_credentials", NULL, bad_credentials);
        return;
    }
    if (!l->access) {
        H->reply_error(l->req, 500, "internal", NULL, "cannot sign the access token");
        return;
    }
    char now[24], ttl[24];
    ms_text(now, sizeof(now), l->now_ms);
    ms_text(ttl, sizeof(ttl), auth_g.refresh_ttl_ms);
    const char *p[] = {l->refresh_hash, l->sid, l->user, now, ttl};
    int rc = H->db_query(auth_g.self, 0,
                         "INSERT INTO auth.refresh_tokens (token_hash, family_id, user_id, "
                         "created_at, expires_at) SELECT decode($1, 'hex'), $2::uuid, $3::uuid, "
                         "t, t + $5::bigint * interval '1 millisecond' "
                         "FROM to_timestamp($4::bigint / 1000.0) AS t",
                         5, p, login_stored, l);
    if (rc != RZ_OK) {
        free(l->access);
        l->access = NULL;
        call_failed(l->req, rc, "the database");
    }
}

static void login_loaded(rz_dbres_t *res, void *u)
{
    login_t *l = u;
    if (db_failed(l->req, res, "looking up the user")) {
        sodium_memzero(l->password, sizeof(l->password));
        return;
    }
    if (H->dbres_rows(res) == 1) {
        snprintf(l->user, sizeof(l->user), "%s", H->dbres_value(res, 0, 0));
        snprintf(l->hash, sizeof(l->hash), "%s", H->dbres_value(res, 0, 1));
        snprintf(l->role, sizeof(l->role), "%s", H->dbres_value(res, 0, 2));
    } else {
        memcpy(l->hash, auth_g.dummy_hash, sizeof(l->hash));
    }
    int rc = H->work(auth_g.self, login_work, login_verified, l);
    if (rc != RZ_OK) {
        sodium_memzero(l->password, sizeof(l->password));
        call_failed(l->req, rc, "password checking");
    }
}

void h_login(rz_req_t *req, void *u)
{
    static const char *const allowed[] = {"email", "password", NULL};
    cJSON *body = v_body(req);
    const char *email, *password;
    if (!body || v_only(req, body, allowed, NULL) < 0 ||
        v_string(req, body, "email", 1, 1024, &email) < 0 ||
        v_string(req, body, "password", 1, PASSWORD_MAX_BYTES, &password) < 0)
        return;
    login_t *l = H->req_alloc(req, sizeof(*l));
    if (!l) {
        H->reply_error(req, 503, "unavailable", NULL, "out of memory");
        return;
    }
    memset(l, 0, sizeof(*l));
    l->req = req;
    if (v_email(req, "email", email, l->email) < 0)
        return;
    if (password[0] == '\0') {
        H->reply_error(req, 400, "missing", "password", "password must not be empty");
        return;
    }
    memcpy(l->password, password, strlen(password) + 1);
    l->now_ms = H->now_ms();
    tok_uuid(l->sid);
    tok_refresh_new(l->refresh, l->refresh_hash);
    const char *p[] = {l->email};
    int rc = H->db_query(auth_g.self, 0,
                         "SELECT id::text, password_hash, role FROM auth.users WHERE email = $1",
                         1, p, login_loaded, l);
    if (rc != RZ_OK) {
        sodium_memzero(l->password, sizeof(l->password));
        call_failed(req, rc, "the database");
    }
}

/* ---- POST /v1/auth/refresh ----------------------------------------------------------- */

typedef struct refresh {
    rz_req_t *req;
    char refresh[REFRESH_LEN + 1], refresh_hash[65];
} refresh_t;

static void invalid_grant(rz_req_t *req, const char *msg)
{
    H->reply_error(req, 401, "invalid_grant", "refresh_token", "%s", msg);
}

static void refresh_rotated(rz_dbres_t *res, void *u)
{
    refresh_t *r = u;
    if (db_failed(r->req, res, "rotating the refresh token"))
        return;
    const char *outcome = H->dbres_rows(res) == 1 ? H->dbres_value(res, 0, 0) : "unknown";
    if (strcmp(outcome, "reused") == 0) {
        H->log(auth_g.self, RZ_LOG_WARN, "refresh token reuse for user %s: session %s revoked",
               H->dbres_value(res, 0, 1), H->dbres_value(res, 0, 3));
        invalid_grant(r->req, "this refresh token was already used; the session is revoked, "
                              "log in again");
        return;
    }
    if (strcmp(outcome, "ok") != 0) {
        invalid_grant(r->req, strcmp(outcome, "expired") == 0
                                  ? "the refresh token has expired; log in again"
                                  : "the refresh token is not valid; log in again");
        return;
    }
    char *access = tok_access(H->dbres_value(res, 0, 1), H->dbres_value(res, 0, 2),
                              H->dbres_value(res, 0, 3), H->now_ms());
    if (!access) {
        H->reply_error(r->req, 500, "internal", NULL, "cannot sign the access token");
        return;
    }
    tok_reply(r->req, access, r->refresh);
    free(access);
}

void h_refresh(rz_req_t *req, void *u)
{
    static const char *const allowed[] = {"refresh_token", NULL};
    cJSON *body = v_body(req);
    const char *token;
    if (!body || v_only(req, body, allowed, NULL) < 0 ||
        v_string(req, body, "refresh_token", 1, 256, &token) < 0)
        return;
    refresh_t *r = H->req_alloc(req, sizeof(*r));
    char old_hash[65];
    if (!r) {
        H->reply_error(req, 503, "unavailable", NULL, "out of memory");
        return;
    }
    r->req = req;
    if (tok_refresh_hash(token, old_hash) < 0) {
        H->reply_error(req, 400, "invalid", "refresh_token",
                       "refresh_token must be the 43-character token a login returned");
        return;
    }
    tok_refresh_new(r->refresh, r->refresh_hash);
    char now[24], ttl[24];
    ms_text(now, sizeof(now), H->now_ms());
    ms_text(ttl, sizeof(ttl), auth_g.refresh_ttl_ms);
    const char *p[] = {old_hash, r->refresh_hash, now, ttl};
    int rc = H->db_query(auth_g.self, 0,
                         "SELECT o_outcome, o_user::text, o_role, o_family::text FROM "
                         "auth.rotate_refresh(decode($1, 'hex'), decode($2, 'hex'), "
                         "to_timestamp($3::bigint / 1000.0), $4::bigint * interval '1 millisecond')",
                         4, p, refresh_rotated, r);
    if (rc != RZ_OK)
        call_failed(req, rc, "the database");
}

/* ---- POST /v1/auth/logout ---------------------------------------------------------------- */

static void logged_out(rz_dbres_t *res, void *u)
{
    rz_req_t *req = u;
    if (!db_failed(req, res, "revoking the session"))
        H->reply(req, 204, NULL, NULL, 0);
}

void h_logout(rz_req_t *req, void *u)
{
    static const char *const allowed[] = {"refresh_token", NULL};
    const char *token = NULL;
    char sid[UUID_LEN + 1], hash[65];
    size_t blen = 0;
    H->req_body(req, &blen);
    if (blen > 0) { /* the body is optional */
        cJSON *body = v_body(req);
        if (!body || v_only(req, body, allowed, NULL) < 0 ||
            v_string(req, body, "refresh_token", 0, 256, &token) < 0)
            return;
        if (token && tok_refresh_hash(token, hash) < 0) {
            H->reply_error(req, 400, "invalid", "refresh_token",
                           "refresh_token must be the 43-character token a login returned");
            return;
        }
    }
    int have_sid = tok_caller_sid(req, sid) == 0;
    char now[24];
    ms_text(now, sizeof(now), H->now_ms());
    /* The caller's own session, and the family of a token they present if
     * it is theirs.  Access tokens already issued expire on their own
     * (access_ttl); that is the price of stateless verification. */
    const char *p[] = {H->req_user(req), have_sid ? sid : NULL, now, token ? hash : NULL};
    if (!tok_is_uuid(p[0])) {
        H->reply(req, 204, NULL, NULL, 0);
        return;
    }
    int rc = H->db_query(auth_g.self, 0,
                         "UPDATE auth.refresh_tokens SET revoked_at = to_timestamp($3::bigint / "
                         "1000.0) WHERE user_id = $1::uuid AND revoked_at IS NULL AND "
                         "(family_id = $2::uuid OR family_id = (SELECT family_id FROM "
                         "auth.refresh_tokens WHERE token_hash = decode($4, 'hex') AND user_id = "
                         "$1::uuid))",
                         4, p, logged_out, req);
    if (rc != RZ_OK)
        call_failed(req, rc, "the database");
}

/* ---- POST /v1/auth/password ---------------------------------------------------------------- */

typedef struct pwchange {
    rz_req_t *req;
    char user[UUID_LEN + 1], sid[UUID_LEN + 1];
    char current[PASSWORD_MAX_BYTES + 1], next[PASSWORD_MAX_BYTES + 1];
    char hash[128];     /* in: the stored hash; out: the new one */
    int ok, hash_rc;
} pwchange_t;

static void pw_work(void *u)
{
    pwchange_t *c = u;
    c->ok = pw_verify(c->hash, c->current);
    if (c->ok)
        c->hash_rc = pw_hash(c->next, c->hash);
    sodium_memzero(c->current, sizeof(c->current));
    sodium_memzero(c->next, sizeof(c->next));
}

static void pw_saved(rz_dbres_t *res, void *u)
{
    pwchange_t *c = u;
    if (!db_failed(c->req, res, "changing the password"))
        H->reply(c->req, 204, NULL, NULL, 0);
}

static void pw_done(void *u)
{
    pwchange_t *c = u;
    if (!c->ok) {
        H->reply_error(c->req, 403, "invalid_credentials", "current_password",
                       "current_password is wrong");
        return;
    }
    if (c->hash_rc != 0) {
        H->reply_error(c->req, 503, "unavailable", NULL, "password hashing ran out of memory");
        return;
    }
    char now[24];
    ms_text(now, sizeof(now), H->now_ms());
    /* Every other session ends; the caller's own (sid) stays logged in. */
    const char *p1[] = {c->user, c->hash};
    const char *p2[] = {c->user, c->sid[0] ? c->sid : NULL, now};
    rz_stmt_t tx[] = {
        {"UPDATE auth.users SET password_hash = $2, updated_at = now() WHERE id = $1::uuid", 2,
         p1},
        {"UPDATE auth.refresh_tokens SET revoked_at = to_timestamp($3::bigint / 1000.0) "
         "WHERE user_id = $1::uuid AND revoked_at IS NULL "
         "AND family_id IS DISTINCT FROM $2::uuid", 3, p2},
    };
    int rc = H->db_tx(auth_g.self, tx, 2, pw_saved, c);
    if (rc != RZ_OK)
        call_failed(c->req, rc, "the database");
}

static void pw_loaded(rz_dbres_t *res, void *u)
{
    pwchange_t *c = u;
    if (db_failed(c->req, res, "reading the user"))
        goto wipe;
    if (H->dbres_rows(res) != 1) {
        H->reply_error(c->req, 404, "not_found", NULL, "this account no longer exists");
        goto wipe;
    }
    snprintf(c->hash, sizeof(c->hash), "%s", H->dbres_value(res, 0, 0));
    int rc = H->work(auth_g.self, pw_work, pw_done, c);
    if (rc == RZ_OK)
        return;
    call_failed(c->req, rc, "password hashing");
wipe:
    sodium_memzero(c->current, sizeof(c->current));
    sodium_memzero(c->next, sizeof(c->next));
}

void h_password(rz_req_t *req, void *u)
{
    static const char *const allowed[] = {"current_password", "new_password", NULL};
    cJSON *body = v_body(req);
    const char *cur, *next;
    if (!body || v_only(req, body, allowed, NULL) < 0 ||
        v_string(req, body, "current_password", 1, PASSWORD_MAX_BYTES, &cur) < 0 ||
        v_string(req, body, "new_password", 1, PASSWORD_MAX_BYTES, &next) < 0 ||
        v_password_policy(req, "new_password", next) < 0)
        return;
    const char *user = H->req_user(req);
    if (!tok_is_uuid(user)) {
        H->reply_error(req, 404, "not_found", NULL, "this account no longer exists");
        return;
    }
    pwchange_t *c = H->req_alloc(req, sizeof(*c));
    if (!c) {
        H->reply_error(req, 503, "unavailable", NULL, "out of memory");
        return;
    }
    memset(c, 0, sizeof(*c));
    c->req = req;
    memcpy(c->user, user, UUID_LEN + 1);
    if (tok_caller_sid(req, c->sid) < 0)
        c->sid[0] = '\0';
    memcpy(c->current, cur, strlen(cur) + 1);
    memcpy(c->next, next, strlen(next) + 1);
    const char *p[] = {c->user};
    int rc = H->db_query(auth_g.self, 0, "SELECT password_hash FROM auth.users WHERE id = $1::uuid",
                         1, p, pw_loaded, c);
    if (rc != RZ_OK) {
        sodium_memzero(c->current, sizeof(c->current));
        sodium_memzero(c->next, sizeof(c->next));
        call_failed(req, rc, "the database");
    }
}
