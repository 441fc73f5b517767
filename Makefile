# SPDX-License-Identifier: Apache-2.0
# heapsnap — build, test, run, install.
#
#   make          build build/heapsnapd and build/heapsnap (installs missing Debian packages first)
#   make run      build, then run heapsnapd in the foreground with conf/heapsnap.ini
#   make test     (installs the S3 test server, Ceph RGW) unit and integration tests (plain and ASan/UBSan), fuzz smoke, end-to-end tests (root)
#   make bench    side-by-side ratios (not a test)
#   make fuzz     each libFuzzer target for FUZZ_SECONDS
#   make install  PREFIX=/usr/local DESTDIR=
#   make deb      build/heapsnap_VERSION_amd64.deb (dpkg-deb; Depends from dpkg-shlibdeps)
#
# Layout: every agent/STAGE/*.c, agent/STAGE/ROOM/*.c and cli/*.c except the two mains goes into
# build/libheapsnap.a, so a new module needs no Makefile edit (agent/LAYERS lists the
# stages); tests/unit/test_*.c (pure: no root, no Node) and tests/integration/test_*.c
# (they spawn Node or need root) each become one test binary.
# vmlinux.h is generated from the build host's /sys/kernel/btf/vmlinux rather than
# committed: it is 2.8 MB of generated text, and CO-RE relocates field offsets at load
# time anyway, so any BTF-enabled kernel's types will do.

.DELETE_ON_ERROR:
.SUFFIXES:
# Keep generated objects and skeletons (make would delete them as intermediates).
.SECONDARY:

PREFIX   ?= /usr/local
DESTDIR  ?=
BUILD    ?= build
OUT      := $(BUILD)/.output
V        ?= 0
Q        := $(if $(filter 1,$(V)),,@)

CC       ?= gcc
CLANG    ?= clang
BPFTOOL  ?= bpftool
ARCH     := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')

VERSION  := 0.1.0
# The commit --version names; a tree that is not a git checkout says "unknown".
HS_COMMIT := $(shell git describe --always --dirty 2>/dev/null || echo unknown)
PKGS     := libbpf libelf zlib inih jansson libmicrohttpd libcurl expat libcrypto
OPTFLAGS ?= -O2 -g
# Debian's usual hardening (the ASan build turns it off: FORTIFY and ASan overlap).
HARDEN   ?= -fstack-protector-strong -D_FORTIFY_SOURCE=2
LDHARDEN ?= -Wl,-z,relro -Wl,-z,now
CFLAGS   := $(OPTFLAGS) $(HARDEN) -std=gnu11 -Wall -Wextra -Wformat=2 -Wformat-nonliteral -Werror -D_GNU_SOURCE -MMD -MP \
            -I$(OUT) -Iagent -Icli -Ibpf -DHS_VERSION='"$(VERSION)"' $(SAN)
LDLIBS   := -lbpf -lelf -lz -linih -ljansson -lmicrohttpd -lcurl -lexpat -lcrypto -lpthread
TEST_LDLIBS := $(LDLIBS) -lcmocka

DEB_DEPS := clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libinih-dev \
            libjansson-dev libcmocka-dev pkg-config make gcc iproute2 util-linux \
            libclang-rt-14-dev procps python3 libmicrohttpd-dev libcurl4-openssl-dev \
            prometheus prometheus-alertmanager strace curl lintian dpkg-dev systemd \
            libexpat1-dev libssl-dev

