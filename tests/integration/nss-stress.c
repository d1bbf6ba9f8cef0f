/* Concurrent lookups through an NSS module while the snapshot is replaced under it.
 * Standalone (dlopen + dlsym, as glibc does); used by tests/integration/test_nss_stress.sh.
 *
 *   nss-stress SO PREFIX THREADS EXPECT_FILE SNAPSHOT_DIR STOP_FILE MAX_SECONDS
 *
 * EXPECT_FILE, one expectation per line:
 *   u NAME UID               getpwnam(NAME) gives NAME and UID; getpwuid(UID) gives NAME
 *   g NAME GID MEMBER,...    getgrnam(NAME) and getgrgid(GID) give NAME, GID and exactly these
 *                            members in this order ("-" for none)
 *   n NAME                   getpwnam(NAME) is NOTFOUND
 * THREADS threads check every expectation in a loop until STOP_FILE exists (STOP_FILE.ready
 * is created once they run); MAX_SECONDS without it is a failure. Before the threads start
 * and after they end (one more pass, which lets the module drop replaced snapshots), the
 * program counts its open descriptors (/proc/self/fd) and its mappings of files under
 * SNAPSHOT_DIR (/proc/self/maps): both counts must be equal, and no mapping may be of a
 * deleted file. Any wrong answer, or any answer other than SUCCESS/NOTFOUND as expected, is
 * a failure. Prints one summary line; exit 0, 1 (failure), 2 (usage). */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <nss.h>
#include <pthread.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef enum nss_status (*pwnam_fn)(const char *, struct passwd *, char *, size_t, int *);
typedef enum nss_status (*pwuid_fn)(uid_t, struct passwd *, char *, size_t, int *);
typedef enum nss_status (*grnam_fn)(const char *, struct group *, char *, size_t, int *);
typedef enum nss_status (*grgid_fn)(gid_t, struct group *, char *, size_t, int *);

struct expect {
	char kind;
	char name[256];
	unsigned long id;
	char members[1024];
};

static pwnam_fn f_pwnam;
static pwuid_fn f_pwuid;
static grnam_fn f_grnam;
static grgid_fn f_grgid;
static struct expect *expects;
static size_t n_expects;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static bool stop;		   /* guarded by mu */
static unsigned long failures;	   /* guarded by mu */
static char first_failure[512];	   /* guarded by mu */

struct worker {
	pthread_t tid;
	unsigned long lookups;
};

static void failed(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void failed(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&mu);
	if (failures++ == 0) {
		va_start(ap, fmt);
		vsnprintf(first_failure, sizeof(first_failure), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&mu);
}

static bool members_equal(char **mem, const char *want)
{
	char joined[1024] = "";
	size_t len = 0;

	for (; *mem != NULL; mem++) {
		int n = snprintf(joined + len, sizeof(joined) - len, "%s%s", len ? "," : "", *mem);

		if (n < 0 || (size_t)n >= sizeof(joined) - len)
			return false;
		len += (size_t)n;
	}
	return strcmp(joined, strcmp(want, "-") == 0 ? "" : want) == 0;
}

/* One pass over every expectation; returns the number of lookups made. */
static unsigned long check_all(void)
{
	char buf[4096];
	unsigned long n = 0;

	for (size_t i = 0; i < n_expects; i++) {
		const struct expect *e = &expects[i];
		struct passwd pw;
		struct group gr;
		int err = 0;
		enum nss_status s;

		switch (e->kind) {
		case 'u':
			s = f_pwnam(e->name, &pw, buf, sizeof(buf), &err);
			if (s != NSS_STATUS_SUCCESS || strcmp(pw.pw_name, e->name) != 0 || pw.pw_uid != e->id)
				failed("getpwnam %s: status %d errno %d or wrong entry", e->name, s, err);
			s = f_pwuid((uid_t)e->id, &pw, buf, sizeof(buf), &err);
			if (s != NSS_STATUS_SUCCESS || strcmp(pw.pw_name, e->name) != 0 || pw.pw_uid != e->id)
				failed("getpwuid of %s: status %d errno %d or wrong entry", e->name, s, err);
			n += 2;
			break;
		case 'g':
			s = f_grnam(e->name, &gr, buf, sizeof(buf), &err);
			if (s != NSS_STATUS_SUCCESS || strcmp(gr.gr_name, e->name) != 0 || gr.gr_gid != e->id ||
			    !members_equal(gr.gr_mem, e->members))
				failed("getgrnam %s: status %d errno %d or wrong entry", e->name, s, err);
			s = f_grgid((gid_t)e->id, &gr, buf, sizeof(buf), &err);
			if (s != NSS_STATUS_SUCCESS || strcmp(gr.gr_name, e->name) != 0 || gr.gr_gid != e->id ||
			    !members_equal(gr.gr_mem, e->members))
				failed("getgrgid of %s: status %d errno %d or wrong entry", e->name, s, err);
			n += 2;
			break;
		default:
			s = f_pwnam(e->name, &pw, buf, sizeof(buf), &err);
			if (s != NSS_STATUS_NOTFOUND)
				failed("getpwnam %s: status %d errno %d, expected NOTFOUND", e->name, s, err);
			n++;
			break;
		}
	}
	return n;
}

static void *run(void *arg)
{
	struct worker *w = arg;

	for (;;) {
		bool done;

		pthread_mutex_lock(&mu);
		done = stop;
		pthread_mutex_unlock(&mu);
		if (done)
			break;
		w->lookups += check_all();
	}
	return NULL;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Mappings of files under DIR; *deleted_r counts those of deleted files. */
static int count_maps(const char *dir, int *deleted_r)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[4096];
	int n = 0;

	*deleted_r = 0;
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strstr(line, dir) == NULL)
			continue;
		n++;
		*deleted_r += strstr(line, "(deleted)") != NULL;
	}
	fclose(f);
	return n;
}

