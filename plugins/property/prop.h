/*
 * prop.h — what the files of the property plugin share.  Not part of the SDK.
 *
 * plugin.c     descriptor, configuration, migrations, routes, OpenAPI
 * validate.c   request bodies -> a flat JSON document of column values;
 *              the vocabularies (types, amenities, currencies, countries)
 * listings.c   create, get, patch, delete, publish, unpublish, list
 * blocks.c     blackout dates
 * photos.c     photo upload, order and delete
 * media.c      the content-addressed file store and GET /media/{hash}
 * events.c     the write-then-publish transaction every change goes through
 *
 * Ownership: per-request state lives in host->req_alloc memory, freed with
 * the response, so no error path leaks.  The state lives until the reply,
 * and the reply is always the last thing a callback does.
 *
 * Authorization rule (every route applies it through events.c or
 * listings.c): only the owner changes a listing.  Anyone else gets 404 when
 * the listing is not public (a draft or deleted: its existence must not
 * leak) and 403 when it is published (everyone can see it exists).
 */
#ifndef PROP_H
#define PROP_H

#include <rentezy/plugin.h>

#include <stddef.h>
#include <stdint.h>

#define PROP_HIDDEN __attribute__((visibility("hidden")))

#define UUID_LEN 36
#define HASH_HEX 64 /* SHA-256 as lower-case hex */

typedef struct prop {
    const rz_host_t *host; /* valid until destroy */
    rz_plugin_t *self;
    /* [plugin.property]; strings owned by the host's configuration */
    const char *media_dir;   /* where photos live, by content hash */
    uint64_t max_photo_size; /* bytes */
    int64_t max_photos;      /* per listing */
} prop_t;

extern prop_t prop_g PROP_HIDDEN;
#define H (prop_g.host)

/* ---- validate.c ---------------------------------------------------------------
 * Each returns 0, or -1 after answering 400 {"error":{..., "field"}}. */
/* The listing fields of body as a flat object of column values (names of
 * property.properties), ready for jsonb_populate_record.  full: a create
 * (required fields, defaults); otherwise a PATCH (only what is given).
 * *out is owned by the caller (cJSON_Delete). */
PROP_HIDDEN int v_listing(rz_req_t *req, cJSON *body, int full, cJSON **out);
PROP_HIDDEN cJSON *v_body(rz_req_t *req); /* a JSON object, or NULL (answered) */
/* YYYY-MM-DD, a real calendar date; *days = days since 1970-01-01. */
PROP_HIDDEN int v_date(const char *s, int64_t *days);
/* A text field: valid UTF-8, at most max characters, no control characters
 * other than \n and \t when multiline.  1 when fine. */
PROP_HIDDEN int v_text_ok(const char *s, size_t max_chars, int multiline);
PROP_HIDDEN int is_uuid(const char *s);
/* Answer 400 for a CHECK constraint of the schema, naming its field;
 * returns 1 when res was such a violation. */
PROP_HIDDEN int v_constraint(rz_req_t *req, rz_dbres_t *res);

/* ---- events.c ------------------------------------------------------------------ */

/* Why a write changed nothing, when the listing exists, is the caller's and
 * is not deleted (a stale If-Match is told apart before this is asked). */
typedef struct prop_write prop_write_t;
typedef void (*prop_unchanged_fn)(prop_write_t *w, const char *snapshot);
/* Reply after a successful write: snapshot is the listing's JSON text. */
typedef void (*prop_done_fn)(prop_write_t *w, const char *snapshot, int64_t version);

struct prop_write {
    rz_req_t *req;
    char id[UUID_LEN + 1];     /* the listing */
    const char *type;          /* event type: "property.updated", ... */
    int64_t if_match;          /* version from If-Match, or -1 */
    const char *if_match_param; /* the same as text for the write, or NULL */
    char if_match_text[24];
    int status;                /* status of the default reply (200, 201) */
    prop_done_fn done;         /* NULL: reply status with the snapshot */
    prop_unchanged_fn unchanged; /* NULL: reply 200 with the snapshot */
    void *udata;               /* the route's own state */
};

