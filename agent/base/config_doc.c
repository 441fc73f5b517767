// SPDX-License-Identifier: Apache-2.0
/* The configuration reference: heapsnap.ini(5) and docs/configuration.md are written
 * from the key table in config.c (name, value type, default, bounds) and the text
 * below (what each key means). tests/unit/test_config_doc.c fails when a key has no
 * text, a text has no key, or a committed page differs from what this writes
 * (regenerate with `make config-reference`). */
#include "base/config_doc.h"

#include <errno.h>
#include <string.h>

#include "base/config.h"

struct section_doc {
	const char *name;
	const char *text;
};

struct key_doc {
	const char *section;
	const char *name;
	const char *text;
};

static const struct section_doc section_docs[] = {
	{ "agent", "Which processes the agent watches and where it keeps its runtime files." },
	{ "trigger", "When a capture is taken. A process is captured when its RSS crosses rss_mb, when it "
		     "has grown growth_mb over the RSS the agent first saw, or when the leak heuristic "
		     "fires; 0 turns a threshold off." },
	{ "capture", "How a snapshot is taken: the route into the process, time limits, compression and the "
		     "memory guard." },
	{ "store", "The local snapshot store and its quotas; the oldest snapshots go first." },
	{ "alert", "Where every event (capture started, stored, failed, refused) goes besides the log." },
	{ "metrics", "The Prometheus endpoint: GET /metrics, /-/healthy and /-/ready." },
	{ "alertmanager", "Alerts pushed to Alertmanager (API v2)." },
	{ "upload", "S3-compatible object storage (AWS S3, Ceph RGW, MinIO, ...) every stored snapshot is "
		    "uploaded to: PREFIX/ID.heapsnapshot.gz, then PREFIX/ID.json (the metadata, last, so a "
		    "listed .json always has its whole snapshot). heapsnap list --remote reads the same keys. "
		    "An empty endpoint turns uploading off. Beside them: PREFIX/ID.heapprofile (the allocation "
		    "profile, when there is one) and heapsnap-index/v1/ markers that let list --remote filter "
		    "by host, app and time without reading every snapshot's metadata." },
	{ "report", "The leak report made for every incident (places, classes, retainer path, allocation "
		    "stacks), and the bound on its memory." },
};

