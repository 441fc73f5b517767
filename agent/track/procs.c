// SPDX-License-Identifier: Apache-2.0
/* Facts about one process from /proc, and the Node options that decide how it can be
 * captured. (procs_pidfd_open/procs_pidfd_signal live in pidfd.c.)
 *
 * Node options are read the way Node reads them: from argv up to the script name
 * (or "--"), then from NODE_OPTIONS in /proc/PID/environ; a later setting wins.
 * Arguments after the script belong to the script: `node app.js --inspect` does not
 * inspect.
 *
 * The Node version is read from the binary without running it: official and Debian
 * builds embed the release source URL ".../release/vX.Y.Z/node-vX.Y.Z.tar.gz" in their
 * read-only data. We find .rodata with libelf (ELF_C_READ: headers by pread, never a
 * mapping, so a file its owner truncates meanwhile cannot SIGBUS the agent) and
 * memmem() it in bounded pread chunks (the whole file when there are no section
 * headers): ~47 MB of .rodata for node 20, which is why results are cached by (dev,
 * inode, size, mtime). Debian's nodejs 18 is a stub linked to libnode.so: when the exe
 * has no version, the libnode mapped in /proc/PID/maps is read through
 * /proc/PID/map_files/START-END, the very inode the process mapped (the path maps
 * shows may since name anything: a FIFO, a symlink, another file).
 *
 * Everything here reads files a watched process controls: opens are non-blocking,
 * checked to be regular files of bounded size before any read (fileio.h's
 * open_untrusted), and a process whose name is not a Node name is not read further
 * than its stat and exe link (procs_identify). */
#include "track/procs.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fileio.h"
#include "base/identity.h"
#include "base/sanitize.h"

#define ARGV_MAX (128 * 1024)
#define ENVIRON_MAX (1024 * 1024)
#define SMALL_FILE_MAX (64 * 1024)
#define MAPS_MAX (SMALL_FILE_MAX * 4)
/* Node 20's binary is ~100 MB, Debian's libnode ~80 MB: a file ten times that is not
 * a Node we know, and scanning it would only cost time. */
#define BINARY_MAX ((off_t)1 << 30)
#define SCAN_CHUNK ((size_t)256 << 10)
#define SCAN_OVERLAP 256   /* longer than any "vX.Y.Z-suffix/node-vX.Y.Z-suffix" match */

/* --- small file helpers --------------------------------------------------------- */

/* /proc/PID/name into buf (see read_small_file); *len = bytes read. 0 or -errno,
 * -ESRCH when the process is gone. */
static int read_proc(pid_t pid, const char *name, char *buf, size_t cap, size_t *len)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	ssize_t n = read_small_file(path, buf, cap);
	if (n < 0)
		return n == -ENOENT ? -ESRCH : (int)n;
	if (len)
		*len = (size_t)n;
	return 0;
}

/* /proc/PID as a directory fd. Files opened through it are that process's, never a
 * later holder of the pid: the directory's inode holds the process's struct pid, and
 * once the process is gone openat in it fails (ENOENT, given as -ESRCH). So one read
 * of its stat identifies everything read through it afterwards. fd or -errno. */
static int proc_dir_open(pid_t pid)
{
	char path[32];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	return fd;
}

/* One file of such a directory into buf (at most cap-1 bytes, NUL-terminated), in
 * one read where read_small_file makes two: procfs answers a read with everything it
 * has up to the size asked (seq_file fills the buffer; environ and cmdline loop over
 * the pages), so a read shorter than asked is the end. 0 or -errno (-ESRCH: gone). */
static int read_proc_at(int dirfd, const char *name, char *buf, size_t cap, size_t *len)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	size_t got = 0;
	int rc = 0;

	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	while (got + 1 < cap) {
		size_t want = cap - 1 - got;
		ssize_t n = read(fd, buf + got, want);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			break;
		}
		got += (size_t)n;
		if ((size_t)n < want)
			break;
	}
	close(fd);
	buf[got] = '\0';
	if (len)
		*len = got;
	return rc;
}

/* --- stat / status / statm ------------------------------------------------------ */

