# libnss_mss.so.2 (included by the top-level Makefile).
# Links libmss-core only, and not even tinycdb's library: the snapshot reader reads the cdb
# format itself, so `ldd` shows libc alone. -z defs: a symbol missing from libmss-core
# (one that would pull a heavier library into every process) fails the link.

NSS_SRCS := $(wildcard nss/*.c)
NSS_OBJS := $(NSS_SRCS:%.c=$(BUILD)/obj/%.o)
NSS_SO := $(BUILD)/libnss_mss.so.2
NSS_LIBDIR ?= $(PREFIX)/lib/$(MULTIARCH)

MODULES += $(NSS_SO)
INSTALL_TARGETS += install-nss
INTEGRATION_PROGS += $(BUILD)/nss-probe $(BUILD)/nss-stress

$(NSS_SO): $(NSS_OBJS) $(LIB_CORE) nss/libnss_mss.map
	@mkdir -p $(@D)
	$(CC) -shared $(ALL_LDFLAGS) -Wl,-soname,libnss_mss.so.2 -Wl,--version-script=nss/libnss_mss.map \
		$(if $(SAN),,-Wl,-z,defs) -o $@ $(NSS_OBJS) $(LIB_CORE)

# Test and bench helpers: they dlopen the module (or libc for nss_files) like glibc does.
$(BUILD)/nss-probe: tests/integration/nss-probe.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< -ldl

$(BUILD)/nss-stress: tests/integration/nss-stress.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -pthread -o $@ $< -ldl

.PHONY: install-nss
install-nss: $(NSS_SO)
	install -d $(DESTDIR)$(NSS_LIBDIR) $(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)$(PREFIX)/share/doc/mssante
	install -m 0644 $(NSS_SO) $(DESTDIR)$(NSS_LIBDIR)/libnss_mss.so.2
	install -m 0644 man/libnss_mss.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 0644 conf-examples/nsswitch.conf $(DESTDIR)$(PREFIX)/share/doc/mssante/nsswitch.conf.example
