// SPDX-License-Identifier: Apache-2.0
/* heapsnapd — the agent. Lifecycle: config → privileges (dropped before any thread) →
 * store → uploader → alerts → metrics endpoint and alert senders (their own threads;
 * /-/ready says 503 until the scan is done) → BPF load/attach (probes, GC tracker,
 * connect guard) → capture workers → event loop and state socket → /proc scan →
 * ready → event loop → clean stop on SIGINT/SIGTERM (captures cancelled, nothing
 * half-written, the state file flushed). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <linux/capability.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "alert/alert.h"
#include "alert/event.h"
#include "base/cgroupns.h"
#include "base/config.h"
#include "base/config_doc.h"
#include "base/err.h"
#include "base/flock.h"
#include "base/log.h"
#include "base/loop.h"
#include "base/version.h"
#include "daemon/agent.h"
#include "daemon/check.h"
#include "daemon/state.h"
#include "export/exporter.h"
#include "export/metrics.h"
#include "export/metrics_http.h"
#include "store/store.h"
#include "track/features.h"
#include "upload/uploader.h"

#define DEFAULT_CONFIG "/etc/heapsnap/heapsnap.ini"

struct daemon {
	struct config cfg;
	struct agent agent;
	struct loop *loop;
	struct store *store;
	struct uploader *uploader;
	int signal_fd;
	struct state_server *state;
	int lock_fd;
	struct metrics *metrics;
	struct metrics_server *http;
	struct exporter *exporter;
	unsigned ticks;
};

/* The store's totals are a directory listing: refreshed this often (and after captures). */
#define STORE_METRICS_EVERY_TICKS 10

static const char usage_text[] =
	"usage: heapsnapd [-c CONFIG] [-v] [--check [--json]]\n"
	"  -c, --config CONFIG  configuration file (default " DEFAULT_CONFIG ")\n"
	"  -v, --verbose        debug logging (overrides log_level)\n"
	"      --check          preflight: what this host's kernel and privileges allow, one line each;\n"
	"                       exit 0 if the agent can work\n"
	"      --json           with --check: one JSON object\n"
	"  -h, --help           this text\n"
	"  -V, --version        version, commit, libbpf version and the kernel features found\n"
	"See heapsnapd(8) and heapsnap.ini(5).\n";

/* The capabilities the agent keeps after start-up; everything else is dropped from
 * the effective, permitted, inheritable and bounding sets (so alert commands get no
 * more either). "required" ones must be there at start: BPF load/attach, reading
 * other processes' /proc files and maps, signals to other users' processes, setns
 * into their network namespace, reading their files through /proc/PID/root. The
 * others only widen what works: CAP_CHOWN and CAP_FOWNER make the inspector route's
 * FIFO in the target's /tmp the target's and remove it from a sticky directory.
 * The inspector's connect guard (cgroup/connect programs) needs CAP_BPF and CAP_NET_ADMIN
 * or CAP_SYS_ADMIN: the latter is here already. conf/heapsnapd.service grants exactly
 * this set. */
static const struct {
	int cap;
	const char *name;
	bool required;
} agent_caps[] = {
	{ CAP_BPF, "CAP_BPF", true },
	{ CAP_PERFMON, "CAP_PERFMON", true },
	{ CAP_SYS_ADMIN, "CAP_SYS_ADMIN", true },
	{ CAP_SYS_PTRACE, "CAP_SYS_PTRACE", true },
	{ CAP_KILL, "CAP_KILL", true },
	{ CAP_DAC_OVERRIDE, "CAP_DAC_OVERRIDE", true },
	{ CAP_DAC_READ_SEARCH, "CAP_DAC_READ_SEARCH", false },
	{ CAP_CHOWN, "CAP_CHOWN", false },
	{ CAP_FOWNER, "CAP_FOWNER", false },
};
#define AGENT_CAPS (sizeof(agent_caps) / sizeof(agent_caps[0]))