static int load_expects(const char *path)
{
	FILE *f = fopen(path, "re");
	char line[2048];
	size_t cap = 0;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		struct expect e = {0};
		int n = sscanf(line, " %c %255s %lu %1023s", &e.kind, e.name, &e.id, e.members);

		if (n < 2 || (e.kind == 'u' && n < 3) || (e.kind == 'g' && n < 4) || !strchr("ugn", e.kind))
			continue;
		if (n_expects == cap) {
			cap = cap ? cap * 2 : 16;
			expects = realloc(expects, cap * sizeof(*expects));
			if (expects == NULL)
				return -1;
		}
		expects[n_expects++] = e;
	}
	fclose(f);
	return n_expects > 0 ? 0 : -1;
}

static void *sym(void *h, const char *prefix, const char *func)
{
	char name[128];

	snprintf(name, sizeof(name), "_nss_%s_%s", prefix, func);
	return dlsym(h, name);
}

int main(int argc, char **argv)
{
	struct worker *workers;
	int threads, fds_before, fds_after, maps_before, maps_after, del_before, del_after;
	unsigned long lookups = 0;
	char ready[4096];
	time_t deadline;
	void *h;
	bool timed_out = false;

	if (argc != 8 || (threads = atoi(argv[3])) < 1 || threads > 256) {
		fprintf(stderr, "usage: nss-stress SO PREFIX THREADS EXPECT_FILE SNAPSHOT_DIR STOP_FILE MAX_SECONDS\n");
		return 2;
	}
	h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		fprintf(stderr, "nss-stress: %s\n", dlerror());
		return 2;
	}
	f_pwnam = (pwnam_fn)sym(h, argv[2], "getpwnam_r");
	f_pwuid = (pwuid_fn)sym(h, argv[2], "getpwuid_r");
	f_grnam = (grnam_fn)sym(h, argv[2], "getgrnam_r");
	f_grgid = (grgid_fn)sym(h, argv[2], "getgrgid_r");
	if (f_pwnam == NULL || f_pwuid == NULL || f_grnam == NULL || f_grgid == NULL || load_expects(argv[4]) < 0) {
		fprintf(stderr, "nss-stress: missing entry point or no expectation in %s\n", argv[4]);
		return 2;
	}

	lookups += check_all();
	fds_before = count_fds();
	maps_before = count_maps(argv[5], &del_before);

	workers = calloc((size_t)threads, sizeof(*workers));
	for (int i = 0; i < threads; i++) {
		if (pthread_create(&workers[i].tid, NULL, run, &workers[i]) != 0) {
			fprintf(stderr, "nss-stress: pthread_create failed\n");
			return 2;
		}
	}
	snprintf(ready, sizeof(ready), "%s.ready", argv[6]);
	close(open(ready, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	deadline = time(NULL) + atoi(argv[7]);
	while (access(argv[6], F_OK) != 0) {
		struct timespec ts = {0, 10 * 1000 * 1000};

		if (time(NULL) > deadline) {
			timed_out = true;
			break;
		}
		nanosleep(&ts, NULL);
	}
	pthread_mutex_lock(&mu);
	stop = true;
	pthread_mutex_unlock(&mu);
	for (int i = 0; i < threads; i++) {
		pthread_join(workers[i].tid, NULL);
		lookups += workers[i].lookups;
	}

	lookups += check_all();
	fds_after = count_fds();
	maps_after = count_maps(argv[5], &del_after);
	printf("threads=%d lookups=%lu failures=%lu fds=%d/%d snapshot_maps=%d/%d deleted_maps=%d%s\n", threads,
	       lookups, failures, fds_before, fds_after, maps_before, maps_after, del_after,
	       timed_out ? " TIMED-OUT" : "");
	if (failures > 0)
		printf("first failure: %s\n", first_failure);
	free(workers);
	free(expects);
	return failures == 0 && !timed_out && fds_before == fds_after && maps_before == maps_after && maps_after >= 1 &&
			       del_before == 0 && del_after == 0
		       ? 0
		       : 1;
}
