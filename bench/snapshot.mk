# Micro-benchmark of the snapshot reader (included by the top-level Makefile).
#   $(BUILD)/snapshot-lookup SNAPSHOT ADDRESSES   -> bench: snapshot_lookup_ns = VALUE ns
# Links libmss-core only, like the NSS module.
$(BUILD)/snapshot-lookup: bench/snapshot-lookup.c $(LIB_CORE)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIB_CORE) $(LIBS_CORE)
