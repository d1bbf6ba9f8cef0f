# mssante-modules — one non-recursive GNU Makefile.
# Everything built lands in $(BUILD). `make check` installs missing Debian packages when run as root.

BUILD ?= build
PREFIX ?= /usr
DESTDIR ?=
SYSCONFDIR ?= /etc
MULTIARCH ?= $(shell dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
PKG_CONFIG ?= pkg-config

CC ?= gcc
# SAN=address,undefined builds everything with those sanitizers (see `make check-asan`).
SAN ?=
OPT ?= -O2

PKGS_CORE := libcdb
PKGS_FULL := libcdb libxml-2.0 openssl ldap lber
CFLAGS_PKG := $(shell $(PKG_CONFIG) --cflags $(PKGS_FULL) 2>/dev/null)
LIBS_CORE := $(shell $(PKG_CONFIG) --libs $(PKGS_CORE) 2>/dev/null || echo -lcdb)
LIBS_FULL := $(shell $(PKG_CONFIG) --libs $(PKGS_FULL) 2>/dev/null)
LIBS_CMOCKA := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null || echo -lcmocka)
CFLAGS_JSON := $(shell $(PKG_CONFIG) --cflags json-c 2>/dev/null)
LIBS_JSON := $(shell $(PKG_CONFIG) --libs json-c 2>/dev/null || echo -ljson-c)
LIBS_CURL := $(shell $(PKG_CONFIG) --libs libcurl 2>/dev/null || echo -lcurl)

WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wvla -Wstrict-prototypes -Wmissing-prototypes
SANFLAGS := $(if $(SAN),-fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=all)
CFLAGS ?= $(OPT) -g
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 $(WARN) -fPIC -fvisibility=hidden \
	-fstack-protector-strong -D_FORTIFY_SOURCE=2 -Icommon $(CFLAGS_PKG) $(CFLAGS_JSON) $(SANFLAGS) $(CFLAGS)
ALL_LDFLAGS := -Wl,-z,relro -Wl,-z,now $(SANFLAGS) $(LDFLAGS)

# ---- common/: two static PIC libraries split by dependency weight ----
# libmss-core: libc + tinycdb only, because libnss_mss links it into every process of the host.
CORE_SRCS := common/config.c common/options.c common/addr.c common/log.c common/error.c common/readfile.c common/snapshot_read.c
# libmss: everything else in common/ (libxml2, OpenSSL, libldap).
MSS_SRCS := $(filter-out $(CORE_SRCS),$(wildcard common/*.c))
CORE_OBJS := $(CORE_SRCS:%.c=$(BUILD)/obj/%.o)
MSS_OBJS := $(MSS_SRCS:%.c=$(BUILD)/obj/%.o)
LIB_CORE := $(BUILD)/libmss-core.a
LIB_MSS := $(BUILD)/libmss.a

# ---- programs and modules ----
MSSCTL_SRCS := $(wildcard tools/*.c)
MSSCTL := $(BUILD)/mssctl

# ---- tests ----
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_SECONDS ?= 8

PROGRAMS := $(MSSCTL)
# Each module's rules live beside it (nss/nss.mk, ...); they add their outputs to MODULES
# and their installs to INSTALL_TARGETS.
MODULES :=
INSTALL_TARGETS :=
include $(wildcard milter/*.mk nss/*.mk pam/*.mk dovecot-plugin/*.mk bench/*.mk tests/integration/*.mk debian/*.mk demo/*.mk)

.PHONY: all deps check check-asan unit integration fuzz fuzz-run bench install clean docs docs-check demo
.DEFAULT_GOAL := all

all: $(LIB_CORE) $(LIB_MSS) $(PROGRAMS) $(MODULES)

deps:
	@sh tests/install-deps.sh

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(LIB_CORE): $(CORE_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(LIB_MSS): $(MSS_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(MSSCTL): $(MSSCTL_SRCS:%.c=$(BUILD)/obj/%.o) $(LIB_MSS) $(LIB_CORE)
	$(CC) $(ALL_LDFLAGS) -o $@ $(filter %.o,$^) $(LIB_MSS) $(LIB_CORE) $(LIBS_FULL) $(LIBS_JSON) $(LIBS_CURL)

# Unit tests: one cmocka binary per tests/unit/test_*.c, linked with both libraries.
$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIB_MSS) $(LIB_CORE)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIB_MSS) $(LIB_CORE) $(LIBS_FULL) $(LIBS_JSON) $(LIBS_CMOCKA)

# Fuzz targets: clang + libFuzzer + ASan/UBSan, common/ compiled again with clang.
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -Icommon $(CFLAGS_PKG) $(CFLAGS_JSON) -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=all -Wall -Wextra -Werror
FUZZ_LIB_OBJS := $(CORE_SRCS:%.c=$(BUILD)/fuzzobj/%.o) $(MSS_SRCS:%.c=$(BUILD)/fuzzobj/%.o)
$(BUILD)/fuzzobj/%.o: %.c
	@mkdir -p $(@D)
	clang $(subst fuzzer$(comma),fuzzer-no-link$(comma),$(FUZZ_CFLAGS)) -MMD -MP -c -o $@ $<
comma := ,
$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB_OBJS)
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_LIB_OBJS) $(LIBS_FULL) $(LIBS_JSON)

fuzz: $(FUZZ_BINS)

# Each target runs briefly on its seed corpus (tests/fuzz/corpus/NAME), in a scratch copy.
fuzz-run: $(FUZZ_BINS)
	@for f in $(FUZZ_BINS); do sh tests/run-fuzz.sh $$f $(FUZZ_SECONDS) || exit 1; done

unit: $(UNIT_BINS)

# The one test command (README, .ci/run): installs what is missing, builds, runs every suite.
check: deps
	@$(MAKE) --no-print-directory all unit fuzz integration-progs
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/asan SAN=address,undefined OPT=-O1 unit
	@sh tests/run-tests.sh $(BUILD)

# Unit tests alone under AddressSanitizer and UBSan.
check-asan:
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/asan SAN=address,undefined OPT=-O1 unit
	@sh tests/run-tests.sh --unit-only $(BUILD)/asan

# `make bench BENCH=sync` runs one group.
BENCH ?= all
bench: deps
	@$(MAKE) --no-print-directory all
	@sh bench/run.sh $(BUILD) $(BENCH)

# The example configuration and the key list of mssante.conf(5) come from the option table.
docs: $(MSSCTL)
	$(MSSCTL) dump-options --conf > conf-examples/mssante.conf
	sh man/gen-mssante-conf.sh $(MSSCTL) > man/mssante.conf.5

install: all $(INSTALL_TARGETS)
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man8 \
		$(DESTDIR)$(SYSCONFDIR)/mssante $(DESTDIR)/var/lib/mssante $(DESTDIR)/var/log/mssante
	install -m 0755 $(MSSCTL) $(DESTDIR)$(PREFIX)/sbin/mssctl
	install -m 0644 man/mssante.conf.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 0644 man/mssctl.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 0644 conf-examples/mssante.conf $(DESTDIR)$(SYSCONFDIR)/mssante/mssante.conf

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' -type f 2>/dev/null)
