/* Writes a synthetic ANS `Extraction_Correspondance_MSSante` file for benchmarks and tests:
   the real 31-column '|'-separated UTF-8 layout, ~170 bytes a row, PER ~85% / ORG ~15%,
   unique addresses, idNat_PS '8' + 11 digits for PER. Deterministic for a given seed.
   All names are drawn from common French first names and surnames; no real person.

     gen-extraction N [FILE|-] [SEED]

   Standalone on purpose (plain C, no project library): the bench must not depend on the
   code it measures. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

struct name {
	const char *display; /* as published (UTF-8) */
	const char *ascii;   /* as in an address */
};

static const struct name first_names[] = {
	{ "Jean", "jean" }, { "Marie", "marie" }, { "Pierre", "pierre" }, { "Anne", "anne" },
	{ "Michel", "michel" }, { "Catherine", "catherine" }, { "Philippe", "philippe" },
	{ "Isabelle", "isabelle" }, { "Alain", "alain" }, { "Sylvie", "sylvie" }, { "Nicolas", "nicolas" },
	{ "Nathalie", "nathalie" }, { "François", "francois" }, { "Françoise", "francoise" },
	{ "Éric", "eric" }, { "Hélène", "helene" }, { "Stéphane", "stephane" }, { "Céline", "celine" },
	{ "Frédéric", "frederic" }, { "Valérie", "valerie" }, { "Laurent", "laurent" }, { "Sophie", "sophie" },
	{ "Olivier", "olivier" }, { "Christine", "christine" }, { "Christophe", "christophe" },
	{ "Sandrine", "sandrine" }, { "Thierry", "thierry" }, { "Véronique", "veronique" },
	{ "Patrick", "patrick" }, { "Julie", "julie" }, { "Julien", "julien" }, { "Camille", "camille" },
	{ "Thomas", "thomas" }, { "Claire", "claire" }, { "Antoine", "antoine" }, { "Émilie", "emilie" },
	{ "Guillaume", "guillaume" }, { "Aurélie", "aurelie" }, { "Mathieu", "mathieu" },
	{ "Élodie", "elodie" }, { "Sébastien", "sebastien" }, { "Laure", "laure" }, { "Vincent", "vincent" },
	{ "Caroline", "caroline" }, { "Benoît", "benoit" }, { "Agnès", "agnes" }, { "Jérôme", "jerome" },
	{ "Mélanie", "melanie" }, { "David", "david" }, { "Chloé", "chloe" }, { "Hugo", "hugo" },
	{ "Léa", "lea" }, { "Louis", "louis" }, { "Manon", "manon" }, { "Lucas", "lucas" },
	{ "Inès", "ines" }, { "Arnaud", "arnaud" }, { "Pauline", "pauline" }, { "Cédric", "cedric" },
	{ "Margaux", "margaux" }, { "Rémi", "remi" }, { "Noémie", "noemie" }, { "Yves", "yves" },
	{ "Odile", "odile" }, { "Bruno", "bruno" }, { "Josiane", "josiane" }, { "Gérard", "gerard" },
	{ "Monique", "monique" }, { "Bernard", "bernard" }, { "Brigitte", "brigitte" }, { "Xavier", "xavier" },
	{ "Delphine", "delphine" }, { "Fabrice", "fabrice" }, { "Virginie", "virginie" },
	{ "Grégoire", "gregoire" }, { "Solène", "solene" }, { "Maxime", "maxime" }, { "Anaïs", "anais" },
	{ "Romain", "romain" }, { "Océane", "oceane" }, { "Adrien", "adrien" }, { "Justine", "justine" },
	{ "Damien", "damien" }, { "Amélie", "amelie" }, { "Florian", "florian" }, { "Estelle", "estelle" },
	{ "Benjamin", "benjamin" }, { "Gaëlle", "gaelle" }, { "Baptiste", "baptiste" }, { "Lucie", "lucie" },
	{ "Jean-Marc", "jean-marc" }, { "Marie-Claire", "marie-claire" }, { "Anne-Sophie", "anne-sophie" },
	{ "Jean-Luc", "jean-luc" }, { "Marie-Hélène", "marie-helene" }, { "Loïc", "loic" },
	{ "Clémence", "clemence" }, { "Hervé", "herve" }, { "Mireille", "mireille" }, { "Joël", "joel" },
};

