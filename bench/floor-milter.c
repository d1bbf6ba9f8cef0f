/* floor-milter: what any libmilter filter costs Postfix here, for `make bench`
 * (milter_floor_ratio), so that mss-milter's figures can be read against it.
 *
 *   floor-milter unix:PATH
 *
 * The same libmilter, and mss-milter's own negotiation (its xxfi_negotiate and xxfi_close: the
 * same protocol steps, no-reply flags and macro lists, so Postfix sends exactly the same
 * packets and waits for the same replies), but callbacks that accept without looking: no
 * policy, no audit record, no log line. The difference between the two is mss-milter's own
 * work; the rest is the protocol, libmilter's threads and Postfix's side of the conversation. */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "milter.h"

/* Whether MAIL FROM and headers were negotiated without reply; Postfix answers every
   connection's negotiation alike. */
static atomic_bool no_reply_mail, no_reply_header;

static sfsistat floor_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2, unsigned long f3,
				unsigned long *pf0, unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	sfsistat r = mm_filter.xxfi_negotiate(ctx, f0, f1, f2, f3, pf0, pf1, pf2, pf3);

	atomic_store(&no_reply_mail, (*pf1 & SMFIP_NR_MAIL) != 0);
	atomic_store(&no_reply_header, (*pf1 & SMFIP_NR_HDR) != 0);
	return r;
}

static sfsistat floor_envfrom(SMFICTX *ctx, char **argv)
{
	(void)ctx;
	(void)argv;
	return atomic_load(&no_reply_mail) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat floor_envrcpt(SMFICTX *ctx, char **argv)
{
	(void)ctx;
	(void)argv;
	return SMFIS_CONTINUE;
}

static sfsistat floor_header(SMFICTX *ctx, char *name, char *value)
{
	(void)ctx;
	(void)name;
	(void)value;
	return atomic_load(&no_reply_header) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat floor_accept(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

int main(int argc, char **argv)
{
	struct smfiDesc desc = mm_filter;

	if (argc != 2 || strncmp(argv[1], "unix:", 5) != 0) {
		fprintf(stderr, "usage: floor-milter unix:PATH\n");
		return 2;
	}
	desc.xxfi_name = (char *)"floor-milter";
	desc.xxfi_negotiate = floor_negotiate;
	desc.xxfi_envfrom = floor_envfrom;
	desc.xxfi_envrcpt = floor_envrcpt;
	desc.xxfi_header = floor_header;
	desc.xxfi_eom = floor_accept;
	desc.xxfi_abort = floor_accept;
	/* A bench tool in a private directory: Postfix's processes must reach the socket. */
	umask(0);
	(void)unlink(argv[1] + 5);
	if (smfi_setconn(argv[1]) != MI_SUCCESS || smfi_register(desc) != MI_SUCCESS) {
		fprintf(stderr, "floor-milter: cannot set up %s\n", argv[1]);
		return 1;
	}
	return smfi_main() == MI_SUCCESS ? 0 : 1;
}
