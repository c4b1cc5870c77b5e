/*
 * chat.h — what the files of the chat plugin share.  Not part of the SDK.
 *
 * plugin.c     descriptor, configuration, migrations, routes, channel, bus
 * props.c      the read model of listings, fed by property-events
 * rest.c       the REST routes (conversations, history, fallback send)
 * channel.c    the WebSocket channel "chat": send, resume, read, typing, ping
 * presence.c   per-worker users (connections, rate limit) and presence
 * batch.c      sends stored in batches, one transaction each
 * util.c       small helpers: ids, JSON, text checks, the delivery fan-out
 *
 * Ownership: a REST request's state is host->req_alloc memory (freed with
 * the response).  A WebSocket connection's chat_conn_t is ours: created in
 * on_open, referenced by every query in flight, freed when on_close has run
 * and the last query came back (the host's rz_ws_t is invalid after
 * on_close, so callbacks test conn->ws first).
 */
#ifndef CHAT_H
#define CHAT_H

#include <rentezy/plugin.h>

#include <stddef.h>
#include <stdint.h>

#define CHAT_HIDDEN __attribute__((visibility("hidden")))
#define UUID_LEN 36
#define CLIENT_ID_MAX 64  /* client_msg_id: 1..64 bytes */
#define USER_MAX 128

typedef struct chat {
    const rz_host_t *host; /* valid until destroy */
    rz_plugin_t *self;
    /* [plugin.chat] */
    uint64_t max_message_size; /* body bytes */
    int64_t rate;              /* messages per user per second (per worker) */
    int64_t burst;
    int64_t presence_ttl_ms;   /* lease of a worker's presence rows */
    char node[96];             /* this worker: host:pid:start, set in start */
    int64_t last_beat_ms;
    int beat_due;              /* the heartbeat timer fired: renew at the next sync */
    rz_timer_t *beat;          /* every presence_ttl/3 (ABI 1.2); NULL on an older host */
    int64_t users;             /* users with a connection in this worker */
} chat_t;

extern chat_t chat_g CHAT_HIDDEN;
#define H (chat_g.host)

/* ---- presence.c: users of this worker ---------------------------------------- */
typedef struct chat_user {
    struct chat_user *next;       /* in its hash bucket */
    struct chat_user *dirty_next; /* in the list of users to sync */
    int conns;        /* open connections in this worker */
    int in_db;        /* the database has been told this worker holds the user */
    int dirty;        /* in the dirty list */
    double tokens;    /* rate limit bucket */
    int64_t last_ms;
    char id[USER_MAX];
} chat_user_t;

/* Count one more connection of user (creates the entry); NULL on ENOMEM. */
CHAT_HIDDEN chat_user_t *user_attach(const char *user);
/* One connection fewer.  The entry lives on until the database has been
 * told (presence.c frees it); the caller must not use it afterwards. */
CHAT_HIDDEN void user_detach(chat_user_t *u);
/* Take one token: 1 allowed, 0 over the limit. */
CHAT_HIDDEN int user_allow(chat_user_t *u);
/* Tell the database what changed, and renew this worker's leases when a
 * third of presence_ttl has passed: one statement at a time, in order. */
CHAT_HIDDEN void presence_tick(void);
/* start: the heartbeat timer (ABI 1.2 hosts); stop: cancel it. */
CHAT_HIDDEN void presence_start(void);
CHAT_HIDDEN void presence_stop(void);

/* ---- channel.c -------------------------------------------------------------- */
typedef struct op op_t;

typedef struct chat_conn {
    rz_ws_t *ws;      /* NULL once closed */
    int in_batch;     /* its sends in a dispatched batch (all in batch_no) */
    uint64_t batch_no;
    int refs;         /* 1 while open + 1 per query in flight */
    chat_user_t *user; /* counted in presence.c; NULL once closed */
    char uid[USER_MAX]; /* the user's id, valid for queries still in flight */
} chat_conn_t;

/* One request of a connection: a send waiting for or in a batch, or a
 * query of its own.  Holds a reference on c. */
