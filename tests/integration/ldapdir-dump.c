/* ldapdir-dump CONFIG: prints what mss_ldap_read_directory returns, one line per entry,
   for the integration tests. Fields are '|'-separated `key=value`:
     person|idnat=...|status=active|suspended|name=...|dn=...
     bal|address=...|type=...|status=...|uid=N or -|name=...|owner=DN or -|delegates=DN;DN or -|app_subject=... or -|dn=...
     skipped|dn=...|reason=...
     summary|persons=N|bals=N|skipped=N
   Exit 0 when read, 1 on error (message on stderr), 2 on usage or configuration error. */
#include "config.h"
#include "ldapdir.h"

#include <stdio.h>

static const char *or_dash(const char *s)
{
	return s != NULL ? s : "-";
}

static void print_bal(const struct mss_dir_bal *b)
{
	printf("bal|address=%s|type=%s|status=%s|uid=", b->address, b->type, b->suspended ? "suspended" : "active");
	if (b->uid >= 0)
		printf("%lld", b->uid);
	else
		fputs("-", stdout);
	printf("|name=%s|owner=%s|delegates=", b->name, or_dash(b->owner_dn));
	if (b->n_delegates == 0)
		fputs("-", stdout);
	for (size_t i = 0; i < b->n_delegates; i++)
		printf("%s%s", i > 0 ? ";" : "", b->delegate_dns[i]);
	printf("|app_subject=%s|dn=%s\n", or_dash(b->app_subject), b->dn);
}

int main(int argc, char **argv)
{
	struct mss_config *cfg = NULL;
	struct mss_directory *dir = NULL;
	char err[1024];

	if (argc != 2) {
		fprintf(stderr, "usage: ldapdir-dump CONFIG\n");
		return 2;
	}
	if (mss_config_load(argv[1], &cfg, err, sizeof err) < 0) {
		fprintf(stderr, "ldapdir-dump: %s\n", err);
		return 2;
	}
	if (mss_ldap_read_directory(cfg, &dir, err, sizeof err) < 0) {
		fprintf(stderr, "ldapdir-dump: error: %s\n", err);
		mss_config_free(cfg);
		return 1;
	}
	for (size_t i = 0; i < dir->n_persons; i++) {
		const struct mss_dir_person *p = &dir->persons[i];

		printf("person|idnat=%s|status=%s|name=%s|dn=%s\n", p->idnat, p->suspended ? "suspended" : "active",
		       p->name, p->dn);
	}
	for (size_t i = 0; i < dir->n_bals; i++)
		print_bal(&dir->bals[i]);
	for (size_t i = 0; i < dir->n_skipped; i++)
		printf("skipped|dn=%s|reason=%s\n", dir->skipped[i].dn, dir->skipped[i].reason);
	printf("summary|persons=%zu|bals=%zu|skipped=%zu\n", dir->n_persons, dir->n_bals, dir->n_skipped);
	mss_directory_free(dir);
	mss_config_free(cfg);
	return 0;
}
