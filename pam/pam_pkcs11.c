/* The card dialogue in a child process; see pam_pkcs11.h for why. Messages on the
   socketpair: one type byte, a 4-byte length, the payload.
 *   child -> parent: 'C' certificates, 'N' no token, 'S' signature, 'P' wrong PIN,
 *                    'L' PIN locked, 'E' error text
 *   parent -> child: 'G' sign request (index, mechanism, PIN, data)
 */
#include "pam_pkcs11.h"

#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <p11-kit/pkcs11.h>

#define MSG_MAX (MSS_P11_MAX_CERTS * (MSS_P11_MAX_CERT_LEN + MSS_P11_MAX_ID_LEN + 8) + 16)

/* ---- framing ---- */

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* deadline_ms < 0: wait for ever (the child waiting for the parent). */
static int read_full(int fd, void *buf, size_t len, long long deadline_ms)
{
	unsigned char *p = buf;

	while (len > 0) {
		ssize_t n;

		if (deadline_ms >= 0) {
			struct pollfd pfd = {.fd = fd, .events = POLLIN};
			long long left = deadline_ms - now_ms();
			int r;

			if (left <= 0)
				return -2;
			r = poll(&pfd, 1, (int)(left > 60000 ? 60000 : left));
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				return -1;
			if (r == 0)
				continue; /* re-check the deadline */
		}
		n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int write_full(int fd, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int send_msg(int fd, char type, const void *payload, size_t len)
{
	unsigned char hdr[5];
	uint32_t l = (uint32_t)len;

	hdr[0] = (unsigned char)type;
	memcpy(hdr + 1, &l, 4);
	if (write_full(fd, hdr, 5) < 0)
		return -1;
	return len > 0 ? write_full(fd, payload, len) : 0;
}

/* Returns 0 with a malloc'd payload (NUL-terminated for convenience), -1 error, -2 timeout. */
static int recv_msg(int fd, char *type_r, unsigned char **payload_r, size_t *len_r, long long deadline_ms)
{
	unsigned char hdr[5], *buf;
	uint32_t len;
	int r;

	*payload_r = NULL;
	r = read_full(fd, hdr, 5, deadline_ms);
	if (r < 0)
		return r;
	memcpy(&len, hdr + 1, 4);
	if (len > MSG_MAX)
		return -1;
	buf = malloc((size_t)len + 1);
	if (buf == NULL)
		return -1;
	r = read_full(fd, buf, len, deadline_ms);
	if (r < 0) {
		explicit_bzero(buf, len);
		free(buf);
		return r;
	}
	buf[len] = '\0';
	*type_r = (char)hdr[0];
	*payload_r = buf;
	*len_r = len;
	return 0;
}

static void put_u32(unsigned char **p, uint32_t v)
{
	memcpy(*p, &v, 4);
	*p += 4;
}

static int get_u32(const unsigned char **p, const unsigned char *end, uint32_t *v_r)
{
	if (end - *p < 4)
		return -1;
	memcpy(v_r, *p, 4);
	*p += 4;
	return 0;
}

/* ---- child ---- */

struct child {
	int fd;
	CK_FUNCTION_LIST_PTR f;
	CK_SESSION_HANDLE session;
	bool session_open;
	CK_OBJECT_HANDLE certs[MSS_P11_MAX_CERTS];
	unsigned char ids[MSS_P11_MAX_CERTS][MSS_P11_MAX_ID_LEN];
	CK_ULONG id_lens[MSS_P11_MAX_CERTS];
	bool sent[MSS_P11_MAX_CERTS];
	size_t n_certs;
};

static void child_error(struct child *c, const char *what, CK_RV rv)
{
	char text[160];

	snprintf(text, sizeof(text), "%s failed (PKCS#11 error 0x%lx)", what, (unsigned long)rv);
	send_msg(c->fd, 'E', text, strlen(text));
}

/* Certificates of the session's token. Returns the number found. */
static size_t find_certs(struct child *c)
{
	CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
	CK_CERTIFICATE_TYPE type = CKC_X_509;
	CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)}, {CKA_CERTIFICATE_TYPE, &type, sizeof(type)}};
	CK_ULONG n = 0;

	if (c->f->C_FindObjectsInit(c->session, tmpl, 2) != CKR_OK)
		return 0;
	if (c->f->C_FindObjects(c->session, c->certs, MSS_P11_MAX_CERTS, &n) != CKR_OK)
		n = 0;
	c->f->C_FindObjectsFinal(c->session);
	c->n_certs = n;
	return n;
}