/* Allocate a write for req (request memory) or answer 503 and return NULL.
 * Checks the path's {id} (404 when it is no UUID) and If-Match (428 when
 * required and missing; 412 when it names another listing). */
PROP_HIDDEN prop_write_t *prop_write_new(rz_req_t *req, const char *type, int need_if_match);
/* Run stmts (the write; each must set changed_tx = txid_current() on the
 * listing row when it changed it) and then the statement that publishes
 * the event and reads the snapshot, in one transaction.  Always ends by
 * answering w->req. */
PROP_HIDDEN void prop_write_run(prop_write_t *w, const rz_stmt_t *stmts, int n);
/* The traceparent header when it has the W3C shape, else NULL. */
PROP_HIDDEN const char *prop_traceparent(rz_req_t *req);

/* ---- listings.c ------------------------------------------------------------------ */
PROP_HIDDEN void h_create(rz_req_t *req, void *u);
PROP_HIDDEN void h_get(rz_req_t *req, void *u);
PROP_HIDDEN void h_patch(rz_req_t *req, void *u);
PROP_HIDDEN void h_delete(rz_req_t *req, void *u);
PROP_HIDDEN void h_publish(rz_req_t *req, void *u);
PROP_HIDDEN void h_unpublish(rz_req_t *req, void *u);
PROP_HIDDEN void h_list(rz_req_t *req, void *u);
/* The SELECT list that loads a listing for a reader: owner_id, status,
 * version, published_at IS NOT NULL, snapshot text (from alias p). */
PROP_HIDDEN extern const char prop_read_cols[];
/* The reader may see this listing (published, or theirs); else it answered
 * 404 (or 410 for a listing that was public and is deleted). 1 = visible. */
PROP_HIDDEN int prop_visible(rz_req_t *req, rz_dbres_t *res);
/* ETag of a version: "<id>.<version>" (strong: one version has one JSON). */
PROP_HIDDEN void prop_etag(char *out, size_t cap, const char *id, const char *version);

/* ---- blocks.c ------------------------------------------------------------------ */
PROP_HIDDEN void h_blocks_add(rz_req_t *req, void *u);
PROP_HIDDEN void h_blocks_list(rz_req_t *req, void *u);
PROP_HIDDEN void h_blocks_delete(rz_req_t *req, void *u);

/* ---- photos.c ------------------------------------------------------------------ */
PROP_HIDDEN void h_photos_add(rz_req_t *req, void *u);
PROP_HIDDEN void h_photos_order(rz_req_t *req, void *u);
PROP_HIDDEN void h_photos_delete(rz_req_t *req, void *u);

/* ---- media.c ------------------------------------------------------------------- */
/* "image/jpeg", "image/png" or "image/webp" from the magic bytes, or NULL. */
PROP_HIDDEN const char *media_sniff(const unsigned char *p, size_t n);
/* Store bytes under media_dir as hash (hex of SHA-256, computed into
 * hash[HASH_HEX + 1]): write a temporary file, fsync, rename — readers
 * never see half a file.  Safe on a pool thread.  0, or -1 with errno. */
PROP_HIDDEN int media_store(const void *p, size_t n, char *hash);
/* Create media_dir when missing.  0, or -1 with errno. */
PROP_HIDDEN int media_init(void);
PROP_HIDDEN void h_media(rz_req_t *req, void *u);

/* ---- shared answers (events.c) ---------------------------------------------------- */
/* A failed database result: 503 when unavailable, 500 otherwise (logged).
 * 1 when it answered, 0 when res is fine. */
PROP_HIDDEN int db_failed(rz_req_t *req, rz_dbres_t *res, const char *what);
/* A call that failed at once (no callback will come). */
PROP_HIDDEN void call_failed(rz_req_t *req, int rc, const char *what);
/* A new random UUID v4 into out[UUID_LEN + 1]. */
PROP_HIDDEN void prop_uuid(char *out);
/* Reply status with JSON text that is already encoded (copied by the host). */
PROP_HIDDEN void reply_text(rz_req_t *req, int status, const char *json);

#endif
