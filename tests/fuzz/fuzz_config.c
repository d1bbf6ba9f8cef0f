/* libFuzzer target for common/config.c. Beyond "no crash": a file either loads or gives an
   error of the form "NAME:LINE: ..." (or names the file), and a loaded configuration, written
   back key by key, loads again with the same values (the parser accepts what it produced). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int load_from(const void *text, size_t len, struct mss_config **cfg_r, char *err, size_t errlen)
{
	int fd = memfd_create("fuzz.conf", MFD_CLOEXEC), ret;

	if (fd < 0 || write(fd, text, len) != (ssize_t)len || lseek(fd, 0, SEEK_SET) != 0)
		abort();
	ret = mss_config_load_fd(fd, "fuzz.conf", cfg_r, err, errlen);
	close(fd);
	return ret;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mss_config *cfg, *again;
	char err[1024], *text = NULL;
	size_t len = 0;
	FILE *f;

	if (load_from(data, size, &cfg, err, sizeof(err)) < 0) {
		if (strncmp(err, "fuzz.conf", 9) != 0)
			abort();
		return 0;
	}
	/* Write back every value that was set from the file, section by section. */
	f = open_memstream(&text, &len);
	if (f == NULL)
		abort();
	for (int i = 0; i < MSS_OPT_COUNT; i++) {
		const struct mss_config_value *v = &cfg->values[i];

		if (v->line == 0)
			continue;
		fprintf(f, "[%s]\n%s = %s\n", mss_options[i].section, mss_options[i].key, v->str != NULL ? v->str : "");
	}
	fclose(f);
	if (load_from(text, len, &again, err, sizeof(err)) < 0)
		abort();
	for (int i = 0; i < MSS_OPT_COUNT; i++) {
		const char *a = cfg->values[i].str, *b = again->values[i].str;

		if ((a == NULL) != (b == NULL) || (a != NULL && strcmp(a, b) != 0) ||
		    cfg->values[i].num != again->values[i].num)
			abort();
	}
	mss_config_free(again);
	mss_config_free(cfg);
	free(text);
	return 0;
}