static const struct name surnames[] = {
	{ "MARTIN", "martin" }, { "BERNARD", "bernard" }, { "THOMAS", "thomas" }, { "PETIT", "petit" },
	{ "ROBERT", "robert" }, { "RICHARD", "richard" }, { "DURAND", "durand" }, { "DUBOIS", "dubois" },
	{ "MOREAU", "moreau" }, { "LAURENT", "laurent" }, { "SIMON", "simon" }, { "MICHEL", "michel" },
	{ "LEFÈVRE", "lefevre" }, { "LEROY", "leroy" }, { "ROUX", "roux" }, { "DAVID", "david" },
	{ "BERTRAND", "bertrand" }, { "MOREL", "morel" }, { "FOURNIER", "fournier" }, { "GIRARD", "girard" },
	{ "BONNET", "bonnet" }, { "DUPONT", "dupont" }, { "LAMBERT", "lambert" }, { "FONTAINE", "fontaine" },
	{ "ROUSSEAU", "rousseau" }, { "VINCENT", "vincent" }, { "MULLER", "muller" }, { "LEFEBVRE", "lefebvre" },
	{ "FAURE", "faure" }, { "ANDRÉ", "andre" }, { "MERCIER", "mercier" }, { "BLANC", "blanc" },
	{ "GUÉRIN", "guerin" }, { "BOYER", "boyer" }, { "GARNIER", "garnier" }, { "CHEVALIER", "chevalier" },
	{ "FRANÇOIS", "francois" }, { "LEGRAND", "legrand" }, { "GAUTHIER", "gauthier" },
	{ "GARCIA", "garcia" }, { "PERRIN", "perrin" }, { "ROBIN", "robin" }, { "CLÉMENT", "clement" },
	{ "MORIN", "morin" }, { "NICOLAS", "nicolas" }, { "HENRY", "henry" }, { "ROUSSEL", "roussel" },
	{ "MATHIEU", "mathieu" }, { "GAUTIER", "gautier" }, { "MASSON", "masson" }, { "MARCHAND", "marchand" },
	{ "DUVAL", "duval" }, { "DENIS", "denis" }, { "DUMONT", "dumont" }, { "MARIE", "marie" },
	{ "LEMAIRE", "lemaire" }, { "NOËL", "noel" }, { "MEYER", "meyer" }, { "DUFOUR", "dufour" },
	{ "MEUNIER", "meunier" }, { "BRUN", "brun" }, { "BLANCHARD", "blanchard" }, { "GIRAUD", "giraud" },
	{ "JOLY", "joly" }, { "RIVIÈRE", "riviere" }, { "LUCAS", "lucas" }, { "BRUNET", "brunet" },
	{ "GAILLARD", "gaillard" }, { "BARBIER", "barbier" }, { "ARNAUD", "arnaud" }, { "MARTINEZ", "martinez" },
	{ "GÉRARD", "gerard" }, { "ROCHE", "roche" }, { "RENARD", "renard" }, { "SCHMITT", "schmitt" },
	{ "ROY", "roy" }, { "LEROUX", "leroux" }, { "COLIN", "colin" }, { "VIDAL", "vidal" },
	{ "CARON", "caron" }, { "PICARD", "picard" }, { "ROGER", "roger" }, { "FABRE", "fabre" },
	{ "AUBERT", "aubert" }, { "LEMOINE", "lemoine" }, { "RENAUD", "renaud" }, { "DUMAS", "dumas" },
	{ "LACROIX", "lacroix" }, { "OLIVIER", "olivier" }, { "PHILIPPE", "philippe" },
	{ "BOURGEOIS", "bourgeois" }, { "PIERRE", "pierre" }, { "BENOÎT", "benoit" }, { "REY", "rey" },
	{ "LECLERC", "leclerc" }, { "PAYET", "payet" }, { "ROLLAND", "rolland" }, { "LECLERCQ", "leclercq" },
	{ "GUILLAUME", "guillaume" }, { "LECOMTE", "lecomte" }, { "LOPEZ", "lopez" }, { "JEAN", "jean" },
	{ "DUPUY", "dupuy" }, { "GUILLOT", "guillot" }, { "HUBERT", "hubert" }, { "BERGER", "berger" },
	{ "CARPENTIER", "carpentier" }, { "SANCHEZ", "sanchez" }, { "DUPUIS", "dupuis" }, { "MOULIN", "moulin" },
	{ "LOUIS", "louis" }, { "DESCHAMPS", "deschamps" }, { "HUET", "huet" }, { "VASSEUR", "vasseur" },
	{ "PEREZ", "perez" }, { "BOUCHER", "boucher" }, { "FLEURY", "fleury" }, { "ROYER", "royer" },
	{ "KLEIN", "klein" }, { "JACQUET", "jacquet" }, { "ADAM", "adam" }, { "PARIS", "paris" },
	{ "POIRIER", "poirier" }, { "MARTY", "marty" }, { "AUBRY", "aubry" }, { "GUYOT", "guyot" },
	{ "CARRÉ", "carre" }, { "CHARLES", "charles" }, { "RENAULT", "renault" }, { "CHARPENTIER", "charpentier" },
	{ "MÉNARD", "menard" }, { "MAILLARD", "maillard" }, { "BARON", "baron" }, { "BERTIN", "bertin" },
	{ "BAILLY", "bailly" }, { "HERVÉ", "herve" }, { "SCHNEIDER", "schneider" }, { "FERNANDEZ", "fernandez" },
	{ "LE GALL", "le-gall" }, { "COLLET", "collet" }, { "LÉGER", "leger" }, { "BOUVIER", "bouvier" },
	{ "JULIEN", "julien" }, { "PRÉVOST", "prevost" }, { "MILLET", "millet" }, { "PERROT", "perrot" },
	{ "DANIEL", "daniel" }, { "LE ROUX", "le-roux" }, { "COUSIN", "cousin" }, { "GERMAIN", "germain" },
	{ "BRETON", "breton" }, { "BESSON", "besson" }, { "LANGLOIS", "langlois" }, { "RÉMY", "remy" },
	{ "LE GOFF", "le-goff" }, { "PELLETIER", "pelletier" }, { "LÉVÊQUE", "leveque" }, { "PERRIER", "perrier" },
	{ "LEBLANC", "leblanc" }, { "BARRÉ", "barre" }, { "LEBRUN", "lebrun" }, { "MARCHAL", "marchal" },
	{ "WEBER", "weber" }, { "MALLET", "mallet" }, { "HAMON", "hamon" }, { "BOULANGER", "boulanger" },
	{ "JACOB", "jacob" }, { "MONNIER", "monnier" }, { "MICHAUD", "michaud" }, { "RODRIGUEZ", "rodriguez" },
	{ "GUICHARD", "guichard" }, { "GILLET", "gillet" }, { "ÉTIENNE", "etienne" }, { "GRONDIN", "grondin" },
	{ "POULAIN", "poulain" }, { "TESSIER", "tessier" }, { "CHEVALLIER", "chevallier" },
	{ "COLLIN", "collin" }, { "CHAUVIN", "chauvin" }, { "DA SILVA", "da-silva" }, { "BOUCHET", "bouchet" },
	{ "GAY", "gay" }, { "LEMAÎTRE", "lemaitre" }, { "BÉNARD", "benard" }, { "MARÉCHAL", "marechal" },
	{ "HUMBERT", "humbert" }, { "REYNAUD", "reynaud" }, { "ANTOINE", "antoine" }, { "HOARAU", "hoarau" },
	{ "PERRET", "perret" }, { "BARTHÉLÉMY", "barthelemy" }, { "CORDIER", "cordier" }, { "PICHON", "pichon" },
};

