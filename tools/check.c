/* mssctl check: is this host wired for MSSanté? Reads mssante.conf, the snapshot, `postconf`,
   `doveconf`, nsswitch.conf and the PAM stack, and says line by line what is wired, what is
   missing and the exact line to add. Exit 1 on any finding. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <getopt.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cert.h"
#include "config.h"
#include "log.h"
#include "mssctl.h"
#include "snapshot.h"

struct check {
	const struct mss_config *cfg;
	const char *config_path;
	const char *postfix_dir;  /* NULL: postconf's default */
	const char *dovecot_conf; /* NULL: doveconf's default */
	const char *nsswitch;
	const char *pam_dir;
	unsigned findings;
};

static void ok(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void ok(const char *fmt, ...)
{
	va_list ap;

	fputs("ok       ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
}

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
	va_list ap;

	fputs("note     ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
}

/* A finding: what is wrong, and the line that fixes it (NULL when there is no single line). */
static void finding(struct check *c, const char *fix, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void finding(struct check *c, const char *fix, const char *fmt, ...)
{
	va_list ap;

	c->findings++;
	fputs("MISSING  ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	if (fix != NULL)
		printf("         add: %s\n", fix);
}

/* Runs ARGV (no shell) and returns its standard output, NULL when it cannot run or fails. */
static char *capture(char *const argv[])
{
	int pipefd[2], status;
	char *out = NULL;
	size_t len = 0;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return NULL;
	pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return NULL;
	}
	if (pid == 0) {
		dup2(pipefd[1], 1);
		if (freopen("/dev/null", "w", stderr) == NULL)
			_exit(127);
		execv(argv[0], argv);
		_exit(127);
	}
	close(pipefd[1]);
	for (;;) {
		char buf[4096];
		ssize_t n = read(pipefd[0], buf, sizeof(buf));
		char *p;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		p = realloc(out, len + (size_t)n + 1);
		if (p == NULL)
			break;
		out = p;
		memcpy(out + len, buf, (size_t)n);
		len += (size_t)n;
		out[len] = '\0';
	}
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		free(out);
		return NULL;
	}
	return out != NULL ? out : strdup("");
}

/* The value of `KEY = value` in postconf-style output (first match), copied to out. */
static bool conf_value(const char *text, const char *key, char *out, size_t outlen)
{
	size_t klen = strlen(key);

	for (const char *p = text; p != NULL && *p != '\0';) {
		const char *nl = strchr(p, '\n');
		size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);

		while (len > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			len--;
		}
		if (len > klen + 2 && strncmp(p, key, klen) == 0 && strncmp(p + klen, " =", 2) == 0) {
			const char *v = p + klen + 2;
			size_t vlen = len - klen - 2;

			while (vlen > 0 && *v == ' ') {
				v++;
				vlen--;
			}
			snprintf(out, outlen, "%.*s", (int)vlen, v);
			return true;
		}
		p = nl != NULL ? nl + 1 : NULL;
	}
	return false;
}

/* Does any line `*SUFFIX = value` (postconf -P: service/type/param) have VALUE containing NEEDLE?
   With service_r, the service name of the first such line is copied there. */
static bool master_has(const char *text, const char *suffix, const char *needle, char *service_r, size_t slen)
{
	size_t sl = strlen(suffix);

	for (const char *p = text; p != NULL && *p != '\0';) {
		const char *nl = strchr(p, '\n');
		size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
		const char *eq = memchr(p, '=', len);

		if (eq != NULL && eq - p > (ptrdiff_t)(sl + 1) && strncmp(eq - 1 - sl, suffix, sl) == 0) {
			char value[1024];

			snprintf(value, sizeof(value), "%.*s", (int)(len - (size_t)(eq + 1 - p)), eq + 1);
			if (needle == NULL || strstr(value, needle) != NULL) {
				if (service_r != NULL) {
					const char *slash = memchr(p, '/', len);

					snprintf(service_r, slen, "%.*s", slash != NULL ? (int)(slash - p) : 0, p);
				}
				return true;
			}
		}
		p = nl != NULL ? nl + 1 : NULL;
	}
	return false;
}

/* The milter socket as Postfix writes it: unix:PATH stays, inet:PORT@HOST becomes inet:HOST:PORT. */
static void postfix_socket(const char *sock, char *out, size_t outlen)
{
	const char *at;

	if (strncmp(sock, "inet:", 5) == 0 && (at = strchr(sock, '@')) != NULL)
		snprintf(out, outlen, "inet:%s:%.*s", at + 1, (int)(at - sock - 5), sock + 5);
	else
		snprintf(out, outlen, "%s", sock);
}

/* Every certificate of the CA file must be an IGC-Santé one: Postfix hands the milter a peer
   CN only for a chain that verified against this file, so any other CA there would let its
   certificates pass as operators. */
static void check_ca_file(struct check *c, const char *path)
{
	FILE *f = fopen(path, "re");
	STACK_OF(X509_INFO) *certs;
	int n = 0, foreign = 0;
	char cn[256], first_foreign[256] = "";

	if (f == NULL) {
		finding(c, NULL, "postfix: smtpd_tls_CAfile %s cannot be read: %s", path, strerror(errno));
		return;
	}
	certs = PEM_X509_INFO_read(f, NULL, NULL, NULL);
	fclose(f);
	for (int i = 0; certs != NULL && i < sk_X509_INFO_num(certs); i++) {
		X509 *x = sk_X509_INFO_value(certs, i)->x509;

		if (x == NULL)
			continue;
		n++;
		if (mss_x509_name_cn(X509_get_subject_name(x), cn, sizeof(cn)) < 0 ||
		    strstr(cn, "IGC-SANTE") == NULL) {
			if (foreign++ == 0)
				snprintf(first_foreign, sizeof(first_foreign), "%s", cn);
		}
	}
	sk_X509_INFO_pop_free(certs, X509_INFO_free);
	if (n == 0)
		finding(c, NULL, "postfix: smtpd_tls_CAfile %s holds no certificate", path);
	else if (foreign > 0)
		finding(c, NULL,
			"postfix: smtpd_tls_CAfile %s holds %d certificates not of IGC-Santé (first: '%s'): keep only "
			"the IGC-Santé roots and ORGANISATIONS CAs there",
			path, foreign, first_foreign);
	else
		ok("postfix: smtpd_tls_CAfile %s holds only IGC-Santé CAs (%d)", path, n);
}

static void check_postfix(struct check *c)
{
	char *argv_n[] = {"/usr/sbin/postconf", "-n", NULL, NULL, NULL};
	char *argv_p[] = {"/usr/sbin/postconf", "-P", NULL, NULL, NULL};
	char *main_cf, *master_cf, want[600], value[1024], fix[700], service[128];
	const char *sock = mss_config_str(c->cfg, MSS_OPT_MILTER_SOCKET);
	const char *policy = mss_config_str(c->cfg, MSS_OPT_TRUST_POSTFIX_TLS_POLICY);

	if (access(argv_n[0], X_OK) != 0) {
		note("postfix: not installed here (no %s), not checked", argv_n[0]);
		return;
	}
	if (c->postfix_dir != NULL) {
		argv_n[2] = argv_p[2] = "-c";
		argv_n[3] = argv_p[3] = (char *)c->postfix_dir;
	}
	main_cf = capture(argv_n);
	master_cf = capture(argv_p);
	if (main_cf == NULL || master_cf == NULL) {
		finding(c, NULL, "postfix: postconf cannot read the configuration%s%s",
			c->postfix_dir != NULL ? " in " : "", c->postfix_dir != NULL ? c->postfix_dir : "");
		goto out;
	}
	postfix_socket(sock != NULL ? sock : "", want, sizeof(want));
	if ((conf_value(main_cf, "smtpd_milters", value, sizeof(value)) && strstr(value, want) != NULL) ||
	    master_has(master_cf, "/smtpd_milters", want, NULL, 0)) {
		ok("postfix: the milter socket %s is declared in smtpd_milters", want);
	} else {
		snprintf(fix, sizeof(fix), "smtpd_milters = %s   (main.cf)", want);
		finding(c, fix, "postfix: smtpd_milters does not name the milter socket %s", want);
	}
	if ((conf_value(main_cf, "milter_default_action", value, sizeof(value)) && strcmp(value, "tempfail") != 0) ||
	    master_has(master_cf, "/milter_default_action", "accept", NULL, 0) ||
	    master_has(master_cf, "/milter_default_action", "reject", NULL, 0)) {
		finding(c, "milter_default_action = tempfail   (main.cf, and no -o override in master.cf)",
			"postfix: milter_default_action is not tempfail: a stopped milter would let mail through "
			"unchecked or bounce it");
	} else {
		ok("postfix: milter_default_action = tempfail");
	}
	if (conf_value(main_cf, "smtpd_tls_CAfile", value, sizeof(value)))
		check_ca_file(c, value);
	else
		finding(c, "smtpd_tls_CAfile = /etc/mssante/tls/igc-sante-org.pem   (main.cf)",
			"postfix: no smtpd_tls_CAfile: operator certificates cannot be verified");
	/* Inbound listeners: found by the daemon name the milter maps to "inbound". */
	{
		const char *list = mss_config_str(c->cfg, MSS_OPT_MILTER_INBOUND_DAEMONS);
		char name[128];
		bool found = false;

		for (const char *p = list; p != NULL && *p != '\0' && !found;) {
			const char *comma = strchr(p, ',');
			size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);

			while (len > 0 && *p == ' ') {
				p++;
				len--;
			}
			snprintf(name, sizeof(name), "%.*s", (int)len, p);
			found = master_has(master_cf, "/milter_macro_daemon_name", name, service, sizeof(service));
			p = comma != NULL ? comma + 1 : NULL;
		}
		if (!found) {
			snprintf(fix, sizeof(fix), "-o milter_macro_daemon_name=%s   (master.cf, the port 25 smtpd)",
				 list != NULL ? list : "mss-inbound");
			finding(c, fix, "postfix: no master.cf listener carries an inbound daemon name ([milter] "
					"inbound_daemons)");
		} else {
			char key[200];
			bool encrypt;

			snprintf(key, sizeof(key), "%s/inet/smtpd_tls_security_level", service);
			encrypt = master_has(master_cf, key, "encrypt", NULL, 0) ||
				  (!master_has(master_cf, key, NULL, NULL, 0) &&
				   conf_value(main_cf, "smtpd_tls_security_level", value, sizeof(value)) &&
				   strcmp(value, "encrypt") == 0);
			if (encrypt)
				ok("postfix: inbound listener %s (daemon name %s) requires TLS", service, name);
			else
				finding(c, "-o smtpd_tls_security_level=encrypt   (master.cf, the inbound listener)",
					"postfix: inbound listener %s does not require TLS", service);
		}
	}
	if (policy != NULL) {
		if (conf_value(main_cf, "smtp_tls_policy_maps", value, sizeof(value)) && strstr(value, policy) != NULL) {
			ok("postfix: smtp_tls_policy_maps uses the table mssctl sync writes (%s)", policy);
		} else {
			snprintf(fix, sizeof(fix), "smtp_tls_policy_maps = hash:%s   (main.cf)", policy);
			finding(c, fix, "postfix: outbound TLS to the trust space is not enforced");
		}
	}
out:
	free(main_cf);
	free(master_cf);
}

