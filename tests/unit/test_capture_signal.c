// SPDX-License-Identifier: Apache-2.0
/* Unit tests for the signal capture route (agent/capture/signal/capture_signal.c) with real Node
 * processes (/usr/bin/node), and for the fsroot resolver (agent/base/fsroot.c) on a fake
 * container root. The store is replaced by a test double (struct store_writer below)
 * that collects the bytes into a file, so only capture_signal.o, late_sweep.o, pidfd.o,
 * fsroot.o, loop.o and log.o come from libheapsnap.a. HS_SIGNAL_BENCH_OBJECTS=N makes the first case use a
 * heap of N objects and print the timings (overlap measurement), HS_SIGNAL_BENCH_LEVEL=L
 * makes the double pay for gzip level L too; HS_TEST_NODE=/path/to/node runs the
 * targets with another Node version; HS_TEST_FILTER=glob selects cases. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/inotify.h>
#include <grp.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "proc_fixture.h"
#include <zlib.h>

#include "capture/capture_route.h"
#include "base/fsroot.h"
#include "capture/late_sweep.h"
#include "base/log.h"

#define NODE "/usr/bin/node"         /* also checks the JSON, whatever HS_TEST_NODE says */
#define READY_TIMEOUT_MS 20000
#define GRAB_TIMEOUT_MS 30000
#define SMALL_HEAP 20000

/* ---- store double --------------------------------------------------------- */

struct store_writer {
	FILE *f;
	uint64_t raw;
	uint64_t fail_at;             /* non-zero: fail the write that would pass this many bytes */
	char err[128];
	bool deflating;               /* bench: also pay for compression, as the real store does */
	pid_t overflow_pid;           /* non-zero: at the first write, overflow the route's inotify queue */
	const char *overflow_dir;
	volatile int *writer_stopped; /* set once the test has SIGSTOPped the writer mid-file */
	bool overflowed;              /* done, and the writer still had the file open afterwards */
	z_stream z;
	uint64_t compressed;
};

static unsigned char zsink[1 << 16];

static void double_deflate(struct store_writer *w, const void *buf, size_t len, int flush)
{
	w->z.next_in = (unsigned char *)buf;
	w->z.avail_in = (uInt)len;
	do {
		w->z.next_out = zsink;
		w->z.avail_out = sizeof(zsink);
		deflate(&w->z, flush);
		w->compressed += sizeof(zsink) - w->z.avail_out;
	} while (w->z.avail_out == 0);
}

static void force_inotify_overflow(struct store_writer *w);

int store_writer_write(struct store_writer *w, const void *buf, size_t len)
{
	if (w->overflow_pid && w->raw == 0)
		force_inotify_overflow(w);
	if (w->fail_at && w->raw + len > w->fail_at) {
		snprintf(w->err, sizeof(w->err), "disk full (test double)");
		return -ENOSPC;
	}
	if (w->deflating)
		double_deflate(w, buf, len, Z_NO_FLUSH);
	if (fwrite(buf, 1, len, w->f) != len) {
		snprintf(w->err, sizeof(w->err), "test double: %s", strerror(errno));
		return -ENOMEM;
	}
	w->raw += len;
	return 0;
}

const char *store_writer_error(const struct store_writer *w) { return w->err; }
uint64_t store_writer_raw_bytes(const struct store_writer *w) { return w->raw; }

/* True while some fd of pid refers to a file named Heap.* in dir. */
static bool writer_has_heap_file_open(pid_t pid)
{
	char path[64], target[PATH_MAX];
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return false;
	bool open = false;
	struct dirent *e;
	while (!open && (e = readdir(d))) {
		char link[PATH_MAX];
		snprintf(link, sizeof(link), "%s/%s", path, e->d_name);
		ssize_t n = readlink(link, target, sizeof(target) - 1);
		if (n > 0) {
			target[n] = '\0';
			open = strstr(target, "/Heap.") != NULL;
		}
	}
	closedir(d);
	return open;
}

/* Deterministic IN_Q_OVERFLOW: with the writer stopped mid-file (by the grabber, as
 * soon as the file has bytes) and the route blocked here, queue more events than
 * max_queued_events (16384 here) in the watched dir, then let the writer finish. Its
 * IN_CLOSE_WRITE is dropped, so the route must notice completion another way. */
