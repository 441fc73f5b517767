// SPDX-License-Identifier: Apache-2.0
/* Memory guard: will a heap snapshot fit? (see guard.h)
 *
 * Measured with tests/bench/snapshot_cost.sh (2-core KVM guest, fresh process per row,
 * full GC, peak RSS reset through /proc/self/clear_refs, then v8.writeHeapSnapshot;
 * extra = VmHWM after - VmRSS before; secs are noisy, the host was shared):
 *
 *   Node 20.20.2   heap MB  extra MB  extra/heap  snapshot nodes  B/node   secs
 *   small            18.0     117.0      6.51        367,007       334     1.4
 *   small            45.5     301.7      6.63        973,336       325     3.8
 *   small            95.0     643.1      6.77      2,054,896       328    11.2
 *   small           196.3    1229.3      6.26      4,267,178       302    23.0
 *   medium           19.4      65.7      3.39        186,637       369     1.6
 *   medium           52.6     156.1      2.97        481,542       340     4.1
 *   medium          102.5     312.7      3.05        923,921       355     6.3
 *   medium          202.2     624.3      3.09      1,808,685       362    11.4
 *   strings          17.0     178.3     10.50        432,541       432     2.9
 *   strings          43.2     455.9     10.54      1,120,807       426     7.0
 *   strings          95.1     970.1     10.20      2,480,951       410    15.8
 *   strings         195.2    1904.7      9.76      5,102,915       391    33.3
 *   numbers          17.9     191.1     10.67        694,758       288     6.8
 *   numbers          44.9     542.5     12.09      1,858,254       306     6.5
 *   numbers          44.9     540.1     12.04      1,858,274       305    29.4
 *   numbers          97.2    1077.0     11.08      4,119,700       274    27.1
 *   numbers         195.5    2183.1     11.16      8,364,004       274    27.8
 *   records          18.5     172.2      9.28        498,063       362     2.5
 *   records          45.5     386.0      8.48      1,284,541       315     5.5
 *   records          97.4     832.1      8.55      2,791,943       313    12.5
 *   tiny_arrays      48.0     385.6      8.04      1,514,007       267    21.6
 *   tiny_arrays      96.2     727.6      7.57      3,087,029       247    36.4
 *   linked           45.7     334.9      7.32        973,378       361    12.1
 *   linked           95.6     626.9      6.56      2,054,938       320    18.3
 *   arrays           19.5      28.8      1.47         39,340       767     0.3
 *   arrays           50.0      28.0      0.56         39,500       743     0.3
 *   arrays           99.7      27.9      0.28         39,778       737     0.4
 *   arrays          199.6      28.6      0.14         40,302       743     1.2
 *   Node 20, inspector route (HeapProfiler.takeHeapSnapshot, ROUTE=inspector, a client
 *   reading chunks as fast as they come): small 47.3 MB 6.77x, 95.6 MB 6.97x; strings
 *   45.4 MB 10.50x, 94.5 MB 10.07x; numbers 44.9 MB 12.02x, 97.2 MB 11.03x: the same
 *   cost as writeHeapSnapshot (a slow reader would add queued chunks: not measured).
 *   Node 22.23.3   small 48.9 MB: 5.74x; strings 44.4: 9.95x; numbers 45.8: 10.30x
 *   Node 24.21.0   small 47.0 MB: 5.83x; strings 36.6: 9.51x; numbers 40.4: 8.65x
 *
 * Shapes: small = {a,b}; medium = 16 properties + a 40-char string; strings = distinct
 * short strings; numbers = boxed doubles in generic arrays; records = {id, name,
 * tags:[..], score: double}; tiny_arrays = [i]; linked = {v, next}; arrays = 100k-Smi
 * arrays. Each row is one fresh process.
 *
 * MODEL. The cost is 250-430 bytes per snapshot node (V8's HeapEntry/HeapGraphEdge
 * vectors, the address->id map, copied strings), so it is linear in heap used with a
 * slope set by bytes per object: the smaller the objects, the dearer. The worst shape
 * measured is boxed doubles on Node 20 (12.1x); the intercept is ~28 MB (the snapshot
 * of a Node process at rest: the arrays rows). Hence
 *     extra = guard_cost_factor x heap_used,   needed = extra + guard_min_headroom
 * with guard_min_headroom (64 MB) covering the 28 MB intercept plus what must stay
 * free. A factor of 13 would leave only ~7 % over the worst shape; the default, 15,
 * leaves 24 %. When heap used is unknown, RSS stands in for it, which
 * overestimates (RSS = heap + ~60-80 MB of runtime) and so errs on the safe side. */
#include "decide/guard.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <sys/vfs.h>
#include <stdio.h>
#include <string.h>

#include "base/config.h"
#include "track/cgroup.h"
#include "track/procs.h"

#define MiB (1024.0 * 1024.0)

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

struct guard_params guard_params_from(const struct config *cfg)
{
	return (struct guard_params){
		.enforce = cfg->guard,
		.cost_factor = cfg->guard_cost_factor,
		.min_headroom_bytes = cfg->guard_min_headroom_bytes,
	};
}

uint64_t guard_estimate_cost(const struct guard_params *p, const struct guard_input *in)
{
	uint64_t factor = p->cost_factor + (in->file_in_memory ? GUARD_FILE_FACTOR : 0);
	return sat_mul(factor, heap_basis(in));
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

static void write_reason(const struct guard_params *p, const struct guard_input *in,
			 struct guard_verdict *out)
{
	char basis[128];
	snprintf(basis, sizeof(basis), "%u x %.0f MiB %s%s + %.0f MiB headroom",
		 p->cost_factor + (in->file_in_memory ? GUARD_FILE_FACTOR : 0), heap_basis(in) / MiB,
		 out->heap_estimated ? "RSS (heap used unknown)" : "heap used",
		 in->file_in_memory ? " incl. the file on tmpfs" : "", p->min_headroom_bytes / MiB);
	if (out->headroom_bytes == UINT64_MAX)
		snprintf(out->reason, sizeof(out->reason),
			 "snapshot needs about %.0f MiB (%s) and no memory limit is known", out->needed_bytes / MiB, basis);
	else
		snprintf(out->reason, sizeof(out->reason), "snapshot needs about %.0f MiB (%s) and %s leaves %s%.0f MiB%s",
			 out->needed_bytes / MiB, basis, out->limit, out->allow ? "" : "only ",
			 out->headroom_bytes / MiB, p->enforce ? "" : " (guard off: not enforced)");
}

bool guard_check(const struct guard_params *p, const struct guard_input *in, struct guard_verdict *out)
{
	memset(out, 0, sizeof(*out));
	out->heap_estimated = in->heap_used_bytes == 0;
	out->cost_bytes = guard_estimate_cost(p, in);
	out->needed_bytes = sat_add(out->cost_bytes, p->min_headroom_bytes);
	pick_binding_limit(in, out);
	out->allow = !p->enforce || out->needed_bytes <= out->headroom_bytes;
	write_reason(p, in, out);
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

int guard_path_in_memory(const char *path)
{
	struct statfs st;
	if (statfs(path, &st) < 0)
		return -errno;
	return st.f_type == TMPFS_MAGIC || st.f_type == RAMFS_MAGIC;
}

int guard_collect(pid_t pid, uint64_t heap_used, const char *cgroup_root, const char *meminfo_path,
		  struct guard_input *out)
{
	struct cgroup_mem cg;
	memset(out, 0, sizeof(*out));
	out->heap_used_bytes = heap_used;
	int err = procs_rss(pid, &out->rss_bytes);
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
