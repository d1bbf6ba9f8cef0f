/* The directory snapshot: one immutable tinycdb file, built by `mssctl sync`, read by every
   module. The reader is libc + tinycdb only (libmss-core); the writer is in libmss.
 *
 * Keys are a one-byte kind followed by the key text:
 *   'M' name      metadata: "format" (MSS_SNAPSHOT_FORMAT), "built" (Unix time), "trust_generated",
 *                 "trust_domains", "trust_entries", "bals", "persons", "apps", "sources"
 *   'B' address   BAL record (address lower-cased, as mss_addr_key writes it)
 *   'U' uid       decimal uid -> BAL address (uids are unique)
 *   'P' idnat     person record
 *   'D' domain    one trust-list entry; a domain listed for several operator certificates has
 *                 several records under the same key (read them all with the iterator)
 *   'A' dn        normalised certificate subject DN (mss_dn_normalize) -> APP BAL address
 *   'G' address   ORG BAL -> its members: the BAL addresses of its delegates, comma-separated
 *   'I' address   BAL -> the uids of the ORG BALs it is a member of, comma-separated
 *   'L' domain    a local domain (value empty)
 * Values are fields separated by TAB; no field holds TAB, CR, LF or NUL (the writer refuses).
 *   BAL:    type \t status \t uid \t source \t owner_idnat \t name \t delegate_idnats \t app_subject \t structure
 *           type PER|ORG|APP|CAB, status 'A' active or 'S' suspended, source 'L' (LDAP) or
 *           'X' (ANS extraction), delegate_idnats comma-separated; uid decimal without leading
 *           zero, or empty for a BAL with no local account (uid 0 is refused by the reader)
 *   person: status \t name \t ldap_dn \t bal_addresses (comma-separated)
 *   trust:  dn \t cn \t ou \t o \t description \t date_maj \t dn_raw
 */
#ifndef MSS_SNAPSHOT_H
#define MSS_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define MSS_SNAPSHOT_FORMAT "1"
/* mss_bal.uid of a BAL whose uid field is empty (not a local account: NSS must skip it). */
#define MSS_SNAPSHOT_NO_UID UINT32_MAX
/* Longest idNat_PS key the person decoder accepts. */
#define MSS_SNAPSHOT_IDNAT_MAX 64
/* Longest key (without the kind byte) the writer accepts. */
#define MSS_SNAPSHOT_KEY_MAX 1024

/* A piece of the mapped file: not NUL-terminated. */
struct mss_slice {
	const char *p;
	size_t len;
};

struct mss_bal {
	struct mss_slice address, type, owner, name, delegates, app_subject, structure;
	char status;  /* 'A' or 'S' */
	char source;  /* 'L' or 'X' */
	uint32_t uid; /* MSS_SNAPSHOT_NO_UID when the record has none */
};

struct mss_person {
	struct mss_slice idnat, name, ldap_dn, bals;
	char status;
};

struct mss_trust_record {
	struct mss_slice domain, dn, cn, ou, o, description, date_maj, dn_raw;
};

struct mss_snapshot; /* opaque; read-only after open, so lookups from many threads are safe */

enum mss_snapshot_open_flags {
	/* Accept a file not owned by root (tests as an ordinary user; config
	   `[directory] snapshot_owner_check = no`). Group/world-writable is always refused. */
	MSS_SNAPSHOT_ANY_OWNER = 1 << 0,
};

/* Opens and maps PATH with O_RDONLY|O_CLOEXEC|O_NOFOLLOW; refuses a non-regular file, a file
   not owned by root (unless MSS_SNAPSHOT_ANY_OWNER), a group- or world-writable file, a file
   that is not a valid cdb, or whose "format" metadata is absent or unknown.
   Returns 0, or -1 with a message in err and errno set (ENOENT when the file is missing). */
int mss_snapshot_open(const char *path, unsigned flags, struct mss_snapshot **snap_r, char *err, size_t errlen);
void mss_snapshot_close(struct mss_snapshot *snap);

/* Has PATH been replaced (different device/inode) or removed since SNAP was opened? */
bool mss_snapshot_replaced(const struct mss_snapshot *snap, const char *path);
time_t mss_snapshot_built(const struct mss_snapshot *snap);
/* Seconds since the snapshot was built (0 when built in the future). */
long long mss_snapshot_age(const struct mss_snapshot *snap, time_t now);
dev_t mss_snapshot_dev(const struct mss_snapshot *snap);
ino_t mss_snapshot_ino(const struct mss_snapshot *snap);

