/* The fictional world of the milter's unit tests (tests/unit/test_policy.c and
   test_milter_*.c), written as a real snapshot with the real writer: the hospital of
   tests/fixtures/hopital.ldif and the trust list of tests/fixtures/trust/hopital-test.xml.
 *
 *   local domain  hopital-test.mssante.fr
 *   persons       810003461033 (Jean Martin), 810100000017 (Sophie Durand), 810100000025
 *                 (Pierre Bernard), 810100000041 (Thomas Moreau), 810100000033 (Alice Leroy,
 *                 suspended)
 *   BALs          jean.martin@ PER (810003461033), sophie.durand@ PER (810100000017),
 *                 alice.leroy@ PER (810100000033), cardiologie@ ORG (810003461033,
 *                 810100000017, 810100000041), urgences@ ORG (810100000025),
 *                 ancien-service@ ORG suspended, dpi@ APP, claire.vasseur@ from the national
 *                 extraction (not hosted here)   — all @hopital-test.mssante.fr
 *   trust list    hopital-test.mssante.fr: mail.hopital-test.fr; ch-valmont.mssante.fr:
 *                 mss.ch-valmont.fr, mss2.ch-valmont.fr; patient.mssante.fr: mx.patient-test.fr
 */
#ifndef MILTER_WORLD_H
#define MILTER_WORLD_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "snapshot.h"

#define W_DOMAIN "hopital-test.mssante.fr"
#define W_JMARTIN "810003461033"
#define W_SDURAND "810100000017"
#define W_PBERNARD "810100000025"
#define W_TMOREAU "810100000041"
#define W_ALEROY "810100000033"
#define W_APP_DN "CN=dpi.hopital-test.fr,OU=31234567800019,O=CH TEST,ST=Paris (75),C=FR"

static void world_put(struct mss_snapshot_writer *w, char kind, const char *key, const char *const *f, size_t n)
{
	char err[256];

	if (mss_snapshot_put_fields(w, kind, key, f, n, err, sizeof(err)) < 0) {
		fprintf(stderr, "world: put %c %s: %s\n", kind, key, err);
		abort();
	}
}

static void world_bal(struct mss_snapshot_writer *w, const char *local, const char *type, const char *status,
		      const char *uid, const char *source, const char *owner, const char *delegates,
		      const char *app_subject)
{
	char key[128];
	const char *f[9] = {type, status, uid, source, owner, local, delegates, app_subject, ""};

	snprintf(key, sizeof(key), "%s@" W_DOMAIN, local);
	world_put(w, 'B', key, f, 9);
}

static void world_person(struct mss_snapshot_writer *w, const char *idnat, const char *status, const char *bals)
{
	const char *f[4] = {status, idnat, "", bals};

	world_put(w, 'P', idnat, f, 4);
}

static void world_trust(struct mss_snapshot_writer *w, const char *domain, const char *cn, const char *ou,
			const char *o)
{
	char dn[256];
	const char *f[7];

	snprintf(dn, sizeof(dn), "CN=%s,OU=%s,O=%s,ST=Paris (75),C=FR", cn, ou, o);
	f[0] = dn;
	f[1] = cn;
	f[2] = ou;
	f[3] = o;
	f[4] = "";
	f[5] = "";
	f[6] = dn;
	world_put(w, 'D', domain, f, 7);
}

/* Writes the world to PATH, built at BUILT (Unix time). Aborts on error. */
static void world_write(const char *path, time_t built)
{
	struct mss_snapshot_writer *w;
	char err[256], b[32];
	const char *meta[] = {"format", MSS_SNAPSHOT_FORMAT};

	if (mss_snapshot_writer_open(path, &w, err, sizeof(err)) < 0) {
		fprintf(stderr, "world: %s\n", err);
		abort();
	}
	world_put(w, 'M', meta[0], meta + 1, 1);
	snprintf(b, sizeof(b), "%lld", (long long)built);
	{
		const char *v[] = {b};

		world_put(w, 'M', "built", v, 1);
	}
	world_bal(w, "jean.martin", "PER", "A", "200500", "L", W_JMARTIN, "", "");
	world_bal(w, "sophie.durand", "PER", "A", "200501", "L", W_SDURAND, "", "");
	world_bal(w, "alice.leroy", "PER", "A", "200502", "L", W_ALEROY, "", "");
	world_bal(w, "cardiologie", "ORG", "A", "200503", "L", "", W_JMARTIN "," W_SDURAND "," W_TMOREAU, "");
	world_bal(w, "urgences", "ORG", "A", "200504", "L", "", W_PBERNARD, "");
	world_bal(w, "ancien-service", "ORG", "S", "200505", "L", "", W_PBERNARD, "");
	world_bal(w, "dpi", "APP", "A", "200506", "L", "", "", W_APP_DN);
	world_bal(w, "claire.vasseur", "PER", "A", "", "X", "", "", "");
	world_person(w, W_JMARTIN, "A", "jean.martin@" W_DOMAIN ",cardiologie@" W_DOMAIN);
	world_person(w, W_SDURAND, "A", "sophie.durand@" W_DOMAIN ",cardiologie@" W_DOMAIN);
	world_person(w, W_PBERNARD, "A", "urgences@" W_DOMAIN);
	world_person(w, W_TMOREAU, "A", "cardiologie@" W_DOMAIN);
	world_person(w, W_ALEROY, "S", "alice.leroy@" W_DOMAIN);
	world_trust(w, W_DOMAIN, "mail.hopital-test.fr", "31234567800019", "CH TEST");
	world_trust(w, "ch-valmont.mssante.fr", "mss.ch-valmont.fr", "1990000001", "CH DE VALMONT");
	world_trust(w, "ch-valmont.mssante.fr", "mss2.ch-valmont.fr", "1990000001", "CH DE VALMONT");
	world_trust(w, "patient.mssante.fr", "mx.patient-test.fr", "300000000099999", "OPERATEUR PATIENTS TEST");
	if (mss_snapshot_put(w, 'L', W_DOMAIN, strlen(W_DOMAIN), "", 0, err, sizeof(err)) < 0) {
		fprintf(stderr, "world: %s\n", err);
		abort();
	}
	if (mss_snapshot_writer_commit(w, err, sizeof(err)) < 0) {
		fprintf(stderr, "world: %s\n", err);
		mss_snapshot_writer_abort(w);
		abort();
	}
}

#endif
