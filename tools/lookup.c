/* mssctl lookup: what the snapshot says about a domain, a BAL, a person or a uid;
   and the sync report. Text for people, --json for scripts. */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "config.h"
#include "log.h"
#include "mssctl.h"
#include "snapshot.h"
#include "sync.h"

static json_object *jslice(struct mss_slice s)
{
	return json_object_new_string_len(s.p != NULL ? s.p : "", (int)s.len);
}

/* A comma-separated slice as a JSON array. */
static json_object *jlist(struct mss_slice s)
{
	json_object *a = json_object_new_array();
	size_t start = 0;

	for (size_t i = 0; i <= s.len; i++) {
		if (i == s.len || s.p[i] == ',') {
			if (i > start)
				json_object_array_add(a, json_object_new_string_len(s.p + start, (int)(i - start)));
			start = i + 1;
		}
	}
	return a;
}

static void print_json(json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

static const char *status_word(char status)
{
	return status == 'A' ? "active" : status == 'S' ? "suspended" : "unknown";
}

static const char *source_word(char source)
{
	return source == 'L' ? "ldap" : source == 'X' ? "extraction" : "unknown";
}

static int show_bal(const struct mss_bal *b, bool json)
{
	if (json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "address", jslice(b->address));
		json_object_object_add(o, "type", jslice(b->type));
		json_object_object_add(o, "status", json_object_new_string(status_word(b->status)));
		json_object_object_add(o, "uid", json_object_new_int64(b->uid));
		json_object_object_add(o, "source", json_object_new_string(source_word(b->source)));
		json_object_object_add(o, "owner", jslice(b->owner));
		json_object_object_add(o, "name", jslice(b->name));
		json_object_object_add(o, "delegates", jlist(b->delegates));
		json_object_object_add(o, "app_subject", jslice(b->app_subject));
		json_object_object_add(o, "structure", jslice(b->structure));
		print_json(o);
	} else {
		printf("bal %.*s\n  type: %.*s\n  status: %s\n  uid: %u\n  source: %s\n", (int)b->address.len,
		       b->address.p, (int)b->type.len, b->type.p, status_word(b->status), b->uid,
		       source_word(b->source));
		if (b->name.len > 0)
			printf("  name: %.*s\n", (int)b->name.len, b->name.p);
		if (b->owner.len > 0)
			printf("  owner: %.*s\n", (int)b->owner.len, b->owner.p);
		if (b->delegates.len > 0)
			printf("  delegates: %.*s\n", (int)b->delegates.len, b->delegates.p);
		if (b->app_subject.len > 0)
			printf("  application: %.*s\n", (int)b->app_subject.len, b->app_subject.p);
		if (b->structure.len > 0)
			printf("  structure: %.*s\n", (int)b->structure.len, b->structure.p);
	}
	return MSSCTL_OK;
}

static int lookup_domain(const struct mss_snapshot *snap, const char *arg, bool json)
{
	char domain[MSS_ADDR_DOMAIN_MAX + 1];
	struct mss_snapshot_iter it;
	struct mss_trust_record rec;
	json_object *o = NULL, *ops = NULL;
	const char *error;
	struct mss_slice local;
	size_t n = 0;
	int r;

	if (mss_domain_normalize(arg, strlen(arg), domain, sizeof(domain), &error) < 0) {
		mss_error("'%s': %s", arg, error);
		return MSSCTL_ERROR;
	}
	if (json) {
		o = json_object_new_object();
		ops = json_object_new_array();
		json_object_object_add(o, "domain", json_object_new_string(domain));
	}
	for (r = mss_snapshot_domain_first(snap, domain, &it, &rec); r == 1; r = mss_snapshot_domain_next(&it, &rec)) {
		n++;
		if (json) {
			json_object *e = json_object_new_object();

			json_object_object_add(e, "dn", jslice(rec.dn));
			json_object_object_add(e, "dn_published", jslice(rec.dn_raw));
			json_object_object_add(e, "cn", jslice(rec.cn));
			json_object_object_add(e, "ou", jslice(rec.ou));
			json_object_object_add(e, "o", jslice(rec.o));
			json_object_object_add(e, "description", jslice(rec.description));
			json_object_object_add(e, "date_maj", jslice(rec.date_maj));
			json_object_array_add(ops, e);
		} else {
			if (n == 1)
				printf("domain %s: in the trust space\n", domain);
			printf("  operator %.*s\n", (int)rec.dn.len, rec.dn.p);
			if (rec.description.len > 0)
				printf("    description: %.*s\n", (int)rec.description.len, rec.description.p);
			if (rec.date_maj.len > 0)
				printf("    updated: %.*s\n", (int)rec.date_maj.len, rec.date_maj.p);
		}
	}
	if (r < 0) {
		json_object_put(o);
		mss_error("snapshot corrupt while reading domain %s", domain);
		return MSSCTL_ERROR;
	}
	r = mss_snapshot_get(snap, 'L', domain, strlen(domain), &local);
	if (json) {
		json_object_object_add(o, "local", json_object_new_boolean(r == 1));
		json_object_object_add(o, "trusted", json_object_new_boolean(n > 0));
		json_object_object_add(o, "operators", ops);
		print_json(o);
	} else if (n == 0) {
		printf("domain %s: %s\n", domain, r == 1 ? "local, not on the trust list" : "not in the trust space");
	} else {
		printf("  %zu operator certificate%s%s\n", n, n > 1 ? "s" : "", r == 1 ? "; local domain" : "");
	}
	return n > 0 || r == 1 ? MSSCTL_OK : MSSCTL_NOT_FOUND;
}

