/*
 * batch.c — sends stored in batches (see chat.h).  One transaction per
 * message would cap a worker at the database's commit rate; a queue per
 * worker and a few batches in flight turn a burst into a few transactions
 * (group commit) while a lone message still goes out at once.
 *
 * Order: a connection's sends are never in two batches in flight at once
 * (they could commit in either order), and chat.send_many stores a batch in
 * array order, so one sender's messages are stored, acknowledged and
 * delivered in the order they were sent.
 *
 * Ownership: queued ops are the queue's; a dispatched batch owns its ops
 * (and their references on connections) until its callback has run.
 */
#include "chat.h"

#include <stdlib.h>
#include <string.h>

#define BATCH_MAX 256
#define BATCH_INFLIGHT 3 /* the pool has 4 connections by default: leave one */
#define BATCH_TRIES 8

typedef struct batch {
    uint64_t no;
    int n, tries;
    op_t *ops[BATCH_MAX];
} batch_t;

static op_t *head, *tail; /* the queue, in arrival order */
static int inflight;
static uint64_t next_no = 1;

static void kick(void);
static void dispatch(batch_t *b);

/* rentezy.publish refuses (40001) when a transaction with a later xid has
 * already published on the same conversation.  A row lock (FOR UPDATE)
 * assigns the xid before it waits, so batches queued behind one another on
 * a conversation used to get exactly that, again and again under load.  So
 * a batch first takes transaction-level advisory locks on its conversations
 * (they need no xid), in key order (no deadlock between batches): its xid
 * comes after every earlier writer of those conversations has committed.
 * What is left (a REST send racing a batch) is retried with a new
 * transaction. */
static int retryable(rz_dbres_t *res)
{
    const char *st = H->dbres_sqlstate(res);
    return st && (strcmp(st, "40001") == 0 || strcmp(st, "40P01") == 0);
}

static void fail_batch(batch_t *b, const char *code, const char *why)
{
    for (int i = 0; i < b->n; i++) {
        op_t *o = b->ops[i];
        if (o->c->ws)
            send_error(o->c->ws, code, o->client, o->conv, "%s", why);
    }
}

static void done(rz_dbres_t *res, void *u)
{
    batch_t *b = u;
    int st = H->dbres_status(res);
    if (st == RZ_ERR && retryable(res) && ++b->tries < BATCH_TRIES) {
        inflight--;
        dispatch(b);
        return;
    }
    if (st != RZ_OK) {
        if (st != RZ_EUNAVAIL)
            H->log(chat_g.self, RZ_LOG_ERROR, "storing %d messages: %s", b->n,
                   H->dbres_message(res));
        fail_batch(b, st == RZ_EUNAVAIL ? "unavailable" : "internal",
                   "the message was not stored; resend it");
    } else {
        int rows = H->dbres_rows(res);
        for (int r = 0; r < rows && r < b->n; r++) {
            op_t *o = b->ops[r];
            const char *status = H->dbres_value(res, r, 0);
            if (strcmp(status, "not_found") == 0) {
                if (o->c->ws)
                    send_error(o->c->ws, "not_found", o->client, o->conv, "no conversation %s",
                               o->conv);
                continue;
            }
            const char *msg = H->dbres_value(res, r, 2);
            int dup = strcmp(status, "duplicate") == 0;
            cJSON *m = dup ? cJSON_Parse(msg) : deliver_sent(o->c->uid, H->dbres_value(res, r, 1), msg);
            send_ack(o, m, dup);
            cJSON_Delete(m);
        }
        if (H->abi_minor >= 2)
            H->counter_add(chat_g.self, "sends_answered_total",
                           "WebSocket sends answered after a batch (stored, duplicate or not found).",
                           (double)rows);
        for (int r = rows; r < b->n; r++) /* cannot happen: one row per send */
            if (b->ops[r]->c->ws)
                send_error(b->ops[r]->c->ws, "internal", b->ops[r]->client, b->ops[r]->conv,
                           "the message was not stored; resend it");
    }
    for (int i = 0; i < b->n; i++) {
        b->ops[i]->c->in_batch--;
        op_free(b->ops[i]);
    }
    free(b);
    inflight--;
    kick();
}