struct city {
	const char *name;  /* display, upper case as in ligne_acheminement */
	const char *slug;  /* in domain names */
	const char *postcode;
	const char *dept;
};

static const struct city cities[] = {
	{ "PARIS", "paris", "75013", "75" }, { "LYON", "lyon", "69003", "69" },
	{ "MARSEILLE", "marseille", "13005", "13" }, { "TOULOUSE", "toulouse", "31059", "31" },
	{ "NICE", "nice", "06000", "06" }, { "NANTES", "nantes", "44093", "44" },
	{ "STRASBOURG", "strasbourg", "67091", "67" }, { "MONTPELLIER", "montpellier", "34295", "34" },
	{ "BORDEAUX", "bordeaux", "33076", "33" }, { "LILLE", "lille", "59037", "59" },
	{ "RENNES", "rennes", "35033", "35" }, { "REIMS", "reims", "51092", "51" },
	{ "SAINT-ÉTIENNE", "saint-etienne", "42055", "42" }, { "TOULON", "toulon", "83100", "83" },
	{ "LE HAVRE", "le-havre", "76083", "76" }, { "GRENOBLE", "grenoble", "38043", "38" },
	{ "DIJON", "dijon", "21079", "21" }, { "ANGERS", "angers", "49933", "49" },
	{ "NÎMES", "nimes", "30029", "30" }, { "CLERMONT-FERRAND", "clermont-ferrand", "63003", "63" },
	{ "LE MANS", "le-mans", "72037", "72" }, { "AIX-EN-PROVENCE", "aix-en-provence", "13616", "13" },
	{ "BREST", "brest", "29609", "29" }, { "TOURS", "tours", "37044", "37" },
	{ "AMIENS", "amiens", "80054", "80" }, { "LIMOGES", "limoges", "87042", "87" },
	{ "ANNECY", "annecy", "74374", "74" }, { "PERPIGNAN", "perpignan", "66046", "66" },
	{ "BESANÇON", "besancon", "25030", "25" }, { "METZ", "metz", "57085", "57" },
	{ "ORLÉANS", "orleans", "45067", "45" }, { "ROUEN", "rouen", "76031", "76" },
	{ "CAEN", "caen", "14033", "14" }, { "MULHOUSE", "mulhouse", "68070", "68" },
	{ "NANCY", "nancy", "54035", "54" }, { "POITIERS", "poitiers", "86021", "86" },
	{ "PAU", "pau", "64046", "64" }, { "LA ROCHELLE", "la-rochelle", "17019", "17" },
	{ "VALENCE", "valence", "26953", "26" }, { "QUIMPER", "quimper", "29107", "29" },
};

