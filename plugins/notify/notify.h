/*
 * notify.h — what the files of the notify plugin share.  Not part of the SDK.
 *
 * plugin.c     descriptor, configuration, migrations, routes, subscriptions,
 *              jobs, the `notify` WebSocket channel
 * render.c     the template table and the {placeholder} renderer
 * consume.c    every topic (shared group "notify"): read models, recipients,
 *              one notify.deliver() per event, WebSocket pushes
 * inbox.c      GET /v1/notifications, unread_count, read, read_all
 * prefs.c      GET/PUT /v1/notifications/preferences
 * webhooks.c   POST/GET/DELETE /v1/webhooks, GET /v1/webhooks/{id}/deliveries
 * send.c       the "email" and "webhook" job handlers
 * smtp.c       a blocking SMTP client (pool thread only)
 * http_post.c  a blocking HTTP/1.1 POST (pool thread only) and its signature
 * net.c        URL parsing and connecting with timeouts (pool thread only)
 * util.c       answers for failures, UUIDs
 *
 * Ownership: per-request state lives in host->req_alloc memory; per-event
 * and per-job state is malloc'd and freed right after bus_done / job_done.
 * Memory handed to a pool thread is owned by the job's state until the
 * after-callback runs on the loop thread.
 */
#ifndef NOTIFY_H
#define NOTIFY_H

#include <rentezy/plugin.h>

#include <stddef.h>
#include <stdint.h>

#define NT_HIDDEN __attribute__((visibility("hidden")))
#define UUID_LEN 36
#define NT_ERRLEN 256

typedef struct nt {
    const rz_host_t *host;   /* valid until destroy */
    rz_plugin_t *self;
    const char *smtp_url;    /* [plugin.notify] smtp_url (NULL: e-mail off) */
    const char *from;        /* from = "RentEzy <no-reply@rentezy.invalid>" */
    const char *helo;        /* helo = "rentezy.invalid" */
    int64_t smtp_timeout_ms; /* smtp_timeout = 10s */
    int64_t hook_timeout_ms; /* webhook_timeout = 5s */
    int64_t hook_max_failures; /* webhook_max_failures = 5 */
    int64_t hook_max_per_owner; /* webhook_max_per_owner = 10 */
    int allow_private;       /* webhook_allow_private = false */
    int allow_http;          /* webhook_allow_http = true */
    const char *group;       /* group = "notify" */
    int64_t max_age_ms;      /* max_event_age = 1d */
    char kind_email[64];     /* "email", or "email.<group>" */
    char kind_webhook[64];   /* "webhook", or "webhook.<group>" */
} nt_t;

extern nt_t nt_g NT_HIDDEN;
#define H (nt_g.host)

/* ---- render.c ---------------------------------------------------------------- */

enum { NT_CAT_BOOKING, NT_CAT_PAYMENT, NT_CAT_RENT, NT_CAT_VISIT, NT_CAT_CHAT, NT_CAT_LISTING,
       NT_NCAT };
extern const char *const nt_categories[NT_NCAT + 1] NT_HIDDEN; /* NULL-terminated */
NT_HIDDEN int nt_category_index(const char *name); /* -1 when unknown */

/* One template: for event `type`, the recipient in `role` (tenant, landlord,
 * recipient, holders) gets title and body.  {name} is replaced by the event
 * data's field (dotted paths reach into objects; money objects print as
 * "120.50 EUR"); {name|text} gives text when the field is absent or null;
 * {property} is left for notify.deliver to fill with the listing's title. */
typedef struct nt_tmpl {
    const char *type;
    const char *role;
    int category;
    const char *title;
    const char *body;
} nt_tmpl_t;

/* The templates of type (n of them), or NULL when the type is not ours. */
NT_HIDDEN const nt_tmpl_t *nt_templates(const char *type, int *n);
/* Render text with data; malloc'd result (caller frees), NULL on ENOMEM. */
NT_HIDDEN char *nt_render(const char *text, const cJSON *data);