/* comm (between the first '(' and the last ')') and field 22, starttime. */
int procs_parse_stat(const char *buf, char *comm, size_t commlen, uint64_t *start_time)
{
	const char *open_paren = strchr(buf, '('), *close_paren = strrchr(buf, ')');
	if (!open_paren || !close_paren || close_paren < open_paren)
		return -EINVAL;
	if (comm) {
		size_t n = (size_t)(close_paren - open_paren - 1);
		if (n >= commlen)
			n = commlen - 1;
		memcpy(comm, open_paren + 1, n);
		comm[n] = '\0';
	}
	/* after ")": field 3 (state) ... field 22 (starttime) = the 20th word */
	const char *p = close_paren + 1;
	if (!*p)
		return -EINVAL;
	for (int field = 3; field < 22; field++) {
		p = strchr(p + 1, ' ');
		if (!p)
			return -EINVAL;
	}
	char *end;
	errno = 0;
	unsigned long long v = strtoull(p + 1, &end, 10);
	if (errno || end == p + 1)
		return -EINVAL;
	*start_time = v;
	return 0;
}

int procs_start_time(pid_t pid, uint64_t *start_time)
{
	char buf[1024];
	size_t len = 0;
	int rc = read_proc(pid, "stat", buf, sizeof(buf), &len);
	if (rc < 0)
		return rc;
	if (len == 0)
		return -ESRCH;   /* nothing to read: the process is gone */
	return procs_parse_stat(buf, NULL, 0, start_time);
}

int procs_rss(pid_t pid, uint64_t *rss)
{
	char buf[256];
	unsigned long long size, resident;
	int rc = read_proc(pid, "statm", buf, sizeof(buf), NULL);
	if (rc < 0)
		return rc;
	if (sscanf(buf, "%llu %llu", &size, &resident) != 2)
		return -EINVAL;
	*rss = (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
	return 0;
}

uint64_t procs_rss_bytes(pid_t pid)
{
	uint64_t rss;
	return procs_rss(pid, &rss) < 0 ? 0 : rss;
}

/* Uid (real) and the innermost NSpid. */
void procs_parse_status(const char *buf, uid_t *uid, pid_t *ns_pid)
{
	const char *p = strstr(buf, "\nUid:");
	if (p)
		*uid = (uid_t)strtoul(p + 5, NULL, 10);
	p = strstr(buf, "\nNSpid:");
	if (!p)
		return;
	const char *end = strchr(p + 1, '\n');
	p += 7;
	while (p && (!end || p < end)) {
		char *next;
		long v = strtol(p, &next, 10);
		if (next == p)
			break;
		*ns_pid = (pid_t)v;
		p = next;
	}
}

uint64_t procs_parse_status_rss(const char *buf)
{
	const char *p = strstr(buf, "\nVmRSS:");
	unsigned long long kb;

	if (!p || sscanf(p + 7, "%llu kB", &kb) != 1 || kb > UINT64_MAX / 1024)
		return 0;
	return (uint64_t)kb * 1024;
}

int procs_parse_credentials(const char *status, struct proc_creds *out)
{
	int found = 0;
	unsigned long real, effective, saved, fs;
	out->ngroups = 0;
	for (const char *line = status; line && *line;) {
		const char *eol = strchr(line, '\n');
		if (sscanf(line, "Uid: %lu %lu %lu %lu", &real, &effective, &saved, &fs) == 4) {
			out->fsuid = (uid_t)fs;
			found |= 1;
		} else if (sscanf(line, "Gid: %lu %lu %lu %lu", &real, &effective, &saved, &fs) == 4) {
			out->fsgid = (gid_t)fs;
			found |= 2;
		} else if (strncmp(line, "Groups:", 7) == 0) {
			const char *p = line + 7;
			char *end;
			unsigned long gid;
			/* strtoul skips blanks but not the newline that ends the line */
			while (out->ngroups < PROCS_MAX_GROUPS && (!eol || p < eol) &&
			       (gid = strtoul(p, &end, 10), end != p)) {
				out->groups[out->ngroups++] = (gid_t)gid;
				p = end;
			}
		}
		line = eol ? eol + 1 : NULL;
	}
	return found == 3 ? 0 : -EINVAL;
}

int procs_credentials(pid_t pid, struct proc_creds *out)
{
	char buf[SMALL_FILE_MAX];
	int rc = read_proc(pid, "status", buf, sizeof(buf), NULL);
	return rc < 0 ? rc : procs_parse_credentials(buf, out);
}

/* The v1 memory controller's line when there is one (hybrid hierarchy: that is where
 * memory is accounted), else the v2 line "0::/path". */
static void pick_cgroup(const char *buf, char *out, size_t outlen)
{
	const char *line = NULL;
	for (const char *p = buf; p && *p;) {
		const char *eol = strchr(p, '\n');
		const char *mem = strstr(p, ":memory:");
		if (mem && (!eol || mem < eol)) {
			line = p;
			break;
		}
		if (strncmp(p, "0::", 3) == 0)
			line = p;
		p = eol ? eol + 1 : NULL;
	}
	out[0] = '\0';
	if (!line)
		return;
	size_t n = strcspn(line, "\n");
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, line, n);
	out[n] = '\0';
}

