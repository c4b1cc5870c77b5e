/*
 * main.c — rentezyd's command line.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "authz.h"
#include "clock.h"
#include "db.h"
#include "host.h"
#include "http.h"
#include "jobs.h"
#include "loader.h"
#include "log.h"
#include "metrics.h"
#include "migrate.h"
#include "openapi.h"
#include "process.h"
#include "version.h"
#include "ws.h"
#include "bus.h"

static const char usage[] =
    "usage: rentezyd [OPTIONS]                 serve (master + workers)\n"
    "       rentezyd [OPTIONS] migrate [--status]\n"
    "       rentezyd [OPTIONS] jobs list [--dead] | jobs retry ID\n"
    "       rentezyd [OPTIONS] bus status | bus replay --group G --topic T (--from-start|--from TIME)\n"
    "       rentezyd [OPTIONS] bus dlq list|retry|drop [ID...|--all] [--group G] [--topic T]\n"
    "\n"
    "options:\n"
    "  -c, --config-dir DIR  read DIR/*.conf (default /etc/rentezy.d, or $RENTEZY_CONFIG_DIR)\n"
    "      --check-config    validate the configuration and the plugins, then exit\n"
    "      --print-config    print the merged configuration, secrets redacted, then exit\n"
    "      --list-plugins    print name, version, ABI and file of each plugin, then exit\n"
    "  -V, --version         print the version and the plugin ABI, then exit\n"
    "  -h, --help            print this help, then exit\n"
    "\n"
    "signals: TERM/INT drain and exit 0; HUP reloads the configuration.\n"
    "See rentezyd(8) and rentezy.d(5).\n";

static const char *const host_keys[] = {
    "listen", "workers", "plugins", "plugin_dir", "shutdown_timeout", "restart_backoff_max",
    "test_clock", "log_level", "access_log", "work_threads", NULL};

/* Apply cfg to every host module; used at start and on SIGHUP. */
static int configure(rz_config_t *cfg, char *err, size_t errlen)
{
    const char *level;
    if (rz__config_check_keys(cfg, "host", host_keys, err, errlen) < 0 ||
        rz__config_string(cfg, "host", "log_level", "info", &level, err, errlen) < 0)
        return -1;
    int lv = rz__log_parse_level(level);
    if (lv < 0) {
        const char *where = NULL;
        rz__config_get(cfg, "host", "log_level", &where);
        snprintf(err, errlen, "%s: [host] log_level: expected debug, info, warn or error, found '%s'",
                 where ? where : "?", level);
        return -1;
    }
    rz__log_set_level(lv);
    const char *wt = rz__config_get(cfg, "host", "work_threads", NULL);
    if (wt && *wt && strcmp(wt, "auto") != 0) {
        int64_t n = 1;
        if (rz__config_int(cfg, "host", "work_threads", 1, &n, err, errlen) < 0)
            return -1;
        if (n < 1 || n > 16) {
            snprintf(err, errlen, "[host] work_threads: expected 'auto' or 1..16, found '%s'", wt);
            return -1;
        }
    }
    if (rz__http_configure(cfg, err, errlen) < 0 || rz__authz_configure(cfg, err, errlen) < 0 ||
        rz__db_configure(cfg, err, errlen) < 0 || rz__ws_configure(cfg, err, errlen) < 0 ||
        rz__bus_configure(cfg, err, errlen) < 0)
        return -1;
    return 0;
}

static int fail(const char *msg)
{
    rz__log(RZ_LOG_ERROR, "host", "%s", msg);
    fprintf(stderr, "rentezyd: %s\n", msg);
    return 1;
}

int main(int argc, char **argv)
{
    enum { OPT_CHECK = 1000, OPT_PRINT, OPT_LIST };
    static const struct option opts[] = {
        {"config-dir", required_argument, NULL, 'c'}, {"check-config", no_argument, NULL, OPT_CHECK},
        {"print-config", no_argument, NULL, OPT_PRINT}, {"list-plugins", no_argument, NULL, OPT_LIST},
        {"version", no_argument, NULL, 'V'},          {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *dir = getenv("RENTEZY_CONFIG_DIR");
    int check = 0, print = 0, list = 0, c;
    char err[1024];

    while ((c = getopt_long(argc, argv, "+c:Vh", opts, NULL)) != -1) {
        switch (c) {
        case 'c': dir = optarg; break;
        case OPT_CHECK: check = 1; break;
        case OPT_PRINT: print = 1; break;
        case OPT_LIST: list = 1; break;
        case 'V':
            printf("rentezyd %s (plugin ABI %d.%d)\n", RZ_VERSION, RZ_ABI_MAJOR, RZ_ABI_MINOR);
            return 0;
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return 2;
        }
    }
    const char *sub = optind < argc ? argv[optind] : NULL;
    if (sub && strcmp(sub, "migrate") != 0 && strcmp(sub, "jobs") != 0 &&
        strcmp(sub, "bus") != 0) {
        fprintf(stderr, "rentezyd: unknown command '%s'\n%s", sub, usage);
        return 2;
    }
    if (!dir || !*dir)
        dir = "/etc/rentezy.d";
    if (sodium_init() < 0)
        return fail("libsodium failed to initialise");

    rz__rt.config_dir = dir;
    rz__rt.cfg = rz__config_load(dir, err, sizeof(err));
    if (!rz__rt.cfg)
        return fail(err);
    if (configure(rz__rt.cfg, err, sizeof(err)) < 0)
        return fail(err);
    if (print) {
        rz__config_print(rz__rt.cfg, stdout);
        return 0;
    }
    if (rz__clock_init() < 0)
        return fail("cannot map the shared clock");
    if (rz__http_host_routes(err, sizeof(err)) < 0 || rz__ws_routes(err, sizeof(err)) < 0 ||
        rz__plugins_load(rz__rt.cfg, err, sizeof(err)) < 0 ||
        rz__plugins_init(err, sizeof(err)) < 0 || rz__openapi_check(err, sizeof(err)) < 0)
        return fail(err);
    if (list) {
        rz__plugins_list(stdout);
        return 0;
    }
    if (check) {
        printf("configuration OK: %s, %zu plugins, %zu routes\n", dir, rz__rt.nplugins,
               rz__router_count(rz__router));
        return 0;
    }
    if (sub && strcmp(sub, "migrate") == 0)
        return rz__migrate_cli(argc - optind, argv + optind);
    if (sub && strcmp(sub, "jobs") == 0)
        return rz__jobs_cli(argc - optind, argv + optind);
    if (sub && strcmp(sub, "bus") == 0)
        return rz__bus_cli(argc - optind, argv + optind);

    if (rz__metrics_init(rz__router_count(rz__router)) < 0)
        return fail("cannot map shared memory for metrics");
    if (rz__db_configured() && rz__migrate_apply(stderr, err, sizeof(err)) < 0)
        return fail(err);
    int rc = rz__master_run(configure);
    rz__plugins_destroy();
    return rc;
}
