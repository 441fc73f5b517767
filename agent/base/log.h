// SPDX-License-Identifier: Apache-2.0
/* Logging: one line per message on stderr, "heapsnapd: level: text". Alerts go to stdout
 * (alert.c); logs never do. */
#ifndef HS_LOG_H
#define HS_LOG_H
#include <stdarg.h>

enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

void log_set_level(enum log_level level);
void log_set_prefix(const char *prefix);
int log_level_parse(const char *s, enum log_level *out); /* 0, or -EINVAL if unknown */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
