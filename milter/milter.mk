# mss-milter (included by the top-level Makefile).
# Everything but main.c and smfi.c goes into libmss-milter.a, so that the unit tests
# (tests/unit/test_milter_*.c) link the real callbacks with their own fake smfi_* layer.

MILTER_LIB_SRCS := milter/callbacks.c milter/state.c milter/verdict.c
MILTER_LIB_OBJS := $(MILTER_LIB_SRCS:%.c=$(BUILD)/obj/%.o)
MILTER_LIB := $(BUILD)/libmss-milter.a
MILTER_BIN := $(BUILD)/mss-milter
LIBS_MILTER := -lmilter -pthread

MODULES += $(MILTER_BIN)
INSTALL_TARGETS += install-milter

$(MILTER_LIB): $(MILTER_LIB_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(MILTER_BIN): $(BUILD)/obj/milter/main.o $(BUILD)/obj/milter/smfi.o $(MILTER_LIB) $(LIB_MSS) $(LIB_CORE)
	$(CC) $(ALL_LDFLAGS) -o $@ $(filter %.o,$^) $(MILTER_LIB) $(LIB_MSS) $(LIB_CORE) $(LIBS_FULL) $(LIBS_JSON) \
		$(LIBS_MILTER)

# The milter's unit tests: a more specific pattern than the generic $(BUILD)/tests/% rule
# (GNU make picks the shortest stem), adding the milter library. calloc and realloc are
# wrapped so that each test can make allocations fail (it defines __wrap_calloc/realloc).
$(BUILD)/obj/tests/unit/test_milter_%.o: ALL_CFLAGS += -Imilter
$(BUILD)/tests/test_milter_%: $(BUILD)/obj/tests/unit/test_milter_%.o $(MILTER_LIB) $(LIB_MSS) $(LIB_CORE)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(MILTER_LIB) $(LIB_MSS) $(LIB_CORE) $(LIBS_FULL) $(LIBS_JSON) $(LIBS_CMOCKA) \
		-pthread -Wl,--wrap=calloc -Wl,--wrap=realloc

.PHONY: install-milter
install-milter: $(MILTER_BIN)
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/share/man/man8 \
		$(DESTDIR)$(PREFIX)/share/doc/mssante/postfix
	install -m 0755 $(MILTER_BIN) $(DESTDIR)$(PREFIX)/sbin/mss-milter
	install -m 0644 man/mss-milter.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 0644 conf-examples/postfix/* $(DESTDIR)$(PREFIX)/share/doc/mssante/postfix/