static void force_inotify_overflow(struct store_writer *w)
{
	pid_t pid = w->overflow_pid;
	w->overflow_pid = 0;
	for (int i = 0; i < 1000 && !*w->writer_stopped; i++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	/* IN_MODIFY events on two files, alternating, so that none coalesces. */
	char name[PATH_MAX];
	int fds[2];
	for (int f = 0; f < 2; f++) {
		snprintf(name, sizeof(name), "%s/spam-%d", w->overflow_dir, f);
		fds[f] = open(name, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	}
	for (int i = 0; i < 17000 && fds[0] >= 0 && fds[1] >= 0; i++)
		if (pwrite(fds[i & 1], "x", 1, 0) != 1)
			break;
	for (int f = 0; f < 2; f++) {
		if (fds[f] >= 0)
			close(fds[f]);
		snprintf(name, sizeof(name), "%s/spam-%d", w->overflow_dir, f);
		unlink(name);
	}
	bool still_open = writer_has_heap_file_open(pid);
	kill(pid, SIGCONT);
	for (int i = 0; i < 2000 && writer_has_heap_file_open(pid); i++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	w->overflowed = still_open;
}

/* ---- fixture -------------------------------------------------------------- */

static const char *target_node(void)
{
	const char *p = getenv("HS_TEST_NODE");
	return p && *p ? p : NODE;
}

/* "v20.20.2" of the target node, as procs_read would fill it. */
static const char *target_node_version(void)
{
	static char version[32];
	if (version[0])
		return version;
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "'%s' --version", target_node());
	FILE *p = popen(cmd, "re");
	if (p) {
		if (!fgets(version, sizeof(version), p))
			version[0] = '\0';
		pclose(p);
	}
	version[strcspn(version, "\n")] = '\0';
	return version;
}

static int target_node_major(void)
{
	int major = 0;
	sscanf(target_node_version(), "v%d", &major);
	return major;
}

/* Node < 20 ignores --diagnostic-dir for signal snapshots: they land in the cwd. */
static const char *where_snapshot_lands(const char *cwd, const char *diag)
{
	return target_node_major() < 20 ? cwd : diag;
}

struct fx {
	char tmp[64];
	char store_path[80];
	pid_t child;
	pid_t target;                 /* node itself: child, or its child in a new PID namespace */
	int out_fd;
	struct proc_info proc;
	struct config cfg;
	struct store_writer w;
	struct cancel_token cancel;
	bool stop_writer;             /* capture_and_check: SIGSTOP Node once its file has bytes */
	struct capture_ctx ctx;
	int fds_at_start;             /* the route must not leak fds, on any path */
};

static int count_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	snprintf(fx->tmp, sizeof(fx->tmp), "/tmp/hs-sigtest-XXXXXX");
	if (!mkdtemp(fx->tmp))
		return -1;
	snprintf(fx->store_path, sizeof(fx->store_path), "%s.store", fx->tmp);
	fx->w.f = fopen(fx->store_path, "w+e");
	if (!fx->w.f)
		return -1;
	fx->child = -1;
	fx->out_fd = -1;
	fx->cfg.timeout_s = 30;
	fx->cfg.start_timeout_s = 20;
	if (cancel_token_init(&fx->cancel) < 0)
		return -1;
	fx->ctx = (struct capture_ctx){ .proc = &fx->proc, .cfg = &fx->cfg, .w = &fx->w,
					.cancel = &fx->cancel };
	fx->fds_at_start = count_open_fds();
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	if (fx->target > 0 && fx->target != fx->child)
		kill(fx->target, SIGKILL);
	if (fx->child > 0) {
		kill(fx->child, SIGKILL);
		waitpid(fx->child, NULL, 0);
	}
	if (fx->out_fd >= 0)
		close(fx->out_fd);
	int fds = count_open_fds();
	bool leaked = fds != fx->fds_at_start;
	if (leaked)
		fprintf(stderr, "fd leak: %d open fds, %d at start\n", fds, fx->fds_at_start);
	cancel_token_destroy(&fx->cancel);
	fclose(fx->w.f);
	unlink(fx->store_path);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->tmp);
	int rc = system(cmd);
	free(fx);
	return leaked || rc != 0 ? -1 : 0;
}

/* A leaking Node. argv[1] = object count; argv[2] = mode: "trap" handles SIGUSR2 in
 * JS (no snapshot); "block" keeps its event loop busy for 3 s after "ready", so the
 * snapshot comes late; "plant-symlink" / "plant-hardlink" / "plant-fifo" answer SIGUSR2
 * like a hostile target, with a Heap.* name that is a symlink to /etc/passwd, a
 * second link to a file, or a FIFO (whose open would block). */
static const char *node_script =
	"const fs=require('fs');const n=+process.argv[1]||20000;const a=[];"
	"for(let i=0;i<n;i++)a.push({i,s:'x'+i});"
	"const m=process.argv[2],nm='Heap.20200101.000000.'+process.pid+'.0.001.heapsnapshot';"
	"if(m==='trap')process.on('SIGUSR2',()=>{});"
	"if(m==='plant-symlink')process.on('SIGUSR2',()=>fs.symlinkSync('/etc/passwd',nm));"
	"if(m==='plant-fifo')process.on('SIGUSR2',()=>require('child_process').execFileSync('mkfifo',[nm]));"
	"if(m==='plant-hardlink'){fs.writeFileSync('victim','x');"
	"process.on('SIGUSR2',()=>fs.linkSync('victim',nm));}"
	"setInterval(()=>{for(let i=0;i<100;i++)a.push({i,t:Date.now()})},50);"
	"console.log('ready');"
	"if(m==='block'){const e=Date.now()+3000;while(Date.now()<e);}";

static void wait_ready(struct fx *fx)
{
	char buf[256];
	size_t have = 0;
	int64_t deadline = now_ms() + READY_TIMEOUT_MS;
	while (have < sizeof(buf) - 1) {
		struct pollfd p = { .fd = fx->out_fd, .events = POLLIN };
		int64_t left = deadline - now_ms();
		assert_true(left > 0);
		if (poll(&p, 1, (int)left) <= 0)
			fail_msg("node did not print ready within %d ms", READY_TIMEOUT_MS);
		ssize_t n = read(fx->out_fd, buf + have, sizeof(buf) - 1 - have);
		assert_true(n > 0);
		have += (size_t)n;
		buf[have] = '\0';
		if (strstr(buf, "ready\n"))
			return;
	}
	fail_msg("unexpected node output: %s", buf);
}

struct spawn {
	const char *node_options;      /* NODE_OPTIONS, or NULL */
	int objects;
	const char *mode;              /* see node_script, or NULL */
	const char *const *flags;      /* node options before -e, NULL-terminated, or NULL */
	const char *chroot_dir;        /* run chrooted there (private mount ns, /usr bound), cwd /app */
	const char *tmpfs_cwd;         /* run in a 1 MB tmpfs mounted there (private mount ns) */
	bool as_nobody;                /* drop to uid/gid 65534 before exec */
	bool new_pidns;                /* node is PID 1 of a new PID namespace (needs root) */
};

