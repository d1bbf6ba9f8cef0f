/* mss-milter: command line, socket, daemon, privileges and signals.
 *
 *   mss-milter [-c CONF] [-f] [-t]
 *     -c CONF  configuration (default $MSSANTE_CONF, else /etc/mssante/mssante.conf)
 *     -f       stay in the foreground, log to stderr as well as syslog
 *     -t       check the configuration and exit (0 valid, 2 invalid)
 *
 * Start: the configuration is validated completely (exit 2 with FILE:LINE on error); a UNIX
 * socket left by a previous run is removed only when nothing answers on it (a live one means
 * another instance: exit 1); the socket is bound as root, then the process becomes [milter]
 * user, and only then opens the snapshot and the audit trail, so that both are read and
 * written with the rights the milter keeps.
 *
 * Signals: libmilter's own signal thread stops the filter on SIGHUP (OpenDMARC#322) and takes
 * up to its 5 s poll interval to notice a SIGTERM, during which a restarted instance cannot
 * bind. So mss-milter keeps these signals for itself (see sigwait below): SIGHUP reloads the
 * configuration and the snapshot (the old ones stay when the new ones are invalid, and the log
 * says why); SIGTERM and SIGINT stop accepting connections, let transactions in progress end
 * for up to 1.5 s, remove the socket and the pid file, and exit — within 2 s. A transaction cut
 * short is answered by Postfix's milter_default_action (tempfail): nothing is lost. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "milter.h"

#define MM_DRAIN_MS 1500

static char *pid_file;	  /* removed at exit */
static char *socket_path; /* UNIX socket path, removed at exit */

/* libmilter's signal thread calls sigwait(SIGHUP, SIGTERM, SIGINT) and stops the filter on
   any of them. This definition takes the place of libc's for libmilter (the executable's
   symbols come first when the dynamic linker binds libmilter's calls) and leaves those three
   signals to mss-milter's own signal thread, which waits with sigwaitinfo(). Any other signal
   libmilter asks for is still waited for. */
__attribute__((visibility("default"))) int sigwait(const sigset_t *set, int *sig)
{
	sigset_t rest = *set;

	sigdelset(&rest, SIGHUP);
	sigdelset(&rest, SIGTERM);
	sigdelset(&rest, SIGINT);
	for (;;) {
		int r = sigwaitinfo(&rest, NULL);

		if (r > 0) {
			*sig = r;
			return 0;
		}
		if (errno != EINTR)
			return errno;
	}
}

static void usage(FILE *out)
{
	fprintf(out, "usage: mss-milter [-c CONF] [-f] [-t]\n"
		     "  -c CONF  configuration file (default $MSSANTE_CONF, else /etc/mssante/mssante.conf)\n"
		     "  -f       foreground: do not detach, log to stderr too\n"
		     "  -t       check the configuration and exit\n");
}

/* A UNIX socket path left behind is removed only when it is a socket nobody listens on. */
static int clear_stale_socket(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct stat st;
	int fd, r;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : (mss_error("%s: %s", path, strerror(errno)), -1);
	if (!S_ISSOCK(st.st_mode)) {
		mss_error("%s exists and is not a socket: not removing it", path);
		return -1;
	}
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		mss_error("socket: %s", strerror(errno));
		return -1;
	}
	r = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	if (r == 0) {
		mss_error("%s: another mss-milter is listening on it", path);
		return -1;
	}
	if (errno != ECONNREFUSED) {
		mss_error("%s: cannot tell whether it is in use: %s", path, strerror(errno));
		return -1;
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		mss_error("%s: cannot remove the stale socket: %s", path, strerror(errno));
		return -1;
	}
	mss_info("removed the stale socket %s", path);
	return 0;
}

/* Over TCP, Nagle's algorithm and delayed ACKs can stall each small milter reply by ~40 ms.
   libmilter keeps its listening socket to itself; Linux passes TCP_NODELAY from the listening
   socket to the accepted ones, so it is set on our listening socket, found among our fds. */