/* Is there a line whose first non-blank text is PREFIX and that contains NEEDLE? */
static bool any_line_has(const char *text, const char *prefix, const char *needle)
{
	size_t plen = strlen(prefix);

	for (const char *p = text; p != NULL && *p != '\0';) {
		const char *nl = strchr(p, '\n');
		size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
		char line[2048];

		while (len > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			len--;
		}
		snprintf(line, sizeof(line), "%.*s", (int)len, p);
		if (strncmp(line, prefix, plen) == 0 && strstr(line + plen, needle) != NULL)
			return true;
		p = nl != NULL ? nl + 1 : NULL;
	}
	return false;
}

static void check_pam_service(struct check *c, const char *service)
{
	char path[4096], line[1024];
	bool auth = false, account = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", c->pam_dir, service);
	f = fopen(path, "re");
	if (f == NULL) {
		finding(c, "auth required pam_mss.so", "pam: %s cannot be read: %s", path, strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *hash = strchr(line, '#');

		if (hash != NULL)
			*hash = '\0';
		if (strstr(line, "pam_mss.so") == NULL)
			continue;
		auth |= strncmp(line + strspn(line, " \t-"), "auth", 4) == 0;
		account |= strncmp(line + strspn(line, " \t-"), "account", 7) == 0;
	}
	fclose(f);
	if (auth)
		ok("pam: %s authenticates with pam_mss", path);
	else
		finding(c, "auth    required  pam_mss.so", "pam: %s does not use pam_mss for auth", path);
	if (account)
		ok("pam: %s checks accounts with pam_mss", path);
	else
		finding(c, "account required  pam_mss.so", "pam: %s does not use pam_mss for account", path);
}

static void check_dovecot(struct check *c)
{
	char *argv[] = {"/usr/bin/doveconf", "-n", NULL, NULL, NULL};
	char *text, value[1024], service[128] = "dovecot";
	bool pam = false;

	if (access(argv[0], X_OK) != 0) {
		note("dovecot: not installed here (no %s), not checked", argv[0]);
		return;
	}
	if (c->dovecot_conf != NULL) {
		argv[1] = "-c";
		argv[2] = (char *)c->dovecot_conf;
		argv[3] = "-n";
	}
	text = capture(argv);
	if (text == NULL) {
		finding(c, NULL, "dovecot: doveconf cannot read the configuration%s%s",
			c->dovecot_conf != NULL ? " " : "", c->dovecot_conf != NULL ? c->dovecot_conf : "");
		return;
	}
	if (any_line_has(text, "mail_plugins =", "mssante"))
		ok("dovecot: the mssante plugin is in mail_plugins");
	else
		finding(c, "mail_plugins = $mail_plugins mssante   (conf.d/10-mail.conf)",
			"dovecot: the mssante plugin is not loaded");
	/* passdb { driver = pam  args = SERVICE }: the PAM service then must use pam_mss. */
	for (const char *p = strstr(text, "passdb {"); p != NULL; p = strstr(p + 1, "passdb {")) {
		const char *end = strchr(p, '}');
		char block[2048];

		snprintf(block, sizeof(block), "%.*s", end != NULL ? (int)(end - p) : 0, p);
		if (conf_value(block, "driver", value, sizeof(value)) && strcmp(value, "pam") == 0) {
			pam = true;
			if (conf_value(block, "args", value, sizeof(value))) {
				/* the service is the last word of args (options such as session=yes come first) */
				const char *last = strrchr(value, ' ');

				snprintf(service, sizeof(service), "%.127s", last != NULL ? last + 1 : value);
			}
		}
	}
	if (pam) {
		ok("dovecot: passwords are checked through PAM service '%s'", service);
		check_pam_service(c, service);
	} else {
		finding(c, "passdb { driver = pam  args = dovecot }   (conf.d/auth-system.conf.ext)",
			"dovecot: no PAM passdb, pam_mss is not used for logins");
	}
	free(text);
}

static void check_nsswitch(struct check *c)
{
	FILE *f = fopen(c->nsswitch, "re");
	char line[1024];
	bool passwd = false, group = false;

	if (f == NULL) {
		finding(c, "passwd: files mss", "nss: %s cannot be read: %s", c->nsswitch, strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *hash = strchr(line, '#');

		if (hash != NULL)
			*hash = '\0';
		if (strncmp(line, "passwd:", 7) == 0)
			passwd = strstr(line, " mss") != NULL || strstr(line, "\tmss") != NULL;
		if (strncmp(line, "group:", 6) == 0)
			group = strstr(line, " mss") != NULL || strstr(line, "\tmss") != NULL;
	}
	fclose(f);
	if (passwd)
		ok("nss: %s: passwd uses mss", c->nsswitch);
	else
		finding(c, "passwd:         files mss   (after files: system accounts never reach the module)",
			"nss: %s: BALs are not users", c->nsswitch);
	if (group)
		ok("nss: %s: group uses mss", c->nsswitch);
	else
		finding(c, "group:          files mss", "nss: %s: organisational BALs are not groups", c->nsswitch);
}

/* "2025-03-13T14:54:10Z" -> Unix time; -1 when not that form. */
static time_t parse_date(const char *s, size_t len)
{
	struct tm tm = {0};
	char buf[32];
	const char *end;

	snprintf(buf, sizeof(buf), "%.*s", (int)(len < 31 ? len : 31), s);
	end = strptime(buf, "%Y-%m-%dT%H:%M:%S", &tm);
	if (end == NULL)
		return -1;
	return timegm(&tm);
}

static void check_snapshot(struct check *c)
{
	const char *path = mss_config_str(c->cfg, MSS_OPT_DIRECTORY_SNAPSHOT);
	unsigned flags = mss_config_bool(c->cfg, MSS_OPT_DIRECTORY_SNAPSHOT_OWNER_CHECK) ? 0 : MSS_SNAPSHOT_ANY_OWNER;
	long long max_age = mss_config_num(c->cfg, MSS_OPT_DIRECTORY_MAX_AGE);
	long long trust_max = mss_config_num(c->cfg, MSS_OPT_TRUST_MAX_AGE);
	struct mss_snapshot *snap;
	struct mss_slice v;
	char err[1024];
	time_t now = time(NULL), generated;
	long long age;

	if (mss_snapshot_open(path, flags, &snap, err, sizeof(err)) < 0) {
		finding(c, "mssctl sync   (and its timer: systemctl enable --now mssante-sync.timer)",
			"snapshot: %s", err);
		return;
	}
	age = mss_snapshot_age(snap, now);
	if (age > max_age)
		finding(c, "mssctl sync", "snapshot: %s is %lld s old, more than [directory] max_age (%lld s): "
					  "PAM and the milter answer temporary failures", path, age, max_age);
	else
		ok("snapshot: %s built %lld s ago (max_age %lld s)", path, age, max_age);
	if (mss_snapshot_meta(snap, "trust_generated", &v) == 1 && (generated = parse_date(v.p, v.len)) > 0) {
		if (now - generated > trust_max)
			finding(c, "mssctl sync   (after downloading the current trust list)",
				"trust list: generated %.*s, older than [trust] max_age (%lld s)", (int)v.len, v.p,
				trust_max);
		else
			ok("trust list: generated %.*s", (int)v.len, v.p);
	} else {
		finding(c, "mssctl sync", "trust list: the snapshot carries no generation date");
	}
	mss_snapshot_close(snap);
}

int mssctl_check(const char *conf, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"postfix", required_argument, NULL, 'p'}, {"dovecot", required_argument, NULL, 'd'},
		{"nsswitch", required_argument, NULL, 'n'}, {"pam-dir", required_argument, NULL, 'a'},
		{"config-only", no_argument, NULL, 'o'},   {NULL, 0, NULL, 0},
	};
	struct check c = {.nsswitch = "/etc/nsswitch.conf", .pam_dir = "/etc/pam.d"};
	struct mss_config *cfg;
	bool config_only = false;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'p': c.postfix_dir = optarg; break;
		case 'd': c.dovecot_conf = optarg; break;
		case 'n': c.nsswitch = optarg; break;
		case 'a': c.pam_dir = optarg; break;
		case 'o': config_only = true; break;
		default:
			fprintf(stderr, "usage: mssctl check [--config-only] [--postfix DIR] [--dovecot FILE] "
					"[--nsswitch FILE] [--pam-dir DIR]\n");
			return MSSCTL_ERROR;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "mssctl check: unexpected argument '%s'\n", argv[optind]);
		return MSSCTL_ERROR;
	}
	if (mssctl_load_config(conf, &cfg) < 0)
		return MSSCTL_ERROR;
	c.cfg = cfg;
	c.config_path = conf != NULL ? conf : mss_config_default_path();
	if (access(c.config_path, F_OK) == 0)
		ok("config: %s is valid", c.config_path);
	else
		note("config: %s absent, built-in defaults apply", c.config_path);
	if (!config_only) {
		check_snapshot(&c);
		check_postfix(&c);
		check_dovecot(&c);
		check_nsswitch(&c);
	}
	mss_config_free(cfg);
	if (c.findings > 0) {
		printf("%u finding%s\n", c.findings, c.findings > 1 ? "s" : "");
		return MSSCTL_NOT_FOUND;
	}
	printf("everything wired\n");
	return MSSCTL_OK;
}
