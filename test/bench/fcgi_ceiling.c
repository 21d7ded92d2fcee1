/*
 * fcgi_ceiling — the FastCGI ceiling of `make bench` (scripts/bench.sh).
 *
 *   fcgi_ceiling SOCKET WORKERS
 *
 * A minimal libfcgi responder: WORKERS forked processes accept on the unix
 * socket SOCKET and answer every request with the pool's sold-out answer,
 * a fixed 409 problem+json, reading nothing and asking no database. Run on
 * the pool's socket behind the same nginx, it is what nginx and libfcgi
 * alone cost per answer: the most a sold-out answer of the pool could
 * reach. Stops on SIGTERM (the workers die with the parent).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcgiapp.h>

static const char answer[] =
    "Status: 409 Conflict\r\n"
    "Content-Type: application/problem+json\r\n"
    "Cache-Control: no-store\r\n"
    "Content-Length: 108\r\n\r\n"
    "{\"type\":\"about:blank\",\"title\":\"Sold out\",\"status\":409,"
    "\"code\":\"sold_out\",\"detail\":\"launch-hoodie has 0 left\"}";

static void
serve(int fd)
{
	FCGX_Request fr;

	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (FCGX_InitRequest(&fr, fd, 0) != 0)
		exit(1);
	while (FCGX_Accept_r(&fr) >= 0) {
		FCGX_PutStr(answer, (int)sizeof(answer) - 1, fr.out);
		FCGX_Finish_r(&fr);
	}
	exit(0);
}

int
main(int argc, char **argv)
{
	int fd, workers;

	if (argc != 3 || (workers = atoi(argv[2])) < 1 || workers > 256) {
		fprintf(stderr, "usage: fcgi_ceiling SOCKET WORKERS\n");
		return 2;
	}
	if (FCGX_Init() != 0)
		return 1;
	/* libfcgi catches SIGTERM to end its accept loop gently; the ceiling
	 * holds nothing worth ending gently. */
	signal(SIGTERM, SIG_DFL);
	(void)unlink(argv[1]);
	if ((fd = FCGX_OpenSocket(argv[1], 4096)) < 0) {
		fprintf(stderr, "fcgi_ceiling: cannot listen on %s\n", argv[1]);
		return 1;
	}
	if (chmod(argv[1], 0666) != 0)
		fprintf(stderr, "fcgi_ceiling: chmod: %s\n", strerror(errno));
	for (int i = 0; i < workers; i++) {
		pid_t pid = fork();

		if (pid < 0)
			return 1;
		if (pid == 0)
			serve(fd);
	}
	/* The parent waits for its workers, or for the signal that ends all. */
	while (wait(NULL) > 0 || errno == EINTR)
		;
	return 0;
}