void procs_join_argv(const char *argv, size_t len, char *out, size_t outlen)
{
	size_t n = len < outlen - 1 ? len : outlen - 1;
	memcpy(out, argv, n);
	out[n] = '\0';
	while (n > 0 && out[n - 1] == '\0')
		n--;
	for (size_t i = 0; i < n; i++)
		if (out[i] == '\0')
			out[i] = ' ';
}


/* --- signal names ----------------------------------------------------------- */

int signal_from_name(const char *name)
{
	if (!name || !*name)
		return 0;
	if (isdigit((unsigned char)*name)) {
		char *end;
		long v = strtol(name, &end, 10);
		return (*end == '\0' && v > 0 && v < NSIG) ? (int)v : 0;
	}
	if (strncasecmp(name, "SIG", 3) == 0)
		name += 3;
	for (int s = 1; s < NSIG; s++) {
		const char *abbrev = sigabbrev_np(s);
		if (abbrev && strcasecmp(abbrev, name) == 0)
			return s;
	}
	return 0;
}

/* --- Node options ----------------------------------------------------------- */

/* Options that take a value; in argv it may be the next word ("--opt val"). */
static const char *const value_options[] = {
	"-e", "--eval", "-p", "--print", "-r", "--require", "-C", "--conditions", "--import",
	"--loader", "--experimental-loader", "--input-type", "--title", "--heapsnapshot-signal",
	"--diagnostic-dir", "--inspect-port", "--debug-port", "--redirect-warnings",
	"--report-dir", "--report-directory", "--report-filename", "--report-signal",
	"--cpu-prof-dir", "--cpu-prof-name", "--cpu-prof-interval", "--heap-prof-dir",
	"--heap-prof-name", "--heap-prof-interval", "--icu-data-dir", "--openssl-config",
	"--tls-cipher-list", "--tls-keylog", "--unhandled-rejections", "--dns-result-order",
	"--env-file", "--watch-path", "--max-http-header-size", "--secure-heap",
	"--secure-heap-min", "--disable-proto", "--experimental-policy", "--policy-integrity",
	"--snapshot-blob", "--test-reporter", "--test-reporter-destination",
	"--test-name-pattern", "--test-concurrency", "--test-shard", "--experimental-sea-config",
	"--trace-event-categories", "--trace-event-file-pattern", "--use-largepages",
	"--es-module-specifier-resolution", "--experimental-default-type", "--localstorage-file",
	"--run", "--stack-trace-limit", "--heapsnapshot-near-heap-limit", "--max-old-space-size",
	"--max-semi-space-size", "--disable-warning", "--env-file-if-exists",
};

/* "--inspect_brk" is "--inspect-brk" to Node: compare names with '_' as '-'. */
static bool name_is(const char *name, size_t len, const char *want)
{
	if (strlen(want) != len)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i] == '_' ? '-' : name[i];
		if (c != want[i])
			return false;
	}
	return true;
}

static bool takes_value(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(value_options) / sizeof(value_options[0]); i++)
		if (name_is(name, len, value_options[i]))
			return true;
	return false;
}

/* "[host:]port", "port", "host", "[::1]:port" */
static void parse_host_port(const char *v, struct node_opts *o)
{
	const char *port = NULL;
	size_t hostlen = 0;
	const char *host = v;
	if (*v == '[') {
		const char *close = strchr(v, ']');
		if (!close)
			return;
		host = v + 1;
		hostlen = (size_t)(close - host);
		port = close[1] == ':' ? close + 2 : NULL;
	} else {
		const char *colon = strrchr(v, ':');
		bool digits = *v != '\0' && strspn(v, "0123456789") == strlen(v);
		if (colon) {
			hostlen = (size_t)(colon - v);
			port = colon + 1;
		} else if (digits) {
			port = v;
		} else {
			hostlen = strlen(v);
		}
	}
	if (hostlen) {
		if (hostlen >= sizeof(o->inspect_host))
			hostlen = sizeof(o->inspect_host) - 1;
		memcpy(o->inspect_host, host, hostlen);
		o->inspect_host[hostlen] = '\0';
	}
	if (port && *port) {
		char *end;
		long p = strtol(port, &end, 10);
		if (*end == '\0' && p >= 0 && p <= 65535) {
			o->inspect_port = (int)p;
			o->inspect_port_random = p == 0;
		}
	}
}

