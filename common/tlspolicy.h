/* The outbound half of the trust space: a Postfix smtp_tls_policy_maps source written from the
   trust list, so that Postfix itself delivers to another operator only over verified TLS to one
   of the MTAs the trust list names for that domain:
 *
 *     ch-valmont.mssante.fr  secure match=mss.ch-valmont.fr:mss2.ch-valmont.fr
 *
 * (`secure`: TLS required and the server certificate verified against smtp_tls_CAfile, which
 * holds the IGC-Santé CAs; `match=`: the names the certificate must carry, here the CNs of the
 * operator DNs listed for the domain.) One line per domain, domains sorted, CNs in trust-list
 * order without duplicates. */
#ifndef MSS_TLSPOLICY_H
#define MSS_TLSPOLICY_H

#include <stddef.h>

struct mss_trust_list;

/* Writes the table to PATH atomically (temporary file in the same directory, fsync, rename,
   fsync of the directory; mode 0644), then rebuilds the indexed map with `postmap PATH` when
   postmap is installed (/usr/sbin or $PATH; it reads $MAIL_CONFIG like every Postfix command).
   A CN that is not a host name (it would break the match= syntax) is left out with a warning
   through mss_log. Returns 0, or -1 with err set; on failure an existing table is untouched
   unless only postmap failed (the text table is then new, its index old: the error says so). */
int mss_tlspolicy_write(const struct mss_trust_list *tl, const char *path, char *err, size_t errlen);

/* The text of the table (what mss_tlspolicy_write puts in the file), malloc'ed, for tests and
   `mssctl`. NULL on allocation failure. */
char *mss_tlspolicy_format(const struct mss_trust_list *tl);

#endif