/* National domains of liberal professionals, then per-city hospital domains. */
static const char *const national_domains[] = {
	"medecin.mssante.fr",	 "pharmacien.mssante.fr",	 "infirmier.mssante.fr",
	"sagefemme.mssante.fr", "chirurgien-dentiste.mssante.fr", "masseur-kinesitherapeute.mssante.fr",
	"pedicure-podologue.mssante.fr",
};
static const char *const hospital_kinds[] = { "ch", "chu", "clinique" };
static const char *const hospital_names[] = { "CENTRE HOSPITALIER DE", "CHU DE", "CLINIQUE DE" };

struct profession {
	const char *code, *label, *sf_code, *sf_label;
};

static const struct profession professions[] = {
	{ "10", "Médecin", "SM54", "Médecine générale (SM)" },
	{ "10", "Médecin", "SM04", "Cardiologie et maladies vasculaires" },
	{ "10", "Médecin", "SM26", "Qualifié en Médecine Générale" },
	{ "10", "Médecin", "SM02", "Anesthésie-réanimation" },
	{ "21", "Pharmacien", "", "" },
	{ "60", "Infirmier", "", "" },
	{ "50", "Sage-Femme", "", "" },
	{ "40", "Chirurgien-Dentiste", "", "" },
	{ "70", "Masseur-Kinésithérapeute", "", "" },
	{ "80", "Pédicure-Podologue", "", "" },
};

static const char *const services[][2] = {
	{ "secretariat.cardiologie", "Cardiologie" },	 { "secretariat.pediatrie", "Pédiatrie" },
	{ "accueil.urgences", "Urgences" },		 { "imagerie", "Imagerie médicale" },
	{ "laboratoire", "Laboratoire de biologie" },	 { "pharmacie.pui", "Pharmacie à usage intérieur" },
	{ "service.oncologie", "Oncologie" },		 { "secretariat.maternite", "Maternité" },
	{ "dim", "Département d'information médicale" }, { "service.neurologie", "Neurologie" },
	{ "consultations.externes", "Consultations externes" },
	{ "secretariat.chirurgie", "Chirurgie viscérale" },
};

static const char *const street_types[] = { "R", "AV", "BD", "PL", "CHE", "ALL", "QUAI" };
static const char *const street_names[] = {
	"DE LA RÉPUBLIQUE", "VICTOR HUGO", "JEAN JAURÈS", "DU GÉNÉRAL DE GAULLE", "PASTEUR", "DES LILAS",
	"GAMBETTA", "DE LA GARE", "LÉON BLUM", "DU MARÉCHAL FOCH", "DES ÉCOLES", "SAINT-JACQUES",
};

static uint64_t rng_state;