/* Apply one option; value is NULL when none was given. */
static void apply_option(struct node_opts *o, const char *name, size_t len, const char *value)
{
	if (name_is(name, len, "--heapsnapshot-signal")) {
		o->heapsnapshot_signal = value ? signal_from_name(value) : 0;
	} else if (name_is(name, len, "--diagnostic-dir")) {
		snprintf(o->diagnostic_dir, sizeof(o->diagnostic_dir), "%s", value ? value : "");
	} else if (name_is(name, len, "--inspect") || name_is(name, len, "--inspect-brk") ||
		   name_is(name, len, "--inspect-wait") || name_is(name, len, "--debug") ||
		   name_is(name, len, "--debug-brk")) {
		o->inspect = true;
		if (value)
			parse_host_port(value, o);
	} else if (name_is(name, len, "--inspect-port") || name_is(name, len, "--debug-port")) {
		if (value)
			parse_host_port(value, o);
	} else if (name_is(name, len, "-e") || name_is(name, len, "--eval") || name_is(name, len, "-p") ||
		   name_is(name, len, "--print")) {
		o->eval = true;
	} else if (name_is(name, len, "--disable-sigusr1")) {
		o->disable_sigusr1 = true;
	} else if (name_is(name, len, "--use-largepages")) {
		o->use_largepages = value && (strcmp(value, "on") == 0 || strcmp(value, "silent") == 0);
	}
}

/* One word list (argv after argv[0], or NODE_OPTIONS words). stop_at_script: argv
 * mode, where the first non-option is the script. */
static void parse_words(char **words, int n, bool stop_at_script, struct node_opts *o)
{
	for (int i = 0; i < n; i++) {
		const char *w = words[i];
		if (strcmp(w, "--") == 0 && stop_at_script)
			return;
		if (w[0] != '-' || w[1] == '\0') {
			if (stop_at_script && w[0] != '-')
				snprintf(o->script, sizeof(o->script), "%s", w);
			if (stop_at_script)
				return; /* the script (or "-" for stdin): the rest is the script's */
			continue;
		}
		const char *eq = strchr(w, '=');
		size_t len = eq ? (size_t)(eq - w) : strlen(w);
		const char *value = eq ? eq + 1 : NULL;
		if (!eq && takes_value(w, len) && i + 1 < n)
			value = words[++i];
		apply_option(o, w, len, value);
	}
}

/* NODE_OPTIONS words: split on blanks, "double quotes" group, backslash escapes
 * inside quotes (as Node's ParseNodeOptionsEnvVar). Returns the count; words point
 * into buf. */
static int split_node_options(const char *s, char *buf, size_t buflen, char **words, int maxwords)
{
	int n = 0;
	size_t b = 0;
	while (*s && n < maxwords) {
		while (*s == ' ' || *s == '\t' || *s == '\n')
			s++;
		if (!*s)
			break;
		words[n++] = buf + b;
		bool quoted = false;
		for (; *s && (quoted || (*s != ' ' && *s != '\t' && *s != '\n')); s++) {
			if (*s == '"') {
				quoted = !quoted;
				continue;
			}
			if (quoted && *s == '\\' && s[1])
				s++;
			if (b < buflen - 1)
				buf[b++] = *s;
		}
		if (b < buflen)
			buf[b++] = '\0';
		else
			buf[buflen - 1] = '\0';
	}
	return n;
}

#define MAX_WORDS 4096

void node_opts_parse(const char *argv, size_t argv_len, const char *node_options, struct node_opts *out)
{
	memset(out, 0, sizeof(*out));
	char **words = calloc(MAX_WORDS, sizeof(*words));
	if (!words)
		return;
	/* argv: NUL-separated words; skip argv[0]. A last word without NUL is tolerated. */
	char *copy = malloc(argv_len + 1);
	if (copy) {
		memcpy(copy, argv, argv_len);
		copy[argv_len] = '\0';
		int n = 0;
		for (size_t i = 0; i < argv_len && n < MAX_WORDS;) {
			words[n++] = copy + i;
			i += strlen(copy + i) + 1;
		}
		if (n > 1)
			parse_words(words + 1, n - 1, true, out);
		free(copy);
	}
	if (node_options && *node_options) {
		size_t len = strlen(node_options) + 1;
		char *buf = malloc(len);
		if (buf) {
			int n = split_node_options(node_options, buf, len, words, MAX_WORDS);
			parse_words(words, n, false, out);
			free(buf);
		}
	}
	free(words);
}

/* --- executable name ------------------------------------------------------------ */

