/* Calls an NSS module's entry points directly, the way glibc does (dlopen + dlsym of
 * _nss_PREFIX_FUNCTION), for the libnss_mss tests and bench. Standalone: no project library.
 *
 *   nss-probe [-b BUFLEN] [-t] SO PREFIX FUNC [ARG]
 *       FUNC getpwnam NAME | getpwuid UID | getgrnam NAME | getgrgid GID | initgroups USER
 *            | getpwent | getgrent
 *       Prints "status=S errno=E" and, on success, the entry as a passwd/group line (for
 *       initgroups: "groups=G,G,..."; enumerations print every entry, retrying an entry with
 *       a doubled buffer on ERANGE and counting the retries). -b: buffer size (default 4096),
 *       -t: also " elapsed_us=N" on the status line, the time of the call.
 *   nss-probe buffers SO PREFIX (getpwnam|getgrnam) NAME
 *       Calls with every buffer size from 0 up: each size below the first that succeeds must
 *       answer TRYAGAIN/ERANGE, and no call may write past its buffer (guard bytes are
 *       checked). Prints "min_buflen=N". Exit 1 on a violation.
 *   nss-probe script SO PREFIX STEP...
 *       Runs the steps in one process (so that the module's cached state carries over):
 *       getpwnam:NAME, getgrnam:NAME (prints "STEP status=S errno=E elapsed_us=N" and the
 *       entry), run:COMMAND (system(3); exit 1 if it fails), sleep:MILLISECONDS.
 *   nss-probe bench SO PREFIX NAMES_FILE ROUNDS
 *       getpwnam of every name of NAMES_FILE (one per line) ROUNDS times; prints the median
 *       over rounds of the mean time per call: "median_ns=N". Exit 1 if a lookup fails.
 * SO "libc.so.6" with PREFIX "files" reaches glibc's built-in nss_files.
 * Exit 0, 1 (a check failed), 2 (usage). */
#include <dlfcn.h>
#include <errno.h>
#include <grp.h>
#include <nss.h>
#include <stdbool.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef enum nss_status (*pwnam_fn)(const char *, struct passwd *, char *, size_t, int *);
typedef enum nss_status (*pwuid_fn)(uid_t, struct passwd *, char *, size_t, int *);
typedef enum nss_status (*grnam_fn)(const char *, struct group *, char *, size_t, int *);
typedef enum nss_status (*grgid_fn)(gid_t, struct group *, char *, size_t, int *);
typedef enum nss_status (*pwent_fn)(struct passwd *, char *, size_t, int *);
typedef enum nss_status (*grent_fn)(struct group *, char *, size_t, int *);
typedef enum nss_status (*setent_fn)(int);
typedef enum nss_status (*endent_fn)(void);
typedef enum nss_status (*initgroups_fn)(const char *, gid_t, long int *, long int *, gid_t **, long int, int *);

static void *module;
static const char *prefix;

static void *sym(const char *func)
{
	char name[128];
	void *f;

	snprintf(name, sizeof(name), "_nss_%s_%s", prefix, func);
	f = dlsym(module, name);
	if (f == NULL) {
		fprintf(stderr, "nss-probe: %s: %s\n", name, dlerror());
		exit(2);
	}
	return f;
}

static const char *status_name(enum nss_status s)
{
	switch (s) {
	case NSS_STATUS_SUCCESS: return "SUCCESS";
	case NSS_STATUS_NOTFOUND: return "NOTFOUND";
	case NSS_STATUS_UNAVAIL: return "UNAVAIL";
	case NSS_STATUS_TRYAGAIN: return "TRYAGAIN";
	case NSS_STATUS_RETURN: return "RETURN";
	default: return "?";
	}
}

