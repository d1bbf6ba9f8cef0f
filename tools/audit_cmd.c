/* mssctl audit: verify the hash chain of audit files, the monthly usage report, and the BALs
 * nobody authenticated to for N days (CNIL délibération 2014-239: at most a year).
 *
 *   mssctl audit verify [--json] FILE...
 *   mssctl audit report --month YYYY-MM [--json] FILE...
 *   mssctl audit inactive --days N [--json] [--snapshot FILE] FILE...
 *
 * report and inactive read the records with json-c and do not check the chain (verify does):
 * a line that is not a JSON object is named on stderr and skipped, so that one torn line
 * (a crash) does not hide a month of figures. */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "audit.h"
#include "config.h"
#include "log.h"
#include "mssctl.h"
#include "snapshot.h"

static void usage(FILE *out)
{
	fprintf(out, "usage: mssctl audit verify [--json] FILE...\n"
		     "       mssctl audit report --month YYYY-MM [--json] FILE...\n"
		     "       mssctl audit inactive --days N [--json] [--snapshot FILE] FILE...\n"
		     "Give the files of a rotated series oldest first.\n");
}

static void print_json(json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

/* ---- counters and a string map ---- */

/* name -> count, printed sorted by name; a few dozen distinct names at most. */
struct counts {
	struct count {
		char *name;
		unsigned long n;
	} * v;
	size_t len, cap;
};

static void count_add(struct counts *c, const char *name, unsigned long n)
{
	for (size_t i = 0; i < c->len; i++) {
		if (strcmp(c->v[i].name, name) == 0) {
			c->v[i].n += n;
			return;
		}
	}
	if (c->len == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 8;
		struct count *v = realloc(c->v, cap * sizeof(*v));

		if (v == NULL)
			abort();
		c->v = v;
		c->cap = cap;
	}
	c->v[c->len].name = strdup(name);
	if (c->v[c->len].name == NULL)
		abort();
	c->v[c->len++].n = n;
}

static int count_cmp(const void *a, const void *b)
{
	return strcmp(((const struct count *)a)->name, ((const struct count *)b)->name);
}

static void counts_free(struct counts *c)
{
	for (size_t i = 0; i < c->len; i++)
		free(c->v[i].name);
	free(c->v);
}

static json_object *counts_json(struct counts *c)
{
	json_object *o = json_object_new_object();

	if (c->len > 1)
		qsort(c->v, c->len, sizeof(*c->v), count_cmp);
	for (size_t i = 0; i < c->len; i++)
		json_object_object_add(o, c->v[i].name, json_object_new_int64((int64_t)c->v[i].n));
	return o;
}

/* "accept 3, reject 1" */
static void counts_print(struct counts *c)
{
	if (c->len > 1)
		qsort(c->v, c->len, sizeof(*c->v), count_cmp);
	for (size_t i = 0; i < c->len; i++)
		printf("%s%s %lu", i > 0 ? ", " : "", c->v[i].name, c->v[i].n);
	if (c->len == 0)
		printf("none");
}

/* Address (lower-cased) -> BAL type and latest timestamp: thousands of BALs, open addressing. */
struct entry {
	char *key;
	char *type;
	char last[20]; /* "YYYY-MM-DDTHH:MM:SS", "" when none */
};

struct map {
	struct entry *v;
	size_t len, cap; /* cap a power of two */
};

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static struct entry *map_slot(struct entry *v, size_t cap, const char *key)
{
	size_t i = (size_t)fnv1a(key) & (cap - 1);

	while (v[i].key != NULL && strcmp(v[i].key, key) != 0)
		i = (i + 1) & (cap - 1);
	return &v[i];
}

/* The entry of KEY, created when absent. */
static struct entry *map_get(struct map *m, const char *key)
{
	struct entry *e;

	if (2 * (m->len + 1) > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		struct entry *v = calloc(cap, sizeof(*v));

		if (v == NULL)
			abort();
		for (size_t i = 0; i < m->cap; i++)
			if (m->v[i].key != NULL)
				*map_slot(v, cap, m->v[i].key) = m->v[i];
		free(m->v);
		m->v = v;
		m->cap = cap;
	}
	e = map_slot(m->v, m->cap, key);
	if (e->key == NULL) {
		e->key = strdup(key);
		if (e->key == NULL)
			abort();
		m->len++;
	}
	return e;
}

static struct entry *map_find(const struct map *m, const char *key)
{
	struct entry *e;

	if (m->cap == 0)
		return NULL;
	e = map_slot(m->v, m->cap, key);
	return e->key != NULL ? e : NULL;
}

static void map_free(struct map *m)
{
	for (size_t i = 0; i < m->cap; i++) {
		free(m->v[i].key);
		free(m->v[i].type);
	}
	free(m->v);
}

/* ---- reading records ---- */

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static bool is_timestamp(const char *ts)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd";

	if (ts == NULL || strlen(ts) < sizeof(shape) - 1)
		return false;
	for (size_t i = 0; i < sizeof(shape) - 1; i++)
		if (shape[i] == 'd' ? ts[i] < '0' || ts[i] > '9' : ts[i] != shape[i])
			return false;
	return true;
}