static uint64_t rng_next(void) /* xorshift64*: fast, deterministic, good enough for fake data */
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(2685821657736338717);
}

static size_t pick(size_t n)
{
	return (size_t)(rng_next() % n);
}

/* A bijection of [0, m): j -> (j * a + b) mod m with gcd(a, m) = 1. Spreads the unique
   combination index over the tables so consecutive rows do not look alike. */
static uint64_t gcd(uint64_t a, uint64_t b)
{
	while (b != 0) {
		uint64_t t = a % b;
		a = b;
		b = t;
	}
	return a;
}

static uint64_t coprime_multiplier(uint64_t m)
{
	uint64_t a = (m * 6180339887u / 10000000000u) | 1;
	while (gcd(a, m) != 1)
		a += 2;
	return a;
}

static size_t n_domains(void)
{
	return COUNT(national_domains) + COUNT(cities) * COUNT(hospital_kinds);
}

/* Domain number d as text, and the structure it belongs to (NULL name for national ones). */
static void domain_of(size_t d, char *out, size_t outlen, const struct city **city_r, size_t *kind_r)
{
	if (d < COUNT(national_domains)) {
		snprintf(out, outlen, "%s", national_domains[d]);
		*city_r = NULL;
		*kind_r = 0;
		return;
	}
	d -= COUNT(national_domains);
	*city_r = &cities[d / COUNT(hospital_kinds)];
	*kind_r = d % COUNT(hospital_kinds);
	snprintf(out, outlen, "%s-%s.mssante.fr", hospital_kinds[*kind_r], (*city_r)->slug);
}

static void put_address_fields(FILE *f, const struct city *c, const char *struct_name, size_t address_percent)
{
	/* complement_localisation, complement_distribution, numero_voie, complement_numero_voie,
	   type_voie, libelle_voie, lieudit_mention, ligne_acheminement, code_postal, departement, pays */
	/* Many BALs publish no postal address (sized so that a row averages ~170 bytes, as
	   the real file does: ~90 MB for ~535,000 rows). */
	if (pick(100) >= address_percent) {
		fputs("||||||||||", f);
		return;
	}
	if (c == NULL)
		c = &cities[pick(COUNT(cities))];
	fprintf(f, "%s||%u|%s|%s|%s||%s %s|%s|%s|", struct_name != NULL && pick(3) == 0 ? "Bâtiment B" : "",
		(unsigned)(1 + pick(120)), pick(10) == 0 ? "B" : "", street_types[pick(COUNT(street_types))],
		street_names[pick(COUNT(street_names))], c->postcode, c->name, c->postcode, c->dept);
}

static void put_digits(FILE *f, size_t n)
{
	char buf[24];

	for (size_t i = 0; i < n; i++)
		buf[i] = (char)('0' + pick(10));
	buf[n] = '\0';
	fputs(buf, f);
}

static void put_row_per(FILE *f, uint64_t j, uint64_t m, uint64_t a)
{
	uint64_t combo = (j % m * a + 12345) % m, suffix = j / m;
	const struct name *fn = &first_names[combo % COUNT(first_names)];
	const struct name *sn = &surnames[combo / COUNT(first_names) % COUNT(surnames)];
	size_t d = (size_t)(combo / COUNT(first_names) / COUNT(surnames));
	const struct profession *pr;
	const struct city *c;
	char domain[80], suffix_text[24] = "", rpps[12];
	bool with_savoir_faire;
	size_t kind;

	domain_of(d, domain, sizeof(domain), &c, &kind);
	/* national domain d is one profession; hospitals employ physicians (0-3), pharmacists and nurses */
	pr = d < COUNT(national_domains) ? &professions[d == 0 ? pick(4) : d + 3] : &professions[pick(6)];
	if (suffix > 0)
		snprintf(suffix_text, sizeof(suffix_text), "%" PRIu64, suffix + 1);
	for (size_t i = 0; i < 11; i++)
		rpps[i] = (char)('0' + (i == 0 ? 1 : pick(10)));
	rpps[11] = '\0';
	/* type_bal .. identification_structure */
	fprintf(f, "PER|%s.%s%s@%s|8|%s|8%s|", fn->ascii, sn->ascii, suffix_text, domain, rpps, rpps);
	if (c != NULL) {
		fputs("1|", f);
		put_digits(f, 9);
		fputc('|', f);
	} else {
		fputs("||", f);
	}
	/* service_rattachement .. dematerialisation; half the hospital staff publish no specialty */
	with_savoir_faire = c == NULL || pick(2) == 0;
	fprintf(f, "|%s|%s|%s|C|Civil|%s|%s|%s|%s|O|", pr->code[0] == '1' ? "DR" : "", sn->display, fn->display,
		pr->code, pr->label, with_savoir_faire ? pr->sf_code : "", with_savoir_faire ? pr->sf_label : "");
	/* raison_sociale_structure_bal, enseigne_commerciale_structure_bal */
	if (c != NULL)
		fprintf(f, "%s %s||", hospital_names[kind], c->name);
	else
		fputs("||", f);
	put_address_fields(f, c, c != NULL ? hospital_names[kind] : NULL, 5);
	fputs("FRANCE\n", f);
}

