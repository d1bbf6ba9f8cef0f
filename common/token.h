/* Pro Santé Connect access tokens (JWT, RFC 7519), validated offline against a JWKS file
   (RFC 7517) that `mssctl sync` refreshes. What IMAP/SMTP clients send with AUTH XOAUTH2 /
   OAUTHBEARER, and what Dovecot hands to PAM as the password.
 *
 * Accepted: a compact JWS (RFC 7515) signed RS256 (RSA >= 2048 bits, PKCS#1 v1.5, SHA-256)
 * or ES256 (P-256, SHA-256, JOSE r||s signature) by a key of the JWKS; every other "alg"
 * ("none", HS256 — the "public key as HMAC secret" attack —, PS256...) is refused before any
 * key is touched, and so is a header with "crit". Then the claims: "iss" equal to the
 * configured issuer, "exp" required and "nbf"/"iat" when present checked with a small clock
 * skew, "aud" (string or array) holding one of the configured audiences and "azp" one of the
 * configured client ids when those are configured, "acr" = "eidas1", and "SubjectNameID" a
 * valid idNat_PS ('8'+RPPS or '0'+ADELI).
 * Nothing here logs; the token is never copied into an error text.
 */
#ifndef MSS_TOKEN_H
#define MSS_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define MSS_TOKEN_MAX 8192      /* longest token accepted (PSC access tokens are ~1.5 KB) */
#define MSS_TOKEN_ACR "eidas1"  /* the level of assurance PSC gives a CPS / e-CPS login */
#define MSS_TOKEN_MAX_KEYS 32   /* keys kept from one JWKS */

enum mss_token_result {
	MSS_TOKEN_OK = 0,
	MSS_TOKEN_MALFORMED,	  /* not a compact JWS, bad base64url, bad JSON */
	MSS_TOKEN_BAD_ALG,	  /* alg not RS256/ES256 (none, HS256...), or crit */
	MSS_TOKEN_UNKNOWN_KEY,	  /* no key of the JWKS for this kid/alg */
	MSS_TOKEN_BAD_SIGNATURE,
	MSS_TOKEN_EXPIRED,
	MSS_TOKEN_NOT_YET_VALID,  /* nbf or iat in the future */
	MSS_TOKEN_WRONG_ISSUER,
	MSS_TOKEN_WRONG_AUDIENCE,
	MSS_TOKEN_WRONG_CLIENT,	  /* azp */
	MSS_TOKEN_WRONG_ACR,
	MSS_TOKEN_NO_SUBJECT,	  /* SubjectNameID missing or not an idNat_PS */
	MSS_TOKEN_ERROR,	  /* out of memory, crypto library failure: fail closed */
};

struct mss_jwks; /* parsed public keys; read-only after parsing (threads may share it) */

/* Parses a JWKS document ({"keys":[...]}). Keys that are not RSA (>= 2048 bits) or EC P-256
   signature keys are skipped (a JWKS may also publish encryption keys); a document with no
   usable key is an error. Returns 0 (free with mss_jwks_free) or -1 with a message in err. */
int mss_jwks_parse(const char *json, size_t len, struct mss_jwks **jwks_r, char *err, size_t errlen);
void mss_jwks_free(struct mss_jwks *jwks);
size_t mss_jwks_count(const struct mss_jwks *jwks);

/* What the token must satisfy. NULL lists are not checked. */
struct mss_token_policy {
	const char *issuer;		/* required */
	const char *const *audiences;	/* "aud" must hold one of them */
	size_t n_audiences;
	const char *const *client_ids;	/* "azp" must be one of them */
	size_t n_client_ids;
	long long clock_skew;		/* seconds tolerated on exp/nbf/iat */
	time_t now;
};

struct mss_token_claims {
	char idnat[24];	 /* SubjectNameID */
	char kid[72];	 /* key that signed it, "" when the header had none (printable) */
	char alg[8];	 /* RS256 or ES256 */
	long long exp;
};

/* Validates TOKEN (LEN bytes, not NUL-terminated necessarily). On MSS_TOKEN_OK claims_r is
   filled; on any other result *detail_r (when not NULL) gets a static sentence saying which
   check failed. */
enum mss_token_result mss_token_validate(const struct mss_jwks *jwks, const char *token, size_t len,
					 const struct mss_token_policy *policy, struct mss_token_claims *claims_r,
					 const char **detail_r);

/* Does S look like a compact JWS (three base64url parts, the first starting "eyJ")? Used to
   route a PAM password to the token check rather than to an LDAP bind. */
bool mss_token_looks_like_jwt(const char *s, size_t len);

/* Short code for audit records ("expired", "bad_signature"...). Static string. */
const char *mss_token_code(enum mss_token_result r);

/* Strict base64url without padding (RFC 7515 §2): 0 and the decoded length, or -1. Exposed
   for tests. out must hold len * 3 / 4 + 1 bytes. */
int mss_base64url_decode(const char *in, size_t len, unsigned char *out, size_t outlen, size_t *outlen_r);

#endif