static const struct key_doc key_docs[] = {
	{ "agent", "node_names", "Executable basenames that mark a Node.js process, space separated." },
	{ "agent", "log_level", "Log verbosity on stderr (heapsnapd -v sets debug)." },
	{ "agent", "state_socket", "Unix socket where the agent answers heapsnap ps (empty: no socket)." },
	{ "agent", "state_file", "Per-process baselines and capture counts, kept across agent restarts (a "
				 "crash, an upgrade): a restarted agent goes on where it stopped. Empty: none." },
	{ "agent", "lock_file", "One agent per host: a second heapsnapd finding this file locked exits, naming "
				"the running one. Empty: no host lock." },
	{ "agent", "require_env", "Watch only processes whose environment holds this NAME=VALUE (e.g. "
				  "HEAPSNAP=on). Empty: every Node process on the host." },
	{ "trigger", "rss_mb", "Capture when a process's RSS reaches this many MiB (0: off). After a capture the "
			       "next level is the RSS at that capture + growth_mb (or + 10% when growth_mb is 0)." },
	{ "trigger", "growth_mb", "Capture when RSS has grown this many MiB over the RSS the agent first saw (0: "
				  "off). After a capture the next level is the RSS at that capture + growth_mb. "
				  "The RSS the agent's own snapshots leave in a process is not counted." },
	{ "trigger", "cooldown_s", "Minimum seconds between two captures of the same process (0: none). A "
				   "crossing inside the cooldown is looked at again when it ends." },
	{ "trigger", "max_per_process", "At most this many captures per process (0: no limit; the baseline is not "
					"counted)." },
	{ "trigger", "leak", "Leak heuristic: capture when the heap size after major GCs keeps rising." },
	{ "trigger", "leak_window_s", "Minimum time span (s) of the post-GC floor trend before the heuristic may "
				      "fire." },
	{ "trigger", "leak_min_gcs", "Minimum number of major GCs inside that window." },
	{ "trigger", "leak_min_mb", "Minimum growth of the post-GC floor over the window, in MiB." },
	{ "trigger", "leak_min_pct", "Minimum growth of the post-GC floor over the window, in percent of the "
				     "floor." },
	{ "trigger", "predictive", "Capture early when the trend predicts the threshold will be crossed." },
	{ "trigger", "baseline_pct", "Take one baseline snapshot (for diffs) when growth reaches this percent of "
				     "growth_mb (0: none; needs growth_mb > 0)." },
	{ "capture", "method", "auto (the best available route), signal (the process runs with "
			       "--heapsnapshot-signal) or inspector (SIGUSR1 and the inspector protocol)." },
	{ "capture", "timeout_s", "Seconds a whole capture may take before it is abandoned." },
	{ "capture", "start_timeout_s", "Seconds from the signal to the snapshot file or the inspector appearing "
					"(at most timeout_s)." },
	{ "capture", "max_concurrent", "Captures running at the same time, host-wide: an upper bound; below it "
				       "the memory guard decides (a capture waits while its estimate and those "
				       "of the running captures do not fit the host's available memory "
				       "together)." },
	{ "capture", "compress_level", "zlib level of the stored snapshots (1: fastest .. 9: smallest); blocks "
				       "are compressed on up to 2 threads into one gzip stream. A block is "
				       "compressed at level 1 instead when compression is behind the "
				       "snapshot's writer (no worker free for it), so compression never "
				       "slows the capture much; ID.json counts them (compress_fast_blocks of "
				       "compress_blocks)." },
	{ "capture", "guard", "Refuse a capture that would not fit in memory (a snapshot costs the process extra "
			      "memory)." },
	{ "capture", "guard_cost_factor", "Extra memory a capture is expected to need, as a multiple of the heap "
					  "in use." },
	{ "capture", "guard_min_headroom_mb", "Memory (MiB) that must stay free after that estimate." },
	{ "capture", "profile_interval_kb", "From a process's baseline point on, V8's sampling heap profiler "
					    "runs inside it (started with its baseline snapshot, or alone when "
					    "that is skipped or baseline_pct = 0; through one short guarded "
					    "inspector session; no port stays open), one sample per this many KiB "
					    "allocated; an incident's report then lists the allocation stacks of "
					    "what is still live (ID.heapprofile). 0: off. The default 4096 costs "
					    "the target under 1 % CPU (measured on an allocation-heavy "
					    "service, docs/reports.md); smaller intervals give finer stacks "
					    "at more cost (512: 1-2 %, 128: 3-4 %)." },
	{ "capture", "inspector_unguarded", "An inspector the agent opens is guarded by a BPF connect hook on the "
					    "cgroup v2 root (only the agent's own sockets get in). Without that "
					    "guard the inspector route is refused for processes whose inspector "
					    "is not already open, unless this is on: the operator accepts the "
					    "risk." },
	{ "store", "dir", "Directory of the stored snapshots; created 0700; refused if group or others can "
			  "access it." },
	{ "store", "max_total_mb", "Store quota in MiB (0: no limit)." },
	{ "store", "max_count", "At most this many snapshots (0: no limit)." },
	{ "store", "max_age_days", "Delete snapshots older than this many days (0: keep)." },
	{ "store", "min_free_mb", "Refuse to store when the file system would have less than this many MiB free." },
	{ "alert", "exec", "Command run with /bin/sh -c for every event (empty: none), with HEAPSNAP_EVENT, "
			   "HEAPSNAP_PID, HEAPSNAP_REASON, HEAPSNAP_RSS, HEAPSNAP_SNAPSHOT_ID, "
			   "HEAPSNAP_SNAPSHOT_PATH and HEAPSNAP_JSON (the whole event) in its environment. Its "
			   "stdin is /dev/null and its stdout goes to the agent's stderr." },
	{ "alert", "exec_timeout_s", "Seconds before a still running command is killed (with its process group)." },
	{ "alert", "stdout", "Print every event as one JSON line on stdout." },
	{ "alert", "webhook", "POST every event's JSON to this http(s) URL (empty: none). Retried with "
			      "exponential backoff and jitter from a bounded queue; a capture never waits for "
			      "it." },
	{ "metrics", "listen", "HOST:PORT of the Prometheus endpoint (empty: off). Loopback by default, since "
			       "the metrics name processes; 0.0.0.0:9837 for a Prometheus on another machine." },
	{ "metrics", "max_processes", "At most this many processes get per-process series (the largest RSS "
				      "first); the rest are summed in heapsnap_omitted_processes*." },
	{ "alertmanager", "url", "Alertmanager v2 base URLs, space separated (empty: off). Every one gets every "
				 "alert: do not put a load balancer in front of replicas." },
	{ "alertmanager", "resend_s", "Seconds between two sends of an active alert; its endsAt is 4 intervals "
				      "ahead. Resolved alerts are re-sent for 15 minutes." },
	{ "alertmanager", "username", "Basic auth user name (with password_file); credentials written into a URL "
				      "are refused." },
	{ "alertmanager", "password_file", "File holding the basic auth password (0600 or stricter)." },
	{ "alertmanager", "bearer_token_file", "Or a file holding a bearer token (0600 or stricter). Never logged." },
	{ "upload", "endpoint", "http://HOST[:PORT] or https://HOST[:PORT], no path (empty: no upload)." },
	{ "upload", "bucket", "Bucket name (must exist)." },
	{ "upload", "prefix", "First part of every object key (no leading or trailing /). Empty: this host's "
			      "name, so one bucket serves a fleet." },
	{ "upload", "region", "Region the requests are signed for (AWS SigV4)." },
	{ "upload", "path_style", "on: ENDPOINT/BUCKET/KEY (most self-hosted servers); off: BUCKET.HOST/KEY (AWS)." },
	{ "upload", "credentials_file", "AWS shared-credentials file ([PROFILE] with aws_access_key_id, "
					"aws_secret_access_key, optionally aws_session_token); refused if group "
					"or others may read it. Empty: the AWS_ACCESS_KEY_ID, "
					"AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN environment." },
	{ "upload", "profile", "Section of credentials_file to use." },
	{ "upload", "keep_local", "on: keep the local copy after the upload (the store's quotas still apply); "
				  "off: remove it once the remote copy is verified (size and checksum)." },
	{ "upload", "ca_file", "CA bundle for an https endpoint (empty: the system's). TLS is always verified." },
	{ "upload", "part_mb", "Snapshots larger than this are sent as a multipart upload in parts of this size, "
			       "streamed from the store file." },
	{ "upload", "retry_max_s", "Failed uploads are retried with exponential backoff and jitter, from 1 s up to "
				   "this many seconds between tries; never given up while the snapshot is "
				   "stored." },
	{ "upload", "max_mbps", "Upload bandwidth cap in MiB/s (0: no cap)." },
	{ "report", "max_mb", "Largest snapshot, in MiB decompressed, an incident's leak report parses (the report "
			      "needs about 3x that in memory); a larger one is stored without a report and its "
			      "metadata says \"report\": \"skipped\" with why. 0: a sixteenth of the host's "
			      "memory (MemTotal)." },
};

