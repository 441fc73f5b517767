// SPDX-License-Identifier: Apache-2.0
/* Configuration: conf/heapsnap.ini parsed with inih into struct config.
 * Every key is listed once in the X-macro table in config.c (name, type, default,
 * bounds); errors are reported as "FILE:LINE: message" and the agent exits 2.
 * Sizes are given in MB in the file and kept in bytes here. 0 turns a trigger off. */
#ifndef HS_CONFIG_H
#define HS_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/types.h>

#include "heapsnap.h" /* HS_MAX_NAMES, HS_NAME_LEN: the BPF program's table of node_names */

enum capture_method { CAPTURE_AUTO = 0, CAPTURE_SIGNAL = 1, CAPTURE_INSPECTOR = 2 };

struct config {
	char path[PATH_MAX];          /* file it came from */

	/* [agent] */
	char node_names[HS_MAX_NAMES][HS_NAME_LEN]; /* node_names = node nodejs */
	int node_name_count;
	int log_level;                /* log_level = info (enum log_level) */
	char state_socket[PATH_MAX];  /* state_socket = /run/heapsnap/heapsnapd.sock ("" = none) */
	char state_file[PATH_MAX];    /* state_file = /run/heapsnap/heapsnapd.state: per-process
	                                 baselines kept across agent restarts ("" = none) */
	char lock_file[PATH_MAX];     /* lock_file = /run/heapsnap/heapsnapd.lock: one agent per
	                                 host holds it ("" = no host lock) */
	char require_env[256];        /* require_env = NAME=VALUE: watch only processes whose
	                                 environment has it ("" = every Node process) */

	/* [trigger] */
	uint64_t rss_bytes;           /* rss_mb = 0 */
	uint64_t growth_bytes;        /* growth_mb = 200 */
	unsigned cooldown_s;          /* cooldown_s = 300 */
	unsigned max_per_process;     /* max_per_process = 3 */
	bool leak;                    /* leak = off */
	unsigned leak_window_s;       /* leak_window_s = 60: minimum span of the post-GC floor trend */
	unsigned leak_min_gcs;        /* leak_min_gcs = 5: major GCs in the window */
	uint64_t leak_min_bytes;      /* leak_min_mb = 10: floor growth over the window */
	unsigned leak_min_pct;        /* leak_min_pct = 5: floor growth in % of the floor */
	bool predictive;              /* predictive = off */
	unsigned baseline_pct;        /* baseline_pct = 50: baseline snapshot at this % of a threshold (0 = none) */

	/* [capture] */
	enum capture_method method;   /* method = auto|signal|inspector */
	unsigned timeout_s;           /* timeout_s = 600: whole capture */
	unsigned start_timeout_s;     /* start_timeout_s = 10: signal sent -> file/inspector appears */
	unsigned max_concurrent;      /* max_concurrent = 1 (host-wide) */
	int compress_level;           /* compress_level = 6 (zlib 1..9) */
	bool guard;                   /* guard = on: refuse captures that would not fit in memory */
	unsigned guard_cost_factor;   /* guard_cost_factor = 15: extra memory = factor x heap used */
	uint64_t guard_min_headroom_bytes; /* guard_min_headroom_mb = 64 */
	bool inspector_unguarded;     /* inspector_unguarded = off: open inspectors even without
	                                 the kernel connect guard (cgroup v2 + BPF) */
	unsigned profile_interval_kb; /* profile_interval_kb = 4096: V8's sampling heap profiler
	                                 in the target from its baseline on (0 = off) */

	/* [store] */
	char store_dir[PATH_MAX];     /* dir = /var/lib/heapsnap */
	uint64_t max_total_bytes;     /* max_total_mb = 0 (no limit) */
	unsigned max_count;           /* max_count = 0 */
	unsigned max_age_days;        /* max_age_days = 0 */
	uint64_t min_free_bytes;      /* min_free_mb = 256 */

	/* [alert] */
	char alert_exec[1024];        /* exec = (empty: none); run with /bin/sh -c */
	unsigned alert_exec_timeout_s;/* exec_timeout_s = 10 */
	bool alert_stdout;            /* stdout = on */
	char alert_webhook[512];      /* webhook = URL: every event's JSON POSTed ("" = none) */

	/* [metrics] */
	char metrics_listen[128];     /* listen = 127.0.0.1:9837 (HOST:PORT; "" = no endpoint) */
	unsigned metrics_max_processes; /* max_processes = 100: per-process series at most */

	/* [alertmanager] */
	char am_urls[1024];           /* url = URL [URL...]: every one gets every alert ("" = off) */
	unsigned am_resend_s;         /* resend_s = 60 */
	char am_username[128];        /* username = (basic auth, with password_file) */
	char am_password_file[PATH_MAX]; /* password_file = (0600) */
	char am_bearer_token_file[PATH_MAX]; /* bearer_token_file = (0600) */

	/* [upload]: S3-compatible object storage ("" endpoint = off) */
	char upload_endpoint[512];    /* endpoint = http(s)://HOST[:PORT] */
	char upload_bucket[64];       /* bucket = */
	char upload_prefix[256];      /* prefix = (empty: the host name) */
	char upload_region[64];       /* region = us-east-1 */
	bool upload_path_style;       /* path_style = on: URL/BUCKET/KEY, else BUCKET.HOST/KEY */
	char upload_credentials_file[PATH_MAX]; /* credentials_file = (empty: environment) */
	char upload_profile[128];     /* profile = default */
	bool upload_keep_local;       /* keep_local = on: keep the local copy once uploaded */
	char upload_ca_file[PATH_MAX];/* ca_file = (empty: the system's CAs) */
	uint64_t upload_part_bytes;   /* part_mb = 16: multipart part size (and threshold) */
	unsigned upload_retry_max_s;  /* retry_max_s = 300: longest wait between retries */
	unsigned upload_max_mbps;     /* max_mbps = 0: upload bandwidth cap in MB/s (0 = none) */

	/* [report] */
	uint64_t report_max_bytes;    /* max_mb = 0: sized to the host (config_report_max_bytes) */
};

/* The largest snapshot (decompressed bytes) an incident's leak report parses:
 * [report] max_mb, or when 0 a sixteenth of the host's memory (MemTotal), so that the
 * report's peak (~3x the snapshot: the baseline, the incident with its edges, the
 * dominator tree) stays under a fifth of it: conf/heapsnapd.service's MemoryHigh. */
uint64_t config_report_max_bytes(const struct config *cfg);

/* Defaults for every key. */
void config_defaults(struct config *cfg);

/* Parse FILE into cfg (defaults first). On error returns a negative errno (-EINVAL: a
 * bad line; -ENOENT, -EISDIR...: the file could not be read) and writes
 * "FILE:LINE: message" (or "FILE: message") into err. */
int config_load(struct config *cfg, const char *path, char *err, size_t errlen);

/* Same, from a string (tests); name is used in messages. */
int config_load_string(struct config *cfg, const char *text, const char *name, char *err, size_t errlen);

/* One key of the table, for the generated reference (heapsnap.ini(5),
 * docs/configuration.md): value is what the file takes ("on|off", "MB", "path"...),
 * bounds the limits the parser enforces ("" if none). */
struct config_key_info {
	const char *section;
	const char *name;
	const char *value;
	const char *def;
	char bounds[64];
};

/* The I-th key in table order (0 first): 0, or -ENOENT past the last. */
int config_key_info(size_t i, struct config_key_info *out);

#endif