/* An address as a map key: ASCII lower-cased (the snapshot's keys are). */
static void lower_key(const char *s, char *out, size_t outlen)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < outlen; i++)
		out[i] = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] - 'A' + 'a') : s[i];
	out[i] = '\0';
}

/* Calls FN for every record of every file whose line passes WANT (a cheap text filter; NULL:
   all). Returns 0, or -1 when a file cannot be read (said on stderr). */
static int each_record(char **paths, int n, bool (*want)(const char *line, void *ctx),
		       void (*fn)(json_object *rec, void *ctx), void *ctx, unsigned long *skipped_r)
{
	json_tokener *tok = json_tokener_new();
	char *line = NULL;
	size_t cap = 0;
	int ret = 0;

	if (tok == NULL)
		abort();
	for (int f = 0; f < n && ret == 0; f++) {
		FILE *fp = fopen(paths[f], "re");
		unsigned long lineno = 0;
		ssize_t len;

		if (fp == NULL) {
			mss_error("%s: %s", paths[f], strerror(errno));
			ret = -1;
			break;
		}
		while ((len = getline(&line, &cap, fp)) > 0) {
			json_object *rec;

			lineno++;
			if (want != NULL && !want(line, ctx))
				continue;
			json_tokener_reset(tok);
			rec = json_tokener_parse_ex(tok, line, (int)len);
			if (rec == NULL || !json_object_is_type(rec, json_type_object)) {
				mss_warning("%s:%lu: not a JSON audit record, skipped", paths[f], lineno);
				(*skipped_r)++;
				json_object_put(rec);
				continue;
			}
			fn(rec, ctx);
			json_object_put(rec);
		}
		if (ferror(fp)) {
			mss_error("%s: read error", paths[f]);
			ret = -1;
		}
		fclose(fp);
	}
	free(line);
	json_tokener_free(tok);
	return ret;
}

/* ---- verify ---- */

static int cmd_verify(int argc, char **argv)
{
	static const struct option longopts[] = {{"json", no_argument, NULL, 'j'}, {NULL, 0, NULL, 0}};
	unsigned long records = 0;
	char err[2048] = "";
	bool json = false;
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c != 'j') {
			usage(stderr);
			return MSSCTL_ERROR;
		}
		json = true;
	}
	if (optind >= argc) {
		usage(stderr);
		return MSSCTL_ERROR;
	}
	r = mss_audit_verify((const char *const *)argv + optind, (size_t)(argc - optind), &records, err, sizeof(err));
	if (r < 0) {
		mss_error("%s", err);
		return MSSCTL_ERROR;
	}
	if (json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "intact", json_object_new_boolean(r == 0));
		json_object_object_add(o, "records", json_object_new_int64((int64_t)records));
		if (r != 0)
			json_object_object_add(o, "finding", json_object_new_string(err));
		print_json(o);
	} else if (r == 0) {
		printf("%lu records in %d file%s: chain intact\n", records, argc - optind,
		       argc - optind > 1 ? "s" : "");
	} else {
		printf("%s\n", err);
	}
	return r == 0 ? MSSCTL_OK : MSSCTL_NOT_FOUND;
}

/* ---- report ---- */

struct report {
	char month[8];
	unsigned long records, messages, rcpts;
	struct counts dir_total, by_type, by_decision, by_reason, rcpt_by_decision;
	struct counts by_dir_decision[2]; /* inbound, submission */
	struct map active;		  /* BAL -> type */
};

