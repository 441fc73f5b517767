// SPDX-License-Identifier: Apache-2.0
/* Configuration: conf/heapsnap.ini -> struct config.
 *
 * Every key is listed exactly once in CONFIG_KEYS below (section, name, type, field,
 * default, bounds). The table generates the defaults (each default is a string parsed
 * by the same code as the file, so the defaults and the file syntax cannot disagree)
 * and the key matcher.
 *
 * inih does the INI syntax. We feed it through our own line reader (ini_parse_stream)
 * so that we know the current line number (Debian's inih is built without
 * INI_HANDLER_LINENO) and can refuse lines longer than inih's 200-byte buffer instead
 * of letting inih silently split them. Leading blanks are dropped by the reader, so
 * indented keys are fine and inih's multiline continuation never applies.
 *
 * Relative paths (every path key: store dir, state_socket, state_file, lock_file, the
 * secret files, ca_file) are resolved against the current working
 * directory at load time, so later chdir()s of the agent do not move them. */
#include "base/config.h"

#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/fileio.h"
#include "base/log.h"

#define MB_MAX (1ULL << 30)         /* 1 PiB: far above any real RSS, far below overflow */
#define LINE_MAX_LEN (INI_MAX_LINE - 1)

enum key_type { T_BOOL, T_UINT, T_INT, T_MB, T_STR, T_PATH, T_METHOD, T_LOGLEVEL, T_NAMES, T_URLS,
		T_LISTEN };

/* X(section, name, type, field, default, min, max). min/max bound the number as
 * written in the file (MB for T_MB); for T_PATH, min = 1 means "must not be empty";
 * for T_URLS, min is how many space-separated http(s) URLs may be given. */
