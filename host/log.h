/*
 * log.h — structured JSON log lines on stderr.
 *
 * Every line is one JSON object: {"ts":"2026-11-25T14:23:02.123Z",
 * "level":"info","pid":123,"src":"host","msg":"..."} plus optional fields.
 * The access log is buffered per worker and flushed on a short timer or when
 * the buffer fills, so logging costs no system call per request.
 */
#ifndef RZ_LOG_H
#define RZ_LOG_H

#include <stdarg.h>
#include <stdint.h>
#include <sys/types.h>

#include "rentezy/plugin.h"

/* Lines below this level are dropped.  Default RZ_LOG_INFO. */
void rz__log_set_level(int level);
int rz__log_level(void);
/* "debug", "info", "warn", "error" -> level, or -1. */
int rz__log_parse_level(const char *name);

/* src names the component ("host", "config", "db", or a plugin's name). */
void rz__log(int level, const char *src, const char *fmt, ...) RZ_PRINTF(3, 4);
void rz__logv(int level, const char *src, const char *fmt, va_list ap);

/* One access-log line (buffered). */
void rz__log_access(const char *method, const char *route, const char *path, int status,
                    double duration_ms, const char *request_id, const char *user);
/* The process id for log lines, cached; call rz__log_reset_pid after fork. */
pid_t rz__log_pid(void);
void rz__log_reset_pid(void);

/* Write out buffered access lines now. */
void rz__log_flush(void);

/* Escape s as a JSON string body into buf (always NUL-terminated, truncated
 * safely); returns the length written. */
size_t rz__json_escape(char *buf, size_t cap, const char *s);

#endif