/* In the child: the next fork is PID 1 of a new PID namespace; the child stays as
 * its parent (fx->child) until it exits. */
static void enter_new_pidns(void)
{
	if (unshare(CLONE_NEWPID) < 0)
		_exit(122);
	pid_t init = fork();
	if (init < 0)
		_exit(121);
	if (init > 0) {
		int status = 0;
		waitpid(init, &status, 0);
		_exit(0);
	}
}

/* Host pid of the only child of pid (the namespace's init), or -1. */
static pid_t only_child_of(pid_t pid)
{
	char path[96];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
	FILE *f = fopen(path, "re");
	int child = -1;
	if (f) {
		if (fscanf(f, "%d", &child) != 1)
			child = -1;
		fclose(f);
	}
	return child;
}

/* In the child: cwd on a tiny filesystem (needs root). */
static void enter_small_tmpfs(const char *dir)
{
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", dir, "tmpfs", 0, "size=1m") < 0 || chdir(dir) < 0)
		_exit(124);
}

static void become_nobody(void)
{
	if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
		_exit(123);
}

/* In the child: a poor man's container (needs root). */
static void enter_fake_container(const char *root)
{
	char usr[256];
	snprintf(usr, sizeof(usr), "%s/usr", root);
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("/usr", usr, NULL, MS_BIND | MS_REC, NULL) < 0 || chroot(root) < 0 || chdir("/app") < 0)
		_exit(125);
	unsetenv("NODE_EXTRA_CA_CERTS");
}

/* Start node in fx->tmp (or a fake container) and wait until it runs the script. */
static void spawn_node(struct fx *fx, const struct spawn *sp)
{
	const char *const *flags = sp->flags;
	int pfd[2];
	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	char count[24];
	snprintf(count, sizeof(count), "%d", sp->objects);
	const char *argv[16];
	int n = 0;
	argv[n++] = "node";
	for (; flags && *flags && n < 10; flags++)
		argv[n++] = *flags;
	argv[n++] = "-e";
	argv[n++] = node_script;
	argv[n++] = count;
	if (sp->mode)
		argv[n++] = sp->mode;
	argv[n] = NULL;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (chdir(fx->tmp) < 0 || dup2(pfd[1], 1) < 0)
			_exit(126);
		if (sp->chroot_dir)
			enter_fake_container(sp->chroot_dir);
		if (sp->tmpfs_cwd)
			enter_small_tmpfs(sp->tmpfs_cwd);
		if (sp->as_nobody)
			become_nobody();
		if (sp->new_pidns)
			enter_new_pidns();
		if (sp->node_options)
			setenv("NODE_OPTIONS", sp->node_options, 1);
		else
			unsetenv("NODE_OPTIONS");
		execv(target_node(), (char *const *)argv);
		_exit(127);
	}
	close(pfd[1]);
	fx->child = pid;
	fx->out_fd = pfd[0];
	wait_ready(fx);
	fx->target = sp->new_pidns ? only_child_of(pid) : pid;
	assert_true(fx->target > 0);
	fx->proc.pid = fx->target;
	fx->proc.ns_pid = sp->new_pidns ? 1 : pid;
	fx->proc.start_time = start_time_of(fx->target);
	fx->proc.opts.heapsnapshot_signal = SIGUSR2;
	snprintf(fx->proc.node_version, sizeof(fx->proc.node_version), "%s", target_node_version());
}

static bool child_running(struct fx *fx)
{
	return fx->child > 0 && waitpid(fx->child, NULL, WNOHANG) == 0;
}

static int count_heap_files(const char *dir)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strncmp(e->d_name, "Heap.", 5) == 0 && e->d_type != DT_LNK)
			n++;
	closedir(d);
	return n;
}

/* ---- grabber: keeps its own fd on the file Node writes, to compare afterwards,
 * and optionally kills the writer once the file exists. ---------------------- */

struct grabber {
	char dir[PATH_MAX];
	char name[NAME_MAX + 1];
	int ino;
	int fd;
	pid_t kill_pid;
	int kill_after_ms;
	bool kill_when_written;       /* wait for the first bytes before the kill delay */
	int sig;                      /* what "kill" sends */
	volatile int signalled;
	volatile int stop;
	pthread_t th;
};

static void grab_event(struct grabber *g, const struct inotify_event *ev)
{
	if (g->fd >= 0 || ev->len == 0 || strncmp(ev->name, "Heap.", 5) != 0)
		return;
	char path[PATH_MAX + NAME_MAX + 2];
	snprintf(path, sizeof(path), "%s/%s", g->dir, ev->name);
	g->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* a planted FIFO must not block */
	snprintf(g->name, sizeof(g->name), "%s", ev->name);
}

static void *grab_main(void *arg)
{
	struct grabber *g = arg;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	int64_t deadline = now_ms() + GRAB_TIMEOUT_MS;
	while (g->fd < 0 && now_ms() < deadline) {
		struct pollfd p = { .fd = g->ino, .events = POLLIN };
		if (poll(&p, 1, g->stop ? 0 : 100) <= 0) {
			if (g->stop)
				break; /* stopped, and every queued event seen */
			continue;
		}
		ssize_t n = read(g->ino, buf, sizeof(buf));
		for (char *q = buf; n > 0 && q < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)q;
			grab_event(g, ev);
			q += sizeof(*ev) + ev->len;
		}
	}
	if (g->fd >= 0 && g->kill_pid > 0) {
		struct stat st;
		for (int i = 0; g->kill_when_written && i < GRAB_TIMEOUT_MS / 5; i++) {
			if (fstat(g->fd, &st) == 0 && st.st_size > 0)
				break;
			sleep_ms(5);
		}
		sleep_ms(g->kill_after_ms);
		kill(g->kill_pid, g->sig);
		g->signalled = 1;
	}
	return NULL;
}

