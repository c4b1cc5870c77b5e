/*
 * jobs_sched.c — recurring schedules (plugin.h job_schedule).
 *
 * rentezy.schedules keeps, per (plugin, name), the next occurrence not yet
 * enqueued.  A worker's tick reads the schedules whose next_run has passed
 * on the host clock, computes every occurrence up to now (at most
 * MAX_CATCHUP per tick; the next tick goes on), and in one transaction
 * inserts a job per occurrence (ON CONFLICT on the dedup key DO NOTHING) and
 * moves next_run forward.  Two workers ticking at once compute the same
 * occurrences and the unique key keeps one of each; next_run only moves
 * forward (greatest), so nothing before it is ever enqueued again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "db.h"
#include "host.h"
#include "jobs_int.h"
#include "log.h"

#define MAX_CATCHUP 1000
/* Clocks of two hosts may differ by this much: a stored next_run up to one
 * occurrence beyond now + SKEW_MS is another host's progress, not a clock
 * that went back. */
#define SKEW_MS 60000

rz_sched_t *rz__scheds; /* owned, grows during init */
size_t rz__nscheds;
static size_t cscheds;

static struct {
    char *keys;           /* text[] literal of "plugin/name", owned */
    int busy;             /* statements of the current tick still in flight */
    void (*synced)(int);  /* while the upsert runs */
    unsigned gen;         /* bumped by stop, so late callbacks are ignored */
} S;

int rz__svc_job_schedule(rz_plugin_t *self, const char *name, const char *cron, const char *tz,
                         const char *kind)
{
    char err[256];
    rz_cron_t c;
    if (!rz__rt.in_init)
        return RZ_ESTATE;
    if (!tz)
        tz = "UTC";
    if (!self || !rz__jobs_name_ok(name) || !rz__jobs_find_kind(self, kind) ||
        !rz__tz_valid(tz))
        return RZ_EINVAL;
    if (rz__cron_parse(&c, cron, err, sizeof(err)) != 0) {
        rz__log(RZ_LOG_ERROR, rz__plugin_name(self), "schedule %s: %s", name, err);
        return RZ_EINVAL;
    }
    if (rz__cron_next(&c, tz, rz__now_ms()) < 0)
        return RZ_EINVAL; /* never fires ("0 0 30 2 *") */
    for (size_t i = 0; i < rz__nscheds; i++)
        if (rz__scheds[i].plugin == self && strcmp(rz__scheds[i].name, name) == 0)
            return RZ_EEXIST;
    if (rz__nscheds == cscheds) {
        size_t n = cscheds ? cscheds * 2 : 8;
        rz_sched_t *s = realloc(rz__scheds, n * sizeof(*s));
        if (!s)
            return RZ_ENOMEM;
        rz__scheds = s;
        cscheds = n;
    }
    rz_sched_t *s = &rz__scheds[rz__nscheds];
    memset(s, 0, sizeof(*s));
    s->plugin = self;
    s->cron = c;
    s->name = strdup(name);
    s->cron_text = strdup(cron);
    s->tz = strdup(tz);
    s->kind = strdup(kind);
    if (!s->name || !s->cron_text || !s->tz || !s->kind ||
        asprintf(&s->key, "%s/%s", rz__plugin_name(self), name) < 0) {
        free(s->name);
        free(s->cron_text);
        free(s->tz);
        free(s->kind);
        return RZ_ENOMEM;
    }
    rz__nscheds++;
    return RZ_OK;
}

void rz__sched_reset(void)
{
    for (size_t i = 0; i < rz__nscheds; i++) {
        rz_sched_t *s = &rz__scheds[i];
        free(s->name);
        free(s->key);
        free(s->cron_text);
        free(s->tz);
        free(s->kind);
    }
    free(rz__scheds);
    rz__scheds = NULL;
    rz__nscheds = cscheds = 0;
}

void rz__sched_worker_stop(void)
{
    free(S.keys);
    S.keys = NULL;
    S.busy = 0;
    S.synced = NULL;
    S.gen++;
}

/* ---- sync: make the table match this build's definitions ------------------- */

static void on_synced(rz_dbres_t *res, void *arg)
{
    if ((unsigned)(uintptr_t)arg != S.gen || !S.synced)
        return;
    void (*done)(int) = S.synced;
    S.synced = NULL;
    if (rz__svc_dbres_status(res) != RZ_OK)
        rz__log(RZ_LOG_WARN, "jobs", "cannot store schedules: %s", rz__svc_dbres_message(res));
    done(rz__svc_dbres_status(res) == RZ_OK);
}

