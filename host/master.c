/*
 * master.c — forks the workers and keeps them alive.
 *
 * The master runs no event loop: it waits on a signalfd with a timeout that
 * is the next scheduled restart.  A worker that dies is restarted after a
 * backoff that doubles while workers keep dying young (100 ms up to
 * restart_backoff_max) and resets once one lives 10 seconds.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "host.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "process.h"

#define MAX_WORKERS RZ_METRICS_MAX_WORKERS
#define YOUNG_SEC 10.0

typedef struct slot {
    pid_t pid;            /* 0 when not running */
    double started;       /* rz__mono_sec() */
    double restart_at;    /* > 0 when a restart is scheduled */
    int64_t backoff_ms;
} slot_t;

static slot_t slots[MAX_WORKERS];
static int nworkers;
static pid_t retired[MAX_WORKERS * 4]; /* old generation draining after SIGHUP */
static int nretired;

static int workers_wanted(const rz_config_t *cfg, char *err, size_t errlen)
{
    const char *w = rz__config_get(cfg, "host", "workers", NULL);
    if (!w || !*w || strcmp(w, "auto") == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        return n < 1 ? 1 : n > MAX_WORKERS ? MAX_WORKERS : (int)n;
    }
    int64_t n;
    if (rz__config_int(cfg, "host", "workers", 1, &n, err, errlen) < 0)
        return -1;
    if (n < 1 || n > MAX_WORKERS) {
        snprintf(err, errlen, "[host] workers: expected 'auto' or 1..%d, found %lld", MAX_WORKERS,
                 (long long)n);
        return -1;
    }
    return (int)n;
}

static int running_count(void)
{
    int n = 0;
    for (int i = 0; i < nworkers; i++)
        n += slots[i].pid > 0;
    return n;
}

static int spawn(int i)
{
    rz__log_flush();
    pid_t pid = fork();
    if (pid < 0) {
        rz__log(RZ_LOG_ERROR, "host", "fork worker %d: %s", i, strerror(errno));
        return -1;
    }
    if (pid == 0)
        rz__worker_run(i);
    slots[i].pid = pid;
    slots[i].started = rz__mono_sec();
    slots[i].restart_at = 0;
    rz__metrics_workers_running(running_count());
    return 0;
}

static void describe_exit(int status, char *buf, size_t len)
{
    if (WIFEXITED(status))
        snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(buf, len, "stopped (status %d)", status);
}

static void reap(int shutting_down, int64_t backoff_max)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        int found = 0;
        for (int k = 0; k < nretired; k++)
            if (retired[k] == pid) {
                retired[k] = retired[--nretired];
                found = 1;
                break;
            }
        if (found)
            continue;
        for (int i = 0; i < nworkers; i++) {
            if (slots[i].pid != pid)
                continue;
            slots[i].pid = 0;
            rz__metrics_workers_running(running_count());
            if (shutting_down)
                break;
            char why[128];
            describe_exit(status, why, sizeof(why));
            double lived = rz__mono_sec() - slots[i].started;
            if (lived >= YOUNG_SEC || slots[i].backoff_ms == 0)
                slots[i].backoff_ms = 100;
            else if ((slots[i].backoff_ms *= 2) > backoff_max)
                slots[i].backoff_ms = backoff_max;
            slots[i].restart_at = rz__mono_sec() + (double)slots[i].backoff_ms / 1000.0;
            rz__metrics_worker_restarted();
            rz__log(RZ_LOG_ERROR, "host",
                    "worker %d (pid %d) %s after %.1f s; restarting in %lld ms", i, (int)pid, why,
                    lived, (long long)slots[i].backoff_ms);
            break;
        }
    }
}

static void signal_all(int sig)
{
    for (int i = 0; i < nworkers; i++)
        if (slots[i].pid > 0)
            kill(slots[i].pid, sig);
    for (int k = 0; k < nretired; k++)
        kill(retired[k], sig);
}