static int lookup_bal(const struct mss_snapshot *snap, const char *arg, bool json)
{
	char key[MSS_ADDR_MAX + 1];
	const char *error;
	struct mss_bal b;
	int r;

	if (mss_addr_normalize(arg, strlen(arg), key, sizeof(key), &error) < 0) {
		mss_error("'%s': %s", arg, error);
		return MSSCTL_ERROR;
	}
	r = mss_snapshot_bal(snap, key, strlen(key), &b);
	if (r < 0) {
		mss_error("snapshot corrupt at BAL %s", key);
		return MSSCTL_ERROR;
	}
	if (r == 0) {
		if (!json)
			printf("bal %s: not found\n", key);
		return MSSCTL_NOT_FOUND;
	}
	return show_bal(&b, json);
}

static int lookup_uid(const struct mss_snapshot *snap, const char *arg, bool json)
{
	struct mss_bal b;
	char *end;
	unsigned long uid;
	int r;

	errno = 0;
	uid = strtoul(arg, &end, 10);
	if (arg[0] < '0' || arg[0] > '9' || *end != '\0' || errno != 0 || uid > 0xffffffffUL) {
		mss_error("'%s' is not a uid", arg);
		return MSSCTL_ERROR;
	}
	r = mss_snapshot_bal_by_uid(snap, (uint32_t)uid, &b);
	if (r < 0) {
		mss_error("snapshot corrupt at uid %lu", uid);
		return MSSCTL_ERROR;
	}
	if (r == 0) {
		if (!json)
			printf("uid %lu: not found\n", uid);
		return MSSCTL_NOT_FOUND;
	}
	return show_bal(&b, json);
}

static int lookup_person(const struct mss_snapshot *snap, const char *arg, bool json)
{
	struct mss_person p;
	int r = mss_snapshot_person(snap, arg, strlen(arg), &p);

	if (r < 0) {
		mss_error("snapshot corrupt at person %s", arg);
		return MSSCTL_ERROR;
	}
	if (r == 0) {
		if (!json)
			printf("person %s: not found\n", arg);
		return MSSCTL_NOT_FOUND;
	}
	if (json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "idnat", jslice(p.idnat));
		json_object_object_add(o, "status", json_object_new_string(status_word(p.status)));
		json_object_object_add(o, "name", jslice(p.name));
		json_object_object_add(o, "ldap_dn", jslice(p.ldap_dn));
		json_object_object_add(o, "bals", jlist(p.bals));
		print_json(o);
	} else {
		printf("person %.*s\n  status: %s\n  name: %.*s\n  ldap dn: %.*s\n  bals: %.*s\n", (int)p.idnat.len,
		       p.idnat.p, status_word(p.status), (int)p.name.len, p.name.p, (int)p.ldap_dn.len, p.ldap_dn.p,
		       (int)p.bals.len, p.bals.p);
	}
	return MSSCTL_OK;
}

int mssctl_lookup(const char *conf, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"snapshot", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	const char *path = NULL;
	struct mss_config *cfg;
	struct mss_snapshot *snap;
	unsigned flags;
	char err[1024];
	bool json = false;
	int c, ret;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 's': path = optarg; break;
		case 'j': json = true; break;
		default: return MSSCTL_ERROR;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "usage: mssctl lookup [--snapshot FILE] [--json] (domain DOMAIN | bal ADDRESS | "
				"person IDNAT | uid N)\n");
		return MSSCTL_ERROR;
	}
	if (mssctl_load_config(conf, &cfg) < 0)
		return MSSCTL_ERROR;
	/* An explicitly named file is the administrator's choice; the configured one gets the
	   same owner check as the modules. */
	flags = path != NULL || !mss_config_bool(cfg, MSS_OPT_DIRECTORY_SNAPSHOT_OWNER_CHECK) ? MSS_SNAPSHOT_ANY_OWNER
											      : 0;
	if (path == NULL)
		path = mss_config_str(cfg, MSS_OPT_DIRECTORY_SNAPSHOT);
	if (mss_snapshot_open(path, flags, &snap, err, sizeof(err)) < 0) {
		mss_error("%s", err);
		mss_config_free(cfg);
		return MSSCTL_ERROR;
	}
	if (strcmp(argv[optind], "domain") == 0)
		ret = lookup_domain(snap, argv[optind + 1], json);
	else if (strcmp(argv[optind], "bal") == 0)
		ret = lookup_bal(snap, argv[optind + 1], json);
	else if (strcmp(argv[optind], "person") == 0)
		ret = lookup_person(snap, argv[optind + 1], json);
	else if (strcmp(argv[optind], "uid") == 0)
		ret = lookup_uid(snap, argv[optind + 1], json);
	else {
		mss_error("unknown lookup kind '%s' (domain, bal, person or uid)", argv[optind]);
		ret = MSSCTL_ERROR;
	}
	mss_snapshot_close(snap);
	mss_config_free(cfg);
	return ret;
}