static void grabber_start(struct grabber *g, const char *dir, pid_t kill_pid, int kill_after_ms,
			  bool when_written, int sig)
{
	memset(g, 0, sizeof(*g));
	snprintf(g->dir, sizeof(g->dir), "%s", dir);
	g->fd = -1;
	g->kill_pid = kill_pid;
	g->kill_after_ms = kill_after_ms;
	g->kill_when_written = when_written;
	g->sig = sig;
	g->ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	assert_true(g->ino >= 0);
	assert_true(inotify_add_watch(g->ino, dir, IN_CREATE) >= 0);
	assert_int_equal(pthread_create(&g->th, NULL, grab_main, g), 0);
}

static void grabber_stop(struct grabber *g)
{
	g->stop = 1;
	pthread_join(g->th, NULL);
	close(g->ino);
}

/* ---- checks --------------------------------------------------------------- */

static void assert_same_bytes(int fd_a, FILE *b)
{
	static char ba[1 << 16], bb[1 << 16];
	assert_int_equal(lseek(fd_a, 0, SEEK_SET), 0);
	rewind(b);
	uint64_t total = 0;
	for (;;) {
		ssize_t na = 0;
		size_t want = sizeof(ba);
		while ((size_t)na < want) {
			ssize_t r = read(fd_a, ba + na, want - (size_t)na);
			assert_true(r >= 0);
			if (r == 0)
				break;
			na += r;
		}
		size_t nb = fread(bb, 1, sizeof(bb), b);
		assert_int_equal((size_t)na, nb);
		if (nb == 0)
			break;
		if (memcmp(ba, bb, nb) != 0)
			fail_msg("stored bytes differ from Node's file near offset %llu", (unsigned long long)total);
		total += nb;
	}
	assert_true(total > 0);
}