/* SIGHUP: a new generation with the new configuration, then drain the old. */
static void reload(rz_configure_fn configure)
{
    char err[1024];
    rz__log(RZ_LOG_INFO, "host", "SIGHUP: reloading the configuration from %s", rz__rt.config_dir);
    rz_config_t *cfg = rz__config_load(rz__rt.config_dir, err, sizeof(err));
    if (!cfg) {
        rz__log(RZ_LOG_ERROR, "host", "reload refused, keeping the running configuration: %s", err);
        return;
    }
    const char *old_plugins = rz__config_get(rz__rt.cfg, "host", "plugins", NULL);
    const char *new_plugins = rz__config_get(cfg, "host", "plugins", NULL);
    if (strcmp(old_plugins ? old_plugins : "", new_plugins ? new_plugins : "") != 0)
        rz__log(RZ_LOG_WARN, "host",
                "[host] plugins changed: a different plugin set needs a restart; "
                "the other settings are applied now");
    rz_config_t *old = rz__rt.cfg;
    rz__rt.cfg = cfg;
    int n = workers_wanted(cfg, err, sizeof(err));
    if (n < 0 || configure(cfg, err, sizeof(err)) < 0 || rz__http_reserve(err, sizeof(err)) < 0) {
        rz__log(RZ_LOG_ERROR, "host", "reload refused, keeping the running configuration: %s", err);
        rz__rt.cfg = old;
        rz__config_free(cfg);
        char err2[256];
        if (configure(old, err2, sizeof(err2)) < 0 || rz__http_reserve(err2, sizeof(err2)) < 0)
            rz__log(RZ_LOG_ERROR, "host", "restoring the old configuration: %s", err2);
        return;
    }
    for (int i = 0; i < nworkers; i++)
        if (slots[i].pid > 0 && nretired < (int)(sizeof(retired) / sizeof(retired[0])))
            retired[nretired++] = slots[i].pid;
    memset(slots, 0, sizeof(slots));
    nworkers = n;
    /* the new generation starts listening before the old one stops */
    for (int i = 0; i < nworkers; i++)
        spawn(i);
    for (int k = 0; k < nretired; k++)
        kill(retired[k], SIGTERM);
    rz__config_free(old);
    rz__log(RZ_LOG_INFO, "host", "reloaded: %d workers", nworkers);
}

int rz__master_run(rz_configure_fn configure)
{
    char err[512];
    int64_t backoff_max = 30000, shutdown_ms = 10000;
    nworkers = workers_wanted(rz__rt.cfg, err, sizeof(err));
    if (nworkers < 0 ||
        rz__config_duration_ms(rz__rt.cfg, "host", "restart_backoff_max", 30000, &backoff_max,
                               err, sizeof(err)) < 0 ||
        rz__config_duration_ms(rz__rt.cfg, "host", "shutdown_timeout", 10000, &shutdown_ms, err,
                               sizeof(err)) < 0 ||
        rz__http_reserve(err, sizeof(err)) < 0) {
        rz__log(RZ_LOG_ERROR, "host", "%s", err);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGQUIT);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0) {
        rz__log(RZ_LOG_ERROR, "host", "signalfd: %s", strerror(errno));
        return 1;
    }
    for (int i = 0; i < nworkers; i++)
        if (spawn(i) < 0)
            return 1;
    rz__log(RZ_LOG_INFO, "host", "rentezyd serving with %d workers, %zu plugins", nworkers,
            rz__rt.nplugins);

    int shutting_down = 0;
    double deadline = 0;
    for (;;) {
        double now = rz__mono_sec(), next = now + 1.0;
        for (int i = 0; i < nworkers; i++)
            if (slots[i].restart_at > 0 && slots[i].restart_at < next)
                next = slots[i].restart_at;
        int timeout = (int)((next - now) * 1000.0) + 1;
        struct pollfd pfd = {.fd = sfd, .events = POLLIN};
        int pr = poll(&pfd, 1, timeout < 0 ? 0 : timeout);
        if (pr < 0 && errno != EINTR)
            break;
        struct signalfd_siginfo si;
        while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
            switch (si.ssi_signo) {
            case SIGCHLD:
                break; /* reaped below */
            case SIGHUP:
                if (!shutting_down)
                    reload(configure);
                break;
            default: /* TERM, INT, QUIT */
                if (!shutting_down) {
                    rz__log(RZ_LOG_INFO, "host", "signal %u: draining workers",
                            si.ssi_signo);
                    shutting_down = 1;
                    deadline = rz__mono_sec() + (double)shutdown_ms / 1000.0 + 2.0;
                    signal_all(SIGTERM);
                }
            }
        }
        reap(shutting_down, backoff_max);
        if (shutting_down) {
            if (running_count() == 0 && nretired == 0)
                break;
            if (rz__mono_sec() > deadline) {
                rz__log(RZ_LOG_WARN, "host", "workers did not stop in time; killing them");
                signal_all(SIGKILL);
                deadline = rz__mono_sec() + 5.0;
            }
            continue;
        }
        now = rz__mono_sec();
        for (int i = 0; i < nworkers; i++)
            if (slots[i].pid == 0 && slots[i].restart_at > 0 && slots[i].restart_at <= now)
                spawn(i);
    }
    close(sfd);
    rz__log(RZ_LOG_INFO, "host", "rentezyd stopped");
    return 0;
}