struct op {
    op_t *next;       /* in the send queue (batch.c) */
    chat_conn_t *c;
    char conv[UUID_LEN + 1];
    char client[CLIENT_ID_MAX + 1];
    char num[24];
    char *ids, *seqs; /* resume: owned arrays as text */
    char *body;       /* send: owned */
};

CHAT_HIDDEN op_t *op_new(chat_conn_t *c); /* NULL on ENOMEM */
CHAT_HIDDEN void op_free(op_t *o);        /* drops the reference on o->c */
/* {type:"error", code, message[, client_msg_id][, conversation_id]} */
CHAT_HIDDEN void send_error(rz_ws_t *ws, const char *code, const char *client, const char *conv,
                            const char *fmt, ...) RZ_PRINTF(5, 6);
/* The ack of a stored send (dup: a resend of a stored one); m is the
 * stored message. */
CHAT_HIDDEN void send_ack(op_t *o, cJSON *m, int dup);

CHAT_HIDDEN void ch_open(rz_ws_t *ws, void *u);
CHAT_HIDDEN void ch_message(rz_ws_t *ws, cJSON *msg, void *u);
CHAT_HIDDEN void ch_close(rz_ws_t *ws, void *u);

/* ---- batch.c: sends are stored in batches ----------------------------------------
 * Sends wait in one queue per worker; up to BATCH_INFLIGHT batches of up to
 * BATCH_MAX sends each run at once, each one transaction (chat.send_many),
 * so a burst costs a few commits, not one per message.  A connection's
 * sends are never in two batches at once, so they are stored, acknowledged
 * and delivered in the order they were sent. */
CHAT_HIDDEN void send_enqueue(op_t *o); /* takes o */
/* The connection closed: drop its sends that are not in a batch yet (never
 * acknowledged: the client resends them with the same client_msg_id). */
CHAT_HIDDEN void send_drop(chat_conn_t *c);

/* ---- props.c ---------------------------------------------------------------- */
CHAT_HIDDEN void on_property_event(rz_event_t *ev, void *u);

/* ---- rest.c ----------------------------------------------------------------- */
CHAT_HIDDEN void h_conv_open(rz_req_t *req, void *u);
CHAT_HIDDEN void h_conv_list(rz_req_t *req, void *u);
CHAT_HIDDEN void h_msg_list(rz_req_t *req, void *u);
CHAT_HIDDEN void h_msg_post(rz_req_t *req, void *u);

/* ---- util.c ----------------------------------------------------------------- */
CHAT_HIDDEN int is_uuid(const char *s);
/* A message body: valid length (1..max_message_size bytes) and no control
 * characters but \n, \r and \t.  NULL when fine, else why not. */
CHAT_HIDDEN const char *body_problem(const char *s);
/* client_msg_id: 1..64 printable ASCII bytes. */
CHAT_HIDDEN int client_id_ok(const char *s);
CHAT_HIDDEN void i64_text(int64_t v, char out[24]);
/* A growing PostgreSQL array literal "{...}" of quoted text elements. */
typedef struct arr {
    char *s;     /* owned, NUL-terminated once arr_end succeeded */
    size_t len, cap;
    int oom;
} arr_t;
CHAT_HIDDEN void arr_add(arr_t *a, const char *v);
CHAT_HIDDEN const char *arr_end(arr_t *a); /* NULL on ENOMEM */
/* The SQL result of chat.send (status, recipient, msg) delivered: the stored
 * message as {type:"message", ...} to every connection of both members (a
 * reference {type:"message_ref"} when it is too big for the fan-out).
 * Returns the message's JSON (caller frees) or NULL. */
CHAT_HIDDEN cJSON *deliver_sent(const char *sender, const char *recipient, const char *msg_json);
/* {type, conversation_id, ...} to a user everywhere; takes msg. */
CHAT_HIDDEN void push_user(const char *user, cJSON *msg);
/* The traceparent header when it has the W3C shape, else NULL. */
CHAT_HIDDEN const char *traceparent_of(rz_req_t *req);

#endif
