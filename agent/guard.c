/* Memory guard: will a heap snapshot fit? (see guard.h)
 *
 * Measured with tests/bench/snapshot_cost.sh (Node 20.20.2, 2-core KVM guest, fresh
 * process per row, full GC, peak RSS reset through /proc/self/clear_refs, then
 * v8.writeHeapSnapshot; extra = VmHWM after - VmRSS before):
 *
 *   shape     heap MB   extra MB  extra/heap  nodes      B/node  secs
 *   small       18.0      117.0     6.51       367,007    334    1.38
 *   small       45.5      301.7     6.63       973,336    325    3.83
 *   small       95.0      643.1     6.77     2,054,896    328   11.19
 *   small      196.3     1229.3     6.26     4,267,178    302   22.99
 *   medium      19.4       65.7     3.39       186,637    369    1.60
 *   medium      52.6      156.1     2.97       481,542    340    4.06
 *   medium     102.5      312.7     3.05       923,921    355    6.32
 *   medium     202.2      624.3     3.09     1,808,685    362   11.35
 *   strings    17.0      178.3    10.50       432,541    432    2.94
 *   strings    43.2      455.9    10.54     1,120,807    426    6.96
 *   strings    95.1      970.1    10.20     2,480,951    410   15.78
 *   (the remaining rows are in the report; see MODEL below)
 *
 * small = {a,b} objects, medium = 16 properties + a 40-char string, strings = distinct
 * short strings. The cost is ~300-430 bytes per snapshot node, so it is proportional
 * to heap used with a slope set by the bytes per object: the fewer bytes per object,
 * the dearer. Over the shapes measured the slope is at most ~10.5 and the intercept
 * is ~0 (a Node process at rest costs ~30 MB). The default factor 13 keeps >20 %
 * margin over the worst shape; guard_min_headroom (64 MB) covers the fixed part. */
#include "guard.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cgroup.h"

#define MB (1024.0 * 1024.0)

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t sat_mul(uint64_t a, uint64_t b)
{
	if (a != 0 && b > UINT64_MAX / a)
		return UINT64_MAX;
	return a * b;
}

static uint64_t heap_basis(const struct guard_input *in)
{
	return in->heap_used_bytes ? in->heap_used_bytes : in->rss_bytes;
}

uint64_t guard_estimate_cost(const struct config *cfg, const struct guard_input *in)
{
	return sat_mul(cfg->guard_cost_factor, heap_basis(in));
}

/* Fills limit/headroom with the tighter of the cgroup and the host. */
static void pick_binding_limit(const struct guard_input *in, struct guard_verdict *out)
{
	out->limit = "none";
	out->headroom_bytes = UINT64_MAX;
	if (in->cgroup_limit_bytes) {
		uint64_t usage = in->cgroup_usage_bytes;
		out->headroom_bytes = usage < in->cgroup_limit_bytes ? in->cgroup_limit_bytes - usage : 0;
		out->limit = in->cgroup_limit_name ? in->cgroup_limit_name : "cgroup memory.max";
	}
	if (in->mem_available_bytes && in->mem_available_bytes < out->headroom_bytes) {
		out->headroom_bytes = in->mem_available_bytes;
		out->limit = "host MemAvailable";
	}
}

static void write_reason(const struct config *cfg, const struct guard_input *in, struct guard_verdict *out)
{
	char basis[96];
	snprintf(basis, sizeof(basis), "%u x %.0f MB %s + %.0f MB headroom", cfg->guard_cost_factor,
		 heap_basis(in) / MB, out->heap_estimated ? "RSS (heap used unknown)" : "heap used",
		 cfg->guard_min_headroom_bytes / MB);
	if (out->headroom_bytes == UINT64_MAX)
		snprintf(out->reason, sizeof(out->reason),
			 "snapshot needs about %.0f MB (%s) and no memory limit is known", out->needed_bytes / MB, basis);
	else
		snprintf(out->reason, sizeof(out->reason), "snapshot needs about %.0f MB (%s) and %s leaves %s%.0f MB%s",
			 out->needed_bytes / MB, basis, out->limit, out->allow ? "" : "only ",
			 out->headroom_bytes / MB, cfg->guard ? "" : " (guard off: not enforced)");
}

bool guard_check(const struct config *cfg, const struct guard_input *in, struct guard_verdict *out)
{
	memset(out, 0, sizeof(*out));
	out->heap_estimated = in->heap_used_bytes == 0;
	out->cost_bytes = guard_estimate_cost(cfg, in);
	out->needed_bytes = sat_add(out->cost_bytes, cfg->guard_min_headroom_bytes);
	pick_binding_limit(in, out);
	out->allow = !cfg->guard || out->needed_bytes <= out->headroom_bytes;
	write_reason(cfg, in, out);
	return out->allow;
}

int64_t guard_margin(const struct guard_verdict *v)
{
	if (v->headroom_bytes == UINT64_MAX)
		return INT64_MAX;
	double d = (double)v->headroom_bytes - (double)v->needed_bytes;
	if (d >= (double)INT64_MAX)
		return INT64_MAX;
	if (d <= (double)INT64_MIN)
		return INT64_MIN;
	return (int64_t)d;
}

static int read_rss(pid_t pid, uint64_t *rss)
{
	char path[64], buf[128];
	snprintf(path, sizeof(path), "/proc/%d/statm", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	int err = n < 0 ? -errno : 0;
	close(fd);
	if (err)
		return err;
	buf[n] = '\0';
	unsigned long long size, resident;
	if (sscanf(buf, "%llu %llu", &size, &resident) != 2)
		return -EINVAL;
	*rss = (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
	return 0;
}

int guard_collect(pid_t pid, uint64_t heap_used, const char *cgroup_root, const char *meminfo_path,
		  struct guard_input *out)
{
	struct cgroup_mem cg;
	memset(out, 0, sizeof(*out));
	out->heap_used_bytes = heap_used;
	int err = read_rss(pid, &out->rss_bytes);
	if (err < 0)
		return err;
	err = cgroup_memory_of_pid(cgroup_root, pid, &cg);
	if (err < 0)
		return err;
	if (cg.version && cg.limit_bytes) {
		out->cgroup_limit_bytes = cg.limit_bytes;
		out->cgroup_usage_bytes = cg.usage_bytes > cg.inactive_file_bytes ? cg.usage_bytes - cg.inactive_file_bytes : 0;
		out->cgroup_limit_name = cg.limit_name;
	}
	/* A host without MemAvailable (pre-3.14 kernels) leaves only the cgroup to check. */
	if (cgroup_host_mem_available(meminfo_path, &out->mem_available_bytes) < 0)
		out->mem_available_bytes = 0;
	return 0;
}
