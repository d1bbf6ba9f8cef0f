/* The BAL authorisation rule; see access.h. Every path that does not reach an explicit
   ALLOW returns a refusal. */
#include "access.h"

#include <string.h>

#include "dn.h"

static bool slice_eq(struct mss_slice s, const char *str)
{
	size_t len = strlen(str);

	return s.len == len && memcmp(s.p, str, len) == 0;
}

static bool list_has(struct mss_slice list, const char *item)
{
	size_t ilen = strlen(item), start = 0;

	for (size_t i = 0; i <= list.len; i++) {
		if (i == list.len || list.p[i] == ',') {
			if (i - start == ilen && memcmp(list.p + start, item, ilen) == 0)
				return true;
			start = i + 1;
		}
	}
	return false;
}

/* Common to both: the BAL must exist, be active and be hosted here. */
static enum mss_access load_bal(const struct mss_snapshot *snap, const char *bal_address, struct mss_bal *bal)
{
	int r;

	if (snap == NULL || bal_address == NULL)
		return MSS_ACCESS_ERROR;
	r = mss_snapshot_bal(snap, bal_address, strlen(bal_address), bal);
	if (r < 0)
		return MSS_ACCESS_ERROR;
	if (r == 0)
		return MSS_ACCESS_UNKNOWN_BAL;
	if (bal->status != 'A')
		return MSS_ACCESS_SUSPENDED_BAL;
	if (bal->source != 'L')
		return MSS_ACCESS_NOT_LOCAL_BAL;
	return MSS_ACCESS_ALLOW;
}

enum mss_access mss_access_person(const struct mss_snapshot *snap, const char *bal_address, const char *idnat,
				  struct mss_bal *bal_r)
{
	struct mss_bal local, *bal = bal_r != NULL ? bal_r : &local;
	struct mss_person person;
	enum mss_access a;
	int r;

	if (idnat == NULL || idnat[0] == '\0' || strchr(idnat, ',') != NULL)
		return MSS_ACCESS_ERROR;
	a = load_bal(snap, bal_address, bal);
	if (a != MSS_ACCESS_ALLOW)
		return a;
	if (slice_eq(bal->type, "APP"))
		return MSS_ACCESS_APP_NOT_A_PERSON;
	r = mss_snapshot_person(snap, idnat, strlen(idnat), &person);
	if (r < 0)
		return MSS_ACCESS_ERROR;
	if (r == 0)
		return MSS_ACCESS_UNKNOWN_PERSON;
	if (person.status != 'A')
		return MSS_ACCESS_SUSPENDED_PERSON;
	if (slice_eq(bal->type, "PER"))
		return slice_eq(bal->owner, idnat) ? MSS_ACCESS_ALLOW : MSS_ACCESS_NOT_OWNER;
	if (slice_eq(bal->type, "ORG") || slice_eq(bal->type, "CAB"))
		return list_has(bal->delegates, idnat) ? MSS_ACCESS_ALLOW : MSS_ACCESS_NOT_DELEGATE;
	return MSS_ACCESS_ERROR;
}

enum mss_access mss_access_application(const struct mss_snapshot *snap, const char *bal_address, const char *cert_dn,
				       struct mss_bal *bal_r)
{
	struct mss_bal local, *bal = bal_r != NULL ? bal_r : &local;
	char norm[MSS_DN_MAX];
	const char *error;
	enum mss_access a;

	if (cert_dn == NULL || mss_dn_normalize_str(cert_dn, strlen(cert_dn), norm, sizeof(norm), &error) < 0)
		return MSS_ACCESS_ERROR;
	a = load_bal(snap, bal_address, bal);
	if (a != MSS_ACCESS_ALLOW)
		return a;
	if (!slice_eq(bal->type, "APP"))
		return MSS_ACCESS_NOT_AN_APP;
	if (bal->app_subject.len == 0 || !slice_eq(bal->app_subject, norm))
		return MSS_ACCESS_WRONG_APP;
	return MSS_ACCESS_ALLOW;
}

static const struct {
	const char *code;
	const char *reason;
} access_texts[] = {
	[MSS_ACCESS_ALLOW] = {"allowed", "access allowed"},
	[MSS_ACCESS_UNKNOWN_BAL] = {"unknown_bal", "no such BAL in the directory"},
	[MSS_ACCESS_SUSPENDED_BAL] = {"suspended_bal", "this BAL is suspended"},
	[MSS_ACCESS_NOT_LOCAL_BAL] = {"not_local_bal", "this BAL is not hosted here"},
	[MSS_ACCESS_UNKNOWN_PERSON] = {"unknown_person", "this person is not in the hospital's directory"},
	[MSS_ACCESS_SUSPENDED_PERSON] = {"suspended_person", "this person's account is suspended"},
	[MSS_ACCESS_NOT_OWNER] = {"not_owner", "a personal BAL is open to its holder only"},
	[MSS_ACCESS_NOT_DELEGATE] = {"not_delegate", "this person is not a delegate of this organisational BAL"},
	[MSS_ACCESS_APP_NOT_A_PERSON] = {"app_not_a_person",
					 "an applicative BAL is used by its application's certificate, never by a person"},
	[MSS_ACCESS_NOT_AN_APP] = {"not_an_app", "a certificate identity may only use an applicative BAL"},
	[MSS_ACCESS_WRONG_APP] = {"wrong_app", "this certificate is not the application registered for this BAL"},
	[MSS_ACCESS_ERROR] = {"internal_error", "internal error while checking access"},
};

const char *mss_access_reason(enum mss_access a)
{
	return (unsigned)a < sizeof(access_texts) / sizeof(access_texts[0]) ? access_texts[a].reason
									     : access_texts[MSS_ACCESS_ERROR].reason;
}

const char *mss_access_code(enum mss_access a)
{
	return (unsigned)a < sizeof(access_texts) / sizeof(access_texts[0]) ? access_texts[a].code
									     : access_texts[MSS_ACCESS_ERROR].code;
}