static void assert_snapshot_json(const char *path)
{
	static const char *check =
		"const s=JSON.parse(require('fs').readFileSync(process.argv[1],'utf8'));"
		"const nf=s.snapshot.meta.node_fields.length;"
		"process.exit(s.snapshot.node_count>0&&s.nodes.length===s.snapshot.node_count*nf?0:3)";
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execl(NODE, "node", "-e", check, path, (char *)NULL);
		_exit(127);
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void assert_raw_file_gone(const struct grabber *g)
{
	assert_true(g->name[0] != '\0');
	char path[PATH_MAX + NAME_MAX + 2];
	snprintf(path, sizeof(path), "%s/%s", g->dir, g->name);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(errno, ENOENT);
}

/* Capture from fx's node, whose file must land in dir (seen_dir as the process
 * names it); checks everything. */
static void capture_and_check_seen(struct fx *fx, const char *dir, const char *seen_dir)
{
	struct grabber g;
	grabber_start(&g, dir, fx->stop_writer ? fx->child : 0, 0, fx->stop_writer, SIGSTOP);
	fx->w.writer_stopped = &g.signalled;
	int64_t t0 = now_ms();
	int rc = capture_via_signal(&fx->ctx);
	int64_t took = now_ms() - t0;
	grabber_stop(&g);
	if (rc != 0)
		fail_msg("capture failed: %s", fx->ctx.err);
	print_message("captured %llu bytes in %lld ms: %s\n", (unsigned long long)fx->w.raw,
		      (long long)took, fx->ctx.detail);
	assert_true(g.fd >= 0);
	assert_non_null(strstr(fx->ctx.detail, "signal SIGUSR2"));
	assert_non_null(strstr(fx->ctx.detail, g.name));
	assert_non_null(strstr(fx->ctx.detail, seen_dir));
	assert_int_equal(fflush(fx->w.f), 0);
	assert_same_bytes(g.fd, fx->w.f);
	close(g.fd);
	assert_snapshot_json(fx->store_path);
	assert_raw_file_gone(&g);
	assert_true(child_running(fx));
	assert_int_equal(count_heap_files(dir), 0);
}

static void capture_and_check(struct fx *fx, const char *dir) { capture_and_check_seen(fx, dir, dir); }

/* ---- capture cases -------------------------------------------------------- */

static void test_capture_into_cwd(void **state)
{
	struct fx *fx = *state;
	const char *bench = getenv("HS_SIGNAL_BENCH_OBJECTS");
	int objects = bench ? atoi(bench) : SMALL_HEAP;
	const char *level = getenv("HS_SIGNAL_BENCH_LEVEL");
	if (bench) {
		fx->cfg.timeout_s = 600;
		fx->cfg.start_timeout_s = 60;
		log_set_level(LOG_DEBUG);
	}
	if (level) {
		assert_int_equal(deflateInit2(&fx->w.z, atoi(level), Z_DEFLATED, 15 + 16, 8,
					      Z_DEFAULT_STRATEGY), Z_OK);
		fx->w.deflating = true;
	}
	const char *flags[] = { "--heapsnapshot-signal=SIGUSR2", NULL };
	spawn_node(fx, &(struct spawn){ .objects = objects, .flags = flags });
	capture_and_check(fx, fx->tmp);
	if (level) {
		double_deflate(&fx->w, NULL, 0, Z_FINISH);
		deflateEnd(&fx->w.z);
		print_message("gzip level %s: %llu -> %llu bytes\n", level, (unsigned long long)fx->w.raw,
			      (unsigned long long)fx->w.compressed);
	}
}

static void test_capture_into_absolute_diagnostic_dir(void **state)
{
	struct fx *fx = *state;
	char diag[128], flag[160];
	snprintf(diag, sizeof(diag), "%s/diag", fx->tmp);
	assert_int_equal(mkdir(diag, 0700), 0);
	snprintf(flag, sizeof(flag), "--diagnostic-dir=%s", diag);
	const char *flags[] = { "--heapsnapshot-signal=SIGUSR2", flag, NULL };
	spawn_node(fx, &(struct spawn){ .objects = SMALL_HEAP, .flags = flags });
	snprintf(fx->proc.opts.diagnostic_dir, sizeof(fx->proc.opts.diagnostic_dir), "%s", diag);
	capture_and_check(fx, where_snapshot_lands(fx->tmp, diag));
	assert_int_equal(count_heap_files(fx->tmp), 0);
}

static void test_capture_into_relative_diagnostic_dir(void **state)
{
	struct fx *fx = *state;
	char diag[128];
	snprintf(diag, sizeof(diag), "%s/rel", fx->tmp);
	assert_int_equal(mkdir(diag, 0700), 0);
	const char *flags[] = { "--heapsnapshot-signal=SIGUSR2", "--diagnostic-dir=rel", NULL };
	spawn_node(fx, &(struct spawn){ .objects = SMALL_HEAP, .flags = flags });
	snprintf(fx->proc.opts.diagnostic_dir, sizeof(fx->proc.opts.diagnostic_dir), "rel");
	capture_and_check(fx, where_snapshot_lands(fx->tmp, diag));
}

static void test_capture_with_node_options(void **state)
{
	struct fx *fx = *state;
	spawn_node(fx, &(struct spawn){ .node_options = "--heapsnapshot-signal=SIGUSR2", .objects = SMALL_HEAP });
	capture_and_check(fx, fx->tmp);
}

static void test_not_usable_without_flag(void **state)
{
	struct fx *fx = *state;
	char why[128] = "";
	fx->proc.pid = getpid();
	fx->proc.opts.heapsnapshot_signal = 0;
	assert_false(capture_signal_usable(&fx->proc, why, sizeof(why)));
	assert_string_equal(why, "no --heapsnapshot-signal");
	assert_int_equal(capture_via_signal(&fx->ctx), -EOPNOTSUPP);
	assert_non_null(strstr(fx->ctx.err, "no --heapsnapshot-signal"));
	fx->proc.opts.heapsnapshot_signal = SIGUSR2;
	assert_true(capture_signal_usable(&fx->proc, why, sizeof(why)));
}

static void test_process_exits_during_capture(void **state)
{
	struct fx *fx = *state;
	const char *flags[] = { "--heapsnapshot-signal=SIGUSR2", NULL };
	spawn_node(fx, &(struct spawn){ .objects = 150000, .flags = flags });
	struct grabber g;
	grabber_start(&g, fx->tmp, fx->child, 300, false, SIGKILL);
	int64_t t0 = now_ms();
	int rc = capture_via_signal(&fx->ctx);
	int64_t took = now_ms() - t0;
	grabber_stop(&g);
	print_message("failed after %lld ms: %s\n", (long long)took, fx->ctx.err);
	assert_int_equal(rc, -ESRCH);
	assert_non_null(strstr(fx->ctx.err, "exited during capture"));
	assert_true(took < 15000);
	if (g.fd >= 0)
		close(g.fd);
	assert_raw_file_gone(&g);
	assert_int_equal(count_heap_files(fx->tmp), 0);
}

static void test_store_failure_removes_raw_file(void **state)
{
	struct fx *fx = *state;
	const char *flags[] = { "--heapsnapshot-signal=SIGUSR2", NULL };
	spawn_node(fx, &(struct spawn){ .objects = SMALL_HEAP, .flags = flags });
	fx->w.fail_at = 1000;
	struct grabber g;
	grabber_start(&g, fx->tmp, 0, 0, false, SIGKILL);
	int rc = capture_via_signal(&fx->ctx);
	grabber_stop(&g);
	assert_int_equal(rc, -ENOSPC);
	assert_non_null(strstr(fx->ctx.err, "disk full (test double)"));
	if (g.fd >= 0)
		close(g.fd);
	assert_raw_file_gone(&g);
	assert_true(child_running(fx));
}

static void test_no_file_times_out(void **state)
{
	struct fx *fx = *state;
	spawn_node(fx, &(struct spawn){ .objects = 1000, .mode = "trap" }); /* writes nothing */
	fx->cfg.start_timeout_s = 1;
	int64_t t0 = now_ms();
	assert_true(capture_via_signal(&fx->ctx) < 0);
	int64_t took = now_ms() - t0;
	assert_non_null(strstr(fx->ctx.err, "no heap snapshot file appeared"));
	assert_true(took >= 900 && took < 3000);
	assert_true(child_running(fx));
}

/* Node answers 2 s after the capture gave up: the late sweep removes the file the
 * moment it appears, the route refuses the process until then, and the target lives. */
static void test_late_file_is_removed(void **state)
{
	struct fx *fx = *state;
	char err[256];
	struct late_sweep *late = late_sweep_new("", err, sizeof(err));
	assert_non_null(late);
	int ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	assert_true(ino >= 0);
	assert_true(inotify_add_watch(ino, fx->tmp, IN_CREATE) >= 0);
	const char *flags[] = { "--heapsnapshot-signal=SIGUSR2", NULL };
	spawn_node(fx, &(struct spawn){ .objects = 1000, .mode = "block", .flags = flags });
	fx->cfg.start_timeout_s = 1;
	fx->ctx.late = late;
	assert_int_equal(capture_via_signal(&fx->ctx), -ETIMEDOUT);
	assert_non_null(strstr(fx->ctx.err, "no heap snapshot file appeared"));
	int64_t age;
	assert_true(late_sweep_pending(late, fx->proc.pid, fx->proc.start_time, &age));

	int64_t deadline = now_ms() + 15000;
	while (late_sweep_pending(late, fx->proc.pid, fx->proc.start_time, &age) && now_ms() < deadline)
		usleep(20000);
	assert_false(late_sweep_pending(late, fx->proc.pid, fx->proc.start_time, &age));
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool created = false;
	ssize_t n = read(ino, buf, sizeof(buf));
	for (char *p = buf; n > 0 && p < buf + n;) {
		const struct inotify_event *ev = (const struct inotify_event *)p;
		created = created || (ev->len && strncmp(ev->name, "Heap.", 5) == 0);
		p += sizeof(*ev) + ev->len;
	}
	assert_true(created);                        /* Node did write it, late... */
	assert_int_equal(count_heap_files(fx->tmp), 0); /* ...and it is gone */
	assert_true(child_running(fx));
	close(ino);
	late_sweep_free(late);
}

/* The target answers the signal with a Heap.* name that is not its snapshot. */
static void capture_hostile(struct fx *fx, const char *mode, const char *want_err)
{
	spawn_node(fx, &(struct spawn){ .objects = 1000, .mode = mode });
	struct grabber g;
	grabber_start(&g, fx->tmp, 0, 0, false, SIGKILL);
	int64_t t0 = now_ms();
	int rc = capture_via_signal(&fx->ctx);
	int64_t took = now_ms() - t0;
	grabber_stop(&g);
	print_message("%s: %s\n", mode, fx->ctx.err);
	assert_true(rc < 0);
	assert_non_null(strstr(fx->ctx.err, want_err));
	assert_true(took < 5000);
	if (g.fd >= 0)
		close(g.fd);
	struct stat st;
	char path[sizeof(g.dir) + sizeof(g.name) + 2];
	assert_true(g.name[0] != '\0');
	snprintf(path, sizeof(path), "%s/%s", g.dir, g.name);
	assert_int_equal(lstat(path, &st), -1); /* the name we matched is removed... */
	assert_int_equal(stat("/etc/passwd", &st), 0); /* ...and only that name */
	assert_true(child_running(fx));
}

static void test_planted_symlink_is_not_followed(void **state)
{
	capture_hostile(*state, "plant-symlink", "not a regular file");
}

static void test_planted_fifo_is_refused(void **state)
{
	capture_hostile(*state, "plant-fifo", "not a regular file");
}

static void test_planted_hardlink_is_refused(void **state)
{
	struct fx *fx = *state;
	capture_hostile(fx, "plant-hardlink", "not a regular file with one link");
	char victim[128];
	snprintf(victim, sizeof(victim), "%s/victim", fx->tmp);
	assert_int_equal(access(victim, F_OK), 0);
}

/* A chrooted node, PID 1 of its own PID namespace (like a container: the file is
 * named after pid 1), whose diagnostic dir is a symlink
 * to an absolute path that also exists on the host: Node writes inside its root, and
 * so must we look; a naive /proc/PID/root/diag would follow the link to the host. */
static void test_capture_in_fake_container_with_symlinked_diag(void **state)
{
	struct fx *fx = *state;
	if (geteuid() != 0 || getenv("HS_TEST_NODE")) /* needs root; node from /usr only */
		skip();
	char root[128], p[1024], host_dir[128], inner_dir[256];
	snprintf(root, sizeof(root), "%s/root", fx->tmp);
	snprintf(host_dir, sizeof(host_dir), "%s/outside", fx->tmp);
	snprintf(inner_dir, sizeof(inner_dir), "%s%s", root, host_dir);
	assert_int_equal(mkdir(host_dir, 0755), 0);
	snprintf(p, sizeof(p), "mkdir -p '%s' '%s/usr' '%s/app'", inner_dir, root, root);
	assert_int_equal(system(p), 0);
	static const char *const links[][2] = { { "usr/lib", "lib" }, { "usr/lib64", "lib64" },
						{ "usr/bin", "bin" } };
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", root, links[i][1]);
		assert_int_equal(symlink(links[i][0], p), 0);
	}
	snprintf(p, sizeof(p), "%s/diag", root);
	assert_int_equal(symlink(host_dir, p), 0);
	const char *flags[] = { "--heapsnapshot-signal=SIGUSR2", "--diagnostic-dir=/diag", NULL };
	spawn_node(fx, &(struct spawn){ .objects = SMALL_HEAP, .flags = flags, .chroot_dir = root,
					.new_pidns = true });
	assert_int_equal(fx->proc.ns_pid, 1);
	snprintf(fx->proc.opts.diagnostic_dir, sizeof(fx->proc.opts.diagnostic_dir), "/diag");
	/* An old Heap.* name for this pid, planted as a symlink to a host file: ignored, kept. */
	char planted[512];
	snprintf(planted, sizeof(planted), "%s/Heap.20200101.000000.%d.0.001.heapsnapshot", inner_dir,
		 (int)fx->proc.ns_pid);
	assert_int_equal(symlink("/etc/passwd", planted), 0);
	capture_and_check_seen(fx, inner_dir, "file /diag/Heap.");
	assert_int_equal(count_heap_files(host_dir), 0);
	struct stat st;
	assert_int_equal(lstat(planted, &st), 0);
}

