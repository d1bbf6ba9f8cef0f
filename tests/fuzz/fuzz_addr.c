/* libFuzzer target for common/addr.c. Beyond "no crash": the key of a valid address is
   itself a valid address with the same key (normalisation is idempotent), and the domain
   helpers agree with mss_domain_normalize. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	char key[MSS_ADDR_MAX + 1], again[MSS_ADDR_MAX + 1];
	char domain[MSS_ADDR_DOMAIN_MAX + 1], domain2[MSS_ADDR_DOMAIN_MAX + 1];
	const char *error = NULL;
	struct mss_addr addr;

	if (mss_addr_parse(s, size, &addr, &error) == 0) {
		size_t len = mss_addr_key(&addr, key, sizeof(key));

		if (len == 0 || len > MSS_ADDR_MAX || len != strlen(key) ||
		    strlen(addr.local) > MSS_ADDR_LOCAL_MAX)
			abort();
		if (mss_addr_normalize(key, len, again, sizeof(again), &error) != 0 ||
		    strcmp(key, again) != 0)
			abort();
		if (!mss_domain_equal(addr.domain, strrchr(key, '@') + 1))
			abort();
	} else if (error == NULL) {
		abort();
	}

	if (mss_domain_normalize(s, size, domain, sizeof(domain), &error) == 0) {
		if (mss_domain_normalize(domain, strlen(domain), domain2, sizeof(domain2), &error) != 0 ||
		    strcmp(domain, domain2) != 0 || !mss_domain_within(domain, domain))
			abort();
	}

	/* split the input in two C strings for the comparison helpers */
	if (size > 1) {
		char *copy = malloc(size + 1);
		size_t half = size / 2;

		if (copy == NULL)
			return 0;
		memcpy(copy, data, size);
		copy[size] = '\0';
		copy[half] = '\0';
		if (mss_domain_equal(copy, copy + half + 1) && !mss_domain_within(copy, copy + half + 1) &&
		    copy[0] != '\0' && strcmp(copy, ".") != 0)
			abort();
		free(copy);
	}
	return 0;
}
