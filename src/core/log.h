/*
 * Logging: one line per event on stderr, with the UTC time, the level and
 * the request id of the calling thread ("-" outside a request).
 * Personal data never goes above debug level, and is masked even there.
 */
#ifndef PB_CORE_LOG_H
#define PB_CORE_LOG_H

#include <stdarg.h>

enum pb_log_level { PB_LOG_DEBUG, PB_LOG_INFO, PB_LOG_WARN, PB_LOG_ERROR };

void
pb_log_set_level(enum pb_log_level level);

/* Parses "debug", "info", "warn" or "error"; returns 0 on success. */
int
pb_log_parse_level(const char *name, enum pb_log_level *out);

/* Sets the request id shown on this thread's lines (NULL clears it). */
void
pb_log_set_request_id(const char *id);

const char *
pb_log_request_id(void);

void
pb_log(enum pb_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void
pb_vlog(enum pb_log_level level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

#define pb_debug(...) pb_log(PB_LOG_DEBUG, __VA_ARGS__)
#define pb_info(...)  pb_log(PB_LOG_INFO, __VA_ARGS__)
#define pb_warn(...)  pb_log(PB_LOG_WARN, __VA_ARGS__)
#define pb_error(...) pb_log(PB_LOG_ERROR, __VA_ARGS__)

#endif