static void test_process_killed_while_writing(void **state)
{
	struct fx *fx = *state;
	const char *flags[] = { "--heapsnapshot-signal=SIGUSR2", NULL };
	spawn_node(fx, &(struct spawn){ .objects = 150000, .flags = flags });
	struct grabber g;
	grabber_start(&g, fx->tmp, fx->child, 20, true, SIGKILL);
	int rc = capture_via_signal(&fx->ctx);
	grabber_stop(&g);
	print_message("failed after %llu bytes: %s\n", (unsigned long long)fx->w.raw, fx->ctx.err);
	assert_int_equal(rc, -ESRCH);
	assert_non_null(strstr(fx->ctx.err, "exited during capture"));
	assert_true(fx->w.raw > 0);
	if (g.fd >= 0)
		close(g.fd);
	assert_raw_file_gone(&g);
}

static void test_inotify_overflow_falls_back(void **state)
{
	struct fx *fx = *state;
	const char *flags[] = { "--heapsnapshot-signal=SIGUSR2", NULL };
	spawn_node(fx, &(struct spawn){ .objects = SMALL_HEAP, .flags = flags });
	fx->w.overflow_pid = fx->child;
	fx->w.overflow_dir = fx->tmp;
	fx->stop_writer = true;
	capture_and_check(fx, fx->tmp);
	assert_true(fx->w.overflowed);
}