static bool refusal(const char *decision)
{
	return decision != NULL && (strcmp(decision, "reject") == 0 || strcmp(decision, "tempfail") == 0 ||
				    strcmp(decision, "deny") == 0 || strcmp(decision, "fail") == 0);
}

/* Our writer puts ts first: a record of another month is skipped without parsing it. */
static bool report_want(const char *line, void *ctx)
{
	const struct report *r = ctx;

	if (strncmp(line, "{\"ts\":\"", 7) != 0)
		return true; /* not our layout: let the parser decide */
	return strncmp(line + 7, r->month, 7) == 0 && line[14] == '-';
}

static void report_record(json_object *rec, void *ctx)
{
	struct report *r = ctx;
	const char *ts = jstr(rec, "ts"), *event = jstr(rec, "event"), *decision = jstr(rec, "decision");
	const char *bal = jstr(rec, "bal"), *type = jstr(rec, "bal_type");
	bool received = false;

	if (ts == NULL || strncmp(ts, r->month, 7) != 0 || ts[7] != '-')
		return;
	r->records++;
	if (event != NULL && strcmp(event, "message") == 0) {
		const char *service = jstr(rec, "service"), *reason = jstr(rec, "reason");
		json_object *rcpt;

		r->messages++;
		service = service != NULL ? service : "unknown";
		received = strcmp(service, "inbound") == 0;
		count_add(&r->dir_total, service, 1);
		if (strcmp(service, "inbound") == 0 || strcmp(service, "submission") == 0)
			count_add(&r->by_dir_decision[service[0] == 's'], decision ? decision : "none", 1);
		count_add(&r->by_type, type != NULL ? type : "none", 1);
		count_add(&r->by_decision, decision != NULL ? decision : "none", 1);
		if (reason != NULL)
			count_add(&r->by_reason, reason, 1);
		if (json_object_object_get_ex(rec, "rcpt", &rcpt) && json_object_is_type(rcpt, json_type_array)) {
			for (size_t i = 0; i < json_object_array_length(rcpt); i++) {
				const char *d = jstr(json_object_array_get_idx(rcpt, i), "decision");

				r->rcpts++;
				count_add(&r->rcpt_by_decision, d != NULL ? d : "none", 1);
			}
		}
	}
	/* Active: the BAL did something (sent, logged in, was read...) — refused attempts and
	   mail merely received do not count. */
	if (bal != NULL && !refusal(decision) && !received) {
		char key[512];
		struct entry *e;

		lower_key(bal, key, sizeof(key));
		e = map_get(&r->active, key);
		if (e->type == NULL && type != NULL && (e->type = strdup(type)) == NULL)
			abort();
	}
}

static bool valid_month(const char *m)
{
	return strlen(m) == 7 && m[0] >= '0' && m[0] <= '9' && m[1] >= '0' && m[1] <= '9' && m[2] >= '0' &&
	       m[2] <= '9' && m[3] >= '0' && m[3] <= '9' && m[4] == '-' &&
	       ((m[5] == '0' && m[6] >= '1' && m[6] <= '9') || (m[5] == '1' && m[6] >= '0' && m[6] <= '2'));
}