/* Opens a session on the first initialised token holding a certificate. */
static int open_token(struct child *c)
{
	CK_SLOT_ID slots[16];
	CK_ULONG n = 16;
	CK_RV rv;

	rv = c->f->C_GetSlotList(CK_TRUE, slots, &n);
	if (rv != CKR_OK && rv != CKR_BUFFER_TOO_SMALL) {
		child_error(c, "C_GetSlotList", rv);
		return -1;
	}
	if (n > 16)
		n = 16;
	for (CK_ULONG i = 0; i < n; i++) {
		CK_TOKEN_INFO info;

		if (c->f->C_GetTokenInfo(slots[i], &info) != CKR_OK || !(info.flags & CKF_TOKEN_INITIALIZED))
			continue;
		if (c->f->C_OpenSession(slots[i], CKF_SERIAL_SESSION, NULL, NULL, &c->session) != CKR_OK)
			continue;
		c->session_open = true;
		if (find_certs(c) > 0)
			return 0;
		c->f->C_CloseSession(c->session);
		c->session_open = false;
	}
	send_msg(c->fd, 'N', NULL, 0);
	return -1;
}

/* 'C': count, then per certificate: child index, id length, id, DER length, DER. */
static int send_certs(struct child *c)
{
	unsigned char *msg = malloc(MSG_MAX), *p;
	uint32_t n_ok = 0;
	int r;

	if (msg == NULL)
		return -1;
	p = msg + 4; /* the count is written at the end */
	for (size_t i = 0; i < c->n_certs; i++) {
		CK_ATTRIBUTE a[] = {{CKA_ID, NULL, 0}, {CKA_VALUE, NULL, 0}};

		if (c->f->C_GetAttributeValue(c->session, c->certs[i], a, 2) != CKR_OK ||
		    a[0].ulValueLen > MSS_P11_MAX_ID_LEN || a[1].ulValueLen == 0 ||
		    a[1].ulValueLen > MSS_P11_MAX_CERT_LEN)
			continue;
		/* the DER goes straight to its place in the message */
		a[0].pValue = c->ids[i];
		a[1].pValue = p + 12 + a[0].ulValueLen;
		if (c->f->C_GetAttributeValue(c->session, c->certs[i], a, 2) != CKR_OK)
			continue;
		c->id_lens[i] = a[0].ulValueLen;
		c->sent[i] = true;
		put_u32(&p, (uint32_t)i);
		put_u32(&p, (uint32_t)a[0].ulValueLen);
		memcpy(p, c->ids[i], a[0].ulValueLen);
		p += a[0].ulValueLen;
		put_u32(&p, (uint32_t)a[1].ulValueLen);
		p += a[1].ulValueLen;
		n_ok++;
	}
	memcpy(msg, &n_ok, 4);
	r = send_msg(c->fd, 'C', msg, (size_t)(p - msg));
	free(msg);
	return r;
}