#define NSECTION_DOCS (sizeof(section_docs) / sizeof(section_docs[0]))
#define NKEY_DOCS (sizeof(key_docs) / sizeof(key_docs[0]))

static const char *key_text(const char *section, const char *name)
{
	for (size_t i = 0; i < NKEY_DOCS; i++)
		if (strcmp(key_docs[i].section, section) == 0 && strcmp(key_docs[i].name, name) == 0)
			return key_docs[i].text;
	return NULL;
}

static const char *section_text(const char *section)
{
	for (size_t i = 0; i < NSECTION_DOCS; i++)
		if (strcmp(section_docs[i].name, section) == 0)
			return section_docs[i].text;
	return NULL;
}

static bool table_has_key(const char *section, const char *name)
{
	struct config_key_info k;

	for (size_t i = 0; config_key_info(i, &k) == 0; i++)
		if (strcmp(k.section, section) == 0 && strcmp(k.name, name) == 0)
			return true;
	return false;
}

int config_doc_check(char *msg, size_t msglen)
{
	struct config_key_info k;

	for (size_t i = 0; config_key_info(i, &k) == 0; i++) {
		if (!key_text(k.section, k.name)) {
			snprintf(msg, msglen, "[%s] %s has no text in config_doc.c", k.section, k.name);
			return -ENOENT;
		}
		if (!section_text(k.section)) {
			snprintf(msg, msglen, "section [%s] has no text in config_doc.c", k.section);
			return -ENOENT;
		}
	}
	for (size_t i = 0; i < NKEY_DOCS; i++) {
		if (!table_has_key(key_docs[i].section, key_docs[i].name)) {
			snprintf(msg, msglen, "config_doc.c describes [%s] %s, which is not a key",
				 key_docs[i].section, key_docs[i].name);
			return -EINVAL;
		}
	}
	return 0;
}

/* roff: a backslash is \e, and a line must not start with '.' or '\''. */
static void roff_text(FILE *out, const char *s)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", out);
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\e", out);
		else if (*s == '-')
			fputs("\\-", out);
		else
			fputc(*s, out);
	}
}

static void man_header(FILE *out)
{
	fputs(".\\\" Generated by heapsnapd --config-reference=man from agent/base/config.c and\n"
	      ".\\\" agent/base/config_doc.c: do not edit (make config-reference).\n"
	      ".TH HEAPSNAP.INI 5 \"\" \"heapsnap\" \"File Formats\"\n"
	      ".SH NAME\n"
	      "heapsnap.ini \\- configuration of heapsnapd and heapsnap\n"
	      ".SH SYNOPSIS\n"
	      "/etc/heapsnap/heapsnap.ini\n"
	      ".SH DESCRIPTION\n"
	      "An INI file: [section] lines, then key = value lines. Lines starting with ; or # are\n"
	      "comments, and \" ;\" (a semicolon after a blank) starts a comment at the end of a line.\n"
	      "Lines are at most 199 bytes. A key left out keeps its default. Booleans are on/off,\n"
	      "true/false, yes/no or 1/0. Sizes are in MiB (1 MiB = 1048576 bytes; the keys keep their _mb names). Relative paths are\n"
	      "resolved against the working directory of the program that reads the file.\n"
	      ".PP\n"
	      "An unknown section or key, a bad value or a duplicate key stops heapsnapd with exit\n"
	      "status 2 and a message FILE:LINE: reason.\n",
	      out);
}