#define CONFIG_KEYS(X)                                                                   \
	X("agent", "node_names", T_NAMES, node_names, "node nodejs", 0, 0)               \
	X("agent", "log_level", T_LOGLEVEL, log_level, "info", 0, 0)                     \
	X("agent", "state_socket", T_PATH, state_socket, "/run/heapsnap/heapsnapd.sock", 0, 0) \
	X("agent", "state_file", T_PATH, state_file, "/run/heapsnap/heapsnapd.state", 0, 0) \
	X("agent", "lock_file", T_PATH, lock_file, "/run/heapsnap/heapsnapd.lock", 0, 0) \
	X("agent", "require_env", T_STR, require_env, "", 0, 0)                          \
	X("trigger", "rss_mb", T_MB, rss_bytes, "0", 0, MB_MAX)                          \
	X("trigger", "growth_mb", T_MB, growth_bytes, "200", 0, MB_MAX)                  \
	X("trigger", "cooldown_s", T_UINT, cooldown_s, "300", 0, 7 * 86400)              \
	X("trigger", "max_per_process", T_UINT, max_per_process, "3", 0, 1000)           \
	X("trigger", "leak", T_BOOL, leak, "off", 0, 0)                                  \
	X("trigger", "leak_window_s", T_UINT, leak_window_s, "60", 1, 86400)             \
	X("trigger", "leak_min_gcs", T_UINT, leak_min_gcs, "5", 1, 100000)               \
	X("trigger", "leak_min_mb", T_MB, leak_min_bytes, "10", 0, MB_MAX)               \
	X("trigger", "leak_min_pct", T_UINT, leak_min_pct, "5", 0, 10000)                \
	X("trigger", "predictive", T_BOOL, predictive, "off", 0, 0)                      \
	X("trigger", "baseline_pct", T_UINT, baseline_pct, "50", 0, 99)                  \
	X("capture", "method", T_METHOD, method, "auto", 0, 0)                           \
	X("capture", "timeout_s", T_UINT, timeout_s, "600", 1, 86400)                    \
	X("capture", "start_timeout_s", T_UINT, start_timeout_s, "10", 1, 3600)          \
	X("capture", "max_concurrent", T_UINT, max_concurrent, "4", 1, 64)               \
	X("capture", "compress_level", T_INT, compress_level, "6", 1, 9)                 \
	X("capture", "guard", T_BOOL, guard, "on", 0, 0)                                 \
	X("capture", "guard_cost_factor", T_UINT, guard_cost_factor, "15", 1, 100)       \
	X("capture", "guard_min_headroom_mb", T_MB, guard_min_headroom_bytes, "64", 0, MB_MAX) \
	X("capture", "inspector_unguarded", T_BOOL, inspector_unguarded, "off", 0, 0)    \
	X("capture", "profile_interval_kb", T_UINT, profile_interval_kb, "4096", 0, 65536) \
	X("store", "dir", T_PATH, store_dir, "/var/lib/heapsnap", 1, 0)                  \
	X("store", "max_total_mb", T_MB, max_total_bytes, "0", 0, MB_MAX)                \
	X("store", "max_count", T_UINT, max_count, "0", 0, 10000000)                     \
	X("store", "max_age_days", T_UINT, max_age_days, "0", 0, 36500)                  \
	X("store", "min_free_mb", T_MB, min_free_bytes, "256", 0, MB_MAX)                \
	X("alert", "exec", T_STR, alert_exec, "", 0, 0)                                  \
	X("alert", "exec_timeout_s", T_UINT, alert_exec_timeout_s, "10", 1, 3600)        \
	X("alert", "stdout", T_BOOL, alert_stdout, "on", 0, 0)                          \
	X("alert", "webhook", T_URLS, alert_webhook, "", 1, 0)                           \
	X("metrics", "listen", T_LISTEN, metrics_listen, "127.0.0.1:9837", 0, 0)         \
	X("metrics", "max_processes", T_UINT, metrics_max_processes, "100", 0, 100000)   \
	X("alertmanager", "url", T_URLS, am_urls, "", 16, 0)                             \
	X("alertmanager", "resend_s", T_UINT, am_resend_s, "60", 1, 86400)               \
	X("alertmanager", "username", T_STR, am_username, "", 0, 0)                      \
	X("alertmanager", "password_file", T_PATH, am_password_file, "", 0, 0)          \
	X("alertmanager", "bearer_token_file", T_PATH, am_bearer_token_file, "", 0, 0) \
	X("upload", "endpoint", T_STR, upload_endpoint, "", 0, 0)                        \
	X("upload", "bucket", T_STR, upload_bucket, "", 0, 0)                            \
	X("upload", "prefix", T_STR, upload_prefix, "", 0, 0)                            \
	X("upload", "region", T_STR, upload_region, "us-east-1", 0, 0)                   \
	X("upload", "path_style", T_BOOL, upload_path_style, "on", 0, 0)                 \
	X("upload", "credentials_file", T_PATH, upload_credentials_file, "", 0, 0)       \
	X("upload", "profile", T_STR, upload_profile, "default", 0, 0)                   \
	X("upload", "keep_local", T_BOOL, upload_keep_local, "on", 0, 0)                 \
	X("upload", "ca_file", T_PATH, upload_ca_file, "", 0, 0)                         \
	X("upload", "part_mb", T_MB, upload_part_bytes, "16", 5, 1024)                   \
	X("upload", "retry_max_s", T_UINT, upload_retry_max_s, "300", 1, 86400)            \
	X("upload", "max_mbps", T_UINT, upload_max_mbps, "0", 0, 100000) \
	X("report", "max_mb", T_MB, report_max_bytes, "0", 0, MB_MAX)

struct key_desc {
	const char *section;
	const char *name;
	enum key_type type;
	size_t offset;
	size_t size;
	const char *def;
	unsigned long long min, max;
};

#define KEY_DESC(sec, nm, ty, field, dflt, lo, hi)                                        \
	{ sec, nm, ty, offsetof(struct config, field), sizeof(((struct config *)0)->field), \
	  dflt, lo, hi },
static const struct key_desc keys[] = { CONFIG_KEYS(KEY_DESC) };
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static const char *const sections[] = { "agent", "trigger", "capture", "store", "alert", "metrics",
					"alertmanager", "upload", "report" };

/* State of one parse. */
struct parse_ctx {
	struct config *cfg;
	const char *name;        /* file name for messages */
	int line;                /* current line (1-based), counted by our reader */
	int key_line[NKEYS];     /* where each key was set (0 = default) */
	int err_line;            /* first error: line (0 = none) */
	char err[400];           /* first error: message without "FILE:LINE: " */
	/* input */
	FILE *fp;
	int read_errno;          /* errno of a failed read from fp */
	const char *text;        /* string input (when fp is NULL) */
};

