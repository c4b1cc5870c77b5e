#include "readiness.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "host.h"
#include "log.h"
#include "metrics.h"

#define REASON_MAX 128

/* A seqlock makes the reason readable while its owner rewrites it: the
 * writer makes seq odd, writes, makes it even; a reader retries on a change. */
typedef struct slot {
    uint32_t seq;
    int32_t pid;        /* the worker process owning the slot; 0 = never started */
    int32_t not_ready;
    char reason[REASON_MAX];
} slot_t;

static slot_t *slots;   /* [RZ_METRICS_MAX_WORKERS][nplugins] */
static size_t nplugins;

int rz__readiness_init(void)
{
    nplugins = rz__rt.nplugins;
    if (nplugins == 0)
        return 0;
    size_t len = sizeof(slot_t) * RZ_METRICS_MAX_WORKERS * nplugins;
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return -1;
    slots = p;
    return 0;
}

static slot_t *slot_at(int worker, size_t plugin) { return &slots[(size_t)worker * nplugins + plugin]; }

static int my_worker(void)
{
    int w = rz__rt.worker_index;
    return slots && w >= 0 && w < RZ_METRICS_MAX_WORKERS ? w : -1;
}

static void slot_write(slot_t *s, int32_t pid, int not_ready, const char *reason)
{
    /* odd only if a writer died mid-write: the slot's new owner evens it */
    uint32_t seq = __atomic_load_n(&s->seq, __ATOMIC_RELAXED) | 1;
    __atomic_store_n(&s->seq, seq, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    __atomic_store_n(&s->pid, pid, __ATOMIC_RELAXED);
    __atomic_store_n(&s->not_ready, not_ready, __ATOMIC_RELAXED);
    /* byte by byte with relaxed atomics: a torn read is retried, never a race */
    const char *r = reason ? reason : "";
    size_t i = 0;
    for (; r[i] && i < REASON_MAX - 1; i++)
        __atomic_store_n(&s->reason[i], r[i], __ATOMIC_RELAXED);
    __atomic_store_n(&s->reason[i], '\0', __ATOMIC_RELAXED);
    __atomic_store_n(&s->seq, seq + 1, __ATOMIC_RELEASE);
}

/* Copy a consistent view of s.  Returns not_ready.  Bounded: a writer that
 * died mid-write leaves seq odd, and /readyz must still answer. */
static int slot_read(slot_t *s, int32_t *pid, char *reason)
{
    for (int tries = 0;; tries++) {
        uint32_t a = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
        if ((a & 1) && tries < 1000)
            continue;
        *pid = __atomic_load_n(&s->pid, __ATOMIC_RELAXED);
        int nr = __atomic_load_n(&s->not_ready, __ATOMIC_RELAXED);
        for (size_t i = 0; i < REASON_MAX; i++)
            reason[i] = __atomic_load_n(&s->reason[i], __ATOMIC_RELAXED);
        reason[REASON_MAX - 1] = '\0';
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&s->seq, __ATOMIC_RELAXED) == a || tries >= 1000)
            return nr;
    }
}

void rz__readiness_worker_start(void)
{
    int w = my_worker();
    if (w < 0)
        return;
    for (size_t i = 0; i < nplugins; i++)
        slot_write(slot_at(w, i), (int32_t)getpid(), 0, NULL);
}

void rz__svc_ready_set(rz_plugin_t *self, int ready, const char *reason)
{
    int w = my_worker();
    if (!self || w < 0 || self->index >= nplugins || self->stopped)
        return; /* before start (the master) or after stop: nothing to report */
    slot_t *s = slot_at(w, self->index);
    int32_t me = (int32_t)getpid();
    if (__atomic_load_n(&s->pid, __ATOMIC_RELAXED) != me)
        return; /* a newer worker took this index over */
    int was = __atomic_load_n(&s->not_ready, __ATOMIC_RELAXED);
    slot_write(s, me, !ready, ready ? NULL : reason);
    if (was != !ready)
        rz__log(RZ_LOG_INFO, rz__plugin_name(self), "%s%s%s", ready ? "ready" : "not ready",
                !ready && reason ? ": " : "", !ready && reason ? reason : "");
}

static int alive(int32_t pid)
{
    return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

int rz__readiness_check(char *why, size_t whylen, cJSON *list)
{
    int ready = 1;
    for (int w = 0; slots && w < RZ_METRICS_MAX_WORKERS; w++)
        for (size_t i = 0; i < nplugins; i++) {
            int32_t pid;
            char reason[REASON_MAX];
            if (!slot_read(slot_at(w, i), &pid, reason) || !alive(pid))
                continue;
            const char *name = rz__plugin_name(rz__rt.plugins[i]);
            if (ready)
                snprintf(why, whylen, "plugin %s not ready on worker %d%s%s", name, w,
                         reason[0] ? ": " : "", reason);
            ready = 0;
            if (!list)
                return 0;
            cJSON *o = cJSON_CreateObject();
            if (!o || !cJSON_AddItemToArray(list, o)) {
                cJSON_Delete(o);
                return 0;
            }
            cJSON_AddStringToObject(o, "plugin", name);
            cJSON_AddNumberToObject(o, "worker", w);
            cJSON_AddStringToObject(o, "reason", reason);
        }
    return ready;
}
