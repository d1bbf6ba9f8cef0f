# Helper of tests/integration/test_audit_cli.sh (included by the top-level Makefile):
# audit-append writes records with the real audit writer.

INTEGRATION_PROGS += $(BUILD)/audit-append

$(BUILD)/audit-append: tests/integration/audit-append.c $(LIB_MSS) $(LIB_CORE)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIB_MSS) $(LIB_CORE) $(LIBS_FULL)