bool procs_name_matches(const struct proc_info *p, const char names[][HS_NAME_LEN], int n)
{
	const char *slash = strrchr(p->exe, '/');
	const char *base = slash ? slash + 1 : p->exe;
	size_t blen = strlen(base);
	const char *deleted = " (deleted)";
	if (blen > strlen(deleted) && strcmp(base + blen - strlen(deleted), deleted) == 0)
		blen -= strlen(deleted);
	for (int i = 0; i < n; i++) {
		if (*base && strlen(names[i]) == blen && strncmp(base, names[i], blen) == 0)
			return true;
		if (p->comm[0] && strcmp(p->comm, names[i]) == 0)
			return true;
	}
	return false;
}

/* --- Node version from the binary --------------------------------------------- */

static bool version_char(char c)
{
	return isalnum((unsigned char)c) || c == '.' || c == '-' || c == '+';
}

/* Length of "X.Y.Z" at p (digits only), or 0. */
static size_t numeric_version_len(const char *p, const char *end)
{
	const char *q = p;
	for (int part = 0; part < 3; part++) {
		const char *digits = q;
		while (q < end && isdigit((unsigned char)*q))
			q++;
		if (q == digits || q - digits > 6)
			return 0;
		if (part < 2) {
			if (q >= end || *q != '.')
				return 0;
			q++;
		}
	}
	return (size_t)(q - p);
}

/* Is [p, end) exactly "X.Y.Z" or "X.Y.Z-suffix"? */
static bool is_version(const char *p, const char *end)
{
	const char *q = p + numeric_version_len(p, end);
	if (q == p)
		return false;
	if (q == end)
		return true;
	if (*q != '-')
		return false;
	for (; q < end; q++)
		if (!version_char(*q))
			return false;
	return true;
}

/* What a scan found: the release URL's version wins over the first "/node-vX.Y.Z". */
struct version_scan {
	char strong[32];
	char fallback[32];
};

/* The release URL ".../vVER/node-vVER..." gives VER (pre-release suffix included);
 * the first "/node-vX.Y.Z" is kept as the fallback. True once the release URL is found. */
static bool scan_for_version(const char *data, size_t size, struct version_scan *vs)
{
	static const char needle[] = "/node-v";
	const char *end = data + size, *p = data;
	while ((p = memmem(p, (size_t)(end - p), needle, sizeof(needle) - 1))) {
		const char *ver = p + sizeof(needle) - 1;
		const char *dir = p;
		while (dir > data && p - dir < 64 && dir[-1] != '/')
			dir--;
		size_t dl = (size_t)(p - dir);
		if (dl > 1 && dir[0] == 'v' && is_version(dir + 1, p) && (size_t)(end - ver) >= dl - 1 &&
		    memcmp(ver, dir + 1, dl - 1) == 0) {
			snprintf(vs->strong, sizeof(vs->strong), "%.*s", (int)dl, dir);
			return true;
		}
		size_t vl = numeric_version_len(ver, end);
		if (vl && !vs->fallback[0])
			snprintf(vs->fallback, sizeof(vs->fallback), "v%.*s", (int)vl, ver);
		p = ver;
	}
	return false;
}

/* Scan [off, off+len) of fd in bounded chunks that overlap by more than a match's
 * length. A short read (the file was truncated) ends the scan. */
static bool scan_file_range(int fd, off_t off, size_t len, char *buf, struct version_scan *vs)
{
	for (size_t done = 0; done < len;) {
		size_t want = len - done < SCAN_CHUNK + SCAN_OVERLAP ? len - done : SCAN_CHUNK + SCAN_OVERLAP;
		ssize_t n = pread_full(fd, buf, want, off + (off_t)done);

		if (n <= 0)
			return false;
		if (scan_for_version(buf, (size_t)n, vs))
			return true;
		if ((size_t)n < want || done + (size_t)n >= len)
			return false;
		done += SCAN_CHUNK;
	}
	return false;
}

/* The range of .rodata in the file, or the whole file without sections. */
static void rodata_range(Elf *elf, off_t file_size, off_t *off, size_t *len)
{
	*off = 0;
	*len = (size_t)file_size;
	size_t shstrndx;
	if (elf_kind(elf) != ELF_K_ELF || elf_getshdrstrndx(elf, &shstrndx) != 0)
		return;
	for (Elf_Scn *scn = elf_nextscn(elf, NULL); scn; scn = elf_nextscn(elf, scn)) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS)
			continue;
		const char *name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (name && strcmp(name, ".rodata") == 0 && sh.sh_offset <= (uint64_t)file_size &&
		    sh.sh_size <= (uint64_t)file_size - sh.sh_offset) {
			*off = (off_t)sh.sh_offset;
			*len = sh.sh_size;
			return;
		}
	}
}