static void set_nodelay_on_listener(void)
{
	for (int fd = 3; fd < 1024; fd++) {
		int v = 0, dom = 0, one = 1;
		socklen_t len = sizeof(v), dlen = sizeof(dom);

		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) < 0 || v == 0)
			continue;
		if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &dlen) < 0 || (dom != AF_INET && dom != AF_INET6))
			continue;
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
			mss_warning("TCP_NODELAY: %s", strerror(errno));
	}
}

static int write_pid_file(const char *path)
{
	char buf[32];
	int fd, n;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		mss_error("pid file %s: %s", path, strerror(errno));
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (write(fd, buf, (size_t)n) != n) {
		mss_error("pid file %s: write error", path);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* Becomes [milter] user. Not running as root: nothing to drop (a warning when another user
   was configured). */
static int drop_privileges(const char *user, const char *sock)
{
	struct passwd *pw;

	if (user == NULL || user[0] == '\0') {
		if (geteuid() == 0)
			mss_warning("[milter] user is not set: running as root");
		return 0;
	}
	pw = getpwnam(user);
	if (geteuid() != 0) {
		if (pw == NULL || pw->pw_uid != geteuid())
			mss_warning("not running as root: staying uid %ld instead of becoming %s", (long)geteuid(), user);
		return 0;
	}
	if (pw == NULL) {
		mss_error("[milter] user %s: no such user", user);
		return -1;
	}
	if (pw->pw_uid == 0) {
		mss_warning("[milter] user %s is root: running as root", user);
		return 0;
	}
	/* The socket belongs to the milter's user and group (mode 0660): Postfix reaches it when
	   the postfix user is in that group, or when the milter runs as postfix. */
	if (sock != NULL && chown(sock, pw->pw_uid, pw->pw_gid) < 0)
		mss_warning("%s: chown: %s", sock, strerror(errno));
	if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
		mss_error("cannot become %s: %s", user, strerror(errno));
		return -1;
	}
	if (setuid(0) == 0) {
		mss_error("still able to become root after dropping privileges");
		return -1;
	}
	return 0;
}

static void remove_files(void)
{
	if (socket_path != NULL)
		(void)unlink(socket_path);
	if (pid_file != NULL)
		(void)unlink(pid_file);
}

static void *signal_thread(void *arg)
{
	const sigset_t *set = arg;
	char err[1024];
	struct timespec t0, t;

	for (;;) {
		int sig = sigwaitinfo(set, NULL);

		if (sig < 0)
			continue;
		if (sig == SIGHUP) {
			if (mm_state_reload(err, sizeof(err)) == 0)
				mss_info("configuration and snapshot reloaded");
			else
				mss_error("reload refused, keeping the configuration in force: %s", err);
			continue;
		}
		/* SIGTERM, SIGINT: transactions in progress get a short while, new ones are
		   answered 451 (mm_state_stop), and the socket path is freed at once for a
		   restart. smfi_stop() is not used: it stops libmilter's worker pool from serving
		   the sessions still open, and waits for the listener's 5 s poll. */
		clock_gettime(CLOCK_MONOTONIC, &t0);
		mm_state_stop();
		mss_info("stopping on signal %d (%d transactions in progress)", sig, mm_state_txns());
		if (socket_path != NULL)
			(void)unlink(socket_path);
		for (;;) {
			clock_gettime(CLOCK_MONOTONIC, &t);
			if (mm_state_txns() == 0 ||
			    (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 >= MM_DRAIN_MS)
				break;
			nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
		}
		if (mm_state_txns() > 0)
			mss_warning("%d transactions still open at exit: Postfix answers them with "
				    "milter_default_action",
				    mm_state_txns());
		remove_files();
		/* Every audit record already went out with write(2): nothing is buffered here. Not
		   returning through exit() keeps libmilter's threads from running its cleanup while
		   sessions are still open. */
		_exit(0);
	}
	return NULL;
}

/* Detaches; the parent exits 0 once the child has written its pid file, 1 if it failed. */
static int daemonize(int *notify_fd)
{
	int p[2];
	pid_t pid;
	char c;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0) {
		close(p[1]);
		_exit(read(p[0], &c, 1) == 1 ? 0 : 1);
	}
	close(p[0]);
	if (setsid() < 0)
		return -1;
	if (chdir("/") < 0)
		return -1;
	int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nul >= 0) {
		dup2(nul, 0);
		dup2(nul, 1);
		dup2(nul, 2);
		if (nul > 2)
			close(nul);
	}
	*notify_fd = p[1];
	return 0;
}