void mssctl_print_sync_report(const struct mss_sync_report *rep, const char *output, bool json)
{
	if (json) {
		json_object *o = json_object_new_object();
		json_object *types = json_object_new_object();

		json_object_object_add(o, "snapshot", json_object_new_string(output));
		json_object_object_add(o, "bytes", json_object_new_int64((int64_t)rep->bytes));
		json_object_object_add(o, "seconds", json_object_new_double(rep->seconds));
		json_object_object_add(o, "bals", json_object_new_int64((int64_t)rep->bals));
		for (int t = 0; t < MSS_BAL_TYPES; t++)
			json_object_object_add(types, mss_bal_type_names[t],
					       json_object_new_int64((int64_t)rep->bals_by_type[t]));
		json_object_object_add(o, "bals_by_type", types);
		json_object_object_add(o, "bals_ldap", json_object_new_int64((int64_t)rep->bals_ldap));
		json_object_object_add(o, "bals_extraction", json_object_new_int64((int64_t)rep->bals_extraction));
		json_object_object_add(o, "bals_suspended", json_object_new_int64((int64_t)rep->bals_suspended));
		json_object_object_add(o, "persons", json_object_new_int64((int64_t)rep->persons));
		json_object_object_add(o, "apps", json_object_new_int64((int64_t)rep->apps));
		json_object_object_add(o, "groups", json_object_new_int64((int64_t)rep->groups));
		json_object_object_add(o, "trust_domains_listed", json_object_new_int64((int64_t)rep->trust_names));
		json_object_object_add(o, "trust_domains", json_object_new_int64((int64_t)rep->trust_domains));
		json_object_object_add(o, "trust_entries_skipped", json_object_new_int64((int64_t)rep->trust_skipped));
		json_object_object_add(o, "trust_entries", json_object_new_int64((int64_t)rep->trust_entries));
		json_object_object_add(o, "trust_generated", json_object_new_string(rep->trust_generated));
		json_object_object_add(o, "extraction_rows", json_object_new_int64((int64_t)rep->extraction_rows));
		json_object_object_add(o, "extraction_bad_rows", json_object_new_int64((int64_t)rep->extraction_bad));
		json_object_object_add(o, "uids_kept", json_object_new_int64((int64_t)rep->uids_kept));
		json_object_object_add(o, "uids_new", json_object_new_int64((int64_t)rep->uids_new));
		print_json(o);
		return;
	}
	printf("snapshot %s published: %llu bytes in %.2f s\n", output, rep->bytes, rep->seconds);
	printf("  trust list: %zu domains, %zu operator entries, generated %s%s\n", rep->trust_names,
	       rep->trust_entries, rep->trust_generated[0] != '\0' ? rep->trust_generated : "(no date)",
	       rep->trust_missing_end_tag ? " (closing tag missing, tolerated)" : "");
	if (rep->trust_skipped > 0 || rep->trust_duplicates > 0 || rep->trust_names != rep->trust_domains)
		printf("    %zu domains usable; %zu entries skipped, %zu duplicates merged (see the warnings above)\n",
		       rep->trust_domains, rep->trust_skipped, rep->trust_duplicates);
	printf("  BALs: %zu (PER %zu, ORG %zu, APP %zu, CAB %zu; %zu suspended) — %zu from LDAP, %zu from the "
	       "extraction\n",
	       rep->bals, rep->bals_by_type[MSS_BAL_PER], rep->bals_by_type[MSS_BAL_ORG], rep->bals_by_type[MSS_BAL_APP],
	       rep->bals_by_type[MSS_BAL_CAB], rep->bals_suspended, rep->bals_ldap, rep->bals_extraction);
	if (rep->ldap_skipped > 0)
		printf("  LDAP: %zu entries skipped (see the warnings above)\n", rep->ldap_skipped);
	if (rep->extraction_rows > 0)
		printf("  extraction: %lu rows, %lu bad rows skipped\n", rep->extraction_rows, rep->extraction_bad);
	printf("  persons: %zu, applications: %zu, groups: %zu, local domains: %zu\n", rep->persons, rep->apps,
	       rep->groups, rep->local_domains);
	printf("  uids: %zu kept, %zu mapped, %zu new, %zu moved\n", rep->uids_kept, rep->uids_mapped, rep->uids_new,
	       rep->uids_moved);
	if (rep->had_previous)
		printf("  replaced a snapshot of %zu BALs\n", rep->previous_bals);
	if (rep->tls_policy_written)
		printf("  Postfix TLS policy table rewritten from the trust list\n");
}
