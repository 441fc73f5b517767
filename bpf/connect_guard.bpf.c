// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* The inspector connect guard: cgroup/connect4 and cgroup/connect6 on the
 * cgroup v2 root, attached by agent/capture/inspector/connect_guard.c only while a capture holds an
 * inspector the agent opened. A TCP connect() to a guarded port on a loopback-class
 * address (127/8, 0.0.0.0, ::1, ::, and their IPv4-mapped forms: every destination
 * the kernel delivers to a listener bound to the loopback) in the guarded network
 * namespace is refused with EPERM, unless the socket is one the agent put in
 * allowed_socks (its own, by socket cookie). While the agent waits for an inspector to
 * open (a port it cannot know in advance: the app may have set process.debugPort), an
 * "opening" guard (port CG_ANY_PORT) refuses every loopback port of the namespace but
 * those in exempt (the ports that were listening before the signal). Every other
 * connect() costs two or three hash lookups while a guard is armed, and nothing when
 * none is (the programs are detached). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "connect_guard_types.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define SOCK_STREAM_ 1

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CG_MAX_GUARDS);
	__type(key, struct cg_key);
	__type(value, struct cg_guard);
} guards SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CG_MAX_ALLOWED);
	__type(key, __u64);
	__type(value, __u8);
} allowed_socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CG_MAX_EXEMPT);
	__type(key, struct cg_key);
	__type(value, __u8);
} exempt SEC(".maps");

static __always_inline bool loopback4(__u32 be_addr)
{
	__u32 a = bpf_ntohl(be_addr);
	return a == 0 || (a >> 24) == 127;
}

static __always_inline int check(struct bpf_sock_addr *ctx)
{
	struct cg_key k = { .netns_cookie = bpf_get_netns_cookie(ctx), .port = bpf_ntohs((__u16)ctx->user_port) };
	struct cg_guard *g;
	__u64 cookie;

	if (ctx->type != SOCK_STREAM_)
		return 1;
	g = bpf_map_lookup_elem(&guards, &k);
	if (!g) {
		struct cg_key any = { .netns_cookie = k.netns_cookie, .port = CG_ANY_PORT };
		g = bpf_map_lookup_elem(&guards, &any);
		if (!g || bpf_map_lookup_elem(&exempt, &k))
			return 1;
	}
	cookie = bpf_get_socket_cookie(ctx);
	if (bpf_map_lookup_elem(&allowed_socks, &cookie)) {
		__sync_fetch_and_add(&g->allowed, 1);
		return 1;
	}
	__sync_fetch_and_add(&g->refused, 1);
	return 0;
}

SEC("cgroup/connect4")
int guard_connect4(struct bpf_sock_addr *ctx)
{
	if (!loopback4(ctx->user_ip4))
		return 1;
	return check(ctx);
}

SEC("cgroup/connect6")
int guard_connect6(struct bpf_sock_addr *ctx)
{
	__u32 w0 = ctx->user_ip6[0], w1 = ctx->user_ip6[1], w2 = ctx->user_ip6[2], w3 = ctx->user_ip6[3];
	bool unspec_or_lo = !w0 && !w1 && !w2 && (!w3 || w3 == bpf_htonl(1));
	bool mapped = !w0 && !w1 && w2 == bpf_htonl(0xffff) && loopback4(w3);

	if (!unspec_or_lo && !mapped)
		return 1;
	return check(ctx);
}