int main(int argc, char **argv)
{
	const char *conf_path = NULL;
	bool foreground = false, test_only = false;
	char err[1024];
	struct mm_conf *conf;
	const char *sock, *user;
	sigset_t set;
	pthread_t tid;
	int c, notify_fd = -1;

	while ((c = getopt(argc, argv, "c:fth")) != -1) {
		switch (c) {
		case 'c': conf_path = optarg; break;
		case 'f': foreground = true; break;
		case 't': test_only = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	/* Until it detaches, errors go to the terminal too. */
	mss_log_init("mss-milter", MSS_LOG_SYSLOG | MSS_LOG_STDERR);
	if (conf_path == NULL)
		conf_path = mss_config_default_path();
	if (mm_state_load(conf_path, err, sizeof(err)) < 0) {
		mss_error("%s", err);
		return 2;
	}
	if (test_only) {
		printf("%s: configuration valid\n", conf_path);
		mm_state_free();
		return 0;
	}
	conf = mm_state_conf();
	sock = mss_config_str(conf->cfg, MSS_OPT_MILTER_SOCKET);
	user = mss_config_str(conf->cfg, MSS_OPT_MILTER_USER);
	if (strncmp(sock, "unix:", 5) == 0 || strncmp(sock, "local:", 6) == 0) {
		socket_path = strdup(strchr(sock, ':') + 1);
		if (socket_path == NULL || clear_stale_socket(socket_path) < 0)
			return 1;
	}
	if (smfi_setconn((char *)sock) != MI_SUCCESS || smfi_register(mm_filter) != MI_SUCCESS) {
		mss_error("libmilter refused the socket %s", sock);
		return 1;
	}
	{
		mode_t old = umask(0117); /* socket mode 0660 */
		int r = smfi_opensocket(false);

		umask(old);
		if (r != MI_SUCCESS) {
			mss_error("cannot listen on %s", sock);
			return 1;
		}
	}
	if (socket_path == NULL)
		set_nodelay_on_listener();
	if (!foreground) {
		if (daemonize(&notify_fd) < 0) {
			mss_error("cannot detach: %s", strerror(errno));
			return 1;
		}
		mss_log_init("mss-milter", MSS_LOG_SYSLOG);
	}
	if (mss_config_str(conf->cfg, MSS_OPT_MILTER_PID_FILE) != NULL) {
		pid_file = strdup(mss_config_str(conf->cfg, MSS_OPT_MILTER_PID_FILE));
		if (pid_file == NULL || write_pid_file(pid_file) < 0) {
			free(pid_file);
			pid_file = NULL;
			remove_files();
			return 1;
		}
	}
	if (drop_privileges(user, socket_path) < 0) {
		remove_files();
		return 1;
	}
	mm_state_release_conf(conf);
	mm_state_open();

	/* Blocked everywhere (the threads libmilter starts inherit the mask), taken by one
	   thread with sigwaitinfo. */
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (pthread_create(&tid, NULL, signal_thread, &set) != 0) {
		mss_error("cannot start the signal thread");
		remove_files();
		return 1;
	}
	mss_info("listening on %s", sock);
	if (notify_fd >= 0) {
		(void)!write(notify_fd, "", 1);
		close(notify_fd);
	}
	c = smfi_main();
	/* libmilter gave up on its own (the listening socket failed). */
	mss_error("libmilter stopped (%s)", c == MI_SUCCESS ? "stopped" : "failure");
	remove_files();
	_exit(c == MI_SUCCESS ? 0 : 1);
}