/* Node dies of an uncaught exception when it cannot write its snapshot: such a
 * capture must be refused before any signal, and the process must live on. */
static void assert_refused_and_alive(struct fx *fx, const char *want_err)
{
	int64_t t0 = now_ms();
	assert_true(capture_via_signal(&fx->ctx) < 0);
	print_message("refused: %s\n", fx->ctx.err);
	assert_non_null(strstr(fx->ctx.err, want_err));
	assert_true(now_ms() - t0 < 2000);
	sleep_ms(300);
	assert_true(child_running(fx));
}

static void test_unwritable_dir_is_refused(void **state)
{
	struct fx *fx = *state;
	if (geteuid() != 0)
		skip();
	const char *flags[] = { "--heapsnapshot-signal=SIGUSR2", NULL };
	/* cwd is fx->tmp: root's, mode 0700 */
	spawn_node(fx, &(struct spawn){ .objects = 1000, .flags = flags, .as_nobody = true });
	assert_refused_and_alive(fx, "(uid 65534) cannot write to");
	assert_int_equal(count_heap_files(fx->tmp), 0);
}

static void test_full_disk_is_refused(void **state)
{
	struct fx *fx = *state;
	if (geteuid() != 0)
		skip();
	char small[128];
	snprintf(small, sizeof(small), "%s/small", fx->tmp);
	assert_int_equal(mkdir(small, 0700), 0);
	const char *flags[] = { "--heapsnapshot-signal=SIGUSR2", NULL };
	spawn_node(fx, &(struct spawn){ .objects = 1000, .flags = flags, .tmpfs_cwd = small });
	assert_refused_and_alive(fx, "MB free but a snapshot");
}

/* A /bin/sleep child dies of SIGUSR2: if it still runs, no signal was sent. */
static void spawn_sleep(struct fx *fx)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execl("/bin/sleep", "sleep", "30", (char *)NULL);
		_exit(127);
	}
	fx->child = pid;
	sleep_ms(50); /* let exec finish so the start time is the final one */
	fx->proc.pid = pid;
	fx->proc.ns_pid = pid;
	fx->proc.start_time = start_time_of(pid);
	fx->proc.opts.heapsnapshot_signal = SIGUSR2;
}

static void test_pid_reuse_sends_no_signal(void **state)
{
	struct fx *fx = *state;
	spawn_sleep(fx);
	fx->proc.start_time += 1;
	assert_int_equal(capture_via_signal(&fx->ctx), -ESRCH);
	assert_non_null(strstr(fx->ctx.err, "exited or its PID was reused"));
	sleep_ms(200);
	assert_true(child_running(fx));
}

static void test_cancel_sends_no_signal(void **state)
{
	struct fx *fx = *state;
	spawn_sleep(fx);
	cancel_token_fire(&fx->cancel);
	assert_int_equal(capture_via_signal(&fx->ctx), -ECANCELED);
	assert_non_null(strstr(fx->ctx.err, "cancelled"));
	sleep_ms(200);
	assert_true(child_running(fx));
}

struct canceller {
	struct cancel_token *tok;
	int delay_ms;
	int64_t fired_ms;
};

static void *cancel_later(void *arg)
{
	struct canceller *c = arg;
	sleep_ms(c->delay_ms);
	c->fired_ms = now_ms();
	cancel_token_fire(c->tok);
	return NULL;
}

/* A capture waiting for a file that never comes (the signal is one the process
 * ignores) ends as soon as another thread cancels it: the cancel token wakes the
 * wait, no sleep slice (250 ms before) has to run out first. */
static void test_cancel_wakes_a_waiting_capture(void **state)
{
	struct fx *fx = *state;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (chdir(fx->tmp) < 0)
			_exit(127);
		execl("/bin/sleep", "sleep", "30", (char *)NULL);
		_exit(127);
	}
	fx->child = pid;
	sleep_ms(50);
	fx->proc.pid = pid;
	fx->proc.ns_pid = pid;
	fx->proc.start_time = start_time_of(pid);
	fx->proc.opts.heapsnapshot_signal = SIGWINCH; /* ignored by sleep: no snapshot comes */
	struct canceller c = { .tok = &fx->cancel, .delay_ms = 300 };
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, cancel_later, &c), 0);
	assert_int_equal(capture_via_signal(&fx->ctx), -ECANCELED);
	int64_t woke = now_ms();
	pthread_join(th, NULL);
	assert_non_null(strstr(fx->ctx.err, "cancelled"));
	assert_true(woke - c.fired_ms < 100);
	assert_true(child_running(fx));
}

/* ---- fsroot on a fake container root -------------------------------------- */