static void put_row_org(FILE *f, uint64_t j, uint64_t m, uint64_t a)
{
	size_t n_hosp = COUNT(cities) * COUNT(hospital_kinds);
	uint64_t combo = (j % m * a + 777) % m, suffix = j / m;
	size_t s = (size_t)(combo % COUNT(services));
	size_t d = COUNT(national_domains) + (size_t)(combo / COUNT(services) % n_hosp);
	const struct city *c;
	char domain[80], suffix_text[24] = "";
	size_t kind;

	domain_of(d, domain, sizeof(domain), &c, &kind);
	if (suffix > 0)
		snprintf(suffix_text, sizeof(suffix_text), "%" PRIu64, suffix + 1);
	fprintf(f, "ORG|%s%s@%s|||||1", services[s][0], suffix_text, domain);
	put_digits(f, 9);
	fprintf(f, "|%s|||||||||||%s %s||", services[s][1], hospital_names[kind], c->name);
	put_address_fields(f, c, hospital_names[kind], 40);
	fputs("FRANCE\n", f);
}

static const char header[] =
	"type_bal|adresse_bal|type_identifiant_pp|identifiant_pp|identification_nationale_pp|"
	"type_identifiant_structure|identification_structure|service_rattachement|civilite_exercice|"
	"nom_exercice|prenom_exercice|cat_profession|libelle_cat_profession|code_profession|"
	"libelle_profession|code_savoir_faire|libelle_savoir_faire|dematerialisation|"
	"raison_sociale_structure_bal|enseigne_commerciale_structure_bal|complement_localisation|"
	"complement_distribution|numero_voie|complement_numero_voie|type_voie|libelle_voie|lieudit_mention|"
	"ligne_acheminement|code_postal|departement|pays\n";

int main(int argc, char **argv)
{
	uint64_t n, i, n_per = 0, n_org = 0, m_per, m_org, a_per, a_org;
	char *endp;
	FILE *f = stdout;

	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: %s N [FILE|-] [SEED]\n", argv[0]);
		return 2;
	}
	errno = 0;
	n = strtoull(argv[1], &endp, 10);
	if (errno != 0 || *endp != '\0' || argv[1][0] == '-') {
		fprintf(stderr, "%s: bad row count '%s'\n", argv[0], argv[1]);
		return 2;
	}
	rng_state = argc == 4 ? strtoull(argv[3], NULL, 10) : 20250313;
	if (rng_state == 0)
		rng_state = 1;
	if (argc >= 3 && strcmp(argv[2], "-") != 0 && (f = fopen(argv[2], "w")) == NULL) {
		fprintf(stderr, "%s: %s: %s\n", argv[0], argv[2], strerror(errno));
		return 1;
	}
	static char buf[1 << 20];
	setvbuf(f, buf, _IOFBF, sizeof(buf));

	m_per = (uint64_t)COUNT(first_names) * COUNT(surnames) * n_domains();
	m_org = (uint64_t)COUNT(services) * COUNT(cities) * COUNT(hospital_kinds);
	a_per = coprime_multiplier(m_per);
	a_org = coprime_multiplier(m_org);

	fputs(header, f);
	for (i = 0; i < n; i++) {
		if (pick(100) < 85)
			put_row_per(f, n_per++, m_per, a_per);
		else
			put_row_org(f, n_org++, m_org, a_org);
	}
	if (fflush(f) != 0 || ferror(f) || (f != stdout && fclose(f) != 0)) {
		fprintf(stderr, "%s: write error: %s\n", argv[0], strerror(errno));
		return 1;
	}
	return 0;
}
