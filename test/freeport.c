/*
 * freeport — prints a TCP port on 127.0.0.1 that was free a moment ago.
 *
 * Binding port 0 lets the kernel pick; the port is released before the test
 * starts its server on it. The window in between is tiny, and the helpers
 * in test/lib.sh check that the server really came up on it.
 *
 *   freeport --silent
 *       Keeps the port instead: listens on it, prints it, and never accepts
 *       nor answers, until a signal ends it. The kernel completes the
 *       handshakes of its backlog, so a client's connect succeeds and its
 *       first read waits for ever: a server that hangs.
 */
#include <config.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd, silent = argc == 2 && strcmp(argv[1], "--silent") == 0;

	if (argc > 1 && !silent) {
		fprintf(stderr, "usage: freeport [--silent]\n");
		return 2;
	}
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0) {
		perror("freeport: socket");
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
		perror("freeport: bind");
		close(fd);
		return 1;
	}
	if (silent && listen(fd, 64) != 0) {
		perror("freeport: listen");
		close(fd);
		return 1;
	}
	printf("%d\n", ntohs(sa.sin_port));
	if (silent) {
		if (fflush(stdout) != 0)
			return 1;
		for (;;)
			pause();
	}
	close(fd);
	return 0;
}