int rz__sched_sync(void (*done)(int ok))
{
    /* A changed cron or zone restarts the schedule from now; otherwise the
     * stored next_run stands, which is what makes catching up work — unless
     * it lies beyond the first occurrence after now (+ SKEW_MS): then the
     * clock went back (a test clock, a database restored or shared with a
     * host whose clock was ahead) and the schedule would not fire until the
     * clock reached that time again; it restarts from now. */
    static const char sql[] =
        "INSERT INTO rentezy.schedules AS s (plugin, name, cron, tz, kind, next_run) "
        "VALUES ($1, $2, $3, $4, $5, " RZ_TS(6) ") ON CONFLICT (plugin, name) DO UPDATE SET "
        "cron = EXCLUDED.cron, tz = EXCLUDED.tz, kind = EXCLUDED.kind, "
        "next_run = CASE WHEN s.cron = EXCLUDED.cron AND s.tz = EXCLUDED.tz "
        "AND s.next_run <= " RZ_TS(7) " THEN s.next_run ELSE EXCLUDED.next_run END, "
        "updated_at = now()";
    /* The occurrences that ran "in the future" of such a clock would keep
     * their dedup keys and swallow the same occurrences when they come
     * round again: they go.  (Finished after now + SKEW_MS, so none of this
     * clock's own.) */
    static const char forget[] =
        "DELETE FROM rentezy.jobs WHERE state IN ('done', 'dead') "
        "AND updated_at > " RZ_TS(3) " AND run_at > " RZ_TS(3) " AND plugin = $1 "
        "AND dedup_key IS NOT NULL AND left(dedup_key, length($1) + length($2) + 2) = "
        "$1 || '/' || $2 || '@'";
    size_t n = rz__nscheds;
    int rc = -1;
    if (n == 0 || S.synced)
        return -1;
    rz_stmt_t *st = calloc(n * 2, sizeof(*st));
    const char **p = calloc(n * 7, sizeof(*p));
    char (*next)[24] = calloc(n, sizeof(*next));
    char (*horizon)[24] = calloc(n, sizeof(*horizon));
    const char **keys = calloc(n, sizeof(*keys));
    const char **f = NULL;
    char late[24];
    if (!st || !p || !next || !horizon || !keys)
        goto done;
    int64_t now = rz__now_ms();
    rz__jobs_ms_text(late, sizeof(late), now + SKEW_MS);
    for (size_t i = 0; i < n; i++) {
        rz_sched_t *s = &rz__scheds[i];
        rz__jobs_ms_text(next[i], sizeof(next[i]), rz__cron_next(&s->cron, s->tz, now));
        rz__jobs_ms_text(horizon[i], sizeof(horizon[i]),
                         rz__cron_next(&s->cron, s->tz, now + SKEW_MS));
        const char **q = p + i * 7;
        q[0] = rz__plugin_name(s->plugin);
        q[1] = s->name;
        q[2] = s->cron_text;
        q[3] = s->tz;
        q[4] = s->kind;
        q[5] = next[i];
        q[6] = horizon[i];
        st[2 * i] = (rz_stmt_t){sql, 7, q};
        keys[i] = s->key;
    }
    /* forget's parameters: plugin, name, now + SKEW_MS — reuse q[0], q[1] */
    if (!(f = calloc(n * 3, sizeof(*f))))
        goto done;
    for (size_t i = 0; i < n; i++) {
        f[i * 3] = p[i * 7];
        f[i * 3 + 1] = p[i * 7 + 1];
        f[i * 3 + 2] = late;
        st[2 * i + 1] = (rz_stmt_t){forget, 3, f + i * 3};
    }
    free(S.keys);
    if (!(S.keys = rz__jobs_text_array(keys, n)))
        goto done;
    if (rz__svc_db_tx(NULL, st, (int)n * 2, on_synced, (void *)(uintptr_t)S.gen) != RZ_OK)
        goto done;
    S.synced = done;
    rc = 0;
done:
    free(st);
    free(p);
    free(f);
    free(next);
    free(horizon);
    free(keys);
    return rc;
}

/* ---- tick ---------------------------------------------------------------------- */

static const rz_sched_t *find(const char *plugin, const char *name)
{
    for (size_t i = 0; plugin && name && i < rz__nscheds; i++)
        if (strcmp(rz__scheds[i].name, name) == 0 &&
            strcmp(rz__plugin_name(rz__scheds[i].plugin), plugin) == 0)
            return &rz__scheds[i];
    return NULL;
}

