/* Certificate identity with OpenSSL 3: subject/issuer as normalised RFC 4514 strings (the
   form mss_dn_normalize gives the trust list's DNCertificatOperateur), CN, PEM loading. */
#ifndef MSS_CERT_H
#define MSS_CERT_H

#include <stddef.h>

#include <openssl/x509.h>

/* Writes the normalised RFC 4514 string of a name (see mss_dn_normalize), e.g.
   `CN=810003461033+GN=JEAN+SN=DUPONT,TITLE=Médecin,C=FR`. Fails (-1 with *error_r) on a
   name that does not parse (control characters, invalid UTF-8, too many RDNs...) or does
   not fit out; a name that cannot be printed safely is never half-written. */
int mss_x509_name_dn(const X509_NAME *name, char *out, size_t outlen, const char **error_r);

/* mss_x509_name_dn of the certificate's subject / issuer. 0 or -1; out is "" on error. */
int mss_cert_subject_dn(X509 *cert, char *out, size_t outlen);
int mss_cert_issuer_dn(X509 *cert, char *out, size_t outlen);

/* The name's CN as UTF-8. Refuses a name with no CN or more than one (which one a peer
   would mean is ambiguous: Postfix reports the first), a CN that is not a string, and any
   name mss_x509_name_dn refuses (NUL, control characters or invalid UTF-8 anywhere in it:
   such a name is hostile as a whole). 0 or -1; out is "" on error. */
int mss_x509_name_cn(const X509_NAME *name, char *out, size_t outlen);

/* Reads the first PEM certificate of a file. 0 with *cert_r (free with X509_free) or -1. */
int mss_cert_load_pem(const char *path, X509 **cert_r);

#endif
