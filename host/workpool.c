#include "workpool.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"

#define MAX_THREADS 16

typedef struct item {
    rz_work_fn fn;
    rz_after_fn after;
    void *udata;
    struct item *next;
} item_t;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static item_t *queue_head, *queue_tail, *done_head, *done_tail; /* guarded by mu */
static int stopping;                                          /* guarded by mu */
static int pending;                                           /* loop thread only */
static pthread_t threads[MAX_THREADS];
static int nthreads;
static int efd = -1;
static struct event *ev;

static void push(item_t **head, item_t **tail, item_t *it)
{
    it->next = NULL;
    if (*tail)
        (*tail)->next = it;
    else
        *head = it;
    *tail = it;
}

static void *run(void *arg)
{
    /* Pool work is CPU-heavy and never urgent: run it below the loop
     * thread, so a burst of password hashing cannot delay /healthz.  On
     * Linux a thread id given to setpriority affects that thread only. */
    if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10) < 0) {
        /* not fatal: the work just competes with the loop as equals */
    }
    for (;;) {
        pthread_mutex_lock(&mu);
        while (!queue_head && !stopping)
            pthread_cond_wait(&cv, &mu);
        item_t *it = queue_head;
        if (!it) { /* stopping and nothing left */
            pthread_mutex_unlock(&mu);
            return NULL;
        }
        queue_head = it->next;
        if (!queue_head)
            queue_tail = NULL;
        pthread_mutex_unlock(&mu);

        it->fn(it->udata);

        pthread_mutex_lock(&mu);
        push(&done_head, &done_tail, it);
        pthread_mutex_unlock(&mu);
        uint64_t one = 1;
        if (write(efd, &one, sizeof(one)) < 0) {
            /* the counter cannot overflow in practice; the loop drains it */
        }
    }
}

static void drain_done(void)
{
    pthread_mutex_lock(&mu);
    item_t *it = done_head;
    done_head = done_tail = NULL;
    pthread_mutex_unlock(&mu);
    while (it) {
        item_t *next = it->next;
        pending--;
        if (it->after)
            it->after(it->udata);
        free(it);
        it = next;
    }
}

static void on_done(evutil_socket_t fd, short what, void *arg)
{
    uint64_t n;
    if (read(efd, &n, sizeof(n)) < 0) {
        /* EAGAIN: nothing to do */
    }
    drain_done();
}

int rz__workpool_start(struct event_base *base, int n)
{
    if (n < 1)
        n = 1;
    if (n > MAX_THREADS)
        n = MAX_THREADS;
    efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (efd < 0)
        return -1;
    ev = event_new(base, efd, EV_READ | EV_PERSIST, on_done, NULL);
    if (!ev || event_add(ev, NULL) < 0)
        return -1;
    stopping = 0;
    for (nthreads = 0; nthreads < n; nthreads++)
        if (pthread_create(&threads[nthreads], NULL, run, NULL) != 0)
            break;
    return nthreads > 0 ? 0 : -1;
}

void rz__workpool_stop(void)
{
    pthread_mutex_lock(&mu);
    stopping = 1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    for (int i = 0; i < nthreads; i++)
        pthread_join(threads[i], NULL);
    nthreads = 0;
    drain_done();
    if (ev) {
        event_free(ev);
        ev = NULL;
    }
    if (efd >= 0) {
        close(efd);
        efd = -1;
    }
}

int rz__svc_work(rz_plugin_t *self, rz_work_fn fn, rz_after_fn after, void *udata)
{
    if (!fn)
        return RZ_EINVAL;
    if (nthreads == 0)
        return RZ_ESTATE;
    item_t *it = malloc(sizeof(*it));
    if (!it)
        return RZ_ENOMEM;
    it->fn = fn;
    it->after = after;
    it->udata = udata;
    pthread_mutex_lock(&mu);
    push(&queue_head, &queue_tail, it);
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
    pending++;
    return RZ_OK;
}

int rz__workpool_pending(void) { return pending; }