static int check_privileges(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { 0 };
	char missing[256] = "";

	if (syscall(SYS_capget, &hdr, data) != 0) {
		int rc = ERR_ERRNO();

		log_error("cannot read this process's capabilities: %s", strerror(-rc));
		return rc;
	}
	for (size_t i = 0; i < AGENT_CAPS; i++) {
		int cap = agent_caps[i].cap;
		if (agent_caps[i].required && !(data[cap / 32].effective & (1u << (cap % 32)))) {
			strncat(missing, " ", sizeof(missing) - strlen(missing) - 1);
			strncat(missing, agent_caps[i].name, sizeof(missing) - strlen(missing) - 1);
		}
	}
	if (missing[0]) {
		log_error("heapsnapd needs root (missing capabilities:%s)", missing);
		return -EPERM;
	}
	return 0;
}

static bool cap_kept(int cap)
{
	for (size_t i = 0; i < AGENT_CAPS; i++)
		if (agent_caps[i].cap == cap)
			return true;
	return false;
}

static void drop_capabilities(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { 0 }, have[2] = { 0 };

	/* Bounding set first: dropping from it needs CAP_SETPCAP, dropped below. */
	for (int cap = 0; cap <= CAP_LAST_CAP; cap++)
		if (!cap_kept(cap) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL)
			log_debug("cannot drop capability %d from the bounding set: %s", cap, strerror(errno));
	for (size_t i = 0; i < AGENT_CAPS; i++) {
		int cap = agent_caps[i].cap;
		data[cap / 32].effective |= 1u << (cap % 32);
		data[cap / 32].permitted |= 1u << (cap % 32);
	}
	/* Only what we have: asking for an optional one we lack would fail the whole call. */
	if (syscall(SYS_capget, &hdr, have) == 0)
		for (int i = 0; i < 2; i++) {
			data[i].effective &= have[i].permitted;
			data[i].permitted &= have[i].permitted;
		}
	if (syscall(SYS_capset, &hdr, data) != 0)
		log_warn("cannot drop unneeded capabilities: %s, continuing", strerror(errno));
	else
		log_debug("capabilities reduced to what captures need");
}

static void on_probes_readable(void *ctx)
{
	struct daemon *d = ctx;
	int rc = agent_probes_readable(&d->agent);

	if (rc < 0 && rc != -EINTR)
		log_warn("ring buffer: %s", strerror(-rc));
}

static void on_execs_due(void *ctx)
{
	struct daemon *d = ctx;

	agent_execs_due(&d->agent);
}

static void on_gc_readable(void *ctx)
{
	struct daemon *d = ctx;
	int rc = agent_gc_readable(&d->agent);

	if (rc < 0 && rc != -EINTR)
		log_warn("GC ring buffer: %s", strerror(-rc));
}

static void publish_store(struct daemon *d)
{
	struct snapshot_meta *list;
	size_t n;
	uint64_t bytes = 0;

	if (store_list(d->store, &list, &n) != 0)
		return;
	for (size_t i = 0; i < n; i++)
		bytes += list[i].size_bytes;
	store_list_free(list, n);
	metrics_publish_store(d->metrics, n, bytes);
}

static void on_capture_done(void *ctx)
{
	struct daemon *d = ctx;

	agent_captures_readable(&d->agent);
	if (d->http)
		publish_store(d);
}

/* A snapshot is uploaded once capture_done says it is whole: for an incident that is
 * after its leak report joined the metadata (on the report thread), so the uploaded
 * ID.json carries it; the outcome the loop sees comes before that. */
static void upload_on_event(void *ctx, const json_t *ev, const char *line)
{
	enum event_kind kind;
	const char *id = json_string_value(json_object_get(ev, "snapshot_id"));

	(void)line;
	if (id && event_kind_of(ev, &kind) == 0 && kind == EVENT_CAPTURE_DONE)
		uploader_notify(ctx, id);
}