static void do_sign(struct child *c, unsigned char *req, size_t len)
{
	const unsigned char *p = req, *end = req + len;
	uint32_t index, mech, pin_len, data_len;
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_OBJECT_HANDLE key;
	CK_ULONG n = 0, sig_len = MSS_P11_MAX_SIG;
	CK_MECHANISM m = {0, NULL, 0};
	unsigned char sig[MSS_P11_MAX_SIG];
	const unsigned char *pin, *data;
	CK_RV rv;

	if (get_u32(&p, end, &index) < 0 || get_u32(&p, end, &mech) < 0 || get_u32(&p, end, &pin_len) < 0 ||
	    index >= c->n_certs || !c->sent[index] || pin_len > MSS_P11_MAX_PIN || (size_t)(end - p) < pin_len) {
		send_msg(c->fd, 'E', "bad sign request", 16);
		return;
	}
	pin = p;
	p += pin_len;
	if (get_u32(&p, end, &data_len) < 0 || (size_t)(end - p) != data_len || data_len == 0) {
		send_msg(c->fd, 'E', "bad sign request", 16);
		return;
	}
	data = p;
	rv = c->f->C_Login(c->session, CKU_USER, (CK_UTF8CHAR_PTR)pin, pin_len);
	explicit_bzero(req + (pin - (const unsigned char *)req), pin_len); /* the PIN is not needed any more */
	if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LEN_RANGE) {
		send_msg(c->fd, 'P', NULL, 0);
		return;
	}
	if (rv == CKR_PIN_LOCKED) {
		send_msg(c->fd, 'L', NULL, 0);
		return;
	}
	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
		child_error(c, "C_Login", rv);
		return;
	}
	{
		CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)}, {CKA_ID, c->ids[index], c->id_lens[index]}};

		if (c->f->C_FindObjectsInit(c->session, tmpl, 2) != CKR_OK) {
			send_msg(c->fd, 'E', "cannot search the private key", 29);
			return;
		}
		rv = c->f->C_FindObjects(c->session, &key, 1, &n);
		c->f->C_FindObjectsFinal(c->session);
		if (rv != CKR_OK || n != 1) {
			send_msg(c->fd, 'E', "no private key for the certificate", 34);
			return;
		}
	}
	m.mechanism = mech;
	rv = c->f->C_SignInit(c->session, &m, key);
	if (rv != CKR_OK) {
		child_error(c, "C_SignInit", rv);
		return;
	}
	rv = c->f->C_Sign(c->session, (CK_BYTE_PTR)data, data_len, sig, &sig_len);
	if (rv != CKR_OK) {
		child_error(c, "C_Sign", rv);
		return;
	}
	send_msg(c->fd, 'S', sig, sig_len);
}

/* Everything the child does; it never returns. */
static void child_main(int fd, const char *module) __attribute__((noreturn));
static void child_main(int fd, const char *module)
{
	struct child c = {.fd = 3};
	CK_C_GetFunctionList get_list;
	CK_C_INITIALIZE_ARGS init = {0};
	unsigned char *req = NULL;
	size_t len;
	void *lib;
	char type;
	CK_RV rv;

	/* A clean process: default signal handlers, no inherited descriptors of the host
	   (its client sockets must not outlive it in a stuck child). */
	for (int s = 1; s < NSIG; s++) {
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	}
	signal(SIGPIPE, SIG_IGN);
	if (fd != 3 && dup2(fd, 3) < 0)
		_exit(1);
	close_range(4, ~0U, 0);

	lib = dlopen(module, RTLD_NOW | RTLD_LOCAL);
	if (lib == NULL) {
		send_msg(c.fd, 'E', "cannot load the PKCS#11 module", 30);
		_exit(1);
	}
	*(void **)&get_list = dlsym(lib, "C_GetFunctionList");
	if (get_list == NULL || get_list(&c.f) != CKR_OK || c.f == NULL) {
		send_msg(c.fd, 'E', "not a PKCS#11 module", 20);
		_exit(1);
	}
	init.flags = CKF_OS_LOCKING_OK;
	rv = c.f->C_Initialize(&init);
	if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		child_error(&c, "C_Initialize", rv);
		_exit(1);
	}
	if (open_token(&c) == 0 && send_certs(&c) == 0 && recv_msg(c.fd, &type, &req, &len, -1) == 0 && type == 'G')
		do_sign(&c, req, len);
	if (req != NULL) {
		explicit_bzero(req, len);
		free(req);
	}
	if (c.session_open) {
		c.f->C_Logout(c.session);
		c.f->C_CloseSession(c.session);
	}
	c.f->C_Finalize(NULL);
	_exit(0);
}

