// SPDX-License-Identifier: Apache-2.0
/* Fleet exporters from the config (see exporter.h); the webhook sink lives here. */
#include "export/exporter.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "export/alertmanager.h"
#include "export/metrics_http.h"
#include "export/sender.h"

#define SECRET_MAX 4096

struct exporter {
	struct sender *sender;
	struct am_sink *am;
	int webhook_target;            /* -1 = none */
};

int exporter_read_secret(const char *key, const char *path, char *buf, size_t len, char *err,
			 size_t errlen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n = -1;
	int rc = -EINVAL;

	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s %s: cannot open: %s", key, path, strerror(-rc));
		return rc;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s %s: not a regular file", key, path);
		goto cleanup;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(err, errlen, "%s %s: group or others can access it (mode %04o): chmod 600 it",
			 key, path, (unsigned)(st.st_mode & 07777));
		goto cleanup;
	}
	n = read(fd, buf, len - 1);
	if (n < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s %s: cannot read: %s", key, path, strerror(-rc));
		goto cleanup;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (!buf[0]) {
		snprintf(err, errlen, "%s %s: empty", key, path);
		goto cleanup;
	}
	rc = 0;
cleanup:
	close(fd);
	return rc;
}

static void webhook_event(void *ctx, const json_t *ev, const char *line)
{
	struct exporter *e = ctx;

	(void)ev;
	if (sender_enqueue(e->sender, e->webhook_target, line, strlen(line), WEBHOOK_MAX_AGE_MS) != 0)
		log_warn("webhook: cannot queue an event (out of memory)");
}

/* generatorURL: the agent's own /metrics when it serves one, under the host's name
 * when it listens on every address. */
static void generator_url(const struct config *cfg, char *out, size_t len)
{
	char host[128], name[256];
	unsigned port;

	out[0] = '\0';
	if (!cfg->metrics_listen[0] || metrics_split_listen(cfg->metrics_listen, host, sizeof(host), &port))
		return;
	if ((strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0) &&
	    gethostname(name, sizeof(name) - 1) == 0)
		snprintf(host, sizeof(host), "%.127s", name);
	snprintf(out, len, strchr(host, ':') ? "http://[%s]:%u/metrics" : "http://%s:%u/metrics", host, port);
}

static int read_am_auth(const struct config *cfg, char *secret, size_t len, struct http_auth *auth,
			char *err, size_t errlen)
{
	int rc = 0;

	*auth = (struct http_auth){ 0 };
	if (cfg->am_bearer_token_file[0]) {
		rc = exporter_read_secret("[alertmanager] bearer_token_file", cfg->am_bearer_token_file,
					  secret, len, err, errlen);
		auth->bearer = rc == 0 ? secret : NULL;
	} else if (cfg->am_username[0]) {
		rc = exporter_read_secret("[alertmanager] password_file", cfg->am_password_file, secret, len,
					  err, errlen);
		auth->username = rc == 0 ? cfg->am_username : NULL;
		auth->password = rc == 0 ? secret : NULL;
	}
	return rc;
}

static int start_am(struct exporter *e, const struct config *cfg, struct alerter *al, char *err,
		    size_t errlen)
{
	char secret[SECRET_MAX], gen[300];
	struct http_auth auth;
	int rc = read_am_auth(cfg, secret, sizeof(secret), &auth, err, errlen);

	if (rc < 0)
		return rc;
	generator_url(cfg, gen, sizeof(gen));
	e->am = am_sink_new(e->sender, cfg->am_urls, &auth, cfg->am_resend_s, gen, err, errlen);
	explicit_bzero(secret, sizeof(secret));
	if (!e->am)
		return -EINVAL;  /* the reason is in err */
	struct alert_sink sink = am_sink_ops(e->am);
	sender_set_tick(e->sender, am_sink_tick, e->am);
	return alerter_add_sink(al, &sink);
}

struct exporter *exporter_start(const struct config *cfg, struct alerter *al, struct metrics *m,
				char *err, size_t errlen)
{
	struct exporter *e = calloc(1, sizeof(*e));

	if (!e) {
		snprintf(err, errlen, "exporters: out of memory");
		return NULL;
	}
	e->webhook_target = -1;
	if (!cfg->am_urls[0] && !cfg->alert_webhook[0])
		return e;
	e->sender = sender_new(m);
	if (!e->sender) {
		snprintf(err, errlen, "exporters: cannot set up libcurl");
		goto fail;
	}
	if (cfg->am_urls[0] && start_am(e, cfg, al, err, errlen))
		goto fail;
	if (cfg->alert_webhook[0]) {
		struct alert_sink sink = { .event = webhook_event, .ctx = e };
		e->webhook_target = sender_add_target(e->sender, SINK_WEBHOOK, cfg->alert_webhook, NULL);
		if (e->webhook_target < 0 || alerter_add_sink(al, &sink) != 0) {
			snprintf(err, errlen, "webhook: cannot set up");
			goto fail;
		}
	}
	if (sender_start(e->sender) != 0) {
		snprintf(err, errlen, "exporters: cannot start the sender thread");
		goto fail;
	}
	if (cfg->am_urls[0])
		log_info("alertmanager: pushing alerts to %s (re-sent every %us)", cfg->am_urls, cfg->am_resend_s);
	if (cfg->alert_webhook[0]) {
		char shown[512];
		http_url_origin(cfg->alert_webhook, shown, sizeof(shown));
		log_info("webhook: posting every event to %s", shown);
	}
	return e;
fail:
	exporter_free(e);
	return NULL;
}

void exporter_free(struct exporter *e)
{
	if (!e)
		return;
	sender_free(e->sender);
	am_sink_free(e->am);
	free(e);
}