static void on_signal(void *ctx)
{
	struct daemon *d = ctx;
	struct signalfd_siginfo si;

	if (read(d->signal_fd, &si, sizeof(si)) != sizeof(si))
		return;
	log_info("%s received, stopping", strsignal((int)si.ssi_signo));
	loop_stop(d->loop);
}

static char *state_text(void *ctx)
{
	return agent_state_json(ctx);
}

static void on_state_client(void *ctx)
{
	struct daemon *d = ctx;

	state_server_run(d->state, state_text, &d->agent);
}

static void on_tick(void *ctx)
{
	struct daemon *d = ctx;

	agent_tick(&d->agent);
	if (d->state)
		state_server_run(d->state, state_text, &d->agent); /* drops clients that do not read */
	if (!d->http)
		return;
	metrics_heartbeat(d->metrics, mono_ms());
	agent_publish_metrics(&d->agent, d->metrics);
	if (d->ticks++ % STORE_METRICS_EVERY_TICKS == 0)
		publish_store(d);
}

static void metrics_on_event(void *ctx, const json_t *ev, const char *line)
{
	(void)line;
	metrics_observe_event(ctx, ev);
}

/* The metrics endpoint, up before the probes so that /-/ready can say "not yet". */
static int start_metrics(struct daemon *d)
{
	char err[512];
	struct alert_sink sink = { .event = metrics_on_event, .ctx = d->metrics };

	if (!d->metrics || alerter_add_sink(agent_alerter(&d->agent), &sink) != 0) {
		log_error("metrics: out of memory");
		return -ENOMEM;
	}
	if (!d->cfg.metrics_listen[0])
		return 0;
	d->http = metrics_server_start(d->cfg.metrics_listen, d->metrics, err, sizeof(err));
	if (!d->http) {
		log_error("%s ([metrics] listen in %s; empty turns the endpoint off)", err, d->cfg.path);
		return -EINVAL;
	}
	metrics_heartbeat(d->metrics, mono_ms());
	log_info("metrics: serving /metrics, /-/healthy and /-/ready on %s", d->cfg.metrics_listen);
	return 0;
}

enum { OPT_CHECK = 256, OPT_JSON };
static int check_mode; /* 1: --check, 2: --check --json */

/* --config-reference=man|markdown (not in --help: for the build) writes the
 * generated heapsnap.ini(5) or docs/configuration.md to stdout. */
static int print_config_reference(const char *format)
{
	char msg[160];

	if (strcmp(format, "man") != 0 && strcmp(format, "markdown") != 0) {
		fprintf(stderr, "heapsnapd: --config-reference: expected man or markdown\n");
		return 2;
	}
	if (config_doc_check(msg, sizeof(msg)) < 0) {
		fprintf(stderr, "heapsnapd: config reference: %s\n", msg);
		return 1;
	}
	return config_doc_write(stdout, strcmp(format, "man") == 0 ? CONFIG_DOC_MAN : CONFIG_DOC_MARKDOWN) < 0;
}

/* The kernel features are what --check probes (names as in --check --json); without
 * root the probes cannot load BPF, so they say so rather than list a wrong set. */
static void print_version(void)
{
	char names[FEATURES_NAMES_LEN];

	version_print(stdout, "heapsnapd");
	if (geteuid() != 0) {
		printf("kernel features: not probed (needs root; see heapsnapd --check)\n");
		return;
	}
	printf("kernel features: %s\n", features_describe(features_get(), names, sizeof(names)));
}

static int parse_args(int argc, char **argv, const char **config_path, bool *verbose)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "config-reference", required_argument, NULL, 'R' },
		{ "check", no_argument, NULL, OPT_CHECK },
		{ "json", no_argument, NULL, OPT_JSON },
		{ 0 },
	};
	bool json = false;
	int opt;

	while ((opt = getopt_long(argc, argv, "c:vhV", longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_CHECK: check_mode = 1; break;
		case OPT_JSON: json = true; break;
		case 'c': *config_path = optarg; break;
		case 'v': *verbose = true; break;
		case 'h': fputs(usage_text, stdout); exit(0);
		case 'V': print_version(); exit(0);
		case 'R': exit(print_config_reference(optarg));
		default: fputs(usage_text, stderr); return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "heapsnapd: unexpected argument '%s'\n%s", argv[optind], usage_text);
		return -EINVAL;
	}
	if (json && !check_mode) {
		fprintf(stderr, "heapsnapd: --json goes with --check\n%s", usage_text);
		return -EINVAL;
	}
	check_mode += check_mode && json;
	return 0;
}

