# pam_mss.so (included by the top-level Makefile).
# Linked with libmss (OpenSSL, libldap) and libpam; -z defs makes a missing symbol a link
# error rather than a failure inside sshd; the version script exports pam_sm_* only.

PAM_SRCS := $(wildcard pam/*.c)
PAM_OBJS := $(PAM_SRCS:%.c=$(BUILD)/obj/%.o)
PAM_SO := $(BUILD)/pam_mss.so
PAM_LIBDIR ?= $(PREFIX)/lib/$(MULTIARCH)/security
# pkcs11.h from p11-kit (the PKCS#11 module itself is dlopen'ed in a child at login time).
PAM_CFLAGS := $(shell $(PKG_CONFIG) --cflags p11-kit-1 2>/dev/null || echo -I/usr/include/p11-kit-1)

MODULES += $(PAM_SO)
INSTALL_TARGETS += install-pam
INTEGRATION_PROGS += $(BUILD)/psc-sign $(BUILD)/pkcs11-hang.so $(BUILD)/pam-bench

$(PAM_OBJS): ALL_CFLAGS += $(PAM_CFLAGS)

$(PAM_SO): $(PAM_OBJS) $(LIB_MSS) $(LIB_CORE) pam/pam_mss.map
	@mkdir -p $(@D)
	$(CC) -shared $(ALL_LDFLAGS) -Wl,--version-script=pam/pam_mss.map $(if $(SAN),,-Wl,-z,defs) \
		-o $@ $(PAM_OBJS) $(LIB_MSS) $(LIB_CORE) $(LIBS_FULL) -lpam -ldl

# Test helper: signs PSC-like tokens and writes JWKS files with keys made by the test.
$(BUILD)/psc-sign: tests/integration/psc-sign.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIBS_FULL)

# Test helper: a PKCS#11 module whose C_Initialize never returns (the timeout test).
$(BUILD)/pkcs11-hang.so: tests/integration/pkcs11-hang.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(PAM_CFLAGS) -shared $(ALL_LDFLAGS) -o $@ $<

# Bench helper: token validations, PAM password logins and raw LDAP binds in loops.
$(BUILD)/pam-bench: bench/pam-bench.c $(LIB_MSS) $(LIB_CORE)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIB_MSS) $(LIB_CORE) $(LIBS_FULL) -lpam

.PHONY: install-pam
install-pam: $(PAM_SO)
	install -d $(DESTDIR)$(PAM_LIBDIR) $(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)$(PREFIX)/share/doc/mssante/pam.d
	install -m 0644 $(PAM_SO) $(DESTDIR)$(PAM_LIBDIR)/pam_mss.so
	install -m 0644 man/pam_mss.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 0644 conf-examples/pam.d/dovecot conf-examples/pam.d/sshd $(DESTDIR)$(PREFIX)/share/doc/mssante/pam.d/
