/* The only file that calls libmilter's smfi_* functions on behalf of the callbacks, so that
   the unit tests can run every callback against a fake context (they link their own versions
   of these functions instead of this file). */
#include <string.h>

#include "milter.h"

void *mm_getpriv(SMFICTX *ctx)
{
	return smfi_getpriv(ctx);
}

int mm_setpriv(SMFICTX *ctx, void *priv)
{
	return smfi_setpriv(ctx, priv) == MI_SUCCESS ? 0 : -1;
}

const char *mm_getsymval(SMFICTX *ctx, const char *name)
{
	const char *v = smfi_getsymval(ctx, (char *)name);

	return v != NULL && v[0] != '\0' ? v : NULL;
}

int mm_setreply(SMFICTX *ctx, const char *rcode, const char *xcode, const char *text)
{
	/* libmilter reads the text as a format: '%' must be doubled. Control characters would
	   break the SMTP reply line. */
	char safe[700];
	size_t n = 0;

	for (const char *c = text; *c != '\0' && n + 3 < sizeof(safe); c++) {
		if (*c == '%') {
			safe[n++] = '%';
			safe[n++] = '%';
		} else {
			safe[n++] = (unsigned char)*c < 0x20 || *c == 0x7f ? '?' : *c;
		}
	}
	safe[n] = '\0';
	return smfi_setreply(ctx, (char *)rcode, (char *)xcode, safe) == MI_SUCCESS ? 0 : -1;
}

int mm_setsymlist(SMFICTX *ctx, int stage, const char *macros)
{
	return smfi_setsymlist(ctx, stage, (char *)macros) == MI_SUCCESS ? 0 : -1;
}