/* SIGINT/SIGTERM arrive through a signalfd; blocked before any thread starts so
 * that no worker thread takes them. */
static int setup_signals(struct daemon *d)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	signal(SIGPIPE, SIG_IGN);
	int rc = pthread_sigmask(SIG_BLOCK, &mask, NULL); /* an errno, not -1 */
	if (rc)
		return -rc;
	d->signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	return d->signal_fd < 0 ? ERR_ERRNO() : 0;
}

/* One agent per host (lock_file): two would trigger on the same processes and race
 * each other's signals and inspector sessions. The lock lives as long as the fd. */
static int take_host_lock(struct daemon *d)
{
	const char *path = d->cfg.lock_file;
	char dir[PATH_MAX];
	pid_t holder;

	if (!path[0])
		return 0;
	snprintf(dir, sizeof(dir), "%s", path);
	if (mkdir(dirname(dir), 0755) < 0 && errno != EEXIST) {
		int rc = ERR_ERRNO();

		log_error("lock_file %s: cannot create its directory: %s", path, strerror(-rc));
		return rc;
	}
	d->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	int rc = d->lock_fd < 0 ? -errno : flock_exclusive(d->lock_fd, &holder);
	if (rc == -EBUSY) {
		char who[32] = "";
		if (holder > 0)
			snprintf(who, sizeof(who), " (pid %d)", (int)holder);
		log_error("another heapsnapd%s is running on this host (lock_file %s): one agent per host, "
			  "or give each its own [agent] lock_file", who, path);
		return -EBUSY;
	}
	if (rc < 0) {
		log_error("lock_file %s: %s", path, strerror(-rc));
		return rc;
	}
	char pid[24];
	int n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(d->lock_fd, 0) < 0 || pwrite(d->lock_fd, pid, (size_t)n, 0) != n)
		log_debug("lock_file %s: cannot write our pid: %s", path, strerror(errno));
	return 0;
}

