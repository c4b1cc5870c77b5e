/*
 * photos.c — POST /v1/properties/{id}/photos (the body is the image itself),
 * PUT .../photos/order {"ids": [...]}, DELETE .../photos/{photo_id}.
 *
 * An upload is JPEG, PNG or WebP by its magic bytes — the client's
 * Content-Type must name an image type but is not believed — and at most
 * max_photo_size bytes.  The bytes are stored by content hash on the thread
 * pool (media.c), then one transaction adds the row under the listing's
 * row lock (so max_photos holds against concurrent uploads), bumps the
 * version and publishes property.updated.
 *
 * The upload route's body limit is max_photo_size (plugin.c), so the host
 * answers 413 to a larger Content-Length before reading the body.
 */
#include "prop.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define BUMP "version = p.version + 1, changed_tx = txid_current(), updated_at = now()"
#define MINE                                                                         \
    "p.id = $1::uuid AND p.owner_id = $2::uuid AND p.status <> 'deleted' AND "        \
    "($3::bigint IS NULL OR p.version = $3::bigint)"
/* Taking the listing's row lock first serialises writers of one listing,
 * so the statements after it count photos exactly. */
#define LOCK "SELECT 1 FROM property.properties p WHERE " MINE " FOR UPDATE"

typedef struct upload {
    prop_write_t *w;
    const unsigned char *bytes; /* the request body */
    size_t len;
    const char *type;
    char hash[HASH_HEX + 1];
    char photo[UUID_LEN + 1];
    char size[24], max[24];
    int rc, err;                /* media_store's result and errno */
} upload_t;

static void photo_added(prop_write_t *w, const char *snap, int64_t version)
{
    upload_t *up = w->udata;
    char loc[128], url[HASH_HEX + 8];
    snprintf(loc, sizeof(loc), "/v1/properties/%s/photos/%s", w->id, up->photo);
    snprintf(url, sizeof(url), "/media/%s", up->hash);
    H->resp_header(w->req, "Location", loc);
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddStringToObject(o, "id", up->photo) ||
        !cJSON_AddStringToObject(o, "url", url) || !cJSON_AddStringToObject(o, "hash", up->hash) ||
        !cJSON_AddStringToObject(o, "content_type", up->type) ||
        !cJSON_AddNumberToObject(o, "size", (double)up->len) ||
        !cJSON_AddNumberToObject(o, "version", (double)version)) {
        cJSON_Delete(o);
        call_failed(w->req, RZ_ENOMEM, "memory");
        return;
    }
    H->reply_json(w->req, 201, o);
}

static void photo_limit(prop_write_t *w, const char *snap)
{
    H->reply_error(w->req, 409, "too_many_photos", NULL, "a listing holds at most %lld photos",
                   (long long)prop_g.max_photos);
}

static void store(void *u)
{
    upload_t *up = u;
    up->rc = media_store(up->bytes, up->len, up->hash);
    up->err = errno;
}

static void stored(void *u)
{
    static const char insert_sql[] =
        "INSERT INTO property.photos (id, property_id, hash, content_type, size, position) "
        "SELECT $4::uuid, $1::uuid, $5, $6, $7::bigint, coalesce(max(ph.position) + 1, 0) "
        "FROM property.photos ph WHERE ph.property_id = $1::uuid "
        "HAVING count(*) < $8::int "
        "AND EXISTS (SELECT 1 FROM property.properties p WHERE " MINE ")";
    static const char bump_sql[] =
        "UPDATE property.properties p SET " BUMP " WHERE p.id = $1::uuid "
        "AND EXISTS (SELECT 1 FROM property.photos WHERE id = $2::uuid)";
    upload_t *up = u;
    prop_write_t *w = up->w;
    if (up->rc != 0) {
        H->log(prop_g.self, RZ_LOG_ERROR, "storing a photo under %s: %s", prop_g.media_dir,
               strerror(up->err));
        H->reply_error(w->req, 500, "internal", NULL, "the photo could not be stored");
        return;
    }
    const char *user = H->req_user(w->req);
    const char *lock_p[] = {w->id, user, w->if_match_param};
    const char *ins_p[] = {w->id,    user,     w->if_match_param, up->photo,
                           up->hash, up->type, up->size,          up->max};
    const char *bump_p[] = {w->id, up->photo};
    rz_stmt_t st[] = {
        {.sql = LOCK, .nparams = 3, .params = lock_p},
        {.sql = insert_sql, .nparams = 8, .params = ins_p},
        {.sql = bump_sql, .nparams = 2, .params = bump_p},
    };
    prop_write_run(w, st, 3);
}

void h_photos_add(rz_req_t *req, void *u)
{
    const char *ct = H->req_header(req, "Content-Type");
    size_t len = 0;
    const unsigned char *body = H->req_body(req, &len);
    if (!ct || strncmp(ct, "image/", 6) != 0) {
        H->reply_error(req, 415, "unsupported_media_type", NULL,
                       "send the image bytes as the body with Content-Type image/jpeg, "
                       "image/png or image/webp");
        return;
    }
    if (!body || len == 0) {
        H->reply_error(req, 400, "missing", NULL, "the body is empty: send the image bytes");
        return;
    }
    if (len > prop_g.max_photo_size) {
        H->reply_error(req, 413, "body_too_large", NULL, "a photo is at most %llu bytes",
                       (unsigned long long)prop_g.max_photo_size);
        return;
    }
    const char *type = media_sniff(body, len);
    if (!type) {
        H->reply_error(req, 415, "unsupported_media_type", NULL,
                       "the bytes are not a JPEG, PNG or WebP image");
        return;
    }
    prop_write_t *w = prop_write_new(req, "property.updated", 0);
    upload_t *up = w ? H->req_alloc(req, sizeof(*up)) : NULL;
    if (!w)
        return;
    if (!up) {
        call_failed(req, RZ_ENOMEM, "memory");
        return;
    }
    memset(up, 0, sizeof(*up));
    up->w = w;
    up->bytes = body;
    up->len = len;
    up->type = type;
    prop_uuid(up->photo);
    snprintf(up->size, sizeof(up->size), "%zu", len);
    snprintf(up->max, sizeof(up->max), "%lld", (long long)prop_g.max_photos);
    w->udata = up;
    w->done = photo_added;
    w->unchanged = photo_limit;
    /* Stored before the row exists: a failed transaction leaves an orphan
     * file (harmless, and the same bytes reuse it), never a row without a
     * file. */
    int rc = H->work(prop_g.self, store, stored, up);
    if (rc != RZ_OK)
        call_failed(req, rc, "the file store");
}