/* ---- parent ---- */

static void set_err(char *err, size_t errlen, const char *text)
{
	snprintf(err, errlen, "%s", text);
}

/* The child's 'E' text, made printable. */
static void child_text(const unsigned char *msg, size_t len, char *err, size_t errlen)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 1 < errlen; i++)
		err[o++] = msg[i] >= 0x20 && msg[i] < 0x7f ? (char)msg[i] : '?';
	if (errlen > 0)
		err[o] = '\0';
}

static enum mss_p11_status parse_certs(struct mss_p11 *p, const unsigned char *msg, size_t len)
{
	const unsigned char *q = msg, *end = msg + len;
	uint32_t count;

	if (get_u32(&q, end, &count) < 0 || count > MSS_P11_MAX_CERTS)
		return MSS_P11_ERROR;
	for (uint32_t i = 0; i < count; i++) {
		struct mss_p11_cert *c = &p->certs[p->n_certs];
		uint32_t index, id_len, der_len;

		if (get_u32(&q, end, &index) < 0 || get_u32(&q, end, &id_len) < 0 || id_len > MSS_P11_MAX_ID_LEN ||
		    (size_t)(end - q) < id_len)
			return MSS_P11_ERROR;
		memcpy(c->id, q, id_len);
		c->id_len = id_len;
		q += id_len;
		if (get_u32(&q, end, &der_len) < 0 || der_len == 0 || der_len > MSS_P11_MAX_CERT_LEN ||
		    (size_t)(end - q) < der_len)
			return MSS_P11_ERROR;
		c->der = malloc(der_len);
		if (c->der == NULL)
			return MSS_P11_ERROR;
		memcpy(c->der, q, der_len);
		c->der_len = der_len;
		q += der_len;
		c->child_index = index; /* for the sign request */
		p->n_certs++;
	}
	return p->n_certs > 0 ? MSS_P11_OK : MSS_P11_NO_TOKEN;
}

enum mss_p11_status mss_p11_start(struct mss_p11 *p, const char *module, long long timeout_secs, char *err,
				  size_t errlen)
{
	unsigned char *msg = NULL;
	size_t len = 0;
	char type = 0;
	int sv[2], r;
	enum mss_p11_status st = MSS_P11_ERROR;

	memset(p, 0, sizeof(*p));
	p->pid = -1;
	p->fd = -1;
	p->timeout_ms = timeout_secs * 1000;
	set_err(err, errlen, "card reader error");
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		set_err(err, errlen, "socketpair failed");
		return MSS_P11_ERROR;
	}
	p->pid = fork();
	if (p->pid < 0) {
		close(sv[0]);
		close(sv[1]);
		set_err(err, errlen, "fork failed");
		return MSS_P11_ERROR;
	}
	if (p->pid == 0) {
		close(sv[0]);
		child_main(sv[1], module);
	}
	close(sv[1]);
	p->fd = sv[0];
	r = recv_msg(p->fd, &type, &msg, &len, now_ms() + p->timeout_ms);
	if (r == -2) {
		set_err(err, errlen, "the card reader did not answer in time ([pam] pkcs11_timeout)");
		st = MSS_P11_TIMEOUT;
		p->hung = true;
	} else if (r < 0) {
		set_err(err, errlen, "the PKCS#11 process ended unexpectedly");
	} else if (type == 'N') {
		set_err(err, errlen, "no card in the reader");
		st = MSS_P11_NO_TOKEN;
	} else if (type == 'E') {
		child_text(msg, len, err, errlen);
	} else if (type == 'C') {
		st = parse_certs(p, msg, len);
		if (st != MSS_P11_OK)
			set_err(err, errlen, st == MSS_P11_NO_TOKEN ? "no readable certificate on the card"
								    : "malformed certificate list from the PKCS#11 process");
	}
	free(msg);
	return st;
}