static void report_print(struct report *r, int files, unsigned long skipped, bool json)
{
	static const char *const dirs[] = {"inbound", "submission"};
	struct counts active_types = {0};

	for (size_t i = 0; i < r->active.cap; i++)
		if (r->active.v[i].key != NULL)
			count_add(&active_types, r->active.v[i].type != NULL ? r->active.v[i].type : "unknown", 1);
	if (json) {
		json_object *o = json_object_new_object(), *m = json_object_new_object();
		json_object *bd = json_object_new_object(), *rc = json_object_new_object();
		json_object *act = json_object_new_object();

		json_object_object_add(o, "month", json_object_new_string(r->month));
		json_object_object_add(o, "files", json_object_new_int(files));
		json_object_object_add(o, "records", json_object_new_int64((int64_t)r->records));
		json_object_object_add(o, "skipped_lines", json_object_new_int64((int64_t)skipped));
		json_object_object_add(m, "total", json_object_new_int64((int64_t)r->messages));
		for (int d = 0; d < 2; d++) {
			json_object *x = json_object_new_object();
			unsigned long total = 0;

			for (size_t i = 0; i < r->by_dir_decision[d].len; i++)
				total += r->by_dir_decision[d].v[i].n;
			json_object_object_add(x, "total", json_object_new_int64((int64_t)total));
			json_object_object_add(x, "by_decision", counts_json(&r->by_dir_decision[d]));
			json_object_object_add(bd, dirs[d], x);
		}
		for (size_t i = 0; i < r->dir_total.len; i++) {
			const char *name = r->dir_total.v[i].name;

			if (strcmp(name, "inbound") != 0 && strcmp(name, "submission") != 0) {
				json_object *x = json_object_new_object();

				json_object_object_add(x, "total", json_object_new_int64((int64_t)r->dir_total.v[i].n));
				json_object_object_add(bd, name, x);
			}
		}
		json_object_object_add(m, "by_direction", bd);
		json_object_object_add(m, "by_bal_type", counts_json(&r->by_type));
		json_object_object_add(m, "by_decision", counts_json(&r->by_decision));
		json_object_object_add(m, "by_reason", counts_json(&r->by_reason));
		json_object_object_add(rc, "total", json_object_new_int64((int64_t)r->rcpts));
		json_object_object_add(rc, "by_decision", counts_json(&r->rcpt_by_decision));
		json_object_object_add(m, "recipients", rc);
		json_object_object_add(o, "messages", m);
		json_object_object_add(act, "total", json_object_new_int64((int64_t)r->active.len));
		json_object_object_add(act, "by_type", counts_json(&active_types));
		json_object_object_add(o, "active_bals", act);
		print_json(o);
	} else {
		printf("audit report %s: %lu records in %d file%s", r->month, r->records, files, files > 1 ? "s" : "");
		if (skipped > 0)
			printf(" (%lu unreadable lines skipped)", skipped);
		printf("\nmessages: %lu\n", r->messages);
		for (int d = 0; d < 2; d++) {
			unsigned long total = 0;

			for (size_t i = 0; i < r->by_dir_decision[d].len; i++)
				total += r->by_dir_decision[d].v[i].n;
			printf("  %s: %lu (", dirs[d], total);
			counts_print(&r->by_dir_decision[d]);
			printf(")\n");
		}
		printf("  by BAL type: ");
		counts_print(&r->by_type);
		printf("\n  by decision: ");
		counts_print(&r->by_decision);
		printf("\n  by reason: ");
		counts_print(&r->by_reason);
		printf("\n  recipients: %lu (", r->rcpts);
		counts_print(&r->rcpt_by_decision);
		printf(")\nactive BALs: %zu (", r->active.len);
		counts_print(&active_types);
		printf(")\n");
	}
	counts_free(&active_types);
}

static int cmd_report(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"month", required_argument, NULL, 'm'},
	    {"json", no_argument, NULL, 'j'},
	    {NULL, 0, NULL, 0},
	};
	struct report r = {0};
	unsigned long skipped = 0;
	const char *month = NULL;
	bool json = false;
	int c, ret;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			month = optarg;
			break;
		case 'j':
			json = true;
			break;
		default:
			usage(stderr);
			return MSSCTL_ERROR;
		}
	}
	if (month == NULL || optind >= argc) {
		usage(stderr);
		return MSSCTL_ERROR;
	}
	if (!valid_month(month)) {
		mss_error("--month %s: expected YYYY-MM", month);
		return MSSCTL_ERROR;
	}
	memcpy(r.month, month, 8);
	ret = each_record(argv + optind, argc - optind, report_want, report_record, &r, &skipped);
	if (ret == 0)
		report_print(&r, argc - optind, skipped, json);
	counts_free(&r.dir_total);
	counts_free(&r.by_type);
	counts_free(&r.by_decision);
	counts_free(&r.by_reason);
	counts_free(&r.rcpt_by_decision);
	counts_free(&r.by_dir_decision[0]);
	counts_free(&r.by_dir_decision[1]);
	map_free(&r.active);
	return ret == 0 ? MSSCTL_OK : MSSCTL_ERROR;
}

/* ---- inactive ---- */