static void version_uncached(int fd, off_t file_size, char *out, size_t outlen)
{
	struct version_scan vs = { "", "" };
	off_t off;
	size_t len;
	char *buf;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return;
	/* ELF_C_READ reads headers with pread; ELF_C_READ_MMAP would map the file, and
	 * a mapping of a file its owner truncates faults with SIGBUS. */
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf)
		return;
	rodata_range(elf, file_size, &off, &len);
	elf_end(elf);
	buf = malloc(SCAN_CHUNK + SCAN_OVERLAP);
	if (!buf)
		return;
	if (!scan_file_range(fd, off, len, buf, &vs) && !vs.fallback[0] && len != (size_t)file_size)
		scan_file_range(fd, 0, (size_t)file_size, buf, &vs);
	free(buf);
	snprintf(out, outlen, "%s", vs.strong[0] ? vs.strong : vs.fallback);
}

/* As many as the GC lookup keeps (GC_MAX_BINARIES), and like it the least recently
 * used goes first: a user exec'ing many binaries named node cannot push out the Node
 * in use, which would then be scanned again (~47 MB of .rodata) at its next exec. */
#define VERSION_CACHE 64
static struct {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	uint64_t used;     /* version_cache_clock at the last hit or fill */
	char version[32];
} version_cache[VERSION_CACHE];
static uint64_t version_cache_clock;
static pthread_mutex_t version_cache_lock = PTHREAD_MUTEX_INITIALIZER;

static bool same_file(int i, const struct stat *st)
{
	return version_cache[i].dev == st->st_dev && version_cache[i].ino == st->st_ino &&
	       version_cache[i].size == st->st_size && version_cache[i].mtime.tv_sec == st->st_mtim.tv_sec &&
	       version_cache[i].mtime.tv_nsec == st->st_mtim.tv_nsec;
}

/* The version cached for the file st describes (a regular, non-empty file). */
static bool version_cached(const struct stat *st, char *out, size_t outlen)
{
	bool hit = false;

	if (!S_ISREG(st->st_mode) || st->st_size == 0 || st->st_size > BINARY_MAX)
		return false;
	pthread_mutex_lock(&version_cache_lock);
	for (int i = 0; i < VERSION_CACHE && !hit; i++) {
		if (version_cache[i].ino && same_file(i, st)) {
			snprintf(out, outlen, "%s", version_cache[i].version);
			version_cache[i].used = ++version_cache_clock;
			hit = true;
		}
	}
	pthread_mutex_unlock(&version_cache_lock);
	return hit;
}

void node_version_of_binary(const char *path, char *out, size_t outlen)
{
	if (outlen)
		out[0] = '\0';
	struct stat st;
	int fd = open_untrusted(AT_FDCWD, path, true, BINARY_MAX, &st);
	if (fd < 0)
		return;
	if (st.st_size == 0) {
		close(fd);
		return;
	}
	char version[32] = "";
	if (!version_cached(&st, version, sizeof(version))) {
		version_uncached(fd, st.st_size, version, sizeof(version));
		pthread_mutex_lock(&version_cache_lock);
		int i = 0;
		for (int j = 1; j < VERSION_CACHE; j++)
			if (version_cache[j].used < version_cache[i].used)
				i = j;
		version_cache[i].used = ++version_cache_clock;
		version_cache[i].dev = st.st_dev;
		version_cache[i].ino = st.st_ino;
		version_cache[i].size = st.st_size;
		version_cache[i].mtime = st.st_mtim;
		memcpy(version_cache[i].version, version, sizeof(version));
		pthread_mutex_unlock(&version_cache_lock);
	}
	close(fd);
	snprintf(out, outlen, "%s", version);
}

int procs_parse_maps_line(const char *line, struct maps_entry *out)
{
	unsigned dev_major, dev_minor;
	int consumed = 0;
	char perms[8];

	memset(out, 0, sizeof(*out));
	if (sscanf(line, "%lx-%lx %7s %lx %x:%x %lu %n", &out->start, &out->end, perms, &out->pgoff,
		   &dev_major, &dev_minor, &out->ino, &consumed) < 7 || consumed == 0 || out->end < out->start)
		return -EINVAL;
	snprintf(out->perms, sizeof(out->perms), "%.4s", perms);
	out->path = line + consumed;
	out->path_len = strcspn(out->path, "\n");
	return 0;
}

static bool maps_path_is_libnode(const struct maps_entry *m)
{
	static const char lib[] = "/libnode.so";
	return m->ino && memmem(m->path, m->path_len, lib, sizeof(lib) - 1) != NULL;
}

