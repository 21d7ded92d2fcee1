/*
 * unix_connect — tries to connect to a unix socket and says how it went.
 *
 * The security tests run it as another local user: "connected", or the
 * error connect() gave ("Permission denied" is what they want). Exits 0
 * when it connected, 1 when it did not, 2 on misuse.
 */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct sockaddr_un sun;
	int fd, rc;

	if (argc != 2 || strlen(argv[1]) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "usage: unix_connect PATH\n");
		return 2;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, argv[1], strlen(argv[1]) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0) {
		printf("socket: %s\n", strerror(errno));
		return 1;
	}
	rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	printf("%s\n", rc == 0 ? "connected" : strerror(errno));
	close(fd);
	return rc == 0 ? 0 : 1;
}
