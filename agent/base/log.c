// SPDX-License-Identifier: Apache-2.0
#include "base/log.h"

#include <pthread.h>
#include <stdbool.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/sanitize.h"

static enum log_level current_level = LOG_INFO;
static const char *current_prefix = "heapsnapd";
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *const level_names[] = { "error", "warn", "info", "debug" };

void log_set_level(enum log_level level) { current_level = level; }
void log_set_prefix(const char *prefix) { current_prefix = prefix; }

int log_level_parse(const char *s, enum log_level *out)
{
	for (int i = LOG_ERROR; i <= LOG_DEBUG; i++) {
		if (strcasecmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	if (level > current_level)
		return;
	va_list ap;
	char *text = NULL, *safe = NULL;
	va_start(ap, fmt);
	int n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	/* Messages carry what watched processes control (command lines, paths, class
	 * names): no byte of it reaches a terminal or the journal as a control sequence. */
	bool clean = sanitize_is_clean(text, SANITIZE_ESCAPE);
	if (!clean) {
		size_t need = sanitize(text, SANITIZE_ESCAPE, NULL, 0) + 1;
		safe = malloc(need);
		if (safe)
			sanitize(text, SANITIZE_ESCAPE, safe, need);
	}
	pthread_mutex_lock(&log_lock);
	fprintf(stderr, "%s: %s: %s\n", current_prefix, level_names[level], clean ? text : safe ? safe : "(unprintable message)");
	fflush(stderr);
	pthread_mutex_unlock(&log_lock);
	free(text);
	free(safe);
}