enum mss_p11_status mss_p11_sign(struct mss_p11 *p, size_t index, unsigned long mechanism, const char *pin,
				 const unsigned char *data, size_t data_len, unsigned char *sig, size_t *sig_len,
				 char *err, size_t errlen)
{
	size_t pin_len = strlen(pin), req_len = 16 + pin_len + data_len, len = 0;
	unsigned char *req, *q, *msg = NULL;
	enum mss_p11_status st = MSS_P11_ERROR;
	char type = 0;
	int r;

	set_err(err, errlen, "card error");
	if (p->fd < 0 || index >= p->n_certs || pin_len > MSS_P11_MAX_PIN || data_len > 512)
		return MSS_P11_ERROR;
	req = malloc(req_len);
	if (req == NULL)
		return MSS_P11_ERROR;
	q = req;
	put_u32(&q, (uint32_t)p->certs[index].child_index);
	put_u32(&q, (uint32_t)mechanism);
	put_u32(&q, (uint32_t)pin_len);
	memcpy(q, pin, pin_len);
	q += pin_len;
	put_u32(&q, (uint32_t)data_len);
	memcpy(q, data, data_len);
	r = send_msg(p->fd, 'G', req, req_len);
	explicit_bzero(req, req_len);
	free(req);
	if (r < 0) {
		set_err(err, errlen, "the PKCS#11 process ended unexpectedly");
		return MSS_P11_ERROR;
	}
	r = recv_msg(p->fd, &type, &msg, &len, now_ms() + p->timeout_ms);
	if (r == -2) {
		set_err(err, errlen, "the card did not sign in time ([pam] pkcs11_timeout)");
		st = MSS_P11_TIMEOUT;
		p->hung = true;
	} else if (r < 0) {
		set_err(err, errlen, "the PKCS#11 process ended unexpectedly");
	} else if (type == 'P') {
		set_err(err, errlen, "wrong PIN");
		st = MSS_P11_PIN_INCORRECT;
	} else if (type == 'L') {
		set_err(err, errlen, "PIN locked");
		st = MSS_P11_PIN_LOCKED;
	} else if (type == 'E') {
		child_text(msg, len, err, errlen);
	} else if (type == 'S' && len > 0 && len <= MSS_P11_MAX_SIG && len <= *sig_len) {
		memcpy(sig, msg, len);
		*sig_len = len;
		st = MSS_P11_OK;
	}
	free(msg);
	return st;
}

void mss_p11_stop(struct mss_p11 *p)
{
	if (p->fd >= 0) {
		close(p->fd); /* the child's read ends: it logs out and finalises */
		p->fd = -1;
	}
	if (p->pid > 0) {
		/* a child that already missed a deadline is not waited for again */
		long long deadline = p->hung ? 0 : now_ms() + p->timeout_ms;
		pid_t r;

		/* waitpid only on our own child: the host may have other children. ECHILD means
		   the host's SIGCHLD handler reaped it already. */
		for (;;) {
			struct timespec ts = {0, 5 * 1000 * 1000};

			r = waitpid(p->pid, NULL, WNOHANG);
			if (r < 0 && errno == EINTR)
				continue;
			if (r != 0 || now_ms() >= deadline)
				break;
			nanosleep(&ts, NULL);
		}
		if (r == 0) {
			kill(p->pid, SIGKILL);
			while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
				;
		}
		p->pid = -1;
	}
	for (size_t i = 0; i < p->n_certs; i++)
		free(p->certs[i].der);
	p->n_certs = 0;
}