/* Successful authentications: Dovecot logins allowed, PAM authentications that succeeded. */
static bool auth_want(const char *line, void *ctx)
{
	(void)ctx;
	return strstr(line, "\"event\":\"login\"") != NULL || strstr(line, "\"event\":\"auth\"") != NULL;
}

static void auth_record(json_object *rec, void *ctx)
{
	struct map *last = ctx;
	const char *ts = jstr(rec, "ts"), *event = jstr(rec, "event"), *decision = jstr(rec, "decision");
	const char *bal = jstr(rec, "bal");
	char key[512];
	struct entry *e;

	if (event == NULL || decision == NULL || !is_timestamp(ts))
		return;
	if (!((strcmp(event, "login") == 0 && strcmp(decision, "allow") == 0) ||
	      (strcmp(event, "auth") == 0 && strcmp(decision, "ok") == 0)))
		return;
	if (bal == NULL)
		bal = jstr(rec, "auth_user");
	if (bal == NULL)
		return;
	lower_key(bal, key, sizeof(key));
	e = map_get(last, key);
	if (strncmp(ts, e->last, 19) > 0) {
		memcpy(e->last, ts, 19);
		e->last[19] = '\0';
	}
}

struct hospital_bal {
	char *address;
	char type[8];
	char status;
};

static int bal_cmp(const void *a, const void *b)
{
	return strcmp(((const struct hospital_bal *)a)->address, ((const struct hospital_bal *)b)->address);
}

/* The hospital's own BALs (from its LDAP: source 'L'), sorted. Returns the count or -1. */
static long hospital_bals(const struct mss_snapshot *snap, struct hospital_bal **out)
{
	struct hospital_bal *v = NULL;
	struct mss_slice key, value;
	size_t pos = 0, n = 0, cap = 0;
	char kind;
	int r;

	while ((r = mss_snapshot_walk(snap, &pos, &kind, &key, &value)) == 1) {
		struct mss_bal b;

		if (kind != 'B')
			continue;
		if (mss_snapshot_decode_bal(key.p, key.len, value.p, value.len, &b) < 0) {
			r = -1;
			break;
		}
		if (b.source != 'L')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			v = realloc(v, cap * sizeof(*v));
			if (v == NULL)
				abort();
		}
		v[n].address = strndup(key.p, key.len);
		if (v[n].address == NULL)
			abort();
		snprintf(v[n].type, sizeof(v[n].type), "%.*s", (int)b.type.len, b.type.p);
		v[n].status = b.status;
		n++;
	}
	if (r < 0) {
		for (size_t i = 0; i < n; i++)
			free(v[i].address);
		free(v);
		return -1;
	}
	if (n > 0)
		qsort(v, n, sizeof(*v), bal_cmp);
	*out = v;
	return (long)n;
}

/* Whole days between a record's "YYYY-MM-DDTHH:MM:SS" (UTC) and NOW. */
static long days_since(const char *ts, time_t now)
{
	struct tm tm = {0};

	if (sscanf(ts, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
		   &tm.tm_sec) != 6)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (long)((now - timegm(&tm)) / 86400);
}

static int open_snapshot(const char *conf, const char *path, struct mss_snapshot **snap_r)
{
	struct mss_config *cfg;
	unsigned flags;
	char err[1024];
	int ret = 0;

	if (mssctl_load_config(conf, &cfg) < 0)
		return -1;
	/* As lookup: a file named on the command line is the administrator's choice. */
	flags =
	    path != NULL || !mss_config_bool(cfg, MSS_OPT_DIRECTORY_SNAPSHOT_OWNER_CHECK) ? MSS_SNAPSHOT_ANY_OWNER : 0;
	if (path == NULL)
		path = mss_config_str(cfg, MSS_OPT_DIRECTORY_SNAPSHOT);
	if (mss_snapshot_open(path, flags, snap_r, err, sizeof(err)) < 0) {
		mss_error("%s", err);
		ret = -1;
	}
	mss_config_free(cfg);
	return ret;
}

