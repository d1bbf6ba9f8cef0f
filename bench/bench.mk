# Benchmark helpers; included by the top-level Makefile.

# Synthetic ANS extraction: `$(BUILD)/gen-extraction N FILE` (standalone, no project library).
$(BUILD)/gen-extraction: bench/gen-extraction.c
	@mkdir -p $(@D)
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) -O2 -g $(SANFLAGS) -o $@ $<
