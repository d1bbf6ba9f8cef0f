/* Micro-benchmark of mss_snapshot_bal(), the lookup behind every NSS getpwnam.
 *
 *   snapshot-lookup [-r ROUNDS] SNAPSHOT ADDRESSES
 *
 * SNAPSHOT is an existing snapshot (this program builds nothing; the owner check is off, as
 * the file is usually a scratch one); ADDRESSES holds one address per line, looked up in file
 * order (shuffle it for a cache-unfriendly pattern). Every round looks up all addresses once;
 * the figure is the median over the rounds of the mean CPU time per lookup (thread CPU
 * time: on a loaded machine, time spent preempted is not the lookup's cost), printed as
 *   bench: snapshot_lookup_ns = VALUE ns
 * followed by the median wall-clock time per lookup as snapshot_lookup_wall_ns.
 * Exit 0, 1 when a lookup reports a corrupt record, 2 on usage or input errors. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "snapshot.h"

struct address {
	const char *p;
	size_t len;
};

static double now_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Reads the whole file and cuts it into lines (the buffer is kept: addresses point into it). */
static struct address *read_addresses(const char *path, size_t *n_r)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t size = 0, cap = 0, n = 0, max = 0;
	struct address *list = NULL;

	if (f == NULL)
		return NULL;
	for (;;) {
		size_t got;

		if (cap - size < 65536) {
			char *nb = realloc(buf, cap ? cap * 2 : 1 << 20);

			if (nb == NULL)
				goto fail;
			buf = nb;
			cap = cap ? cap * 2 : 1 << 20;
		}
		got = fread(buf + size, 1, cap - size, f);
		size += got;
		if (got == 0)
			break;
	}
	if (ferror(f))
		goto fail;
	fclose(f);
	f = NULL;
	for (size_t start = 0; start < size;) {
		char *nl = memchr(buf + start, '\n', size - start);
		size_t end = nl ? (size_t)(nl - buf) : size;

		if (end > start) {
			if (n == max) {
				struct address *nl2 = realloc(list, (max ? max * 2 : 1024) * sizeof(*list));

				if (nl2 == NULL)
					goto fail;
				list = nl2;
				max = max ? max * 2 : 1024;
			}
			list[n].p = buf + start;
			list[n].len = end - start;
			n++;
		}
		start = end + 1;
	}
	*n_r = n;
	return list;
fail:
	if (f != NULL)
		fclose(f);
	free(buf);
	free(list);
	return NULL;
}

int main(int argc, char **argv)
{
	struct mss_snapshot *snap;
	struct address *addrs;
	size_t n = 0, found = 0;
	long rounds = 9;
	double *per_lookup, *wall;
	uint64_t sink = 0;
	char err[512];
	int opt, corrupt = 0;

	while ((opt = getopt(argc, argv, "r:")) != -1) {
		if (opt == 'r' && (rounds = strtol(optarg, NULL, 10)) > 0 && rounds < 10000)
			continue;
		fprintf(stderr, "usage: %s [-r ROUNDS] SNAPSHOT ADDRESSES\n", argv[0]);
		return 2;
	}
	if (argc - optind != 2) {
		fprintf(stderr, "usage: %s [-r ROUNDS] SNAPSHOT ADDRESSES\n", argv[0]);
		return 2;
	}
	if (mss_snapshot_open(argv[optind], MSS_SNAPSHOT_ANY_OWNER, &snap, err, sizeof(err)) < 0) {
		fprintf(stderr, "snapshot-lookup: %s\n", err);
		return 2;
	}
	addrs = read_addresses(argv[optind + 1], &n);
	if (addrs == NULL || n == 0) {
		fprintf(stderr, "snapshot-lookup: %s: no addresses read (%s)\n", argv[optind + 1],
			addrs == NULL ? strerror(errno) : "empty");
		return 2;
	}
	per_lookup = calloc((size_t)rounds, sizeof(*per_lookup));
	wall = calloc((size_t)rounds, sizeof(*wall));
	if (per_lookup == NULL || wall == NULL)
		return 2;

	/* one untimed pass: page the mapping in, as a long-running host process would have it */
	for (size_t i = 0; i < n; i++) {
		struct mss_bal bal;
		int r = mss_snapshot_bal(snap, addrs[i].p, addrs[i].len, &bal);

		found += r == 1;
		corrupt += r < 0;
	}
	for (long round = 0; round < rounds; round++) {
		double start = now_ns(CLOCK_THREAD_CPUTIME_ID), start_wall = now_ns(CLOCK_MONOTONIC);

		for (size_t i = 0; i < n; i++) {
			struct mss_bal bal;

			if (mss_snapshot_bal(snap, addrs[i].p, addrs[i].len, &bal) == 1)
				sink += bal.uid;
		}
		per_lookup[round] = (now_ns(CLOCK_THREAD_CPUTIME_ID) - start) / (double)n;
		wall[round] = (now_ns(CLOCK_MONOTONIC) - start_wall) / (double)n;
	}
	qsort(per_lookup, (size_t)rounds, sizeof(*per_lookup), cmp_double);
	qsort(wall, (size_t)rounds, sizeof(*wall), cmp_double);
	printf("snapshot-lookup: %zu addresses, %zu found, %d corrupt, %ld rounds, min %.1f ns, max %.1f ns "
	       "(checksum %llu)\n",
	       n, found, corrupt, rounds, per_lookup[0], per_lookup[rounds - 1], (unsigned long long)(sink & 0xffff));
	printf("bench: snapshot_lookup_ns = %.1f ns\n", per_lookup[rounds / 2]);
	printf("bench: snapshot_lookup_wall_ns = %.1f ns\n", wall[rounds / 2]);
	mss_snapshot_close(snap);
	free(per_lookup);
	free(wall);
	free((void *)addrs[0].p);
	free(addrs);
	return corrupt ? 1 : 0;
}