static int cmd_inactive(const char *conf, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"days", required_argument, NULL, 'd'},
	    {"json", no_argument, NULL, 'j'},
	    {"snapshot", required_argument, NULL, 's'},
	    {NULL, 0, NULL, 0},
	};
	struct mss_snapshot *snap = NULL;
	struct hospital_bal *bals = NULL;
	struct map last = {0};
	const char *snapshot = NULL;
	unsigned long skipped = 0;
	long days = -1, n_bals, n_inactive = 0;
	json_object *o = NULL, *list = NULL;
	char since[32], *end;
	time_t now = time(NULL), cutoff;
	bool json = false;
	int c, ret = MSSCTL_ERROR;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			errno = 0;
			days = strtol(optarg, &end, 10);
			if (optarg[0] < '0' || optarg[0] > '9' || *end != '\0' || errno != 0 || days < 1 ||
			    days > 36500) {
				mss_error("--days %s: expected a number of days, 1 to 36500", optarg);
				return MSSCTL_ERROR;
			}
			break;
		case 'j':
			json = true;
			break;
		case 's':
			snapshot = optarg;
			break;
		default:
			usage(stderr);
			return MSSCTL_ERROR;
		}
	}
	if (days < 0 || optind >= argc) {
		usage(stderr);
		return MSSCTL_ERROR;
	}
	cutoff = now - (time_t)days * 86400;
	strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%S", gmtime(&cutoff));
	if (open_snapshot(conf, snapshot, &snap) < 0)
		return MSSCTL_ERROR;
	n_bals = hospital_bals(snap, &bals);
	if (n_bals < 0) {
		mss_error("snapshot corrupt while walking the BALs");
		goto out;
	}
	if (each_record(argv + optind, argc - optind, auth_want, auth_record, &last, &skipped) < 0)
		goto out;
	if (json) {
		o = json_object_new_object();
		list = json_object_new_array();
		json_object_object_add(o, "days", json_object_new_int64(days));
		json_object_object_add(o, "since", json_object_new_string(since));
		json_object_object_add(o, "bals", json_object_new_int64(n_bals));
	} else {
		printf("hospital BALs without a successful authentication since %sZ (%ld days):\n", since, days);
	}
	for (long i = 0; i < n_bals; i++) {
		const struct entry *e = map_find(&last, bals[i].address);
		const char *seen = e != NULL && e->last[0] != '\0' ? e->last : NULL;

		if (seen != NULL && strcmp(seen, since) >= 0)
			continue;
		n_inactive++;
		if (json) {
			json_object *x = json_object_new_object();

			json_object_object_add(x, "address", json_object_new_string(bals[i].address));
			json_object_object_add(x, "type", json_object_new_string(bals[i].type));
			json_object_object_add(x, "status",
					       json_object_new_string(bals[i].status == 'S' ? "suspended" : "active"));
			json_object_object_add(x, "last_auth", seen != NULL ? json_object_new_string(seen) : NULL);
			json_object_object_add(x, "days_since",
					       seen != NULL ? json_object_new_int64(days_since(seen, now)) : NULL);
			json_object_array_add(list, x);
		} else if (seen != NULL) {
			printf("  %s %s%s: last %sZ, %ld days ago\n", bals[i].address, bals[i].type,
			       bals[i].status == 'S' ? " (suspended)" : "", seen, days_since(seen, now));
		} else {
			printf("  %s %s%s: never\n", bals[i].address, bals[i].type,
			       bals[i].status == 'S' ? " (suspended)" : "");
		}
	}
	if (json) {
		json_object_object_add(o, "inactive", list);
		print_json(o);
	} else {
		printf("%ld of %ld BALs inactive\n", n_inactive, n_bals);
	}
	ret = n_inactive > 0 ? MSSCTL_NOT_FOUND : MSSCTL_OK;
out:
	for (long i = 0; i < n_bals; i++)
		free(bals[i].address);
	free(bals);
	map_free(&last);
	mss_snapshot_close(snap);
	return ret;
}

int mssctl_audit(const char *conf, int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return MSSCTL_ERROR;
	}
	if (strcmp(argv[1], "verify") == 0)
		return cmd_verify(argc - 1, argv + 1);
	if (strcmp(argv[1], "report") == 0)
		return cmd_report(argc - 1, argv + 1);
	if (strcmp(argv[1], "inactive") == 0)
		return cmd_inactive(conf, argc - 1, argv + 1);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return MSSCTL_OK;
	}
	mss_error("audit: unknown command '%s' (verify, report or inactive)", argv[1]);
	usage(stderr);
	return MSSCTL_ERROR;
}