/* Debian's node 18: the version lives in the libnode.so the process has mapped. */
static void version_from_libnode(pid_t pid, char *out, size_t outlen)
{
	char *maps = malloc(MAPS_MAX);
	if (!maps)
		return;
	if (read_proc(pid, "maps", maps, MAPS_MAX, NULL) == 0) {
		for (char *line = maps; line && *line;) {
			char *eol = strchr(line, '\n');
			struct maps_entry m;
			if (eol)
				*eol = '\0';
			if (procs_parse_maps_line(line, &m) == 0 && maps_path_is_libnode(&m)) {
				char mapped[96];
				snprintf(mapped, sizeof(mapped), "/proc/%d/map_files/%lx-%lx", (int)pid, m.start, m.end);
				node_version_of_binary(mapped, out, outlen);
				break;
			}
			line = eol ? eol + 1 : NULL;
		}
	}
	free(maps);
}

/* --- procs_read ------------------------------------------------------------- */

/* The version of the executable: from the cache on one stat of it (kept in out for
 * the GC lookup, which is keyed the same way), else read from the file. */
static void read_exe(int dirfd, pid_t pid, struct proc_info *out, bool maps)
{
	char path[64];

	/* No stat: the process is exiting (its exe link is gone); opening the same link
	 * by path would fail too, one open later. */
	out->exe_stat_known = fstatat(dirfd, "exe", &out->exe_stat, 0) == 0;
	if (out->exe_stat_known &&
	    !version_cached(&out->exe_stat, out->node_version, sizeof(out->node_version))) {
		snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
		node_version_of_binary(path, out->node_version, sizeof(out->node_version));
	}
	if (!out->node_version[0] && maps)
		version_from_libnode(pid, out->node_version, sizeof(out->node_version));
}

void procs_version_from_maps(pid_t pid, struct proc_info *p)
{
	if (!p->node_version[0])
		version_from_libnode(pid, p->node_version, sizeof(p->node_version));
}

/* cmdline and the environment read before (env_len 0: none, e.g. another user's
 * process without privileges) -> cmdline text and Node options. */
static int read_args_and_options(int dirfd, const char *env, size_t env_len, struct proc_info *out)
{
	char *argv = malloc(ARGV_MAX);
	int rc = -ENOMEM;
	if (!argv)
		goto cleanup;
	size_t argv_len = 0;
	rc = read_proc_at(dirfd, "cmdline", argv, ARGV_MAX, &argv_len);
	if (rc < 0)
		goto cleanup;
	procs_join_argv(argv, argv_len, out->cmdline, sizeof(out->cmdline));
	const char *node_options = env_len ? labels_env_value(env, env_len, "NODE_OPTIONS") : NULL;
	node_opts_parse(argv, argv_len, node_options, &out->opts);
	labels_from_cgroup(out->cgroup, &out->labels);
	if (env_len)
		labels_from_env(env, env_len, &out->labels);
	identity_app(out->opts.script, out->opts.eval, out->labels.app);
cleanup:
	free(argv);
	return rc;
}

static bool env_holds(const char *env, size_t env_len, const char *entry)
{
	const char *eq = strchr(entry, '=');
	char name[256];

	if (!eq)
		return false;
	snprintf(name, sizeof(name), "%.*s", (int)(eq - entry), entry);
	const char *value = labels_env_value(env, env_len, name);
	return value && strcmp(value, eq + 1) == 0;
}

bool procs_env_has(pid_t pid, const char *entry)
{
	char *env = malloc(ENVIRON_MAX);
	size_t env_len = 0;
	bool found = env && read_proc(pid, "environ", env, ENVIRON_MAX, &env_len) == 0 &&
		     env_holds(env, env_len, entry);

	free(env);
	return found;
}

/* The process's texts go into JSON (state socket, store metadata, alerts) and metric
 * labels, which need valid UTF-8 (jansson refuses anything else, Prometheus refuses
 * the scrape): invalid bytes become U+FFFD here, once. Control characters stay (JSON
 * escapes them; terminals and logs escape at print). opts keeps the raw bytes: its
 * paths are opened. */
static void valid_utf8(char *text, size_t size)
{
	char *copy;

	if (sanitize_is_clean(text, SANITIZE_UTF8) || !(copy = strdup(text)))
		return;
	sanitize(copy, SANITIZE_UTF8, text, size);
	free(copy);
}