/* ---- PUT /v1/properties/{id}/photos/order ------------------------------------------ */

static void not_a_permutation(prop_write_t *w, const char *snap)
{
    H->reply_error(w->req, 400, "invalid", "ids",
                   "ids must list every photo of the listing exactly once");
}

void h_photos_order(rz_req_t *req, void *u)
{
    /* the same set of ids, or nothing changes */
#define SAME_SET                                                                          \
    "(SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM property.photos "              \
    "WHERE property_id = $1::uuid) = "                                                     \
    "(SELECT coalesce(array_agg(x ORDER BY x), '{}') FROM unnest($4::uuid[]) x)"
    static const char order_sql[] =
        "UPDATE property.photos ph SET position = o.ord::int - 1 "
        "FROM unnest($4::uuid[]) WITH ORDINALITY o(id, ord) "
        "WHERE ph.id = o.id AND ph.property_id = $1::uuid "
        "AND EXISTS (SELECT 1 FROM property.properties p WHERE " MINE ") AND " SAME_SET;
    static const char bump_sql[] =
        "UPDATE property.properties p SET " BUMP " WHERE " MINE " AND " SAME_SET;
#undef SAME_SET
    cJSON *body = v_body(req), *ids, *it;
    prop_write_t *w = body ? prop_write_new(req, "property.updated", 0) : NULL;
    if (!w)
        return;
    ids = cJSON_GetObjectItemCaseSensitive(body, "ids");
    cJSON_ArrayForEach(it, body) if (strcmp(it->string, "ids") != 0) {
        H->reply_error(req, 400, "unknown_field", it->string, "%s is not a field", it->string);
        return;
    }
    if (!ids) {
        H->reply_error(req, 400, "missing", "ids", "ids is required");
        return;
    }
    int n = cJSON_GetArraySize(ids);
    if (!cJSON_IsArray(ids) || n > prop_g.max_photos) {
        H->reply_error(req, 400, "invalid", "ids", "ids must be an array of at most %lld photo ids",
                       (long long)prop_g.max_photos);
        return;
    }
    /* a PostgreSQL array literal of validated UUIDs: {a,b,c} */
    char *arr = H->req_alloc(req, (size_t)n * (UUID_LEN + 1) + 3), *o = arr;
    if (!arr) {
        call_failed(req, RZ_ENOMEM, "memory");
        return;
    }
    *o++ = '{';
    cJSON_ArrayForEach(it, ids) {
        if (!cJSON_IsString(it) || !is_uuid(it->valuestring)) {
            H->reply_error(req, 400, "invalid", "ids", "ids must hold photo ids (UUIDs)");
            return;
        }
        if (o > arr + 1)
            *o++ = ',';
        memcpy(o, it->valuestring, UUID_LEN);
        o += UUID_LEN;
    }
    *o++ = '}';
    *o = '\0';
    w->unchanged = not_a_permutation;
    const char *user = H->req_user(req);
    const char *lock_p[] = {w->id, user, w->if_match_param};
    const char *p[] = {w->id, user, w->if_match_param, arr};
    rz_stmt_t st[] = {
        {.sql = LOCK, .nparams = 3, .params = lock_p},
        {.sql = order_sql, .nparams = 4, .params = p},
        {.sql = bump_sql, .nparams = 4, .params = p},
    };
    prop_write_run(w, st, 3);
}

/* ---- DELETE /v1/properties/{id}/photos/{photo_id} ---------------------------------- */

static void photo_gone(prop_write_t *w, const char *snap, int64_t version)
{
    H->reply(w->req, 204, NULL, NULL, 0);
}

static void no_photo(prop_write_t *w, const char *snap)
{
    H->reply_error(w->req, 404, "not_found", NULL, "no such photo");
}

void h_photos_delete(rz_req_t *req, void *u)
{
    static const char sql[] =
        "WITH d AS (DELETE FROM property.photos ph USING property.properties p "
        "WHERE ph.id = $4::uuid AND ph.property_id = p.id AND " MINE
        " RETURNING ph.property_id) "
        "UPDATE property.properties p SET " BUMP " WHERE p.id IN (SELECT property_id FROM d)";
    prop_write_t *w = prop_write_new(req, "property.updated", 0);
    if (!w)
        return;
    const char *photo = H->req_param(req, "photo_id");
    if (!is_uuid(photo)) {
        H->reply_error(req, 404, "not_found", NULL, "no such photo");
        return;
    }
    w->done = photo_gone;
    w->unchanged = no_photo;
    const char *p[] = {w->id, H->req_user(req), w->if_match_param, photo};
    rz_stmt_t st = {.sql = sql, .nparams = 4, .params = p};
    prop_write_run(w, &st, 1);
}