/* ---- consume.c -------------------------------------------------------------- */

NT_HIDDEN void nt_on_event(rz_event_t *ev, void *udata);

/* ---- inbox.c, prefs.c, webhooks.c -------------------------------------------- */

NT_HIDDEN void h_list(rz_req_t *req, void *u);
NT_HIDDEN void h_unread(rz_req_t *req, void *u);
NT_HIDDEN void h_read(rz_req_t *req, void *u);
NT_HIDDEN void h_read_all(rz_req_t *req, void *u);
NT_HIDDEN void h_prefs_get(rz_req_t *req, void *u);
NT_HIDDEN void h_prefs_put(rz_req_t *req, void *u);
NT_HIDDEN void h_hook_create(rz_req_t *req, void *u);
NT_HIDDEN void h_hook_list(rz_req_t *req, void *u);
NT_HIDDEN void h_hook_get(rz_req_t *req, void *u);
NT_HIDDEN void h_hook_delete(rz_req_t *req, void *u);
NT_HIDDEN void h_hook_deliveries(rz_req_t *req, void *u);

/* ---- send.c ------------------------------------------------------------------ */

NT_HIDDEN void nt_job_email(rz_job_t *job, void *u);
NT_HIDDEN void nt_job_webhook(rz_job_t *job, void *u);

/* ---- net.c (pool threads) ------------------------------------------------------ */

typedef struct nt_url {
    int https;
    char host[256];
    char port[8];
    char path[2048]; /* with the query; "/" when empty */
} nt_url_t;

/* Parse an absolute http(s) URL; no userinfo, no fragment, no spaces or
 * control characters, at most 2048 bytes.  0, or -1 with why. */
NT_HIDDEN int nt_url_parse(const char *s, nt_url_t *u, const char **why);
/* Connect with a timeout and set send/receive timeouts on the socket.
 * Refuses loopback, private and link-local addresses unless allow_private.
 * The fd, or -1 with err filled. */
NT_HIDDEN int nt_connect(const char *host, const char *port, int64_t timeout_ms,
                         int allow_private, char *err, size_t errlen);
NT_HIDDEN int nt_write_all(int fd, const char *p, size_t n);

/* ---- smtp.c, http_post.c (pool threads) ------------------------------------------------- */

enum { NT_SEND_OK = 0, NT_SEND_RETRY = 1, NT_SEND_FAIL = 2 };
/* One message over SMTP; NT_SEND_* with err filled on failure. */
NT_HIDDEN int nt_smtp_send(const char *url, const char *helo, const char *from, const char *to,
                           const char *subject, const char *body, int64_t timeout_ms,
                           char *err, size_t errlen);
/* "t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>" into out (>= 128). */
NT_HIDDEN void nt_sign(const char *secret, long long t, const char *body, char *out, size_t n);
/* POST body to url; *status the HTTP status (0 when none came). */
NT_HIDDEN int nt_http_post(const char *url, const char *body, const char *signature,
                           const char *type, const char *delivery, int64_t timeout_ms,
                           int allow_private, int *status, char *err, size_t errlen);

/* ---- util.c ------------------------------------------------------------------- */

NT_HIDDEN int nt_db_failed(rz_req_t *req, rz_dbres_t *res, const char *what);
NT_HIDDEN void nt_call_failed(rz_req_t *req, int rc, const char *what);
NT_HIDDEN void nt_reply_text(rz_req_t *req, int status, const char *json);
NT_HIDDEN int nt_is_uuid(const char *s);
NT_HIDDEN void nt_ms_text(int64_t ms, char out[24]);
/* ?limit= (default 20, 1..100) and ?cursor= (a decimal sequence number);
 * 0, or -1 after answering 400. */
NT_HIDDEN int nt_page(rz_req_t *req, char limit[8], const char **cursor);

#endif
