/* libFuzzer target for common/trustlist.c: any input either fails with a message or
   yields a list whose invariants hold. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "trustlist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mss_trust_list *list = NULL;
	char err[256];

	if (mss_trust_list_read_memory((const char *)data, size, "fuzz", &list, err, sizeof(err)) < 0) {
		if (list != NULL || strncmp(err, "fuzz:", 5) != 0)
			__builtin_trap();
		return 0;
	}
	if (list == NULL || list->n_entries == 0 || list->n_domains == 0 || list->n_domains > list->n_entries ||
	    list->n_operators == 0 || list->n_operators > list->n_entries ||
	    list->n_warnings >= MSS_TRUST_LIST_MAX_WARNINGS || list->warnings[list->n_warnings] != NULL ||
	    list->generated == NULL)
		__builtin_trap();
	for (size_t i = 0; i < list->n_entries; i++) {
		const struct mss_trust_entry *e = &list->entries[i];

		if (e->domain[0] == '\0' || e->cn[0] == '\0' || e->dn[0] == '\0' || e->ou == NULL || e->o == NULL ||
		    e->description == NULL || e->date_maj == NULL || e->dn_raw == NULL)
			__builtin_trap();
		for (const char *c = e->domain; *c != '\0'; c++)
			if (*c >= 'A' && *c <= 'Z')
				__builtin_trap();
	}
	mss_trust_list_free(list);
	return 0;
}