typedef int (*open_fn)(int root_fd, int start_fd, const char *path, int flags);

struct fakeroot {
	char root[128];
	int root_fd, app_fd, outside_fd;
	struct stat etc, marker;
};

static void make_fakeroot(struct fx *fx, struct fakeroot *r)
{
	char p[256];
	snprintf(r->root, sizeof(r->root), "%s/root", fx->tmp);
	assert_int_equal(mkdir(r->root, 0755), 0);
#define MK(path) (snprintf(p, sizeof(p), "%s/%s", r->root, path), p)
	assert_int_equal(mkdir(MK("etc"), 0755), 0);
	assert_int_equal(mkdir(MK("app"), 0755), 0);
	int fd = open(MK("etc/marker"), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(symlink("/etc", MK("app/diag")), 0);               /* absolute, "host" /etc */
	assert_int_equal(symlink("../../../../../../../etc", MK("app/rel")), 0);
	assert_int_equal(symlink("/etc/marker", MK("app/file-link")), 0);
	assert_int_equal(symlink("/proc/self/root/etc", MK("app/magic")), 0);
	assert_int_equal(symlink("/loop", MK("loop")), 0);
	assert_int_equal(stat(MK("etc"), &r->etc), 0);
	assert_int_equal(stat(MK("etc/marker"), &r->marker), 0);
#undef MK
	r->root_fd = open(r->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	snprintf(p, sizeof(p), "%s/app", r->root);
	r->app_fd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
	r->outside_fd = open(fx->tmp, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(r->root_fd >= 0 && r->app_fd >= 0 && r->outside_fd >= 0);
}

static void free_fakeroot(struct fakeroot *r)
{
	close(r->root_fd);
	close(r->app_fd);
	close(r->outside_fd);
}

static void assert_opens_inode(open_fn fn, int root, int start, const char *path, int flags,
			       const struct stat *want)
{
	int fd = fn(root, start, path, flags);
	if (fd < 0)
		fail_msg("%s: %s", path, strerror(-fd));
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	close(fd);
	if (st.st_dev != want->st_dev || st.st_ino != want->st_ino)
		fail_msg("%s resolved outside the fake root", path);
}

static void check_resolver(struct fx *fx, open_fn fn)
{
	struct fakeroot r;
	make_fakeroot(fx, &r);
	int dir = O_PATH | O_DIRECTORY;
	assert_opens_inode(fn, r.root_fd, r.root_fd, "/app/diag", dir, &r.etc);
	assert_opens_inode(fn, r.root_fd, r.root_fd, "app/rel", dir, &r.etc);
	assert_opens_inode(fn, r.root_fd, r.root_fd, "/../../../etc", dir, &r.etc);
	assert_opens_inode(fn, r.root_fd, r.app_fd, "../../../etc", dir, &r.etc);
	assert_opens_inode(fn, r.root_fd, r.app_fd, "diag", dir, &r.etc);
	assert_opens_inode(fn, r.root_fd, r.root_fd, "/app/file-link", O_RDONLY, &r.marker);
	assert_opens_inode(fn, r.root_fd, r.root_fd, "/app/diag/marker", O_RDONLY | O_NOFOLLOW, &r.marker);
	assert_int_equal(fn(r.root_fd, r.root_fd, "/app/file-link", O_RDONLY | O_NOFOLLOW), -ELOOP);
	assert_int_equal(fn(r.root_fd, r.root_fd, "/app/magic", dir), -ENOENT);
	assert_int_equal(fn(r.root_fd, r.root_fd, "/loop", dir), -ELOOP);
	assert_int_equal(fn(r.root_fd, r.root_fd, "/etc/passwd", O_RDONLY), -ENOENT);
	assert_int_equal(fn(r.root_fd, r.outside_fd, "root/etc", dir), -EXDEV);
	free_fakeroot(&r);
}

static void test_fsroot_openat2(void **state) { check_resolver(*state, fsroot_open); }
static void test_fsroot_walk(void **state) { check_resolver(*state, fsroot_open_walk); }

static void test_fsroot_is_beneath(void **state)
{
	struct fx *fx = *state;
	struct fakeroot r;
	make_fakeroot(fx, &r);
	assert_true(fsroot_is_beneath(r.root_fd, r.app_fd));
	assert_true(fsroot_is_beneath(r.root_fd, r.root_fd));
	assert_false(fsroot_is_beneath(r.root_fd, r.outside_fd));
	free_fakeroot(&r);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_capture_into_cwd),
		T(test_capture_into_absolute_diagnostic_dir),
		T(test_capture_into_relative_diagnostic_dir),
		T(test_capture_with_node_options),
		T(test_not_usable_without_flag),
		T(test_cancel_wakes_a_waiting_capture),
		T(test_process_exits_during_capture),
		T(test_process_killed_while_writing),
		T(test_store_failure_removes_raw_file),
		T(test_inotify_overflow_falls_back),
		T(test_no_file_times_out),
		T(test_late_file_is_removed),
		T(test_unwritable_dir_is_refused),
		T(test_full_disk_is_refused),
		T(test_planted_symlink_is_not_followed),
		T(test_planted_hardlink_is_refused),
		T(test_planted_fifo_is_refused),
		T(test_capture_in_fake_container_with_symlinked_diag),
		T(test_pid_reuse_sends_no_signal),
		T(test_cancel_sends_no_signal),
		T(test_fsroot_openat2),
		T(test_fsroot_walk),
		T(test_fsroot_is_beneath),
	};
#undef T
	signal(SIGPIPE, SIG_IGN);
	if (getenv("HS_TEST_FILTER"))
		cmocka_set_test_filter(getenv("HS_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
