/*
 * loader.h — finding, checking, ordering and initialising plugins.
 *
 * The checks run in a fixed order and each refusal is one line naming the
 * file, what was expected, what was found and what to do (PostgreSQL's
 * DETAIL, nginx's ordered checks).  A refused plugin stops the start: there
 * is never a half-loaded daemon.  Plugins are opened with RTLD_NOW |
 * RTLD_LOCAL and never closed once initialised.
 */
#ifndef RZ_LOADER_H
#define RZ_LOADER_H

#include <stddef.h>
#include <stdio.h>

#include "config.h"

/* Load and check [host] plugins from [host] plugin_dir (an entry containing
 * '/' is a path).  Orders them so requirements come first.  Fills
 * rz__rt.plugins.  0 or -1 with err. */
int rz__plugins_load(const rz_config_t *cfg, char *err, size_t errlen);
/* Call init of each plugin in order (master). */
int rz__plugins_init(char *err, size_t errlen);
/* Call start of each plugin (worker). */
int rz__plugins_start(char *err, size_t errlen);
void rz__plugins_stop(void);
void rz__plugins_destroy(void);
/* Print name, version, ABI and file of each plugin. */
void rz__plugins_list(FILE *out);

/* Record a fatal registration error during init (e.g. a duplicate route):
 * the start fails after the plugin's init returns, whatever it returned. */
void rz__plugins_init_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Capabilities the host offers in this configuration ("cap:db", ...). */
int rz__capability_available(const char *cap, const char **why);

#endif