static void ctx_error(struct parse_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ctx_error(struct parse_ctx *c, const char *fmt, ...)
{
	if (c->err_line)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	c->err_line = c->line;
}

/* --- value parsers: return 0, or -EINVAL with the error recorded ------------------- */

static int parse_ull(struct parse_ctx *c, const struct key_desc *k, const char *v, unsigned long long *out)
{
	const char *p = v;
	if (*p == '\0')
		goto bad;
	for (; *p; p++)
		if (*p < '0' || *p > '9')
			goto bad;
	errno = 0;
	unsigned long long n = strtoull(v, NULL, 10);
	if (errno == ERANGE || n < k->min || n > k->max) {
		ctx_error(c, "%s = %s out of range (%llu..%llu)", k->name, v, k->min, k->max);
		return -EINVAL;
	}
	*out = n;
	return 0;
bad:
	ctx_error(c, "bad number '%s' for %s", v, k->name);
	return -EINVAL;
}

static int parse_bool(struct parse_ctx *c, const struct key_desc *k, const char *v, bool *out)
{
	static const char *const yes[] = { "on", "true", "yes", "1" };
	static const char *const no[] = { "off", "false", "no", "0" };
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	ctx_error(c, "bad value '%s' for %s (expected on or off)", v, k->name);
	return -EINVAL;
}

static int copy_string(struct parse_ctx *c, const struct key_desc *k, const char *v, char *dst)
{
	if (strlen(v) >= k->size) {
		ctx_error(c, "value of %s too long (max %zu bytes)", k->name, k->size - 1);
		return -EINVAL;
	}
	strcpy(dst, v);
	return 0;
}

/* Relative -> absolute against the cwd, so the value survives a chdir. */
static int parse_path(struct parse_ctx *c, const struct key_desc *k, const char *v, char *dst)
{
	if (k->min && *v == '\0') {
		ctx_error(c, "bad path for %s: must not be empty", k->name);
		return -EINVAL;
	}
	if (*v == '\0' || *v == '/')
		return copy_string(c, k, v, dst);
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd))) {
		ctx_error(c, "bad path '%s' for %s: cannot resolve against the current directory: %s",
			  v, k->name, strerror(errno));
		return -EINVAL;
	}
	int n = snprintf(dst, k->size, "%s/%s", strcmp(cwd, "/") == 0 ? "" : cwd, v);
	if (n < 0 || (size_t)n >= k->size) {
		ctx_error(c, "bad path '%s' for %s: too long once made absolute", v, k->name);
		return -EINVAL;
	}
	return 0;
}

