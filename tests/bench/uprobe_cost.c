// SPDX-License-Identifier: Apache-2.0
/* Cost of one probe hit of bpf/gc.bpf.c programs, on this kernel: calls a small
 * function N times with no probe, with an entry uprobe (gc_minor_body) and with a
 * uretprobe (gc_size_exit), and prints the CPU ns per call of each. Built and run by
 * tests/bench/gc_overhead.sh (root). Usage: uprobe_cost [N] */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <bpf/libbpf.h>

#include "gc.skel.h"
#include "track/symbols.h"

/* A V8-like prologue (push %rbp) so the probe is emulated, not single-stepped. */
__asm__(".text\n.globl probe_target\n.type probe_target,@function\nprobe_target:\n"
	"push %rbp\nmov %rsp,%rbp\nlea 1(%rdi),%rax\npop %rbp\nret\n.size probe_target,.-probe_target\n");
long probe_target(long x);

static double cpu_ns_per_call(long n)
{
	struct timespec a, b;
	volatile long sink = 0;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
	for (long i = 0; i < n; i++)
		sink += probe_target(i);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
	return ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n;
}

static double with_probe(struct bpf_program *prog, int retprobe, unsigned long offset, long n)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = retprobe);
	struct bpf_link *link = bpf_program__attach_uprobe_opts(prog, -1, "/proc/self/exe", offset, &opts);
	double ns;

	if (!link) {
		perror("attach");
		exit(1);
	}
	ns = cpu_ns_per_call(n);
	bpf_link__destroy(link);
	return ns;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 200000;
	struct sym_query q = { .prefix = "probe_target" };
	struct gc_bpf *skel = gc_bpf__open_and_load();
	char err[256];
	double base, up, uret;

	if (!skel || symbols_resolve("/proc/self/exe", &q, 1, NULL, err, sizeof(err)) != 1) {
		fprintf(stderr, "uprobe_cost: setup failed %s\n", skel ? err : "");
		return 1;
	}
	cpu_ns_per_call(n); /* warm */
	base = cpu_ns_per_call(n);
	up = with_probe(skel->progs.gc_minor_body, 0, q.match[0].offset, n);
	uret = with_probe(skel->progs.gc_size_exit, 1, q.match[0].offset, n);
	printf("per call: plain %.0f ns, uprobe +%.0f ns, uretprobe +%.0f ns\n", base, up - base, uret - base);
	gc_bpf__destroy(skel);
	return 0;
}