static void valid_utf8_texts(struct proc_info *p)
{
	valid_utf8(p->comm, sizeof(p->comm));
	valid_utf8(p->exe, sizeof(p->exe));
	valid_utf8(p->cmdline, sizeof(p->cmdline));
	valid_utf8(p->cgroup, sizeof(p->cgroup));
	valid_utf8(p->labels.app, sizeof(p->labels.app));
	valid_utf8(p->labels.container_id, sizeof(p->labels.container_id));
	valid_utf8(p->labels.pod_uid, sizeof(p->labels.pod_uid));
	valid_utf8(p->labels.pod_name, sizeof(p->labels.pod_name));
	valid_utf8(p->labels.pod_namespace, sizeof(p->labels.pod_namespace));
	valid_utf8(p->labels.container_name, sizeof(p->labels.container_name));
}

/* procs_identify through an open /proc/PID (proc_dir_open). */
static int identify_at(int dirfd, pid_t pid, struct proc_info *out)
{
	char buf[1024];
	memset(out, 0, sizeof(*out));
	out->pid = pid;
	out->ns_pid = pid;
	int rc = read_proc_at(dirfd, "stat", buf, sizeof(buf), NULL);
	if (rc < 0)
		return rc;
	if (procs_parse_stat(buf, out->comm, sizeof(out->comm), &out->start_time) < 0)
		return -EINVAL;
	ssize_t n = readlinkat(dirfd, "exe", out->exe, sizeof(out->exe) - 1);
	out->exe[n > 0 ? n : 0] = '\0';
	return 0;
}

int procs_identify(pid_t pid, struct proc_info *out)
{
	int dirfd = proc_dir_open(pid);
	int rc;

	if (dirfd < 0)
		return dirfd;
	rc = identify_at(dirfd, pid, out);
	close(dirfd);
	return rc;
}

/* Everything after identify_at, the environment already read, through the same
 * directory (so of the same process: no stat read again at the end). */
static int read_rest(int dirfd, pid_t pid, const char *env, size_t env_len, bool maps, struct proc_info *out)
{
	char buf[SMALL_FILE_MAX];
	int rc = read_proc_at(dirfd, "status", buf, sizeof(buf), NULL);
	if (rc < 0)
		return rc;
	procs_parse_status(buf, &out->uid, &out->ns_pid);
	out->rss_bytes = procs_parse_status_rss(buf);
	if (read_proc_at(dirfd, "cgroup", buf, sizeof(buf), NULL) == 0)
		pick_cgroup(buf, out->cgroup, sizeof(out->cgroup));
	rc = read_args_and_options(dirfd, env, env_len, out);
	if (rc < 0)
		return rc;
	read_exe(dirfd, pid, out, maps);
	valid_utf8_texts(out);
	return 0;
}

/* The environment (env_len 0 when unreadable); -ENOMEM without a buffer. */
static int read_env(int dirfd, char **env, size_t *env_len)
{
	*env_len = 0;
	*env = malloc(ENVIRON_MAX);
	if (!*env)
		return -ENOMEM;
	if (read_proc_at(dirfd, "environ", *env, ENVIRON_MAX, env_len) < 0)
		*env_len = 0;
	return 0;
}

/* The environment, then the rest unless require_env is not in it. */
static int read_wanted(int dirfd, pid_t pid, const char *require_env, bool maps, struct proc_info *out)
{
	char *env = NULL;
	size_t env_len = 0;
	int rc = read_env(dirfd, &env, &env_len);

	if (rc < 0)
		return rc;
	if (require_env && require_env[0] && !env_holds(env, env_len, require_env))
		rc = PROCS_UNWANTED;
	else
		rc = read_rest(dirfd, pid, env, env_len, maps, out);
	free(env);
	return rc;
}

/* identify_at, the name test against names (none: every process; PROCS_UNWANTED when
 * none matches, nothing more read), then read_wanted, all through one open /proc/PID. */
static int read_through_dir(pid_t pid, const char names[][HS_NAME_LEN], int nnames, const char *require_env,
			    bool maps, struct proc_info *out)
{
	int dirfd = proc_dir_open(pid);
	int rc;

	if (dirfd < 0)
		return dirfd;
	rc = identify_at(dirfd, pid, out);
	if (rc == 0 && names && !procs_name_matches(out, names, nnames))
		rc = PROCS_UNWANTED;
	if (rc == 0)
		rc = read_wanted(dirfd, pid, require_env, maps, out);
	close(dirfd);
	return rc;
}

int procs_read(pid_t pid, struct proc_info *out)
{
	return read_through_dir(pid, NULL, 0, NULL, true, out);
}

int procs_read_named(pid_t pid, const char names[][HS_NAME_LEN], int nnames, const char *require_env,
		     bool at_exec, struct proc_info *out)
{
	return read_through_dir(pid, names, nnames, require_env, !at_exec, out);
}