static int parse_names(struct parse_ctx *c, const struct key_desc *k, const char *v)
{
	struct config *cfg = c->cfg;
	char buf[HS_MAX_NAMES * (HS_NAME_LEN + 1) + 1];
	if (strlen(v) >= sizeof(buf)) {
		ctx_error(c, "value of %s too long", k->name);
		return -EINVAL;
	}
	strcpy(buf, v);
	int n = 0;
	char *save = NULL;
	for (char *w = strtok_r(buf, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		if (n == HS_MAX_NAMES) {
			ctx_error(c, "too many names for %s (max %d)", k->name, HS_MAX_NAMES);
			return -EINVAL;
		}
		if (strlen(w) >= HS_NAME_LEN || strchr(w, '/')) {
			ctx_error(c, "bad name '%s' for %s (a file name of at most %d bytes)", w, k->name,
				  HS_NAME_LEN - 1);
			return -EINVAL;
		}
		strcpy(cfg->node_names[n++], w);
	}
	if (n == 0) {
		ctx_error(c, "%s must list at least one executable name", k->name);
		return -EINVAL;
	}
	cfg->node_name_count = n;
	return 0;
}

static int parse_method(struct parse_ctx *c, const struct key_desc *k, const char *v, enum capture_method *out)
{
	static const char *const names[] = { "auto", "signal", "inspector" };
	for (int i = 0; i < 3; i++) {
		if (strcasecmp(v, names[i]) == 0) {
			*out = (enum capture_method)i;
			return 0;
		}
	}
	ctx_error(c, "bad value '%s' for %s (expected auto, signal or inspector)", v, k->name);
	return -EINVAL;
}

/* Space-separated http:// or https:// URLs, at most k->min of them. */
static int parse_urls(struct parse_ctx *c, const struct key_desc *k, const char *v, char *dst)
{
	char buf[1024], *save = NULL;
	unsigned n = 0;

	if (copy_string(c, k, v, dst) < 0)
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%s", v);
	for (char *w = strtok_r(buf, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		if (++n > k->min) {
			ctx_error(c, "too many URLs for %s (max %llu)", k->name, k->min);
			return -EINVAL;
		}
		if ((strncmp(w, "http://", 7) != 0 || !w[7]) && (strncmp(w, "https://", 8) != 0 || !w[8])) {
			ctx_error(c, "bad URL '%s' for %s (expected http://HOST[:PORT][/PATH] or https://...)",
				  w, k->name);
			return -EINVAL;
		}
		const char *auth = strstr(w, "://") + 3;
		const char *at = strchr(auth, '@');
		if (at && at < auth + strcspn(auth, "/?#")) {
			/* not echoed: it holds a secret */
			ctx_error(c, "credentials in a URL of %s: use [alertmanager] username and "
				  "password_file (or bearer_token_file) instead", k->name);
			return -EINVAL;
		}
	}
	return 0;
}

/* HOST:PORT or [V6]:PORT, port 1..65535; empty = off. */
static int parse_listen(struct parse_ctx *c, const struct key_desc *k, const char *v, char *dst)
{
	const char *colon = v[0] == '[' ? strstr(v, "]:") : strrchr(v, ':');
	char *end;

	if (!*v)
		return copy_string(c, k, v, dst);
	if (colon && v[0] == '[')
		colon++;
	unsigned long port = colon ? strtoul(colon + 1, &end, 10) : 0;
	if (!colon || colon == v || !colon[1] || *end || port == 0 || port > 65535) {
		ctx_error(c, "bad address '%s' for %s (expected HOST:PORT, e.g. 127.0.0.1:9837)", v, k->name);
		return -EINVAL;
	}
	return copy_string(c, k, v, dst);
}

static int set_key(struct parse_ctx *c, const struct key_desc *k, const char *v)
{
	void *field = (char *)c->cfg + k->offset;
	unsigned long long n;
	enum log_level level;

	switch (k->type) {
	case T_BOOL:
		return parse_bool(c, k, v, field);
	case T_UINT:
		if (parse_ull(c, k, v, &n) < 0)
			return -EINVAL;
		*(unsigned *)field = (unsigned)n;
		return 0;
	case T_INT:
		if (parse_ull(c, k, v, &n) < 0)
			return -EINVAL;
		*(int *)field = (int)n;
		return 0;
	case T_MB:
		if (parse_ull(c, k, v, &n) < 0)
			return -EINVAL;
		if (n > UINT64_MAX >> 20) { /* unreachable with MB_MAX, kept as the overflow guard */
			ctx_error(c, "%s = %s out of range", k->name, v);
			return -EINVAL;
		}
		*(uint64_t *)field = (uint64_t)n << 20;
		return 0;
	case T_STR:
		return copy_string(c, k, v, field);
	case T_PATH:
		return parse_path(c, k, v, field);
	case T_METHOD:
		return parse_method(c, k, v, field);
	case T_LOGLEVEL:
		if (log_level_parse(v, &level) < 0) {
			ctx_error(c, "bad value '%s' for %s (expected error, warn, info or debug)", v, k->name);
			return -EINVAL;
		}
		*(int *)field = (int)level;
		return 0;
	case T_NAMES:
		return parse_names(c, k, v);
	case T_URLS:
		return parse_urls(c, k, v, field);
	case T_LISTEN:
		return parse_listen(c, k, v, field);
	}
	return -EINVAL;
}

/* --- inih callbacks --------------------------------------------------------- */

static bool section_known(const char *s)
{
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		if (strcmp(s, sections[i]) == 0)
			return true;
	return false;
}

static int find_key(const char *section, const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].name, name) == 0)
			return (int)i;
	return -ENOENT;
}

static int on_key(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *c = user;
	if (*section == '\0') {
		ctx_error(c, "key '%s' outside of any section", name);
		return 0;
	}
	if (!section_known(section)) {
		ctx_error(c, "unknown section [%s]", section);
		return 0;
	}
	int ki = find_key(section, name);
	if (ki < 0) {
		ctx_error(c, "unknown key '%s' in [%s]", name, section);
		return 0;
	}
	if (c->key_line[ki]) {
		ctx_error(c, "duplicate key '%s' in [%s] (first set on line %d)", name, section, c->key_line[ki]);
		return 0;
	}
	c->key_line[ki] = c->line;
	return set_key(c, &keys[ki], value) == 0;
}

