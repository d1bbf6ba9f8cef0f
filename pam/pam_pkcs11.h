/* The card dialogue of the cps method, time-bounded.
 *
 * Every PKCS#11 call runs in a child process forked for this login (no exec): the child
 * loads the PKCS#11 module, reads the certificates, and later logs in and signs; it talks to
 * the module over a socketpair. The parent waits for each answer with poll() and a deadline
 * of [pam] pkcs11_timeout; past it the child is killed (SIGKILL) and the login fails with
 * PAM_AUTHINFO_UNAVAIL. Why a process rather than a watchdog thread: a PKCS#11 call stuck in
 * a driver or in pcscd cannot be cancelled from another thread, and the module's global
 * state (C_Initialize, its threads, its locks) must never live in the host process — sshd,
 * login or Dovecot's auth worker — which could not unload it cleanly either. The child only
 * calls the PKCS#11 module and write(2); OpenSSL stays in the parent.
 *
 * The parent keeps the conversation (PIN prompt) and every decision: it chooses the
 * certificate, verifies the chain, and checks the signature. The PIN crosses the socketpair
 * once, is wiped in both processes, and is never logged.
 */
#ifndef PAM_MSS_PKCS11_H
#define PAM_MSS_PKCS11_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define MSS_P11_MAX_CERTS 8
#define MSS_P11_MAX_CERT_LEN 16384
#define MSS_P11_MAX_ID_LEN 256
#define MSS_P11_MAX_SIG 1024
#define MSS_P11_MAX_PIN 64

enum mss_p11_status {
	MSS_P11_OK = 0,
	MSS_P11_NO_TOKEN,      /* no initialised token with a certificate in any slot */
	MSS_P11_PIN_INCORRECT,
	MSS_P11_PIN_LOCKED,
	MSS_P11_TIMEOUT,
	MSS_P11_ERROR,
};

struct mss_p11_cert {
	unsigned char id[MSS_P11_MAX_ID_LEN]; /* CKA_ID, links the certificate to its private key */
	size_t id_len;
	unsigned char *der;
	size_t der_len;
	unsigned child_index; /* the child's handle for this certificate */
};

struct mss_p11 {
	pid_t pid;
	int fd;
	long long timeout_ms;
	bool hung; /* a deadline passed: the child is killed at once */
	struct mss_p11_cert certs[MSS_P11_MAX_CERTS];
	size_t n_certs;
};

/* Forks the child, which loads MODULE, finds the first initialised token holding a
   certificate and sends its X.509 certificates (into p->certs). Call mss_p11_stop
   afterwards whatever the result. */
enum mss_p11_status mss_p11_start(struct mss_p11 *p, const char *module, long long timeout_secs, char *err,
				  size_t errlen);
/* Logs in with PIN and signs DATA with the private key of certs[index] using MECHANISM
   (CKM_ECDSA on a SHA-256 digest, or CKM_RSA_PKCS on a DigestInfo). */
enum mss_p11_status mss_p11_sign(struct mss_p11 *p, size_t index, unsigned long mechanism, const char *pin,
				 const unsigned char *data, size_t data_len, unsigned char *sig, size_t *sig_len,
				 char *err, size_t errlen);
/* Ends the dialogue: closes the socket, gives the child pkcs11_timeout to finish
   (C_Logout, C_Finalize), then kills it; frees the certificates. */
void mss_p11_stop(struct mss_p11 *p);

#endif
