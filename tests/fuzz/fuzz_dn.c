/* libFuzzer target for common/dn.c. Beyond "no crash": a DN that parses has a normal form
   that parses again to the same normal form, and every value is clean UTF-8 text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char norm[MSS_DN_MAX * 4], again[MSS_DN_MAX * 4];
	const char *error = NULL;
	struct mss_dn dn;
	char idnat[32];
	int len;

	if (mss_dn_parse((const char *)data, size, &dn, &error) < 0) {
		if (error == NULL || dn.buf != NULL)
			abort();
		return 0;
	}
	if (dn.n_rdns == 0 || dn.n_rdns > MSS_DN_MAX_RDNS || dn.n_avas > MSS_DN_MAX_AVAS)
		abort();
	for (size_t i = 0; i < dn.n_avas; i++) {
		for (const unsigned char *c = (const unsigned char *)dn.avas[i].value; *c; c++) {
			if (*c < 0x20 || *c == 0x7f)
				abort();
		}
	}
	(void)mss_dn_get(&dn, "CN");
	(void)mss_dn_get(&dn, "st");
	if (mss_dn_cps_idnat(&dn, idnat, sizeof(idnat), &error) == 0 && !mss_idnat_valid(idnat, false))
		abort();
	len = mss_dn_normalize(&dn, norm, sizeof(norm));
	mss_dn_free(&dn);
	if (len < 0)
		abort();
	/* the normal form may exceed MSS_DN_MAX after escaping; then it need not re-parse */
	if ((size_t)len <= MSS_DN_MAX) {
		if (mss_dn_normalize_str(norm, (size_t)len, again, sizeof(again), &error) != len ||
		    strcmp(norm, again) != 0)
			abort();
	}
	return 0;
}