/* Next line from the file or string. Lines that do not fit in inih's buffer are cut,
 * the rest skipped, and reported: inih would otherwise read the rest as a new line. */
static int next_char(struct parse_ctx *c)
{
	if (c->fp) {
		int ch = getc(c->fp);
		if (ch == EOF && ferror(c->fp) && !c->read_errno)
			c->read_errno = errno ? errno : EIO;
		return ch;
	}
	if (*c->text == '\0')
		return EOF;
	return (unsigned char)*c->text++;
}

static char *read_line(char *str, int num, void *stream)
{
	struct parse_ctx *c = stream;
	int ch = next_char(c);
	if (ch == EOF)
		return NULL;
	c->line++;
	while (ch == ' ' || ch == '\t')
		ch = next_char(c);
	int len = 0;
	bool too_long = false;
	for (; ch != EOF; ch = next_char(c)) {
		if (ch == '\0') {
			ctx_error(c, "NUL byte in line");
			ch = ' ';
		}
		if (len < num - 1 && len < LINE_MAX_LEN)
			str[len++] = (char)ch;
		else if (ch != '\n' && ch != '\r')
			too_long = true;
		if (ch == '\n')
			break;
	}
	str[len] = '\0';
	if (too_long)
		ctx_error(c, "line too long (max %d bytes; put a long exec command in a script)",
			  LINE_MAX_LEN);
	return str;
}

/* --- whole-config checks ------------------------------------------------------ */

static int key_index(const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* [upload]: an endpoint is an http(s) URL without a path, and needs a bucket; the
 * bucket and prefix become parts of object keys and URLs. */
static void check_upload(struct parse_ctx *c)
{
	struct config *cfg = c->cfg;
	const char *e = cfg->upload_endpoint, *host;

	if (!e[0])
		return;
	c->line = c->key_line[key_index("endpoint")];
	host = strncmp(e, "http://", 7) == 0 ? e + 7 : strncmp(e, "https://", 8) == 0 ? e + 8 : NULL;
	if (!host || !*host || strpbrk(host, "/?# ")) {
		ctx_error(c, "bad endpoint '%s' (expected http://HOST[:PORT] or https://HOST[:PORT], no path)", e);
		return;
	}
	c->line = c->key_line[key_index("bucket")];
	if (!c->line)
		c->line = c->key_line[key_index("endpoint")];
	if (!cfg->upload_bucket[0] || strspn(cfg->upload_bucket, "abcdefghijklmnopqrstuvwxyz0123456789.-") !=
	    strlen(cfg->upload_bucket) || strlen(cfg->upload_bucket) < 3) {
		ctx_error(c, "bucket '%s' for endpoint %s: an S3 bucket name is 3-63 bytes of a-z, 0-9, '.' and '-'",
			  cfg->upload_bucket, e);
		return;
	}
	c->line = c->key_line[key_index("prefix")];
	if (cfg->upload_prefix[0] == '/' || strstr(cfg->upload_prefix, "//") ||
	    (cfg->upload_prefix[0] && cfg->upload_prefix[strlen(cfg->upload_prefix) - 1] == '/')) {
		ctx_error(c, "bad prefix '%s' (no leading, trailing or double '/')", cfg->upload_prefix);
		return;
	}
	if (!cfg->upload_profile[0]) {
		c->line = c->key_line[key_index("profile")];
		ctx_error(c, "profile must not be empty");
	}
}

static void check_consistency(struct parse_ctx *c)
{
	struct config *cfg = c->cfg;
	if (cfg->start_timeout_s > cfg->timeout_s) {
		c->line = c->key_line[key_index("start_timeout_s")];
		if (!c->line)
			c->line = c->key_line[key_index("timeout_s")];
		ctx_error(c, "start_timeout_s (%u) must not exceed timeout_s (%u)", cfg->start_timeout_s,
			  cfg->timeout_s);
	}
	if ((cfg->am_password_file[0] != '\0') != (cfg->am_username[0] != '\0')) {
		c->line = c->key_line[key_index(cfg->am_username[0] ? "username" : "password_file")];
		ctx_error(c, "[alertmanager] username and password_file go together (basic auth)");
	}
	if (cfg->am_bearer_token_file[0] && cfg->am_username[0]) {
		c->line = c->key_line[key_index("bearer_token_file")];
		ctx_error(c, "[alertmanager] bearer_token_file and username/password_file exclude each other");
	}
	check_upload(c);
	if (cfg->state_socket[0] && strlen(cfg->state_socket) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		c->line = c->key_line[key_index("state_socket")];
		ctx_error(c, "state_socket path too long for a unix socket (max %zu bytes)",
			  sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
	}
}

/* --- public ----------------------------------------------------------------- */

void config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	struct parse_ctx c = { .cfg = cfg, .name = "(defaults)" };
	for (size_t i = 0; i < NKEYS; i++)
		set_key(&c, &keys[i], keys[i].def); /* cannot fail: checked by test_config */
}

static int run_parse(struct parse_ctx *c, char *err, size_t errlen)
{
	config_defaults(c->cfg);
	snprintf(c->cfg->path, sizeof(c->cfg->path), "%s", c->name);
	int rc = ini_parse_stream(read_line, c, on_key, c);
	if (rc == -2) {
		snprintf(err, errlen, "%s: out of memory while parsing", c->name);
		return -ENOMEM;
	}
	if (rc > 0 && (!c->err_line || rc < c->err_line)) {
		c->err_line = rc;
		snprintf(c->err, sizeof(c->err), "syntax error (expected '[section]' or 'key = value')");
	}
	if (!c->err_line)
		check_consistency(c);
	if (c->err_line || c->err[0]) {
		if (c->err_line > 0)
			snprintf(err, errlen, "%s:%d: %s", c->name, c->err_line, c->err);
		else
			snprintf(err, errlen, "%s: %s", c->name, c->err);
		return -EINVAL;
	}
	return 0;
}

int config_load(struct config *cfg, const char *path, char *err, size_t errlen)
{
	struct parse_ctx c = { .cfg = cfg, .name = path };
	c.fp = fopen(path, "re");
	if (!c.fp) {
		int e = errno;
		config_defaults(cfg);
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(e));
		return -e;
	}
	int rc = run_parse(&c, err, errlen);
	if (c.read_errno) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(c.read_errno));
		rc = -c.read_errno;
	}
	fclose(c.fp);
	return rc;
}