/* Take eligible ops off the queue into b, in order. */
static void fill(batch_t *b)
{
    op_t **pp = &head, *prev = NULL;
    while (*pp && b->n < BATCH_MAX) {
        op_t *o = *pp;
        chat_conn_t *c = o->c;
        if (c->in_batch > 0 && c->batch_no != b->no) { /* in a batch in flight: wait */
            prev = o;
            pp = &o->next;
            continue;
        }
        *pp = o->next;
        if (tail == o)
            tail = prev;
        o->next = NULL;
        c->in_batch++;
        c->batch_no = b->no;
        b->ops[b->n++] = o;
    }
}

/* A batch of one goes through chat.send: the same rules and result, and
 * cheaper than send_many's set-based statement for a single row. */
static void dispatch(batch_t *b)
{
    static const char many[] = "SELECT status, recipient, msg FROM "
                               "chat.send_many($1::uuid[], $2::text[], $3::text[], $4::text[])";
    static const char one[] =
        "SELECT status, recipient, msg::text FROM chat.send($1::uuid, $2, $3, $4, NULL)";
    static const char lock_many[] =
        "SELECT count(pg_advisory_xact_lock(hashtext('chat.conversation'), k)) FROM "
        "(SELECT DISTINCT hashtext(c::text) AS k FROM unnest($1::uuid[]) c ORDER BY 1) s";
    static const char lock_one[] =
        "SELECT pg_advisory_xact_lock(hashtext('chat.conversation'), hashtext($1::uuid::text))";
    arr_t a[4] = {{0}};
    const char *p[4];
    int ok = 1;
    if (b->n == 1) {
        op_t *o = b->ops[0];
        p[0] = o->conv;
        p[1] = o->c->uid;
        p[2] = o->client;
        p[3] = o->body;
    } else {
        for (int i = 0; i < b->n; i++) {
            op_t *o = b->ops[i];
            arr_add(&a[0], o->conv);
            arr_add(&a[1], o->c->uid);
            arr_add(&a[2], o->client);
            arr_add(&a[3], o->body);
        }
        for (int k = 0; k < 4; k++)
            ok = (p[k] = arr_end(&a[k])) != NULL && ok;
    }
    inflight++;
    rz_stmt_t tx[2] = {{.sql = b->n == 1 ? lock_one : lock_many, .nparams = 1, .params = p},
                       {.sql = b->n == 1 ? one : many, .nparams = 4, .params = p}};
    if (!ok || H->db_tx(chat_g.self, tx, 2, done, b) != RZ_OK) {
        fail_batch(b, "unavailable", ok ? "the database is unavailable; resend"
                                        : "out of memory; resend");
        for (int i = 0; i < b->n; i++) {
            b->ops[i]->c->in_batch--;
            op_free(b->ops[i]);
        }
        free(b);
        inflight--;
    }
    for (int k = 0; k < 4; k++)
        free(a[k].s);
}

static void kick(void)
{
    while (head && inflight < BATCH_INFLIGHT) {
        batch_t *b = calloc(1, sizeof(*b));
        if (!b)
            return; /* the next completion kicks again */
        b->no = next_no++;
        fill(b);
        if (b->n == 0) { /* everything waits for a batch in flight */
            free(b);
            return;
        }
        dispatch(b);
    }
}

void send_enqueue(op_t *o)
{
    o->next = NULL;
    if (tail)
        tail->next = o;
    else
        head = o;
    tail = o;
    kick();
}

void send_drop(chat_conn_t *c)
{
    op_t **pp = &head, *prev = NULL;
    while (*pp) {
        op_t *o = *pp;
        if (o->c != c) {
            prev = o;
            pp = &o->next;
            continue;
        }
        *pp = o->next;
        if (tail == o)
            tail = prev;
        op_free(o);
    }
}