static const char *errno_name(int e)
{
	switch (e) {
	case 0: return "0";
	case ENOENT: return "ENOENT";
	case ERANGE: return "ERANGE";
	case EPROTO: return "EPROTO";
	case EINVAL: return "EINVAL";
	case EPERM: return "EPERM";
	case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES";
	default: return "other";
	}
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void print_pw(const struct passwd *pw)
{
	printf("%s:%s:%lu:%lu:%s:%s:%s\n", pw->pw_name, pw->pw_passwd, (unsigned long)pw->pw_uid,
	       (unsigned long)pw->pw_gid, pw->pw_gecos, pw->pw_dir, pw->pw_shell);
}

static void print_gr(const struct group *gr)
{
	printf("%s:%s:%lu:", gr->gr_name, gr->gr_passwd, (unsigned long)gr->gr_gid);
	for (char **m = gr->gr_mem; *m != NULL; m++)
		printf("%s%s", m == gr->gr_mem ? "" : ",", *m);
	printf("\n");
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* ---- enumeration: an entry that needs a bigger buffer is asked again with one ---- */
static int enumerate(const char *what, size_t buflen)
{
	bool pw = strcmp(what, "getpwent") == 0;
	setent_fn set = (setent_fn)sym(pw ? "setpwent" : "setgrent");
	endent_fn end = (endent_fn)sym(pw ? "endpwent" : "endgrent");
	void *get = sym(pw ? "getpwent_r" : "getgrent_r");
	enum nss_status s = set(0);
	unsigned long retries = 0, entries = 0;
	char *buf = malloc(buflen);
	int err = 0;

	if (s != NSS_STATUS_SUCCESS) {
		printf("status=%s (setent)\n", status_name(s));
		free(buf);
		return 0;
	}
	for (;;) {
		struct passwd p;
		struct group g;

		err = 0;
		s = pw ? ((pwent_fn)get)(&p, buf, buflen, &err) : ((grent_fn)get)(&g, buf, buflen, &err);
		if (s == NSS_STATUS_TRYAGAIN && err == ERANGE) {
			retries++;
			buflen *= 2;
			free(buf);
			buf = malloc(buflen);
			continue;
		}
		if (s != NSS_STATUS_SUCCESS)
			break;
		entries++;
		if (pw)
			print_pw(&p);
		else
			print_gr(&g);
	}
	end();
	printf("status=%s errno=%s entries=%lu erange_retries=%lu\n", status_name(s), errno_name(err), entries,
	       retries);
	free(buf);
	return 0;
}

static int call(const char *func, const char *arg, size_t buflen, bool timed)
{
	char *buf = malloc(buflen > 0 ? buflen : 1);
	enum nss_status s;
	struct passwd pw;
	struct group gr;
	int err = 0;
	double t0 = now_ns();
	long int start = 1, size = 1;
	gid_t *groups = malloc(sizeof(gid_t));

	groups[0] = 4242; /* a primary group, as initgroups passes it */
	if (strcmp(func, "getpwnam") == 0)
		s = ((pwnam_fn)sym("getpwnam_r"))(arg, &pw, buf, buflen, &err);
	else if (strcmp(func, "getpwuid") == 0)
		s = ((pwuid_fn)sym("getpwuid_r"))((uid_t)strtoul(arg, NULL, 10), &pw, buf, buflen, &err);
	else if (strcmp(func, "getgrnam") == 0)
		s = ((grnam_fn)sym("getgrnam_r"))(arg, &gr, buf, buflen, &err);
	else if (strcmp(func, "getgrgid") == 0)
		s = ((grgid_fn)sym("getgrgid_r"))((gid_t)strtoul(arg, NULL, 10), &gr, buf, buflen, &err);
	else if (strcmp(func, "initgroups") == 0)
		s = ((initgroups_fn)sym("initgroups_dyn"))(arg, 4242, &start, &size, &groups, 0, &err);
	else {
		fprintf(stderr, "nss-probe: unknown function %s\n", func);
		return 2;
	}
	double t1 = now_ns();

	printf("status=%s errno=%s", status_name(s), s == NSS_STATUS_SUCCESS ? "0" : errno_name(err));
	if (timed)
		printf(" elapsed_us=%.0f", (t1 - t0) / 1000.0);
	printf("\n");
	if (s == NSS_STATUS_SUCCESS) {
		if (func[3] == 'p')
			print_pw(&pw);
		else if (func[3] == 'g')
			print_gr(&gr);
		else {
			printf("groups=");
			for (long int i = 1; i < start; i++)
				printf("%s%lu", i == 1 ? "" : ",", (unsigned long)groups[i]);
			printf("\n");
		}
	}
	free(groups);
	free(buf);
	return 0;
}

/* ---- every buffer size: ERANGE below the minimum, never a write past the buffer ---- */
#define GUARD 64
static int buffers(const char *func, const char *name)
{
	bool pw = strcmp(func, "getpwnam") == 0;
	void *f = sym(pw ? "getpwnam_r" : "getgrnam_r");

	for (size_t len = 0; len < 65536; len++) {
		unsigned char *buf = malloc(len + GUARD);
		struct passwd p;
		struct group g;
		int err = 0;
		enum nss_status s;

		memset(buf, 0xa5, len + GUARD);
		s = pw ? ((pwnam_fn)f)(name, &p, (char *)buf, len, &err) : ((grnam_fn)f)(name, &g, (char *)buf, len, &err);
		for (size_t i = len; i < len + GUARD; i++) {
			if (buf[i] != 0xa5) {
				printf("FAIL: buflen %zu: byte %zu written past the buffer\n", len, i);
				return 1;
			}
		}
		free(buf);
		if (s == NSS_STATUS_SUCCESS) {
			printf("min_buflen=%zu\n", len);
			return 0;
		}
		if (s != NSS_STATUS_TRYAGAIN || err != ERANGE) {
			printf("FAIL: buflen %zu: status=%s errno=%s, expected TRYAGAIN/ERANGE\n", len, status_name(s),
			       errno_name(err));
			return 1;
		}
	}
	printf("FAIL: never succeeded\n");
	return 1;
}

/* ---- a scripted sequence in one process ---- */
static int script(char **steps, int n)
{
	for (int i = 0; i < n; i++) {
		const char *colon = strchr(steps[i], ':');
		const char *arg = colon != NULL ? colon + 1 : "";
		size_t wlen = colon != NULL ? (size_t)(colon - steps[i]) : strlen(steps[i]);

		if (wlen == 3 && strncmp(steps[i], "run", 3) == 0) {
			fflush(stdout);
			if (system(arg) != 0) {
				printf("FAIL: step %d: '%s' failed\n", i + 1, arg);
				return 1;
			}
		} else if (wlen == 5 && strncmp(steps[i], "sleep", 5) == 0) {
			long ms = strtol(arg, NULL, 10);
			struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

			while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
				;
		} else if (wlen == 8 && (strncmp(steps[i], "getpwnam", 8) == 0 || strncmp(steps[i], "getgrnam", 8) == 0)) {
			char func[9];

			memcpy(func, steps[i], 8);
			func[8] = '\0';
			printf("step %d %s ", i + 1, func);
			call(func, arg, 4096, true);
		} else {
			fprintf(stderr, "nss-probe: unknown step '%s'\n", steps[i]);
			return 2;
		}
		fflush(stdout);
	}
	return 0;
}

/* ---- bench ---- */
static int bench(const char *names_file, int rounds)
{
	pwnam_fn f = (pwnam_fn)sym("getpwnam_r");
	FILE *in = fopen(names_file, "r");
	char **names = NULL, line[512], buf[4096];
	size_t n = 0, cap = 0;
	double *per_call;

	if (in == NULL || rounds < 1) {
		fprintf(stderr, "nss-probe: %s: cannot read\n", names_file);
		return 2;
	}
	while (fgets(line, sizeof(line), in) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '\0')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			names = realloc(names, cap * sizeof(*names));
		}
		names[n++] = strdup(line);
	}
	fclose(in);
	if (n == 0)
		return 2;
	per_call = calloc((size_t)rounds, sizeof(*per_call));
	for (int r = 0; r < rounds; r++) {
		double t0 = now_ns();

		for (size_t i = 0; i < n; i++) {
			struct passwd pw;
			int err = 0;

			if (f(names[i], &pw, buf, sizeof(buf), &err) != NSS_STATUS_SUCCESS) {
				fprintf(stderr, "nss-probe: getpwnam %s failed\n", names[i]);
				return 1;
			}
		}
		per_call[r] = (now_ns() - t0) / (double)n;
	}
	qsort(per_call, (size_t)rounds, sizeof(*per_call), cmp_double);
	printf("median_ns=%.0f\n", per_call[rounds / 2]);
	return 0;
}

