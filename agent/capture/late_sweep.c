// SPDX-License-Identifier: Apache-2.0
/* Late heap snapshot files of the signal route (see late_sweep.h). One thread polls,
 * for every unanswered signal, the inotify fd on the target's snapshot directory and
 * the target's pidfd, plus an eventfd that tells it of new entries and of the stop. */
#include "capture/late_sweep.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "base/log.h"
#include "base/loop.h"
#include "capture/recovery.h"

#define MAX_LATE 128                 /* unanswered signals watched at once */

struct late_sweep {
	pthread_mutex_t lock;
	pthread_t thread;
	int wake_fd;
	bool stopping;
	struct late_signal *sigs;
	size_t n, cap;
	char state_file[PATH_MAX];
};

bool heap_snapshot_name_matches(const char *name, pid_t ns_pid)
{
	char pid_field[24];
	snprintf(pid_field, sizeof(pid_field), "%d", (int)ns_pid);
	const char *fields[7];
	int n = 0;
	const char *p = name;
	while (n < 7) {
		fields[n++] = p;
		p = strchr(p, '.');
		if (!p)
			break;
		p++;
	}
	if (n != 7 || p != NULL)
		return false;
	size_t pid_len = (size_t)(fields[4] - fields[3] - 1);
	return strncmp(fields[0], "Heap.", 5) == 0 && strcmp(fields[6], "heapsnapshot") == 0 &&
	       pid_len == strlen(pid_field) && strncmp(fields[3], pid_field, pid_len) == 0;
}

static void release(struct late_signal *s)
{
	int fds[] = { s->pidfd, s->dir_fd, s->ino_fd };
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	for (size_t i = 0; i < s->nold; i++)
		free(s->old[i]);
	free(s->old);
	s->old = NULL;
	s->nold = 0;
}

static bool is_late(const struct late_signal *s, const char *name)
{
	if (!heap_snapshot_name_matches(name, s->ns_pid))
		return false;
	for (size_t i = 0; i < s->nold; i++)
		if (strcmp(s->old[i], name) == 0)
			return false;
	return true;
}

/* Remove the late file's name. */
static void remove_late(const struct late_signal *s, const char *name)
{
	double late_s = (double)(mono_ms() - s->signal_mono_ms) / 1000;
	if (unlinkat(s->dir_fd, name, 0) < 0 && errno != ENOENT) {
		log_warn("pid %d: cannot remove the late heap snapshot %s/%s: %s", (int)s->pid, s->dir_seen,
			 name, strerror(errno));
		return;
	}
	log_warn("pid %d: removed the heap snapshot %s/%s Node began %.1f s after the signal, when "
		 "the capture had given up (raise [capture] start_timeout_s to keep such snapshots)",
		 (int)s->pid, s->dir_seen, name, late_s);
}