int config_load_string(struct config *cfg, const char *text, const char *name, char *err, size_t errlen)
{
	struct parse_ctx c = { .cfg = cfg, .name = name, .text = text };
	return run_parse(&c, err, errlen);
}

uint64_t config_report_max_bytes(const struct config *cfg)
{
	char buf[4096];
	unsigned long long kb;
	const char *p;

	if (cfg->report_max_bytes)
		return cfg->report_max_bytes;
	if (read_small_file("/proc/meminfo", buf, sizeof(buf)) < 0 || !(p = strstr(buf, "MemTotal:")) ||
	    sscanf(p, "MemTotal: %llu kB", &kb) != 1)
		return (uint64_t)512 << 20;
	return (uint64_t)kb * 1024 / 16;
}

/* --- the table, for the reference ------------------------------------------------ */

static const char *value_word(enum key_type t)
{
	static const char *const words[] = {
		[T_BOOL] = "on|off", [T_UINT] = "number", [T_INT] = "number", [T_MB] = "MiB",
		[T_STR] = "string", [T_PATH] = "path", [T_METHOD] = "auto|signal|inspector",
		[T_LOGLEVEL] = "error|warn|info|debug", [T_NAMES] = "names", [T_URLS] = "URLs",
		[T_LISTEN] = "HOST:PORT",
	};
	return words[t];
}

int config_key_info(size_t i, struct config_key_info *out)
{
	if (i >= NKEYS)
		return -ENOENT;
	const struct key_desc *k = &keys[i];
	*out = (struct config_key_info){ .section = k->section, .name = k->name, .value = value_word(k->type),
					 .def = k->def };
	switch (k->type) {
	case T_UINT:
	case T_INT:
	case T_MB:
		snprintf(out->bounds, sizeof(out->bounds), "%llu..%llu", k->min, k->max);
		break;
	case T_PATH:
		if (k->min)
			snprintf(out->bounds, sizeof(out->bounds), "not empty");
		break;
	case T_URLS:
		snprintf(out->bounds, sizeof(out->bounds), "at most %llu", k->min);
		break;
	case T_NAMES:
		snprintf(out->bounds, sizeof(out->bounds), "1..%d names of at most %d bytes", HS_MAX_NAMES,
			 HS_NAME_LEN - 1);
		break;
	default:
		break;
	}
	return 0;
}
