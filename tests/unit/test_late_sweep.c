// SPDX-License-Identifier: Apache-2.0
/* Unit tests of late_sweep.c without Node: a child process stands for the target and
 * the test plays Node, creating files in a temporary directory. The sweep must remove
 * the first new Heap.* file of that pid and nothing else (other pids, other names, the
 * names that were there before the signal), forget the process when it exits, and
 * keep the capture journal exactly as long as the entry lives. No root needed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capture/late_sweep.h"
#include "base/loop.h"
#include "capture/recovery.h"

#define WAIT_MS 5000

struct fx {
	char dir[64];
	char state_file[96];
	pid_t child;
	struct late_sweep *ls;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	char err[128];

	snprintf(fx->dir, sizeof(fx->dir), "/tmp/hs-late-XXXXXX");
	if (!fx || !mkdtemp(fx->dir))
		return -1;
	snprintf(fx->state_file, sizeof(fx->state_file), "%s/heapsnapd.state", fx->dir);
	fx->child = fork();
	if (fx->child == 0) {
		pause();
		_exit(0);
	}
	fx->ls = late_sweep_new(fx->state_file, err, sizeof(err));
	*state = fx;
	return fx->child > 0 && fx->ls ? 0 : -1;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	char cmd[128];

	late_sweep_free(fx->ls);
	if (fx->child > 0) {
		kill(fx->child, SIGKILL);
		waitpid(fx->child, NULL, 0);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	int rc = system(cmd);
	free(fx);
	return rc;
}

static void heap_name(char *out, size_t len, pid_t pid, int seq)
{
	snprintf(out, len, "Heap.20261127.101500.%d.0.%03d.heapsnapshot", (int)pid, seq);
}

static void touch(const struct fx *fx, const char *name)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", fx->dir, name);
	int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
}

static bool exists(const struct fx *fx, const char *name)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", fx->dir, name);
	return access(path, F_OK) == 0;
}

/* Hand an unanswered signal over, as the signal route does; old: names there before. */
static void add(struct fx *fx, const char *const *old, size_t nold)
{
	struct capture_journal j = { .pid = fx->child, .start_time = 7, .method = ROUTE_SIGNAL, .reason = "growth" };
	struct late_signal s = { .pid = fx->child, .ns_pid = fx->child, .start_time = 7,
				 .signal_mono_ms = mono_ms() };

	assert_int_equal(journal_write(fx->state_file, &j), 0);
	s.pidfd = (int)syscall(SYS_pidfd_open, fx->child, 0);
	s.dir_fd = open(fx->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	s.ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	assert_true(s.pidfd >= 0 && s.dir_fd >= 0 && s.ino_fd >= 0);
	assert_true(inotify_add_watch(s.ino_fd, fx->dir, IN_CREATE) >= 0);
	snprintf(s.dir_seen, sizeof(s.dir_seen), "%s", fx->dir);
	s.old = calloc(nold + 1, sizeof(char *));
	for (s.nold = 0; s.nold < nold; s.nold++)
		s.old[s.nold] = strdup(old[s.nold]);
	late_sweep_add(fx->ls, &s);
}

static bool pending(const struct fx *fx)
{
	int64_t age;
	return late_sweep_pending(fx->ls, fx->child, 7, &age);
}

static bool wait_not_pending(const struct fx *fx)
{
	for (int64_t end = mono_ms() + WAIT_MS; mono_ms() < end; usleep(5000))
		if (!pending(fx))
			return true;
	return false;
}

static size_t journals(const struct fx *fx)
{
	struct capture_journal *out;
	size_t n;
	assert_int_equal(journal_take_all(fx->state_file, &out, &n), 0);
	free(out);
	return n;
}

static void test_removes_only_the_late_file(void **state)
{
	struct fx *fx = *state;
	char before[80], other_pid[80], late[80], after[80];

	heap_name(before, sizeof(before), fx->child, 1);
	heap_name(other_pid, sizeof(other_pid), fx->child + 1, 2);
	heap_name(late, sizeof(late), fx->child, 2);
	heap_name(after, sizeof(after), fx->child, 3);
	touch(fx, before);
	const char *old[] = { before };
	add(fx, old, 1);
	assert_true(pending(fx));
	touch(fx, "app.log");
	touch(fx, other_pid);
	touch(fx, before); /* opened again: not created, and there before the signal */
	usleep(100000);
	assert_true(pending(fx));
	touch(fx, late);
	assert_true(wait_not_pending(fx));
	assert_false(exists(fx, late));
	assert_true(exists(fx, before) && exists(fx, other_pid) && exists(fx, "app.log"));
	/* done with it: a later snapshot (an operator's own signal) is left alone */
	touch(fx, after);
	usleep(100000);
	assert_true(exists(fx, after));
	assert_int_equal(journals(fx), 0);
}

static void test_exit_ends_the_entry(void **state)
{
	struct fx *fx = *state;

	add(fx, NULL, 0);
	usleep(50000);
	assert_true(pending(fx));
	kill(fx->child, SIGKILL);
	waitpid(fx->child, NULL, 0);
	assert_true(wait_not_pending(fx));
	fx->child = 0; /* reaped */
	assert_int_equal(journals(fx), 0);
}

/* Stopped first: the journal stays for the next run, under the unanswered name. */
static void test_stop_leaves_the_journal(void **state)
{
	struct fx *fx = *state;
	struct capture_journal *out;
	size_t n;

	add(fx, NULL, 0);
	late_sweep_free(fx->ls);
	fx->ls = NULL;
	assert_int_equal(journal_take_all(fx->state_file, &out, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].pid, fx->child);
	assert_int_equal(out[0].method, ROUTE_SIGNAL);
	free(out);
}

static void test_name_matching(void **state)
{
	(void)state;
	assert_true(heap_snapshot_name_matches("Heap.20261127.101500.42.7.001.heapsnapshot", 42));
	assert_false(heap_snapshot_name_matches("Heap.20261127.101500.42.7.001.heapsnapshot", 4));
	assert_false(heap_snapshot_name_matches("Heap.20261127.101500.420.7.001.heapsnapshot", 42));
	assert_false(heap_snapshot_name_matches("Heap.20261127.101500.42.7.001.heapsnapshot.gz", 42));
	assert_false(heap_snapshot_name_matches("Heap.20261127.101500.42.7.heapsnapshot", 42));
	assert_false(heap_snapshot_name_matches("heap.20261127.101500.42.7.001.heapsnapshot", 42));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_removes_only_the_late_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exit_ends_the_entry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_leaves_the_journal, setup, teardown),
		cmocka_unit_test(test_name_matching),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
