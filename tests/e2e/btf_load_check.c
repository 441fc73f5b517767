/* btf_load_check BTF OBJ...: load each BPF object on this kernel with BTF (a vmlinux
 * or a raw .btf file of another kernel) as the CO-RE target, the way libbpf would on
 * that kernel. Prints one line per object and exits 1 if any fails: a relocation that
 * does not resolve on that kernel shows up here without booting it. Programs are
 * loaded, never attached. */
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static char last_warn[512];

static int keep_warnings(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_WARN) {
		vsnprintf(last_warn, sizeof(last_warn), fmt, ap);
		fputs(last_warn, stderr);
	}
	return 0;
}

static int load_one(const char *btf, const char *path)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .btf_custom_path = btf);
	struct bpf_object *obj = bpf_object__open_file(path, &opts);
	int rc;

	if (!obj) {
		printf("FAIL %s: open: %s\n", path, strerror(errno));
		return 1;
	}
	rc = bpf_object__load(obj);
	if (rc)
		printf("FAIL %s: load: %s (%s)\n", path, strerror(-rc), last_warn);
	else
		printf("ok   %s\n", path);
	bpf_object__close(obj);
	return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
	int failed = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: %s BTF OBJ...\n", argv[0]);
		return 2;
	}
	libbpf_set_print(keep_warnings);
	for (int i = 2; i < argc; i++)
		failed |= load_one(argv[1], argv[i]);
	return failed;
}
