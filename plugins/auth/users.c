/*
 * users.c — POST /v1/auth/register, GET /v1/me, PATCH /v1/me.
 */
#include "auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define H (auth_g.host)

static const char user_cols[] =
    "id::text, email, name, role, to_char(created_at AT TIME ZONE 'UTC', "
    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')";

int db_failed(rz_req_t *req, rz_dbres_t *res, const char *what)
{
    int st = H->dbres_status(res);
    if (st == RZ_OK)
        return 0;
    if (st == RZ_EUNAVAIL) {
        H->reply_error(req, 503, "unavailable", NULL, "the database is unavailable; retry later");
        return 1;
    }
    H->log(auth_g.self, RZ_LOG_ERROR, "%s failed: %s (%s)", what, H->dbres_message(res),
           H->dbres_sqlstate(res) ? H->dbres_sqlstate(res) : "?");
    H->reply_error(req, 500, "internal", NULL, "%s failed", what);
    return 1;
}

void call_failed(rz_req_t *req, int rc, const char *what)
{
    if (rc == RZ_EUNAVAIL || rc == RZ_ESTATE)
        H->reply_error(req, 503, "unavailable", NULL, "%s is unavailable; retry later", what);
    else
        H->reply_error(req, 500, "internal", NULL, "%s failed (error %d)", what, rc);
}

cJSON *user_json(rz_dbres_t *res)
{
    static const char *const names[] = {"id", "email", "name", "role", "created_at"};
    cJSON *o = cJSON_CreateObject();
    for (int c = 0; o && c < 5; c++)
        if (!cJSON_AddStringToObject(o, names[c], H->dbres_value(res, 0, c))) {
            cJSON_Delete(o);
            return NULL;
        }
    return o;
}

static void reply_user(rz_req_t *req, int status, rz_dbres_t *res)
{
    cJSON *o = user_json(res);
    if (!o) {
        H->reply_error(req, 500, "internal", NULL, "out of memory");
        return;
    }
    H->reply_json(req, status, o);
}

/* ---- POST /v1/auth/register ---------------------------------------------------- */

typedef struct reg {
    rz_req_t *req;
    char email[EMAIL_MAX + 1];
    char name[512];
    const char *role;
    char password[PASSWORD_MAX_BYTES + 1];
    char hash[128];
    int hash_rc;
} reg_t;

static void reg_work(void *u)
{
    reg_t *r = u;
    r->hash_rc = pw_hash(r->password, r->hash);
    sodium_memzero(r->password, sizeof(r->password));
}

static void reg_inserted(rz_dbres_t *res, void *u)
{
    reg_t *r = u;
    if (H->dbres_status(res) == RZ_ERR && H->dbres_sqlstate(res) &&
        strcmp(H->dbres_sqlstate(res), "23505") == 0) {
        H->reply_error(r->req, 409, "email_taken", "email",
                       "an account with this e-mail already exists");
        return;
    }
    if (db_failed(r->req, res, "registering the user"))
        return;
    reply_user(r->req, 201, res);
}

static void reg_hashed(void *u)
{
    reg_t *r = u;
    if (r->hash_rc != 0) {
        H->reply_error(r->req, 503, "unavailable", NULL, "password hashing ran out of memory");
        return;
    }
    /* The user and its user.registered event commit together or not at all. */
    char sql[1024];
    snprintf(sql, sizeof(sql),
             "WITH u AS (INSERT INTO auth.users (email, name, role, password_hash) "
             "VALUES ($1, $2, $3, $4) RETURNING *), "
             "e AS (SELECT rentezy.publish('user-events', 'user.registered', 'auth', u.id::text, 1, "
             "jsonb_build_object('id', u.id, 'email', u.email, 'name', u.name, 'role', u.role), "
             "NULL) FROM u) "
             "SELECT %s FROM u CROSS JOIN e", user_cols);
    const char *p[] = {r->email, r->name, r->role, r->hash};
    int rc = H->db_query(auth_g.self, 0, sql, 4, p, reg_inserted, r);
    if (rc != RZ_OK)
        call_failed(r->req, rc, "the database");
}