/* After lost events: the first late name in the directory, if any. */
static bool rescan(const struct late_signal *s)
{
	int fd = openat(s->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	struct dirent *e;
	bool done = false;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	while (!done && (e = readdir(d)))
		if (is_late(s, e->d_name)) {
			remove_late(s, e->d_name);
			done = true;
		}
	closedir(d);
	return done;
}

/* Read the directory's events: true once the late file was seen and removed. */
static bool drain(const struct late_signal *s)
{
	char buf[16 * (sizeof(struct inotify_event) + NAME_MAX + 1)]
		__attribute__((aligned(__alignof__(struct inotify_event))));
	bool done = false;
	ssize_t n;

	while (!done && (n = read(s->ino_fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n && !done;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			if (ev->mask & IN_Q_OVERFLOW)
				done = rescan(s);
			else if (ev->len && (ev->mask & (IN_CREATE | IN_MOVED_TO)) && is_late(s, ev->name)) {
				remove_late(s, ev->name);
				done = true;
			}
			p += sizeof(*ev) + ev->len;
		}
	}
	return done;
}

/* Handle what poll reported for one entry: true when it is finished. */
static bool serve(const struct late_signal *s, short ino_events, short pid_events)
{
	if (ino_events && drain(s))
		return true;
	if (ino_events & (POLLERR | POLLNVAL))
		return true; /* a broken watch would wake us forever */
	if (!pid_events)
		return false;
	drain(s); /* the file may have been made just before the exit */
	log_debug("pid %d exited without answering its heap snapshot signal", (int)s->pid);
	return true;
}

static void *sweep_main(void *arg)
{
	struct late_sweep *ls = arg;
	struct pollfd fds[1 + 2 * MAX_LATE];

	for (;;) {
		pthread_mutex_lock(&ls->lock);
		if (ls->stopping) {
			pthread_mutex_unlock(&ls->lock);
			return NULL;
		}
		size_t n = ls->n;
		fds[0] = (struct pollfd){ .fd = ls->wake_fd, .events = POLLIN };
		for (size_t i = 0; i < n; i++) {
			fds[1 + 2 * i] = (struct pollfd){ .fd = ls->sigs[i].ino_fd, .events = POLLIN };
			fds[2 + 2 * i] = (struct pollfd){ .fd = ls->sigs[i].pidfd, .events = POLLIN };
		}
		pthread_mutex_unlock(&ls->lock);

		if (poll(fds, 1 + 2 * n, -1) < 0 && errno != EINTR) {
			log_error("late snapshot sweep: poll failed: %s", strerror(errno));
			return NULL;
		}
		uint64_t count;
		if ((fds[0].revents & POLLIN) && read(ls->wake_fd, &count, sizeof(count)) < 0)
			count = 0;
		/* Entries only leave here, and new ones are appended: indices below n hold. */
		pthread_mutex_lock(&ls->lock);
		for (size_t i = n; i-- > 0;) {
			if (!serve(&ls->sigs[i], fds[1 + 2 * i].revents, fds[2 + 2 * i].revents))
				continue;
			if (ls->state_file[0])
				journal_remove_unanswered(ls->state_file, ls->sigs[i].pid);
			release(&ls->sigs[i]);
			ls->sigs[i] = ls->sigs[--ls->n];
		}
		pthread_mutex_unlock(&ls->lock);
	}
}

static void wake(struct late_sweep *ls)
{
	uint64_t one = 1;
	if (write(ls->wake_fd, &one, sizeof(one)) < 0)
		log_debug("late snapshot sweep: wake-up failed: %s", strerror(errno));
}

struct late_sweep *late_sweep_new(const char *state_file, char *err, size_t errlen)
{
	struct late_sweep *ls = calloc(1, sizeof(*ls));
	if (!ls) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(ls->state_file, sizeof(ls->state_file), "%s", state_file);
	pthread_mutex_init(&ls->lock, NULL);
	ls->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int rc = ls->wake_fd < 0 ? errno : pthread_create(&ls->thread, NULL, sweep_main, ls);
	if (rc) {
		snprintf(err, errlen, "cannot start the late snapshot sweep: %s", strerror(rc));
		if (ls->wake_fd >= 0)
			close(ls->wake_fd);
		pthread_mutex_destroy(&ls->lock);
		free(ls);
		return NULL;
	}
	return ls;
}

void late_sweep_free(struct late_sweep *ls)
{
	if (!ls)
		return;
	pthread_mutex_lock(&ls->lock);
	ls->stopping = true;
	pthread_mutex_unlock(&ls->lock);
	wake(ls);
	pthread_join(ls->thread, NULL);
	for (size_t i = 0; i < ls->n; i++) {
		if (ls->state_file[0])
			log_info("pid %d: has not answered its heap snapshot signal yet: the next run of the "
				 "agent picks up what it writes into %s", (int)ls->sigs[i].pid, ls->sigs[i].dir_seen);
		else
			log_warn("pid %d: a heap snapshot it may still write late into %s will stay there "
				 "(the agent is stopping and has no state_file)", (int)ls->sigs[i].pid,
				 ls->sigs[i].dir_seen);
		release(&ls->sigs[i]);
	}
	free(ls->sigs);
	close(ls->wake_fd);
	pthread_mutex_destroy(&ls->lock);
	free(ls);
}

void late_sweep_add(struct late_sweep *ls, struct late_signal *sig)
{
	char self[64];
	/* Names appearing is all that matters now: no wake-up per write of the app's logs. */
	snprintf(self, sizeof(self), "/proc/self/fd/%d", sig->dir_fd);
	if (inotify_add_watch(sig->ino_fd, self, IN_CREATE | IN_MOVED_TO | IN_ONLYDIR) < 0)
		log_debug("pid %d: cannot narrow the watch on %s: %s", (int)sig->pid, sig->dir_seen,
			  strerror(errno));
	pthread_mutex_lock(&ls->lock);
	if (ls->n == MAX_LATE) {
		pthread_mutex_unlock(&ls->lock);
		log_warn("pid %d: %d unanswered heap snapshot signals watched already: a snapshot it "
			 "writes late into %s will stay there", (int)sig->pid, MAX_LATE, sig->dir_seen);
		release(sig);
		return;
	}
	if (ls->n == ls->cap) {
		size_t cap = ls->cap ? ls->cap * 2 : 8;
		struct late_signal *grown = realloc(ls->sigs, cap * sizeof(*grown));
		if (!grown) {
			pthread_mutex_unlock(&ls->lock);
			log_warn("pid %d: out of memory: a snapshot it writes late stays in %s", (int)sig->pid,
				 sig->dir_seen);
			release(sig);
			return;
		}
		ls->sigs = grown;
		ls->cap = cap;
	}
	/* Before the entry is served: its end removes the journal under this name. */
	if (ls->state_file[0])
		journal_keep_unanswered(ls->state_file, sig->pid);
	ls->sigs[ls->n++] = *sig;
	pthread_mutex_unlock(&ls->lock);
	wake(ls);
}

bool late_sweep_pending(struct late_sweep *ls, pid_t pid, uint64_t start_time, int64_t *age_ms)
{
	bool found = false;
	pthread_mutex_lock(&ls->lock);
	for (size_t i = 0; i < ls->n && !found; i++) {
		const struct late_signal *s = &ls->sigs[i];
		if (s->pid == pid && s->start_time == start_time) {
			found = true;
			*age_ms = mono_ms() - s->signal_mono_ms;
		}
	}
	pthread_mutex_unlock(&ls->lock);
	return found;
}
