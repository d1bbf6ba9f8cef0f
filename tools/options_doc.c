/* mssctl dump-options: the option table as a commented mssante.conf (conf-examples/) or as
   roff for mssante.conf(5). Both files are generated, so docs and code cannot drift; a test
   compares the committed files with this output. */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "mssctl.h"

static const char *type_word(enum mss_option_type t)
{
	switch (t) {
	case MSS_OPT_STRING: return "string";
	case MSS_OPT_PATH: return "absolute path";
	case MSS_OPT_INT: return "integer";
	case MSS_OPT_BOOL: return "yes|no";
	case MSS_OPT_ENUM: return "one of";
	case MSS_OPT_LIST: return "comma-separated list";
	case MSS_OPT_DURATION: return "duration (s, m, h, d)";
	}
	return "?";
}

static void components(unsigned c, char *out, size_t outlen)
{
	static const char *const names[] = {"mssctl sync", "mss-milter", "pam_mss", "libnss_mss", "dovecot plugin"};

	out[0] = '\0';
	for (int i = 0; i < 5; i++) {
		if (c & (1u << i))
			snprintf(out + strlen(out), outlen - strlen(out), "%s%s", out[0] != '\0' ? ", " : "", names[i]);
	}
}

/* Wraps help text at ~88 columns behind "# ". */
static void comment(const char *text)
{
	size_t col = 0;
	const char *p = text;

	fputs("#", stdout);
	while (*p != '\0') {
		const char *sp = strchr(p, ' ');
		size_t wlen = sp != NULL ? (size_t)(sp - p) : strlen(p);

		if (col + wlen > 86) {
			fputs("\n#", stdout);
			col = 0;
		}
		printf(" %.*s", (int)wlen, p);
		col += wlen + 1;
		p += wlen;
		while (*p == ' ')
			p++;
	}
	fputc('\n', stdout);
}

static void type_line(const struct mss_option *o, char *buf, size_t len)
{
	if (o->type == MSS_OPT_ENUM)
		snprintf(buf, len, "one of %s", o->values);
	else if ((o->type == MSS_OPT_INT || o->type == MSS_OPT_DURATION) && o->values != NULL)
		snprintf(buf, len, "%s, %s%s", type_word(o->type), o->values,
			 o->type == MSS_OPT_DURATION ? " seconds" : "");
	else
		snprintf(buf, len, "%s", type_word(o->type));
}

static void dump_conf(void)
{
	const char *section = "";
	char comp[128], type[128];

	printf("# mssante.conf — configuration of mssante-modules (mssctl, mss-milter, pam_mss,\n"
	       "# libnss_mss, the Dovecot plugin). Generated from the option table by\n"
	       "# `mssctl dump-options --conf`; see mssante.conf(5).\n"
	       "# Every key is shown with its default, commented out. Unknown keys are errors.\n");
	for (int i = 0; i < MSS_OPT_COUNT; i++) {
		const struct mss_option *o = &mss_options[i];

		if (strcmp(section, o->section) != 0) {
			section = o->section;
			printf("\n[%s]\n", section);
		}
		components(o->components, comp, sizeof(comp));
		type_line(o, type, sizeof(type));
		printf("\n");
		comment(o->help);
		printf("# (%s; read by %s)\n", type, comp);
		if (o->def != NULL)
			printf("#%s = %s\n", o->key, o->def);
		else
			printf("#%s =\n", o->key);
	}
}

static void roff_text(const char *s)
{
	/* roff: a leading '.' or '\'' would be a request, and backslashes escape. */
	for (const char *p = s; *p != '\0'; p++) {
		if (*p == '\\')
			fputs("\\e", stdout);
		else if (*p == '-')
			fputs("\\-", stdout);
		else
			fputc(*p, stdout);
	}
}

static void dump_man(void)
{
	const char *section = "";
	char comp[128], type[128];

	for (int i = 0; i < MSS_OPT_COUNT; i++) {
		const struct mss_option *o = &mss_options[i];

		if (strcmp(section, o->section) != 0) {
			section = o->section;
			printf(".SS [%s]\n", section);
		}
		components(o->components, comp, sizeof(comp));
		type_line(o, type, sizeof(type));
		printf(".TP\n.B %s\n", o->key);
		roff_text(o->help);
		printf("\n.br\nType: ");
		roff_text(type);
		printf(". Default: ");
		if (o->def != NULL) {
			printf("\\fB");
			roff_text(o->def);
			printf("\\fR");
		} else {
			printf("unset");
		}
		printf(". Read by ");
		roff_text(comp);
		printf(".\n");
	}
}

int mssctl_dump_options(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--conf") == 0) {
		dump_conf();
		return MSSCTL_OK;
	}
	if (argc == 2 && strcmp(argv[1], "--man") == 0) {
		dump_man();
		return MSSCTL_OK;
	}
	fprintf(stderr, "usage: mssctl dump-options (--conf | --man)\n");
	return MSSCTL_ERROR;
}