void h_register(rz_req_t *req, void *u)
{
    static const char *const allowed[] = {"email", "password", "name", "role", NULL};
    cJSON *body = v_body(req);
    const char *email, *password, *name, *role;
    if (!body || v_only(req, body, allowed, NULL) < 0 ||
        v_string(req, body, "email", 1, 1024, &email) < 0 ||
        v_string(req, body, "password", 1, PASSWORD_MAX_BYTES, &password) < 0 ||
        v_string(req, body, "name", 1, 400, &name) < 0 ||
        v_string(req, body, "role", 1, 16, &role) < 0)
        return;
    reg_t *r = H->req_alloc(req, sizeof(*r));
    if (!r) {
        H->reply_error(req, 503, "unavailable", NULL, "out of memory");
        return;
    }
    memset(r, 0, sizeof(*r));
    r->req = req;
    if (v_email(req, "email", email, r->email) < 0 ||
        v_password_policy(req, "password", password) < 0 ||
        v_name(req, "name", name, r->name, sizeof(r->name)) < 0)
        return;
    if (strcmp(role, "tenant") == 0 || strcmp(role, "landlord") == 0) {
        r->role = strcmp(role, "tenant") == 0 ? "tenant" : "landlord";
    } else {
        H->reply_error(req, 400, "invalid", "role", "role must be \"tenant\" or \"landlord\"");
        return;
    }
    memcpy(r->password, password, strlen(password) + 1);
    int rc = H->work(auth_g.self, reg_work, reg_hashed, r);
    if (rc != RZ_OK) {
        sodium_memzero(r->password, sizeof(r->password));
        call_failed(req, rc, "password hashing");
    }
}

/* ---- GET /v1/me, PATCH /v1/me ---------------------------------------------------- */

static void me_loaded(rz_dbres_t *res, void *u)
{
    rz_req_t *req = u;
    if (db_failed(req, res, "reading the user"))
        return;
    if (H->dbres_rows(res) != 1) {
        /* a valid token for a deleted account */
        H->reply_error(req, 404, "not_found", NULL, "this account no longer exists");
        return;
    }
    reply_user(req, 200, res);
}

void h_me_get(rz_req_t *req, void *u)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT %s FROM auth.users WHERE id = $1::uuid", user_cols);
    const char *user = H->req_user(req);
    if (!tok_is_uuid(user)) {
        H->reply_error(req, 404, "not_found", NULL, "this account no longer exists");
        return;
    }
    const char *p[] = {user};
    int rc = H->db_query(auth_g.self, RZ_DB_READONLY, sql, 1, p, me_loaded, req);
    if (rc != RZ_OK)
        call_failed(req, rc, "the database");
}

void h_me_patch(rz_req_t *req, void *u)
{
    static const char *const allowed[] = {"name", NULL};
    static const char *const why[] = {
        "email", "email cannot be changed here",
        "role", "role cannot be changed",
        "password", "use POST /v1/auth/password to change the password",
        "id", "id cannot be changed", NULL};
    cJSON *body = v_body(req);
    const char *name;
    char *clean;
    if (!body || v_only(req, body, allowed, why) < 0 ||
        v_string(req, body, "name", 1, 400, &name) < 0)
        return;
    if (!(clean = H->req_alloc(req, 512))) {
        H->reply_error(req, 503, "unavailable", NULL, "out of memory");
        return;
    }
    if (v_name(req, "name", name, clean, 512) < 0)
        return;
    const char *user = H->req_user(req);
    if (!tok_is_uuid(user)) {
        H->reply_error(req, 404, "not_found", NULL, "this account no longer exists");
        return;
    }
    char sql[320];
    snprintf(sql, sizeof(sql),
             "UPDATE auth.users SET name = $2, updated_at = now() WHERE id = $1::uuid "
             "RETURNING %s", user_cols);
    const char *p[] = {user, clean};
    int rc = H->db_query(auth_g.self, 0, sql, 2, p, me_loaded, req);
    if (rc != RZ_OK)
        call_failed(req, rc, "the database");
}
