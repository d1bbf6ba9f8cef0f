# Helper programs of the integration tests (included by the top-level Makefile).
# tests/integration/test_*.sh build what they miss with `make BUILD=... TARGET`.

INTEGRATION_PROGS += $(BUILD)/ldapdir-dump

$(BUILD)/ldapdir-dump: tests/integration/ldapdir-dump.c $(LIB_MSS) $(LIB_CORE)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIB_MSS) $(LIB_CORE) $(LIBS_FULL)

.PHONY: integration-progs
integration-progs: $(INTEGRATION_PROGS)
