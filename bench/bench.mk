# Benchmark helpers; included by the top-level Makefile.

# Synthetic ANS extraction: `$(BUILD)/gen-extraction N FILE` (standalone, no project library).
$(BUILD)/gen-extraction: bench/gen-extraction.c
	@mkdir -p $(@D)
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) -O2 -g $(SANFLAGS) -o $@ $<

# `make bench BENCH=milter`: libmilter with mss-milter's own negotiation and callbacks that only
# accept (bench/floor-milter.c), the reference for milter_floor_ratio.
$(BUILD)/obj/bench/floor-milter.o: ALL_CFLAGS += -Imilter
$(BUILD)/floor-milter: $(BUILD)/obj/bench/floor-milter.o $(BUILD)/obj/milter/smfi.o $(MILTER_LIB) $(LIB_MSS) $(LIB_CORE)
	$(CC) $(ALL_LDFLAGS) -o $@ $(filter %.o,$^) $(MILTER_LIB) $(LIB_MSS) $(LIB_CORE) $(LIBS_FULL) $(LIBS_JSON) \
		$(LIBS_MILTER)