static void on_enqueued(rz_dbres_t *res, void *arg)
{
    if ((unsigned)(uintptr_t)arg != S.gen)
        return;
    if (rz__svc_dbres_status(res) != RZ_OK)
        rz__log(RZ_LOG_WARN, "jobs", "cannot enqueue scheduled jobs: %s",
                rz__svc_dbres_message(res));
    if (--S.busy == 0)
        rz__jobs_kick();
}

/* Occurrences of s from `first` (an occurrence) up to now, as a bigint[]
 * literal; *next gets the first one left for later.  NULL on OOM. */
static char *occurrences(const rz_sched_t *s, int64_t first, int64_t now, int64_t *next)
{
    size_t cap = 64, len = 0;
    char *buf = malloc(cap);
    int n = 0;
    if (!buf)
        return NULL;
    buf[len++] = '{';
    int64_t t = first;
    while (t >= 0 && t <= now && n < MAX_CATCHUP) {
        if (len + 24 > cap) {
            char *b = realloc(buf, cap *= 2);
            if (!b) {
                free(buf);
                return NULL;
            }
            buf = b;
        }
        len += (size_t)sprintf(buf + len, "%s%lld", n ? "," : "", (long long)t);
        n++;
        t = rz__cron_next(&s->cron, s->tz, t);
    }
    buf[len++] = '}';
    buf[len] = '\0';
    /* No next occurrence at all (cannot happen for a validated schedule):
     * park it far away rather than loop. */
    *next = t >= 0 ? t : INT64_C(253402300799000);
    return buf;
}

static void on_due(rz_dbres_t *res, void *arg)
{
    static const char ins[] =
        "INSERT INTO rentezy.jobs (plugin, kind, payload, run_at, dedup_key, state, created_at, "
        "updated_at) SELECT $1, $2, jsonb_build_object('schedule', $3::text, 'occurrence', "
        "to_char(to_timestamp(o / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
        "'occurrence_ms', o, 'tz', $6::text), to_timestamp(o / 1000.0), "
        "$1 || '/' || $3 || '@' || o, 'due', " RZ_TS(5) ", " RZ_TS(5) " "
        "FROM unnest($4::bigint[]) AS o "
        "ON CONFLICT (dedup_key) WHERE dedup_key IS NOT NULL DO NOTHING";
    static const char upd[] =
        "UPDATE rentezy.schedules SET next_run = greatest(next_run, " RZ_TS(3) "), "
        "updated_at = now() WHERE plugin = $1 AND name = $2";
    if ((unsigned)(uintptr_t)arg != S.gen)
        return;
    S.busy--;
    if (rz__svc_dbres_status(res) != RZ_OK) {
        if (rz__svc_dbres_status(res) == RZ_ERR)
            rz__log(RZ_LOG_WARN, "jobs", "reading schedules failed: %s",
                    rz__svc_dbres_message(res));
        return;
    }
    int64_t now = rz__now_ms();
    char nowt[24];
    rz__jobs_ms_text(nowt, sizeof(nowt), now);
    for (int i = 0; i < rz__svc_dbres_rows(res); i++) {
        const rz_sched_t *s = find(rz__svc_dbres_value(res, i, 0), rz__svc_dbres_value(res, i, 1));
        if (!s)
            continue;
        int64_t first = strtoll(rz__svc_dbres_value(res, i, 2), NULL, 10), next;
        char *occ = occurrences(s, first, now, &next);
        if (!occ)
            continue;
        char nextt[24];
        rz__jobs_ms_text(nextt, sizeof(nextt), next);
        const char *pi[] = {rz__plugin_name(s->plugin), s->kind, s->name, occ, nowt, s->tz};
        const char *pu[] = {rz__plugin_name(s->plugin), s->name, nextt};
        rz_stmt_t st[] = {{ins, 6, pi}, {upd, 3, pu}};
        if (rz__svc_db_tx(NULL, st, 2, on_enqueued, (void *)(uintptr_t)S.gen) == RZ_OK)
            S.busy++;
        free(occ);
    }
    /* Nothing due means nothing new to claim: no kick, or polls would chase
     * each other. */
}

void rz__sched_tick(void)
{
    static const char sql[] =
        "SELECT plugin, name, (extract(epoch FROM next_run) * 1000)::bigint "
        "FROM rentezy.schedules WHERE plugin || '/' || name = ANY($1::text[]) "
        "AND next_run <= " RZ_TS(2);
    if (!S.keys || S.busy)
        return;
    char now[24];
    rz__jobs_ms_text(now, sizeof(now), rz__now_ms());
    const char *p[] = {S.keys, now};
    if (rz__svc_db_query(NULL, 0, sql, 2, p, on_due, (void *)(uintptr_t)S.gen) == RZ_OK)
        S.busy = 1;
}