/* Lookups return 1 found, 0 not found, -1 corrupt record (errno EPROTO). Slices point into the
   mapping and stay valid until mss_snapshot_close. No lookup allocates memory or changes SNAP.
   KEY is given without the kind byte. mss_snapshot_bal lower-cases ASCII in ADDRESS first;
   mss_snapshot_bal_by_uid also checks that the BAL record carries that uid (else -1). */
int mss_snapshot_get(const struct mss_snapshot *snap, char kind, const char *key, size_t keylen,
		     struct mss_slice *value_r);
int mss_snapshot_meta(const struct mss_snapshot *snap, const char *name, struct mss_slice *value_r);
int mss_snapshot_bal(const struct mss_snapshot *snap, const char *address, size_t len, struct mss_bal *bal_r);
int mss_snapshot_bal_by_uid(const struct mss_snapshot *snap, uint32_t uid, struct mss_bal *bal_r);
int mss_snapshot_person(const struct mss_snapshot *snap, const char *idnat, size_t len, struct mss_person *p_r);

/* All trust records of a domain (case-insensitive: the domain is lower-cased here, and one
   trailing dot is ignored). The iterator lives on the caller's side; fields are private. */
struct mss_snapshot_iter {
	const struct mss_snapshot *snap;
	char key[260];
	size_t keylen;
	/* cdb search state, kept here so that concurrent iterators share nothing */
	uint32_t hash, table, slots, todo, slot;
};
int mss_snapshot_domain_first(const struct mss_snapshot *snap, const char *domain, struct mss_snapshot_iter *it,
			      struct mss_trust_record *rec_r);
int mss_snapshot_domain_next(struct mss_snapshot_iter *it, struct mss_trust_record *rec_r);

/* Sequential walk over every record (mssctl, NSS enumeration), in the order they were put.
   *pos starts at 0; each walker keeps its own pos, so several threads may walk at once.
   Returns 1 with the record (KEY_R without the kind byte), 0 at the end, -1 on corruption. */
int mss_snapshot_walk(const struct mss_snapshot *snap, size_t *pos, char *kind_r, struct mss_slice *key_r,
		      struct mss_slice *value_r);

/* Decoders of the value formats above (also used by the fuzz target). KEY is the key without
   its kind byte. They check the exact field count, the single-letter fields, the uid, and
   refuse any control character other than the TAB separator. 0 ok, -1 with errno EPROTO. */
int mss_snapshot_decode_bal(const char *key, size_t keylen, const char *v, size_t vlen, struct mss_bal *bal_r);
int mss_snapshot_decode_person(const char *key, size_t keylen, const char *v, size_t vlen, struct mss_person *p_r);
int mss_snapshot_decode_trust(const char *key, size_t keylen, const char *v, size_t vlen,
			      struct mss_trust_record *rec_r);

/* ---- writer (libmss) ---- */
struct mss_snapshot_writer;

/* Creates a temporary file in the directory of FINAL_PATH (mode 0644, O_CLOEXEC). */
int mss_snapshot_writer_open(const char *final_path, struct mss_snapshot_writer **w_r, char *err, size_t errlen);
/* Adds a record. KIND is an upper-case ASCII letter, KEY 1..MSS_SNAPSHOT_KEY_MAX bytes without
   TAB, CR, LF or NUL. mss_snapshot_put takes the value already joined: it may hold the TAB
   separators but no CR, LF or NUL. mss_snapshot_put_fields joins FIELDS with TAB (a NULL field
   is empty) and refuses a field holding TAB, CR or LF. A refused record leaves the writer
   usable; a write error makes every later put and the commit fail. Returns 0 or -1 (err set). */
int mss_snapshot_put(struct mss_snapshot_writer *w, char kind, const char *key, size_t keylen, const char *value,
		     size_t vlen, char *err, size_t errlen);
int mss_snapshot_put_fields(struct mss_snapshot_writer *w, char kind, const char *key, const char *const *fields,
			    size_t n_fields, char *err, size_t errlen);
/* Finishes the cdb, fsyncs it, renames it over FINAL_PATH, fsyncs the directory.
   On success W is freed. On failure W stays: call mss_snapshot_writer_abort(W). */
int mss_snapshot_writer_commit(struct mss_snapshot_writer *w, char *err, size_t errlen);
/* Removes the temporary file and frees W; FINAL_PATH is untouched. Safe after a failed
   commit, and with W NULL. */
void mss_snapshot_writer_abort(struct mss_snapshot_writer *w);

#endif