DAEMON_MAIN := agent/daemon/heapsnapd.c
CLI_MAIN    := cli/heapsnap.c
BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_SKELS := $(patsubst bpf/%.bpf.c,$(OUT)/%.skel.h,$(BPF_SRCS))
LIB_SRCS  := $(filter-out $(DAEMON_MAIN) $(CLI_MAIN),$(wildcard agent/*/*.c agent/*/*/*.c cli/*.c))
LIB_OBJS  := $(patsubst %.c,$(OUT)/%.o,$(LIB_SRCS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
INTEG_SRCS := $(wildcard tests/integration/test_*.c)
INTEG_BINS := $(patsubst tests/integration/%.c,$(BUILD)/integration/%,$(INTEG_SRCS))
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))

.PHONY: all deps run test unit e2e bench fuzz fuzz-build install clean asan
all: deps $(BUILD)/heapsnapd $(BUILD)/heapsnap

# --- dependencies ---------------------------------------------------------
# Installs only what is missing; apt-get update runs once, and only if needed. Checked
# again whenever the Makefile changes (a new entry in DEB_DEPS).
# $(call apt_install,TARGET,PACKAGES): the one recipe both dependency targets use.
define apt_install
	$(Q)missing=""; for p in $(2); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "$(1): installing$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "$(1): missing Debian packages:$$missing (run 'make $(1)' as root)"; exit 1; fi; \
	  apt-get -o DPkg::Lock::Timeout=600 update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
endef

deps: $(BUILD)/.deps-ok
$(BUILD)/.deps-ok: Makefile
	$(call apt_install,deps,$(DEB_DEPS))
	$(Q)mkdir -p $(BUILD) && touch $@

# The S3 tests' server (Ceph RGW, ~25 s to install), the kernel tests' emulator and
# initramfs tools (tests/vm), and the image's builders: only `make test` needs them.
TEST_DEB_DEPS := radosgw ceph-mon ceph-osd ceph-common openssl \
                 qemu-system-x86 cpio busybox-static lz4 mmdebstrap podman runc uidmap
test-deps: tests/e2e/realapps/node_modules/.ok
	$(call apt_install,test-deps,$(TEST_DEB_DEPS))
.PHONY: test-deps
# The real npm libraries the leak / no-leak tests drive under HTTP load (versions pinned
# by the lock file; npm ci installs exactly those, from the npm registry).
tests/e2e/realapps/node_modules/.ok: tests/e2e/realapps/package.json tests/e2e/realapps/package-lock.json
	$(Q)cd tests/e2e/realapps && timeout 600 npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null
	$(Q)touch $@

# --- BPF ------------------------------------------------------------------
$(OUT)/vmlinux.h: | $(BUILD)/.deps-ok
	$(Q)mkdir -p $(OUT)
	$(Q)test -r /sys/kernel/btf/vmlinux || { echo "build: this kernel has no BTF (/sys/kernel/btf/vmlinux): heapsnap needs CONFIG_DEBUG_INFO_BTF=y"; exit 1; }
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@

$(OUT)/%.bpf.o: bpf/%.bpf.c $(OUT)/vmlinux.h $(wildcard bpf/*.h)
	@echo "  BPF     $@"
	$(Q)$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -I$(OUT) -Ibpf -Wall -Werror -c $< -o $@.tmp
	$(Q)$(BPFTOOL) gen object $@ $@.tmp && rm -f $@.tmp

$(OUT)/%.skel.h: $(OUT)/%.bpf.o
	@echo "  SKEL    $@"
	$(Q)$(BPFTOOL) gen skeleton $< > $@

# --- user space -----------------------------------------------------------
$(OUT)/%.o: %.c $(BPF_SKELS) | $(BUILD)/.deps-ok
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

# Only version.o carries the commit; it is rebuilt when the commit changes.
$(OUT)/agent/base/version.o: CFLAGS += -DHS_COMMIT='"$(HS_COMMIT)"'
$(OUT)/agent/base/version.o: $(OUT)/commit
$(OUT)/commit: FORCE
	@mkdir -p $(OUT)
	$(Q)echo '$(HS_COMMIT)' | cmp -s - $@ || echo '$(HS_COMMIT)' > $@
.PHONY: FORCE
FORCE:

$(BUILD)/libheapsnap.a: $(LIB_OBJS)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/heapsnapd: $(OUT)/agent/daemon/heapsnapd.o $(BUILD)/libheapsnap.a
	@echo "  LINK    $@"
	$(Q)$(CC) $(CFLAGS) $(LDHARDEN) -o $@ $^ $(LDLIBS)

$(BUILD)/heapsnap: $(OUT)/cli/heapsnap.o $(BUILD)/libheapsnap.a
	@echo "  LINK    $@"
	$(Q)$(CC) $(CFLAGS) $(LDHARDEN) -o $@ $^ $(LDLIBS)

# The fixtures (tests/unit/*_fixture.h) serve both folders.
define link_test
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(BUILD)/libheapsnap.a $(TEST_LDLIBS)
endef
$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libheapsnap.a
	$(link_test)
$(BUILD)/integration/%: tests/integration/%.c $(BUILD)/libheapsnap.a
	$(link_test)

# Drivers the e2e tests and benchmarks link against the library (the scripts build them
# with `make $(BUILD)/e2e/NAME`, so the flags are these).
$(BUILD)/e2e/%: tests/e2e/%.c $(BUILD)/libheapsnap.a
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libheapsnap.a $(LDLIBS)
$(BUILD)/e2e/%: tests/bench/%.c $(BUILD)/libheapsnap.a
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libheapsnap.a $(LDLIBS)

unit-build: $(UNIT_BINS) $(INTEG_BINS)
.PHONY: unit-build

# ASan/UBSan copy of everything user-space, in its own build dir.
asan:
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD)/asan \
	  SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" HARDEN= \
	  OPTFLAGS="-O1 -g" all unit-build

# --- fuzzing (clang libFuzzer + ASan/UBSan) -------------------------------
# The library is compiled once with fuzzer instrumentation; each target links it.
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS := -std=gnu11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Wformat=2 -Wformat-nonliteral -Werror -I$(OUT) -Iagent -Icli -Ibpf \
	       -DHS_VERSION='"$(VERSION)"' \
	       -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_OBJS := $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(LIB_SRCS))
$(BUILD)/fuzz/obj/%.o: %.c $(BPF_SKELS)
	@mkdir -p $(dir $@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@
$(BUILD)/fuzz/libfuzz.a: $(FUZZ_OBJS)
	$(Q)rm -f $@ && ar rcs $@ $^
$(BUILD)/fuzz/%: tests/fuzz/%.c $(BUILD)/fuzz/libfuzz.a
	@echo "  FUZZ    $@"
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(BUILD)/fuzz/libfuzz.a $(LDLIBS)
fuzz-build: $(FUZZ_BINS)
fuzz: all fuzz-build
	$(Q)for f in $(FUZZ_BINS); do n=$$(basename $$f); mkdir -p tests/fuzz/corpus/$$n; \
	  echo "fuzz: $$n for $(FUZZ_SECONDS)s"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 tests/fuzz/corpus/$$n || exit 1; done

# --- run, test, bench, install -------------------------------------------
run: all
	$(Q)mkdir -p var && chmod 700 var
	$(BUILD)/heapsnapd -c conf/heapsnap.ini

test: all test-deps unit-build asan fuzz-build
	$(Q)BUILD=$(BUILD) bash tests/run.sh

bench: all
	$(Q)BUILD=$(BUILD) bash tests/bench/run.sh

# The configuration reference is generated from the key table (agent/base/config.c,
# config_doc.c); test_config_doc fails when the committed copies differ.
config-reference: $(BUILD)/heapsnapd
	$(BUILD)/heapsnapd --config-reference=man > man/heapsnap.ini.5
	$(BUILD)/heapsnapd --config-reference=markdown > docs/configuration.md
.PHONY: config-reference

MAN_PAGES := man/heapsnap.1 man/heapsnap.ini.5 man/heapsnapd.8

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)/etc/heapsnap $(DESTDIR)/lib/systemd/system
	install -m 0755 $(BUILD)/heapsnapd $(BUILD)/heapsnap $(DESTDIR)$(PREFIX)/bin/
	for m in $(MAN_PAGES); do s=$${m##*.}; install -d $(DESTDIR)$(PREFIX)/share/man/man$$s && \
	  gzip -9n < $$m > $(DESTDIR)$(PREFIX)/share/man/man$$s/$$(basename $$m).gz && \
	  chmod 0644 $(DESTDIR)$(PREFIX)/share/man/man$$s/$$(basename $$m).gz || exit 1; done
	test -e $(DESTDIR)/etc/heapsnap/heapsnap.ini || \
	  sed -e 's|^dir = .*|dir = /var/lib/heapsnap|' \
	      -e 's|^state_socket = .*|state_socket = /run/heapsnap/heapsnapd.sock|' \
	      -e 's|^state_file = .*|state_file = /run/heapsnap/heapsnapd.state|' \
	      conf/heapsnap.ini > $(DESTDIR)/etc/heapsnap/heapsnap.ini
	sed 's|@PREFIX@|$(PREFIX)|g' conf/heapsnapd.service > $(DESTDIR)/lib/systemd/system/heapsnapd.service

# --- Debian package -----------------------------------------------------------
# The tree is build/deb/debian/heapsnap (where dpkg-shlibdeps expects a package's
# files); `make install` fills it, then the package's own pieces from pkg/deb/.
DEB      := $(BUILD)/heapsnap_$(VERSION)_amd64.deb
DEB_DIR  := $(BUILD)/deb
DEB_ROOT := $(DEB_DIR)/debian/heapsnap
# The project as maintainer (a role address; pkg/deb/changelog and copyright name it too).
DEB_MAINTAINER ?= heapsnap maintainers <maintainers@heapsnap.invalid>
.PHONY: deb
deb: $(DEB)
$(DEB): $(BUILD)/heapsnapd $(BUILD)/heapsnap conf/heapsnap.ini conf/heapsnapd.service \
	conf/heapsnap.rules.yml $(wildcard pkg/deb/*) $(MAN_PAGES) Makefile
	@echo "  DEB     $@"
	$(Q)rm -rf $(DEB_DIR) && mkdir -p $(DEB_ROOT)/DEBIAN
	$(Q)$(MAKE) --no-print-directory -s install PREFIX=/usr DESTDIR=$(abspath $(DEB_ROOT)) >/dev/null
	$(Q)strip --strip-unneeded --remove-section=.comment --remove-section=.note $(DEB_ROOT)/usr/bin/*
	$(Q)install -d -m 0700 $(DEB_ROOT)/var/lib/heapsnap
	$(Q)install -D -m 0644 conf/heapsnap.rules.yml $(DEB_ROOT)/usr/share/heapsnap/heapsnap.rules.yml
	$(Q)install -D -m 0644 pkg/deb/copyright $(DEB_ROOT)/usr/share/doc/heapsnap/copyright
	$(Q)gzip -9n < pkg/deb/changelog > $(DEB_ROOT)/usr/share/doc/heapsnap/changelog.gz
	$(Q)install -m 0755 pkg/deb/postinst pkg/deb/prerm pkg/deb/postrm $(DEB_ROOT)/DEBIAN/
	$(Q)echo /etc/heapsnap/heapsnap.ini > $(DEB_ROOT)/DEBIAN/conffiles
	$(Q)printf 'Source: heapsnap\n\nPackage: heapsnap\nArchitecture: any\n' > $(DEB_DIR)/debian/control
	$(Q)cd $(DEB_DIR) && deps=$$(dpkg-shlibdeps -O debian/heapsnap/usr/bin/heapsnapd \
	    debian/heapsnap/usr/bin/heapsnap | sed -n 's/^shlibs:Depends=//p') && test -n "$$deps" && \
	  size=$$(du -sk --exclude=DEBIAN debian/heapsnap | cut -f1) && \
	  sed -e "s/@VERSION@/$(VERSION)/" -e "s/@DEPENDS@/$$deps/" -e "s/@SIZE@/$$size/" \
	      -e "s/@MAINTAINER@/$(DEB_MAINTAINER)/" \
	      $(abspath pkg/deb/control.in) > debian/heapsnap/DEBIAN/control
	$(Q)cd $(DEB_ROOT) && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | \
	  xargs -0 md5sum > DEBIAN/md5sums
	$(Q)dpkg-deb --root-owner-group -Zxz --build $(DEB_ROOT) $@ >/dev/null

# --- container image ---------------------------------------------------------------
# heapsnap:VERSION from a minimal Debian 12 root file system plus the package
# (pkg/image/build.sh; docs/container.md says how to run it).
IMAGE_DEB_DEPS := mmdebstrap podman runc uidmap
image: $(DEB)
	$(call apt_install,image,$(IMAGE_DEB_DEPS))
	$(Q)bash pkg/image/build.sh $(DEB) $(VERSION) $(BUILD)/image
.PHONY: image

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