static int start(struct daemon *d)
{
	char err[1024];

	if (check_privileges() || take_host_lock(d))
		return 1;
	/* Before any thread exists: capset changes only the calling thread, and a thread
	 * inherits its creator's set (the capture workers, the metrics server, the senders
	 * and the uploader kept root's full set when this came after them). */
	drop_capabilities();
	int rc = setup_signals(d);
	if (rc) {
		log_error("signal setup: %s", strerror(-rc));
		return 1;
	}
	if (store_open(d->cfg.store_dir, true, &d->store, err, sizeof(err))) {
		log_error("%s", err);
		return 1;
	}
	store_set_quota(d->store, d->cfg.max_total_bytes, d->cfg.max_count, d->cfg.max_age_days,
			d->cfg.min_free_bytes);
	d->uploader = uploader_start(&d->cfg, d->store, err, sizeof(err));
	if (!d->uploader && err[0]) {
		log_error("[upload] %s", err);
		return 1;
	}
	if (agent_init(&d->agent, &d->cfg) < 0) {
		log_error("cannot start alerts");
		return 1;
	}
	struct alert_sink upload_sink = { .event = upload_on_event, .ctx = d->uploader };
	if (d->uploader && alerter_add_sink(agent_alerter(&d->agent), &upload_sink) != 0) {
		log_error("upload: cannot follow capture events");
		return 1;
	}
	d->metrics = metrics_new(d->cfg.metrics_max_processes);
	if (start_metrics(d))
		return 1;
	d->exporter = exporter_start(&d->cfg, agent_alerter(&d->agent), d->metrics, err, sizeof(err));
	if (!d->exporter) {
		log_error("%s", err);
		return 1;
	}
	if (agent_start(&d->agent, d->store, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return 1;
	}
	d->loop = loop_new();
	if (!d->loop || loop_add(d->loop, agent_probes_fd(&d->agent), on_probes_readable, d) ||
	    loop_add(d->loop, agent_execs_fd(&d->agent), on_execs_due, d) ||
	    loop_add(d->loop, agent_captures_fd(&d->agent), on_capture_done, d) ||
	    loop_add(d->loop, d->signal_fd, on_signal, d) || loop_tick(d->loop, 1000, on_tick, d)) {
		log_error("event loop setup failed");
		return 1;
	}
	if (agent_gc_fd(&d->agent) >= 0 && loop_add(d->loop, agent_gc_fd(&d->agent), on_gc_readable, d)) {
		log_error("event loop setup failed");
		return 1;
	}
	if (d->cfg.state_socket[0]) {
		d->state = state_server_new(d->cfg.state_socket, err, sizeof(err));
		if (!d->state)
			log_warn("%s; `heapsnap ps` will not work, continuing", err);
		else
			loop_add(d->loop, state_server_fd(d->state), on_state_client, d);
	}
	agent_restore(&d->agent);
	agent_scan(&d->agent);
	agent_resume_interrupted(&d->agent);
	if (d->http) {
		agent_publish_metrics(&d->agent, d->metrics);
		publish_store(d);
	}
	metrics_set_ready(d->metrics, true);
	log_info("started: watching %zu Node processes, store %s", agent_count(&d->agent), d->cfg.store_dir);
	return 0;
}

static void stop(struct daemon *d)
{
	/* The endpoint first (it reads the metrics), then captures: they write into the
	 * store and emit alerts. */
	metrics_server_stop(d->http);
	agent_destroy(&d->agent);
	uploader_stop(d->uploader);  /* reads the store: before store_close */
	exporter_free(d->exporter); /* no event can come any more */
	metrics_free(d->metrics);
	state_server_free(d->state);
	loop_free(d->loop);
	store_close(d->store);
	if (d->signal_fd >= 0)
		close(d->signal_fd);
	if (d->lock_fd >= 0)
		close(d->lock_fd);
}

/* In a container: see the host's cgroup paths (cgroupns.h). Not fatal: without it
 * pod labels and cgroup memory limits may be missing, which the log says. */
static void enter_host_cgroup_ns(void)
{
	int rc = cgroupns_enter_host();

	if (rc == 1)
		log_info("cgroup namespace: entered the host's to read other processes' cgroups");
	else if (rc < 0)
		log_warn("cgroup namespace: cannot enter the host's: %s; pod labels and cgroup memory limits "
			 "of other containers may be missing", strerror(-rc));
}

int main(int argc, char **argv)
{
	static struct daemon d = { .signal_fd = -1, .lock_fd = -1 };
	const char *config_path = DEFAULT_CONFIG;
	bool verbose = false;
	char err[1024];
	int rc;

	if (parse_args(argc, argv, &config_path, &verbose))
		return 2;
	if (check_mode) {
		rc = config_load(&d.cfg, config_path, err, sizeof(err));
		if (rc)
			config_defaults(&d.cfg);
		return check_run(&d.cfg, rc ? err : NULL, check_mode == 2);
	}
	if (config_load(&d.cfg, config_path, err, sizeof(err))) {
		fprintf(stderr, "heapsnapd: %s\n", err);
		return 2;
	}
	log_set_level(verbose ? LOG_DEBUG : (enum log_level)d.cfg.log_level);
	enter_host_cgroup_ns();

	rc = start(&d);
	if (rc == 0 && (rc = loop_run(d.loop)) < 0) {
		log_error("event loop: %s", strerror(-rc));  /* loop_run returns -errno */
		rc = 1;
	}
	stop(&d);
	log_info("stopped");
	return rc;
}
