/*
 * timer.c — plugin timers (ABI 1.2).
 *
 * Ownership: the host owns every rz_timer_t.  A repeating timer lives until
 * timer_stop or the plugin's stop; a one-shot timer is freed right after its
 * callback returns.  A timer stopped from inside its own callback is only
 * marked, and freed when the callback returns, so fn may stop its own timer
 * (or any other) without the trampoline touching freed memory.
 */
#include "timer.h"

#include <stdlib.h>

#include <event2/event.h>

#include "host.h"
#include "log.h"

/* Longer than any sensible period, short enough for a struct timeval. */
#define TIMER_MAX_MS (366LL * 24 * 3600 * 1000)

struct rz_timer {
    struct event *ev;
    rz_plugin_t *owner;
    rz_timer_fn fn;
    void *udata;
    int64_t every_ms;   /* 0: one shot */
    int in_callback;
    int stopped;        /* timer_stop ran during the callback */
    rz_timer_t *prev, *next; /* the owner's list */
};

static struct timeval tv_of(int64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    return tv;
}

static void timer_free(rz_timer_t *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        t->owner->timers = t->next;
    if (t->next)
        t->next->prev = t->prev;
    event_free(t->ev);
    free(t);
}

static void fire(evutil_socket_t fd, short what, void *arg)
{
    rz_timer_t *t = arg;
    (void)fd;
    (void)what;
    if (t->every_ms > 0) {
        /* re-armed before fn runs, so the period does not drift by fn's time */
        struct timeval tv = tv_of(t->every_ms);
        if (event_add(t->ev, &tv) < 0)
            rz__log(RZ_LOG_ERROR, rz__plugin_name(t->owner),
                    "cannot re-arm a timer; it will not fire again");
    }
    t->in_callback = 1;
    t->fn(t->udata);
    t->in_callback = 0;
    if (t->stopped || t->every_ms == 0)
        timer_free(t);
}

rz_timer_t *rz__svc_timer_start(rz_plugin_t *self, int64_t after_ms, int64_t every_ms,
                                rz_timer_fn fn, void *udata)
{
    const char *who = rz__plugin_name(self);
    if (!self || !fn || after_ms < 0 || every_ms < 0 || after_ms > TIMER_MAX_MS ||
        every_ms > TIMER_MAX_MS) {
        rz__log(RZ_LOG_ERROR, who,
                "timer_start: fn must be set and times within 0..%lld ms", TIMER_MAX_MS);
        return NULL;
    }
    if (!rz__rt.base || self->stopped) {
        rz__log(RZ_LOG_ERROR, who, "timer_start is only allowed from start until stop");
        return NULL;
    }
    rz_timer_t *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->ev = event_new(rz__rt.base, -1, 0, fire, t);
    struct timeval tv = tv_of(after_ms);
    if (!t->ev || event_add(t->ev, &tv) < 0) {
        if (t->ev)
            event_free(t->ev);
        free(t);
        rz__log(RZ_LOG_ERROR, who, "timer_start: cannot add the timer to the event loop");
        return NULL;
    }
    t->owner = self;
    t->fn = fn;
    t->udata = udata;
    t->every_ms = every_ms;
    t->next = self->timers;
    if (t->next)
        t->next->prev = t;
    self->timers = t;
    return t;
}

void rz__svc_timer_stop(rz_timer_t *t)
{
    if (!t)
        return;
    if (t->in_callback) {
        event_del(t->ev);
        t->stopped = 1;
        return;
    }
    timer_free(t);
}

void rz__timers_free_all(rz_plugin_t *p)
{
    /* stop cannot run inside a timer's callback (it comes from a signal
     * event), so none of these is mid-callback */
    while (p->timers)
        timer_free(p->timers);
}