static void man_key(FILE *out, const struct config_key_info *k)
{
	fprintf(out, ".TP\n\\fB%s\\fR = ", k->name);
	roff_text(out, k->def[0] ? k->def : "(empty)");
	fputc('\n', out);
	roff_text(out, key_text(k->section, k->name));
	fputc('\n', out);
	fputs(".br\nValue: ", out);
	roff_text(out, k->value);
	if (k->bounds[0]) {
		fputs(" (", out);
		roff_text(out, k->bounds);
		fputc(')', out);
	}
	fputs(".\n", out);
}

static void man_footer(FILE *out)
{
	fputs(".SH FILES\n"
	      ".TP\n"
	      ".I /etc/heapsnap/heapsnap.ini\n"
	      "The installed configuration (every key, commented).\n"
	      ".SH SEE ALSO\n"
	      ".BR heapsnapd (8),\n"
	      ".BR heapsnap (1)\n",
	      out);
}

static void md_header(FILE *out)
{
	fputs("<!-- Generated by heapsnapd --config-reference=markdown from agent/base/config.c and\n"
	      "     agent/base/config_doc.c: do not edit (make config-reference). -->\n"
	      "# Configuration reference (heapsnap.ini)\n"
	      "\n"
	      "The agent reads `/etc/heapsnap/heapsnap.ini` (`heapsnapd -c FILE` for another); the CLI\n"
	      "reads the same file for the store and the state socket. The file is INI: `[section]`\n"
	      "lines, then `key = value` lines; `;` or `#` starts a comment line, and ` ;` (a semicolon\n"
	      "after a blank) starts a comment at the end of a line. Lines are at most 199 bytes. A key\n"
	      "left out keeps its default. Booleans: on/off, true/false, yes/no, 1/0. Sizes are in MiB\n"
	      "(1 MiB = 1048576 bytes; the keys keep their _mb names). Relative paths are resolved against the working directory of\n"
	      "the program that reads the file. An unknown section or key, a bad value or a duplicate\n"
	      "key stops heapsnapd with exit status 2 and `FILE:LINE: reason`.\n"
	      "\n"
	      "The same text is the man page heapsnap.ini(5); `conf/heapsnap.ini` lists every key with\n"
	      "its default.\n",
	      out);
}

static void md_section(FILE *out, const char *section)
{
	fprintf(out, "\n## [%s]\n\n%s\n\n| key | default | value | meaning |\n| --- | --- | --- | --- |\n", section,
		section_text(section));
}

/* A table cell: '|' would end it. */
static void md_cell(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			fputc('\\', out);
		fputc(*s, out);
	}
}

static void md_key(FILE *out, const struct config_key_info *k)
{
	fprintf(out, "| `%s` | ", k->name);
	if (k->def[0])
		fprintf(out, "`%s`", k->def);
	else
		fputs("(empty)", out);
	fputs(" | ", out);
	md_cell(out, k->value);
	if (k->bounds[0])
		fprintf(out, " (%s)", k->bounds);
	fputs(" | ", out);
	md_cell(out, key_text(k->section, k->name));
	fputs(" |\n", out);
}

int config_doc_write(FILE *out, enum config_doc_format format)
{
	struct config_key_info k;
	const char *section = "";
	char msg[160];
	int rc = config_doc_check(msg, sizeof(msg));

	if (rc < 0)
		return rc;
	if (format == CONFIG_DOC_MAN)
		man_header(out);
	else
		md_header(out);
	for (size_t i = 0; config_key_info(i, &k) == 0; i++) {
		if (strcmp(section, k.section) != 0) {
			section = k.section;
			if (format == CONFIG_DOC_MAN) {
				fprintf(out, ".SH [%s]\n", section);
				roff_text(out, section_text(section));
				fputc('\n', out);
			} else {
				md_section(out, section);
			}
		}
		if (format == CONFIG_DOC_MAN)
			man_key(out, &k);
		else
			md_key(out, &k);
	}
	if (format == CONFIG_DOC_MAN)
		man_footer(out);
	return ferror(out) ? -EIO : 0;
}
