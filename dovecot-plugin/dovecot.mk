# lib90_mssante_plugin.so for Dovecot 2.3 (included by the top-level Makefile).
# Debian's dovecot-dev ships no .pc file: its flags are in /usr/lib/dovecot/dovecot-config
# (LIBDOVECOT_INCLUDE, dovecot_moduledir), and every Dovecot source is compiled with the
# generated config.h included first. Only mssante-plugin.c sees Dovecot's headers (gnu11:
# they use typeof); the rest of the plugin is plain C11 and unit-tested without Dovecot.
# Dovecot's own symbols (and the notify plugin's) are resolved when Dovecot loads the module,
# so no -z defs here.

DOVECOT_CONFIG ?= /usr/lib/dovecot/dovecot-config
DOVECOT_INCDIR ?= $(or $(shell sed -n 's/^dovecot_pkgincludedir=//p' $(DOVECOT_CONFIG) 2>/dev/null),/usr/include/dovecot)
DOVECOT_MODULEDIR ?= $(or $(shell sed -n 's/^dovecot_moduledir=//p' $(DOVECOT_CONFIG) 2>/dev/null),/usr/lib/dovecot/modules)
DOVECOT_CFLAGS := -std=gnu11 -I$(DOVECOT_INCDIR) -include $(DOVECOT_INCDIR)/config.h

# Version-independent part (settings, actor, rights, records) and the 2.3 glue.
DC_CORE_SRCS := dovecot-plugin/dc-settings.c dovecot-plugin/dc-session.c
DC_CORE_OBJS := $(DC_CORE_SRCS:%.c=$(BUILD)/obj/%.o)
DC_GLUE_OBJ := $(BUILD)/obj/dovecot-plugin/mssante-plugin.o
DOVECOT_PLUGIN := $(BUILD)/lib90_mssante_plugin.so
# The IMAP companion: the refusal's reason in the client's BYE (imap-mssante-plugin.c).
DC_IMAP_GLUE_OBJ := $(BUILD)/obj/dovecot-plugin/imap-mssante-plugin.o
DOVECOT_IMAP_PLUGIN := $(BUILD)/lib95_imap_mssante_plugin.so

MODULES += $(DOVECOT_PLUGIN) $(DOVECOT_IMAP_PLUGIN)
INSTALL_TARGETS += install-dovecot

# -Icommon (in ALL_CFLAGS) comes before Dovecot's directory: "config.h" is ours, Dovecot's is
# the one force-included by path.
$(DC_GLUE_OBJ) $(DC_IMAP_GLUE_OBJ): $(BUILD)/obj/dovecot-plugin/%.o: dovecot-plugin/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(DOVECOT_CFLAGS) -MMD -MP -c -o $@ $<

$(DOVECOT_PLUGIN): $(DC_GLUE_OBJ) $(DC_CORE_OBJS) $(LIB_MSS) $(LIB_CORE) dovecot-plugin/mssante-plugin.map
	@mkdir -p $(@D)
	$(CC) -shared $(ALL_LDFLAGS) -Wl,--version-script=dovecot-plugin/mssante-plugin.map -Wl,--as-needed \
		-o $@ $(DC_GLUE_OBJ) $(DC_CORE_OBJS) $(LIB_MSS) $(LIB_CORE) $(LIBS_FULL) $(LIBS_JSON)

# Nothing of ours inside: it calls lib90_mssante_plugin.so and the imap binary, both already
# loaded when Dovecot loads it.
$(DOVECOT_IMAP_PLUGIN): $(DC_IMAP_GLUE_OBJ) dovecot-plugin/imap-mssante-plugin.map
	@mkdir -p $(@D)
	$(CC) -shared $(ALL_LDFLAGS) -Wl,--version-script=dovecot-plugin/imap-mssante-plugin.map -o $@ $(DC_IMAP_GLUE_OBJ)

# Unit tests of the version-independent part link its objects too (a more specific pattern
# than the generic test rule, so make prefers it).
$(BUILD)/tests/test_dovecot_%: $(BUILD)/obj/tests/unit/test_dovecot_%.o $(DC_CORE_OBJS) $(LIB_MSS) $(LIB_CORE)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(DC_CORE_OBJS) $(LIB_MSS) $(LIB_CORE) $(LIBS_FULL) $(LIBS_JSON) $(LIBS_CMOCKA)

.PHONY: install-dovecot
install-dovecot: $(DOVECOT_PLUGIN) $(DOVECOT_IMAP_PLUGIN)
	install -d $(DESTDIR)$(DOVECOT_MODULEDIR) $(DESTDIR)$(PREFIX)/share/man/man7 \
		$(DESTDIR)$(PREFIX)/share/doc/mssante/dovecot
	install -m 0644 $(DOVECOT_PLUGIN) $(DESTDIR)$(DOVECOT_MODULEDIR)/lib90_mssante_plugin.so
	install -m 0644 $(DOVECOT_IMAP_PLUGIN) $(DESTDIR)$(DOVECOT_MODULEDIR)/lib95_imap_mssante_plugin.so
	install -m 0644 man/mssante-dovecot-plugin.7 $(DESTDIR)$(PREFIX)/share/man/man7/
	install -m 0644 conf-examples/dovecot/* $(DESTDIR)$(PREFIX)/share/doc/mssante/dovecot/