int main(int argc, char **argv)
{
	size_t buflen = 4096;
	bool timed = false;
	int i = 1;

	while (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "-b") == 0 && i + 1 < argc) {
			buflen = strtoul(argv[i + 1], NULL, 10);
			i += 2;
		} else if (strcmp(argv[i], "-t") == 0) {
			timed = true;
			i++;
		} else {
			break;
		}
	}
	if (argc - i >= 5 && strcmp(argv[i], "buffers") == 0) {
		module = dlopen(argv[i + 1], RTLD_NOW | RTLD_LOCAL);
		prefix = argv[i + 2];
		if (module == NULL)
			goto dlfail;
		return buffers(argv[i + 3], argv[i + 4]);
	}
	if (argc - i >= 4 && strcmp(argv[i], "script") == 0) {
		module = dlopen(argv[i + 1], RTLD_NOW | RTLD_LOCAL);
		prefix = argv[i + 2];
		if (module == NULL)
			goto dlfail;
		return script(argv + i + 3, argc - i - 3);
	}
	if (argc - i >= 5 && strcmp(argv[i], "bench") == 0) {
		module = dlopen(argv[i + 1], RTLD_NOW | RTLD_LOCAL);
		prefix = argv[i + 2];
		if (module == NULL)
			goto dlfail;
		return bench(argv[i + 3], atoi(argv[i + 4]));
	}
	if (argc - i < 3) {
		fprintf(stderr, "usage: nss-probe [-b BUFLEN] [-t] SO PREFIX FUNC [ARG] | buffers SO PREFIX FUNC NAME |"
				" bench SO PREFIX NAMES ROUNDS\n");
		return 2;
	}
	module = dlopen(argv[i], RTLD_NOW | RTLD_LOCAL);
	prefix = argv[i + 1];
	if (module == NULL)
		goto dlfail;
	if (strcmp(argv[i + 2], "getpwent") == 0 || strcmp(argv[i + 2], "getgrent") == 0)
		return enumerate(argv[i + 2], buflen);
	if (argc - i < 4) {
		fprintf(stderr, "nss-probe: %s needs an argument\n", argv[i + 2]);
		return 2;
	}
	return call(argv[i + 2], argv[i + 3], buflen, timed);
dlfail:
	fprintf(stderr, "nss-probe: dlopen: %s\n", dlerror());
	return 2;
}
